// Which engine runs the model. Every visitor starts on the CPU module; `chooseEngine` then
// decides, once, whether WebGPU takes over: never with `off`, nor on a software adapter; else it
// times the same updates on both modules (`Genie.calibrate`, `Genie.versus`) and WebGPU wins
// only when they agree and it is clearly faster (`force`: whenever they agree). A verdict
// measured in `auto` holds for its adapter and WebGPU module build, so it can be remembered.

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

/**
 * The decision for the model in `bytes` (`mode`: 'auto', 'force' or 'off'), given the CPU
 * module and the verdict this browser remembered (`known`, or null). Answers the verdict
 * (`{reason, kind?, adapter?, key?, cpuMs?, gpuMs?}`; `remembered` or `measured` in `auto`)
 * and, when WebGPU wins, `genie`: a WebGPU Genie without ratings, the caller's to free.
 */
export async function chooseEngine(mode, known, bytes, cpuModule) {
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
      const probe = await cpuModule.Genie.create(bytes, false, null);
      try {
        const timed = await gpu.versus(await probe.calibrate(runs), runs, mode === 'force');
        verdict = { ...base, ...timed, measured: mode === 'auto' };
      } finally {
        probe.free();
      }
    }
    if (verdict.kind !== 'webgpu') return verdict;
    const genie = gpu;
    gpu = null;
    return { ...verdict, genie };
  } catch (e) {
    return { ...base, reason: `WebGPU could not be measured (${e?.message ?? e})` };
  } finally {
    gpu?.free();
  }
}
