//! Grid-searches the visitor fine-tuning (`PersonalizeConfig`) of a trained model on the
//! validation visitors carved from the train users — never on the test visitors.
//!
//! `cargo run --example tune_personalize -- [models_dir]` (default `models`).

use std::path::PathBuf;

use burn::tensor::Device;
use movie_genie::eval::baselines::{Ease, EaseConfig, MostPopular};
use movie_genie::eval::evaluate_visitors;
use movie_genie::pipeline::{Paths, load_inputs, load_trained};
use movie_genie::train::{TwoTowerVisitor, carve_validation};

fn main() -> anyhow::Result<()> {
    let models = std::env::args().nth(1).unwrap_or_else(|| "models".into());
    let data = std::env::var("MOVIE_GENIE_DATA").unwrap_or_else(|_| "../shared/data".into());
    let paths = Paths {
        processed: "data/processed".into(),
        visitors: PathBuf::from(data).join("splits/thumbs-v1-visitors.txt"),
        models: models.into(),
        metrics: "/tmp".into(),
    };
    let inputs = load_inputs(&paths)?;
    #[allow(deprecated)]
    let device = Device::ndarray();
    let (trained, config) = load_trained(&paths, &inputs, &device)?;
    let n = inputs.split.catalog.len();
    let (kept, valid) = carve_validation(
        &inputs.split.train_interactions(),
        config.validation_fraction,
        config.validation_k,
        config.seed,
    );
    let popular = evaluate_visitors(&MostPopular::fit(&kept), &valid, n, 20)?;
    println!(
        "{} validation visitors; most-popular ndcg@20 {:.4}",
        valid.len(),
        popular.ndcg
    );
    let ease = Ease::fit(&kept, EaseConfig::default())?;
    let ease = evaluate_visitors(&ease, &valid, n, 20)?;
    println!("EASE ndcg@20 {:.4}", ease.ndcg);
    // Fewer steps make each browser update cheaper (the cost is per step, not per rating), so
    // the step count is searched together with the learning rate that can make up for it.
    for steps in [10usize, 20, 40] {
        for learning_rate in [0.05, 0.1, 0.2] {
            for prior_weight in [3.0, 10.0] {
                for sampled_negatives in [256usize, 1024] {
                    let mut p = config.personalize.clone();
                    p.steps = steps;
                    p.learning_rate = learning_rate;
                    p.prior_weight = prior_weight;
                    p.downvote_weight = 0.0;
                    p.sampled_negatives = sampled_negatives;
                    let scorer =
                        TwoTowerVisitor::new(&trained.model, trained.items.clone(), p, &device);
                    let m = evaluate_visitors(&scorer, &valid, n, 20)?;
                    println!(
                        "steps {steps:>3} lr {learning_rate:<4} prior {prior_weight:<4} negatives {sampled_negatives:<4} ndcg@20 {:.4} recall@20 {:.4}",
                        m.ndcg, m.recall
                    );
                }
            }
        }
    }
    Ok(())
}
