// The page: downloads the bundle, sends each change of the visitor's to the one Genie (running
// in a module Worker, genie-client.js) and draws the view it answers with. Ranking, reasons,
// titles, search and the ratings' format are Rust's; this file only draws and collects. Every
// title goes in as text (textContent), never as HTML.
import { startGenie } from './genie-client.js';

const BUNDLE_URL = 'assets/movie-genie.bundle';
/** After this long without the model file, the page says the network is slow (ms). */
const SLOW_DOWNLOAD_MS = 8000;
/** Recommendations shown at once. */
const SHOWN_RECS = 12;
/** Movies added after training shown on their own shelf: they have no popularity yet to
 *  climb the main list with. */
const SHOWN_NEW = 4;
/** Recommendations asked for under a genre filter, which picks from them: each result costs
 *  time to hand over from wasm, so the unfiltered list asks for only what it shows. */
const GENRE_POOL = 250;
/** Starter movies per batch, and the popularity rank they are drawn from (well-known only;
 *  the top 500 also name every genre, for the filter). */
const STARTER_BATCH = 12;
const STARTER_POOL = 500;
const THUMBS = [
  { value: -1, label: 'Dislike', past: 'disliked', icons: [{ x: 0, down: true }], width: 24 },
  { value: 1, label: 'Like', past: 'liked', icons: [{ x: 0 }], width: 24 },
  { value: 2, label: 'Love', past: 'loved', icons: [{ x: 0 }, { x: 14 }], width: 38 },
];
/** Material Icons' thumb_up (Apache-2.0): drawn inline, so no emoji font is needed. */
const THUMB_PATH = 'M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06' +
  'L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05' +
  'c.09-.23.14-.47.14-.73v-2z';
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat('en');
const ms = (v) => (v == null ? '–' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);

/** The Genie's client (genie-client.js): every call is a promise. */
let genie;
/** The last view drawn (`Genie.view`): ratings, recommendations, new movies, stats, the
 *  popularity weight. */
let view = null;
/** movieId → thumbs from the view's ratings, ahead of it while a change is on its way (the
 *  pressed thumb shows at once). */
let rated = new Map();
/** Which engine runs the model and why (engine.js). */
let engine = null;
/** The STARTER_POOL most popular movies (search hits): starters and the genre list. */
let popular = [];
let starterShown = new Set();
let lastUpdateMs = null;
let undoAction = null;

// ---- rendering -------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key === 'role' || /^(data|aria)-/.test(key)) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

