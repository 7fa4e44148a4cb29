//! End to end on a small synthetic world with planted structure: users belong to one of four
//! taste groups and like the movies of their group, while a few movies are popular with
//! everyone. Training plus personalisation must beat most-popular on the visitor protocol.

use std::collections::BTreeSet;

use movie_genie::engine::score::Genres;
use movie_genie::engine::{MovieId, Thumbs};
use movie_genie::pipeline::data::movielens::Rating;
use movie_genie::pipeline::data::split::Split;
use movie_genie::pipeline::eval::baselines::MostPopular;
use movie_genie::pipeline::eval::evaluate_visitors;
use movie_genie::pipeline::train::config::DataCounts;
use movie_genie::pipeline::train::{
    ContentMatrix, TrainingConfig, TwoTowerVisitor, carve_validation, train,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const GROUPS: usize = 4;
const MOVIES_PER_GROUP: usize = 15;
const POPULAR: usize = 4;
const USERS: u32 = 120;

/// Movie `m` belongs to group `m % GROUPS`; the last `POPULAR` movies are liked by everyone.
fn world() -> (Vec<Rating>, ContentMatrix) {
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
            genres: Genres::new(&vec![Vec::<String>::new(); movies], &[]),
        },
    )
}

#[test]
fn two_tower_beats_most_popular_on_planted_tastes() {
    let (ratings, content) = world();
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
    let (kept, valid) = carve_validation(&interactions, 0.1, 5, config.seed);
    config.model.num_users = kept.num_users();
    let device = movie_genie::engine::cpu_device();
    let trained = train(&config, &kept, &content, &valid, &device);
    // Training must have lowered its loss.
    let first = trained.history.first().unwrap().train_loss;
    let best = trained
        .history
        .iter()
        .map(|r| r.train_loss)
        .fold(f64::INFINITY, f64::min);
    assert!(best < 0.9 * first, "loss {first} → {best}");

    let cases = split.visitor_cases(5);
    assert!(cases.cases.len() >= 20, "{} visitors", cases.cases.len());
    let scorer = TwoTowerVisitor::new(
        &trained.model,
        trained.items.clone(),
        content.genres.clone(),
        config.personalize.clone(),
        config.ranking.clone(),
        &device,
    );
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
