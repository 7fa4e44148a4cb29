// The page's side of the Genie (genie-host.js): its calls as promises, answered by a module
// Worker (worker.js) so the page stays responsive, or in the page where no Worker starts.
//
// The page is the visitor's database: a Worker has no localStorage, so the page lends its own.
// Every change is stored as read, merge, write under one lock across this site's tabs: the
// client reads what storage holds, the host merges it with the change (engine::ratings: stamped
// thumbs, the later change wins per movie) and answers the text to keep. Another tab's write
// (the `storage` event) is merged the same way, so tabs changing at once both keep both.
//
// An engine that dies comes back: every call has a deadline for its kind, a heartbeat tells a
// slow Worker (busy computing) from a dead one, and a Worker that crashes or stops answering is
// replaced and given the bundle and the visitor's thumbs again.

/** The folder the site is served from: thumbs are this site's, not the whole origin's. */
const SITE = new URL('.', location.href).pathname;
/** Where each thing the host keeps is stored. */
const KEYS = { ratings: `movie-genie/thumbs@${SITE}`, engine: 'movie-genie/engine/v1' };
/** Where the first release kept the thumbs, for every site of the origin: read (and left in
 *  place) by a site that has no thumbs of its own yet. */
const UNSCOPED_KEY = 'movie-genie/ratings/v1';
/** Whether this browser was already told that it may evict the thumbs. */
const PERSIST_NOTE_KEY = `movie-genie/persist-note@${SITE}`;
/** Serialises every read-merge-write of the thumbs across this site's tabs. */
const LOCK = `movie-genie/thumbs@${SITE}`;

/** Seconds a call may take before its Worker is taken for dead, by kind. A software WebGPU
 *  adapter takes tens of seconds for one update, and its calibration several. */
const DEADLINE_S = { create: 180, apply: 30, view: 180, upgrade: 600, previewImport: 60, describe: 180, default: 30 };
/** A heartbeat every HEARTBEAT_S while calls are pending; no answer within PING_DEADLINE_S
 *  means the Worker is dead (a busy one answers between its steps). On WebGPU, and while it is
 *  tried, the Worker's own thread compiles kernels for tens of seconds at a time: there it has
 *  the deadline of a view. */
const HEARTBEAT_S = 2;
const PING_DEADLINE_S = 20;
/** Restarts after which the page stops trying and says so. */
const MAX_RESTARTS = 3;

/** Runs `method` of localStorage (of sessionStorage when `area` says `'session'`): `{value}`,
 *  or `{problem}` saying why it failed. */
function storage(method, ...args) {
  return inArea('local', method, args);
}

function inArea(area, method, args) {
  try {
    return { value: (area === 'session' ? sessionStorage : localStorage)[method](...args) };
  } catch (e) {
    return { problem: String(e?.message ?? e) };
  }
}

/** This tab's changes not yet stored, in sessionStorage, which survives the tab's reload: a
 *  reload before the Worker answered a thumb replays it instead of losing it. */
const PENDING_KEY = `movie-genie/pending@${SITE}`;

/** Runs `task` holding this site's thumbs lock (where the browser has Web Locks). */
function locked(task) {
  return navigator.locks ? navigator.locks.request(LOCK, task) : task();
}

/** An error that means the Worker is gone, not that the call was wrong. */
class EngineDied extends Error {}

/**
 * `call(method, args)` answered by a module Worker, each call within its deadline; `failed`
 * says why once the Worker is gone (crashed, stopped answering, or could not start).
 */
