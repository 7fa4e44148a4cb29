//! The native pipeline's stages after `prepare`: `train` (two-tower on the train users, early
//! stopping on validation visitors carved from them; then the shipped model on every user for
//! as many epochs), `evaluate` (the two-tower model and the baselines on `thumbs-v1`, from the
//! same run, plus personas, random visitor splits and the accuracy/variety trade-off) and
//! `export`. Paths and outputs follow the design: `models/`,
//! `data/processed/movie_embeddings.parquet`, `metrics/`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, Int32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::engine::model::TwoTowerModel;
use crate::engine::score::{Genres, RankingConfig, ranking_table, reason};
use crate::engine::{ItemIndex, MovieId};
use crate::pipeline::add_movies::{ColdStart, NEIGHBOURS, NEW_BIAS, NewBias, gather_rows};
use crate::pipeline::data::content::FeatureLayout;
use crate::pipeline::data::movielens::{DataError, Rating, Tag, read_tags};
use crate::pipeline::data::prepare::{
    LAYOUT_FILE, MOVIES_TABLE, RATINGS_TABLE, read_layout, write_file_atomic, write_json,
};
use crate::pipeline::data::split::{
    GIVEN_COUNTS, Interactions, Split, VisitorCase, read_visitor_ids,
};
use crate::pipeline::data::tables::{
    MovieFeatures, read_movies_table, read_ratings_table, write_atomic,
};
use crate::pipeline::eval::cold_start::{
    self, ColdStartReport, ColdStartResult, content_only_scores, evaluate_cold_start,
    held_out_rows, random_scores, without_items,
};
use crate::pipeline::eval::personas::{mean_share, persona_lists, persona_shares, personas};
use crate::pipeline::eval::protocol::{
    BaselineConfigs, ProtocolCases, baselines_on_visitors, fit_baselines, run_baselines,
};
use crate::pipeline::eval::tradeoff::{TradeoffPoint, tradeoff_svg};
use crate::pipeline::eval::{
    EvalError, MethodReport, Report, SplitSpread, VisitorResult, VisitorScorer, WarmResult,
    evaluate_visitors, evaluate_warm,
};
use crate::pipeline::train::config::DataCounts;
use crate::pipeline::train::plot::training_curves_svg;
use crate::pipeline::train::{
    ContentMatrix, EpochRecord, Trained, TrainingConfig, TwoTowerVisitor, TwoTowerWarm,
    carve_validation, item_vectors, train,
};

/// Where the stages read and write.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `prepare`'s output folder.
    pub processed: PathBuf,
    /// The `thumbs-v1` test-visitor list.
    pub visitors: PathBuf,
    /// MovieLens `tags.csv`: the `has_user_tags` flag of a split counts its train users' tags.
    pub tags: PathBuf,
    /// The evaluated model (train users of `thumbs-v1`); the shipped one is in [`SHIPPED_DIR`].
    pub models: PathBuf,
    pub metrics: PathBuf,
}

impl Paths {
    /// The default layout, reading MovieLens and the split list from `data_dir`.
    pub fn defaults(data_dir: &Path) -> Self {
        Self {
            processed: "data/processed".into(),
            visitors: data_dir.join("splits/thumbs-v1-visitors.txt"),
            tags: data_dir.join("ml-latest-small/tags.csv"),
            models: "models".into(),
            metrics: "metrics".into(),
        }
    }
}

/// The folder under `models/` of the model trained on every user, which `export` ships.
pub const SHIPPED_DIR: &str = "shipped";

/// Seeds of the random visitor splits `evaluate` repeats the visitor protocol over.
pub const SPLIT_SEEDS: [u64; 3] = [1, 2, 3];

/// Everything `prepare` wrote, before any split.
pub struct Prepared {
    pub ratings: Vec<Rating>,
    pub layout: FeatureLayout,
    movies: HashMap<MovieId, MovieFeatures>,
    tags: Vec<Tag>,
    /// The `has_user_tags` column of the content vector.
    tag_column: usize,
}

/// The prepared data joined to one split's catalog.
pub struct Inputs {
    pub split: Split,
    pub layout: FeatureLayout,
    /// Catalog order.
    pub movies: Vec<MovieFeatures>,
    pub content: ContentMatrix,
}

