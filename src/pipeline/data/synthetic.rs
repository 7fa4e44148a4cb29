//! Seeded synthetic training data shaped like MovieLens, for measuring what training costs as
//! data grows (`benches/train_scale.rs`) at sizes the real data does not come in.
//!
//! - Movie popularity is Zipf–Mandelbrot: the movie of popularity rank `r` (from 1) is drawn
//!   with weight `(r + offset)^-1.55`, `offset` = 3.1 % of the catalog. Fitted by least squares
//!   on log counts at log-spaced ranks to ml-latest-small's sorted rating counts (exponent 1.55,
//!   offset 300 of its 9,724 movies); a pure Zipf fits it 11× worse, its head too steep where
//!   ml-latest-small's top 100 movies have nearly equal counts. The offset scales with the
//!   catalog so every size gives each catalog percentile the same share of ratings.
//! - Users rate at least 20 movies, as in MovieLens; the ratings above 20 are log-normal across
//!   users (σ 1.4: ml-latest-small's most active 10 % hold 53 % of those ratings, σ 1.4 gives
//!   54 %), scaled to the total asked and capped at a quarter of the catalog (its most active
//!   user rated 28 %).
//! - Each user draws their movies by popularity without repeats; thumbs are drawn independently
//!   in ml-latest-small's proportions after the thumbs-v1 mapping.
//! - Content rows have the real layout's columns (`content.rs`), with plausible values.

use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::seq::{IteratorRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use rand_distr::{LogNormal, StandardNormal};

use super::content::{FLAGS, NUMERIC, TOP_LANGUAGES};
use super::embed::EMBEDDING_DIM;
use super::split::Interactions;
use crate::engine::score::Genres;
use crate::engine::{ItemIndex, Thumbs};
use crate::fixtures::seeded_unit_rows;
use crate::pipeline::train::ContentMatrix;

/// Zipf–Mandelbrot exponent of movie popularity (module doc).
const POPULARITY_EXPONENT: f64 = 1.55;
/// Zipf–Mandelbrot offset as a share of the catalog (module doc).
const POPULARITY_OFFSET: f64 = 0.031;
/// Fewest ratings per user, as in every MovieLens release.
pub const MIN_USER_RATINGS: usize = 20;
/// σ of the log-normal ratings above the minimum (module doc).
const ACTIVITY_SIGMA: f64 = 1.4;
/// Thumbs-down, thumbs-up and two-thumbs-up shares of ml-latest-small's ratings.
const THUMBS_SHARES: [(Thumbs, f64); 3] = [
    (Thumbs::Down, 0.189),
    (Thumbs::Up, 0.595),
    (Thumbs::DoubleUp, 0.216),
];
/// ml-latest-small's genres (what `prepare` keeps: "(no genres listed)" is none).
const GENRES: [&str; 19] = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];
/// The real layout's width on ml-latest-small (439): numbers and their missing flags, the
/// languages and `lang_other`, the flags, the genres, the MiniLM text embedding.
pub const CONTENT_DIM: usize =
    2 * NUMERIC.len() + TOP_LANGUAGES + 1 + FLAGS.len() + GENRES.len() + EMBEDDING_DIM;

/// How much synthetic data to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticShape {
    pub ratings: usize,
    pub users: usize,
    pub movies: usize,
}

/// Seeded MovieLens-shaped ratings (user ids 1..=users, one row each) and the catalog's
/// content; some unpopular movies may have no rating, as in a real catalog grown by imports.
///
/// # Panics
/// When the shape cannot hold `MIN_USER_RATINGS` per user, or more than a quarter of the
/// catalog per user.
pub fn generate(shape: SyntheticShape, seed: u64) -> (Interactions, ContentMatrix) {
    let mut rng = StdRng::seed_from_u64(seed);
    let interactions = ratings(shape, &mut rng);
    let content = content(shape.movies, &interactions.rating_counts(), &mut rng);
    (interactions, content)
}

fn ratings(shape: SyntheticShape, rng: &mut StdRng) -> Interactions {
    let counts = activity(shape, rng);
    // Popularity ranks land on shuffled items, so item order says nothing about popularity.
    let mut by_rank: Vec<u32> = (0..shape.movies as u32).collect();
    by_rank.shuffle(rng);
    let offset = POPULARITY_OFFSET * shape.movies as f64;
    let popularity = WeightedIndex::new(
        (1..=shape.movies).map(|r| (r as f64 + offset).powf(-POPULARITY_EXPONENT)),
    )
    .expect("popularity weights should be positive and finite");
    let thumbs = WeightedIndex::new(THUMBS_SHARES.map(|(_, share)| share))
        .expect("thumbs shares should be positive");
    // The last user row that drew each movie: repeats are redrawn, which is sampling by
    // popularity without replacement. The cap keeps a quarter of the catalog's weight undrawn.
    let mut drawn_by = vec![u32::MAX; shape.movies];
    let rows = counts
        .iter()
        .enumerate()
        .map(|(user, &count)| {
            let mut row = Vec::with_capacity(count);
            while row.len() < count {
                let item = by_rank[rng.sample(&popularity)];
                if drawn_by[item as usize] != user as u32 {
                    drawn_by[item as usize] = user as u32;
                    row.push((ItemIndex(item), THUMBS_SHARES[rng.sample(&thumbs)].0));
                }
            }
            row
        })
        .collect();
    Interactions {
        num_items: shape.movies,
        user_ids: (1..=shape.users as u32).collect(),
        rows,
    }
}

