// The page in a real browser (Debian's Chromium via playwright-core), served from dist/ under a
// sub-path: what a visitor does, what stays private, what survives reloads, storage damage and a
// bad bundle (offline.test.js: the offline copy). Build first: MOVIE_GENIE_PROFILE=wasm-dev ./build.sh
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import {
  BUNDLE, DIST, STATIC_FILES, artifact, describeMovie, ids, launchChromium, newPage, rateCard, ratingsShown,
  search, startServer, waitEngine, waitIdle, waitReady,
} from './harness.js';

const SUB = '/sub/dir/';
const SEARCH = 'assets/movie-genie.search';
const STORAGE_KEY = `movie-genie/thumbs@${SUB}`;
const LIMIT = { timeout: 180_000 };
let server;
let chromium;

before(async () => {
  const bundle = fs.readFileSync(`${DIST}/${BUNDLE}`);
  const badMagic = Buffer.from(bundle);
  badMagic.write('NOTAGENIE', 0);
  server = await startServer([
    { prefix: SUB },
    { prefix: '/bad-magic/', override: { [BUNDLE]: badMagic } },
    { prefix: '/truncated/', override: { [BUNDLE]: bundle.subarray(0, bundle.length >> 1) } },
    { prefix: '/missing/', override: { [BUNDLE]: null } },
    { prefix: '/no-worker/', override: { 'worker.js': null } },
    { prefix: '/no-search/', override: { [SEARCH]: null } },
    { prefix: '/stalled/', hang: [BUNDLE] },
    // test-e2e.sh runs `movie-genie add-movies` on the shipped bundle first.
    { prefix: '/added/', override: { [BUNDLE]: fs.readFileSync(process.env.MOVIE_GENIE_ADDED_BUNDLE) } },
  ]);
  chromium = await launchChromium();
});

after(async () => {
  await chromium?.close();
  await server?.close();
});

/** A fresh visitor (own storage, cache and service worker) on the page, ready. */
async function visit(options = {}, prefix = SUB) {
  const { context, page } = await newPage(chromium.browser, options);
  await page.goto(server.url(prefix));
  await waitReady(page);
  return { context, page };
}

/** Waits until the service worker has cached the site and controls the page. */
async function serviceWorkerInCharge(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
}

