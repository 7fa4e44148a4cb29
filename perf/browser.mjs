// The in-browser benchmarks: Debian's Chromium (playwright-core) on the benchmark build's dist/
// (`MOVIE_GENIE_BENCH=1 ./build.sh`, as perf/run.sh makes it), once on the CPU and once with
// WebGPU exposed (--enable-unsafe-webgpu: SwiftShader where there is no GPU). Per backend: the
// real page's cold load → first recommendations (from navigation start, model in the Worker),
// then the page's benchmark mode (www/bench.js): shipped catalog and a synthetic large one,
// rate → top-20 updates, and (CPU run) the ranking kernel beside a plain JS loop. Prints every
// MEASURE line and writes them, parsed, to the JSON file given. DIST (default dist/) is the built
// site to serve: perf/run.sh's baseline part points it at the baseline build's.
//   node perf/browser.mjs OUT.json [DIST]
//   BENCH_UPDATES (50) BENCH_GPU_UPDATES (50) BENCH_LARGE (100000,1000000) BENCH_BACKENDS (cpu,webgpu;
//   the results of a backend left out are kept from OUT.json)
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium, newPage, startServer, waitReady } from '../tests/e2e/harness.js';

const out = process.argv[2] ?? 'perf/out/browser.json';
// The server's root: absolute, with the trailing separator its path check expects.
const dist = process.argv[3] ? path.resolve(process.argv[3]) + path.sep : undefined;
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const backends = (process.env.BENCH_BACKENDS ?? 'cpu,webgpu').split(',');
const large = process.env.BENCH_LARGE ?? '100000,1000000';

/** `MEASURE kind a=1 b=x …` → {kind, a: 1, b: 'x'}. */
function parse(line) {
  const [, kind, ...pairs] = line.split(' ');
  const fields = { kind };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    const value = pair.slice(at + 1);
    fields[pair.slice(0, at)] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return fields;
}

const server = await startServer([{ prefix: '/', root: dist }]);
// Results of backends this run leaves out stay from the last run (BENCH_BACKENDS=cpu reruns one).
const kept = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : [];
const results = kept.filter((r) => !backends.includes(r.backend_run ?? r.backend));
try {
  for (const backend of backends) {
    const webgpu = backend === 'webgpu';
    const chromium = await launchChromium({ webgpu });
    try {
      // The page as a visitor gets it: navigation start → first recommendations drawn.
      const visit = await newPage(chromium.browser);
      await visit.page.goto(`${server.url('/')}?gpu=${webgpu ? 'force' : 'off'}`);
      await waitReady(visit.page);
      const marks = await visit.page.evaluate(() => Object.fromEntries(
        ['bundle-ready', 'wasm-ready', 'genie-ready', 'first-recs']
          .map((m) => [m.replace('-', '_'), performance.getEntriesByName(m)[0]?.startTime ?? -1])));
      const engine = (await visit.page.textContent('#engine')).replace(/^Engine: /, '');
      const line = `MEASURE cold_page backend=${backend} ` + Object.entries(marks)
        .map(([k, v]) => `${k}_ms=${v.toFixed(0)}`).join(' ');
      console.log(`${line}\n  (${engine})`);
      results.push({ ...parse(line), engine });
      await visit.context.close();

      // The benchmark mode, on the page's thread.
      const updates = env(webgpu ? 'BENCH_GPU_UPDATES' : 'BENCH_UPDATES', 50);
      const { context, page } = await newPage(chromium.browser);
      let finish;
      const done = new Promise((resolve) => { finish = resolve; });
      page.on('console', (m) => {
        const text = m.text();
        if (!text.startsWith('MEASURE')) return;
        console.log(text);
        if (text === 'MEASURE done') finish();
        else results.push({ ...parse(text), backend_run: backend });
      });
      const query = `?bench=${updates}&gpu=${webgpu ? 'force' : 'off'}&large=${large}&rank=${webgpu ? 0 : 1}`;
      await page.goto(server.url('/') + query);
      await Promise.race([done, page.waitForSelector('#error:not([hidden])', { timeout: 0 })
        .then(async () => { throw new Error(`bench page failed: ${await page.textContent('#error')}`); })]);
      if (page.errors.length) throw new Error(`bench page errors: ${page.errors.join('; ')}`);
      await context.close();
    } finally {
      await chromium.close();
    }
  }
} finally {
  await server.close();
}
fs.writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
console.log(`browser bench: ${results.length} results in ${out}`);
