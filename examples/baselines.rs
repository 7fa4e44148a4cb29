//! Runs the `thumbs-v1` protocol for the four baselines and prints one Markdown table with timings.
//!
//! `MOVIE_GENIE_DATA` (default `../shared/data`) is the data directory; `MOVIE_GENIE_TUNE=1` first
//! re-runs the hyper-parameter search on validation visitors carved out of the train users and uses
//! its choice; `MOVIE_GENIE_REPORT=path.json` also writes the report as JSON.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use movie_genie::pipeline::data::split::{GIVEN_COUNTS, Split};
use movie_genie::pipeline::eval::K_AT;
use movie_genie::pipeline::eval::protocol::{
    BaselineConfigs, ProtocolCases, describe, run_baselines, tune_baselines,
};

fn main() -> anyhow::Result<()> {
    let data_dir = PathBuf::from(
        std::env::var("MOVIE_GENIE_DATA").unwrap_or_else(|_| "../shared/data".to_string()),
    );
    let start = Instant::now();
    let split = Split::load(&data_dir)
        .with_context(|| format!("loading the thumbs-v1 split from {}", data_dir.display()))?;
    println!(
        "thumbs-v1: {} train users, {} test visitors, catalog of {} movies (loaded in {:.1} s)",
        split.train_users.len(),
        split.test_visitors.len(),
        split.catalog.len(),
        start.elapsed().as_secs_f64()
    );
    for k in GIVEN_COUNTS {
        let cases = split.visitor_cases(k);
        let outside: usize = cases
            .cases
            .iter()
            .map(|c| c.given_outside_catalog.len())
            .sum();
        println!(
            "k = {k}: {} visitors; skipped {} with no later positive, {} with later positives only \
             outside the catalog; {} given and {} later positives outside the catalog",
            cases.cases.len(),
            cases.skipped_no_positive,
            cases.skipped_positives_outside_catalog,
            outside,
            cases.relevant_outside_catalog
        );
    }
    let warm = split.warm();
    println!(
        "warm: {} train users evaluated, {} skipped with no held-out positive",
        warm.cases.len(),
        warm.skipped_no_positive
    );

    let configs = if std::env::var("MOVIE_GENIE_TUNE").is_ok_and(|v| v == "1") {
        let start = Instant::now();
        let (configs, _) = tune_baselines(&split, K_AT, |row| {
            println!(
                "tune {:<9} {:<55} ndcg@{K_AT} {:.4} recall@{K_AT} {:.4} fit {:.1} s",
                row.method, row.settings, row.ndcg, row.recall, row.fit_seconds
            );
        })?;
        println!(
            "tuning took {:.0} s; chosen: {configs:?}",
            start.elapsed().as_secs_f64()
        );
        configs
    } else {
        BaselineConfigs::default()
    };

    let mut last = Instant::now();
    let cases = ProtocolCases::new(&split, Vec::new());
    let report = run_baselines(&cases, &configs, K_AT, |method| {
        println!(
            "{} done: {:.1} s in all (fit {:.1} s, warm fit {:.1} s)",
            method.name,
            last.elapsed().as_secs_f64(),
            method.fit_seconds,
            method.warm.map_or(0.0, |w| w.fit_seconds)
        );
        last = Instant::now();
    })?;
    println!();
    println!("{}", report.to_markdown());
    for (name, settings) in describe(&configs) {
        println!("- {name}: {settings}");
    }
    println!("total {:.0} s", start.elapsed().as_secs_f64());
    if let Ok(path) = std::env::var("MOVIE_GENIE_REPORT") {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, json).with_context(|| format!("writing {path}"))?;
        println!("report written to {path}");
    }
    Ok(())
}