impl Inputs {
    /// Each catalog item's genres, in catalog order.
    pub fn genres(&self) -> Vec<Vec<String>> {
        self.movies.iter().map(|m| m.genres.clone()).collect()
    }
}

/// Reads `prepare`'s tables and MovieLens's tags.
pub fn load_prepared(paths: &Paths) -> anyhow::Result<Prepared> {
    let layout = read_layout(&paths.processed.join(LAYOUT_FILE))
        .context("run `movie-genie prepare` first")?;
    let ratings = read_ratings_table(&paths.processed.join(RATINGS_TABLE))?;
    let movies = read_movies_table(&paths.processed.join(MOVIES_TABLE), &layout)?
        .into_iter()
        .map(|m| (m.movie_id, m))
        .collect();
    let tags = read_tags(&paths.tags)?;
    let column = "flag_has_user_tags";
    let tag_column = layout
        .columns
        .iter()
        .position(|c| c == column)
        .with_context(|| {
            format!("{LAYOUT_FILE} has no column `{column}`: re-run `movie-genie prepare`")
        })?;
    Ok(Prepared {
        ratings,
        layout,
        movies,
        tags,
        tag_column,
    })
}

impl Prepared {
    /// The inputs of the split with `test_visitors` held out (none: every user trains). The
    /// `has_user_tags` flag counts only the train users' tags, so no test visitor's tag tells
    /// the model which movies they watched.
    pub fn inputs(&self, test_visitors: &BTreeSet<u32>) -> anyhow::Result<Inputs> {
        let split = Split::new(&self.ratings, test_visitors)?;
        let tagged: HashSet<MovieId> = self
            .tags
            .iter()
            .filter(|t| !test_visitors.contains(&t.user_id))
            .map(|t| t.movie_id)
            .collect();
        let mut movies = Vec::with_capacity(split.catalog.len());
        for id in split.catalog.movie_ids() {
            match self.movies.get(id) {
                Some(m) => {
                    let mut m = m.clone();
                    m.features[self.tag_column] = f32::from(tagged.contains(id));
                    movies.push(m);
                }
                None => bail!(DataError::Other(format!(
                    "movie {id} is rated but has no row in {MOVIES_TABLE}"
                ))),
            }
        }
        let content = ContentMatrix {
            values: movies
                .iter()
                .flat_map(|m| m.features.iter().copied())
                .collect(),
            dim: self.layout.dim,
            genres: Genres::new(
                &movies.iter().map(|m| m.genres.clone()).collect::<Vec<_>>(),
                &split.train_interactions().rating_counts(),
            ),
        };
        Ok(Inputs {
            split,
            layout: self.layout.clone(),
            movies,
            content,
        })
    }

    /// A random visitor split: `floor(0.2 · #users)` users, seeded shuffle of the sorted ids.
    pub fn random_visitors(&self, seed: u64) -> BTreeSet<u32> {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let mut users: Vec<u32> = self
            .ratings
            .iter()
            .map(|r| r.user_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        users.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let count = users.len() / 5;
        users[..count].iter().copied().collect()
    }
}

/// The `thumbs-v1` inputs: the published test visitors held out.
pub fn load_inputs(paths: &Paths) -> anyhow::Result<(Prepared, Inputs)> {
    let prepared = load_prepared(paths)?;
    let inputs = prepared.inputs(&read_visitor_ids(&paths.visitors)?)?;
    Ok((prepared, inputs))
}

/// The data counts the model config is filled with.
pub fn counts(inputs: &Inputs, num_users: usize) -> DataCounts {
    DataCounts {
        num_users,
        num_items: inputs.split.catalog.len(),
        content_dim: inputs.layout.dim,
    }
}

/// What `train` writes to `metrics/two_tower_metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainMetrics {
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub seconds_total: f64,
    pub seconds_per_epoch: f64,
    pub train_users: usize,
    pub validation_visitors: usize,
    pub positives: usize,
    pub history: Vec<EpochRecord>,
    /// The shipped model: every user, `best_epoch` epochs.
    #[serde(default)]
    pub shipped_users: usize,
    #[serde(default)]
    pub shipped_seconds: f64,
}

