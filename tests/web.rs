//! Browser checks of the `Genie` class in headless Chromium (`scripts/test-web.sh`): loading,
//! rating, the WebGPU/CPU agreement, corrupt bundles, saved ratings and argument errors, plus
//! the timings the report quotes (printed with `console_log!`).
//! The trained bundle (`www/assets/movie-genie.bundle`) is checked only with the `real-bundle`
//! feature, which the script turns on when that file exists.
#![cfg(target_arch = "wasm32")]

use gloo::storage::{LocalStorage, Storage};
use movie_genie::engine::bundle::Bundle;
use movie_genie::engine::recommender::{Recommender, TASTE_REASON};
use movie_genie::engine::{MovieId, Thumbs};
use movie_genie::fixtures::{SyntheticSpec, synthetic_bundle};
use movie_genie::web::{Genie, js, pick_device};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rec {
    movie_id: u32,
    title: String,
    year: Option<i32>,
    label: String,
    score: f32,
    because: Option<String>,
    because_movie_id: Option<u32>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Rated {
    movie_id: u32,
    thumbs: i8,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Backend {
    kind: String,
    adapter: Option<String>,
    fallback_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stats {
    load_ms: f64,
    ranks_on_device: bool,
}

/// What `Genie::view` answers (the fields these tests read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct View {
    ratings: Vec<Rated>,
    recommendations: Vec<Rec>,
    fresh: Vec<Rec>,
    elsewhere: usize,
}

fn small_bytes() -> Vec<u8> {
    synthetic_bundle(&SyntheticSpec::small(120), 11).to_bytes()
}

fn message(err: wasm_bindgen::JsError) -> String {
    let value: JsValue = err.into();
    value
        .dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|v| format!("{v:?}"))
}

/// A Genie restored from `saved` (text a former `saved_ratings` gave).
async fn genie(bytes: Vec<u8>, gpu: bool, saved: Option<&str>) -> Genie {
    match Genie::create(bytes, gpu, saved.map(str::to_owned)).await {
        Ok(genie) => genie,
        Err(e) => panic!("the bundle should load: {}", message(e)),
    }
}

async fn view(genie: &Genie, k: usize) -> View {
    match genie.view(k as f64, 4.0).await {
        Ok(value) => serde_wasm_bindgen::from_value(value).expect("view fields"),
        Err(e) => panic!("view should work: {}", message(e)),
    }
}

async fn recommend(genie: &Genie, k: usize) -> Vec<Rec> {
    view(genie, k).await.recommendations
}

async fn ratings(genie: &Genie) -> Vec<Rated> {
    view(genie, 1).await.ratings
}

fn backend(genie: &Genie) -> Backend {
    serde_wasm_bindgen::from_value(genie.backend().ok().expect("backend")).expect("backend info")
}

fn stats(genie: &Genie) -> Stats {
    serde_wasm_bindgen::from_value(genie.stats().ok().expect("stats")).expect("stats fields")
}

/// `Genie::apply` of a change written as JSON, as the page sends it.
fn apply(genie: &Genie, change: &str) -> Result<(), String> {
    let change = js_sys::JSON::parse(change).expect("JSON");
    genie.apply(change).map(drop).map_err(message)
}

fn rate(genie: &Genie, id: u32, thumbs: f64) {
    let change = format!(r#"{{"kind": "rate", "movieId": {id}, "thumbs": {thumbs}}}"#);
    if let Err(e) = apply(genie, &change) {
        panic!("rating {id} should work: {e}");
    }
}

use movie_genie::web::now_ms as now;

#[wasm_bindgen_test]
async fn a_synthetic_bundle_loads_and_recommends_on_the_cpu() {
    let g = genie(small_bytes(), false, None).await;
    assert_eq!(backend(&g).kind, "cpu");
    let recs = recommend(&g, 20).await;
    assert_eq!(recs.len(), 20);
    // No movie was added after training: no "new for you" shelf.
    assert!(view(&g, 20).await.fresh.is_empty());
    assert!(
        recs.iter()
            .all(|r| r.because.is_none() && !r.title.is_empty())
    );
    // Display-ready names: "Title (year)".
    for r in &recs {
        let want = match r.year {
            Some(year) => format!("{} ({year})", r.title),
            None => r.title.clone(),
        };
        assert_eq!(r.label, want);
    }
    assert!(recs.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(g.attribution().contains("Synthetic"));
}

#[cfg(feature = "real-bundle")]
#[wasm_bindgen_test]
async fn the_shipped_bundle_loads_and_recommends() {
    let bytes = include_bytes!("../www/assets/movie-genie.bundle").to_vec();
    let g = genie(bytes, false, None).await;
    let recs = recommend(&g, 20).await;
    assert_eq!(recs.len(), 20);
    let first = recs[0].movie_id;
    rate(&g, first, 2.0);
    let after = recommend(&g, 20).await;
    assert!(after.iter().all(|r| r.movie_id != first));
    assert!(after.iter().all(|r| r.because.is_some()));
}

#[wasm_bindgen_test]
async fn rated_movies_are_never_recommended_and_a_thumbs_up_changes_the_list() {
    let g = genie(small_bytes(), false, None).await;
    let before = recommend(&g, 20).await;
    let liked = before[3].movie_id;
    rate(&g, liked, 2.0);
    rate(&g, before[0].movie_id, -1.0);
    let after = recommend(&g, 20).await;
    let ids: Vec<u32> = after.iter().map(|r| r.movie_id).collect();
    assert!(!ids.contains(&liked) && !ids.contains(&before[0].movie_id));
    // The visitor vector moved: movies on both lists changed score.
    let moved = after.iter().filter(|a| {
        before
            .iter()
            .any(|b| b.movie_id == a.movie_id && (b.score - a.score).abs() > 1e-3)
    });
    assert!(moved.count() > 0, "{before:?} vs {after:?}");
    // Every recommendation says why; a named movie is the one liked.
    assert!(
        after
            .iter()
            .all(|r| match (&r.because, r.because_movie_id) {
                (Some(b), Some(id)) => id == liked && b.starts_with("Because you liked "),
                (Some(b), None) => b == TASTE_REASON,
                (None, _) => false,
            })
    );
    // Every movie rated in turn: none ever comes back.
    for rec in &after[..5] {
        rate(&g, rec.movie_id, 1.0);
        let next = recommend(&g, 120).await;
        let rated: Vec<u32> = ratings(&g).await.iter().map(|r| r.movie_id).collect();
        assert!(next.iter().all(|r| !rated.contains(&r.movie_id)));
        assert_eq!(next.len(), 120 - rated.len());
    }
}

/// Both engines, CPU and WebGPU, give the fixed visitors the top 20 the native recommender
/// recorded (`tests/shipped_bundle.rs`), which is `evaluate`'s ranking
/// (`tests/two_tower_synthetic.rs`).
#[cfg(feature = "real-bundle")]
#[wasm_bindgen_test]
async fn the_fixed_visitors_get_the_top_20_evaluate_gives() {
    use movie_genie::fixtures::{FixedTop20, top20_difference};
    let recorded: Vec<FixedTop20> =
        serde_json::from_str(include_str!("fixtures/shipped-top20.json")).expect("recorded lists");
    let bytes = include_bytes!("../www/assets/movie-genie.bundle").to_vec();
    for (visitor, gpu) in recorded.iter().flat_map(|v| [(v, false), (v, true)]) {
        let g = genie(bytes.clone(), gpu, None).await;
        assert_eq!(backend(&g).kind, if gpu { "webgpu" } else { "cpu" });
        for &(id, thumbs) in &visitor.thumbs {
            rate(&g, id, f64::from(thumbs));
        }
        let got: Vec<(u32, f32)> = recommend(&g, 20)
            .await
            .iter()
            .map(|r| (r.movie_id, r.score))
            .collect();
        if let Some(diff) = top20_difference(&visitor.top, &got) {
            panic!("visitor {:?} (WebGPU: {gpu}): {diff}", visitor.thumbs);
        }
    }
}

/// Both engines give the fixed descriptions (with their thumbs and taste shares) the top 20
/// `movie-genie describe`'s code recorded natively (`tests/shipped_bundle.rs`).
#[cfg(feature = "real-bundle")]
#[wasm_bindgen_test]
async fn the_fixed_descriptions_get_the_top_20_the_native_code_gives() {
    use movie_genie::fixtures::{FixedDescribed, top20_difference};
    let recorded: Vec<FixedDescribed> =
        serde_json::from_str(include_str!("fixtures/shipped-describe.json"))
            .expect("recorded lists");
    let bytes = include_bytes!("../www/assets/movie-genie.bundle").to_vec();
    let search = include_bytes!("../www/assets/movie-genie.search");
    for (fixed, gpu) in recorded.iter().flat_map(|v| [(v, false), (v, true)]) {
        let g = genie(bytes.clone(), gpu, None).await;
        if let Err(e) = g.load_search(search) {
            panic!("the search data should load: {}", message(e));
        }
        for &(id, thumbs) in &fixed.thumbs {
            rate(&g, id, f64::from(thumbs));
        }
        if !fixed.thumbs.is_empty() {
            recommend(&g, 20).await;
        }
        let found = match g.describe(&fixed.text, fixed.taste, 20.0) {
            Ok(found) => found,
            Err(e) => panic!("{:?}: {}", fixed.text, message(e)),
        };
        let got: Vec<Rec> = serde_wasm_bindgen::from_value(found).expect("a list");
        let got: Vec<(u32, f32)> = got.iter().map(|r| (r.movie_id, r.score)).collect();
        if let Some(diff) = top20_difference(&fixed.top, &got) {
            panic!("{:?} (WebGPU: {gpu}): {diff}", fixed.text);
        }
    }
}

#[wasm_bindgen_test]
async fn webgpu_and_cpu_give_the_same_top_20() {
    // SwiftShader runs each of the ~45 kernels of a fine-tuning step in ~10 ms and the page
    // waits meanwhile (chromedriver gives up after 30 s): 5 steps keep an update short.
    let spec = SyntheticSpec {
        steps: 5,
        ..SyntheticSpec::small(120)
    };
    let bytes = synthetic_bundle(&spec, 11).to_bytes();
    let gpu = genie(bytes.clone(), true, None).await;
    let cpu = genie(bytes, false, None).await;
    let info = backend(&gpu);
    assert_eq!(
        info.kind, "webgpu",
        "expected WebGPU in this browser: {info:?}"
    );
    console_log!("WebGPU adapter: {:?}", info.adapter);
    for step in 0..3 {
        let t = now();
        let a = recommend(&gpu, 20).await;
        let t_gpu = now() - t;
        let b = recommend(&cpu, 20).await;
        console_log!(
            "step {step}: webgpu {t_gpu:.0} ms, cpu {:.0} ms",
            now() - t - t_gpu
        );
        let (u, v) = (
            gpu.last_vectors().expect("gpu"),
            cpu.last_vectors().expect("cpu"),
        );
        let gap = u
            .iter()
            .zip(&v)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        console_log!("step {step}: visitor vectors differ by at most {gap:e}");
        assert!(
            gap < 1e-4,
            "visitor vectors differ by {gap} after {step} ratings"
        );
        let ids = |r: &[Rec]| r.iter().map(|r| r.movie_id).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b), "top-20 differ after {step} ratings");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.score - y.score).abs() < 1e-4,
                "{} vs {} (movie {})",
                x.score,
                y.score,
                x.movie_id
            );
        }
        let (id, thumbs) = (a[step * 2].movie_id, [2.0, -1.0, 1.0][step]);
        rate(&gpu, id, thumbs);
        rate(&cpu, id, thumbs);
    }
}

