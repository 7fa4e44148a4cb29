// `?bench=N&gpu=0|1`: N rate → top-20 updates on a fresh visitor, timings on the console
// (a MEASURE line). Kept out of main.js so the page itself stays small.
import { Genie } from './pkg/movie_genie.js';

export async function bench(bytes, updates, gpu) {
  const started = performance.now();
  const g = await Genie.create(bytes, gpu, 'movie-genie/bench');
  g.clearRatings();
  const popular = g.search('', 400);
  await g.recommend(20);
  const first = performance.now() - started;
  const times = [];
  const tune = [];
  for (let i = 0; i < updates; i++) {
    g.rate(popular[(i * 37) % popular.length].movieId, i % 4 === 3 ? -1 : 2);
    const t = performance.now();
    await g.recommend(20);
    times.push(performance.now() - t);
    tune.push(g.stats().personalizeMs);
  }
  const pct = (v, p) => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * p)].toFixed(1);
  const s = g.stats();
  console.log(`MEASURE page backend=${s.backend.kind} adapter=${s.backend.adapter} ` +
    `load_ms=${s.loadMs.toFixed(1)} load_to_first_recs_ms=${first.toFixed(1)} updates=${updates} ` +
    `update_median_ms=${pct(times, 0.5)} update_p95_ms=${pct(times, 0.95)} ` +
    `finetune_median_ms=${pct(tune, 0.5)} finetune_p95_ms=${pct(tune, 0.95)}`);
  g.clearRatings();
}
