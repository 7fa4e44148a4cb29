//! The browser API, the only wasm-bindgen code: one `Genie` class built from the bundle's bytes.
//! It picks the device (WebGPU when the page prefers it and `navigator.gpu` gives an adapter,
//! else burn-flex on the CPU), keeps the visitor's ratings and hands plain objects to JS.
//!
//! build.sh ships this crate twice: with the `webgpu` feature (burn-wgpu and its shader
//! compiler, most of that module) and with `cpu` (the CPU module, a fraction of the download);
//! test builds make one module with both. The benchmark page's API is `bench`, in no shipped
//! module.
//! Every visitor starts on the CPU module; `www/engine.js` fetches the WebGPU one only to
//! calibrate it against the CPU (`calibrate`, `versus`) and switches only when it is clearly
//! faster.
//! Everything else is `recommender`, which is tested natively.
//!
//! The page sends each change of the visitor's to `apply` and draws what `view` answers: the
//! ratings, recommendations, stats and the text to store, display-ready. The page owns the
//! saved thumbs (`www/genie-client.js`; a Worker has no localStorage): a Genie keeps every
//! thumb as a stamped change (`engine::ratings::Thumbprint`), merges what storage holds before
//! each change (`sync`), and hands back the text to store.

use std::cell::RefCell;

use burn::tensor::Device;
use js_sys::{Function, Promise, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::engine::bundle::{Bundle, CatalogEntry};
use crate::engine::calibration::{Calibration, verdict};
use crate::engine::describe::SearchData;
use crate::engine::device_rank::DEVICE_RANKING_MIN_ROWS;
use crate::engine::ratings::{self, Thumbprint, encode_link, encode_ratings_file, parse_import};
use crate::engine::recommender::{RatedMovie, Recommendation, Recommender, Stats};
use crate::engine::score::check_popularity_weight;
use crate::engine::{MovieId, Thumbs};

#[cfg(feature = "bench")]
pub mod bench;
pub mod js;

/// Most results one call returns (`k`, `limit`).
const MAX_RESULTS: usize = 1000;

/// Which device runs the user tower, for `backend()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendInfo {
    /// `"webgpu"` or `"cpu"`.
    pub kind: &'static str,
    /// The WebGPU adapter (`vendor/architecture`, e.g. `google/swiftshader`), when known.
    pub adapter: Option<String>,
    /// Why the CPU runs it when WebGPU was preferred.
    pub fallback_reason: Option<String>,
}

/// `stats()`: the last update's timings plus how the genie was loaded.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenieStats<'a> {
    #[serde(flatten)]
    update: Stats,
    /// Bundle bytes → ready recommender (decode, device, saved ratings), in ms.
    load_ms: f64,
    backend: &'a BackendInfo,
    /// Whether the catalog is scored on the device (large catalogs on WebGPU).
    ranks_on_device: bool,
}

/// One change of the visitor's, as the page sends it to `apply` (`kind` names it; fields in
/// camelCase).
#[derive(Debug, Clone, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Change {
    /// Thumbs (-1, 1 or 2) on a movie.
    Rate { movie_id: f64, thumbs: f64 },
    /// Removes the thumbs on a movie (none: nothing changes).
    Unrate { movie_id: f64 },
    /// Wipes every thumb (undone by `revert`).
    Clear,
    /// Imports the thumbs of `text` (a file Export wrote, saved text, or a share link's text)
    /// as changes made now: adds what the visitor lacks and, where both have thumbs, takes the
    /// file's only when `preferFile`. Text that is not thumbs at all is an error.
    Import { text: String, prefer_file: bool },
    /// Merges saved text (`null`: none) that another copy stored: what this browser's storage
    /// holds before a change is stored, or another tab's change. Changes nothing of this
    /// copy's that is newer.
    Sync { saved: Option<String> },
    /// Makes the thumbs those of `saved` (text `savedRatings` gave) again, as changes made
    /// now: the undo of an import or a wipe.
    Revert { saved: String },
    /// How much popularity counts, from 0 (discover: taste alone) to 1 (familiar: as trained),
    /// kept with the ratings; re-ranks without fine-tuning again.
    PopularityWeight { value: f64 },
}

/// What `apply` answers.
#[derive(Debug, Clone, Serialize)]
struct Outcome {
    /// Thumbs the change set (an import: those it added or replaced).
    kept: usize,
    /// What of the change's text was dropped, and why.
    warnings: Vec<String>,
}