function workerTransport() {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const pending = new Map();
  let next = 0;
  let heartbeat = null;
  const transport = { where: 'worker', failed: null, started: false, patience: PING_DEADLINE_S };
  const fail = (reason) => {
    if (transport.failed) return;
    transport.failed = reason;
    clearInterval(heartbeat);
    for (const { reject, timer } of pending.values()) {
      clearTimeout(timer);
      reject(new EngineDied(`the background engine ${reason}`));
    }
    pending.clear();
    worker.terminate();
  };
  const post = (method, args, seconds) => new Promise((resolve, reject) => {
    if (transport.failed) return reject(new EngineDied(`the background engine ${transport.failed}`));
    const id = next++;
    const timer = setTimeout(() => fail(`did not answer "${method}" within ${seconds} s`), seconds * 1000);
    pending.set(id, { resolve, reject, timer });
    worker.postMessage({ id, method, args });
  });
  const beat = () => {
    if (pending.size === 0) return;
    post('ping', [], transport.patience).catch(() => {});
  };
  worker.onmessage = ({ data: { id, ok, error, fatal, ...reply } }) => {
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    clearTimeout(call.timer);
    transport.started = true;
    if (ok) call.resolve(reply);
    else if (fatal) {
      call.reject(new EngineDied(`the background engine broke (${error})`));
      fail(`broke (${error})`);
    } else call.reject(new Error(error));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(transport.started ? `crashed (${event.message || 'an uncaught error'})`
      : `could not start (${event.message || 'its script did not load'})`);
  };
  worker.onmessageerror = () => fail('sent a reply that could not be read');
  heartbeat = setInterval(beat, HEARTBEAT_S * 1000);
  transport.call = (method, args) => post(method, args, DEADLINE_S[method] ?? DEADLINE_S.default);
  transport.close = () => fail('was closed');
  return transport;
}

/** The calls of a host running in this page (no Worker). */
async function pageTransport() {
  const { createHost } = await import('./genie-host.js');
  const handle = createHost();
  return { where: 'page', failed: null, call: (method, args) => handle(method, args), close() {} };
}

class GenieClient {
  #transport;
  #bytes;
  /** The thumbs text last stored or read: what a restarted engine starts from when this
   *  browser's storage cannot be read. */
  #lastSaved = null;
  #restarts = 0;
  #restarting = null;
  /** `'worker'` or `'page'`. */
  where;
  /** What of the saved thumbs could not be read and was dropped, as text for the page. */
  warnings = [];
  /** Why this browser cannot keep the thumbs (storage blocked or full), or null. */
  storageProblem = null;
  attribution = '';
  /** Called with a sentence when the engine was restarted (the page says it). */
  onRestart = () => {};

  constructor(transport, bytes) {
    this.#transport = transport;
    this.where = transport.where;
    this.#bytes = bytes;
  }

