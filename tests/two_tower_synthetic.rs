//! End to end on a small synthetic world with planted structure: users belong to one of four
//! taste groups and like the movies of their group, while a few movies are popular with
//! everyone. Training plus personalisation must beat most-popular on the visitor protocol, and
//! `evaluate`'s scorer must rank exactly as the browser's recommender does on the exported bundle.

use std::collections::BTreeSet;

use movie_genie::engine::bundle::CatalogEntry;
use movie_genie::engine::recommender::Recommender;
use movie_genie::engine::score::Genres;
use movie_genie::engine::{ItemIndex, MovieId, Thumbs};
use movie_genie::pipeline::data::movielens::Rating;
use movie_genie::pipeline::data::split::{Interactions, Split};
use movie_genie::pipeline::eval::baselines::MostPopular;
use movie_genie::pipeline::eval::two_tower::{TwoTowerVisitor, validation_ndcg};
use movie_genie::pipeline::eval::{VisitorScorer, evaluate_visitors, top_k};
use movie_genie::pipeline::export::serving_bundle;
use movie_genie::pipeline::train::config::DataCounts;
use movie_genie::pipeline::train::visitor::train_encoder;
use movie_genie::pipeline::train::{
    ContentMatrix, Trained, TrainingConfig, carve_validation, train,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const GROUPS: usize = 4;
const MOVIES_PER_GROUP: usize = 15;
const POPULAR: usize = 4;
const USERS: u32 = 120;

/// Movie `m` belongs to group `m % GROUPS`; the last `POPULAR` movies are liked by everyone.
/// The ratings, the content (with the genres and rating counts as `evaluate` reads them), and
/// those genres and counts per movie for the bundle's catalog.
fn world() -> (Vec<Rating>, ContentMatrix, Vec<Vec<String>>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(7);
    let movies = GROUPS * MOVIES_PER_GROUP + POPULAR;
    let mut ratings = Vec::new();
    for user in 1..=USERS {
        let group = user as usize % GROUPS;
        let mut time = 1_000 * user as i64;
        let mut rated = BTreeSet::new();
        // Interleave: popular movies and own-group movies liked, other groups' movies disliked.
        while rated.len() < 24 {
            let m = rng.random_range(0..movies);
            if !rated.insert(m) {
                continue;
            }
            let thumbs = if m >= GROUPS * MOVIES_PER_GROUP {
                if rng.random_bool(0.5) {
                    Thumbs::Up
                } else {
                    Thumbs::Down
                }
            } else if m % GROUPS == group {
                if rng.random_bool(0.5) {
                    Thumbs::DoubleUp
                } else {
                    Thumbs::Up
                }
            } else if rng.random_bool(0.7) {
                continue; // most users never watch other groups' movies
            } else {
                Thumbs::Down
            };
            time += 1;
            let stars = match thumbs {
                Thumbs::Down => 2.0,
                Thumbs::Up => 3.5,
                Thumbs::DoubleUp => 5.0,
            };
            ratings.push(Rating {
                user_id: user,
                movie_id: MovieId(m as u32 + 1),
                stars,
                thumbs,
                timestamp: time,
            });
        }
    }
    // Genres name the groups, so the genre term and the reasons have something to read.
    let names: Vec<Vec<String>> = (0..movies)
        .map(|m| match m < GROUPS * MOVIES_PER_GROUP {
            true => vec![format!("Group {}", m % GROUPS)],
            false => vec!["Popular".to_string()],
        })
        .collect();
    let mut counts = vec![0f32; movies];
    for r in &ratings {
        counts[r.movie_id.0 as usize - 1] += 1.0;
    }
    // Content: a noisy one-hot of the group, so the item tower can generalise.
    let mut values = Vec::new();
    for m in 0..movies {
        for g in 0..=GROUPS {
            let on = (m < GROUPS * MOVIES_PER_GROUP && m % GROUPS == g)
                || (m >= GROUPS * MOVIES_PER_GROUP && g == GROUPS);
            values.push(if on { 1.0 } else { 0.0 } + rng.random_range(-0.1..0.1));
        }
    }
    (
        ratings,
        ContentMatrix {
            values,
            dim: GROUPS + 1,
            genres: Genres::new(&names, &counts),
        },
        names,
        counts,
    )
}

/// A two-tower model trained on the world, with what `evaluate` scores it by.
struct TrainedWorld {
    split: Split,
    interactions: Interactions,
    scorer: TwoTowerVisitor,
    trained: Trained,
    config: TrainingConfig,
    names: Vec<Vec<String>>,
    counts: Vec<f32>,
}

fn trained_world() -> TrainedWorld {
    let (ratings, content, names, counts) = world();
    let visitors: BTreeSet<u32> = (1..=USERS).filter(|u| u % 5 == 0).collect();
    let split = Split::new(&ratings, &visitors).unwrap();
    // Every movie is rated by some train user, so the catalog is the whole world.
    assert_eq!(split.catalog.len(), content.values.len() / content.dim);
    let interactions = split.train_interactions();
    let mut config = TrainingConfig::defaults(DataCounts {
        num_users: interactions.num_users(),
        num_items: split.catalog.len(),
        content_dim: content.dim,
    });
    config.num_epochs = 12;
    config.patience = 12;
    config.batch_size = 128;
    config.model.output_dim = 16;
    config.model.user_hidden = vec![16];
    config.model.item_hidden = vec![32];
    config.model.dropout = 0.0;
    config.learning_rate = 0.01;
    config.personalize.sampled_negatives = 16;
    config.ranking.genre_weight = 6.0;
    config.ranking.reason_min_cosine = 0.5;
    let (kept, valid) = carve_validation(&interactions, 0.1, 5, config.seed);
    config.model.num_users = kept.num_users();
    let device = movie_genie::engine::cpu_device();
    let mut trained = {
        let validate = validation_ndcg(&valid, &content.genres, &config, &device);
        train(&config, &kept, &content, Some(&validate), &device)
    };
    // Visitors get the encoder reading their thumbs, as the shipped model's do.
    config.encoder = config.encoder.with_hidden(vec![16]).with_num_epochs(15);
    let (encoder, _) = train_encoder(
        &config.encoder,
        &kept,
        &trained.items,
        config.model.temperature,
        &device,
        None,
    );
    trained.encoder = Some(encoder);
    // Training must have lowered its loss.
    let first = trained.history.first().unwrap().train_loss;
    let best = trained
        .history
        .iter()
        .map(|r| r.train_loss)
        .fold(f64::INFINITY, f64::min);
    assert!(best < 0.9 * first, "loss {first} → {best}");

    let scorer = TwoTowerVisitor::new(
        &trained.visitor_tower(&config),
        config.model.temperature,
        &trained.items,
        content.genres.clone(),
        config.ranking.clone(),
        &device,
    );
    TrainedWorld {
        split,
        interactions,
        scorer,
        trained,
        config,
        names,
        counts,
    }
}

#[test]
fn two_tower_beats_most_popular_on_planted_tastes() {
    let TrainedWorld {
        split,
        interactions,
        scorer,
        ..
    } = trained_world();
    let cases = split.visitor_cases(5);
    assert!(cases.cases.len() >= 20, "{} visitors", cases.cases.len());
    let two_tower = evaluate_visitors(&scorer, &cases.cases, split.catalog.len(), 10).unwrap();
    let popular = evaluate_visitors(
        &MostPopular::fit(&interactions),
        &cases.cases,
        split.catalog.len(),
        10,
    )
    .unwrap();
    assert!(
        two_tower.ndcg > popular.ndcg + 0.05,
        "two-tower ndcg@10 {:.4} should beat most-popular {:.4}",
        two_tower.ndcg,
        popular.ndcg
    );
}

/// For fixed sets of thumbs, the browser's recommender on the exported bundle gives the top 20
/// `evaluate`'s scorer gives, in the same order, with the same scores.
#[test]
fn evaluate_ranks_as_the_browser_does_on_the_exported_bundle() {
    let world = trained_world();
    let ranker = world.scorer.ranker();
    let movie_ids = world.split.catalog.movie_ids();
    let catalog = movie_ids
        .iter()
        .map(|&movie_id| {
            let m = movie_id.0 as usize - 1;
            CatalogEntry {
                movie_id,
                title: format!("Movie {m}"),
                year: None,
                genres: world.names[m].clone(),
                tmdb_id: None,
                popularity: world.counts[m],
                new: false,
            }
        })
        .collect();
    let bundle = serving_bundle(
        &world.trained.visitor_tower(&world.config),
        &world.config,
        ranker.space().bias_scale,
        ranker.table().clone(),
        catalog,
        "synthetic",
    )
    .unwrap();
    let device = movie_genie::engine::cpu_device();
    let mut browser = Recommender::from_bundle(bundle, &device).unwrap();

    let cases = world.split.visitor_cases(5).cases;
    let (mut checked, mut named) = (0, 0);
    for case in cases.iter().take(12) {
        let ratings: Vec<(MovieId, Thumbs)> = case
            .given
            .iter()
            .map(|(i, t)| (movie_ids[i.0 as usize], *t))
            .collect();
        assert!(browser.restore(&ratings).is_empty());
        let shown = pollster::block_on(browser.recommend(20)).unwrap();

        let scores = world.scorer.score_visitor(&case.given);
        let exclude: Vec<ItemIndex> = case.given.iter().map(|(i, _)| *i).collect();
        let top = top_k(&scores, 20, &exclude);
        let want: Vec<MovieId> = top.iter().map(|i| movie_ids[i.0 as usize]).collect();
        let got: Vec<MovieId> = shown.iter().map(|r| r.movie_id).collect();
        assert_eq!(got, want, "visitor {}'s top 20", case.user_id);
        for (r, i) in shown.iter().zip(&top) {
            let gap = (r.score - scores[i.0 as usize]).abs();
            assert!(
                gap < 1e-4,
                "movie {}: {} vs {}",
                r.movie_id,
                r.score,
                scores[i.0 as usize]
            );
        }
        // Every named reason is a liked movie of a shared genre.
        for r in &shown {
            if let Some(liked) = r.because_movie_id {
                assert!(
                    ratings.contains(&(liked, Thumbs::DoubleUp))
                        || ratings.contains(&(liked, Thumbs::Up))
                );
                let genres = &world.names[liked.0 as usize - 1];
                assert!(r.genres.iter().any(|g| genres.contains(g)), "{r:?}");
                named += 1;
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} visitors");
    assert!(named > 0, "no list named a liked movie");
}