function thumbIcon(t) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${t.width} 24`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon');
  for (const { x, down } of t.icons) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', THUMB_PATH);
    path.setAttribute('transform', down ? `translate(${x} 0) rotate(180 12 12)` : `translate(${x} 0)`);
    svg.append(path);
  }
  return svg;
}

function thumbButtons(m) {
  const group = el('div', { class: 'thumbs', role: 'group', 'aria-label': `Rate ${m.label}` });
  for (const t of THUMBS) {
    group.append(el('button', {
      type: 'button',
      class: `thumb thumb-${t.label.toLowerCase()}`,
      title: t.label,
      'data-thumbs': String(t.value),
      'aria-label': t.label,
      'aria-pressed': String(rated.get(m.movieId) === t.value),
    }, thumbIcon(t)));
  }
  return group;
}

/** One movie: title, year, a "new" mark, genres, optional reason, thumbs. `data-movie-id` ties
 *  it to thumbs. */
function card(m, { reason = null, remove = false } = {}) {
  const title = el('h3', { class: 'title' }, el('span', { text: m.title }));
  if (m.year) title.append(' ', el('span', { class: 'year', text: `(${m.year})` }));
  // Added to the catalog after training (`movie-genie add-movies`).
  if (m.new) title.append(' ', el('span', { class: 'new', text: 'new' }));
  const li = el('li', { class: 'card', 'data-movie-id': String(m.movieId), 'data-label': m.label }, title);
  if (m.genres?.length) li.append(el('p', { class: 'genres', text: m.genres.join(' · ') }));
  if (reason) li.append(reason);
  const actions = el('div', { class: 'actions' }, thumbButtons(m));
  if (remove) {
    actions.append(el('button', {
      type: 'button', class: 'link remove', text: 'Remove',
      'data-action': 'remove', 'aria-label': `Remove your thumbs on ${m.label}`,
    }));
  }
  li.append(actions);
  return li;
}

/** Re-renders `list` and keeps keyboard focus on the same control (or its neighbour). */
function replaceKeepingFocus(list, items, fallback) {
  const active = document.activeElement;
  const cards = [...list.children];
  const index = cards.findIndex((c) => c.contains(active));
  if (index < 0) {
    list.replaceChildren(...items);
    return;
  }
  const movieId = cards[index].dataset.movieId;
  const selector = active.dataset.thumbs ? `[data-thumbs="${active.dataset.thumbs}"]`
    : active.dataset.action ? `[data-action="${active.dataset.action}"]` : 'button';
  list.replaceChildren(...items);
  const same = [...list.children].find((c) => c.dataset.movieId === movieId);
  const target = same ?? list.children[Math.min(index, list.children.length - 1)];
  (target?.querySelector(selector) ?? target?.querySelector('button') ?? fallback).focus();
}

/** A recommendation's card with its reason: a liked movie it resembles (`data-because-id`), or
 *  "taste" when none is close enough to name. */
function recCard(r) {
  if (!r.because) return card(r);
  const named = r.becauseMovieId != null;
  const reason = el('p', { class: named ? 'because' : 'because taste', text: r.because });
  if (named) reason.dataset.becauseId = String(r.becauseMovieId);
  return card(r, { reason });
}

function renderRecs() {
  const genre = $('genre').value;
  const shown = view.recommendations
    .filter((r) => !rated.has(r.movieId) && (!genre || r.genres.includes(genre)))
    .slice(0, SHOWN_RECS);
  replaceKeepingFocus($('recs'), shown.map(recCard), $('recs-heading'));
  const fresh = view.fresh.filter((r) => !rated.has(r.movieId));
  $('fresh').hidden = fresh.length === 0;
  replaceKeepingFocus($('fresh-list'), fresh.map(recCard), $('recs-heading'));
  const empty = $('recs-empty');
  empty.hidden = shown.length > 0;
  empty.textContent = genre
    ? `None of your top ${GENRE_POOL} recommendations is tagged ${genre}: try another genre.`
    : 'No recommendations to show.';
  const liked = [...rated.values()].some((t) => t > 0);
  $('recs-note').textContent = liked
    ? 'Ranked for your thumbs on this device; each says which of your likes it resembles, if any.'
    : 'Popular picks for now: like a few movies to make them yours.';
}

/** The "familiar ↔ discover" slider: 0 (familiar) is popularity weight 1, 100 (discover) is 0. */
const sliderOf = (weight) => Math.round((1 - weight) * 100);
const weightOf = (slider) => 1 - Number(slider) / 100;

function renderDiscover() {
  const { value, shipped } = view.popularityWeight;
  $('discover').value = String(sliderOf(value));
  $('discover-default').hidden = sliderOf(value) === sliderOf(shipped);
}

/** Moves the control: re-ranks with the same visitor vector (no fine-tuning) and saves it. */
function setDiscover(slider) {
  return send({ kind: 'popularityWeight', value: weightOf(slider) });
}

/** Sets `aria-pressed` on every thumb under `root` from the ratings. */
function syncPressed(root = document) {
  for (const button of root.querySelectorAll('[data-movie-id] button[data-thumbs]')) {
    const id = Number(button.closest('[data-movie-id]').dataset.movieId);
    button.setAttribute('aria-pressed', String(rated.get(id) === Number(button.dataset.thumbs)));
  }
}

function syncRatings() {
  rated = new Map(view.ratings.map((r) => [r.movieId, r.thumbs]));
  syncPressed();
  const mine = [...view.ratings].reverse().map((r) => card(r, { remove: true }));
  replaceKeepingFocus($('mine'), mine, $('mine-heading'));
  $('mine-empty').hidden = mine.length > 0;
  $('mine-count').textContent = mine.length ? `(${mine.length})` : '';
  $('export').disabled = $('wipe').disabled = $('share').disabled = mine.length === 0;
  const elsewhere = view.elsewhere;
  $('elsewhere').hidden = elsewhere === 0;
  $('elsewhere').textContent = elsewhere === 1
    ? '1 thumb for a movie not in this catalog is kept, and counts again if the site adds it.'
    : `${number.format(elsewhere)} thumbs for movies not in this catalog are kept, and count again ` +
      'if the site adds those movies.';
}

function renderEngine() {
  const s = view.stats;
  const b = s.backend;
  const e = engine;
  const medians = e?.gpuMs != null
    ? ` (update median: WebGPU ${ms(e.gpuMs)}, CPU ${ms(e.cpuMs)}${e.remembered ? ', measured on an earlier visit' : ''})`
    : '';
  const why = e?.reason ? ` — ${e.reason}${medians}` : '';
  const running = b.kind === 'webgpu' ? `WebGPU${b.adapter ? ` (${b.adapter})` : ''}` : 'CPU (WebAssembly)';
  const where = genie.where === 'worker' ? 'in a background Worker' : 'in the page';
  const work = s.reusedVector ? `rank ${ms(s.rankMs)}, same thumbs: no fine-tuning`
    : `fine-tune ${ms(s.personalizeMs)}, rank ${ms(s.rankMs)}`;
  $('engine').textContent = `Engine: ${running}, ${where}${why} · last update ${ms(lastUpdateMs)} ` +
    `(${work}) · model loaded in ${ms(s.loadMs)} · ${number.format(s.catalog)} movies`;
}

/** A lasting note while this browser cannot keep the thumbs: a reload would lose them. */
function renderStorageNote() {
  const note = $('storage-note');
  note.hidden = !genie.storageProblem;
  if (genie.storageProblem) {
    note.textContent = `Your thumbs are not being kept in this browser: ${genie.storageProblem}. ` +
      'They last until this tab closes; use Export ratings to keep a copy.';
  }
}

/** Tells the visitor what happened (a live region), with an Undo when it can be undone. */
function say(text, undo = null) {
  if (!document.body.classList.contains('failed')) $('error').hidden = true;
  $('status-text').textContent = text;
  undoAction = undo;
  $('undo').hidden = !undo;
}

// ---- changes ---------------------------------------------------------------------------------

/** Changes sent to the Genie and not yet answered, and when the first of them was made. */
let changesInFlight = 0;
let changedAt = null;

/** What the page asks the Genie to draw: a genre filter picks from a larger pool. */
const shape = () => ({ k: $('genre').value ? GENRE_POOL : SHOWN_RECS, fresh: SHOWN_NEW });

/**
 * Sends one change (`Genie.apply`'s `{kind, …}`; null: none) and draws the view it is answered
 * with, unless a newer one was drawn; resolves to the change's outcome. The recommendations
 * are busy until every change sent has been answered.
 */
async function send(change) {
  changesInFlight++;
  changedAt ??= performance.now();
  syncBusy();
  try {
    const reply = await genie.change(change, shape());
    take(reply);
    return reply.value;
  } finally {
    if (--changesInFlight === 0) {
      lastUpdateMs = performance.now() - changedAt;
      changedAt = null;
    }
    render();
  }
}

/** Takes a reply's view (`{view, engine}`), unless a newer one was drawn. */
function take(reply) {
  engine = reply.engine;
  if (reply.view.seq > (view?.seq ?? 0)) {
    view = reply.view;
    // How many views the Genie has computed: a burst of changes shares one.
    document.body.dataset.views = String(view.seq);
  }
}

/** Draws the last view taken (the ratings only once no change is on its way). */
function render() {
  if (view) {
    if (changesInFlight === 0) syncRatings();
    renderRecs();
    renderDiscover();
    renderEngine();
    if (!performance.getEntriesByName('first-recs').length) performance.mark('first-recs');
  }
  syncBusy();
  renderStorageNote();
}

function syncBusy() {
  $('recs').setAttribute('aria-busy', String(changesInFlight > 0));
}

/** Sets or removes thumbs; the thumb shows pressed at once, and the Genie's view confirms it. */
function setThumbs(movieId, thumbs) {
  if (thumbs == null) rated.delete(movieId);
  else rated.set(movieId, thumbs);
  syncPressed();
  return send(thumbs == null ? { kind: 'unrate', movieId } : { kind: 'rate', movieId, thumbs });
}

/** A thumb press on the movie named `name`: rate, or undo when that thumb was already pressed. */
function onThumb(movieId, value, name) {
  const before = rated.get(movieId);
  const after = before === value ? null : value;
  const done = setThumbs(movieId, after);
  const undo = () => setThumbs(movieId, before ?? null).catch((e) => showError(message(e)));
  if (after == null) say(`Removed your thumbs on ${name}.`, undo);
  else say(`You ${THUMBS.find((t) => t.value === after).past} ${name}.`, undo);
  return done;
}

// ---- rate: starters and search ------------------------------------------------------------

/** The next `n` starters: round-robin over genres, the most popular unshown movie of each, so
 *  the first grid is both well-known and diverse. */
function nextStarters(n) {
  const genres = [...new Set(popular.flatMap((m) => m.genres))].filter((g) => !g.startsWith('('));
  const picks = [];
  let progress = true;
  while (picks.length < n && progress) {
    progress = false;
    for (const g of genres) {
      const m = popular.find((p) => !starterShown.has(p.movieId) && p.genres.includes(g));
      if (!m) continue;
      starterShown.add(m.movieId);
      picks.push(m);
      progress = true;
      if (picks.length === n) break;
    }
  }
  return picks;
}

/** The starter cards, kept while search results replace them. */
let starterCards = [];
let moreStarters = true;

function addStarters() {
  const picks = nextStarters(STARTER_BATCH);
  const cards = picks.map((m) => card(m));
  starterCards.push(...cards);
  $('pick').append(...cards);
  moreStarters = picks.length === STARTER_BATCH;
  $('more').hidden = !moreStarters;
  return cards;
}

/** Bumped by every keystroke: an answer for older text is dropped. */
let searchSeq = 0;

async function onSearch() {
  const seq = ++searchSeq;
  const text = $('search').value.trim();
  const list = $('pick');
  list.setAttribute('aria-busy', 'true');
  try {
    await showSearch(text, list, seq);
  } finally {
    if (seq === searchSeq) list.setAttribute('aria-busy', 'false');
  }
}

async function showSearch(text, list, seq) {
  const empty = $('pick-empty');
  if (!text) {
    $('pick-heading').textContent = 'Well-known movies to start with';
    list.replaceChildren(...starterCards);
    syncPressed(list);
    empty.hidden = true;
    $('more').hidden = !moreStarters;
    return;
  }
  const hits = await genie.search(text, 24);
  if (seq !== searchSeq) return;
  $('pick-heading').textContent = `Titles containing “${text}”`;
  list.replaceChildren(...hits.map((h) => card(h)));
  empty.hidden = hits.length > 0;
  empty.textContent = `No title contains “${text}”.`;
  $('more').hidden = true;
}

// ---- describe a movie ----------------------------------------------------------------------

const DESCRIBED = 12;
let describeSeq = 0;

/** The search data's size from this build's manifest, shown before its first download: the
 *  copy the service worker keeps, else (a first visit) the server's, never a failed request. */
async function showDescribeSize() {
  try {
    const url = new URL('manifest.json', location.href).href;
    const response = await globalThis.caches?.match(url) ?? (navigator.onLine ? await fetch(url) : null);
    if (!response?.ok) return;
    const { files } = await response.json();
    const bytes = files['assets/movie-genie.search']?.bytes;
    if (bytes) $('describe-size').textContent = ` (${(bytes / 1e6).toFixed(1)} MB)`;
  } catch {
    // no manifest (a bare www/ served without build.sh): the size stays unsaid
  }
}

async function onDescribe() {
  const text = $('describe').value.trim();
  if (!text) return;
  const seq = ++describeSeq;
  const box = $('described-box');
  const list = $('described');
  const empty = $('described-empty');
  box.hidden = false;
  list.setAttribute('aria-busy', 'true');
  $('described-heading').textContent = `Movies like “${text}”`;
  empty.hidden = false;
  empty.textContent = 'Searching…';
  try {
    const found = await genie.describe(text, Number($('describe-taste').value) / 100, DESCRIBED);
    if (seq !== describeSeq) return;
    list.replaceChildren(...(found ?? []).map(recCard));
    syncPressed(list);
    empty.hidden = Boolean(found?.length);
    empty.textContent = `Nothing close to “${text}”: try other words (English only).`;
  } catch (e) {
    if (seq !== describeSeq) return;
    list.replaceChildren();
    empty.textContent = `Describing a movie failed: ${message(e)}. The rest of the page works as before.`;
  } finally {
    if (seq === describeSeq) list.setAttribute('aria-busy', 'false');
  }
}

// ---- your data: export, import, wipe ------------------------------------------------------

async function exportRatings() {
  const text = await genie.exportRatings();
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  el('a', { href: url, download: 'movie-genie-ratings.json' }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  say(`Exported ${rated.size} ratings to movie-genie-ratings.json.`);
}

/** The import being previewed: `{token, name}`. */
let importing = null;
const THUMB_WORD = { '-1': 'disliked', 1: 'liked', 2: 'loved' };

/**
 * Shows what importing `source` (a File written by Export, or a share link's text) would change,
 * read and compared by the Genie off the page's thread; nothing changes until the visitor
 * confirms.
 */
async function previewImport(source, name) {
  let preview;
  try {
    preview = await genie.previewImport(source);
  } catch (e) {
    throw new Error(`${name}: ${message(e)}`);
  }
  importing = { token: preview.token, name };
  const { adds, addsElsewhere, differ, differs, same, dropped, warnings } = preview;
  const count = (n) => number.format(n);
  const parts = [`${count(adds)} new to you${addsElsewhere ? ` (${count(addsElsewhere)} for movies not in this catalog, kept)` : ''}`];
  if (differ) parts.push(`${count(differ)} where your thumbs differ`);
  if (same) parts.push(`${count(same)} you already have`);
  const skipped = dropped ? ` Skipped ${count(dropped)} unreadable (${warnings[0]}${dropped > 1 ? '; …' : ''}).` : '';
  $('import-heading').textContent = `Import thumbs from ${name}?`;
  $('import-summary').textContent = `It has ${parts.join(', ')}.${skipped}`;
  $('import-differs').replaceChildren(...differs.map((m) => el('li', {
    text: `${m.label}: you ${THUMB_WORD[m.thumbs]} it, the import ${THUMB_WORD[m.theirs]} it`,
  })), ...(differ > differs.length ? [el('li', { text: `and ${count(differ - differs.length)} more` })] : []));
  $('import-choice').hidden = differ === 0;
  $('import-keep').checked = true;
  $('import-confirm').disabled = adds === 0 && differ === 0;
  $('import-preview').hidden = false;
  $('import-confirm').focus();
}

/** Imports what the preview showed, in one change that Undo takes back. */
async function confirmImport() {
  const { token, name } = importing;
  const preferFile = $('import-file').checked;
  closeImport();
  const { kept, undo } = await send({ kind: 'import', token, preferFile });
  say(`Imported ${kept} thumbs from ${name}.`, () => revert(undo, 'Import undone.'));
}

function closeImport() {
  importing = null;
  $('import-preview').hidden = true;
}

/** Makes the thumbs those of `saved` again (the undo of an import or a wipe). */
function revert(saved, done) {
  return send({ kind: 'revert', saved }).then(() => say(done)).catch((e) => showError(message(e)));
}

async function wipe() {
  const n = rated.size;
  if (!confirm(`Wipe all ${n} ratings from this browser? You can undo it until you close this page.`)) return;
  const { undo } = await send({ kind: 'clear' });
  const undoWipe = () => {
    $('undo-wipe').hidden = true;
    return revert(undo, `Your ${n} ratings are back.`);
  };
  // Until the page closes: the status line's Undo lasts only until the next message.
  $('undo-wipe').hidden = false;
  $('undo-wipe').onclick = undoWipe;
  say(`Wiped ${n} ratings from this browser.`, undoWipe);
}

/** The address of this page with the visitor's thumbs in its `#` part, which browsers never
 *  send to a server: opening it in another browser offers to import them. */
