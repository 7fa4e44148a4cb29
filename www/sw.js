// Offline copy of the site, kept as whole builds.
//
// A build is the set of files manifest.json lists with their lengths and SHA-256 hashes
// (scripts/stamp-build.sh writes it when build.sh assembles dist/, and stamps its build id
// below, so each build is a new service worker). The id covers every file present: adding the
// WebGPU module to a CPU-only dist/ (`./build.sh webgpu`) makes a new build, whose install
// copies the files it shares with the one before from that one's cache instead of downloading
// them again.
//
// Install fetches the manifest (it must name this build) and every file not marked lazy, checks
// each one's length and hash, and stores them in a cache of their own; only when all are stored
// does the build take over. A lazy file (the WebGPU module, fetched only where engine.js measures
// it) joins its build's cache when first asked for, checked the same way. A download that fails
// the check never reaches the page and never replaces a stored file; where there is no good copy
// the page gets an error response that says so.
//
// Every page, and every Worker it starts, is answered from one build: the one in charge when
// the page was navigated to, recorded for it here (a "pin"), so a build that takes over while
// a page runs never mixes its files into that page; a file the page's build lacks is a 404. An
// older build's cache is deleted once no open page is pinned to it. sw.js itself is in no
// build's list (it carries the id; the browser keeps it).
//
// A file the build has stored is answered from the cache without asking the network, which
// could only send the same bytes or another build's: a network that is gone, or that connects
// and never answers, does not delay the page. New builds arrive through the browser's own
// update check of this script. Only this site's own files are handled; nothing else is fetched.
const BUILD = 'dev';
const SCOPE = self.registration.scope;
const PREFIX = `movie-genie:${SCOPE}:`;
const PINS = `${PREFIX}pins`;
const MANIFEST = 'manifest.json';
/** How long a navigation outside the file list waits for the network's headers before it
 *  gets the stored page instead. */
const NETWORK_PATIENCE_MS = 3000;
/** A download with no byte for this long, headers included, is given up: a network that
 *  connects and stops answering must not hold a file (and the page waiting on it) forever. */
const STALL_MS = 15_000;
/** How long a pin is kept without its page or Worker being found open: a page being
 *  navigated to is not listed among the open ones until its document runs. */
const PIN_GRACE_MS = 10_000;

const cacheName = (build) => `${PREFIX}build:${build}`;
const urlOf = (path) => new URL(path, SCOPE).href;

/** The file a URL names: its path under the scope without the query (`?gpu=0` is the same
 *  page); a folder is its index.html. */
function fileOf(url) {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  const path = u.href.slice(SCOPE.length);
  return path === '' || path.endsWith('/') ? `${path}index.html` : path;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Why `bytes` are not the file `entry` describes ({sha256, bytes}), or null when they are. */
async function damage(bytes, entry) {
  if (bytes.byteLength !== entry.bytes) return `${bytes.byteLength} bytes of ${entry.bytes}`;
  if (await sha256(bytes) !== entry.sha256) return 'its content differs from the build’s';
  return null;
}

/** `path` from the network, read whole and checked against `entry`, as a response to store.
 *  Throws why not. */
async function download(path, entry) {
  const abort = new AbortController();
  let timer;
  const wait = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(new Error(`the network sent nothing for ${STALL_MS / 1000} s`)), STALL_MS);
  };
  let response;
  let bytes;
  try {
    wait();
    response = await fetch(urlOf(path), { cache: 'no-cache', signal: abort.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const chunks = [];
    for (const reader = response.body.getReader(); ;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      wait();
    }
    bytes = await new Blob(chunks).arrayBuffer();
  } catch (e) {
    throw abort.signal.aborted ? abort.signal.reason : e;
  } finally {
    clearTimeout(timer);
  }
  const why = await damage(bytes, entry);
  if (why) throw new Error(`the download was damaged: ${why}`);
  const type = response.headers.get('content-type') ?? 'application/octet-stream';
  return new Response(bytes, { headers: { 'content-type': type, 'content-length': String(bytes.byteLength) } });
}

/** A stored copy of `entry`'s bytes at `path` in one of `builds`, checked again, or null. */
async function reuse(path, entry, builds) {
  for (const build of builds) {
    if (build.files[path]?.sha256 !== entry.sha256) continue;
    const copy = await build.cache.match(urlOf(path));
    if (!copy) continue;
    const bytes = await copy.arrayBuffer();
    if (!(await damage(bytes, entry))) return new Response(bytes, { headers: copy.headers });
  }
  return null;
}

const opened = new Map();
/** A complete build's cache and file list (`{id, cache, files}`), or null where none is stored.
 *  The manifest is stored last, so a cache holding it is complete. */
function openBuild(id) {
  if (!opened.has(id)) {
    opened.set(id, (async () => {
      if (!(await caches.has(cacheName(id)))) return null;
      const cache = await caches.open(cacheName(id));
      const manifest = await cache.match(urlOf(MANIFEST));
      return manifest ? { id, cache, files: (await manifest.json()).files } : null;
    })());
  }
  return opened.get(id).then((build) => {
    if (!build) opened.delete(id);
    return build;
  });
}

/** Every complete build stored but `except`. */
async function storedBuilds(except) {
  const ids = (await caches.keys()).filter((n) => n.startsWith(`${PREFIX}build:`))
    .map((n) => n.slice(`${PREFIX}build:`.length)).filter((id) => id !== except);
  return (await Promise.all(ids.map(openBuild))).filter(Boolean);
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const response = await fetch(urlOf(MANIFEST), { cache: 'no-cache' });
    if (!response.ok) throw new Error(`no ${MANIFEST} (HTTP ${response.status})`);
    const text = await response.text();
    const { build, files } = JSON.parse(text);
    if (build !== BUILD) throw new Error(`the server has build ${build}, not ${BUILD}: a deployment is under way`);
    const cache = await caches.open(cacheName(BUILD));
    const older = await storedBuilds(BUILD);
    await Promise.all(Object.entries(files).map(async ([path, entry]) => {
      const copy = await reuse(path, entry, older) ?? (entry.lazy ? null : await download(path, entry));
      if (copy) await cache.put(urlOf(path), copy);
    }));
    await cache.put(urlOf(MANIFEST), new Response(text, { headers: { 'content-type': 'application/json' } }));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    await prune();
    await self.clients.claim();
  })());
});

