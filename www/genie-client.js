// The page's side of the Genie (genie-host.js): its calls as promises, answered by a module
// Worker (worker.js) so the page stays responsive, or in the page where no Worker starts. The
// host decides what this browser keeps (the visitor's ratings, the engine verdict for its WebGPU
// adapter); a Worker has no localStorage, so the page lends its own: it hands over what is kept
// at start, stores what a reply says to keep, and passes on the ratings another tab stores.

/** Where each thing the host keeps is stored. */
const KEYS = { ratings: 'movie-genie/ratings/v1', engine: 'movie-genie/engine/v1' };

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

  /** Calls the host and stores what its reply says to keep (`keep: {ratings|engine: text}`). */
  async #ask(method, ...args) {
    const { keep = {}, ...reply } = await this.#call(method, args);
    for (const [name, text] of Object.entries(keep)) {
      const { problem } = storage('setItem', KEYS[name], text);
      if (problem) console.warn(`movie-genie: could not keep the ${name}: ${problem}`);
      // The note is about the thumbs: an engine verdict not kept is only measured again.
      if (name === 'ratings') {
        this.storageProblem = problem ? `this browser refused to store them (${problem})` : null;
      }
    }
    return reply;
  }

  async create(bytes) {
    const kept = {};
    for (const [name, key] of Object.entries(KEYS)) {
      const { value = null, problem } = storage('getItem', key);
      kept[name] = value;
      if (problem) this.storageProblem = `this browser's storage cannot be read (${problem})`;
    }
    const { value } = await this.#ask('create', bytes, kept);
    ({ attribution: this.attribution, warnings: this.warnings } = value);
    const wasmReady = value.wasmReadyAt - performance.timeOrigin;
    if (wasmReady > 0) performance.mark('wasm-ready', { startTime: wasmReady });
  }

  /**
   * Applies one change (`Genie.apply`'s `{kind, …}`; null: none) and answers `{value, view,
   * engine}`: the change's outcome, everything the page draws for `shape` (`{k, fresh}`), and
   * which engine runs.
   */
  change(change, shape) { return this.#ask('change', change, shape); }
  /** Whether WebGPU takes over (`mode`: 'auto', 'force' or 'off'; engine.js): `{value: engine, stats}`. */
  upgrade(mode) { return this.#ask('upgrade', mode); }
  /** The text of the file Export writes. */
  async exportRatings() { return (await this.#ask('exportRatings')).value; }
  async search(text, limit) { return (await this.#ask('search', text, limit)).value; }

  /**
   * Follows the saved ratings when another tab of this browser changes them (the `storage`
   * event fires in every tab but the writer's): `onSaved(text)` gets that tab's text (null
   * after a wipe of the whole storage), for a `replace` change, so a thumb, a removal or a wipe
   * in one tab is never overwritten by another.
   */
  followOtherTabs(onSaved) {
    addEventListener('storage', (event) => {
      // `key` is null when the whole storage was cleared.
      if (event.key === null || event.key === KEYS.ratings) onSaved(event.newValue);
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