test('page loads and shows movies to rate, recommendations, engine and attribution', LIMIT, async () => {
  const started = Date.now();
  const { context, page } = await visit();
  const wall = Date.now() - started;
  try {
    assert.ok((await ids(page, 'pick')).length >= 12, 'a first grid of movies to rate');
    assert.equal((await ids(page, 'recs')).length, 12, 'twelve recommendations');
    const genres = await page.$$eval('#pick .genres', (g) => g.map((x) => x.textContent.split(' · ')[0]));
    assert.ok(new Set(genres).size >= 5, `diverse starters, got first genres ${genres}`);
    assert.match(await page.textContent('#engine'), /Engine: (CPU \(WebAssembly\)|WebGPU).*last update \d/);
    const credits = await page.textContent('#attribution');
    assert.match(credits, /MovieLens/);
    assert.match(credits, /TMDB/);
    assert.match(await page.textContent('#privacy'), /Nothing you rate is sent anywhere/);
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /default-src 'self'/);
    const marks = await page.evaluate(() => Object.fromEntries(
      ['wasm-ready', 'bundle-ready', 'genie-ready', 'first-recs']
        .map((m) => [m, Math.round(performance.getEntriesByName(m)[0]?.startTime)])));
    assert.ok(marks['first-recs'] > 0);
    console.log(`MEASURE cold_load_to_first_recs_ms=${marks['first-recs']} (navigation start → ` +
      `first recommendations drawn; wasm ready ${marks['wasm-ready']}, bundle ready ` +
      `${marks['bundle-ready']}, genie ready ${marks['genie-ready']}; test wall ${wall} ms)`);
    console.log(`MEASURE first_update ${(await page.textContent('#engine')).replace(/^Engine: /, '')}`);
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('rating five movies changes the recommendations, never shows a rated one, every reason is true', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    const before = await ids(page, 'recs');
    const thumbs = [2, 1, 2, -1, 2];
    const rated = new Map();
    for (const [i, value] of thumbs.entries()) {
      rated.set(await rateCard(page, 'pick', i, value), value);
      const recs = await ids(page, 'recs');
      assert.equal(recs.length, 12);
      for (const id of recs) assert.ok(!rated.has(id), `rated movie ${id} recommended`);
    }
    const afterRecs = await ids(page, 'recs');
    assert.notDeepEqual(afterRecs, before, 'recommendations follow the thumbs');
    assert.deepEqual(await ratingsShown(page), [...rated].sort((a, b) => a[0] - b[0]));

    const liked = await page.$$eval('#mine > [data-movie-id]', (cards) => cards
      .filter((c) => Number(c.querySelector('[aria-pressed="true"]').dataset.thumbs) > 0)
      .map((c) => ({ id: Number(c.dataset.movieId), title: c.querySelector('.title').textContent })));
    const reasons = await page.$$eval('#recs .because', (r) => r.map((x) => ({
      id: x.dataset.becauseId == null ? null : Number(x.dataset.becauseId), text: x.textContent,
    })));
    assert.equal(reasons.length, 12, 'every recommendation says why');
    for (const reason of reasons) {
      if (reason.id == null) {
        // No liked movie is near enough to name: the reason must not pretend one is.
        assert.equal(reason.text, 'Popular with people who share your taste');
        continue;
      }
      const movie = liked.find((l) => l.id === reason.id);
      assert.ok(movie, `reason ${reason.text} names a movie the visitor did not like`);
      assert.equal(reason.text, `Because you liked ${movie.title}`);
    }
    const engine = await page.textContent('#engine');
    console.log(`MEASURE after_5_ratings ${engine.replace(/^Engine: /, '')}`);

    await page.screenshot({ path: artifact('rated-5-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 375, height: 812 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 375, `no sideways scrolling at phone width (page is ${overflow} px wide)`);
    await page.screenshot({ path: artifact('rated-5-phone.png'), fullPage: true });
    await page.screenshot({ path: artifact('rated-5-phone-top.png') });
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

/** Rates the first five starters; returns the main thread's long tasks (> 50 ms) meanwhile. */
async function rateFiveCountingLongTasks(page) {
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)))
      .observe({ type: 'longtask' });
  });
  const rated = [];
  for (const [i, v] of [2, 1, 2, -1, 2].entries()) rated.push(await rateCard(page, 'pick', i, v));
  for (const id of await ids(page, 'recs')) assert.ok(!rated.includes(id), `rated movie ${id} recommended`);
  return page.evaluate(() => window.longTasks);
}

/** The wasm modules the server handed out since request number `since`. */
const wasmServed = (since) => [...new Set(server.state.requests.slice(since).map((r) => r.url)
  .filter((url) => url.endsWith('.wasm')).map((url) => url.replace(/^.*\/pkg\//, 'pkg/')))];

test('a burst of thumbs is folded: every thumb kept, at most two updates for five', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    const before = Number(await page.getAttribute('body', 'data-views'));
    // Five loves in one task, as fast as a visitor can never click: five changes in flight.
    const loved = await page.$$eval('#pick > [data-movie-id]', (cards) => cards.slice(0, 5).map((c) => {
      c.querySelector('button[data-thumbs="2"]').click();
      return Number(c.dataset.movieId);
    }));
    await waitIdle(page);
    // The Worker may start a view on the first change before the other four arrive; those four
    // then share the next one.
    const views = Number(await page.getAttribute('body', 'data-views')) - before;
    assert.ok(views >= 1 && views <= 2, `five changes sent at once took ${views} views`);
    assert.deepEqual(await ratingsShown(page), loved.map((id) => [id, 2]).sort((a, b) => a[0] - b[0]));
    for (const id of await ids(page, 'recs')) assert.ok(!loved.includes(id), `loved movie ${id} recommended`);
  } finally {
    await context.close();
  }
});

test('the model runs in a module Worker, off the page\'s thread', LIMIT, async () => {
  const since = server.state.requests.length;
  const { context, page } = await visit();
  try {
    // No WebGPU adapter here: only the CPU module is downloaded, never the ~6× larger WebGPU one.
    assert.match(await waitEngine(page), /Engine: CPU.*this browser offers no WebGPU adapter/);
    assert.deepEqual(wasmServed(since), ['pkg/cpu/movie_genie_bg.wasm']);
    const workers = page.workers().map((w) => new URL(w.url()).pathname);
    assert.ok(workers.includes(`${SUB}worker.js`), `a Worker runs worker.js (workers: ${workers})`);
    assert.match(await page.textContent('#engine'), /in a background Worker/);
    const long = await rateFiveCountingLongTasks(page);
    console.log(`MEASURE worker_mode main_thread_long_tasks_during_5_updates=${long.length} ` +
      `longest_ms=${Math.round(Math.max(0, ...long))}`);
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

/** When the page drew its first recommendations, in the server's clock (ms since 1970). */
const firstRecsAt = (page) => page.evaluate(() => performance.timeOrigin
  + performance.getEntriesByName('first-recs')[0].startTime);

/** Runs `check(page)` on a fresh visitor of `path` in a Chromium that exposes WebGPU
 *  (SwiftShader here, with --enable-unsafe-webgpu); `setup(page)` first, before it loads. */
async function withWebgpu(path, check, { setup = () => {}, errors = [] } = {}) {
  const gpu = await launchChromium({ webgpu: true });
  const { context, page } = await newPage(gpu.browser);
  try {
    setup(page);
    await page.goto(server.url(SUB) + path);
    await waitReady(page);
    await check(page);
    assert.deepEqual(page.errors.filter((e) => !errors.some((expected) => expected.test(e))), []);
  } finally {
    await context.close();
    await gpu.close();
  }
}

test('a software WebGPU adapter keeps the CPU engine, says why, and its module is never fetched', LIMIT, async () => {
  const since = server.state.requests.length;
  await withWebgpu('', async (page) => {
    const engine = await waitEngine(page);
    assert.match(engine, /Engine: CPU \(WebAssembly\), in a background Worker — .*swiftshader is a software adapter/i);
    assert.equal(await page.getAttribute('body', 'data-engine'), 'cpu');
    assert.deepEqual(wasmServed(since), ['pkg/cpu/movie_genie_bg.wasm'], 'never the WebGPU module');
  });
});

test('?gpu=off never fetches the WebGPU module, whatever the browser offers', LIMIT, async () => {
  const since = server.state.requests.length;
  await withWebgpu('?gpu=off', async (page) => {
    assert.match(await waitEngine(page), /Engine: CPU.*WebGPU turned off \(\?gpu=off\)/);
    assert.deepEqual(wasmServed(since), ['pkg/cpu/movie_genie_bg.wasm']);
  });
});

test('a verdict this browser kept for its adapter is used again: the WebGPU module is never fetched', LIMIT, async () => {
  // A hardware adapter as the page sees it, in the page (?worker=0: init scripts do not reach a
  // Worker), and the CPU verdict an earlier visit measured on it with this WebGPU module.
  const version = fs.readFileSync(`${DIST}/engine.js`, 'utf8').match(/WEBGPU_MODULE_VERSION = '([^']+)'/)[1];
  const kept = { key: `acme|gpu7|${version}`, kind: 'cpu', reason: 'WebGPU measured slower than the CPU', cpuMs: 50, gpuMs: 90 };
  const since = server.state.requests.length;
  const { context, page } = await visitWith(([key, text]) => {
    const adapter = { info: { vendor: 'acme', architecture: 'gpu7' }, isFallbackAdapter: false };
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => ({ requestAdapter: async () => adapter }) });
    localStorage.setItem(key, text);
  }, { arg: ['movie-genie/engine/v1', JSON.stringify(kept)], query: '?worker=0' });
  try {
    assert.match(await waitEngine(page), /Engine: CPU \(WebAssembly\), in the page — WebGPU measured slower than the CPU \(update median: WebGPU 90 ms, CPU 50 ms, measured on an earlier visit\)/);
    assert.deepEqual(wasmServed(since), ['pkg/cpu/movie_genie_bg.wasm'], 'never the WebGPU module');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('?gpu=force runs WebGPU after the CPU’s first recommendations, agreeing with it; a lost device returns to the CPU', LIMIT, async () => {
  const since = server.state.requests.length;
  // Keeps the Worker's WebGPU devices, to lose them later as a driver reset would.
  const keepDevices = (page) => page.on('worker', (worker) => worker.evaluate(() => {
    self.gpuDevices = [];
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await request.apply(this, args);
      self.gpuDevices.push(device);
      return device;
    };
  }).catch(() => {}));
  await withWebgpu('?gpu=force', async (page) => {
    // SwiftShader runs WebGPU on the CPU, and the test build is not wasm-opt'ed: the
    // calibration's WebGPU update takes tens of seconds here.
    const engine = await waitEngine(page, { timeout: 170_000 });
    assert.match(engine, /Engine: WebGPU \(.*\), in a background Worker — WebGPU forced \(\?gpu=force\) \(update median: WebGPU [\d.]+ ms, CPU [\d.]+ ms\)/);
    const gpuModule = server.state.requests.slice(since)
      .find((r) => r.url.endsWith('pkg/webgpu/movie_genie_bg.wasm'));
    assert.ok(gpuModule, 'the WebGPU module is fetched');
    assert.ok(await firstRecsAt(page) <= gpuModule.at, 'the first recommendations came before any WebGPU byte');
    console.log(`MEASURE webgpu_forced ${engine.replace(/^Engine: /, '')}`);

    const lost = await page.workers()[0].evaluate(() => self.gpuDevices.map((d) => d.destroy()).length);
    assert.ok(lost > 0, 'the WebGPU engine asked for a device');
    const id = await rateCard(page, 'pick', 0, 2, { timeout: 170_000 });
    assert.match(await page.textContent('#engine'), /Engine: CPU \(WebAssembly\).* — WebGPU failed \([^\n]*device[^\n]*\); back on the CPU/i);
    assert.deepEqual(await ratingsShown(page), [[id, 2]], 'the thumb is kept');
    assert.equal((await ids(page, 'recs')).length, 12);
  }, { setup: keepDevices, errors: [/^console: .*(device|WebGPU|GPU)/i] });
});

for (const [why, prefix] of [['?worker=0', `${SUB}?worker=0`], ['a Worker that cannot load', '/no-worker/']]) {
  test(`with ${why} the model runs in the page and still works`, LIMIT, async () => {
    const { context, page } = await visit({}, prefix);
    try {
      assert.deepEqual(page.workers(), []);
      assert.match(await page.textContent('#engine'), /in the page/);
      const long = await rateFiveCountingLongTasks(page);
      console.log(`MEASURE in_page_mode (${why}) main_thread_long_tasks_during_5_updates=${long.length} ` +
        `longest_ms=${Math.round(Math.max(0, ...long))}`);
      // The one error allowed: the browser's own report of the missing worker.js.
      const errors = page.errors.filter((e) => !/404/.test(e) || !prefix.startsWith('/no-worker/'));
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('a pressed thumb, Remove and Undo take a rating back', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    const id = await rateCard(page, 'pick', 0, 1);
    assert.deepEqual(await ratingsShown(page), [[id, 1]]);
    await rateCard(page, 'pick', 0, 1);
    assert.deepEqual(await ratingsShown(page), []);
    await page.click('#undo');
    await waitIdle(page);
    assert.deepEqual(await ratingsShown(page), [[id, 1]]);
    await page.click(`#mine [data-movie-id="${id}"] [data-action="remove"]`);
    await waitIdle(page);
    assert.deepEqual(await ratingsShown(page), []);
    assert.equal(await page.getAttribute(`#pick [data-movie-id="${id}"] [data-thumbs="1"]`, 'aria-pressed'), 'false');
  } finally {
    await context.close();
  }
});

test('search finds a movie by part of its title, ignoring case and accents', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    await search(page, 'shawsh');
    const titles = await page.$$eval('#pick .title', (t) => t.map((x) => x.textContent));
    assert.ok(titles.some((t) => t.startsWith('The Shawshank Redemption')), `got ${titles}`);
    await search(page, 'MATRIX');
    const matrix = await page.$$eval('#pick .title', (t) => t.map((x) => x.textContent));
    assert.ok(matrix.length >= 2 && matrix.every((t) => /matrix/i.test(t)), `got ${matrix}`);
    await search(page, 'amelie');
    assert.ok((await page.textContent('#pick')).includes('Amélie'), 'accents are ignored');
    const id = await rateCard(page, 'pick', 0, 2);
    assert.ok(!(await ids(page, 'recs')).includes(id));
    await search(page, 'zzqqxx');
    assert.equal((await ids(page, 'pick')).length, 0);
    assert.match(await page.textContent('#pick-empty'), /No title contains/);
    await search(page, '');
    assert.ok((await ids(page, 'pick')).length >= 12, 'the starters come back');
  } finally {
    await context.close();
  }
});

test('describe a movie: relevant movies with true reasons, rateable, the words never sent, nothing close said so', LIMIT, async () => {
  const { context, page } = await visit();
  const seen = [];
  context.on('request', (r) => seen.push(r.url()));
  try {
    assert.match(await page.textContent('#describe-help'), /\(\d+\.\d MB\)/, 'the download size is shown before it');
    const titles = await describeMovie(page, 'animated film about toys');
    assert.ok(titles.some((t) => t.startsWith('Toy Story')), `got ${titles}`);
    const reasons = await page.$$eval('#described .because', (r) => r.map((x) => x.textContent));
    assert.equal(reasons.length, titles.length);
    assert.ok(reasons.every((r) => r === 'Close to your description'), `${reasons}`);
    const id = await rateCard(page, 'described', 0, 2);
    assert.ok((await ratingsShown(page)).some(([m]) => m === id), 'rated from the description list');
    assert.equal((await describeMovie(page, 'qwerty asdf')).length, 0);
    assert.match(await page.textContent('#described-empty'), /Nothing close/);
    assert.ok(seen.some((u) => u.endsWith(SEARCH)), 'the search data was fetched on first use');
    for (const word of ['toys', 'animated', 'qwerty']) {
      assert.ok(!seen.some((u) => u.includes(word)), `"${word}" appears in a request`);
    }
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('a search data download that fails says so, and the rest of the page keeps working', LIMIT, async () => {
  const { context, page } = await visit({}, '/no-search/');
  try {
    assert.equal((await describeMovie(page, 'a heist with a twist')).length, 0);
    assert.match(await page.textContent('#described-empty'), /Describing a movie failed: .*could not be downloaded/);
    await search(page, 'shawsh');
    assert.ok((await ids(page, 'pick')).length > 0, 'title search still works');
    await rateCard(page, 'pick', 0, 2);
    assert.equal((await ids(page, 'recs')).length, 12);
  } finally {
    await context.close();
  }
});

test('the genre filter shows only that genre', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    await rateCard(page, 'pick', 0, 2);
    await page.selectOption('#genre', 'Comedy');
    await waitIdle(page);
    const genres = await page.$$eval('#recs .genres', (g) => g.map((x) => x.textContent));
    assert.ok(genres.length > 0);
    for (const g of genres) assert.match(g, /Comedy/);
    await page.selectOption('#genre', '');
    await waitIdle(page);
    assert.equal((await ids(page, 'recs')).length, 12);
  } finally {
    await context.close();
  }
});

test('reload keeps the ratings', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    const rated = [];
    for (const [i, v] of [[0, 2], [1, -1], [2, 1]]) rated.push([await rateCard(page, 'pick', i, v), v]);
    const recs = await ids(page, 'recs');
    await page.reload();
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), rated.sort((a, b) => a[0] - b[0]));
    assert.deepEqual(await ids(page, 'recs'), recs, 'the same recommendations after a reload');
    assert.match(await page.textContent('#status'), /3 ratings restored/);
  } finally {
    await context.close();
  }
});

test('the familiar ↔ discover control re-ranks without fine-tuning again, and a reload keeps it', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    for (const [i, v] of [[0, 2], [1, 2], [2, 1]]) await rateCard(page, 'pick', i, v);
    const familiar = await ids(page, 'recs');
    const shipped = Number(await page.inputValue('#discover'));
    assert.equal(await page.isHidden('#discover-default'), true, 'at the shipped setting');
    const target = shipped >= 50 ? 0 : 100;
    await page.fill('#discover', String(target));
    await page.dispatchEvent('#discover', 'change');
    await waitIdle(page);
    const moved = await ids(page, 'recs');
    assert.notDeepEqual(moved, familiar, 'moving the control changes the list');
    assert.match(await page.textContent('#engine'), /same thumbs: no fine-tuning/, 'a re-rank only');
    const saved = JSON.parse(await page.evaluate((key) => localStorage.getItem(key), STORAGE_KEY));
    assert.equal(saved.popularityWeight[0], 1 - target / 100, 'stored with its stamp');
    assert.equal(await page.isHidden('#discover-default'), false, 'Reset is offered');

    await page.reload();
    await waitReady(page);
    assert.equal(Number(await page.inputValue('#discover')), target, 'a reload keeps the setting');
    assert.deepEqual(await ids(page, 'recs'), moved, 'and the list it gave');
    await page.click('#discover-default');
    await waitIdle(page);
    assert.equal(Number(await page.inputValue('#discover')), shipped);
    assert.deepEqual(await ids(page, 'recs'), familiar, 'Reset brings the shipped ranking back');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('wipe clears the ratings, here and in storage', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    await rateCard(page, 'pick', 0, 2);
    await rateCard(page, 'pick', 1, 1);
    page.once('dialog', (d) => d.accept());
    await page.click('#wipe');
    await waitIdle(page);
    assert.deepEqual(await ratingsShown(page), []);
    const saved = await page.evaluate((key) => JSON.parse(localStorage.getItem(key)), STORAGE_KEY);
    assert.deepEqual(saved.thumbs, [], 'the wipe is remembered as such');
    assert.equal(saved.cleared.length, 3);
    await page.reload();
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), []);
  } finally {
    await context.close();
  }
});

