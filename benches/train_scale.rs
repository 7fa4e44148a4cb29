//! Training cost as data grows: one epoch on seeded MovieLens-shaped data
//! (`src/pipeline/data/synthetic.rs`) of 100k, 1M or 10M ratings, 100 a user (ML-25M: 153),
//! with `configs/two_tower_config.yaml` and its validation visitors carved out as `train` does.
//! Prints one JSON line: the shape, seconds to generate, to set up (carve and build the
//! Trainer) and for the epoch's batches, peak resident memory (Linux VmHWM) and the threads the
//! machine offers. One size per process, so the peak is that size's:
//!   MOVIE_GENIE_SCALE=100k|1m|10m cargo bench --bench train_scale
//! `cargo test`'s pass (no `--bench`) runs a tiny shape, to check the program works.

use std::time::Instant;

use indicatif::ProgressBar;
use movie_genie::pipeline::data::synthetic::{SyntheticShape, generate};
use movie_genie::pipeline::train::config::DataCounts;
use movie_genie::pipeline::train::{Trainer, TrainingConfig};

/// The sizes by name; the catalog grows from ml-latest-small's ~10k movies to 50k.
const SCALES: [(&str, SyntheticShape); 3] = [
    ("100k", shape(100_000, 1_000, 10_000)),
    ("1m", shape(1_000_000, 10_000, 20_000)),
    ("10m", shape(10_000_000, 100_000, 50_000)),
];
const SEED: u64 = 42;

const fn shape(ratings: usize, users: usize, movies: usize) -> SyntheticShape {
    SyntheticShape {
        ratings,
        users,
        movies,
    }
}

/// This process's peak resident memory in MiB (VmHWM), where /proc has it.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let (name, shape) = if std::env::args().any(|arg| arg == "--bench") {
        let name = std::env::var("MOVIE_GENIE_SCALE").unwrap_or_else(|_| "100k".into());
        match SCALES.iter().find(|(n, _)| *n == name) {
            Some(&scale) => scale,
            None => panic!("MOVIE_GENIE_SCALE: expected 100k, 1m or 10m, got {name:?}"),
        }
    } else {
        ("test", shape(2_000, 50, 500))
    };

    let start = Instant::now();
    let (interactions, content) = generate(shape, SEED);
    let generate_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let counts = DataCounts {
        num_users: interactions.num_users(),
        num_items: interactions.num_items,
        content_dim: content.dim,
    };
    let mut config = TrainingConfig::load("configs/two_tower_config.yaml".as_ref(), counts)
        .expect("configs/two_tower_config.yaml should load");
    let (kept, _) = config.carve_validation(&interactions);
    drop(interactions);
    let device = movie_genie::engine::cpu_device();
    let mut trainer = Trainer::new(&config, &kept, &content, &device);
    let setup_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let loss = trainer.epoch(&ProgressBar::hidden());
    let epoch_s = start.elapsed().as_secs_f64();

    let line = serde_json::json!({
        "scale": name,
        "ratings": shape.ratings,
        "users": shape.users,
        "movies": shape.movies,
        "train_users": kept.num_users(),
        "positives": trainer.positives(),
        "batch_size": config.batch_size,
        "generate_s": generate_s,
        "setup_s": setup_s,
        "epoch_s": epoch_s,
        "loss": loss,
        "peak_mib": peak_mib(),
        "threads": movie_genie::pipeline::train::training_threads(),
    });
    println!("{line}");
}