/// Trains on `interactions`, carving validation visitors from them as the config says.
pub fn fit(
    config: &TrainingConfig,
    inputs: &Inputs,
    interactions: &Interactions,
    device: &Device,
) -> (Trained, TrainMetrics) {
    let (kept, valid) = carve_validation(
        interactions,
        config.validation_fraction,
        config.validation_k,
        config.seed,
    );
    let mut config = config.clone();
    config.model.num_users = kept.num_users();
    config.model.num_items = interactions.num_items;
    let start = Instant::now();
    let trained = train(&config, &kept, &inputs.content, &valid, device);
    let seconds_total = start.elapsed().as_secs_f64();
    let metrics = TrainMetrics {
        best_epoch: trained.best_epoch,
        epochs_run: trained.history.len(),
        seconds_total,
        seconds_per_epoch: trained.history.iter().map(|r| r.seconds).sum::<f64>()
            / trained.history.len() as f64,
        train_users: kept.num_users(),
        validation_visitors: valid.len(),
        positives: kept
            .rows
            .iter()
            .flatten()
            .filter(|(_, t)| t.is_positive())
            .count(),
        history: trained.history.clone(),
        shipped_users: 0,
        shipped_seconds: 0.0,
    };
    (trained, metrics)
}

/// Saves a model with its exact config and user ids in `dir`.
fn save_model(dir: &Path, config: &TrainingConfig, trained: &Trained) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut saved_config = config.clone();
    saved_config.model.num_users = trained.user_ids.len();
    write_json(&dir.join("training_config.json"), &saved_config)?;
    write_json(&dir.join("user_ids.json"), &trained.user_ids)?;
    trained
        .model
        .clone()
        .save_file(dir.join("two_tower.bpk"))
        .map_err(|e| anyhow::anyhow!("saving the model: {e:?}"))
}

/// The `train` stage: fits the evaluated model on the `thumbs-v1` train users (early stopping
/// on validation visitors carved from them), then the shipped model on every MovieLens user
/// for the epochs validation chose (for the site, the test visitors are just more data).
pub fn train_stage(
    config: &TrainingConfig,
    prepared: &Prepared,
    inputs: &Inputs,
    paths: &Paths,
    device: &Device,
) -> anyhow::Result<TrainMetrics> {
    let interactions = inputs.split.train_interactions();
    let (trained, mut metrics) = fit(config, inputs, &interactions, device);
    save_model(&paths.models, config, &trained)?;
    write_item_embeddings(
        &paths.processed.join("movie_embeddings.parquet"),
        inputs,
        &trained,
    )?;
    write_file_atomic(
        &paths.metrics.join("training_curves.svg"),
        training_curves_svg(&metrics.history).as_bytes(),
    )?;

    let everyone = prepared.inputs(&BTreeSet::new())?;
    let all = everyone.split.train_interactions();
    let mut shipped_config = config.clone();
    shipped_config.num_epochs = trained.best_epoch;
    shipped_config.model.num_users = all.num_users();
    shipped_config.model.num_items = all.num_items;
    eprintln!(
        "the shipped model: {} users, {} epochs",
        all.num_users(),
        trained.best_epoch
    );
    let start = Instant::now();
    let shipped = train(&shipped_config, &all, &everyone.content, &[], device);
    metrics.shipped_users = all.num_users();
    metrics.shipped_seconds = start.elapsed().as_secs_f64();
    save_model(&paths.models.join(SHIPPED_DIR), &shipped_config, &shipped)?;
    write_json(&paths.metrics.join("two_tower_metrics.json"), &metrics)?;
    Ok(metrics)
}

