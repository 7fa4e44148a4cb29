//! Chooses `id_dropout` (how often training hides a movie's id so the item tower learns to
//! place a movie from content alone) on the validation visitors carved from the train users,
//! never on the test visitors: the cold-start protocol (`eval::cold_start`) with a tenth of the
//! catalog held out, at each setting, beside the content-only recommender and a random order.
//!
//! `cargo run --example tune_cold_start -- [id_dropout …]` (default 0 0.25 0.5).

use std::path::PathBuf;

use burn::tensor::Device;
use movie_genie::pipeline::eval::K_AT;
use movie_genie::pipeline::eval::cold_start::held_out_rows;
use movie_genie::pipeline::stages::{Paths, cold_start_results, counts, load_inputs};
use movie_genie::pipeline::train::{TrainingConfig, carve_validation};

fn main() -> anyhow::Result<()> {
    let settings: Vec<f64> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<f64>::is_empty(&v) => v,
        Ok(_) => vec![0.0, 0.25, 0.5],
        Err(e) => anyhow::bail!("expected id_dropout values such as 0.25: {e}"),
    };
    let data = PathBuf::from(
        std::env::var("MOVIE_GENIE_DATA").unwrap_or_else(|_| "../shared/data".into()),
    );
    let (_, inputs) = load_inputs(&Paths::defaults(&data))?;
    #[allow(deprecated)]
    let device = Device::ndarray();
    let base = TrainingConfig::load(
        "configs/two_tower_config.yaml".as_ref(),
        counts(&inputs, inputs.split.train_users.len()),
    )?;
    let train = inputs.split.train_interactions();
    let (kept, valid) = carve_validation(&train, base.validation_fraction, 10, base.seed);
    let held = held_out_rows(train.num_items);
    println!(
        "{} validation visitors given 10 ratings; {} of {} movies held out",
        valid.len(),
        held.len(),
        train.num_items
    );
    for id_dropout in settings {
        let config = TrainingConfig {
            id_dropout,
            ..base.clone()
        };
        for r in cold_start_results(&config, &inputs, &kept, &valid, &held, K_AT, &device) {
            println!(
                "id_dropout {id_dropout:<5} {:<55} held-out recall@{K_AT} {:.4} ndcg@{K_AT} {:.4} ({} visitors); overall ndcg@{K_AT} {:.4}",
                r.method,
                r.held_out_recall,
                r.held_out_ndcg,
                r.visitors_with_held_out,
                r.overall_ndcg
            );
        }
    }
    Ok(())
}