impl Outcome {
    fn kept(kept: usize) -> Outcome {
        Outcome {
            kept,
            warnings: Vec::new(),
        }
    }
}

/// What `view` answers: everything the page draws.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct View<'a> {
    ratings: Vec<RatedMovie>,
    recommendations: Vec<Recommendation>,
    fresh: Vec<Recommendation>,
    stats: GenieStats<'a>,
    /// Thumbs kept for movies this catalog lacks (used again when it has them).
    elsewhere: usize,
    popularity_weight: PopularityWeight,
}

/// Most movies (and warnings) `previewImport` lists; the counts cover all of them.
const PREVIEW_LISTED: usize = 50;

/// What `previewImport` answers: what an import would change, for the visitor to confirm.
/// Counts, and short lists for people: an import of 100,000 thumbs must not hand the page
/// 100,000 objects.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportPreview {
    /// Movies the visitor has no thumbs on.
    adds: usize,
    /// Of those, movies this catalog lacks (kept, for a catalog that has them).
    adds_elsewhere: usize,
    /// Movies where the file's thumbs differ from the visitor's.
    differ: usize,
    /// The first of those: the visitor's thumbs, with the file's beside.
    differs: Vec<Differs>,
    /// Movies where both agree.
    same: usize,
    /// Entries of the text that were dropped, and why (the first of them).
    dropped: usize,
    warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Differs {
    #[serde(flatten)]
    mine: RatedMovie,
    theirs: Thumbs,
}

/// The visitor's popularity weight and the bundle's default.
#[derive(Debug, Clone, Serialize)]
struct PopularityWeight {
    value: f64,
    shipped: f64,
}

/// A search hit: the catalog entry with the page's name for it.
#[derive(Debug, Clone, Serialize)]
struct SearchHit<'a> {
    #[serde(flatten)]
    entry: &'a CatalogEntry,
    label: String,
}

/// A visitor's recommender in the page.
#[wasm_bindgen]
pub struct Genie {
    inner: RefCell<Recommender>,
    /// Every thumb, those for movies this catalog lacks too; the recommender gets the others.
    thumbprint: RefCell<Thumbprint>,
    backend: BackendInfo,
    /// What of the saved ratings `create` was given was dropped, and why.
    warnings: Vec<String>,
    attribution: String,
    load_ms: f64,
}

