// The page's side of the Genie: its calls as promises, answered by a module Worker (worker.js)
// so the page stays responsive while the model fine-tunes and ranks, or in the page itself
// where a Worker cannot start. The page owns what this browser keeps (a Worker has no
// localStorage): the visitor's ratings — read once at start, written after every change with
// the text the Genie gives, and followed when another tab of the same browser writes them
// (`followOtherTabs`) — and the engine verdict per WebGPU adapter (`upgrade`).

const STORAGE_KEY = 'movie-genie/ratings/v1';
/** The last engine verdict: `{key, kind, reason, cpuMs, gpuMs}` (genie-host.js `upgrade`). */
const ENGINE_KEY = 'movie-genie/engine/v1';

/** Posts calls to a module Worker; `failed` says why once the Worker itself cannot run. */
function workerTransport() {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const pending = new Map();
  let next = 0;
  const transport = { where: 'worker', failed: null };
  const failure = () => new Error(`the background Worker failed: ${transport.failed}`);
  const fail = (reason) => {
    transport.failed = reason;
    for (const call of pending.values()) call.reject(failure());
    pending.clear();
    worker.terminate();
  };
  worker.onmessage = ({ data }) => {
    const call = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) call?.resolve(data);
    else call?.reject(new Error(data.error));
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

/** Runs the same host in the page (it blocks the page while it works). */
async function inPageTransport() {
  const { createHost } = await import('./genie-host.js');
  return { where: 'page', call: createHost() };
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

  constructor(transport) {
    this.#call = transport.call;
    this.where = transport.where;
  }

  async create(bytes) {
    let saved = null;
    try {
      saved = localStorage.getItem(STORAGE_KEY);
    } catch (e) {
      this.storageProblem = `this browser's storage cannot be read (${e?.message ?? e})`;
    }
    const { value } = await this.#call('create', [bytes, saved]);
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
      try {
        localStorage.setItem(STORAGE_KEY, reply.view.saved);
        this.storageProblem = null;
      } catch (e) {
        this.storageProblem = `this browser refused to store them (${e?.message ?? e})`;
        console.warn(`movie-genie: could not save ratings: ${this.storageProblem}`);
      }
    }
    return reply;
  }

  /**
   * Decides, once, whether WebGPU takes over from the CPU (`mode`: 'auto', 'force' or 'off';
   * genie-host.js), starting from the verdict this browser remembers for its adapter, and
   * remembers a new measured one. Answers `{value: engine, stats}`.
   */
  async upgrade(mode) {
    let known = null;
    try {
      known = JSON.parse(localStorage.getItem(ENGINE_KEY));
    } catch {
      // none, unreadable or not JSON: measure again
    }
    const reply = await this.#call('upgrade', [mode, known]);
    const { key, kind, reason, cpuMs, gpuMs, remembered } = reply.value;
    if (mode === 'auto' && key && gpuMs != null && !remembered) {
      try {
        localStorage.setItem(ENGINE_KEY, JSON.stringify({ key, kind, reason, cpuMs, gpuMs }));
      } catch {
        // not kept: the next visit measures again
      }
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
      if (event.key === null || event.key === STORAGE_KEY) onSaved(event.newValue);
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
  const client = new GenieClient(await inPageTransport());
  await client.create(await download);
  return client;
}
