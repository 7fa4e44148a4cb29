// The one Genie of this context behind a message-shaped interface, `handle(method, args)`,
// which worker.js serves from a module Worker and the page runs in place where a Worker cannot
// start (genie-client.js). Each `change` is applied as it arrives and answered with the next
// view (`Genie.view`: everything the page draws, numbered by `seq`); changes that arrive before
// that view starts share it, so a burst of thumbs is one fine-tune.
//
// Every visitor starts on the CPU module. `upgrade` then decides, once, whether WebGPU runs the
// model: never with `off`, nor on a software adapter; else it times the same updates on both
// modules (`Genie.calibrate`, `Genie.versus`) and switches only when they agree and WebGPU is
// clearly faster (`force`: whenever they agree). When WebGPU fails, the CPU takes over with the
// ratings kept.

/** Timed updates per engine; `force` only checks agreement, so one. */
const CALIBRATION_RUNS = 5;
/** Adapter names of software renderers: WebGPU on the CPU, slower than our own CPU path. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|warp|microsoft basic render|software/i;
/** The WebGPU module's SHA-256 prefix, which build.sh writes here: a verdict remembered for an
 *  adapter holds for this module only. */
const WEBGPU_MODULE_VERSION = 'dev';

/** Fetches, compiles and starts `pkg/<flavour>/` (`cpu` or `webgpu`). */
export async function loadModule(flavour) {
  const glue = await import(`./pkg/${flavour}/movie_genie.js`);
  await glue.default();
  return { ...glue, flavour, readyAt: performance.timeOrigin + performance.now() };
}

/** The browser's WebGPU adapter as `{name, key, software}`, or null without one. */
async function webgpuAdapter() {
  const adapter = await globalThis.navigator?.gpu?.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(Boolean);
  return {
    name: [info.vendor, info.architecture].filter(Boolean).join('/') || info.description || 'unnamed adapter',
    key: `${parts.join('|') || 'unnamed'}|${WEBGPU_MODULE_VERSION}`,
    software: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || SOFTWARE.test(parts.join(' ')),
  };
}

export function createHost() {
  // The CPU module is fetched and compiled from the start, while the page downloads the bundle.
  const cpuModule = loadModule('cpu');
  cpuModule.catch(() => {}); // `create` reports the failure
  let genie = null;
  let bytes = null;
  let engine = { kind: 'cpu', reason: 'every visitor starts on the CPU', cpuMs: null, gpuMs: null };
  let upgrading = null;
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

  /** The engine decision described above: `known` is the verdict remembered for the adapter. */
  async function upgrade(mode, known) {
    if (mode === 'off') return { reason: 'WebGPU turned off (?gpu=off)' };
    const adapter = await webgpuAdapter();
    if (!adapter) return { reason: 'this browser offers no WebGPU adapter' };
    const base = { adapter: adapter.name, key: adapter.key };
    if (adapter.software && mode !== 'force') {
      return { ...base, reason: `${adapter.name} is a software adapter: WebGPU would run on the CPU, slower than this engine` };
    }
    const remembered = known?.key === adapter.key && mode !== 'force' ? { ...known, remembered: true } : null;
    if (remembered?.kind === 'cpu') return remembered;
    let gpu = null;
    try {
      gpu = await (await loadModule('webgpu')).Genie.create(bytes, true, null);
      const backend = gpu.backend();
      if (backend.kind !== 'webgpu') return { ...base, reason: `WebGPU did not start (${backend.fallbackReason})` };
      let verdict = remembered;
      if (!verdict) {
        const runs = mode === 'force' ? 1 : CALIBRATION_RUNS;
        const probe = await (await cpuModule).Genie.create(bytes, false, null);
        try {
          verdict = { ...base, ...(await gpu.versus(await probe.calibrate(runs), runs, mode === 'force')) };
        } finally {
          probe.free();
        }
      }
      if (verdict.kind === 'webgpu') {
        const chosen = gpu;
        gpu = null;
        await afterViews(() => switchTo(chosen, verdict));
      }
      return verdict;
    } catch (e) {
      return { ...base, reason: `WebGPU could not be measured (${e?.message ?? e})` };
    } finally {
      gpu?.free();
    }
  }

  const calls = {
    async create(bundle, saved) {
      const { Genie, readyAt } = await cpuModule;
      bytes = bundle;
      genie = await Genie.create(bytes, false, saved);
      return { value: { attribution: genie.attribution(), warnings: genie.warnings(), wasmReadyAt: readyAt } };
    },
    async change(change, asked) {
      shape = asked ?? shape;
      if (!shape) throw new Error('"change" needs {k, fresh}: how many recommendations and new movies to show');
      const value = change ? genie.apply(change) : null;
      next ??= afterViews(view);
      return { value, view: await next, engine };
    },
    async upgrade(mode, known) {
      upgrading ??= upgrade(mode, known).then((verdict) => (engine = { ...engine, ...verdict }));
      return { value: await upgrading, stats: genie.stats() };
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
