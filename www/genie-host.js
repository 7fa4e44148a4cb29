// The one Genie of this context behind a message-shaped interface, `handle(method, args)`,
// which worker.js serves from a module Worker and the page runs in place where a Worker cannot
// start (genie-client.js). Each `change` is applied as it arrives and answered with the next
// view (`Genie.view`: everything the page draws, numbered by `seq`); changes that arrive before
// that view starts share it, so a burst of thumbs is one fine-tune.
//
// The host decides what the browser keeps, and the page stores it: `create` gets what was kept
// (`{ratings, engine}`, text or null), and a reply's `keep` names the text to store: the ratings
// after every change but one that came from storage, the engine verdict once newly measured.
//
// Every visitor starts on the CPU module; `upgrade` asks engine.js, once, whether WebGPU takes
// over, and switches when it does. When WebGPU fails, the CPU takes over with the ratings kept.
import { chooseEngine, loadModule } from './engine.js';

export function createHost() {
  // The CPU module is fetched and compiled from the start, while the page downloads the bundle.
  const cpuModule = loadModule('cpu');
  cpuModule.catch(() => {}); // `create` reports the failure
  let genie = null;
  let bytes = null;
  let engine = { kind: 'cpu', reason: 'every visitor starts on the CPU', cpuMs: null, gpuMs: null };
  let upgrading = null;
  /** The verdict this browser kept for its adapter, or null. */
  let known = null;
  /** `{k, fresh}`: how many recommendations and new movies the page last asked for. */
  let shape = null;
  let seq = 0;
  // Views run one after another, and a Genie is replaced only between them: it is freed, which
  // must not happen while one of its calls is running. `next` is the view changes still share.
  let views = Promise.resolve();
  let next = null;
  const afterViews = (task) => (views = views.catch(() => {}).then(task));

  /** Makes `other` the Genie, with the current one's ratings, and frees the current one. */
  function switchTo(other, verdict) {
    other.apply({ kind: 'replace', saved: genie.savedRatings() });
    genie.free();
    genie = other;
    engine = { ...engine, ...verdict };
  }

  async function view() {
    // Changes already posted to this context apply before the view starts.
    await new Promise((resolve) => setTimeout(resolve));
    next = null;
    const draw = async () => ({ ...(await genie.view(shape.k, shape.fresh)), seq: ++seq });
    try {
      return await draw();
    } catch (e) {
      if (engine.kind !== 'webgpu') throw e;
      const reason = `WebGPU failed (${e?.message ?? e}); back on the CPU`;
      console.warn(`movie-genie: ${reason}`);
      switchTo(await (await cpuModule).Genie.create(bytes, false, null), { kind: 'cpu', reason });
      return draw();
    }
  }

  const calls = {
    async create(bundle, kept) {
      const { Genie, readyAt } = await cpuModule;
      bytes = bundle;
      genie = await Genie.create(bytes, false, kept.ratings);
      try {
        known = JSON.parse(kept.engine);
      } catch {
        // not JSON: measure again
      }
      return { value: { attribution: genie.attribution(), warnings: genie.warnings(), wasmReadyAt: readyAt } };
    },
    async change(change, asked) {
      shape = asked ?? shape;
      if (!shape) throw new Error('"change" needs {k, fresh}: how many recommendations and new movies to show');
      const value = change ? genie.apply(change) : null;
      next ??= afterViews(view);
      const drawn = await next;
      const keep = change && change.kind !== 'replace' ? { ratings: drawn.saved } : {};
      return { value, view: drawn, engine, keep };
    },
    async upgrade(mode) {
      upgrading ??= (async () => {
        const { genie: chosen, measured, ...verdict } = await chooseEngine(mode, known, bytes, await cpuModule);
        if (chosen) await afterViews(() => switchTo(chosen, verdict));
        else engine = { ...engine, ...verdict };
        return measured ? { engine: JSON.stringify(verdict) } : {};
      })();
      const keep = await upgrading;
      return { value: engine, stats: genie.stats(), keep };
    },
    exportRatings: () => ({ value: genie.exportRatings() }),
    search: (text, limit) => ({ value: genie.search(text, limit) }),
  };

  return async function handle(method, args) {
    if (!Object.hasOwn(calls, method)) {
      throw new Error(`unknown call "${method}"; expected one of ${Object.keys(calls).join(', ')}`);
    }
    if (!genie && method !== 'create') throw new Error(`"${method}" was called before the model loaded`);
    return calls[method](...args);
  };
}
