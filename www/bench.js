// The benchmark mode of the page (`?bench=N`), driven by perf/browser.mjs; numbers are printed
// as MEASURE lines on the console, never judged here. Runs on the page's own thread so the
// figures are compute, not messaging. Needs the benchmark build, whose modules carry the bench
// API (src/web/bench.rs); the shipped build refuses it. Parameters:
//   bench=N     rate → top-20 updates per catalog (default 50)
//   gpu=force   the WebGPU module on the browser's adapter (default: the CPU one)
//   large=ROWS[,ROWS…]  also synthetic catalogs of ROWS movies (the shipped model's shape); on
//               WebGPU, catalogs from 100k movies are scored on the device (device_rank.rs)
//   rank=0      skip the ranking kernel comparison
// The shipped catalog is also searched by description ("describe a movie").
import { loadModule } from './engine.js';

const K = 20;
const DIM = 65; // the shipped table: 64-d vectors + the item bias column

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.round((sorted.length - 1) * p)];
};
const f1 = (v) => v.toFixed(1);
const f3 = (v) => v.toFixed(3);

/** Load → first top-20, then `updates` rate → top-20 on a fresh visitor. */
async function pageRun({ Genie, flavour }, name, bytes, updates, gpu) {
  const started = performance.now();
  const g = await Genie.create(bytes, gpu, null);
  const popular = g.search('', 400);
  await g.view(K, 1);
  const first = performance.now() - started;
  const times = [];
  const tune = [];
  const rank = [];
  for (let i = 0; i < updates; i++) {
    g.apply({ kind: 'rate', movieId: popular[(i * 37) % popular.length].movieId, thumbs: i % 4 === 3 ? -1 : 2 });
    const t = performance.now();
    const s = (await g.view(K, 1)).stats;
    times.push(performance.now() - t);
    tune.push(s.personalizeMs);
    rank.push(s.rankMs);
  }
  // The same call with unchanged ratings reuses the vector: ranking + handing the view to JS.
  const again = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await g.view(K, 1);
    again.push(performance.now() - t);
  }
  const s = g.stats();
  handoverRun(name, g, popular[0].movieId);
  console.log(`MEASURE page catalog=${name} module=${flavour} movies=${s.catalog} backend=${s.backend.kind} ` +
    `ranking=${s.ranksOnDevice ? 'device' : 'cpu'} ` +
    `adapter=${s.backend.adapter} load_ms=${f1(s.loadMs)} load_to_first_recs_ms=${f1(first)} ` +
    `updates=${updates} ratings_at_end=${s.ratings} update_median_ms=${f1(pct(times, 0.5))} ` +
    `update_p95_ms=${f1(pct(times, 0.95))} finetune_median_ms=${f1(pct(tune, 0.5))} ` +
    `finetune_p95_ms=${f1(pct(tune, 0.95))} rank_median_ms=${f1(pct(rank, 0.5))} ` +
    `unchanged_view_median_ms=${f1(pct(again, 0.5))}`);
  g.free();
}

/** What a page without the kernel would write: a dot product per Float32Array row and a small
 *  sorted list of the best `k`. Returns row indices, best first. */
function jsTopK(table, dim, q, k) {
  const best = []; // [score, row], descending
  let floor = -Infinity;
  const rows = table.length / dim;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * dim;
    for (let j = 0; j < dim; j++) s += table[o + j] * q[j];
    if (best.length === k && s <= floor) continue;
    let at = best.length;
    while (at > 0 && best[at - 1][0] < s) at--;
    best.splice(at, 0, [s, r]);
    if (best.length > k) best.pop();
    if (best.length === k) floor = best[k - 1][0];
  }
  return best.map(([, r]) => r);
}

/** What handing results to JS costs: calls that return plain objects, no model work. */
function handoverRun(name, g, movieId) {
  const samples = 10;
  const fields = [
    `similar20_ms=${f3(time(() => g.similar(movieId, K), samples))}`,
    `search20_ms=${f3(time(() => g.search('', K), samples))}`,
    `stats_ms=${f3(time(() => g.stats(), samples))}`,
    `backend_ms=${f3(time(() => g.backend(), samples))}`,
  ];
  console.log(`MEASURE handover catalog=${name} ratings=${g.stats().ratings} ${fields.join(' ')}`);
}

/** Median time per call of `fn` over `samples` samples, after a warm-up. Each sample repeats
 *  the call until it spans ≥ 5 ms, since the page's clock ticks in 0.1 ms steps. */
function time(fn, samples) {
  const warm = performance.now();
  let calls = 0;
  do {
    fn();
    calls++;
  } while (performance.now() - warm < 5);
  const t = [];
  for (let i = 0; i < samples; i++) {
    const s = performance.now();
    for (let j = 0; j < calls; j++) fn();
    t.push((performance.now() - s) / calls);
  }
  return pct(t, 0.5);
}

