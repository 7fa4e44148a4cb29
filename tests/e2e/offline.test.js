// The offline copy (www/sw.js): each build stored whole and checked against its manifest, a page
// answered from one build only, a network that hangs or breaks never stopping a page that has a
// good copy. Build first: MOVIE_GENIE_PROFILE=wasm-dev ./build.sh
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  BUNDLE, DIST, deploy, describeMovie, ids, launchChromium, manifestOf, newPage, rateCard, ratingsShown, startServer,
  waitReady,
} from './harness.js';

const LIMIT = { timeout: 180_000 };
/** One mount per test, each its own service worker scope; tests deploy builds into them. */
const MOUNTS = Object.fromEntries(['offline', 'hang', 'broken', 'deploy', 'lazy', 'grow', 'describe'].map((name) => [name, { prefix: `/${name}/` }]));
const WEBGPU_GLUE = 'pkg/webgpu/movie_genie.js';
let server;
let chromium;
let built;
const deployed = [];

before(async () => {
  server = await startServer(Object.values(MOUNTS));
  chromium = await launchChromium();
  built = manifestOf();
});

after(async () => {
  await chromium?.close();
  await server?.close();
  for (const dir of deployed) fs.rmSync(dir, { recursive: true, force: true });
});

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

/** A new build: dist/ with `changes` (see harness `deploy`), removed after the tests. */
function newBuild(changes) {
  const build = deploy(changes);
  deployed.push(build.root);
  return build;
}

/** Another build's page, main script, CPU module (glue and wasm, a custom section added) and
 *  WebGPU glue: every file the page shows or runs differs from dist/'s. */
const CHANGED = {
  'index.html': (b) => Buffer.from(b.toString().replace('<title>Movie Genie</title>', '<title>Movie Genie v2</title>')),
  'main.js': (b) => Buffer.concat([b, Buffer.from('\n// another build\n')]),
  'pkg/cpu/movie_genie.js': (b) => Buffer.concat([b, Buffer.from('\n// another build\n')]),
  'pkg/cpu/movie_genie_bg.wasm': (b) => Buffer.concat([b, Buffer.from([0, 3, 2, 0x76, 0x32])]),
  [WEBGPU_GLUE]: (b) => Buffer.concat([b, Buffer.from('\n// another build\n')]),
};

async function visit(mount) {
  const { context, page } = await newPage(chromium.browser);
  await page.goto(server.url(mount.prefix));
  await waitReady(page);
  return { context, page };
}

/** The builds the page's origin has stored whole: their ids (a stored set holds its manifest). */
function storedBuilds(page) {
  return page.evaluate(async () => {
    const found = [];
    for (const name of await caches.keys()) {
      const manifest = await (await caches.open(name)).match(new URL('manifest.json', location.href).href);
      if (manifest) found.push((await manifest.json()).build);
    }
    return found.sort();
  });
}

/** The files build `id` has stored: path → SHA-256. */
function storedFiles(page, id) {
  return page.evaluate(async (id) => {
    const base = new URL('./', location.href).href;
    const hex = async (r) => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', await r.arrayBuffer())),
      (b) => b.toString(16).padStart(2, '0')).join('');
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      const manifest = await cache.match(`${base}manifest.json`);
      if (!manifest || (await manifest.json()).build !== id) continue;
      const files = {};
      for (const request of await cache.keys()) files[request.url.slice(base.length)] = await hex(await cache.match(request));
      delete files['manifest.json'];
      return files;
    }
    return null;
  }, id);
}

/** What the page gets when it fetches `file`: `{status, text}`. */
function fetchInPage(page, file) {
  return page.evaluate(async (file) => {
    const response = await fetch(file);
    return { status: response.status, text: await response.text() };
  }, file);
}

/** Polls `check` until it answers true; fails with `what` after `timeout` ms. */
async function eventually(what, check, timeout = 60_000) {
  for (const end = Date.now() + timeout; !(await check());) {
    assert.ok(Date.now() < end, `within ${timeout} ms: ${what}`);
    await new Promise((resolve) => { setTimeout(resolve, 250); });
  }
}

/** Waits until build `id` is stored whole and a service worker controls the page, none
 *  installing or waiting: the worker of build `id` (or of one stored after it). */
async function buildInCharge(page, id) {
  await eventually(`build ${id} in charge`, async () => await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    return Boolean(navigator.serviceWorker.controller && registration?.active && !registration.installing
      && !registration.waiting);
  }) && (await storedBuilds(page)).includes(id));
}