test('two tabs of one browser lose nothing: a thumb in each, a removal and a wipe reach the other', LIMIT, async () => {
  const { context, page: a } = await newPage(chromium.browser);
  const b = await context.newPage();
  const shown = (page, id) => page.waitForFunction(
    (movieId) => document.querySelector(`#mine > [data-movie-id="${movieId}"]`) !== null, id);
  try {
    for (const page of [a, b]) {
      await page.goto(server.url(SUB));
      await waitReady(page);
    }
    const first = await rateCard(a, 'pick', 0, 2);
    await shown(b, first);
    await waitIdle(b);
    assert.match(await b.textContent('#status'), /another tab/);
    const second = await rateCard(b, 'pick', 1, 1);
    await a.reload();
    await waitReady(a);
    const both = [[first, 2], [second, 1]].sort((x, y) => x[0] - y[0]);
    assert.deepEqual(await ratingsShown(a), both, 'the reloaded tab keeps the thumb of each tab');

    await a.locator(`#mine > [data-movie-id="${first}"] [data-action="remove"]`).click();
    await waitIdle(a);
    await b.waitForFunction((id) => !document.querySelector(`#mine > [data-movie-id="${id}"]`), first);
    await waitIdle(b);
    assert.deepEqual(await ratingsShown(b), [[second, 1]], 'a removal in one tab reaches the other');
    const recs = await ids(b, 'recs');
    assert.ok(!recs.includes(second), 'the other tab ranks with the list it follows');

    b.once('dialog', (d) => d.accept());
    await b.click('#wipe');
    await waitIdle(b);
    await a.waitForFunction(() => document.querySelectorAll('#mine > [data-movie-id]').length === 0);
    await waitIdle(a);
    assert.deepEqual(await ratingsShown(a), [], 'a wipe in one tab reaches the other');
    await a.reload();
    await waitReady(a);
    assert.deepEqual(await ratingsShown(a), []);
  } finally {
    await context.close();
  }
});

