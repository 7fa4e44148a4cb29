//! Searches how a visitor is fitted and ranked — the prior's pull (`personalize.prior_weight`),
//! the genre term (`ranking.genre_weight`) and the popularity weight
//! (`ranking.popularity_weight`) — on the validation visitors carved from the train users,
//! never on the test visitors: ndcg@20 and coverage@20 at k = 5, 10, 20 given ratings, and the
//! one-genre and mixed personas' figures (`eval::tuning`), with EASE's beside them.
//!
//! `cargo run --example tune_visitor -- [models_dir]` (default `models`).

use std::collections::HashMap;

use movie_genie::engine::personalize::ItemVectors;
use movie_genie::engine::score::RankingConfig;
use movie_genie::pipeline::eval::baselines::{Ease, EaseConfig};
use movie_genie::pipeline::eval::tuning::Tuning;
use movie_genie::pipeline::eval::two_tower::TwoTowerVisitor;
use movie_genie::pipeline::stages::evaluate::CachedVisitors;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// For choosing `ranking.reason_min_cosine`: how often two movies share a genre, by the cosine
/// of their vectors, over seeded random pairs, and the cosine percentiles of random pairs.
fn reason_threshold(items: &ItemVectors, genres: &[Vec<String>]) {
    let mut rng = StdRng::seed_from_u64(7);
    let n = items.len();
    let mut pairs: Vec<(f32, bool)> = (0..200_000)
        .map(|_| {
            let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
            let cos = items
                .row(a)
                .iter()
                .zip(items.row(b))
                .map(|(x, y)| x * y)
                .sum();
            (cos, genres[a].iter().any(|g| genres[b].contains(g)))
        })
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |q: f64| pairs[((pairs.len() - 1) as f64 * q) as usize].0;
    println!(
        "random pairs' cosine: median {:.3}, p90 {:.3}, p95 {:.3}, p99 {:.3}",
        at(0.5),
        at(0.9),
        at(0.95),
        at(0.99)
    );
    for lo in [-0.2f32, 0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] {
        let bin: Vec<&(f32, bool)> = pairs
            .iter()
            .filter(|(c, _)| *c >= lo && *c < lo + 0.1)
            .collect();
        let shared = bin.iter().filter(|(_, s)| *s).count();
        println!(
            "cosine {lo:.1}–{:.1}: {} pairs, {:.0} % share a genre",
            lo + 0.1,
            bin.len(),
            100.0 * shared as f64 / bin.len().max(1) as f64
        );
    }
}

fn main() -> anyhow::Result<()> {
    let run = Tuning::from_args()?;
    let validation = run.validation();
    let (trained, config) = (&run.trained, &run.config);
    reason_threshold(&trained.items, &run.inputs.genres());
    let ease = Ease::fit(&validation.kept, EaseConfig::default())?;
    println!("EASE:{}", validation.figures(&ease)?);

    for prior_weight in [10.0, 3.0] {
        let mut tower = trained.visitor_tower(config);
        tower.personalize.prior_weight = prior_weight;
        let mut scorer = TwoTowerVisitor::new(
            &tower,
            config.model.temperature,
            &trained.items,
            run.inputs.content.genres.clone(),
            config.ranking.clone(),
            &run.device,
        );
        // One fine-tuning per visitor serves every ranking setting: the cache is keyed by user
        // and number of given ratings, so one map holds every given count's visitors.
        let vectors: HashMap<_, _> = validation
            .visitors
            .iter()
            .flat_map(|cases| CachedVisitors::personalise(&scorer, cases))
            .collect();
        let grid = [0.0, 4.0, 5.0, 6.0, 8.0]
            .into_iter()
            .flat_map(|g| [1.0, 0.75, 0.5, 0.25, 0.0].map(|p| (g, p)));
        for (genre_weight, popularity_weight) in grid {
            scorer = scorer.with_ranking(RankingConfig {
                popularity_weight,
                genre_weight,
                ..config.ranking.clone()
            });
            let cached = CachedVisitors {
                scorer: &scorer,
                vectors: &vectors,
            };
            println!(
                "prior {prior_weight:<4} genre {genre_weight:<4} popularity {popularity_weight:<4}:{}",
                validation.figures(&cached)?
            );
        }
    }
    Ok(())
}
