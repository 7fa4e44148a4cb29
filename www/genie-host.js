// The one Genie of this context behind a message-shaped interface: `handle(method, args)` runs
// a call and resolves to `{value}`, plus `{ratings, saved}` after a change (the new list and the
// text the page stores) and `{stats}` after an update. `worker.js` serves it from a module
// Worker; the page runs it in place where a Worker cannot start (genie-client.js).
import init, { Genie } from './pkg/movie_genie.js';

/** Calls that change the ratings: their replies carry what the page must store. */
const CHANGES = new Set(['rate', 'unrate', 'clearRatings']);
const CALLS = new Set([...CHANGES, 'recommend', 'search', 'similar', 'ratings', 'stats', 'backend']);

export function createHost() {
  // Fetch and compile the module at once, while the page downloads the bundle.
  const wasm = init().then(() => performance.timeOrigin + performance.now());
  let genie = null;
  return async function handle(method, args) {
    if (method === 'create') {
      const [bytes, preferGpu, saved] = args;
      const wasmReadyAt = await wasm;
      genie?.free();
      genie = null;
      genie = await Genie.detached(bytes, preferGpu, saved);
      return {
        value: { attribution: genie.attribution(), warnings: genie.warnings(), wasmReadyAt },
        ratings: genie.ratings(),
        stats: genie.stats(),
      };
    }
    if (!CALLS.has(method)) {
      throw new Error(`unknown call "${method}"; expected create or one of ${[...CALLS].join(', ')}`);
    }
    if (!genie) throw new Error(`"${method}" was called before the model loaded`);
    const value = await genie[method](...args);
    if (CHANGES.has(method)) return { value, ratings: genie.ratings(), saved: genie.savedRatings() };
    if (method === 'recommend') return { value, stats: genie.stats() };
    return { value };
  };
}
