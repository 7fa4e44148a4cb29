//! `movie-genie`: the native pipeline's command line (prepare → train → evaluate → export).
// The pipeline is native only; for wasm32 (built by `cargo test --target wasm32-unknown-unknown
// --test web`, which builds every binary) this crate is empty.
#![cfg_attr(target_arch = "wasm32", no_main)]
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::future::Future;

use movie_genie::engine::bundle::Bundle;
use movie_genie::engine::describe::SearchData;
use movie_genie::engine::recommender::Recommender;
use movie_genie::engine::{MovieId, Thumbs, cpu_device};
use movie_genie::pipeline::add_movies::{AddMoviesPaths, ITEM_TOWER_FILE, add_movies_file};
use movie_genie::pipeline::data::embed::{self, SentenceEmbedder};
use movie_genie::pipeline::data::prepare::{PrepareConfig, PrepareOutcome, prepare, write_json};
use movie_genie::pipeline::eval::K_AT;
use movie_genie::pipeline::movie_ids::{MOVIE_IDS_FILE, register_bundle};
use movie_genie::pipeline::stages::Paths;
use movie_genie::pipeline::stages::evaluate::evaluate_stage;
use movie_genie::pipeline::stages::export::export_stage;
use movie_genie::pipeline::stages::inputs::{counts, load_inputs, load_prepared};
use movie_genie::pipeline::stages::search::{search_markdown, search_stage, search_table};
use movie_genie::pipeline::stages::train::train_stage;
use movie_genie::pipeline::train::TrainingConfig;

/// Where the page's bundle and search data are.
const BUNDLE_FILE: &str = "www/assets/movie-genie.bundle";
const SEARCH_FILE: &str = "www/assets/movie-genie.search";

#[derive(Parser)]
#[command(
    name = "movie-genie",
    version,
    about = "Train, evaluate and export the Movie Genie recommender"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Turn MovieLens ratings and TMDB metadata into the thumbs table and the per-movie
    /// content features (with overview embeddings); a no-op when nothing changed.
    Prepare(PrepareArgs),
    /// Train the two-tower model on the train users of `thumbs-v1` (burn, CPU), with early
    /// stopping on validation visitors carved from them, then the shipped model on every user
    /// for as many epochs; writes models/ (the shipped one in models/shipped/) and metrics/.
    Train(TrainArgs),
    /// Evaluate the trained model and the baselines (most-popular, item-kNN, EASE, ALS) on
    /// `thumbs-v1`, both protocols, with genre personas and three random visitor splits, in
    /// metrics/evaluation.md and .json; the accuracy/variety trade-off on validation visitors
    /// in metrics/tradeoff.svg and .json.
    Evaluate(EvaluateArgs),
    /// Write the site's model bundle: the user tower, the compressed movie-embedding table
    /// (the smallest that keeps top-20 overlap with the float ranking) and the catalog.
    Export(ExportArgs),
    /// Write the "describe a movie" search data for the exported bundle's catalog: a static
    /// query encoder distilled from the sentence model and each movie's vector in its space.
    SearchData(SearchDataArgs),
    /// Rank the bundle's movies for a description, as the page's "describe a movie" box does,
    /// optionally blended with a visitor's thumbs.
    Describe(DescribeArgs),
    /// Append new movies (The Movies Dataset's movies_metadata.csv schema) to a bundle without
    /// retraining: their content features as `prepare` computes them, their vectors from the
    /// item tower `export` wrote; marked new in the catalog. Each film's movie id comes from
    /// the movie-id registry (its registered id, or a new one from 1,000,000,000 up), which
    /// records it.
    AddMovies(AddMoviesArgs),
    /// Record a bundle's catalog (TMDB id → movie id) in the movie-id registry, creating it when
    /// missing (export and add-movies do this themselves; this is for a bundle that predates
    /// the registry).
    RegisterIds(RegisterIdsArgs),
}

#[derive(Args)]
struct RegisterIdsArgs {
    /// The bundle whose catalog to record.
    #[arg(long, default_value = "www/assets/movie-genie.bundle")]
    bundle: PathBuf,
    /// The movie-id registry.
    #[arg(long, default_value = MOVIE_IDS_FILE)]
    movie_ids: PathBuf,
}