/** Top-20 over `rows` seeded rows: the wasm int8 kernel beside the plain JS f32 loop. */
function rankRun({ RankBench }, rows) {
  const bench = new RankBench(rows, DIM, rows);
  const floats = new Float32Array(bench.floats());
  const queries = Array.from({ length: 8 }, (_, i) => floats.slice(i * 7 * DIM, (i * 7 + 1) * DIM));
  let wasm = [];
  let js = [];
  let qi = 0;
  const samples = 20;
  const wasmMs = time(() => { wasm = bench.topK(queries[qi++ % queries.length], K); }, samples);
  qi = 0;
  const jsMs = time(() => { js = jsTopK(floats, DIM, queries[qi++ % queries.length], K); }, samples);
  // Agreement on one query: int8 codes against the f32 vectors they came from.
  wasm = bench.topK(queries[0], K);
  js = jsTopK(floats, DIM, queries[0], K);
  const overlap = [...wasm].filter((r) => js.includes(r)).length / K;
  console.log(`MEASURE rank rows=${rows} dim=${DIM} k=${K} wasm_int8_ms=${f3(wasmMs)} ` +
    `js_f32_loop_ms=${f3(jsMs)} speedup=${f1(jsMs / wasmMs)} top20_overlap=${overlap.toFixed(2)} ` +
    `table_bytes_int8=${rows * (DIM + 4)} table_bytes_f32=${floats.byteLength}`);
  bench.free();
}

const DESCRIPTIONS = [
  'animated film about toys', 'a heist with a twist', 'a slow, sad space film',
  'something funny for kids about animals', 'a courtroom drama', 'zombies in a shopping mall',
  'a love story in paris', 'a boxer who never gives up', 'time travel paradox',
  'a haunted house', 'gangsters in new york', 'a road trip with friends', 'robots and artificial intelligence',
  'a musical about dreams', 'a war film about soldiers', 'a detective solving a murder',
  'superheroes saving the world', 'a family christmas comedy', 'dinosaurs', 'a spy thriller in the cold war',
];

/** "Describe a movie": the search data's download, loading it, the first answer, then a
 *  description → top 20 alone and blended with a visitor's taste. */
async function describeRun({ Genie, flavour }, bytes, gpu) {
  let t = performance.now();
  const response = await fetch('assets/movie-genie.search');
  const search = new Uint8Array(await response.arrayBuffer());
  const downloadMs = performance.now() - t;
  const g = await Genie.create(bytes, gpu, null);
  t = performance.now();
  g.loadSearch(search);
  const loadMs = performance.now() - t;
  g.describe(DESCRIPTIONS[0], 0, K);
  const firstMs = performance.now() - t;
  const alone = DESCRIPTIONS.map((d) => {
    const s = performance.now();
    g.describe(d, 0, K);
    return performance.now() - s;
  });
  const popular = g.search('', 5);
  for (const m of popular) g.apply({ kind: 'rate', movieId: m.movieId, thumbs: 2 });
  await g.view(K, 1);
  const blended = DESCRIPTIONS.map((d) => {
    const s = performance.now();
    g.describe(d, 0.5, K);
    return performance.now() - s;
  });
  console.log(`MEASURE describe module=${flavour} search_bytes=${search.length} download_ms=${f1(downloadMs)} ` +
    `load_ms=${f1(loadMs)} first_answer_after_download_ms=${f1(firstMs)} queries=${DESCRIPTIONS.length} ` +
    `query_median_ms=${f1(pct(alone, 0.5))} query_p95_ms=${f1(pct(alone, 0.95))} ` +
    `with_taste_median_ms=${f1(pct(blended, 0.5))} with_taste_p95_ms=${f1(pct(blended, 0.95))}`);
  g.free();
}

export async function bench(bytes, params) {
  const gpu = params.get('gpu') === 'force';
  const wasm = await loadModule(gpu ? 'webgpu' : 'cpu');
  if (!wasm.RankBench) {
    throw new Error('this build has none; it needs the benchmark build, which perf/run.sh makes ' +
      '(MOVIE_GENIE_BENCH=1 ./build.sh)');
  }
  const updates = Number(params.get('bench')) || 50;
  await pageRun(wasm, 'shipped', bytes, updates, gpu);
  await describeRun(wasm, bytes, gpu);
  for (const large of (params.get('large') ?? '').split(',').map(Number).filter((n) => n > 0)) {
    const t = performance.now();
    const synthetic = wasm.syntheticBundle(large, 7);
    console.log(`MEASURE synthetic_bundle movies=${large} bytes=${synthetic.length} ` +
      `build_ms=${f1(performance.now() - t)}`);
    await pageRun(wasm, `synthetic-${large}`, synthetic, updates, gpu);
  }
  if (params.get('rank') !== '0') {
    for (const rows of [9_742, 100_000]) rankRun(wasm, rows);
  }
  console.log('MEASURE done');
}
