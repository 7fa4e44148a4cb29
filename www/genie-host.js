// The one Genie of this context behind a message-shaped interface: `handle(method, args)` runs
// a call and resolves to `{value}`, plus `{ratings, saved}` after a change (the new list and the
// text the page stores), `{ratings, popularityWeight}` after another tab's change, and `{stats}`
// after an update. `worker.js` serves it from a module Worker; the page runs it in place where
// a Worker cannot start (genie-client.js).

/** Calls that change the ratings: their replies carry what the page must store. */
const CHANGES = new Set(['rate', 'unrate', 'clearRatings', 'setPopularityWeight']);
const CALLS = new Set([...CHANGES, 'replaceRatings', 'recommend', 'search', 'similar', 'ratings', 'stats', 'backend']);

/** Whether this context's browser offers a WebGPU adapter. */
async function hasWebgpuAdapter() {
  try {
    return Boolean(await globalThis.navigator?.gpu?.requestAdapter());
  } catch {
    return false;
  }
}

/**
 * The wasm module for this browser, fetched, compiled and started: `pkg/webgpu/` (burn-wgpu,
 * ~6× the download) only when the page prefers WebGPU and an adapter exists, else `pkg/cpu/`.
 * A WebGPU module that cannot load falls back to the CPU one.
 */
export async function loadModule(preferGpu) {
  const load = async (flavour) => {
    const glue = await import(`./pkg/${flavour}/movie_genie.js`);
    await glue.default();
    return { ...glue, flavour, readyAt: performance.timeOrigin + performance.now() };
  };
  if (preferGpu && await hasWebgpuAdapter()) {
    try {
      return await load('webgpu');
    } catch (e) {
      console.warn(`movie-genie: the WebGPU module did not load (${e?.message ?? e}); using the CPU one`);
    }
  }
  return load('cpu');
}

export function createHost() {
  let module = null;
  // `prepare` starts fetching and compiling the module while the page downloads the bundle.
  const prepare = (preferGpu) => (module ??= loadModule(preferGpu));
  let genie = null;
  return async function handle(method, args) {
    if (method === 'prepare') {
      prepare(args[0]).catch(() => {}); // `create` reports the failure
      return { value: null };
    }
    if (method === 'create') {
      const [bytes, preferGpu, saved] = args;
      const { Genie, readyAt } = await prepare(preferGpu);
      genie?.free();
      genie = null;
      genie = await Genie.detached(bytes, preferGpu, saved);
      return {
        value: {
          attribution: genie.attribution(),
          warnings: genie.warnings(),
          popularityWeight: genie.popularityWeight(),
          wasmReadyAt: readyAt,
        },
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
    // Another tab's saved text, already in storage: nothing to save back.
    if (method === 'replaceRatings') {
      return { value, ratings: genie.ratings(), popularityWeight: genie.popularityWeight() };
    }
    if (method === 'recommend') return { value, stats: genie.stats() };
    return { value };
  };
}