#[derive(Args)]
struct AddMoviesArgs {
    /// The new movies: a CSV with movies_metadata.csv's columns (id, title, release_date,
    /// genres, overview, original_language, budget, revenue, runtime, popularity, vote_average,
    /// vote_count, adult, belongs_to_collection, tagline, homepage).
    movies: PathBuf,
    /// The bundle to add to.
    #[arg(long, default_value = "www/assets/movie-genie.bundle")]
    bundle: PathBuf,
    /// Where the new bundle goes [default: over --bundle].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The item tower `export` wrote with that bundle.
    #[arg(long, default_value = ITEM_TOWER_FILE)]
    item_tower: PathBuf,
    /// The movie-id registry: TMDB id → movie id of every film the site has had (created from
    /// the bundle's catalog when missing).
    #[arg(long, default_value = MOVIE_IDS_FILE)]
    movie_ids: PathBuf,
    /// The sentence model folder (all-MiniLM-L6-v2), as for `prepare`.
    #[arg(
        long,
        env = embed::MODEL_DIR_VAR,
        default_value = embed::MODEL_DIR
    )]
    model: PathBuf,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// The bundle file to write.
    #[arg(long, default_value = BUNDLE_FILE)]
    out: PathBuf,
    /// The item tower file `add-movies` reads (not part of the site).
    #[arg(long, default_value = ITEM_TOWER_FILE)]
    item_tower: PathBuf,
    /// The movie-id registry the catalog is merged into, and whose ids it keeps.
    #[arg(long, default_value = MOVIE_IDS_FILE)]
    movie_ids: PathBuf,
    /// Least mean top-20 overlap (over validation visitors) the compressed table must keep.
    #[arg(long, default_value_t = 0.98)]
    min_overlap: f64,
}

#[derive(Args)]
struct EvaluateArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// Only the "describe a movie" table: held-out MovieLens tags as queries, the shipped
    /// search beside BM25, the sentence model and popularity (metrics/search.md).
    #[arg(long)]
    search: bool,
    /// The sentence-transformers model folder (also the env var MOVIE_GENIE_MODEL).
    #[arg(long, env = embed::MODEL_DIR_VAR, default_value = embed::MODEL_DIR)]
    model: PathBuf,
    /// Where the distilled word pieces are cached.
    #[arg(long, default_value = "data/cache")]
    cache_dir: PathBuf,
}

#[derive(Args)]
struct SearchDataArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// The exported bundle whose catalog the search data covers.
    #[arg(long, default_value = BUNDLE_FILE)]
    bundle: PathBuf,
    /// The search data file to write.
    #[arg(long, default_value = SEARCH_FILE)]
    out: PathBuf,
    /// The sentence-transformers model folder (also the env var MOVIE_GENIE_MODEL).
    #[arg(long, env = embed::MODEL_DIR_VAR, default_value = embed::MODEL_DIR)]
    model: PathBuf,
    /// Where the distilled word pieces are cached.
    #[arg(long, default_value = "data/cache")]
    cache_dir: PathBuf,
}

#[derive(Args)]
struct DescribeArgs {
    /// What the visitor feels like, in English ("a heist with a twist").
    text: String,
    /// The visitor's thumbs, `movieId:thumbs` with thumbs -1, 1 or 2, comma-separated.
    #[arg(long, default_value = "")]
    thumbs: String,
    /// How much of the score comes from the visitor's taste: 0 the description alone, 1 the
    /// taste alone.
    #[arg(long, default_value_t = 0.0)]
    taste: f64,
    /// How many movies to list.
    #[arg(short, default_value_t = 20)]
    k: usize,
    #[arg(long, default_value = BUNDLE_FILE)]
    bundle: PathBuf,
    #[arg(long, default_value = SEARCH_FILE)]
    search: PathBuf,
}

#[derive(Args)]
struct StageArgs {
    /// `prepare`'s output folder.
    #[arg(long, default_value = "data/processed")]
    processed_dir: PathBuf,
    /// The thumbs-v1 test-visitor list [default: DATA_DIR/splits/thumbs-v1-visitors.txt].
    #[arg(long)]
    visitors: Option<PathBuf>,
    /// Folder holding `splits/` (also the env var MOVIE_GENIE_DATA).
    #[arg(long, env = "MOVIE_GENIE_DATA", default_value = "../shared/data")]
    data_dir: PathBuf,
    /// Where the trained model goes.
    #[arg(long, default_value = "models")]
    models_dir: PathBuf,
    /// Where metrics and plots go.
    #[arg(long, default_value = "metrics")]
    metrics_dir: PathBuf,
}

impl StageArgs {
    fn paths(&self) -> Paths {
        let defaults = Paths::defaults(&self.data_dir);
        Paths {
            processed: self.processed_dir.clone(),
            visitors: self.visitors.clone().unwrap_or(defaults.visitors),
            models: self.models_dir.clone(),
            metrics: self.metrics_dir.clone(),
            ..defaults
        }
    }
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// Hyper-parameters (YAML over the built-in defaults; counts come from the data).
    #[arg(long, default_value = "configs/two_tower_config.yaml")]
    config: PathBuf,
}