async function shareLink() {
  const url = new URL(location.href);
  url.search = '';
  url.hash = `thumbs=${await genie.shareLink()}`;
  const field = $('share-link');
  field.value = url.href;
  field.hidden = false;
  field.select();
  const copied = await navigator.clipboard?.writeText(url.href).then(() => true, () => false);
  say(`${copied ? 'Copied a link' : 'Here is a link'} that carries your thumbs: open it in another browser ` +
    'to take them there. They travel only inside the link.');
}

// ---- wiring ---------------------------------------------------------------------------------

function message(e) {
  return String(e?.message ?? e);
}

function showError(text) {
  const box = $('error');
  box.textContent = text;
  box.hidden = false;
}

function wire() {
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    const item = button?.closest('[data-movie-id]');
    if (!item) return;
    const movieId = Number(item.dataset.movieId);
    const name = item.dataset.label;
    let done;
    if (button.dataset.thumbs) done = onThumb(movieId, Number(button.dataset.thumbs), name);
    else if (button.dataset.action === 'remove') done = onThumb(movieId, rated.get(movieId), name);
    done?.catch((e) => showError(message(e)));
  });
  $('undo').addEventListener('click', () => {
    const undo = undoAction;
    say('Undone.');
    undo?.();
  });
  $('search').addEventListener('input', () => onSearch().catch((e) => showError(message(e))));
  $('describe-form').addEventListener('submit', (event) => {
    event.preventDefault();
    onDescribe();
  });
  $('more').addEventListener('click', () => {
    // Keyboard users land on the first new movie.
    addStarters()[0]?.querySelector('button')?.focus();
  });
  $('genre').addEventListener('change', () => send(null).catch((e) => showError(message(e))));
  $('discover').addEventListener('change', (event) => {
    setDiscover(event.target.value).catch((e) => showError(message(e)));
  });
  $('discover-default').addEventListener('click', () => {
    setDiscover(sliderOf(view.popularityWeight.shipped)).catch((e) => showError(message(e)));
  });
  $('export').addEventListener('click', () => exportRatings().catch((e) => showError(message(e))));
  $('import').addEventListener('change', async (event) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    try {
      await previewImport(file, file.name);
    } catch (e) {
      showError(`Could not import ratings: ${message(e)}`);
    }
  });
  $('wipe').addEventListener('click', () => wipe().catch((e) => showError(message(e))));
  $('share').addEventListener('click', () => shareLink().catch((e) => showError(message(e))));
  $('import-confirm').addEventListener('click', () => confirmImport().catch((e) => showError(`Could not import: ${message(e)}`)));
  $('import-cancel').addEventListener('click', () => {
    closeImport();
    say('Import cancelled: nothing changed.');
  });
}