#[cfg(feature = "webgpu")]
thread_local! {
    /// The WebGPU device: burn's runtime initialises once per page, so later genies reuse it.
    static GPU: RefCell<Option<(Device, Option<String>)>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
impl Genie {
    /// Loads a bundle on WebGPU when `preferGpu` and the browser gives an adapter, else on the
    /// CPU, and restores the visitor's thumbs from `saved` (text `savedRatings` gave, of any
    /// version; malformed entries are dropped with a warning, nothing else). Touches no
    /// storage: the page owns it (a Worker has none).
    pub async fn create(
        bytes: Vec<u8>,
        #[wasm_bindgen(js_name = preferGpu)] prefer_gpu: bool,
        saved: Option<String>,
    ) -> Result<Genie, JsError> {
        Self::load(bytes, prefer_gpu, saved).await
    }

    /// The thumbs and popularity weight as the versioned text `create` restores.
    #[wasm_bindgen(js_name = savedRatings)]
    pub fn saved_ratings(&self) -> String {
        self.thumbprint.borrow().encode()
    }

    /// The file Export writes: every thumb (those for movies this catalog lacks too) plus the
    /// rated movies' titles.
    #[wasm_bindgen(js_name = exportRatings)]
    pub fn export_ratings(&self) -> String {
        let inner = self.inner.borrow();
        encode_ratings_file(
            &self.thumbprint.borrow(),
            &inner.rated_movies(),
            inner.popularity_weight(),
        )
    }

    /// The thumbs as a share link's text (for the `#` fragment, never sent over the network);
    /// `apply`'s `import` reads it.
    #[wasm_bindgen(js_name = shareLink)]
    pub fn share_link(&self) -> String {
        encode_link(&self.thumbprint.borrow())
    }

    /// What importing `text` would change, without changing anything: `{adds, addsElsewhere,
    /// differ, differs, same, dropped, warnings}`, the listed movies display-ready. Text that is
    /// not thumbs at all, or over the limits, is an error saying so.
    #[wasm_bindgen(js_name = previewImport)]
    pub fn preview_import(&self, text: &str) -> Result<JsValue, JsError> {
        let imported =
            parse_import(text).map_err(|reason| JsError::new(&format!("it is {reason}")))?;
        let preview = self.thumbprint.borrow().preview_import(&imported);
        let inner = self.inner.borrow();
        let movie = |id: MovieId, thumbs: Thumbs| inner.rated_movie(id, thumbs);
        to_js(&ImportPreview {
            adds: preview.adds.len(),
            adds_elsewhere: preview
                .adds
                .iter()
                .filter(|(id, _)| inner.entry(*id).is_none())
                .count(),
            differ: preview.differs.len(),
            differs: preview
                .differs
                .iter()
                .take(PREVIEW_LISTED)
                .map(|&(id, mine, theirs)| Differs {
                    mine: movie(id, mine),
                    theirs,
                })
                .collect(),
            same: preview.same,
            dropped: imported.warnings.len(),
            warnings: imported.warnings.into_iter().take(PREVIEW_LISTED).collect(),
        })
    }

    /// Applies one change of the visitor's (a [`Change`] as a JS object, e.g.
    /// `{kind: "rate", movieId: 1, thumbs: 2}`) and answers `{kept, warnings}`: the ratings the
    /// change set, and what of its text was dropped and why. An invalid change is an error and
    /// changes nothing. The next `view` shows the result.
    pub fn apply(&self, change: JsValue) -> Result<JsValue, JsError> {
        let change: Change = serde_wasm_bindgen::from_value(change)
            .map_err(|e| JsError::new(&format!("not a change: {e}")))?;
        to_js(&self.apply_change(change)?)
    }

    /// Everything the page draws, after an update for the current ratings (fine-tuning only
    /// when they changed): `{ratings, recommendations, fresh, stats, elsewhere,
    /// popularityWeight}`, with the `k` best unrated movies, the `freshK` best movies added after
    /// training (the "new for you" shelf; none without them) and how many thumbs are kept for
    /// movies this catalog lacks. The text to store comes from `savedRatings`, after a change.
    pub async fn view(
        &self,
        k: f64,
        #[wasm_bindgen(js_name = freshK)] fresh_k: f64,
    ) -> Result<JsValue, JsError> {
        let k = js::count("k", k, MAX_RESULTS)?;
        let fresh_k = js::count("freshK", fresh_k, MAX_RESULTS)?;
        // No borrow spans the await: the page may change the ratings while the device works.
        let pending = self.inner.borrow().start_update()?;
        let user = pending.finish().await?;
        let recommendations = self.inner.borrow_mut().rank(user, k)?;
        let inner = self.inner.borrow();
        let thumbprint = self.thumbprint.borrow();
        to_js(&View {
            ratings: inner.rated_movies(),
            recommendations,
            fresh: inner.new_for_you(fresh_k)?,
            stats: self.genie_stats(&inner),
            elsewhere: thumbprint.len().saturating_sub(inner.ratings().len()),
            popularity_weight: PopularityWeight {
                value: inner.popularity_weight(),
                shipped: inner.default_popularity_weight(),
            },
        })
    }

    /// Up to `limit` movies whose title contains `text` (case and accents ignored), most popular
    /// first: `[{movieId, title, year, label, genres, tmdbId, popularity, new}]`.
    pub fn search(&self, text: &str, limit: f64) -> Result<JsValue, JsError> {
        let limit = js::count("limit", limit, MAX_RESULTS)?;
        let inner = self.inner.borrow();
        let hits: Vec<SearchHit> = inner
            .search(text, limit)
            .into_iter()
            .map(|entry| SearchHit {
                label: entry.label(),
                entry,
            })
            .collect();
        to_js(&hits)
    }

    /// Loads the "describe a movie" search data (the bytes of `movie-genie.search`); an error
    /// says what is wrong with them.
    #[wasm_bindgen(js_name = loadSearch)]
    pub fn load_search(&self, bytes: &[u8]) -> Result<(), JsError> {
        let data = SearchData::from_bytes(bytes)?;
        self.inner.borrow_mut().set_search(data);
        Ok(())
    }

    /// Whether the search data is loaded.
    #[wasm_bindgen(js_name = hasSearch)]
    pub fn has_search(&self) -> bool {
        self.inner.borrow().has_search()
    }

    /// The `k` best unrated movies for the description `text`, `taste` (0 to 1) of the score
    /// from the visitor's list as of the last view: shaped as `view`'s recommendations, or null
    /// when nothing is close to it.
    pub fn describe(&self, text: &str, taste: f64, k: f64) -> Result<JsValue, JsError> {
        let k = js::count("k", k, MAX_RESULTS)?;
        if !(0.0..=1.0).contains(&taste) {
            return Err(JsError::new(&format!(
                "taste: expected a share from 0 to 1, got {taste}"
            )));
        }
        to_js(&self.inner.borrow().describe(text, taste, k)?)
    }

    /// The `k` movies nearest to `movieId` (cosine): shaped as `view`'s recommendations.
    pub fn similar(
        &self,
        #[wasm_bindgen(js_name = movieId)] movie_id: f64,
        k: f64,
    ) -> Result<JsValue, JsError> {
        let id = js::movie_id(movie_id)?;
        let k = js::count("k", k, MAX_RESULTS)?;
        to_js(&self.inner.borrow().similar(id, k)?)
    }

    /// `{kind: "webgpu" | "cpu", adapter, fallbackReason}`.
    pub fn backend(&self) -> Result<JsValue, JsError> {
        to_js(&self.backend)
    }

    /// `{personalizeMs, rankMs, reusedVector, ratings, catalog, newMovies, steps, loadMs,
    /// backend, ranksOnDevice}`, as in `view`.
    pub fn stats(&self) -> Result<JsValue, JsError> {
        to_js(&self.genie_stats(&self.inner.borrow()))
    }

    /// What was dropped from the saved ratings, for the page.
    pub fn warnings(&self) -> Result<JsValue, JsError> {
        to_js(&self.warnings)
    }

    /// The data sources' attribution lines, shown by the page.
    pub fn attribution(&self) -> String {
        self.attribution.clone()
    }

    /// Times `runs` fresh updates of a fixed sample of ratings (`Recommender::time_updates`),
    /// leaving the visitor's own untouched: `{ms: [..], top: [{movieId, score}]}`, the
    /// `cpu` that `versus` takes.
    pub async fn calibrate(&self, runs: f64) -> Result<JsValue, JsError> {
        to_js(&self.calibration(runs).await?)
    }

    /// Calibrates this Genie as `calibrate` does and decides against the CPU's calibration
    /// `cpu` (`engine::calibration::verdict`; `force`: WebGPU whenever the two agree):
    /// `{kind, reason, cpuMs, gpuMs}`.
    pub async fn versus(&self, cpu: JsValue, runs: f64, force: bool) -> Result<JsValue, JsError> {
        let cpu: Calibration = serde_wasm_bindgen::from_value(cpu).map_err(|e| {
            JsError::new(&format!(
                "expected a calibration {{ms, top}}, got something else: {e}"
            ))
        })?;
        to_js(&verdict(&cpu, &self.calibration(runs).await?, force))
    }
}

impl Genie {
    async fn calibration(&self, runs: f64) -> Result<Calibration, JsError> {
        let runs = js::count("runs", runs, 100)?;
        // The RefCell stays borrowed across the awaits: nothing else calls a Genie while it
        // calibrates (engine.js times Genies of its own).
        let mut inner = self.inner.borrow_mut();
        let sample = inner.calibration_sample();
        let (ms, top) = inner.time_updates(&sample, runs, 20).await?;
        Ok(Calibration::new(ms, &top))
    }

    fn genie_stats(&self, inner: &Recommender) -> GenieStats<'_> {
        GenieStats {
            update: inner.stats(),
            load_ms: self.load_ms,
            backend: &self.backend,
            ranks_on_device: inner.ranks_on_device(),
        }
    }

    fn apply_change(&self, change: Change) -> Result<Outcome, JsError> {
        let now = js_sys::Date::now();
        let mut thumbprint = self.thumbprint.borrow_mut();
        let outcome = match change {
            Change::Rate { movie_id, thumbs } => {
                let id = self.known(js::movie_id(movie_id)?)?;
                thumbprint.set(id, Some(Thumbs::from_f64(thumbs)?), now);
                Outcome::kept(1)
            }
            Change::Unrate { movie_id } => {
                let id = self.known(js::movie_id(movie_id)?)?;
                if thumbprint.thumbs(id).is_some() {
                    thumbprint.set(id, None, now);
                }
                Outcome::kept(0)
            }
            Change::Clear => {
                thumbprint.clear(now);
                Outcome::kept(0)
            }
            Change::Import { text, prefer_file } => {
                let imported = parse_import(&text)
                    .map_err(|reason| JsError::new(&format!("it is {reason}")))?;
                Outcome {
                    kept: thumbprint.import(&imported, prefer_file, now),
                    warnings: imported.warnings,
                }
            }
            Change::Sync { saved } => match saved {
                None => Outcome::kept(0),
                Some(text) => match Thumbprint::decode(&text, now) {
                    Ok(read) => {
                        thumbprint.merge(&read.thumbprint);
                        Outcome {
                            kept: read.thumbprint.len(),
                            warnings: read.warnings,
                        }
                    }
                    // Kept in storage until this copy stores its own: the page says what it
                    // could not read.
                    Err(reason) => Outcome {
                        kept: 0,
                        warnings: vec![format!(
                            "the saved thumbs are {reason}: could not read them"
                        )],
                    },
                },
            },
            Change::Revert { saved } => {
                let snapshot = Thumbprint::decode(&saved, now).map_err(|reason| {
                    JsError::new(&format!("the thumbs to go back to are {reason}"))
                })?;
                thumbprint.revert_to(&snapshot.thumbprint, now);
                Outcome::kept(snapshot.thumbprint.len())
            }
            Change::PopularityWeight { value } => {
                check_popularity_weight(value)?;
                thumbprint.set_popularity_weight(value, now);
                Outcome::kept(0)
            }
        };
        // The recommender ranks with the thumbs on movies it knows, in the order given.
        let mut inner = self.inner.borrow_mut();
        let weight = thumbprint
            .popularity_weight()
            .unwrap_or_else(|| inner.default_popularity_weight());
        inner.set_popularity_weight(weight)?;
        inner.restore(&thumbprint.ratings());
        Ok(outcome)
    }

    /// `id` when the catalog has it, else the error naming it.
    fn known(&self, id: MovieId) -> Result<MovieId, JsError> {
        self.inner.borrow().require(id)?;
        Ok(id)
    }

    async fn load(
        bytes: Vec<u8>,
        prefer_gpu: bool,
        saved: Option<String>,
    ) -> Result<Genie, JsError> {
        #[cfg(feature = "console_error_panic_hook")]
        console_error_panic_hook::set_once();
        let started = now_ms();
        let bundle = Bundle::from_bytes(&bytes)?;
        drop(bytes);
        let attribution = bundle.attribution.clone();
        let (device, backend) = pick_device(prefer_gpu)
            .await
            .map_err(|e| JsError::new(&e))?;
        let mut recommender = Recommender::from_bundle(bundle, &device)?.with_clock(now_ms);
        if backend.kind == "webgpu" {
            recommender = recommender.with_device_ranking(&device, DEVICE_RANKING_MIN_ROWS);
        }
        // A random id per copy breaks ties between changes stamped in the same millisecond.
        let device = (js_sys::Math::random() * 4_294_967_296.0) as u32;
        let mut genie = Genie {
            inner: RefCell::new(recommender),
            thumbprint: RefCell::new(Thumbprint::new(device)),
            backend,
            warnings: Vec::new(),
            attribution,
            load_ms: 0.0,
        };
        genie.warnings = genie.apply_change(Change::Sync { saved })?.warnings;
        for warning in &genie.warnings {
            gloo::console::warn!(format!("movie-genie: {warning}"));
        }
        genie.load_ms = now_ms() - started;
        Ok(genie)
    }

    /// The visitor vectors of the last update, one taste after another (for checks that
    /// compare devices).
    pub fn last_vectors(&self) -> Option<Vec<f32>> {
        self.inner.borrow().last_vectors().map(<[Vec<f32>]>::concat)
    }
}

