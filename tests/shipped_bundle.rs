//! The committed bundle, loaded natively through the same `Recommender` the browser runs:
//! it must decode, and its recommendations must follow a visitor's taste.

use burn::tensor::Device;
use movie_genie::bundle::Bundle;
use movie_genie::data::{MovieId, Thumbs};
use movie_genie::recommender::{Recommendation, Recommender};

const BUNDLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/www/assets/movie-genie.bundle");

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn recommender() -> Recommender {
    let bytes = std::fs::read(BUNDLE).expect("the shipped bundle should be committed");
    let bundle = Bundle::from_bytes(&bytes).expect("the shipped bundle should decode");
    #[allow(deprecated)]
    let device = Device::ndarray();
    Recommender::from_bundle(bundle, &device).expect("the shipped bundle should load")
}

/// Recommendations after liking `liked`, with how many carry `genre`.
fn after_liking(liked: &[u32], genre: &str) -> (Vec<Recommendation>, usize) {
    let mut r = recommender();
    for id in liked {
        r.rate(MovieId(*id), Thumbs::DoubleUp)
            .expect("the movie should be in the catalog");
    }
    let recs = block_on(r.recommend(20)).expect("recommendations");
    let hits = recs
        .iter()
        .filter(|m| m.genres.iter().any(|g| g == genre))
        .count();
    (recs, hits)
}

#[test]
fn liking_pixar_films_brings_animation_and_liking_horror_brings_horror() {
    // Toy Story, Toy Story 2, A Bug's Life, Monsters Inc., Finding Nemo.
    let pixar = [1, 3114, 2355, 4886, 6377];
    // The Shining, Jaws, Halloween, The Exorcist, Scream.
    let horror = [1258, 1387, 1982, 1997, 1407];
    let (cold, _) = after_liking(&[], "Animation");
    let cold_animation = cold
        .iter()
        .filter(|m| m.genres.iter().any(|g| g == "Animation"))
        .count();
    let cold_horror = cold
        .iter()
        .filter(|m| m.genres.iter().any(|g| g == "Horror"))
        .count();

    let (recs, animation) = after_liking(&pixar, "Animation");
    assert!(
        recs.iter().all(|m| !pixar.contains(&m.movie_id.0)),
        "a rated movie came back"
    );
    assert!(
        animation >= cold_animation + 4,
        "animation in top 20: {animation} (cold {cold_animation})"
    );
    assert!(
        recs.iter().all(|m| m.because.is_some()),
        "every recommendation should give a reason"
    );

    eprintln!("animation in top 20: cold {cold_animation}, after liking Pixar {animation}");
    let (recs, scary) = after_liking(&horror, "Horror");
    eprintln!("horror in top 20: cold {cold_horror}, after liking horror {scary}");
    assert!(recs.iter().all(|m| !horror.contains(&m.movie_id.0)));
    assert!(
        scary >= cold_horror + 4,
        "horror in top 20: {scary} (cold {cold_horror})"
    );
}
