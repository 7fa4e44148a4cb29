// The visitor's thumbs are the only copy: these tests try to lose them the ways a real browser
// can — tabs changing in the same milliseconds, a tab still starting or reloading, a catalog that
// lacks a movie, text of a newer format, two sites on one origin, an import that disagrees, a
// wipe, an engine that crashes or hangs — and check that nothing is lost and the page says what
// happened. Build first: MOVIE_GENIE_PROFILE=wasm-dev ./build.sh
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import {
  BUNDLE, artifact, ids, launchChromium, newPage, rateCard, ratingsShown, search, startServer,
  waitIdle, waitReady,
} from './harness.js';

const SITE = '/site/';
const OTHER_SITE = '/other-site/';
/** Served like SITE; one test swaps its bundle for one with movies added, as a redeploy does. */
const REDEPLOYED = { prefix: '/redeployed/', override: {} };
const LIMIT = { timeout: 240_000 };
const key = (prefix) => `movie-genie/thumbs@${prefix}`;
let server;
let chromium;

before(async () => {
  server = await startServer([
    { prefix: SITE }, { prefix: OTHER_SITE }, { prefix: '/legacy/' }, REDEPLOYED,
  ]);
  chromium = await launchChromium();
});

after(async () => {
  await chromium?.close();
  await server?.close();
});

