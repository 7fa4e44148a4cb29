// The one Genie of this context behind a message-shaped interface: `handle(method, args)` runs
// a call and resolves to `{value}`, and for `change` also to `{view}`: everything the page
// draws (`Genie.view`), numbered by `seq`. `worker.js` serves it from a module Worker; the page
// runs it in place where a Worker cannot start (genie-client.js).
//
// One `change` call per change of the visitor's, each answered with a view; changes that
// arrive while a view is being computed share the next one, so a burst of thumbs is one
// fine-tune.
//
// Every visitor starts on the CPU module. `upgrade` then decides, once, whether WebGPU runs
// the model: never with `off`; not on a software adapter; otherwise it fetches the WebGPU
// module, times the same updates on both engines (`Genie.calibrate`, `Genie.versus`) and
// switches only when they agree and WebGPU is clearly faster (`force`: whenever they agree).
// A WebGPU failure at any point returns to the CPU with the ratings kept.

/** Calls that only read. */
const READS = new Set(['exportRatings', 'search']);
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
  let adapter = null;
  try {
    adapter = await globalThis.navigator?.gpu?.requestAdapter();
  } catch {
    return null;
  }
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(Boolean);
  const name = [info.vendor, info.architecture].filter(Boolean).join('/') || info.description || 'unnamed adapter';
  const software = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || SOFTWARE.test(parts.join(' '));
  return { name, key: parts.join('|') || 'unnamed', software };
}

export function createHost() {
  // The CPU module is fetched and compiled from the start, while the page downloads the bundle.
  const cpuModule = loadModule('cpu');
  cpuModule.catch(() => {}); // `create` reports the failure
  let genie = null;
  let bytes = null;
  let engine = { kind: 'cpu', reason: 'every visitor starts on the CPU', cpuMs: null, gpuMs: null };
  let upgrading = null;
  // A replaced Genie may still be inside a call: it is freed once no call is running.
  let running = 0;
  let retired = [];

  /** Makes `next` the Genie, with the current one's ratings; the old one retires. */
  function switchTo(next) {
    next.apply({ kind: 'replace', saved: genie.savedRatings() });
    retired.push(genie);
    genie = next;
  }

  /** Runs `call` on the Genie; on a WebGPU Genie, a failure returns to the CPU and retries. */
  async function onGenie(call) {
    running++;
    try {
      return await call(genie);
    } catch (e) {
      if (engine.kind !== 'webgpu') throw e;
      const { Genie } = await cpuModule;
      switchTo(await Genie.create(bytes, false, null));
      engine = { ...engine, kind: 'cpu', reason: `WebGPU failed (${e?.message ?? e}); back on the CPU` };
      console.warn(`movie-genie: ${engine.reason}`);
      return call(genie);
    } finally {
      if (--running === 0) {
        for (const old of retired) old.free();
        retired = [];
      }
    }
  }

  /** The engine decision described above; `known` is the verdict remembered for this adapter. */
  async function upgrade(mode, known) {
    if (mode === 'off') return { ...engine, reason: 'WebGPU turned off (?gpu=off)' };
    const adapter = await webgpuAdapter();
    if (!adapter) return { ...engine, reason: 'this browser offers no WebGPU adapter' };
    const key = `${adapter.key}|${WEBGPU_MODULE_VERSION}`;
    const base = { adapter: adapter.name, key };
    if (adapter.software && mode !== 'force') {
      return { ...engine, ...base, reason: `${adapter.name} is a software adapter: WebGPU would run on the CPU, slower than this engine` };
    }
    const remembered = known?.key === key && mode !== 'force' ? known : null;
    if (remembered?.kind === 'cpu') return { ...engine, ...remembered, remembered: true };
    let gpu = null;
    /** WebGPU runs the model from now on. */
    const take = (verdict) => {
      switchTo(gpu);
      gpu = null;
      engine = verdict;
      return engine;
    };
    try {
      const webgpu = await loadModule('webgpu');
      gpu = await webgpu.Genie.create(bytes, true, null);
      const backend = gpu.backend();
      if (backend.kind !== 'webgpu') {
        return { ...engine, ...base, reason: `WebGPU did not start (${backend.fallbackReason})` };
      }
      if (remembered?.kind === 'webgpu') return take({ ...remembered, remembered: true });
      const { Genie } = await cpuModule;
      const probe = await Genie.create(bytes, false, null);
      const runs = mode === 'force' ? 1 : CALIBRATION_RUNS;
      let onCpu;
      try {
        onCpu = await probe.calibrate(runs);
      } finally {
        probe.free();
      }
      const verdict = { ...base, ...(await gpu.versus(onCpu, runs, mode === 'force')) };
      return verdict.kind === 'webgpu' ? take(verdict) : { ...engine, ...verdict };
    } catch (e) {
      return { ...engine, ...base, reason: `WebGPU could not be measured (${e?.message ?? e})` };
    } finally {
      gpu?.free();
    }
  }

  // The view being computed, and the one after it that the changes since then share.
  let computing = null;
  let next = null;
  let seq = 0;
  /** `{k, fresh}`: how many recommendations and new movies the page last asked for (every
   *  `change` call says). */
  let shape = null;

  function nextView() {
    next ??= (async () => {
      await computing?.catch(() => {});
      // Changes already posted to this Worker apply before the view starts.
      await new Promise((resolve) => setTimeout(resolve));
      next = null;
      computing = onGenie((g) => g.view(shape.k, shape.fresh)).then((view) => ({ ...view, seq: ++seq }));
      return computing;
    })();
    return next;
  }

  return async function handle(method, args) {
    if (method === 'create') {
      const [bundle, saved] = args;
      const { Genie, readyAt } = await cpuModule;
      genie?.free();
      genie = null;
      bytes = bundle;
      genie = await Genie.create(bytes, false, saved);
      return {
        value: { attribution: genie.attribution(), warnings: genie.warnings(), wasmReadyAt: readyAt },
      };
    }
    if (!genie) throw new Error(`"${method}" was called before the model loaded`);
    if (method === 'change') {
      const [change, asked] = args;
      shape = asked ?? shape;
      if (!shape) throw new Error('"change" needs {k, fresh}: how many recommendations and new movies to show');
      const value = change ? genie.apply(change) : null;
      return { value, view: await nextView(), engine };
    }
    if (method === 'upgrade') {
      upgrading ??= upgrade(...args).then((verdict) => {
        engine = { ...engine, ...verdict };
        return engine;
      });
      const value = await upgrading;
      return { value, stats: genie.stats() };
    }
    if (!READS.has(method)) {
      throw new Error(`unknown call "${method}"; expected create, change, upgrade or one of ${[...READS].join(', ')}`);
    }
    return { value: await onGenie((g) => g[method](...args)) };
  };
}