/// A catalog of 100k movies on WebGPU is scored on the device (`device_rank`) and ranks as
/// the CPU's int8 kernel does.
#[wasm_bindgen_test]
async fn a_large_catalog_is_scored_on_the_device_and_agrees_with_the_cpu() {
    let spec = SyntheticSpec {
        rows: movie_genie::engine::device_rank::DEVICE_RANKING_MIN_ROWS,
        steps: 5,
        ..SyntheticSpec::movielens_small()
    };
    let bytes = synthetic_bundle(&spec, 3).to_bytes();
    let gpu = genie(bytes.clone(), true, None).await;
    let cpu = genie(bytes, false, None).await;
    assert_eq!(backend(&gpu).kind, "webgpu");
    assert!(stats(&gpu).ranks_on_device && !stats(&cpu).ranks_on_device);
    let first = recommend(&cpu, 20).await;
    for (i, thumbs) in [(0, 2.0), (3, -1.0)] {
        rate(&gpu, first[i].movie_id, thumbs);
        rate(&cpu, first[i].movie_id, thumbs);
        let t = now();
        let a = recommend(&gpu, 20).await;
        let t_gpu = now() - t;
        let b = recommend(&cpu, 20).await;
        console_log!(
            "100k movies: webgpu (scored on the device) {t_gpu:.0} ms, cpu {:.0} ms",
            now() - t - t_gpu
        );
        assert_eq!(
            a.iter().map(|r| r.movie_id).collect::<Vec<_>>(),
            b.iter().map(|r| r.movie_id).collect::<Vec<_>>()
        );
        for (x, y) in a.iter().zip(&b) {
            assert!((x.score - y.score).abs() < 1e-4, "{x:?} vs {y:?}");
        }
    }
}

