// What a built site weighs, raw and gzip -9: each file every visitor's first load fetches, the
// WebGPU module that comes later, the "describe a movie" search data, and the totals. perf/run.sh runs it on the shipped build
// (`./build.sh`) before it makes the benchmark build; perf/report.mjs reports it.
//   node perf/payload.mjs DIST OUT.json
// OUT.json: {files: [{f, raw, gz}], firstLoad: {raw, gz}, webgpuLater: {raw, gz}}; a file the
// build lacks has null sizes, and so has a total that would need it.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [dist = 'dist', out = 'perf/out/payload.json'] = process.argv.slice(2);

// Every visitor first loads the page, the bundle and the CPU module with its glue; the WebGPU
// module comes later, in the background, only on a hardware adapter (genie-host.js).
const PAGE = ['index.html', 'style.css', 'main.js', 'genie-client.js', 'worker.js', 'genie-host.js',
  'engine.js', 'assets/movie-genie.bundle'];
const MODULE = (flavour) => [`pkg/${flavour}/movie_genie.js`, `pkg/${flavour}/movie_genie_bg.wasm`];

const measure = (f) => {
  const file = path.join(dist, f);
  if (!fs.existsSync(file)) return { f, raw: null, gz: null };
  const data = fs.readFileSync(file);
  return { f, raw: data.length, gz: zlib.gzipSync(data, { level: 9 }).length };
};
const total = (files) => Object.fromEntries(['raw', 'gz'].map((key) =>
  [key, files.every((p) => p[key] != null) ? files.reduce((a, p) => a + p[key], 0) : null]));

const first = [...PAGE, ...MODULE('cpu')].map(measure);
const later = MODULE('webgpu').map(measure);
// Fetched only by a visitor who describes a movie.
const describe = measure('assets/movie-genie.search');
const payload = { files: [...first, ...later, describe], firstLoad: total(first), webgpuLater: total(later) };
fs.writeFileSync(out, `${JSON.stringify(payload, null, 1)}\n`);
console.log(`payload: ${out}: first load ${payload.firstLoad.gz ?? '?'} bytes gzip`);