/** Another page of `context` (a tab sharing its storage) whose errors are collected. */
async function newTab(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

/** `count` pages of one browser context (tabs sharing storage), each ready on `prefix`. */
async function tabs(count, prefix = SITE, options = {}) {
  const { context, page } = await newPage(chromium.browser, options);
  const pages = [page];
  while (pages.length < count) pages.push(await newTab(context));
  for (const p of pages) {
    await p.goto(server.url(prefix));
    await waitReady(p);
  }
  return { context, pages };
}

/** Presses thumbs `value` on the `n`th starter card from inside the page (no round trip). */
const press = (page, n, value) => page.evaluate(([n, value]) => {
  const card = document.querySelectorAll('#pick > [data-movie-id]')[n];
  card.querySelector(`button[data-thumbs="${value}"]`).click();
  return Number(card.dataset.movieId);
}, [n, value]);

/** The thumbs storage holds for `prefix`: [[movieId, thumbs], …] by id, removals left out. */
async function stored(page, prefix = SITE) {
  const text = await page.evaluate((k) => localStorage.getItem(k), key(prefix));
  if (text === null) return [];
  return JSON.parse(text).thumbs.filter((e) => e[1] !== null).map((e) => [e[0], e[1]]).sort((a, b) => a[0] - b[0]);
}

/** Waits until `page` lists exactly the thumbs `want` ([[id, thumbs], …]) and is idle. */
async function shows(page, want, timeout = 30_000) {
  await page.waitForFunction((want) => {
    const cards = [...document.querySelectorAll('#mine > [data-movie-id]')];
    return cards.length === want.length && want.every(([id, t]) => cards.some((c) => Number(c.dataset.movieId) === id
      && c.querySelector('button[aria-pressed="true"]')?.dataset.thumbs === String(t)));
  }, want, { timeout });
  await waitIdle(page, { timeout });
}

const byId = (pairs) => [...pairs].sort((a, b) => a[0] - b[0]);

test('two tabs thumbing in the same milliseconds both keep both, every round', LIMIT, async () => {
  const { context, pages: [a, b] } = await tabs(2);
  try {
    const want = [];
    for (let round = 0; round < 3; round++) {
      // Different movies, then the same movie with different thumbs: the later stamp wins,
      // the same way in both tabs.
      const [x, y] = await Promise.all([press(a, 2 * round, 2), press(b, 2 * round + 1, 1)]);
      want.push([x, 2], [y, 1]);
      await shows(a, byId(want));
      await shows(b, byId(want));
      assert.deepEqual(await stored(a), byId(want), `round ${round}: storage holds both thumbs`);
    }
    await Promise.all([press(a, 6, -1), press(b, 6, 2)]);
    const movie = (await ids(a, 'pick'))[6];
    await a.waitForFunction(() => document.getElementById('recs').getAttribute('aria-busy') === 'false');
    const settled = async () => {
      const [sa, sb, st] = [await ratingsShown(a), await ratingsShown(b), await stored(a)];
      return JSON.stringify(sa) === JSON.stringify(sb) && JSON.stringify(sa) === JSON.stringify(st) && sa.length === 7;
    };
    for (let i = 0; i < 60 && !(await settled()); i++) await a.waitForTimeout(250);
    const agreed = await ratingsShown(a);
    assert.deepEqual(await ratingsShown(b), agreed, 'both tabs agree on the contested movie');
    assert.deepEqual(await stored(a), agreed, 'and storage with them');
    assert.ok(agreed.some(([id]) => id === movie), 'the contested movie keeps one of the two thumbs');
    await waitIdle(a);
    await waitIdle(b);
    assert.deepEqual(await ids(a, 'recs'), await ids(b, 'recs'), 'the same thumbs give the same list');
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await context.close();
  }
});

test('a tab still starting and a tab reloading lose nothing of what the other tab does meanwhile', LIMIT, async () => {
  const { context, pages: [a] } = await tabs(1);
  const b = await newTab(context);
  try {
    const want = [];
    // b starts while a thumbs.
    const starting = b.goto(server.url(SITE)).then(() => waitReady(b));
    for (let n = 0; n < 3; n++) want.push([await press(a, n, 1), 1]);
    await starting;
    await shows(a, byId(want));
    await shows(b, byId(want));
    // b reloads again and again while a thumbs.
    for (let n = 3; n < 6; n++) {
      const reloading = b.reload().then(() => waitReady(b));
      await b.waitForTimeout(40 * (n - 2));
      want.push([await press(a, n, 2), 2]);
      await reloading;
    }
    await shows(a, byId(want));
    await shows(b, byId(want));
    assert.deepEqual(await stored(b), byId(want));
    // A thumb in b right after its reload reaches a.
    want.push([await press(b, 7, -1), -1]);
    await shows(a, byId(want));
    assert.deepEqual(await stored(a), byId(want));
  } finally {
    await context.close();
  }
});

test('a reload in the same task as a thumb keeps the thumb', LIMIT, async () => {
  const { context, pages: [page] } = await tabs(1);
  try {
    const want = [];
    for (const n of [0, 1]) {
      // Before the Worker can answer: the change is not stored yet when the page goes.
      want.push([await page.evaluate((n) => {
        const card = document.querySelectorAll('#pick > [data-movie-id]')[n];
        card.querySelector('button[data-thumbs="2"]').click();
        location.reload();
        return Number(card.dataset.movieId);
      }, n), 2]);
      await page.waitForLoadState('load');
      await waitReady(page);
      await shows(page, byId(want));
    }
    assert.deepEqual(await stored(page), byId(want));
  } finally {
    await context.close();
  }
});

test('a thumb for a movie the catalog lacks is kept, counted, and counts again where it is', LIMIT, async () => {
  // A thumb made on the redeployed site (movies added) while a tab of the old deploy is open.
  // The bundle alone changes, so no service worker: it would keep serving the build it holds
  // (offline.test.js tests how a real deploy takes over).
  const { context, pages: [old] } = await tabs(1, REDEPLOYED.prefix, { serviceWorkers: 'block' });
  const added = fs.readFileSync(process.env.MOVIE_GENIE_ADDED_BUNDLE);
  REDEPLOYED.override[BUNDLE] = added;
  const fresh = await newTab(context);
  try {
    await fresh.goto(server.url(REDEPLOYED.prefix));
    await waitReady(fresh);
    await search(fresh, 'midsommar');
    const newMovie = await fresh.$eval('#pick > [data-movie-id] .new', (mark) => Number(mark.closest('[data-movie-id]').dataset.movieId));
    await fresh.click(`#pick > [data-movie-id="${newMovie}"] button[data-thumbs="2"]`);
    await waitIdle(fresh);
    // The old tab follows: it cannot show the movie, but keeps its thumb and says so.
    await old.waitForSelector('#elsewhere:not([hidden])');
    assert.match(await old.textContent('#elsewhere'), /^1 thumb for a movie not in this catalog is kept/);
    const mine = await rateCard(old, 'pick', 0, 1);
    await shows(fresh, byId([[newMovie, 2], [mine, 1]]));
    assert.deepEqual(await stored(old, REDEPLOYED.prefix), byId([[newMovie, 2], [mine, 1]]),
      'the old tab stored the new movie\'s thumb with its own');
    // Rolled back to the old bundle: the thumb is kept, and comes back when the movie does.
    delete REDEPLOYED.override[BUNDLE];
    await fresh.reload();
    await waitReady(fresh);
    assert.deepEqual(await ratingsShown(fresh), [[mine, 1]]);
    assert.match(await fresh.textContent('#elsewhere'), /^1 thumb/);
    REDEPLOYED.override[BUNDLE] = added;
    await fresh.reload();
    await waitReady(fresh);
    assert.deepEqual(await ratingsShown(fresh), byId([[newMovie, 2], [mine, 1]]));
  } finally {
    delete REDEPLOYED.override[BUNDLE];
    await context.close();
  }
});

test('saved text of a newer format is read where it can be and never overwritten', LIMIT, async () => {
  const { context, pages: [page] } = await tabs(1);
  try {
    const [a] = await ids(page, 'pick');
    const newer = JSON.stringify({ version: 3, thumbs: [[a, 2, 1000, 0, 1]], moods: { [a]: 'cosy' } });
    await page.evaluate(([k, text]) => localStorage.setItem(k, text), [key(SITE), newer]);
    await page.reload();
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), [[a, 2]], 'what this version can read of it');
    assert.match(await page.textContent('#status'), /version 3, newer than this site's 2/);
    const b = await rateCard(page, 'pick', 1, 1);
    const saved = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), key(SITE)));
    assert.deepEqual(saved.newer, [newer], 'the newer text is carried, verbatim');
    assert.deepEqual(await stored(page), byId([[a, 2], [b, 1]]));
  } finally {
    await context.close();
  }
});

