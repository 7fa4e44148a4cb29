//! Chooses how many trained movies lend a new movie their id embeddings, and whether they lend
//! their bias too (`add_movies::NEIGHBOURS`, `NEW_BIAS`; 0 is the mean id alone), on the
//! validation visitors carved from the train users, never on the test visitors: the
//! cold-start protocol (`eval::cold_start`) with a tenth of the catalog held out, at each
//! setting, beside the content-only recommender and a random order.
//!
//! `cargo run --example tune_cold_start -- [neighbours …]` (default 0 3 5 10).

use std::path::PathBuf;

use movie_genie::pipeline::add_movies::NewBias;
use movie_genie::pipeline::eval::K_AT;
use movie_genie::pipeline::eval::cold_start::held_out_rows;
use movie_genie::pipeline::stages::Paths;
use movie_genie::pipeline::stages::evaluate::cold_start_results;
use movie_genie::pipeline::stages::inputs::{counts, load_inputs};
use movie_genie::pipeline::train::{TrainingConfig, carve_validation};

fn main() -> anyhow::Result<()> {
    let settings: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<usize>::is_empty(&v) => v,
        Ok(_) => vec![0, 3, 5, 10],
        Err(e) => anyhow::bail!("expected neighbour counts such as 10: {e}"),
    };
    let data = PathBuf::from(
        std::env::var("MOVIE_GENIE_DATA").unwrap_or_else(|_| "../shared/data".into()),
    );
    let (_, inputs) = load_inputs(&Paths::defaults(&data))?;
    let device = movie_genie::engine::cpu_device();
    let config = TrainingConfig::load(
        "configs/two_tower_config.yaml".as_ref(),
        counts(&inputs, inputs.split.train_users.len()),
    )?;
    let train = inputs.split.train_interactions();
    let (kept, valid) = carve_validation(&train, config.validation_fraction, 10, config.seed);
    let held = held_out_rows(train.num_items);
    println!(
        "{} validation visitors given 10 ratings; {} of {} movies held out",
        valid.len(),
        held.len(),
        train.num_items
    );
    let rules: Vec<(usize, NewBias)> = settings
        .iter()
        .flat_map(|&n| [(n, NewBias::Median), (n, NewBias::Neighbours)])
        .filter(|&(n, b)| n > 0 || b == NewBias::Median)
        .collect();
    let results = cold_start_results(
        &config, &inputs, &kept, &valid, &held, &rules, K_AT, &device,
    );
    for r in results {
        println!(
            "{:<55} held-out recall@{K_AT} {:.4} ndcg@{K_AT} {:.4} ({} visitors); overall ndcg@{K_AT} {:.4}",
            r.method, r.held_out_recall, r.held_out_ndcg, r.visitors_with_held_out, r.overall_ndcg
        );
    }
    Ok(())
}