/// WebGPU when preferred and available, else the CPU, with the reason; an error in a module
/// built without the CPU engine (the shipped WebGPU module) when WebGPU cannot run.
pub async fn pick_device(prefer_gpu: bool) -> Result<(Device, BackendInfo), String> {
    let fallback = |reason: Option<String>| match cpu_device() {
        Some(cpu) => Ok((
            cpu,
            BackendInfo {
                kind: "cpu",
                adapter: None,
                fallback_reason: reason,
            },
        )),
        None => Err(format!(
            "this module runs the model on WebGPU only, and {}",
            reason.as_deref().unwrap_or("the CPU was asked for")
        )),
    };
    if !prefer_gpu {
        return fallback(None);
    }
    #[cfg(feature = "webgpu")]
    if let Some((device, adapter)) = GPU.with_borrow(Clone::clone) {
        return Ok((device, webgpu_info(adapter)));
    }
    let adapter = match webgpu_adapter().await {
        Ok(Some(adapter)) => adapter,
        Ok(None) => return fallback(Some("the browser offers no WebGPU adapter".into())),
        Err(e) => return fallback(Some(format!("asking for a WebGPU adapter failed: {e}"))),
    };
    #[cfg(not(feature = "webgpu"))]
    {
        let _ = adapter;
        fallback(Some(
            "this is the CPU-only module (the WebGPU one did not load)".into(),
        ))
    }
    #[cfg(feature = "webgpu")]
    match Device::wgpu_options().init_async().await {
        Ok(device) => {
            GPU.set(Some((device.clone(), adapter.clone())));
            Ok((device, webgpu_info(adapter)))
        }
        Err(e) => fallback(Some(format!("WebGPU init failed: {e:?}"))),
    }
}