#[derive(Args)]
struct PrepareArgs {
    /// Folder holding `ml-latest-small/` and `tmdb/` (also the env var MOVIE_GENIE_DATA).
    #[arg(long, env = "MOVIE_GENIE_DATA", default_value = "../shared/data")]
    data_dir: PathBuf,
    /// MovieLens ratings.csv [default: DATA_DIR/ml-latest-small/ratings.csv]
    #[arg(long)]
    ratings: Option<PathBuf>,
    /// MovieLens movies.csv [default: DATA_DIR/ml-latest-small/movies.csv]
    #[arg(long)]
    movies: Option<PathBuf>,
    /// MovieLens links.csv [default: DATA_DIR/ml-latest-small/links.csv]
    #[arg(long)]
    links: Option<PathBuf>,
    /// MovieLens tags.csv [default: DATA_DIR/ml-latest-small/tags.csv]
    #[arg(long)]
    tags: Option<PathBuf>,
    /// TMDB metadata in The Movies Dataset's movies_metadata.csv schema
    /// [default: DATA_DIR/tmdb/movies_metadata.csv]
    #[arg(long)]
    tmdb: Option<PathBuf>,
    /// The sentence-transformers model folder (safetensors + tokenizer.json).
    #[arg(
        long,
        env = embed::MODEL_DIR_VAR,
        default_value = embed::MODEL_DIR
    )]
    model_dir: PathBuf,
    /// Where the Parquet tables and the feature layout go.
    #[arg(long, default_value = "data/processed")]
    out_dir: PathBuf,
    /// Where computed overview embeddings are cached between runs.
    #[arg(long, default_value = "data/cache")]
    cache_dir: PathBuf,
    /// Texts per forward pass of the sentence model.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Skip TMDB rows that do not parse (with a warning) instead of stopping; the full
    /// Kaggle movies_metadata.csv has a few shifted rows.
    #[arg(long)]
    skip_bad_tmdb_rows: bool,
    /// Recompute even when the outputs are up to date.
    #[arg(long)]
    force: bool,
}

fn run_prepare(args: PrepareArgs) -> anyhow::Result<()> {
    let ml = args.data_dir.join("ml-latest-small");
    let config = PrepareConfig {
        ratings: args.ratings.unwrap_or_else(|| ml.join("ratings.csv")),
        movies: args.movies.unwrap_or_else(|| ml.join("movies.csv")),
        links: args.links.unwrap_or_else(|| ml.join("links.csv")),
        tags: args.tags.unwrap_or_else(|| ml.join("tags.csv")),
        tmdb: args
            .tmdb
            .unwrap_or_else(|| args.data_dir.join("tmdb/movies_metadata.csv")),
        model_dir: args.model_dir,
        out_dir: args.out_dir,
        cache_dir: args.cache_dir,
        batch_size: args.batch_size,
        skip_bad_tmdb_rows: args.skip_bad_tmdb_rows,
        force: args.force,
    };
    let start = Instant::now();
    match prepare(&config).context("prepare failed")? {
        PrepareOutcome::UpToDate => {
            println!(
                "prepare: up to date ({}), nothing to do",
                config.out_dir.display()
            );
        }
        PrepareOutcome::Ran(stats) => {
            println!(
                "prepare: wrote {} in {:.1} s",
                config.out_dir.display(),
                start.elapsed().as_secs_f64()
            );
            println!("{}", serde_json::to_string_pretty(&stats)?);
        }
    }
    Ok(())
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let paths = args.stage.paths();
    let (prepared, inputs) = load_inputs(&paths)?;
    let config = TrainingConfig::load(
        &args.config,
        counts(&inputs, inputs.split.train_users.len()),
    )?;
    let metrics = train_stage(&config, &prepared, &inputs, &paths, &cpu_device())?;
    println!(
        "train: best epoch {} of {}, {:.1} s per epoch, {:.1} s in all; wrote {} and {}",
        metrics.best_epoch,
        metrics.epochs_run,
        metrics.seconds_per_epoch,
        metrics.seconds_total,
        paths.models.display(),
        paths.metrics.display()
    );
    Ok(())
}

fn run_evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let paths = args.stage.paths();
    if args.search {
        let prepared = load_prepared(&paths)?;
        let tmdb = args.stage.data_dir.join("tmdb/movies_metadata.csv");
        let table = search_table(&prepared, &paths, &tmdb, &args.model, &args.cache_dir)?;
        let markdown = search_markdown(&table);
        std::fs::write(paths.metrics.join("search.md"), &markdown)?;
        write_json(&paths.metrics.join("search-evaluation.json"), &table)?;
        println!("{markdown}");
        return Ok(());
    }
    let (prepared, inputs) = load_inputs(&paths)?;
    let report = evaluate_stage(&prepared, &inputs, &paths, K_AT, &cpu_device())?;
    println!("{}", report.to_markdown());
    Ok(())
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let paths = args.stage.paths();
    let prepared = load_prepared(&paths)?;
    let report = export_stage(
        &prepared,
        &paths,
        &args.out,
        &args.item_tower,
        &args.movie_ids,
        args.min_overlap,
        &cpu_device(),
    )?;
    println!(
        "export: wrote {} ({} bytes, table {}), {} ({} bytes) and {}",
        report.path,
        report.bytes,
        report.chosen,
        report.item_tower,
        report.item_tower_bytes,
        args.movie_ids.display()
    );
    for (label, bytes, overlap) in &report.candidates {
        println!("  {label:>8}: items section {bytes} bytes, top-20 overlap {overlap:.4}");
    }
    for (name, bytes) in &report.sections {
        println!("  section {name:>12}: {bytes} bytes");
    }
    Ok(())
}