/**
 * Records the site's files the page and its Workers are answered with from now on (by the
 * service worker): `got()` answers `{file, sha256, bytes}` for each. The browser keeps no body
 * over 10 MB for the test to read (the wasm-dev module): such a file has only its length, from
 * its headers.
 */
function recordAnswers(context, mount) {
  const base = server.url(mount.prefix);
  const pending = [];
  const listener = (response) => {
    if (!response.fromServiceWorker() || !response.url().startsWith(base)) return;
    const file = response.url().slice(base.length).split('?')[0] || 'index.html';
    const bytes = Number(response.headers()['content-length']);
    pending.push(response.body().then((b) => ({ file, sha256: sha256(b), bytes: b.length }), () => ({ file, bytes })));
  };
  context.on('response', listener);
  return { got: async () => { context.off('response', listener); return Promise.all(pending); } };
}

/** Asserts every file in `got` is the one `manifest`'s build lists (by its hash, else its
 *  length, which differs between the builds here), and that the page's main files are among
 *  them (the check is not empty). */
function assertOneBuild(got, manifest, label) {
  const files = new Set(got.map(({ file }) => file));
  for (const core of ['index.html', 'main.js', 'worker.js', 'pkg/cpu/movie_genie.js', 'pkg/cpu/movie_genie_bg.wasm', BUNDLE]) {
    assert.ok(files.has(core), `${label}: the page was answered ${core} (got ${[...files]})`);
  }
  for (const { file, sha256: hash, bytes } of got) {
    const entry = manifest.files[file];
    assert.equal(bytes, entry?.bytes, `${label}: ${file} has build ${manifest.build}'s length`);
    if (hash) assert.equal(hash, entry.sha256, `${label}: ${file} is build ${manifest.build}'s`);
  }
}

test('dist/manifest.json lists every file of dist/ with its length and hash, and sw.js names its build', () => {
  assert.ok(built, 'dist/manifest.json exists (build.sh writes it)');
  const present = fs.readdirSync(DIST, { recursive: true })
    .filter((f) => fs.statSync(path.join(DIST, f)).isFile() && !['sw.js', 'manifest.json'].includes(f)).sort();
  assert.deepEqual(Object.keys(built.files).sort(), present);
  for (const [file, entry] of Object.entries(built.files)) {
    const bytes = fs.readFileSync(path.join(DIST, file));
    assert.deepEqual([entry.bytes, entry.sha256], [bytes.length, sha256(bytes)], file);
  }
  // Installed with the build: what every visit needs. Fetched when first used: the WebGPU module.
  for (const file of ['index.html', 'main.js', 'worker.js', 'pkg/cpu/movie_genie.js', 'pkg/cpu/movie_genie_bg.wasm', BUNDLE]) {
    assert.equal(built.files[file].lazy, undefined, `${file} is installed with the build`);
  }
  if (built.files[WEBGPU_GLUE]) assert.equal(built.files[WEBGPU_GLUE].lazy, true);
  assert.match(built.build, /^[0-9a-f]{16}$/);
  assert.match(fs.readFileSync(path.join(DIST, 'sw.js'), 'utf8'), new RegExp(`^const BUILD = '${built.build}';$`, 'm'));
  assert.notEqual(newBuild({ 'style.css': (b) => Buffer.concat([b, Buffer.from('\n')]) }).manifest.build, built.build,
    'a changed file makes a new build');
});

test('offline reload works from the service worker cache, which follows a new build', LIMIT, async () => {
  const mount = MOUNTS.offline;
  const { context, page } = await visit(mount);
  try {
    await buildInCharge(page, built.build);
    const id = await rateCard(page, 'pick', 0, 2);

    // A new deployment: its service worker installs it whole, then the next visit gets it, and
    // so does the offline copy.
    const v2 = newBuild({ 'index.html': CHANGED['index.html'] });
    mount.root = v2.root;
    await page.reload();
    await waitReady(page);
    await buildInCharge(page, v2.manifest.build);
    await page.reload();
    await waitReady(page);
    assert.equal(await page.title(), 'Movie Genie v2');

    await context.setOffline(true);
    server.state.offline = true;
    await page.reload();
    await waitReady(page);
    assert.equal(await page.title(), 'Movie Genie v2', 'the offline copy is the latest one');
    assert.deepEqual(await ratingsShown(page), [[id, 2]]);
    assert.equal((await ids(page, 'recs')).length, 12);
    await rateCard(page, 'pick', 1, 1);
    assert.equal((await ratingsShown(page)).length, 2, 'rating still works offline');
    assert.deepEqual(page.errors, []);
  } finally {
    server.state.offline = false;
    delete mount.root;
    await context.close();
  }
});

