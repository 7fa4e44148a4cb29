//! The committed bundle, loaded natively through the same `Recommender` the browser runs:
//! it must decode, and its recommendations must follow a visitor's taste.

use burn::tensor::Device;
use movie_genie::engine::bundle::Bundle;
use movie_genie::engine::recommender::{Recommendation, Recommender};
use movie_genie::engine::{MovieId, Thumbs};

const BUNDLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/www/assets/movie-genie.bundle");

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
    let recs = pollster::block_on(r.recommend(20)).expect("recommendations");
    let hits = recs
        .iter()
        .filter(|m| m.genres.iter().any(|g| g == genre))
        .count();
    (recs, hits)
}

/// A visitor with one clear taste — five liked films of one genre — gets mostly that genre,
/// and every reason that names a film names one they liked.
#[test]
fn a_visitor_with_one_clear_taste_gets_that_taste() {
    // Toy Story, Toy Story 2, A Bug's Life, Monsters Inc., Finding Nemo.
    let pixar = [1, 3114, 2355, 4886, 6377];
    // The Shining, Jaws, Halloween, The Exorcist, Scream.
    let horror = [1258, 1387, 1982, 1997, 1407];
    for (genre, liked) in [("Animation", pixar), ("Horror", horror)] {
        let (cold, cold_hits) = after_liking(&[], genre);
        assert!(
            cold.iter().all(|m| m.because.is_none()),
            "no thumbs, no reason"
        );
        let (recs, hits) = after_liking(&liked, genre);
        eprintln!("{genre} in the top 20: {cold_hits} before any thumbs, {hits} after five liked");
        assert!(
            recs.iter().all(|m| !liked.contains(&m.movie_id.0)),
            "a rated movie came back"
        );
        assert!(
            hits * 10 >= recs.len() * 6,
            "{genre}: {hits} of {} (cold {cold_hits}); expected a share of at least 0.6",
            recs.len()
        );
        assert!(
            recs.iter().all(|m| m.because.is_some()),
            "every recommendation says why"
        );
        let named = recs.iter().filter(|m| m.because_movie_id.is_some()).count();
        assert!(named > 0, "{genre}: no reason names a liked film");
        for m in &recs {
            if let Some(id) = m.because_movie_id {
                assert!(
                    liked.contains(&id.0),
                    "{}: reason names {id}, not a liked film",
                    m.title
                );
            }
        }
    }
}