/// Ratings per user: `MIN_USER_RATINGS` plus a log-normal share of the rest, capped at a
/// quarter of the catalog; they sum to `shape.ratings`.
fn activity(shape: SyntheticShape, rng: &mut StdRng) -> Vec<usize> {
    let cap = shape.movies / 4;
    assert!(
        MIN_USER_RATINGS * shape.users <= shape.ratings && shape.ratings <= cap * shape.users,
        "{shape:?}: expected {MIN_USER_RATINGS}–{cap} ratings per user"
    );
    let spread = LogNormal::new(0.0, ACTIVITY_SIGMA).expect("σ should be positive");
    let raw: Vec<f64> = (0..shape.users).map(|_| rng.sample(spread)).collect();
    let scale = (shape.ratings - MIN_USER_RATINGS * shape.users) as f64 / raw.iter().sum::<f64>();
    let mut counts: Vec<usize> = raw
        .iter()
        .map(|r| (MIN_USER_RATINGS + (r * scale) as usize).min(cap))
        .collect();
    // What rounding down and the cap left: one more rating each to users under the cap.
    let mut left = shape.ratings - counts.iter().sum::<usize>();
    while left > 0 {
        for count in counts.iter_mut().filter(|c| **c < cap).take(left) {
            *count += 1;
            left -= 1;
        }
    }
    counts
}

/// Content rows in the real layout's column order: standardised numbers (none missing), one
/// language (the first, English in the real layout, for 70 %), coin-flip flags, 1–3 genres and
/// a unit-length text embedding. `rating_counts` feeds the genres' crowd shares.
fn content(movies: usize, rating_counts: &[f32], rng: &mut StdRng) -> ContentMatrix {
    let text = seeded_unit_rows(movies, EMBEDDING_DIM, rng.random());
    let mut values = Vec::with_capacity(movies * CONTENT_DIM);
    let mut genres = Vec::with_capacity(movies);
    for text_row in text.chunks_exact(EMBEDDING_DIM) {
        values.extend((0..NUMERIC.len()).map(|_| rng.sample::<f32, _>(StandardNormal)));
        values.extend([0.0; NUMERIC.len()]);
        let language = if rng.random_bool(0.7) {
            0
        } else {
            rng.random_range(1..=TOP_LANGUAGES)
        };
        values.extend((0..=TOP_LANGUAGES).map(|l| f32::from(l == language)));
        values.extend((0..FLAGS.len()).map(|_| f32::from(rng.random_bool(0.5))));
        let count = rng.random_range(1..=3);
        let names = GENRES.iter().copied().sample(rng, count);
        values.extend(GENRES.iter().map(|g| f32::from(names.contains(g))));
        values.extend_from_slice(text_row);
        genres.push(names);
    }
    ContentMatrix {
        values,
        dim: CONTENT_DIM,
        genres: Genres::new(&genres, rating_counts),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// 100 ratings per user, 2 % of the catalog (ml-latest-small: 165, 1.7 %).
    const SHAPE: SyntheticShape = SyntheticShape {
        ratings: 20_000,
        users: 200,
        movies: 5_000,
    };

    #[test]
    fn a_seed_gives_the_same_data_and_another_seed_other_data() {
        let (a, content_a) = generate(SHAPE, 7);
        let (b, content_b) = generate(SHAPE, 7);
        assert_eq!(a, b);
        assert_eq!(content_a.values, content_b.values);
        let (c, _) = generate(SHAPE, 8);
        assert_ne!(a, c);
    }

    #[test]
    fn counts_are_as_asked_with_at_least_20_ratings_per_user_and_no_repeats() {
        let (data, content) = generate(SHAPE, 1);
        assert_eq!(data.num_ratings(), SHAPE.ratings);
        assert_eq!(data.num_users(), SHAPE.users);
        assert_eq!(data.num_items, SHAPE.movies);
        assert_eq!(content.values.len(), SHAPE.movies * CONTENT_DIM);
        assert_eq!(content.genres.len(), SHAPE.movies);
        for (user, row) in data.iter() {
            assert!(row.len() >= MIN_USER_RATINGS, "user {user}: {}", row.len());
            let items: HashSet<_> = row.iter().map(|(item, _)| *item).collect();
            assert_eq!(items.len(), row.len(), "user {user} rated a movie twice");
        }
    }

    #[test]
    fn popularity_and_activity_are_long_tailed() {
        let (data, _) = generate(SHAPE, 3);
        let mut per_movie = data.rating_counts();
        per_movie.sort_by(|a, b| b.total_cmp(a));
        // ml-latest-small: the top 10 % of movies hold 60 % of the ratings.
        let top: f32 = per_movie[..SHAPE.movies / 10].iter().sum();
        let share = top / SHAPE.ratings as f32;
        assert!((0.5..0.75).contains(&share), "top 10 % of movies: {share}");
        let mut per_user: Vec<usize> = data.rows.iter().map(Vec::len).collect();
        per_user.sort_unstable();
        let median = per_user[per_user.len() / 2] as f64;
        let mean = SHAPE.ratings as f64 / SHAPE.users as f64;
        assert!(median < 0.8 * mean, "median {median}, mean {mean}");
    }

    #[test]
    fn the_text_part_is_unit_length_and_each_movie_has_a_genre() {
        let (_, content) = generate(SHAPE, 5);
        let genres = CONTENT_DIM - EMBEDDING_DIM - GENRES.len()..CONTENT_DIM - EMBEDDING_DIM;
        for row in content.values.chunks_exact(CONTENT_DIM) {
            let text = &row[CONTENT_DIM - EMBEDDING_DIM..];
            let norm = text.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{norm}");
            let count = row[genres.clone()].iter().sum::<f32>();
            assert!((1.0..=3.0).contains(&count), "{count} genres");
        }
    }
}