/** A link made by `shareLink` (`#thumbs=…`): offers to import its thumbs, then forgets it. */
async function openSharedLink() {
  const code = new URLSearchParams(location.hash.slice(1)).get('thumbs');
  if (code == null) return;
  history.replaceState(null, '', location.pathname + location.search);
  await previewImport(code, 'the link you opened').catch((e) => showError(`Could not read the link: ${message(e)}`));
}

async function loadBundle() {
  let response;
  try {
    response = await fetch(BUNDLE_URL);
  } catch (e) {
    throw new Error(`the model file could not be downloaded (${message(e)})`);
  }
  if (!response.ok) {
    // The service worker answers a damaged download it has no good copy of with a 503.
    const why = response.status === 404 ? 'is missing' : 'could not be downloaded';
    throw new Error(`the model file ${BUNDLE_URL} ${why} (HTTP ${response.status})`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

function registerServiceWorker() {
  // Caches the page, wasm and bundle so later visits work offline (sw.js).
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('movie-genie: no offline copy:', e));
}

async function main() {
  const params = new URLSearchParams(location.search);
  try {
    const download = loadBundle().then((bytes) => {
      performance.mark('bundle-ready');
      return bytes;
    });
    download.catch(() => {}); // reported below, once awaited
    const slow = setTimeout(() => say('Still downloading the movie model: the network seems slow or stalled. ' +
      'The page starts as soon as it arrives; reloading tries again.'), SLOW_DOWNLOAD_MS);
    download.finally(() => clearTimeout(slow)).catch(() => {});
    if (params.has('bench')) {
      const { bench } = await import('./bench.js');
      await bench(await download, params);
      say('bench done');
      return;
    }
    // The Worker compiles the CPU wasm module while the bundle downloads.
    genie = await startGenie(download, { inPage: params.get('worker') === '0' });
    performance.mark('genie-ready');
  } catch (e) {
    document.body.classList.add('failed');
    $('app').hidden = true;
    say('');
    showError(params.has('bench') ? `Benchmark mode: ${message(e)}.`
      : `Movie Genie could not start: ${message(e)}. Reload to try again; if this ` +
      'keeps happening, the site’s files are damaged or incomplete.');
    $('engine').textContent = 'Engine: not running.';
    return;
  }
  const lines = genie.attribution.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length) $('attribution').replaceChildren(...lines.map((l) => el('p', { text: l })));

  wire();
  genie.onRestart = (sentence) => say(sentence);
  genie.onPersistRefused = () => {
    $('persist-note').hidden = false;
  };
  try {
    await send(null); // recommendations first: they are what the visitor came for
  } catch (e) {
    showError(`Could not compute the recommendations: ${message(e)}`);
    return;
  }
  const warnings = genie.warnings;
  if (genie.storageProblem) {
    say('Rate a few movies you know; recommendations update as you go.');
  } else if (warnings.length) {
    console.warn('movie-genie:', ...warnings);
    say(`Some of your saved thumbs could not be read (${warnings[0]}${warnings.length > 1 ? '; …' : ''}). ` +
      `${rated.size} restored.`);
  } else {
    say(rated.size ? `Welcome back: ${rated.size} ratings restored from this browser.`
      : 'Rate a few movies you know; recommendations update as you go.');
  }
  // From here on, every change another tab makes; and what it made while this one started.
  genie.followOtherTabs(shape, (reply) => {
    take(reply);
    render();
    say(`Your thumbs changed in another tab of this browser; this one follows (${rated.size} now).`);
  });
  // Then, in the background, whether WebGPU takes over (?gpu=force or ?gpu=off override).
  const gpu = { force: 'force', off: 'off', 0: 'off' }[params.get('gpu')] ?? 'auto';
  genie.upgrade(gpu).then(({ value, stats }) => {
    engine = value;
    view = { ...view, stats };
    renderEngine();
    document.body.dataset.engine = engine.kind;
  }).catch((e) => console.warn('movie-genie: the engine stays on the CPU:', message(e)));

  popular = await genie.search('', STARTER_POOL);
  for (const g of [...new Set(popular.flatMap((m) => m.genres))].filter((x) => !x.startsWith('(')).sort()) {
    $('genre').append(el('option', { value: g, text: g }));
  }
  addStarters();
  for (const id of ['search', 'genre', 'import', 'discover', 'describe', 'describe-taste', 'describe-go']) $(id).disabled = false;
  showDescribeSize();
  $('app').setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';
  registerServiceWorker();
  addEventListener('hashchange', () => openSharedLink());
  await openSharedLink();
}

main();