test('"describe a movie" works offline once used: its search data joins the offline copy', LIMIT, async () => {
  const { context, page } = await visit(MOUNTS.describe);
  try {
    await buildInCharge(page, built.build);
    const online = await describeMovie(page, 'animated film about toys');
    assert.ok(online.some((t) => t.startsWith('Toy Story')), `got ${online}`);
    await context.setOffline(true);
    server.state.offline = true;
    await page.reload();
    await waitReady(page);
    assert.deepEqual(await describeMovie(page, 'animated film about toys'), online, 'the same list offline');
    assert.match(await page.textContent('#describe-help'), /\(\d+\.\d MB\)/, 'the size, from the offline copy');
    assert.deepEqual(page.errors, []);
  } finally {
    server.state.offline = false;
    await context.close();
  }
});

test('with a cached copy, a network that connects but never answers does not stop the page', LIMIT, async () => {
  const { context, page } = await visit(MOUNTS.hang);
  try {
    await buildInCharge(page, built.build);
    const id = await rateCard(page, 'pick', 0, 2);
    server.state.hang = true;
    const started = Date.now();
    await page.reload({ timeout: 10_000 });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    assert.ok(Date.now() - started < 10_000, `ready in ${Date.now() - started} ms`);
    assert.deepEqual(await ratingsShown(page), [[id, 2]]);
    assert.equal((await ids(page, 'recs')).length, 12);
  } finally {
    server.state.hang = false;
    await context.close();
  }
});

for (const [fault, label] of [
  [(mount, size) => { mount.breakOff = { [BUNDLE]: size >> 1 }; }, 'breaks half-way'],
  [(mount, size) => { mount.override = { [BUNDLE]: Buffer.alloc(size, 0x5a) }; }, 'has the wrong bytes'],
]) {
  test(`a new build whose bundle download ${label} is refused: the page starts on the good copy, still stored`, LIMIT, async () => {
    const mount = MOUNTS.broken;
    const { context, page } = await visit(mount);
    try {
      await buildInCharge(page, built.build);
      const v2 = newBuild({ [BUNDLE]: (b) => Buffer.concat([b, Buffer.from([0])]) });
      mount.root = v2.root;
      fault(mount, v2.manifest.files[BUNDLE].bytes);
      const outcome = await page.evaluate(async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        const found = new Promise((resolve) => {
          registration.addEventListener('updatefound', () => resolve(registration.installing), { once: true });
          setTimeout(() => resolve(null), 20_000);
        });
        await registration.update().catch(() => {});
        const worker = await found;
        if (!worker) return 'no new service worker';
        await new Promise((resolve) => {
          const settled = () => { if (['redundant', 'activated'].includes(worker.state)) resolve(); };
          worker.addEventListener('statechange', settled);
          settled();
        });
        return worker.state;
      });
      assert.equal(outcome, 'redundant', 'the new build does not install');

      await page.reload();
      await waitReady(page);
      assert.ok(await page.isHidden('#error'), 'no error shown');
      assert.equal((await ids(page, 'recs')).length, 12);
      assert.deepEqual(await storedBuilds(page), [built.build]);
      assert.equal((await storedFiles(page, built.build))[BUNDLE], built.files[BUNDLE].sha256, 'the good bundle is still stored');
      assert.deepEqual(page.errors, []);
    } finally {
      delete mount.root;
      delete mount.breakOff;
      delete mount.override;
      await context.close();
    }
  });
}

test('a page is answered from one build, also after a new build takes over while it is open', LIMIT, async () => {
  const mount = MOUNTS.deploy;
  const { context, page } = await visit(mount);
  try {
    await buildInCharge(page, built.build);
    const v2 = newBuild(CHANGED);
    mount.root = v2.root;

    // This visit is answered from the stored build while the new one installs.
    let answers = recordAnswers(context, mount);
    await page.reload();
    await waitReady(page);
    assertOneBuild(await answers.got(), built, 'the visit after the deployment');
    await buildInCharge(page, v2.manifest.build);
    assert.deepEqual(await storedBuilds(page), [built.build, v2.manifest.build].sort(),
      'the open page keeps its build stored');

    // The page still runs on the old build: a file it asks for now is that build's, or refused.
    const late = await fetchInPage(page, WEBGPU_GLUE);
    assert.notEqual(sha256(late.text), v2.manifest.files[WEBGPU_GLUE].sha256, 'the new build’s WebGPU glue never reaches the old page');
    assert.equal(late.status, 503);
    assert.match(late.text, /could not be loaded: the download was damaged/);

    answers = recordAnswers(context, mount);
    await page.reload();
    await waitReady(page);
    assertOneBuild(await answers.got(), v2.manifest, 'the next visit');
    assert.equal(await page.title(), 'Movie Genie v2');

    // No page uses the old build any more: its cache goes at a later visit (once the old
    // pins' grace is over, sw.js PIN_GRACE_MS).
    await eventually('only the new build stored', async () => {
      await page.reload();
      await waitReady(page);
      return (await storedBuilds(page)).join() === v2.manifest.build;
    }, 30_000);
    assert.deepEqual(page.errors.filter((e) => !e.includes('status of 503 (Damaged or unavailable download)')), [],
      'no error but the refused file');
  } finally {
    delete mount.root;
    await context.close();
  }
});