test('two sites on one origin keep their own thumbs; the unscoped thumbs of the first release migrate', LIMIT, async () => {
  const { context, page } = await newPage(chromium.browser);
  try {
    await page.goto(server.url(SITE));
    await waitReady(page);
    const [a, b] = (await ids(page, 'pick')).slice(0, 2);
    const legacy = JSON.stringify({ version: 1, ratings: [[a, 2], [b, -1]], popularityWeight: 1 });
    await page.evaluate((text) => localStorage.setItem('movie-genie/ratings/v1', text), legacy);
    await page.goto(server.url('/legacy/'));
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), byId([[a, 2], [b, -1]]), 'the first site migrates them');
    const c = await rateCard(page, 'pick', 2, 1);
    assert.equal(await page.evaluate(() => localStorage.getItem('movie-genie/ratings/v1')), legacy, 'left in place');

    // Another site of the origin, once the unscoped thumbs are gone.
    await page.evaluate((k) => localStorage.removeItem(k), 'movie-genie/ratings/v1');
    await page.goto(server.url(OTHER_SITE));
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), [], 'another site of the origin does not see them');
    await rateCard(page, 'pick', 3, 2);
    await page.goto(server.url('/legacy/'));
    await waitReady(page);
    assert.deepEqual(await ratingsShown(page), byId([[a, 2], [b, -1], [c, 1]]), 'nor erase them');
  } finally {
    await context.close();
  }
});

test('another script of the origin clearing all storage does not erase the thumbs of an open tab', LIMIT, async () => {
  const { context, pages: [a, b] } = await tabs(2);
  try {
    const want = [[await rateCard(a, 'pick', 0, 2), 2], [await rateCard(a, 'pick', 1, -1), -1]];
    await shows(b, byId(want));
    await b.evaluate(() => localStorage.clear());
    await a.waitForFunction((k) => localStorage.getItem(k) !== null, key(SITE));
    assert.deepEqual(await stored(a), byId(want), 'the open tab wrote its thumbs back');
    await b.reload();
    await waitReady(b);
    assert.deepEqual(await ratingsShown(b), byId(want));
  } finally {
    await context.close();
  }
});