fn run_add_movies(args: AddMoviesArgs) -> anyhow::Result<()> {
    let embedder = SentenceEmbedder::load(&args.model)?;
    let out = args.out.unwrap_or_else(|| args.bundle.clone());
    let paths = AddMoviesPaths {
        bundle: &args.bundle,
        tower: &args.item_tower,
        movie_ids: &args.movie_ids,
        movies: &args.movies,
        out: &out,
    };
    let (added, bytes) = add_movies_file(
        &paths,
        |texts| embedder.embed(texts).map_err(|e| e.to_string()),
        &cpu_device(),
    )?;
    for m in &added {
        println!(
            "  added movie {} (TMDB {}): {} [{}]",
            m.movie_id,
            m.tmdb_id,
            m.title,
            m.genres.join("|")
        );
    }
    println!(
        "add-movies: wrote {} ({bytes} bytes, {} new movies) and {}",
        out.display(),
        added.len(),
        args.movie_ids.display()
    );
    Ok(())
}

fn run_search_data(args: SearchDataArgs) -> anyhow::Result<()> {
    let paths = args.stage.paths();
    let prepared = load_prepared(&paths)?;
    let tmdb = args.stage.data_dir.join("tmdb/movies_metadata.csv");
    let report = search_stage(
        &prepared,
        &paths,
        &args.bundle,
        &tmdb,
        &args.model,
        &args.cache_dir,
        &args.out,
    )?;
    println!(
        "search-data: wrote {} ({} bytes: {} pieces and {} movies, {}-d)",
        report.path, report.bytes, report.pieces, report.movies, report.dim
    );
    Ok(())
}

fn run_describe(args: DescribeArgs) -> anyhow::Result<()> {
    let read =
        |path: &PathBuf| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let bundle = Bundle::from_bytes(&read(&args.bundle)?)?;
    let search = SearchData::from_bytes(&read(&args.search)?)
        .with_context(|| format!("{}", args.search.display()))?;
    let mut recommender = Recommender::from_bundle(bundle, &cpu_device())?;
    recommender.set_search(search);
    for pair in args
        .thumbs
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (id, thumbs) = pair
            .split_once(':')
            .with_context(|| format!("thumbs: expected movieId:thumbs, got {pair:?}"))?;
        let id: u32 = id
            .trim()
            .parse()
            .with_context(|| format!("thumbs: expected a movie id, got {id:?}"))?;
        let value: i8 = thumbs
            .trim()
            .parse()
            .with_context(|| format!("thumbs: expected -1, 1 or 2, got {thumbs:?}"))?;
        recommender.rate(MovieId(id), Thumbs::try_from(value)?)?;
    }
    if !recommender.ratings().is_empty() {
        // On the CPU the update's future is ready when first polled.
        let mut update = std::pin::pin!(recommender.recommend(1));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match update.as_mut().poll(&mut context) {
            std::task::Poll::Ready(result) => drop(result?),
            std::task::Poll::Pending => anyhow::bail!("the CPU update did not finish at once"),
        }
    }
    match recommender.describe(&args.text, args.taste, args.k)? {
        None => println!("nothing close to {:?}", args.text),
        Some(list) => {
            for (rank, r) in list.iter().enumerate() {
                println!(
                    "{:>3}. {:<50} {:>8.4}  {} ({})",
                    rank + 1,
                    r.label,
                    r.score,
                    r.because.as_deref().unwrap_or(""),
                    r.movie_id
                );
            }
        }
    }
    Ok(())
}

fn run_register_ids(args: RegisterIdsArgs) -> anyhow::Result<()> {
    let (before, after) = register_bundle(&args.bundle, &args.movie_ids)?;
    println!(
        "register-ids: {} holds {after} films ({} from {})",
        args.movie_ids.display(),
        after - before,
        args.bundle.display()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Prepare(args) => run_prepare(args),
        Command::Train(args) => run_train(args),
        Command::Evaluate(args) => run_evaluate(args),
        Command::Export(args) => run_export(args),
        Command::SearchData(args) => run_search_data(args),
        Command::Describe(args) => run_describe(args),
        Command::AddMovies(args) => run_add_movies(args),
        Command::RegisterIds(args) => run_register_ids(args),
    }
}