/// `movie_embeddings.parquet`: movieId, the item vector and the item bias.
fn write_item_embeddings(path: &Path, inputs: &Inputs, trained: &Trained) -> Result<(), DataError> {
    let dim = trained.items.dim as i32;
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let schema = Schema::new(vec![
        Field::new("movieId", DataType::Int32, false),
        Field::new(
            "embedding",
            DataType::FixedSizeList(item.clone(), dim),
            false,
        ),
        Field::new("bias", DataType::Float32, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(
            inputs.movies.iter().map(|m| m.movie_id.0 as i32),
        )),
        Arc::new(
            FixedSizeListArray::try_new(
                item,
                dim,
                Arc::new(Float32Array::from(trained.items.vectors.clone())),
                None,
            )
            .map_err(|e| DataError::Other(e.to_string()))?,
        ),
        Arc::new(Float32Array::from(trained.items.bias.clone())),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns)
        .map_err(|e| DataError::Other(e.to_string()))?;
    write_atomic(path, &batch)
}

/// Loads the model saved in `dir` for the catalog of `inputs`.
pub fn load_trained(
    dir: &Path,
    inputs: &Inputs,
    device: &Device,
) -> anyhow::Result<(Trained, TrainingConfig)> {
    let config_path = dir.join("training_config.json");
    let config: TrainingConfig =
        serde_json::from_str(&std::fs::read_to_string(&config_path).with_context(|| {
            format!("{}: run `movie-genie train` first", config_path.display())
        })?)
        .with_context(|| format!("{} is not a training config", config_path.display()))?;
    if config.model.num_items != inputs.split.catalog.len()
        || config.model.content_dim != inputs.layout.dim
    {
        bail!(
            "{}: the model was trained for {} items × {} features, the data has {} × {}; retrain",
            config_path.display(),
            config.model.num_items,
            config.model.content_dim,
            inputs.split.catalog.len(),
            inputs.layout.dim
        );
    }
    let user_ids: Vec<u32> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("user_ids.json"))?)?;
    let model: TwoTowerModel = config
        .model
        .init(device)
        .try_load_file(dir.join("two_tower.bpk"))
        .map_err(|e| anyhow::anyhow!("loading {}: {e:?}", dir.join("two_tower.bpk").display()))?;
    let items = item_vectors(&model, &inputs.content, inputs.split.catalog.len());
    let trained = Trained {
        model,
        items,
        history: Vec::new(),
        best_epoch: 0,
        user_ids,
    };
    Ok((trained, config))
}

/// A two-tower scorer over visitor vectors personalised once ([`CachedVisitors::personalise`]),
/// so one fine-tuning per visitor serves every ranking setting of a sweep.
pub struct CachedVisitors<'a> {
    pub scorer: &'a TwoTowerVisitor,
    pub vectors: &'a HashMap<(u32, usize), Vec<f32>>,
}

impl CachedVisitors<'_> {
    /// Every case's visitor vector, keyed by user and number of given ratings.
    pub fn personalise(
        scorer: &TwoTowerVisitor,
        cases: &[VisitorCase],
    ) -> HashMap<(u32, usize), Vec<f32>> {
        cases
            .iter()
            .map(|c| ((c.user_id, c.given.len()), scorer.user_vector(&c.given)))
            .collect()
    }
}

impl VisitorScorer for CachedVisitors<'_> {
    fn name(&self) -> String {
        self.scorer.name()
    }

    fn score_visitor(&self, given: &[(ItemIndex, crate::engine::Thumbs)]) -> Vec<f32> {
        self.scorer.score_visitor(given)
    }

    fn score_case(&self, case: &VisitorCase) -> Vec<f32> {
        match self.vectors.get(&(case.user_id, case.given.len())) {
            Some(user) => self.scorer.score_vector(user, &case.given),
            None => self.scorer.score_visitor(&case.given),
        }
    }
}

/// The popularity weights the trade-off curve visits.
pub const TRADEOFF_WEIGHTS: [f64; 11] = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0];

/// The accuracy/variety trade-off on the evaluated model's validation visitors (k = its
/// `validation_k`): the two-tower at every popularity weight and the baselines fitted on the
/// same remaining train users. Never touches the test visitors.
pub fn tradeoff(
    trained: &Trained,
    config: &TrainingConfig,
    inputs: &Inputs,
    k_at: usize,
    device: &Device,
) -> Result<Vec<TradeoffPoint>, EvalError> {
    let (kept, valid) = carve_validation(
        &inputs.split.train_interactions(),
        config.validation_fraction,
        config.validation_k,
        config.seed,
    );
    let n = inputs.split.catalog.len();
    let genres = inputs.genres();
    let validation_personas = personas(&genres, &kept);
    let point = |label: String, beta: Option<f64>, scorer: &dyn VisitorScorer| {
        let m = evaluate_visitors(scorer, &valid, n, k_at)?;
        let lists = persona_lists(scorer, &validation_personas, k_at);
        let share = mean_share(&persona_shares(&validation_personas, &lists, &genres, k_at));
        Ok::<_, EvalError>(TradeoffPoint {
            label,
            popularity_weight: beta,
            ndcg: m.ndcg,
            coverage: m.coverage,
            persona_share: share,
        })
    };
    let mut points = Vec::new();
    let mut scorer = TwoTowerVisitor::of(&trained, &inputs.content.genres, config, device);
    let vectors = CachedVisitors::personalise(&scorer, &valid);
    for beta in TRADEOFF_WEIGHTS {
        scorer = scorer.with_ranking(RankingConfig {
            popularity_weight: beta,
            ..config.ranking.clone()
        });
        let cached = CachedVisitors {
            scorer: &scorer,
            vectors: &vectors,
        };
        points.push(point(format!("β {beta}"), Some(beta), &cached)?);
    }
    for model in fit_baselines(&kept, &BaselineConfigs::default())? {
        points.push(point(model.name(), None, model.as_ref())?);
    }
    Ok(points)
}