test('an import shows what it adds and where it differs, keeps the visitor\'s thumbs unless asked, and undoes', LIMIT, async () => {
  const { context, pages: [page] } = await tabs(1);
  try {
    const [a, b, c] = (await ids(page, 'pick')).slice(0, 3);
    await rateCard(page, 'pick', 0, 2);
    await rateCard(page, 'pick', 1, 1);
    const file = artifact('friend.json');
    fs.writeFileSync(file, JSON.stringify({ format: 'movie-genie-ratings', version: 1, ratings: [[a, -1], [b, 1], [c, 2]] }));
    await page.setInputFiles('#import', file);
    await page.waitForSelector('#import-preview:not([hidden])');
    assert.match(await page.textContent('#import-summary'), /1 new to you, 1 where your thumbs differ, 1 you already have/);
    assert.match(await page.textContent('#import-differs'), /you loved it, the import disliked it/);
    assert.deepEqual(await ratingsShown(page), byId([[a, 2], [b, 1]]), 'nothing changes before the visitor confirms');
    await page.click('#import-confirm');
    await shows(page, byId([[a, 2], [b, 1], [c, 2]]));
    assert.match(await page.textContent('#status'), /Imported 1 thumbs from friend\.json/);
    await page.click('#undo');
    await shows(page, byId([[a, 2], [b, 1]]));

    await page.setInputFiles('#import', file);
    await page.waitForSelector('#import-preview:not([hidden])');
    await page.check('#import-file');
    await page.click('#import-confirm');
    await shows(page, byId([[a, -1], [b, 1], [c, 2]]));
    assert.deepEqual(await stored(page), byId([[a, -1], [b, 1], [c, 2]]));
  } finally {
    await context.close();
  }
});

test('a large import is read off the page\'s thread; one over the limits is refused saying why', LIMIT, async () => {
  const { context, pages: [page] } = await tabs(1);
  try {
    await page.evaluate(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)))
        .observe({ type: 'longtask' });
    });
    const ratings = Array.from({ length: 100_000 }, (_, i) => [i + 1, 1]);
    const big = artifact('hundred-thousand.json');
    fs.writeFileSync(big, JSON.stringify({ format: 'movie-genie-ratings', version: 1, ratings }));
    await page.setInputFiles('#import', big);
    await page.waitForSelector('#import-preview:not([hidden])', { timeout: 60_000 });
    assert.match(await page.textContent('#import-summary'), /100,000 new to you/);
    const longTasks = await page.evaluate(() => window.longTasks);
    assert.ok(longTasks.every((ms) => ms <= 50), `no task over 50 ms on the page's thread: ${longTasks}`);
    await page.click('#import-cancel');
    assert.deepEqual(await ratingsShown(page), [], 'cancelled: nothing changed');

    await page.setInputFiles('#import', { name: 'huge.json', mimeType: 'application/json', buffer: Buffer.alloc(6 * 1024 * 1024, 32) });
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error'), /huge\.json: it is 6\.3 MB; an import may be at most 5 MB/);
    const tooMany = Array.from({ length: 100_001 }, (_, i) => [i + 1, 1]);
    await page.setInputFiles('#import', { name: 'many.json', mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ format: 'movie-genie-ratings', version: 1, ratings: tooMany })) });
    await page.waitForFunction(() => /many\.json/.test(document.getElementById('error').textContent));
    assert.match(await page.textContent('#error'), /100001 thumbs; an import may carry at most 100000/);
  } finally {
    await context.close();
  }
});

test('a wipe can be undone until the page closes', LIMIT, async () => {
  const { context, pages: [page] } = await tabs(1);
  try {
    const want = [];
    for (const [n, v] of [[0, 2], [1, -1], [2, 1]]) want.push([await rateCard(page, 'pick', n, v), v]);
    page.once('dialog', (d) => d.accept());
    await page.click('#wipe');
    await shows(page, []);
    assert.deepEqual(await stored(page), []);
    // Something else said since: the status line's Undo is gone, the wipe's stays.
    await search(page, 'matrix');
    await page.click('#undo-wipe');
    await shows(page, byId(want));
    assert.deepEqual(await stored(page), byId(want));
    assert.equal(await page.isHidden('#undo-wipe'), true);
  } finally {
    await context.close();
  }
});