const pins = new Map();
/** Records that client `clientId` (a page or Worker) is answered from build `id`. Stored, so the
 *  build that takes over next still knows. */
async function pin(clientId, id) {
  pins.set(clientId, id);
  const cache = await caches.open(PINS);
  await cache.put(urlOf(`?pin=${clientId}`), new Response(id, { headers: { 'x-pinned-at': String(Date.now()) } }));
}

/** The build client `clientId` is pinned to. A page that loaded before any service worker (a
 *  first visit, then claimed) is pinned to this one. */
async function pinnedBuild(clientId) {
  if (!clientId) return BUILD;
  if (!pins.has(clientId)) {
    const stored = await (await caches.open(PINS)).match(urlOf(`?pin=${clientId}`));
    if (stored) pins.set(clientId, await stored.text());
    else await pin(clientId, BUILD);
  }
  return pins.get(clientId);
}

/** Deletes the pins of closed pages and Workers, and every build's cache but this one's and
 *  those a pin names. Not while a newer build installs, whose cache is not yet complete. */
async function prune() {
  if (self.registration.installing || self.registration.waiting) return;
  const open = new Set((await self.clients.matchAll({ includeUncontrolled: true, type: 'all' })).map((c) => c.id));
  const pinCache = await caches.open(PINS);
  const keep = new Set([cacheName(BUILD)]);
  for (const request of await pinCache.keys()) {
    const clientId = new URL(request.url).searchParams.get('pin');
    const stored = await pinCache.match(request);
    if (open.has(clientId) || Date.now() - Number(stored.headers.get('x-pinned-at')) < PIN_GRACE_MS) {
      keep.add(cacheName(await stored.text()));
    } else {
      await pinCache.delete(request);
      pins.delete(clientId);
    }
  }
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== PINS && !keep.has(name)) {
      opened.delete(name.slice(`${PREFIX}build:`.length));
      await caches.delete(name);
    }
  }
}

/** The network's answer to a navigation outside the file list, or null after
 *  NETWORK_PATIENCE_MS without its headers, or when it fails. */
function networkWithin(request) {
  return Promise.race([
    fetch(request).catch(() => null),
    new Promise((resolve) => { setTimeout(() => resolve(null), NETWORK_PATIENCE_MS); }),
  ]);
}

/** What the page gets where no good copy of `path` exists: an error it reports in plain words
 *  (503, or 404 for a file the build does not have). */
function unavailable(path, id, why, status = 503) {
  const text = `${path} of this site (build ${id}) could not be loaded: ${why}`;
  return new Response(text, {
    status,
    statusText: status === 404 ? 'Not in this build' : 'Damaged or unavailable download',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}

async function answer(event, path) {
  const { request } = event;
  const navigation = request.mode === 'navigate';
  const id = navigation ? BUILD : await pinnedBuild(event.clientId);
  // A page, or a Worker it starts, is pinned to its build before it can ask for anything.
  if (event.resultingClientId) await pin(event.resultingClientId, id);
  if (navigation) event.waitUntil(prune());
  const build = await openBuild(id);
  // This build's copy is gone (storage cleared while the page ran): the network as is.
  if (!build) return fetch(request);
  const entry = build.files[path];
  if (!entry && navigation) {
    return await networkWithin(request) ?? await build.cache.match(urlOf('index.html')) ?? fetch(request);
  }
  // The scope is the site's folder: a file its build lacks (a module a later build adds) would
  // be another build's.
  if (!entry) return unavailable(path, id, 'it is not part of this build', 404);
  const stored = await build.cache.match(urlOf(path));
  if (stored) return stored;
  try {
    const copy = await reuse(path, entry, await storedBuilds(id)) ?? await download(path, entry);
    await build.cache.put(urlOf(path), copy.clone());
    return copy;
  } catch (e) {
    return unavailable(path, id, e?.message ?? String(e));
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !request.url.startsWith(SCOPE)) return;
  const path = fileOf(request.url);
  if (path === 'sw.js' || path === MANIFEST) return;
  event.respondWith(answer(event, path));
});
