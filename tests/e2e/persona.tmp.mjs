import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
const root = '/work/main/dist';
const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.css': 'text/css' };
const server = http.createServer((req, res) => {
  let p = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (p.endsWith('/')) p += 'index.html';
  if (!fs.existsSync(p)) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': types[path.extname(p)] ?? 'application/octet-stream' });
  fs.createReadStream(p).pipe(res);
}).listen(8766);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox'] });
const page = await browser.newPage();
page.on('pageerror', (e) => console.log('pageerror', e.message));
await page.goto('http://127.0.0.1:8766/');
await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
const titles = JSON.parse(process.argv[2]);
for (const t of titles) {
  await page.fill('#search', t);
  await page.waitForFunction((t) => document.querySelector('#pick-heading').textContent.includes(t), t);
  const card = page.locator('#pick .card').first();
  console.log('love:', await card.getAttribute('data-label'));
  // fast clicks: no wait for the update
  await card.locator('button[data-thumbs="2"]').click();
}
await page.waitForFunction(() => document.querySelector('#recs').getAttribute('aria-busy') === 'false');
const recs = await page.$$eval('#recs .card', (c) => c.map((x) => `${x.dataset.label} [${x.querySelector('.genres')?.textContent}] :: ${x.querySelector('.because')?.textContent ?? ''}`));
console.log(recs.join('\n'));
console.log(await page.textContent('#engine'));
console.log('mine:', await page.$$eval('#mine .card', (c) => c.map((x) => x.dataset.label).join(' | ')));
await browser.close(); server.close();
