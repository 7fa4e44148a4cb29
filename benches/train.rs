//! One training epoch on the real data (the batches of `movie-genie train`: sampling, forward,
//! backward and the Adam step over every positive of the train users minus the validation
//! visitors, with `configs/two_tower_config.yaml`). Needs `movie-genie prepare` first; reads
//! MOVIE_GENIE_DATA (default ../shared/data) for the split. Its peer is PyTorch on the same
//! batches: `perf/torch_epoch.py`, run beside it by `perf/run.sh`.
//!
//! An epoch takes seconds, so the sample is the 10 epochs criterion allows at least. Threads:
//! burn-flex's rayon pool, `RAYON_NUM_THREADS` (default every core); the id says how many.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use indicatif::ProgressBar;
use movie_genie::pipeline::stages::Paths;
use movie_genie::pipeline::stages::inputs::{counts, load_inputs};
use movie_genie::pipeline::train::{Trainer, TrainingConfig, training_threads};

fn epoch(c: &mut Criterion) {
    let data = PathBuf::from(
        std::env::var("MOVIE_GENIE_DATA").unwrap_or_else(|_| "../shared/data".into()),
    );
    let paths = Paths::defaults(&data);
    let inputs = match load_inputs(&paths) {
        Ok((_, inputs)) => inputs,
        Err(e) => {
            eprintln!("train bench skipped: {e:#} (run `movie-genie prepare` first)");
            return;
        }
    };
    let interactions = inputs.split.train_interactions();
    let mut config = TrainingConfig::load(
        "configs/two_tower_config.yaml".as_ref(),
        counts(&inputs, inputs.split.train_users.len()),
    )
    .expect("configs/two_tower_config.yaml should load");
    let (kept, _) = config.carve_validation(&interactions);
    let device = movie_genie::engine::cpu_device();
    let mut trainer = Trainer::new(&config, &kept, &inputs.content, &device);
    eprintln!(
        "train bench: {} positives, batch {}, {} negatives each, {:?} loss",
        trainer.positives(),
        config.batch_size,
        config.negatives,
        config.loss
    );
    let mut group = c.benchmark_group("train");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60));
    group.bench_function(format!("epoch/{}", training_threads()), |b| {
        b.iter(|| trainer.epoch(&ProgressBar::hidden()))
    });
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