/// The `evaluate` stage: the trained model on the visitor protocol, a model of the same config
/// trained on the warm split for the warm protocol, and the four baselines, in one report; the
/// personas for every method; the visitor protocol again over [`SPLIT_SEEDS`] random splits;
/// and the trade-off curve on validation visitors (`metrics/tradeoff.svg`).
pub fn evaluate_stage(
    prepared: &Prepared,
    inputs: &Inputs,
    paths: &Paths,
    k_at: usize,
    device: &Device,
) -> anyhow::Result<Report> {
    let cases = ProtocolCases::new(&inputs.split, inputs.genres());
    let (trained, config) = load_trained(&paths.models, inputs, device)?;
    let config = &config;
    let visitor_scorer = TwoTowerVisitor::of(&trained, &inputs.content.genres, config, device);
    let start = Instant::now();
    let (visitor, persona_results) = cases.evaluate_visitors(&visitor_scorer, k_at)?;
    for r in &visitor {
        eprintln!(
            "two-tower, visitor k = {}: ndcg@{k_at} {:.4}, coverage@{k_at} {:.4}",
            r.given, r.metrics.ndcg, r.metrics.coverage
        );
    }
    eprintln!(
        "two-tower: visitors and personas in {:.1} s; persona share {:.3}",
        start.elapsed().as_secs_f64(),
        mean_share(&persona_results)
    );
    let named_reason_share = named_reasons(&visitor_scorer, &cases, config, k_at);

    eprintln!("training a model of the same config on the warm split");
    let start = Instant::now();
    let (warm_trained, _) = fit(config, inputs, &cases.warm.train, device);
    let warm_fit_seconds = start.elapsed().as_secs_f64();
    let warm_metrics = evaluate_warm(
        &TwoTowerWarm::new(&warm_trained, &inputs.content.genres, config, device),
        &cases.warm.cases,
        cases.catalog_len,
        k_at,
    )?;
    let train_metrics: Option<TrainMetrics> =
        std::fs::read_to_string(paths.metrics.join("two_tower_metrics.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let mut report = run_baselines(&cases, &BaselineConfigs::default(), k_at, |m| {
        eprintln!("{} done", m.name);
    })?;
    report.methods.insert(
        0,
        MethodReport {
            name: "two-tower".into(),
            settings: format!(
                "loss {:?}, τ {}, output {}, personalise {} steps lr {}, popularity weight {}, genre weight {}",
                config.loss,
                config.model.temperature,
                config.model.output_dim,
                config.personalize.steps,
                config.personalize.learning_rate,
                config.ranking.popularity_weight,
                config.ranking.genre_weight
            ),
            fit_seconds: train_metrics.map_or(0.0, |m| m.seconds_total),
            visitor,
            warm: Some(WarmResult {
                metrics: warm_metrics,
                fit_seconds: warm_fit_seconds,
            }),
            personas: persona_results,
        },
    );
    report.named_reason_share = Some(named_reason_share);

    // The same protocol over random visitor splits: is the ranking of methods a property of
    // the one published split?
    let mut per_method: Vec<(String, Vec<Vec<VisitorResult>>)> = Vec::new();
    for seed in SPLIT_SEEDS {
        let split_inputs = prepared.inputs(&prepared.random_visitors(seed))?;
        let split_cases = ProtocolCases::new(&split_inputs.split, Vec::new());
        let start = Instant::now();
        let (split_trained, _) = fit(config, &split_inputs, &split_cases.train, device);
        let scorer =
            TwoTowerVisitor::of(&split_trained, &split_inputs.content.genres, config, device);
        let mut results = vec![(
            "two-tower".to_string(),
            split_cases.evaluate_visitors(&scorer, k_at)?.0,
        )];
        results.extend(baselines_on_visitors(
            &split_cases,
            &BaselineConfigs::default(),
            k_at,
        )?);
        eprintln!(
            "split seed {seed}: {} in {:.0} s",
            results
                .iter()
                .map(|(name, r)| format!("{name} {:.4}", r[1].metrics.ndcg))
                .collect::<Vec<_>>()
                .join(", "),
            start.elapsed().as_secs_f64()
        );
        for (name, r) in results {
            match per_method.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => all.push(r),
                None => per_method.push((name, vec![r])),
            }
        }
    }
    report.split_seeds = SPLIT_SEEDS.to_vec();
    report.robustness = per_method
        .iter()
        .flat_map(|(name, all)| SplitSpread::summarise(name, all))
        .collect();

    report.cold_start = Some(cold_start(config, inputs, &cases, k_at, device));

    let points = tradeoff(&trained, config, inputs, k_at, device)?;
    write_json(&paths.metrics.join("tradeoff.json"), &points)?;
    write_file_atomic(
        &paths.metrics.join("tradeoff.svg"),
        tradeoff_svg(
            &points,
            config.ranking.popularity_weight,
            &format!(
                "validation visitors (k = {}): two-tower by popularity weight β, baselines",
                config.validation_k
            ),
        )
        .as_bytes(),
    )?;

    write_json(&paths.metrics.join("evaluation.json"), &report)?;
    write_file_atomic(
        &paths.metrics.join("evaluation.md"),
        report.to_markdown().as_bytes(),
    )?;
    Ok(report)
}

