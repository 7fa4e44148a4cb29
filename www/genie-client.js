// The page's side of the Genie (genie-host.js): its calls as promises, answered by a module
// Worker (worker.js) so the page stays responsive, or in the page where no Worker starts. The
// page owns what this browser keeps, since a Worker has no localStorage: the visitor's ratings
// (read at start, written after every change with the text the view gives, followed when
// another tab writes them) and the engine verdict for this browser's WebGPU adapter.

const RATINGS_KEY = 'movie-genie/ratings/v1';
const ENGINE_KEY = 'movie-genie/engine/v1';

/** Runs `method` of localStorage: `{value}`, or `{problem}` saying why it failed. */
function storage(method, ...args) {
  try {
    return { value: localStorage[method](...args) };
  } catch (e) {
    return { problem: String(e?.message ?? e) };
  }
}

/** `call(method, args)` answered by a module Worker; `failed` says why once it cannot run. */
function workerTransport() {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const pending = new Map();
  let next = 0;
  const transport = { where: 'worker', failed: null };
  const failure = () => new Error(`the background Worker failed: ${transport.failed}`);
  const fail = (reason) => {
    transport.failed = reason;
    for (const { reject } of pending.values()) reject(failure());
    pending.clear();
    worker.terminate();
  };
  worker.onmessage = ({ data: { id, ok, error, ...reply } }) => {
    const call = pending.get(id);
    pending.delete(id);
    if (ok) call?.resolve(reply);
    else call?.reject(new Error(error));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(event.message || 'its script did not load');
  };
  worker.onmessageerror = () => fail('a reply could not be read');
  transport.call = (method, args) => new Promise((resolve, reject) => {
    if (transport.failed) return reject(failure());
    pending.set(next, { resolve, reject });
    worker.postMessage({ id: next++, method, args });
  });
  return transport;
}

class GenieClient {
  #call;
  /** `'worker'` or `'page'`. */
  where;
  /** What of the saved ratings could not be read and was dropped, as text for the page. */
  warnings = [];
  /** Why this browser cannot keep the thumbs (storage blocked or full), or null. */
  storageProblem = null;
  attribution = '';

  constructor({ where, call }) {
    this.where = where;
    this.#call = call;
  }

  async create(bytes) {
    const saved = storage('getItem', RATINGS_KEY);
    if (saved.problem) this.storageProblem = `this browser's storage cannot be read (${saved.problem})`;
    const { value } = await this.#call('create', [bytes, saved.value ?? null]);
    ({ attribution: this.attribution, warnings: this.warnings } = value);
    const wasmReady = value.wasmReadyAt - performance.timeOrigin;
    if (wasmReady > 0) performance.mark('wasm-ready', { startTime: wasmReady });
  }

  /**
   * Applies one change (`Genie.apply`'s `{kind, …}`; null: none) and answers `{value, view,
   * engine}`: the change's outcome, everything the page draws for `shape` (`{k, fresh}`), and
   * which engine runs. Stores the view's text unless the change came from storage itself.
   */
  async change(change, shape) {
    const reply = await this.#call('change', [change, shape]);
    if (change && change.kind !== 'replace') {
      const { problem } = storage('setItem', RATINGS_KEY, reply.view.saved);
      this.storageProblem = problem ? `this browser refused to store them (${problem})` : null;
      if (problem) console.warn(`movie-genie: could not save ratings: ${problem}`);
    }
    return reply;
  }

  /**
   * Decides, once, whether WebGPU takes over from the CPU (`mode`: 'auto', 'force' or 'off';
   * genie-host.js), from the verdict this browser remembers for its adapter, and remembers a
   * newly measured one. Answers `{value: engine, stats}`.
   */
  async upgrade(mode) {
    let known = null;
    try {
      known = JSON.parse(storage('getItem', ENGINE_KEY).value);
    } catch {
      // unreadable storage or not JSON: measure again
    }
    const reply = await this.#call('upgrade', [mode, known]);
    const { key, kind, reason, cpuMs, gpuMs, remembered } = reply.value;
    if (mode === 'auto' && key && gpuMs != null && !remembered) {
      // Not kept where storage fails: the next visit measures again.
      storage('setItem', ENGINE_KEY, JSON.stringify({ key, kind, reason, cpuMs, gpuMs }));
    }
    return reply;
  }

  /** The text of the file Export writes. */
  async exportRatings() { return (await this.#call('exportRatings', [])).value; }
  async search(text, limit) { return (await this.#call('search', [text, limit])).value; }

  /**
   * Follows the saved ratings when another tab of this browser changes them (the `storage`
   * event fires in every tab but the writer's): `onSaved(text)` gets that tab's text (null
   * after a wipe of the whole storage), for a `replace` change, so a thumb, a removal or a wipe
   * in one tab is never overwritten by another.
   */
  followOtherTabs(onSaved) {
    addEventListener('storage', (event) => {
      // `key` is null when the whole storage was cleared.
      if (event.key === null || event.key === RATINGS_KEY) onSaved(event.newValue);
    });
  }
}

/**
 * Loads the model on the CPU from the bytes `download` resolves to, and the saved ratings. In a
 * module Worker unless `inPage`; when the Worker itself cannot run (not when the model is bad),
 * starts over in the page. The CPU wasm module compiles while the bundle downloads.
 */
export async function startGenie(download, { inPage = false } = {}) {
  if (!inPage && typeof Worker === 'function') {
    const transport = workerTransport();
    const client = new GenieClient(transport);
    try {
      await client.create(await download);
      return client;
    } catch (e) {
      if (!transport.failed) throw e;
      console.warn(`movie-genie: no background Worker (${transport.failed}); running in the page`);
    }
  }
  const { createHost } = await import('./genie-host.js');
  const client = new GenieClient({ where: 'page', call: createHost() });
  await client.create(await download);
  return client;
}