/** A fresh visitor of SUB + `query` whose pages run `init(arg)` before the site's own scripts. */
async function visitWith(init, { arg, query = '' } = {}) {
  const { context, page } = await newPage(chromium.browser);
  await context.addInitScript(init, arg);
  await page.goto(server.url(SUB) + query);
  await waitReady(page);
  return { context, page };
}

test('with storage blocked the page says at once that thumbs are not kept, and why', LIMIT, async () => {
  const { context, page } = await visitWith(() => {
    Object.defineProperty(window, 'localStorage', {
      get() { throw new DOMException('Access is denied for this document.', 'SecurityError'); },
    });
  });
  try {
    assert.equal(await page.isVisible('#storage-note'), true);
    assert.match(await page.textContent('#storage-note'),
      /not being kept in this browser: this browser's storage cannot be read \(Access is denied.*Export/);
    assert.doesNotMatch(await page.textContent('#status'), /dropped/, 'nothing was dropped');
    await rateCard(page, 'pick', 0, 2);
    assert.equal(await page.isVisible('#storage-note'), true, 'the note lasts');
    assert.equal(await page.isEnabled('#export'), true, 'Export is there to keep a copy');
  } finally {
    await context.close();
  }
});

test('with storage full a thumb says it is not kept', LIMIT, async () => {
  const { context, page } = await visitWith(() => {
    Storage.prototype.setItem = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
  });
  try {
    assert.equal(await page.isVisible('#storage-note'), false, 'nothing to say before a thumb');
    await rateCard(page, 'pick', 0, 2);
    assert.match(await page.textContent('#storage-note'),
      /not being kept in this browser: this browser refused to store them \(The quota has been exceeded/);
  } finally {
    await context.close();
  }
});

test('export then import round-trips the ratings; a bad file is refused', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    const rated = [];
    for (const [i, v] of [[0, 2], [1, -1], [2, 1], [5, 2]]) rated.push([await rateCard(page, 'pick', i, v), v]);
    rated.sort((a, b) => a[0] - b[0]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const file = artifact('exported-ratings.json');
    await download.saveAs(file);
    const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(exported.version, 1);
    assert.deepEqual([...exported.ratings].sort((a, b) => a[0] - b[0]), rated);

    page.once('dialog', (d) => d.accept());
    await page.click('#wipe');
    await waitIdle(page);
    assert.deepEqual(await ratingsShown(page), []);

    await page.setInputFiles('#import', file);
    await page.click('#import-confirm');
    await page.waitForFunction(() => document.querySelectorAll('#mine > li').length === 4);
    await waitIdle(page);
    assert.deepEqual(await ratingsShown(page), rated);
    assert.match(await page.textContent('#status'), /Imported 4 thumbs/);

    await page.setInputFiles('#import', { name: 'junk.json', mimeType: 'application/json', buffer: Buffer.from('{oops') });
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error'), /junk\.json: it is not JSON/);
    assert.deepEqual(await ratingsShown(page), rated, 'a bad file changes nothing');
  } finally {
    await context.close();
  }
});

test('corrupt saved ratings are recovered: the page starts, keeps what is valid and unknown ids, says what it dropped', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    const [a, b] = (await ids(page, 'pick')).slice(0, 2);
    await page.evaluate((key) => localStorage.setItem(key, '{"version":1,"ratings":[[1,'), STORAGE_KEY);
    await page.reload();
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), []);
    assert.match(await page.textContent('#status'), /saved thumbs could not be read \(the saved thumbs are not JSON/);
    assert.equal((await ids(page, 'recs')).length, 12);

    const partly = JSON.stringify({ version: 1, ratings: [[a, 2], [999999999, 1], ['x', 2], [b, 7], [b, -1]] });
    await page.evaluate(([key, text]) => localStorage.setItem(key, text), [STORAGE_KEY, partly]);
    await page.reload();
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), [[a, 2], [b, -1]].sort((x, y) => x[0] - y[0]));
    assert.match(await page.textContent('#status'), /could not be read \(saved rating 2: movie id must be .*; …\)\. 2 restored/);
    assert.match(await page.textContent('#elsewhere'), /^1 thumb for a movie not in this catalog is kept/);

    await rateCard(page, 'pick', 2, 1);
    const saved = await page.evaluate((key) => JSON.parse(localStorage.getItem(key)), STORAGE_KEY);
    assert.equal(saved.thumbs.length, 4, 'the repaired thumbs are saved again');
    assert.ok(saved.thumbs.some(([id]) => id === 999999999), 'with the unknown movie\'s, kept');
    assert.deepEqual(page.errors.filter((e) => !e.startsWith('console:')), []);
  } finally {
    await context.close();
  }
});