/// The cold-start protocol (`eval::cold_start`) on the test visitors given 10 ratings.
fn cold_start(
    config: &TrainingConfig,
    inputs: &Inputs,
    cases: &ProtocolCases,
    k_at: usize,
    device: &Device,
) -> ColdStartReport {
    let held = held_out_rows(cases.catalog_len);
    let given = &cases.visitors[1];
    ColdStartReport {
        held_out_movies: held.len(),
        catalog_len: cases.catalog_len,
        seed: cold_start::SEED,
        given: given.k,
        k_at,
        results: cold_start_results(
            config,
            inputs,
            &cases.train,
            &given.cases,
            &held,
            &[(NEIGHBOURS, NEW_BIAS), (0, NewBias::Median)],
            k_at,
            device,
        ),
    }
}

/// A model trained on `train` without any rating of the `held` movies, those movies given
/// vectors from content alone (`ColdStart`, under each rule: how many trained neighbours
/// lend what), against a content-only recommender and a random ordering, on `cases`.
#[allow(clippy::too_many_arguments)]
pub fn cold_start_results(
    config: &TrainingConfig,
    inputs: &Inputs,
    train: &Interactions,
    cases: &[VisitorCase],
    held: &HashSet<usize>,
    rules: &[(usize, NewBias)],
    k_at: usize,
    device: &Device,
) -> Vec<ColdStartResult> {
    let catalog_len = train.num_items;
    eprintln!("cold start: training without {} movies", held.len());
    let (trained, _) = fit(config, inputs, &without_items(train, held), device);
    let kept: Vec<usize> = (0..catalog_len).filter(|r| !held.contains(r)).collect();
    let content = &inputs.content;
    let mut held_rows: Vec<usize> = held.iter().copied().collect();
    held_rows.sort_unstable();
    let held_content = gather_rows(&content.values, content.dim, &held_rows);
    let genres = inputs.genres();
    let held_genres: Vec<Vec<String>> = held_rows.iter().map(|&r| genres[r].clone()).collect();
    let kept_genres: Vec<Vec<String>> = kept.iter().map(|&r| genres[r].clone()).collect();
    let model = trained.model.valid();
    let mut results = Vec::new();
    for &(n, new_bias) in rules {
        let cold = ColdStart::of(
            &trained.model,
            &content.values,
            content.dim,
            &kept,
            n,
            new_bias,
        );
        let vectors = cold.vectors(
            &model.item.mlp,
            &held_content,
            content.dim,
            &held_genres,
            &kept_genres,
            &model.item.embedding.weight.val().device(),
        );
        let mut items = trained.items.clone();
        for (j, &r) in held_rows.iter().enumerate() {
            let dim = items.dim;
            items.vectors[r * dim..(r + 1) * dim].copy_from_slice(vectors.row(j));
            items.bias[r] = vectors.bias[j];
        }
        let scorer = TwoTowerVisitor::new(
            &trained.model,
            items,
            content.genres.clone(),
            config.personalize.clone(),
            config.ranking.clone(),
            device,
        );
        let bias = match new_bias {
            NewBias::Median => "median bias",
            NewBias::Neighbours => "their bias",
        };
        let name = match n {
            0 => "two-tower (held-out movies: mean id, median bias)".to_string(),
            n => format!("two-tower (held-out movies: ids of {n} nearest, {bias})"),
        };
        results.push(evaluate_cold_start(
            &name,
            |_, g| scorer.score_visitor(g),
            cases,
            held,
            k_at,
        ));
    }
    let text = inputs
        .layout
        .group("text_embedding")
        .expect("the layout has the text embedding");
    let overviews: Vec<f32> = content
        .values
        .chunks_exact(content.dim)
        .flat_map(|row| row[text.start..text.start + text.len].iter().copied())
        .collect();
    results.extend([
        evaluate_cold_start(
            "content only (overview cosine)",
            |_, g| content_only_scores(&overviews, text.len, g),
            cases,
            held,
            k_at,
        ),
        evaluate_cold_start(
            "random",
            |visitor, _| random_scores(catalog_len, visitor),
            cases,
            held,
            k_at,
        ),
    ]);
    for r in &results {
        eprintln!(
            "cold start, {}: held-out recall@{k_at} {:.4}, ndcg@{k_at} {:.4}; overall ndcg {:.4}",
            r.method, r.held_out_recall, r.held_out_ndcg, r.overall_ndcg
        );
    }
    results
}

