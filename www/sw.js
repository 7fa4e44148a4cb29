// Offline copy of the site: the page, the CPU wasm module and the model bundle are cached on
// the first visit; the WebGPU module is cached when engine.js fetches it (only where it
// measured faster, or was asked to).
// Every request goes to the network first (so a changed file is picked up on the next visit)
// and falls back to the cache when offline. Only this site's own files are handled;
// nothing else is ever fetched. Bump VERSION (build.sh may stamp it) to drop older caches.
const VERSION = 'dev';
const SCOPE = self.registration.scope;
const PREFIX = `movie-genie:${SCOPE}:`;
const CACHE = `${PREFIX}${VERSION}`;
const FILES = [
  './', 'index.html', 'style.css', 'main.js', 'genie-client.js', 'genie-host.js', 'engine.js', 'worker.js',
  'pkg/cpu/movie_genie.js', 'pkg/cpu/movie_genie_bg.wasm', 'assets/movie-genie.bundle',
].map((path) => new URL(path, SCOPE).href);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(FILES);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Same validator (ETag, or Last-Modified and length) as the cached copy: no need to store it again. */
function unchanged(cached, fresh) {
  if (!cached) return false;
  const h = (r, name) => r.headers.get(name);
  if (h(fresh, 'etag')) return h(fresh, 'etag') === h(cached, 'etag');
  return Boolean(h(fresh, 'last-modified')) && h(fresh, 'last-modified') === h(cached, 'last-modified')
    && h(fresh, 'content-length') === h(cached, 'content-length');
}

/** The cache key: the URL without its query (`?gpu=0` is the same page). */
function key(request) {
  const url = new URL(request.url);
  url.search = '';
  return url.href;
}

async function networkFirst(event) {
  const { request } = event;
  const cache = await caches.open(CACHE);
  try {
    const fresh = await fetch(request);
    if (fresh.status === 200 && fresh.type === 'basic') {
      const copy = fresh.clone();
      event.waitUntil((async () => {
        if (!unchanged(await cache.match(key(request)), copy)) await cache.put(key(request), copy);
      })());
    }
    return fresh;
  } catch (offline) {
    const cached = await cache.match(key(request))
      ?? (request.mode === 'navigate' ? await cache.match(new URL('./', SCOPE).href) : undefined);
    if (cached) return cached;
    throw offline;
  }
}

self.addEventListener('fetch', (event) => {
  if (event.request.method !== 'GET' || !event.request.url.startsWith(SCOPE)) return;
  event.respondWith(networkFirst(event));
});