for (const [prefix, why] of [
  ['/bad-magic/', /bundle|magic/i], ['/truncated/', /truncat|bundle|short|end/i], ['/missing/', /missing \(HTTP 404\)/],
]) {
  test(`a bad bundle (${prefix.slice(1, -1)}) shows a clear message, not a blank page`, LIMIT, async () => {
    const { context, page } = await newPage(chromium.browser);
    try {
      await page.goto(server.url(prefix));
      const error = page.locator('#error');
      await error.waitFor({ state: 'visible', timeout: 60_000 });
      const text = await error.textContent();
      assert.match(text, /Movie Genie could not start/);
      assert.match(text, why);
      assert.equal(await page.getAttribute('#error', 'role'), 'alert');
      assert.ok(await page.isHidden('#app'), 'no half-working page');
      assert.ok(await page.isHidden('#undo'));
      assert.match(await page.textContent('h1'), /Movie Genie/);
      await page.screenshot({ path: artifact(`bad-bundle-${prefix.slice(1, -1)}.png`) });
    } finally {
      await context.close();
    }
  });
}

test('a model download that stalls is said in plain words while the page waits for it', LIMIT, async () => {
  const { context, page } = await newPage(chromium.browser);
  try {
    await page.goto(server.url('/stalled/'));
    await page.waitForFunction(() => /Still downloading the movie model/.test(document.getElementById('status').textContent),
      null, { timeout: 20_000 });
    assert.match(await page.textContent('#status'), /network seems slow or stalled.*reloading tries again/);
    assert.equal(await page.getAttribute('body', 'data-ready'), null, 'nothing pretends to be ready');
  } finally {
    await context.close();
  }
});