/// The share of the personas' recommendations whose reason names a liked movie.
fn named_reasons(
    scorer: &TwoTowerVisitor,
    cases: &ProtocolCases,
    config: &TrainingConfig,
    k_at: usize,
) -> f64 {
    let lists = persona_lists(scorer, &cases.personas, k_at);
    let (mut named, mut total) = (0usize, 0usize);
    for (persona, list) in cases.personas.iter().zip(&lists) {
        let liked: Vec<ItemIndex> = persona.given.iter().map(|(i, _)| *i).collect();
        for &item in list {
            total += 1;
            let because = reason(
                scorer.items(),
                scorer.genres(),
                item,
                &liked,
                config.ranking.reason_min_cosine,
            );
            named += usize::from(because.is_some());
        }
    }
    named as f64 / total.max(1) as f64
}

/// Attribution shown with every bundle (MovieLens usage licence, TMDB terms).
pub const ATTRIBUTION: &str = "Ratings: MovieLens ml-latest-small, F. Maxwell Harper and Joseph A. Konstan. 2015. \
The MovieLens Datasets: History and Context. ACM TiiS 5, 4. GroupLens Research, University of Minnesota (research use; no endorsement implied).\n\
Movie metadata: This product uses the TMDB API but is not endorsed or certified by TMDB.";

/// What `export` measured, written to `metrics/bundle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportReport {
    pub path: String,
    pub bytes: u64,
    pub movies: usize,
    pub table_dim: usize,
    pub chosen: String,
    /// (label, items-section bytes, mean top-20 overlap with the float ranking).
    pub candidates: Vec<(String, usize, f64)>,
    /// Bytes of each section.
    pub sections: Vec<(String, u64)>,
    /// Validation-visitor queries the overlap was measured on.
    pub queries: usize,
    /// What `add-movies` reads beside the bundle (never fetched by the page).
    pub item_tower: String,
    pub item_tower_bytes: u64,
}

