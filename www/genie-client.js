// The page's side of the Genie: its calls as promises, answered by a module Worker (worker.js)
// so the page stays responsive while the model fine-tunes and ranks, or in the page itself
// where a Worker cannot start. The page owns what this browser keeps (a Worker has no
// localStorage): the visitor's ratings — read once at start, written after every change with
// the text the Genie gives, and followed when another tab of the same browser writes them
// (`followOtherTabs`) — and the engine verdict per WebGPU adapter (`upgrade`).

export const STORAGE_KEY = 'movie-genie/ratings/v1';
/** The last engine verdict: `{key, kind, reason, cpuMs, gpuMs}` (genie-host.js `upgrade`). */
export const ENGINE_KEY = 'movie-genie/engine/v1';

/** Posts calls to a module Worker; `failed` is set when the Worker itself cannot run. */
function workerTransport() {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const pending = new Map();
  let next = 0;
  const transport = { where: 'worker', failed: null };
  worker.onmessage = ({ data }) => {
    const call = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) call?.resolve(data);
    else call?.reject(new Error(data.error));
  };
  const fail = (reason) => {
    transport.failed = reason;
    for (const call of pending.values()) call.reject(new Error(`the background Worker failed: ${reason}`));
    pending.clear();
    worker.terminate();
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(event.message || 'its script did not load');
  };
  worker.onmessageerror = () => fail('a reply could not be read');
  transport.call = (method, args) => new Promise((resolve, reject) => {
    if (transport.failed) {
      reject(new Error(`the background Worker failed: ${transport.failed}`));
      return;
    }
    const id = next++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, method, args });
  });
  return transport;
}

/** Runs the same host in the page (it blocks the page while it works). */
async function inPageTransport() {
  const { createHost } = await import('./genie-host.js');
  const handle = createHost();
  return { where: 'page', failed: null, call: (method, args) => handle(method, args) };
}

class GenieClient {
  #transport;
  #storageKey;
  /** `ratings()` after the last change: `[{movieId, thumbs, title, year}]`. */
  ratings = [];
  /** `stats()` after the last update. */
  stats = null;
  /** Saved ratings that were dropped, or saving that failed: text for the page. */
  warnings = [];
  /** `{value, shipped}`: how much popularity counts (0 discover … 1 familiar) and the default. */
  popularityWeight = { value: 1, shipped: 1 };
  /** Why this browser cannot keep the thumbs (storage blocked or full), or null. */
  storageProblem = null;
  /** Which engine runs the model and why: `{kind, reason, adapter, cpuMs, gpuMs}`. */
  engine = null;
  attribution = '';

  constructor(transport, storageKey) {
    this.#transport = transport;
    this.#storageKey = storageKey;
  }

  /** `'worker'` or `'page'`. */
  get where() {
    return this.#transport.where;
  }

  /** Starts fetching and compiling the CPU wasm module (see genie-host.js). */
  prepare() {
    this.#transport.call('prepare', []).catch(() => {}); // `create` reports failures
  }

  async create(bytes) {
    let saved = null;
    try {
      saved = localStorage.getItem(this.#storageKey);
    } catch (e) {
      this.storageProblem = `this browser's storage cannot be read (${e?.message ?? e})`;
    }
    const { value } = await this.#call('create', [bytes, saved]);
    this.attribution = value.attribution;
    this.warnings.push(...value.warnings);
    this.popularityWeight = value.popularityWeight;
    const wasmReady = value.wasmReadyAt - performance.timeOrigin;
    if (wasmReady > 0) performance.mark('wasm-ready', { startTime: wasmReady });
  }

  rate(movieId, thumbs) { return this.#change('rate', movieId, thumbs); }
  unrate(movieId) { return this.#change('unrate', movieId); }
  clearRatings() { return this.#change('clearRatings'); }
  /** Adds the ratings of an exported file's text in one change: `{kept, warnings}`. */
  mergeRatings(text) { return this.#change('mergeRatings', text); }
  /** The text of the file Export writes. */
  async exportRatings() { return (await this.#call('exportRatings', [])).value; }
  async setPopularityWeight(weight) {
    await this.#change('setPopularityWeight', weight);
    this.popularityWeight = { ...this.popularityWeight, value: weight };
  }
  async recommend(k) { return (await this.#call('recommend', [k])).value; }
  async newForYou(k) { return (await this.#call('newForYou', [k])).value; }

  /**
   * Decides, once, whether WebGPU takes over from the CPU (`mode`: 'auto', 'force' or 'off';
   * genie-host.js), starting from the verdict this browser remembers for its adapter, and
   * remembers a new measured one.
   */
  async upgrade(mode) {
    let known = null;
    try {
      known = JSON.parse(localStorage.getItem(ENGINE_KEY));
    } catch {
      // none, unreadable or not JSON: measure again
    }
    const { value } = await this.#call('upgrade', [mode, known]);
    if (mode === 'auto' && value.key && value.gpuMs != null && !value.remembered) {
      const { key, kind, reason, cpuMs, gpuMs } = value;
      try {
        localStorage.setItem(ENGINE_KEY, JSON.stringify({ key, kind, reason, cpuMs, gpuMs }));
      } catch {
        // not kept: the next visit measures again
      }
    }
    return value;
  }
  async search(text, limit) { return (await this.#call('search', [text, limit])).value; }
  async similar(movieId, k) { return (await this.#call('similar', [movieId, k])).value; }

  async #call(method, args) {
    const reply = await this.#transport.call(method, args);
    if (reply.ratings) this.ratings = reply.ratings;
    if (reply.stats) this.stats = reply.stats;
    if (reply.engine) this.engine = reply.engine;
    return reply;
  }

  async #change(method, ...args) {
    const reply = await this.#call(method, args);
    try {
      localStorage.setItem(this.#storageKey, reply.saved);
      this.storageProblem = null;
    } catch (e) {
      this.storageProblem = `this browser refused to store them (${e?.message ?? e})`;
      console.warn(`movie-genie: could not save ratings: ${this.storageProblem}`);
    }
    return reply.value;
  }

  /**
   * Follows the saved ratings when another tab of this browser changes them (the `storage`
   * event fires in every tab but the writer's): the Genie takes that tab's list, so a thumb,
   * a removal or a wipe in one tab is never overwritten by another. `onChange(warnings)` runs
   * after each.
   */
  followOtherTabs(onChange) {
    addEventListener('storage', (event) => {
      // `key` is null when the whole storage was cleared.
      if (event.key !== null && event.key !== this.#storageKey) return;
      const text = event.key === null ? null : event.newValue;
      onChange(this.#call('replaceRatings', [text]).then((reply) => {
        this.popularityWeight = reply.popularityWeight;
        return reply.value;
      }));
    });
  }

  get failed() {
    return this.#transport.failed;
  }
}

/**
 * Loads the model on the CPU from the bytes `download` resolves to, and the saved ratings. In a
 * module Worker unless `inPage`; when the Worker itself cannot run (not when the model is bad),
 * starts over in the page. The CPU wasm module compiles while the bundle downloads.
 */
export async function startGenie(download, { inPage = false, storageKey = STORAGE_KEY } = {}) {
  if (!inPage && typeof Worker === 'function') {
    const client = new GenieClient(workerTransport(), storageKey);
    client.prepare();
    const bytes = await download;
    try {
      await client.create(bytes);
      return client;
    } catch (e) {
      if (!client.failed) throw e;
      console.warn(`movie-genie: no background Worker (${client.failed}); running in the page`);
    }
  }
  const client = new GenieClient(await inPageTransport(), storageKey);
  client.prepare();
  await client.create(await download);
  return client;
}