  /** Calls the host; a Worker that died is replaced (thumbs restored) and the call made again. */
  async #call(method, args) {
    const transport = this.#transport;
    try {
      return await transport.call(method, args);
    } catch (e) {
      if (!(e instanceof EngineDied)) throw e;
      // Calls that found the same Worker dead share one restart.
      if (this.#transport === transport) {
        this.#restarting ??= this.#restart(e.message).finally(() => { this.#restarting = null; });
      }
      await this.#restarting;
      return this.#transport.call(method, args);
    }
  }

  async #restart(why) {
    if (++this.#restarts > MAX_RESTARTS) {
      throw new Error(`${why}, and it was restarted ${MAX_RESTARTS} times already; reload the page ` +
        '(your thumbs are kept in this browser)');
    }
    console.warn(`movie-genie: ${why}; starting it again`);
    this.#transport.close();
    this.#transport = workerTransport();
    this.#engine = 'cpu';
    this.#fitPatience();
    await this.#start();
    this.onRestart(`The recommendation engine stopped (${why.replace(/^the background engine /, '')}) ` +
      'and was started again; your thumbs are kept.');
  }

  /** Stores what a reply says to keep (`keep: {ratings|engine: text}`). */
  #keep(keep = {}) {
    for (const [name, text] of Object.entries(keep)) {
      const { problem } = storage('setItem', KEYS[name], text);
      if (problem) console.warn(`movie-genie: could not keep the ${name}: ${problem}`);
      // The note is about the thumbs: an engine verdict not kept is only measured again.
      if (name === 'ratings') {
        this.#lastSaved = text;
        this.storageProblem = problem ? `this browser refused to store them (${problem})` : null;
      }
    }
  }

  /** The thumbs text storage holds now (a first visit: what the unscoped key holds). */
  #stored() {
    const { value = null, problem } = storage('getItem', KEYS.ratings);
    if (problem) {
      this.storageProblem = `this browser's storage cannot be read (${problem})`;
      return this.#lastSaved;
    }
    if (value !== null) return value;
    return storage('getItem', UNSCOPED_KEY).value ?? this.#lastSaved;
  }

  #persistAsked = false;
  /** Asks the browser to keep this site's storage (it may evict it otherwise); once it
   *  refuses, `onPersistRefused` is called once per browser. */
  #askToPersist() {
    if (this.#persistAsked || !navigator.storage?.persist) return;
    this.#persistAsked = true;
    navigator.storage.persisted().then((yes) => yes || navigator.storage.persist()).then((granted) => {
      if (granted || storage('getItem', PERSIST_NOTE_KEY).value) return;
      storage('setItem', PERSIST_NOTE_KEY, 'shown');
      this.onPersistRefused();
    }).catch(() => {});
  }

  /** Called once if the browser does not promise to keep the thumbs. */
  onPersistRefused = () => {};

  async #start() {
    const lastSaved = this.#lastSaved;
    const kept = { ratings: this.#stored(), engine: storage('getItem', KEYS.engine).value ?? null };
    // A restarted engine numbers its views on from the last one drawn.
    const { value } = await this.#transport.call('create', [this.#bytes, kept, this.#seq]);
    this.#lastSaved = kept.ratings;
    // A restarted engine also takes what this tab saved that storage may not hold (full).
    if (lastSaved !== null && lastSaved !== kept.ratings) {
      this.#keep((await this.#transport.call('apply', [[null], lastSaved])).keep);
    }
    return value;
  }

  async create() {
    const value = await this.#start();
    await this.#replayPending();
    ({ attribution: this.attribution, warnings: this.warnings } = value);
    const wasmReady = value.wasmReadyAt - performance.timeOrigin;
    if (wasmReady > 0) performance.mark('wasm-ready', { startTime: wasmReady });
  }

  /** Changes waiting for the save under way: `{change, resolve, reject}`. */
  #queue = [];
  #saving = null;
  /** Changes asked for and not yet stored (PENDING_KEY). An import is left out: its text
   *  stays in the Worker, and the visitor sees it was not confirmed. */
  #pending = [];

  #writePending() {
    inArea('session', ...(this.#pending.length
      ? ['setItem', [PENDING_KEY, JSON.stringify(this.#pending)]] : ['removeItem', [PENDING_KEY]]));
  }

  /** Makes again the changes a reload cut short (they were never stored). */
  async #replayPending() {
    const { value } = inArea('session', 'getItem', [PENDING_KEY]);
    let changes = [];
    try {
      changes = JSON.parse(value ?? '[]');
    } catch {
      // not ours: nothing to replay
    }
    const outcomes = await Promise.allSettled(changes.map((change) => this.#save(change)));
    for (const failed of outcomes.filter((o) => o.status === 'rejected')) {
      console.warn('movie-genie: a change cut short by a reload could not be made again:', failed.reason);
    }
  }

  /** Merges what storage holds with `change` (null: none) and stores the result, under the
   *  lock; resolves to the change's outcome. Changes made while a save is under way share the
   *  next one, so a burst of thumbs is one save and one view. */
  #save(change) {
    if (change && change.kind !== 'import') {
      this.#pending.push(change);
      this.#writePending();
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ change, resolve, reject });
      this.#saving ??= this.#saveQueued();
    });
  }

  async #saveQueued() {
    // The first batch waits for the current task to end, so changes made together (one
    // handler's several thumbs) share it rather than the first going alone.
    await null;
    while (this.#queue.length) {
      const batch = this.#queue.splice(0);
      try {
        const outcomes = await locked(async () => {
          const { outcomes, keep } = await this.#call('apply', [batch.map((b) => b.change), this.#stored()]);
          this.#keep(keep);
          this.#pending = this.#pending.filter((change) => !batch.some((b) => b.change === change));
          this.#writePending();
          if (keep.ratings && !this.storageProblem && batch.some((b) => b.change)) this.#askToPersist();
          return outcomes;
        });
        batch.forEach(({ resolve, reject }, i) => {
          if ('error' in outcomes[i]) reject(new Error(outcomes[i].error));
          else resolve(outcomes[i].value);
        });
      } catch (e) {
        for (const { reject } of batch) reject(e);
      }
    }
    this.#saving = null;
  }

  /**
   * Applies one change (`Genie.apply`'s `{kind, …}`; null: none) and answers `{value, view,
   * engine}`: the change's outcome, everything the page draws for `shape` (`{k, fresh}`), and
   * which engine runs.
   */
  async change(change, shape) {
    const value = change ? await this.#save(change) : null;
    const { view, engine } = await this.#call('view', [shape]);
    this.#seq = Math.max(this.#seq, view.seq);
    this.#engine = engine.kind;
    this.#fitPatience();
    return { value, view, engine };
  }

  /** Whether WebGPU takes over (`mode`: 'auto', 'force' or 'off'; engine.js): `{value: engine, stats}`. */
  async upgrade(mode) {
    this.#upgrading = true;
    this.#fitPatience();
    try {
      const { keep, ...reply } = await this.#call('upgrade', [mode]);
      this.#keep(keep);
      this.#engine = reply.value.kind;
      return reply;
    } finally {
      this.#upgrading = false;
      this.#fitPatience();
    }
  }

  #upgrading = false;
  /** The number of the last view answered. */
  #seq = 0;
  /** `'cpu'` or `'webgpu'`: which engine the last reply said runs. */
  #engine = 'cpu';
  /** How long the heartbeat waits for an answer: longer where WebGPU runs or is tried. */
  #fitPatience() {
    const gpu = this.#upgrading || this.#engine === 'webgpu';
    this.#transport.patience = gpu ? DEADLINE_S.view : PING_DEADLINE_S;
  }

  /** The text of the file Export writes. */
  async exportRatings() { return (await this.#call('exportRatings', [])).value; }
  /** The thumbs as a share link's text (engine::ratings::encode_link). */
  async shareLink() { return (await this.#call('shareLink', [])).value; }
  async search(text, limit) { return (await this.#call('search', [text, limit])).value; }
  async describe(text, taste, k) { return (await this.#call('describe', [text, taste, k])).value; }
  /** What importing `source` (a File, or a link's text) would change: `{token, adds, differs,
   *  same, warnings}`; read and parsed by the host, off the page's thread. */
  async previewImport(source) { return (await this.#call('previewImport', [source])).value; }

  /**
   * Follows this site's thumbs when another tab of this browser changes them (the `storage`
   * event fires in every tab but the writer's), and once at once for what changed while this
   * tab was starting: merges what storage holds, stores the merge when this tab had changes it
   * lacked, and calls `onChanged(view reply)` when the merge changed this tab's thumbs.
   */
  followOtherTabs(shape, onChanged) {
    const follow = () => this.#save(null)
      .then(({ merged }) => merged && this.change(null, shape()).then(onChanged))
      .catch((e) => console.warn('movie-genie: could not follow another tab:', e));
    addEventListener('storage', (event) => {
      // `key` is null when a script of this origin (another site's, perhaps) cleared all of it:
      // this tab's copy goes back first.
      if (event.key === null && this.#lastSaved !== null) this.#keep({ ratings: this.#lastSaved });
      if (event.key === null || event.key === KEYS.ratings) follow();
    });
    // What another tab stored while this one was starting, before it listened.
    follow();
  }
}

/**
 * Loads the model on the CPU from the bytes `download` resolves to, and the saved thumbs. In a
 * module Worker unless `inPage`; when the Worker itself cannot run (not when the model is bad),
 * starts over in the page. The CPU wasm module compiles while the bundle downloads.
 */
export async function startGenie(download, { inPage = false } = {}) {
  if (!inPage && typeof Worker === 'function') {
    const transport = workerTransport();
    try {
      const client = new GenieClient(transport, await download);
      await client.create();
      return client;
    } catch (e) {
      if (!transport.failed || transport.started) throw e;
      console.warn(`movie-genie: no background Worker (${transport.failed}); running in the page`);
    }
  }
  const client = new GenieClient(await pageTransport(), await download);
  await client.create();
  return client;
}