/// The `export` stage: the trained user tower, the compressed item table, the catalog and the
/// attribution in one bundle at `out`, with the smallest table that keeps top-20 overlap ≥
/// `min_overlap`; the item tower `add-movies` needs at `tower_out`; and the catalog merged into
/// the movie-id registry at `movie_ids`, whose ids the catalog keeps (`MovieIds::renumber`).
pub fn export_stage(
    prepared: &Prepared,
    paths: &Paths,
    out: &Path,
    tower_out: &Path,
    movie_ids: &Path,
    min_overlap: f64,
    device: &Device,
) -> anyhow::Result<ExportReport> {
    use crate::engine::bundle::{CatalogEntry, PqConfig};
    use crate::pipeline::add_movies::ItemTowerFile;
    use crate::pipeline::export::{
        compress_smallest, serving_bundle, write_atomic as write_bundle,
    };
    use crate::pipeline::movie_ids::{MovieIds, lock};

    let everyone = prepared.inputs(&BTreeSet::new())?;
    let inputs = &everyone;
    let (trained, config) = load_trained(&paths.models.join(SHIPPED_DIR), inputs, device)?;
    let (table, bias_scale) = ranking_table(&trained.items);
    let dim = trained.items.dim + 1;

    // Queries: validation visitors (carved from the thumbs-v1 train users, as in training) at
    // each k, formed as the browser forms them.
    let visitor = TwoTowerVisitor::of(&trained, &inputs.content.genres, &config, device);
    let test_visitors = read_visitor_ids(&paths.visitors)?;
    let all = inputs.split.train_interactions();
    let (user_ids, rows) = all
        .iter()
        .filter(|(id, _)| !test_visitors.contains(id))
        .map(|(id, row)| (id, row.to_vec()))
        .unzip();
    let train_users = Interactions {
        num_items: all.num_items,
        user_ids,
        rows,
    };
    let mut queries = Vec::new();
    for k in GIVEN_COUNTS {
        let (_, cases) = carve_validation(&train_users, config.validation_fraction, k, config.seed);
        for case in cases {
            let user = visitor.user_vector(&case.given);
            queries.extend(visitor.query(&user));
        }
    }
    let divisors: Vec<usize> = (2..dim).filter(|m| dim % m == 0 && *m <= 32).collect();
    let pq: Vec<PqConfig> = divisors
        .iter()
        .map(|&m| PqConfig {
            m,
            ..PqConfig::default()
        })
        .collect();
    let compression = compress_smallest(&table, dim, &queries, min_overlap, &pq)?;

    let counts = all.rating_counts();
    let mut catalog: Vec<CatalogEntry> = inputs
        .movies
        .iter()
        .zip(&counts)
        .map(|(m, count)| CatalogEntry {
            movie_id: m.movie_id,
            title: m.title.clone(),
            year: m.year,
            genres: m.genres.clone(),
            tmdb_id: m.tmdb_id,
            popularity: *count,
            new: false,
        })
        .collect();
    // Held to the end: an `add-movies` run meanwhile would read the old bundle and registry.
    let _lock = lock(movie_ids)?;
    let mut ids = MovieIds::read(movie_ids)?;
    ids.renumber(&mut catalog, movie_ids, "the exported catalog")?;
    let bundle = serving_bundle(
        &trained.model,
        &config,
        bias_scale,
        compression.table,
        catalog,
        ATTRIBUTION,
    )?;
    // The registry first, as in `add-movies`: an id it holds is never handed to another film.
    ids.write(movie_ids)?;
    let bytes = write_bundle(out, &bundle)?;
    let tower = ItemTowerFile::of(
        &trained.model,
        config.model.item_mlp(),
        &inputs.content.values,
        &inputs.layout,
        &bundle,
    );
    let tower_path = tower_out.to_owned();
    let tower_bytes = tower.to_bytes();
    crate::pipeline::atomic::write_atomic(&tower_path, |f| {
        std::io::Write::write_all(f, &tower_bytes)
    })
    .with_context(|| format!("writing {}", tower_path.display()))?;
    let header = crate::engine::bundle::load::read_header(&std::fs::read(out)?)?.0;
    let report = ExportReport {
        path: out.display().to_string(),
        bytes,
        movies: inputs.movies.len(),
        table_dim: dim,
        chosen: compression.chosen,
        candidates: compression
            .candidates
            .into_iter()
            .map(|c| (c.label, c.bytes, c.overlap))
            .collect(),
        sections: header
            .sections
            .iter()
            .map(|s| (s.name.clone(), s.length))
            .collect(),
        queries: queries.len() / dim,
        item_tower: tower_path.display().to_string(),
        item_tower_bytes: tower_bytes.len() as u64,
    };
    write_json(&paths.metrics.join("bundle.json"), &report)?;
    Ok(report)
}