/// The CPU device, where this module has it (the `cpu` feature).
fn cpu_device() -> Option<Device> {
    #[cfg(feature = "cpu")]
    return Some(crate::engine::cpu_device());
    #[cfg(not(feature = "cpu"))]
    None
}

#[cfg(feature = "webgpu")]
fn webgpu_info(adapter: Option<String>) -> BackendInfo {
    BackendInfo {
        kind: "webgpu",
        adapter,
        fallback_reason: None,
    }
}

/// `navigator.gpu.requestAdapter()`: `Ok(None)` without WebGPU or an adapter, else the
/// adapter's name when the browser tells it (`Some(None)` when it does not).
async fn webgpu_adapter() -> Result<Option<Option<String>>, String> {
    let get = |target: &JsValue, key: &str| Reflect::get(target, &JsValue::from_str(key));
    let navigator = get(&js_sys::global(), "navigator").map_err(describe)?;
    let gpu = get(&navigator, "gpu").map_err(describe)?;
    if gpu.is_undefined() || gpu.is_null() {
        return Ok(None);
    }
    let request: Function = get(&gpu, "requestAdapter")
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "navigator.gpu.requestAdapter is not a function".to_owned())?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "requestAdapter did not return a promise".to_owned())?;
    let adapter = JsFuture::from(promise).await.map_err(describe)?;
    if adapter.is_undefined() || adapter.is_null() {
        return Ok(None);
    }
    let info = get(&adapter, "info").unwrap_or(JsValue::UNDEFINED);
    let field = |key: &str| {
        get(&info, key)
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let name = match (field("vendor"), field("architecture")) {
        (Some(vendor), Some(arch)) => Some(format!("{vendor}/{arch}")),
        (vendor, arch) => vendor.or(arch).or_else(|| field("description")),
    };
    Ok(Some(name))
}

