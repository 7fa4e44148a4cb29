// The one Genie of this context behind a message-shaped interface, `handle(method, args)`,
// which worker.js serves from a module Worker and the page runs in place where a Worker cannot
// start (genie-client.js). Each change is applied as it arrives (`apply`, answered at once so the
// page can store it); `view` answers the next view (`Genie.view`: everything the page draws,
// numbered by `seq`), and views asked for before it starts share it, so a burst of thumbs is one
// fine-tune.
//
// The host decides what the browser keeps, and the page stores it: `create` gets what was kept
// (`{ratings, engine}`, text or null); `apply` gets what storage holds now, merges it before the
// change, and its reply's `keep` names the text to store whenever the merge holds more than
// storage did; `upgrade`'s names the engine verdict once newly measured.
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

  /** An import previewed and not yet confirmed: `{token, text}`. */
  let previewed = null;
  /** The thumbs' text after the last change: what a new Genie takes over, even from one that
   *  broke (a Genie whose wasm panicked answers nothing). */
  let saved = null;

  /** The "describe a movie" search data, once fetched (the first description asks for it). */
  let searchBytes = null;

  /** Makes `other` the Genie, with the current one's thumbs, and frees the current one. */
  function switchTo(other, verdict) {
    other.apply({ kind: 'sync', saved });
    if (searchBytes) other.loadSearch(searchBytes);
    try {
      genie.free();
    } catch (e) {
      console.warn('movie-genie: could not free the engine left behind:', e);
    }
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
      // The first line: wgpu's errors go on with their causes and a backtrace.
      const reason = `WebGPU failed (${String(e?.message ?? e).split('\n')[0]}); back on the CPU`;
      console.warn(`movie-genie: ${reason}`);
      switchTo(await (await cpuModule).Genie.create(bytes, false, null), { kind: 'cpu', reason });
      return draw();
    }
  }

  const calls = {
    async create(bundle, kept, seqFrom = 0) {
      seq = seqFrom;
      const { Genie, readyAt } = await cpuModule;
      bytes = bundle;
      genie = await Genie.create(bytes, false, kept.ratings);
      saved = genie.savedRatings();
      try {
        known = JSON.parse(kept.engine);
      } catch {
        // not JSON: measure again
      }
      return { value: { attribution: genie.attribution(), warnings: genie.warnings(), wasmReadyAt: readyAt } };
    },
    /** Merges `stored` (what this browser's storage holds), then applies `changes` in order,
     *  each answering `{value}` or `{error}`: null (none) answers whether the merge changed
     *  this copy's thumbs (`merged`), an import or a wipe `undo`, the thumbs before it. */
    apply(changes, stored) {
      const synced = genie.apply({ kind: 'sync', saved: stored ?? null });
      if (synced.warnings.length) console.warn('movie-genie: in the stored thumbs:', ...synced.warnings);
      const merged = changes.includes(null) && genie.savedRatings() !== saved;
      const outcomes = changes.map((change) => {
        if (!change) return { value: { merged } };
        try {
          const undo = change.kind === 'import' || change.kind === 'clear' ? genie.savedRatings() : undefined;
          return { value: { ...genie.apply(change.kind === 'import' ? confirmed(change) : change), undo } };
        } catch (e) {
          if (e instanceof WebAssembly.RuntimeError) throw e;
          return { error: String(e?.message ?? e) };
        }
      });
      saved = genie.savedRatings();
      // Nothing stored and nothing changed: nothing to write yet.
      const unchanged = saved === stored || (stored == null && !changes.some(Boolean));
      return { outcomes, keep: unchanged ? {} : { ratings: saved } };
    },
    async view(asked) {
      shape = asked ?? shape;
      if (!shape) throw new Error('"view" needs {k, fresh}: how many recommendations and new movies to show');
      next ??= afterViews(view);
      return { view: await next, engine };
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
    shareLink: () => ({ value: genie.shareLink() }),
    /** `source`: a File (read here, off the page's thread) or a share link's text. */
    async previewImport(source) {
      let text = source;
      if (typeof source !== 'string') {
        (await cpuModule).checkImportSize(source.size);
        text = await source.text();
      }
      const preview = genie.previewImport(text);
      previewed = { token: (previewed?.token ?? 0) + 1, text };
      return { value: { ...preview, token: previewed.token } };
    },
    search: (text, limit) => ({ value: genie.search(text, limit) }),
    /** The `k` movies for a description, `taste` (0 to 1) of the visitor's own list blended in;
     *  null when nothing is close. The first call fetches the search data (the service worker
     *  keeps it for offline use); a failed download says so and is tried again next time. */
    async describe(text, taste, k) {
      if (!searchBytes) {
        const url = new URL('./assets/movie-genie.search', import.meta.url);
        let response;
        try {
          response = await fetch(url);
        } catch (e) {
          throw new Error(`the search data could not be downloaded (${String(e?.message ?? e)}); check the connection and try again`);
        }
        if (!response.ok) {
          throw new Error(`the search data could not be downloaded (HTTP ${response.status}); try again later`);
        }
        const bytes = new Uint8Array(await response.arrayBuffer());
        await afterViews(() => genie.loadSearch(bytes));
        searchBytes = bytes;
      }
      return { value: await afterViews(() => genie.describe(text, taste, k)) };
    },
  };

  /** An `import` change as the Genie takes it: the previewed text its `token` names. */
  function confirmed({ token, preferFile }) {
    if (previewed?.token !== token) throw new Error('that import is no longer open: choose the file again');
    const { text } = previewed;
    previewed = null;
    return { kind: 'import', text, preferFile: Boolean(preferFile) };
  }

  return async function handle(method, args) {
    if (!Object.hasOwn(calls, method)) {
      throw new Error(`unknown call "${method}"; expected one of ${Object.keys(calls).join(', ')}`);
    }
    if (!genie && method !== 'create') throw new Error(`"${method}" was called before the model loaded`);
    return calls[method](...args);
  };
}