#[wasm_bindgen_test]
async fn corrupt_bundles_are_errors_not_panics() {
    let good = small_bytes();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty", Vec::new(), "truncated"),
        ("truncated", good[..good.len() / 2].to_vec(), "truncated"),
        ("flipped", flipped, "checksum"),
        ("bad magic", bad_magic, "magic"),
    ];
    for (what, bytes, expected) in cases {
        match Genie::create(bytes, false, None).await {
            Ok(_) => panic!("{what}: a corrupt bundle loaded"),
            Err(e) => {
                let msg = message(e);
                assert!(msg.contains(expected), "{what}: {msg}");
            }
        }
    }
    // A valid container whose tower does not fit its table.
    let mut bundle = synthetic_bundle(&SyntheticSpec::small(20), 1);
    bundle.tensors.retain(|t| t.name != "user_tower.prior");
    let msg = match Genie::create(bundle.to_bytes(), false, None).await {
        Ok(_) => panic!("a bundle without a prior loaded"),
        Err(e) => message(e),
    };
    assert!(msg.contains("user_tower.prior"), "{msg}");
}

#[wasm_bindgen_test]
async fn ratings_survive_a_reload_through_the_saved_text() {
    let g = genie(small_bytes(), false, None).await;
    rate(&g, 1, 2.0);
    rate(&g, 11, -1.0);
    rate(&g, 21, 1.0);
    apply(&g, r#"{"kind": "unrate", "movieId": 21}"#).expect("unrate");
    let saved = g.saved_ratings();
    let again = genie(small_bytes(), false, Some(&saved)).await;
    assert_eq!(
        ratings(&again).await,
        [
            Rated {
                movie_id: 1,
                thumbs: 2
            },
            Rated {
                movie_id: 11,
                thumbs: -1
            }
        ]
    );
    let warnings: Vec<String> =
        serde_wasm_bindgen::from_value(again.warnings().ok().expect("w")).expect("strings");
    assert!(warnings.is_empty(), "{warnings:?}");
    apply(&again, r#"{"kind": "clear"}"#).expect("clear");
    let empty = genie(small_bytes(), false, Some(&again.saved_ratings())).await;
    assert!(ratings(&empty).await.is_empty());
}

/// Restores what is valid from tampered text, says what it dropped, keeps a thumb for a movie
/// this catalog lacks, hands back clean text, and never touches localStorage (the page owns it).
#[wasm_bindgen_test]
async fn a_tampered_entry_keeps_the_valid_ratings_and_storage_is_untouched() {
    let stored_before = LocalStorage::length();
    let saved = r#"{"version":1,"ratings":[[1,2],[11,7],[999999,1],["x",1],[21,-1]]}"#;
    let g = genie(small_bytes(), false, Some(saved)).await;
    let kept = [
        Rated {
            movie_id: 1,
            thumbs: 2,
        },
        Rated {
            movie_id: 21,
            thumbs: -1,
        },
    ];
    assert_eq!(
        ratings(&g).await,
        kept,
        "the recommender ranks with the known movies"
    );
    let warnings: Vec<String> =
        serde_wasm_bindgen::from_value(g.warnings().ok().expect("w")).expect("strings");
    assert_eq!(
        warnings.len(),
        2,
        "only the malformed entries: {warnings:?}"
    );
    assert_eq!(
        view(&g, 1).await.elsewhere,
        1,
        "the unknown movie's thumb is kept"
    );
    rate(&g, 31, 1.0);
    let text = g.saved_ratings();
    assert!(
        text.starts_with(r#"{"thumbs":[[1,2,0,0,0],[21,-1,0,2,0],[31,1,"#),
        "{text}"
    );
    assert!(
        text.contains(r#"[999999,1,0,1,0]]"#),
        "carried forward: {text}"
    );
    assert_eq!(
        LocalStorage::length(),
        stored_before,
        "a Genie writes no storage"
    );
    assert!(
        ratings(&genie(small_bytes(), false, Some("{garbage")).await)
            .await
            .is_empty()
    );
    let again = genie(small_bytes(), false, Some(&text)).await;
    assert_eq!(ratings(&again).await.len(), 3);
    assert_eq!(again.saved_ratings(), text, "and kept through every save");
    assert!(
        recommend(&again, 5)
            .await
            .iter()
            .all(|r| ![1, 21, 31].contains(&r.movie_id))
    );
}

/// Two tabs, each a Genie, thumb at once and merge what the other stored: both keep both, in
/// either order, and rank the same list.
#[wasm_bindgen_test]
async fn two_copies_changing_at_once_agree_after_merging() {
    let a = genie(small_bytes(), false, None).await;
    let b = genie(small_bytes(), false, None).await;
    rate(&a, 1, 2.0);
    rate(&b, 11, 2.0);
    rate(&a, 21, 1.0);
    rate(&b, 21, -1.0);
    let sync = |g: &Genie, saved: String| {
        let change = serde_json::json!({"kind": "sync", "saved": saved}).to_string();
        apply(g, &change).expect("sync");
    };
    let (from_a, from_b) = (a.saved_ratings(), b.saved_ratings());
    sync(&a, from_b);
    sync(&b, from_a);
    assert_eq!(a.saved_ratings(), b.saved_ratings());
    let (va, vb) = (view(&a, 20).await, view(&b, 20).await);
    assert_eq!(va.ratings.len(), 3);
    let ids = |v: &View| {
        v.recommendations
            .iter()
            .map(|r| r.movie_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&va), ids(&vb), "the list is a function of the thumbs");
    // An import never overturns the visitor's thumb unless asked; a revert undoes it.
    let file = r#"{"format":"movie-genie-ratings","version":1,"ratings":[[1,-1],[31,1]]}"#;
    let before = a.saved_ratings();
    let import = serde_json::json!({"kind": "import", "text": file, "preferFile": false});
    apply(&a, &import.to_string()).expect("import");
    let rated = ratings(&a).await;
    assert!(
        rated.contains(&Rated {
            movie_id: 1,
            thumbs: 2
        }),
        "{rated:?}"
    );
    assert!(
        rated.contains(&Rated {
            movie_id: 31,
            thumbs: 1
        }),
        "{rated:?}"
    );
    let revert = serde_json::json!({"kind": "revert", "saved": before});
    apply(&a, &revert.to_string()).expect("revert");
    assert_eq!(ratings(&a).await.len(), 3);
}

#[wasm_bindgen_test]
async fn bad_arguments_are_errors() {
    let g = genie(small_bytes(), false, None).await;
    let err = |r: Result<(), String>| r.err().expect("should be an error");
    let rate = |id: &str, thumbs: &str| {
        apply(
            &g,
            &format!(r#"{{"kind": "rate", "movieId": {id}, "thumbs": {thumbs}}}"#),
        )
    };
    assert_eq!(
        err(rate("5", "1")),
        "movie id 5 is not in the catalog of 120 movies"
    );
    assert_eq!(err(rate("1", "7")), "thumbs must be -1, 1 or 2 (got 7)");
    assert_eq!(err(rate("1", "0.5")), "thumbs must be -1, 1 or 2 (got 0.5)");
    assert_eq!(
        err(rate("1.5", "1")),
        "movie id must be a whole number from 0 to 4294967295 (got 1.5)"
    );
    assert!(err(rate(r#""1""#, "1")).contains("expected f64"));
    let unknown = err(apply(&g, r#"{"kind": "love", "movieId": 1}"#));
    assert!(
        unknown.contains("unknown variant `love`, expected one of `rate`"),
        "{unknown}"
    );
    assert!(err(apply(&g, r#"{"kind": "rate", "thumbs": 1}"#)).contains("missing field `movieId`"));
    assert!(
        err(apply(
            &g,
            r#"{"kind": "import", "text": "[]", "preferFile": false}"#
        ))
        .starts_with("it is ")
    );
    assert!(err(apply(&g, r#"{"kind": "unrate", "movieId": 2.5}"#)).contains("got 2.5"));
    let js_err = |r: Result<JsValue, wasm_bindgen::JsError>| message(r.err().expect("error"));
    assert!(js_err(g.similar(5.0, 3.0)).contains("movie id 5"));
    assert!(js_err(g.search("x", 0.0)).contains("limit must be"));
    assert!(js_err(g.view(0.0, 1.0).await).contains("k must be"));
    assert!(js_err(g.view(f64::NAN, 1.0).await).contains("got NaN"));
    assert!(js_err(g.view(5.0, -1.0).await).contains("freshK must be"));
    assert!(ratings(&g).await.is_empty());
}

#[wasm_bindgen_test]
async fn search_and_similar_answer() {
    let g = genie(small_bytes(), false, None).await;
    #[derive(Deserialize)]
    struct Hit {
        title: String,
    }
    let hits: Vec<Hit> =
        serde_wasm_bindgen::from_value(g.search("AMELIE", 5.0).ok().expect("search"))
            .expect("hits");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].title, "Amélie");
    let sims: Vec<Rec> =
        serde_wasm_bindgen::from_value(g.similar(1.0, 5.0).ok().expect("similar")).expect("recs");
    assert_eq!(sims.len(), 5);
    assert!(sims.iter().all(|r| r.movie_id != 1));
}

/// Timings for the report on the shipped bundle (or, without it, a synthetic one of its size);
/// opt-in (`scripts/test-web.sh --include-ignored --nocapture measure`), it takes minutes.
#[wasm_bindgen_test]
#[ignore]
async fn measure_load_and_update_latency() {
    #[cfg(feature = "real-bundle")]
    let bytes = include_bytes!("../www/assets/movie-genie.bundle").to_vec();
    #[cfg(not(feature = "real-bundle"))]
    let bytes = synthetic_bundle(&SyntheticSpec::movielens_small(), 5).to_bytes();
    let catalog: Vec<u32> = Bundle::from_bytes(&bytes)
        .expect("bundle")
        .catalog
        .iter()
        .map(|e| e.movie_id.0)
        .collect();
    // SwiftShader is a CPU emulation of a GPU, ~100× slower than the ndarray path here.
    for (gpu, updates) in [(false, 50usize), (true, 3)] {
        let started = now();
        let g = genie(bytes.clone(), gpu, None).await;
        recommend(&g, 20).await;
        let first = now() - started;
        let load = stats(&g).load_ms;
        let info = backend(&g);
        drop(g);

        let (device, _) = pick_device(gpu).await.expect("a device");
        let bundle = Bundle::from_bytes(&bytes).expect("bundle");
        let mut r = Recommender::from_bundle(bundle, &device)
            .expect("recommender")
            .with_clock(now);
        let (mut total, mut sync, mut read, mut rank) = (vec![], vec![], vec![], vec![]);
        for i in 0..updates {
            let id = MovieId(catalog[(i * 7919 + 13) % catalog.len()]);
            let thumbs = if i % 4 == 3 {
                Thumbs::Down
            } else {
                Thumbs::DoubleUp
            };
            r.rate(id, thumbs).expect("rate");
            let t0 = now();
            let pending = r.start_update().expect("start");
            let t1 = now();
            let user = pending.finish().await.expect("read");
            let t2 = now();
            r.rank(user, 20).expect("rank");
            let t3 = now();
            total.push(t3 - t0);
            sync.push(t1 - t0);
            read.push(t2 - t1);
            rank.push(t3 - t2);
        }
        let pct = |v: &mut Vec<f64>, p: f64| {
            v.sort_by(f64::total_cmp);
            v[((v.len() - 1) as f64 * p).round() as usize]
        };
        console_log!(
            "MEASURE backend={} adapter={:?} fallback={:?} rows={} bundle_bytes={} load_ms={load:.1} load_to_first_recs_ms={first:.1} updates={updates} update_median_ms={:.1} update_p95_ms={:.1} finetune_sync_median_ms={:.1} read_median_ms={:.1} rank_median_ms={:.2} rank_p95_ms={:.2}",
            info.kind,
            info.adapter,
            info.fallback_reason,
            catalog.len(),
            bytes.len(),
            pct(&mut total, 0.5),
            pct(&mut total, 0.95),
            pct(&mut sync, 0.5),
            pct(&mut read, 0.5),
            pct(&mut rank, 0.5),
            pct(&mut rank, 0.95),
        );
    }
}

#[wasm_bindgen_test]
fn js_numbers_are_checked() {
    assert_eq!(js::movie_id(42.0).unwrap(), MovieId(42));
    for bad in [f64::NAN, -1.0, 1.5, 5e9, f64::INFINITY] {
        assert!(js::movie_id(bad).is_err(), "{bad}");
    }
    assert_eq!(
        js::movie_id(f64::NAN).unwrap_err().to_string(),
        "movie id must be a whole number from 0 to 4294967295 (got NaN)"
    );
    assert_eq!(js::count("k", 20.0, 1000).unwrap(), 20);
    assert!(js::count("k", 0.0, 1000).is_err());
    assert!(js::count("k", 1001.0, 1000).is_err());
}

/// Calibration times fresh updates of a fixed sample and leaves the visitor's ratings alone.
#[wasm_bindgen_test]
async fn calibration_times_updates_without_touching_the_ratings() {
    let g = genie(small_bytes(), false, None).await;
    rate(&g, 1, 2.0);
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Top {
        movie_id: u32,
        score: f32,
    }
    #[derive(Deserialize)]
    struct Calibration {
        ms: Vec<f64>,
        top: Vec<Top>,
    }
    let c: Calibration = match g.calibrate(3.0).await {
        Ok(v) => serde_wasm_bindgen::from_value(v).expect("calibration fields"),
        Err(e) => panic!("calibrate: {}", message(e)),
    };
    assert_eq!(c.ms.len(), 3);
    assert_eq!(c.top.len(), 20);
    assert!(c.top.iter().all(|t| t.score.is_finite() && t.movie_id != 0));
    // `versus` calibrates again and compares: the same engine ranks the same, so a forced
    // verdict takes the challenger with both medians.
    let again = g.calibrate(1.0).await.expect("calibrate");
    let verdict = g.versus(again, 1.0, true).await.expect("versus");
    let field = |name: &str| js_sys::Reflect::get(&verdict, &name.into()).expect(name);
    assert_eq!(field("kind").as_string().as_deref(), Some("webgpu"));
    assert!(field("cpuMs").as_f64().is_some_and(|ms| ms >= 0.0));
    assert!(field("gpuMs").as_f64().is_some_and(|ms| ms >= 0.0));
    match g.versus(JsValue::from_str("fast"), 1.0, true).await {
        Ok(_) => panic!("a string is not a calibration"),
        Err(e) => assert!(message(e).contains("expected a calibration {ms, top}")),
    }
    assert_eq!(
        ratings(&g).await,
        [Rated {
            movie_id: 1,
            thumbs: 2
        }]
    );
}