/// Refuses a file of `bytes` bytes before it is read, when it is over the import limit.
#[wasm_bindgen(js_name = checkImportSize)]
pub fn check_import_size(bytes: f64) -> Result<(), JsError> {
    ratings::check_import_size(bytes).map_err(|reason| JsError::new(&format!("it is {reason}")))
}

/// `performance.now()` in a window or a worker; 0 where there is none.
pub fn now_ms() -> f64 {
    Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|performance| {
            let now: Function = Reflect::get(&performance, &JsValue::from_str("now"))
                .ok()?
                .dyn_into()
                .ok()?;
            now.call0(&performance).ok()?.as_f64()
        })
        .unwrap_or(0.0)
}

/// A thrown JS value as text.
fn describe(value: JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// Plain JS objects and arrays (`None` becomes `null`), built by one `JSON.parse` of the value
/// as JSON text: serde-wasm-bindgen's object building crosses into JS once per field, which is
/// slower for results of many fields (`www/bench.js` measures the handover; perf/RESULTS.md).
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value)
        .map_err(|e| JsError::new(&format!("could not convert a result for JS: {e}")))?;
    js_sys::JSON::parse(&text).map_err(|e| {
        JsError::new(&format!(
            "could not convert a result for JS: {}",
            describe(e)
        ))
    })
}