test('the WebGPU module fetched later is checked (a broken or stalled download is refused), then joins its build\'s cache', LIMIT, async () => {
  const mount = MOUNTS.lazy;
  const { context, page } = await visit(mount);
  const get = (file) => fetchInPage(page, file);
  try {
    await buildInCharge(page, built.build);
    assert.equal((await storedFiles(page, built.build))[WEBGPU_GLUE], undefined, 'not stored before it is used');

    mount.breakOff = { [WEBGPU_GLUE]: built.files[WEBGPU_GLUE].bytes >> 1 };
    const broken = await get(WEBGPU_GLUE);
    assert.equal(broken.status, 503);
    assert.match(broken.text, /pkg\/webgpu\/movie_genie\.js of this site \(build \w+\) could not be loaded/);
    assert.equal((await storedFiles(page, built.build))[WEBGPU_GLUE], undefined, 'a broken download is not stored');

    // A download that stops after its headers and some bytes is given up, and not stored.
    mount.stallAfter = { [WEBGPU_GLUE]: built.files[WEBGPU_GLUE].bytes >> 1 };
    delete mount.breakOff;
    const stalled = await get(`${WEBGPU_GLUE}?v=stall`);
    assert.equal(stalled.status, 503);
    assert.match(stalled.text, /could not be loaded: the network sent nothing for 15 s/);
    assert.equal((await storedFiles(page, built.build))[WEBGPU_GLUE], undefined, 'a stalled download is not stored');

    delete mount.stallAfter;
    assert.equal((await get(`${WEBGPU_GLUE}?v=1`)).status, 200);
    assert.equal((await storedFiles(page, built.build))[WEBGPU_GLUE], built.files[WEBGPU_GLUE].sha256,
      'stored in its build\'s set, under its path without the query');

    server.state.offline = true;
    await context.setOffline(true);
    assert.equal((await get(WEBGPU_GLUE)).status, 200, 'answered from the cache offline');
  } finally {
    server.state.offline = false;
    delete mount.breakOff;
    delete mount.stallAfter;
    await context.close();
  }
});

test('adding the WebGPU module makes a new build, installed from the stored files: only changed ones are downloaded', LIMIT, async () => {
  const mount = MOUNTS.grow;
  // What `./build.sh cpu` serves before `./build.sh webgpu` adds the module: dist/ without it.
  const cpuOnly = newBuild(Object.fromEntries(Object.keys(built.files)
    .filter((file) => file.startsWith('pkg/webgpu/')).map((file) => [file, () => null])));
  assert.equal(cpuOnly.manifest.files[WEBGPU_GLUE], undefined);
  mount.root = cpuOnly.root;
  const { context, page } = await visit(mount);
  try {
    await buildInCharge(page, cpuOnly.manifest.build);
    delete mount.root;
    const since = server.state.requests.length;
    await page.reload();
    await waitReady(page);
    await buildInCharge(page, built.build);
    const downloaded = server.state.requests.slice(since)
      .map(({ url }) => url.slice(mount.prefix.length).split('?')[0]).filter((file) => file in built.files);
    const changed = Object.entries(built.files)
      .filter(([file, entry]) => !entry.lazy && cpuOnly.manifest.files[file]?.sha256 !== entry.sha256).map(([file]) => file);
    assert.deepEqual(downloaded.sort(), changed.sort());
    const early = await fetchInPage(page, WEBGPU_GLUE);
    assert.equal(early.status, 404, 'this visit began on the CPU-only build, which has no WebGPU module');
    assert.match(early.text, /could not be loaded: it is not part of this build/);

    await page.reload();
    await waitReady(page);
    assert.equal((await fetchInPage(page, WEBGPU_GLUE)).status, 200, 'the next visit has it');
    assert.equal((await storedFiles(page, built.build))[WEBGPU_GLUE], built.files[WEBGPU_GLUE].sha256);
  } finally {
    delete mount.root;
    await context.close();
  }
});