test('keyboard only: Tab to a thumb, press it, focus stays visible and in place', LIMIT, async () => {
  const { context, page } = await visit();
  try {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip', 'a skip link comes first');
    let found = false;
    for (let i = 0; i < 30 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => document.activeElement.matches('#pick button[data-thumbs="1"]'));
    }
    assert.ok(found, 'a Like thumb is reachable by Tab');
    const id = await page.evaluate(() => Number(document.activeElement.closest('[data-movie-id]').dataset.movieId));
    await page.keyboard.press('Enter');
    await waitIdle(page);
    assert.deepEqual(await ratingsShown(page), [[id, 1]]);
    const focus = await page.evaluate(() => {
      const a = document.activeElement;
      return { pressed: a.getAttribute('aria-pressed'), outline: getComputedStyle(a).outlineStyle, label: a.getAttribute('aria-label') };
    });
    assert.deepEqual(focus, { pressed: 'true', outline: 'solid', label: 'Like' });
    await page.keyboard.press('Tab');
    await page.keyboard.press(' ');
    await waitIdle(page);
    assert.deepEqual(await ratingsShown(page), [[id, 2]], 'Space on the next thumb (Love) re-rates');

    // Rating a recommendation removes its card: focus moves to its neighbour, not to nowhere.
    await page.focus('#recs > li:first-child button[data-thumbs="2"]');
    const recId = await page.evaluate(() => Number(document.activeElement.closest('[data-movie-id]').dataset.movieId));
    await page.keyboard.press('Enter');
    await waitIdle(page);
    const where = await page.evaluate(() => ({
      inRecs: Boolean(document.activeElement.closest('#recs')),
      id: Number(document.activeElement.closest('[data-movie-id]')?.dataset.movieId),
    }));
    assert.ok(where.inRecs && where.id !== recId, `focus after rating a recommendation: ${JSON.stringify(where)}`);
    const labels = await page.$$eval('#recs .thumbs', (g) => g.map((x) => x.getAttribute('aria-label')));
    assert.ok(labels.every((l) => l.startsWith('Rate ')), 'thumb groups are labelled with the movie');
  } finally {
    await context.close();
  }
});

