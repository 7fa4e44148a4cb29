// Shared by the end-to-end tests: a static server for dist/ (under sub-paths, recording every
// request, able to go offline, hang, serve a damaged bundle or another build), Debian's Chromium
// through playwright-core, and small page helpers. Not a test file itself (node --test skips it).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
export const ARTIFACTS = process.env.MOVIE_GENIE_ARTIFACTS || '/tmp/movie-genie-artifacts';
export const CHROMIUM = process.env.MOVIE_GENIE_CHROMIUM || '/usr/bin/chromium';
export const BUNDLE = 'assets/movie-genie.bundle';

/** The build's manifest (scripts/stamp-build.sh), or null before the site is built. */
export function manifestOf(dir = DIST) {
  const file = path.join(dir, 'manifest.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
}

/** The site's own static files, the manifest's and the two it leaves out: the only URLs the
 *  page may ever request. */
export const STATIC_FILES = ['', 'sw.js', 'manifest.json', ...Object.keys(manifestOf()?.files ?? {})];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

/**
 * Serves dist/ (or a mount's `root`, another build's folder) on 127.0.0.1 under each mount's
 * sub-path (`/sub/dir/`). A mount's `override` maps a file to other bytes, or to null for a 404;
 * its `breakOff` maps a file to a byte count after which the connection drops, its headers
 * announcing the whole file, and `stallAfter` to one after which nothing more is sent. Every request is kept in `requests`; `offline = true` drops
 * connections, as a network that is gone; `hang = true` accepts them and never answers, as a
 * mount's `hang` (a list of files) does for those files alone.
 */
export async function startServer(mounts) {
  for (const root of new Set(mounts.map((m) => m.root ?? DIST))) {
    if (!fs.existsSync(path.join(root, 'index.html')) || !fs.existsSync(path.join(root, BUNDLE))) {
      throw new Error(`${root} has no built site: run MOVIE_GENIE_PROFILE=wasm-dev ./build.sh first`);
    }
  }
  const state = { requests: [], offline: false, hang: false };
  const server = http.createServer((req, res) => {
    state.requests.push({ method: req.method, url: req.url, at: Date.now() });
    if (state.offline) {
      req.socket.destroy();
      return;
    }
    if (state.hang) return;
    const pathname = decodeURIComponent(new URL(req.url, 'http://local').pathname);
    const mount = mounts.find((m) => pathname.startsWith(m.prefix));
    if (!mount || req.method !== 'GET') {
      res.writeHead(mount ? 405 : 404).end();
      return;
    }
    let rel = pathname.slice(mount.prefix.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    if (mount.hang?.includes(rel)) return;
    const root = mount.root ?? DIST;
    const file = path.normalize(path.join(root, rel));
    const override = mount.override && rel in mount.override ? mount.override[rel] : undefined;
    if (!file.startsWith(root) || override === null) {
      res.writeHead(404).end();
      return;
    }
    let body;
    try {
      body = override ?? fs.readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
    });
    const cut = mount.breakOff?.[rel];
    if (cut !== undefined) {
      res.write(body.subarray(0, cut), () => res.destroy());
      return;
    }
    const stall = mount.stallAfter?.[rel];
    if (stall !== undefined) {
      res.write(body.subarray(0, stall));
      return;
    }
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    state,
    url: (prefix = mounts[0].prefix) => `${origin}${prefix}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    }),
  };
}

/**
 * A new build of the site: a copy of dist/ with `changes` (file → function of its bytes to new
 * bytes, or to null to leave the file out) applied and stamped as build.sh stamps dist/.
 * Answers its folder (with a trailing slash, as a mount's `root`) and manifest.
 */
export function deploy(changes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'movie-genie-build-'));
  fs.cpSync(DIST, dir, { recursive: true });
  for (const [file, change] of Object.entries(changes)) {
    const bytes = change(fs.readFileSync(path.join(dir, file)));
    if (bytes === null) fs.rmSync(path.join(dir, file));
    else fs.writeFileSync(path.join(dir, file), bytes);
  }
  execFileSync(fileURLToPath(new URL('../../scripts/stamp-build.sh', import.meta.url)), [dir], { stdio: 'ignore' });
  return { root: `${dir}/`, manifest: manifestOf(dir) };
}

/** Debian's Chromium, headless, a fresh profile, none of its own network traffic; `webgpu`
 *  exposes WebGPU (SwiftShader where there is no GPU). */
export async function launchChromium({ webgpu = false } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'movie-genie-e2e-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    args: [
      '--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--remote-debugging-pipe',
      `--user-data-dir=${profile}`, ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page whose uncaught errors are collected in `page.errors`. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  return { context, page };
}

export async function waitReady(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  await waitIdle(page);
}

/** Waits for the engine decision (genie-host.js `upgrade`) and returns the engine line. */
export async function waitEngine(page, { timeout = 60_000 } = {}) {
  await page.waitForSelector('body[data-engine]', { timeout });
  return page.textContent('#engine');
}

/** Waits for the recommendations to finish updating (`timeout` in ms, playwright's default 30 s). */
export async function waitIdle(page, { timeout } = {}) {
  await page.waitForFunction(() => document.getElementById('recs').getAttribute('aria-busy') === 'false',
    null, { timeout });
}

/** Types `text` into the search box and waits for its answer. */
export async function search(page, text) {
  await page.fill('#search', text);
  await page.waitForFunction(() => document.getElementById('pick').getAttribute('aria-busy') === 'false');
}

export const ids = (page, list) => page.$$eval(`#${list} > [data-movie-id]`,
  (cards) => cards.map((c) => Number(c.dataset.movieId)));

/** The ratings as the page lists them: [[movieId, thumbs], …], sorted by id. */
export async function ratingsShown(page) {
  const rows = await page.$$eval('#mine > [data-movie-id]', (cards) => cards.map((c) => [
    Number(c.dataset.movieId),
    Number(c.querySelector('button[aria-pressed="true"]')?.dataset.thumbs),
  ]));
  return rows.sort((a, b) => a[0] - b[0]);
}

/** Describes a movie on the page ("Describe a movie") and waits for the answer: the titles
 *  listed. */
export async function describeMovie(page, text) {
  await page.fill('#describe', text);
  await page.click('#describe-go');
  await page.waitForFunction(() => document.querySelector('#described').getAttribute('aria-busy') === 'false',
    null, { timeout: 120_000 });
  return page.$$eval('#described .title', (t) => t.map((x) => x.textContent));
}

/** Presses thumbs `value` on the `n`th card of list `list` and waits for the update. */
export async function rateCard(page, list, n, value, wait = {}) {
  const card = page.locator(`#${list} > [data-movie-id]`).nth(n);
  const id = Number(await card.getAttribute('data-movie-id'));
  await card.locator(`button[data-thumbs="${value}"]`).click();
  await waitIdle(page, wait);
  return id;
}

export function artifact(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
