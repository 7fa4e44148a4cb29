// Loads the wasm module and the bundle, then renders what the Genie returns; Rust does the rest.
import init, { Genie } from './pkg/movie_genie.js';

const $ = (id) => document.getElementById(id);
const THUMBS = [[2, '👍👍'], [1, '👍'], [-1, '👎']];
let genie;

function movieLabel(m) {
  return m.year ? `${m.title} (${m.year})` : m.title;
}

function thumbButtons(movieId) {
  return THUMBS.map(([value, label]) => {
    const b = document.createElement('button');
    b.textContent = label;
    b.onclick = () => act(() => genie.rate(movieId, value));
    return b;
  });
}

function item(text, extra = []) {
  const li = document.createElement('li');
  li.append(text, ...extra);
  return li;
}

async function act(change) {
  try {
    change();
    await refresh();
  } catch (e) {
    showError(e);
  }
}

function showError(e) {
  $('status').textContent = String(e.message ?? e);
  $('status').className = 'error';
}

async function refresh() {
  const recs = await genie.recommend(20);
  $('recs').replaceChildren(...recs.map((r) => {
    const because = document.createElement('span');
    because.className = 'because';
    because.textContent = r.because ? ` — ${r.because}` : '';
    return item(movieLabel(r), [because, ...thumbButtons(r.movieId)]);
  }));
  $('rated').replaceChildren(...genie.ratings().map((r) => {
    const undo = document.createElement('button');
    undo.textContent = 'remove';
    undo.onclick = () => act(() => genie.unrate(r.movieId));
    const label = THUMBS.find(([v]) => v === r.thumbs)?.[1] ?? r.thumbs;
    return item(`${label} ${movieLabel(r)}`, [undo]);
  }));
  const s = genie.stats();
  const b = s.backend;
  $('stats').textContent = `${b.kind}${b.adapter ? ` (${b.adapter})` : ''}` +
    `${b.fallbackReason ? ` — ${b.fallbackReason}` : ''} · ${s.catalog} movies · ` +
    `load ${s.loadMs.toFixed(0)} ms · fine-tune ${s.personalizeMs?.toFixed(0) ?? '–'} ms · ` +
    `rank ${s.rankMs?.toFixed(1) ?? '–'} ms`;
}

async function main() {
  await init();
  const response = await fetch('assets/movie-genie.bundle');
  if (!response.ok) throw new Error(`could not fetch the model bundle: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  genie = await Genie.create(bytes, true);
  for (const w of genie.warnings()) console.warn(w);
  $('attribution').textContent = genie.attribution();
  $('status').textContent = 'Rate a few movies you know; recommendations update as you go.';
  const search = $('search');
  search.disabled = false;
  search.oninput = () => {
    const text = search.value.trim();
    const hits = text ? genie.search(text, 10) : [];
    $('hits').replaceChildren(...hits.map((h) => item(movieLabel(h), thumbButtons(h.movieId))));
  };
  await refresh();
}

main().catch(showError);