test('nothing but the site\'s own static files is ever requested', LIMIT, async () => {
  const seen = [];
  const { context, page } = await newPage(chromium.browser);
  try {
    context.on('request', (r) => seen.push(r.url()));
    const serverStart = server.state.requests.length;
    await page.goto(server.url(SUB));
    await waitReady(page);
    await serviceWorkerInCharge(page);
    const atLoad = seen.length;

    for (const [i, v] of [[0, 2], [1, 1], [2, -1], [3, 2], [4, 1]]) await rateCard(page, 'pick', i, v);
    await search(page, 'star');
    await rateCard(page, 'pick', 0, 2);
    await page.selectOption('#genre', 'Drama');
    await waitIdle(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    await download.path();
    await page.waitForTimeout(500);

    assert.deepEqual(seen.slice(atLoad).filter((u) => !u.startsWith('blob:')), [],
      'no request at all after load');
    const allowed = new Set(STATIC_FILES.map((f) => server.url(SUB) + f));
    for (const url of seen) {
      if (url.startsWith('data:') || url.startsWith('blob:')) continue; // never leave the tab
      assert.ok(allowed.has(url.split('?')[0]), `unexpected request ${url}`);
    }
    for (const { url } of server.state.requests.slice(serverStart)) {
      assert.ok(allowed.has(server.origin + url), `the server saw ${url}`);
    }
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('movies added after training are searchable, rateable and marked new', LIMIT, async () => {
  const { context, page } = await visit({}, '/added/');
  try {
    await search(page, 'midsommar');
    const card = page.locator('#pick > [data-movie-id]').first();
    assert.equal(await card.locator('.title span').first().textContent(), 'Midsommar');
    assert.equal(await card.locator('.new').textContent(), 'new');
    const id = await rateCard(page, 'pick', 0, 2);
    assert.ok((await ratingsShown(page)).some(([movie]) => movie === id), 'the new movie is rated');
    assert.equal(await page.locator(`#mine > [data-movie-id="${id}"] .new`).count(), 1);
    await search(page, 'shining');
    assert.equal(await page.locator('#pick > [data-movie-id] .new').count(), 0, 'trained movies are not new');
    // Five recent horror films loved: the other new horror film tops the "new for you" shelf,
    // with a reason naming one of them.
    const horror = [['get out', 168250], ['it follows', 121231], ['conjuring', 103688],
      ['babadook', 112515], ['split', 166534]];
    for (const [text, movie] of horror) {
      await search(page, text);
      await page.locator(`#pick > [data-movie-id="${movie}"] button[data-thumbs="2"]`).click();
      await waitIdle(page);
    }
    assert.equal(await page.isHidden('#fresh'), false, 'the shelf shows');
    const shelf = page.locator('#fresh-list > [data-movie-id]').first();
    assert.equal(await shelf.locator('.title span').first().textContent(), 'Us');
    assert.equal(await shelf.locator('.new').textContent(), 'new');
    assert.match(await shelf.locator('.because').textContent(), /Because you liked (Get Out|It Follows|The Conjuring|The Babadook|Split)/);
    await page.screenshot({ path: artifact('added-movies.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});