test('a link carries the thumbs to another browser, never to a server, through the same preview', LIMIT, async () => {
  const { context, pages: [page] } = await tabs(1);
  const since = server.state.requests.length;
  const other = await newPage(chromium.browser);
  try {
    const want = [];
    for (const [n, v] of [[0, 2], [1, -1], [2, 1]]) want.push([await rateCard(page, 'pick', n, v), v]);
    await page.click('#share');
    await page.waitForSelector('#share-link:not([hidden])');
    const link = await page.inputValue('#share-link');
    assert.match(link, /#thumbs=t1\.[A-Za-z0-9_-]+$/);
    assert.ok(link.length < 200, link);
    await other.page.goto(link);
    await waitReady(other.page);
    await other.page.waitForSelector('#import-preview:not([hidden])');
    assert.match(await other.page.textContent('#import-summary'), /3 new to you/);
    assert.equal(new URL(other.page.url()).hash, '', 'the link is forgotten once read');
    await other.page.click('#import-confirm');
    await shows(other.page, byId(want));
    const fragment = link.split('#')[1];
    assert.ok(server.state.requests.slice(since).every((r) => !r.url.includes(fragment) && !r.url.includes('thumbs=')),
      'the thumbs were in no request');
  } finally {
    await other.context.close();
    await context.close();
  }
});

test('a browser that will not promise to keep the thumbs is told once to keep a copy', LIMIT, async () => {
  const { context, page } = await newPage(chromium.browser);
  await context.addInitScript(() => {
    navigator.storage.persisted = async () => false;
    navigator.storage.persist = async () => false;
  });
  try {
    await page.goto(server.url(SITE));
    await waitReady(page);
    assert.equal(await page.isHidden('#persist-note'), true, 'nothing to say before a thumb');
    await rateCard(page, 'pick', 0, 2);
    await page.waitForSelector('#persist-note:not([hidden])');
    assert.match(await page.textContent('#persist-note'), /Export them, or copy a\s+link/);
    await page.reload();
    await waitReady(page);
    await rateCard(page, 'pick', 1, 2);
    await page.waitForTimeout(500);
    assert.equal(await page.isHidden('#persist-note'), true, 'once');
  } finally {
    await context.close();
  }
});

/** The page's Worker running the Genie. */
async function engineWorker(page) {
  for (let i = 0; i < 40 && page.workers().length === 0; i++) await page.waitForTimeout(100);
  const [worker] = page.workers();
  assert.ok(worker, 'the model runs in a Worker');
  return worker;
}

test('an engine that crashes or stops answering is replaced, the thumbs kept, and the page says so', LIMIT, async () => {
  const { context, pages: [page] } = await tabs(1);
  try {
    const want = [[await rateCard(page, 'pick', 0, 2), 2]];
    // An uncaught error in the Worker.
    await (await engineWorker(page)).evaluate(() => setTimeout(() => { throw new Error('boom'); }));
    await page.waitForTimeout(200);
    want.push([await press(page, 1, 1), 1]);
    await shows(page, byId(want));
    assert.match(await page.textContent('#status'), /engine stopped \(crashed.*boom.*\) and was started again; your thumbs are kept/);
    // A Worker that silently stops answering: the heartbeat finds it.
    const hung = page.workers().at(-1);
    await hung.evaluate(() => { self.onmessage = () => {}; });
    want.push([await press(page, 2, -1), -1]);
    await shows(page, byId(want), 90_000);
    assert.match(await page.textContent('#status'), /engine stopped \(did not answer .*\) and was started again/);
    assert.deepEqual(await stored(page), byId(want));
    assert.equal((await ids(page, 'recs')).length, 12);
  } finally {
    await context.close();
  }
});
