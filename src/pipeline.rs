//! The native pipeline's stages after `prepare`: `train` (two-tower on the train users, early
//! stopping on validation visitors carved from them) and `evaluate` (the two-tower model and
//! the baselines on `thumbs-v1`, from the same run). Paths and outputs follow the design:
//! `models/`, `data/processed/movie_embeddings.parquet`, `metrics/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, Int32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::data::content::FeatureLayout;
use crate::data::movielens::DataError;
use crate::data::prepare::{
    LAYOUT_FILE, MOVIES_TABLE, RATINGS_TABLE, read_layout, write_file_atomic, write_json,
};
use crate::data::split::{Split, read_visitor_ids};
use crate::data::tables::{MovieFeatures, read_movies_table, read_ratings_table, write_atomic};
use crate::eval::protocol::{BaselineConfigs, ProtocolCases, run_baselines};
use crate::eval::{
    MethodReport, Report, VisitorResult, WarmResult, evaluate_visitors, evaluate_warm,
};
use crate::model::TwoTowerModel;
use crate::train::config::DataCounts;
use crate::train::plot::training_curves_svg;
use crate::train::{
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
    pub models: PathBuf,
    pub metrics: PathBuf,
}

/// The prepared data joined to the split's catalog.
pub struct Inputs {
    pub split: Split,
    pub layout: FeatureLayout,
    /// Catalog order.
    pub movies: Vec<MovieFeatures>,
    pub content: ContentMatrix,
}

/// Reads `prepare`'s tables and builds the `thumbs-v1` split over them.
pub fn load_inputs(paths: &Paths) -> anyhow::Result<Inputs> {
    let layout = read_layout(&paths.processed.join(LAYOUT_FILE))
        .context("run `movie-genie prepare` first")?;
    let ratings = read_ratings_table(&paths.processed.join(RATINGS_TABLE))?;
    let visitors = read_visitor_ids(&paths.visitors)?;
    let split = Split::new(&ratings, &visitors)?;
    let by_id: std::collections::HashMap<_, _> =
        read_movies_table(&paths.processed.join(MOVIES_TABLE), &layout)?
            .into_iter()
            .map(|m| (m.movie_id, m))
            .collect();
    let mut movies = Vec::with_capacity(split.catalog.len());
    for id in split.catalog.movie_ids() {
        match by_id.get(id) {
            Some(m) => movies.push(m.clone()),
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
        dim: layout.dim,
    };
    Ok(Inputs {
        split,
        layout,
        movies,
        content,
    })
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
}

/// Trains on `interactions`, carving validation visitors from them as the config says.
pub fn fit(
    config: &TrainingConfig,
    inputs: &Inputs,
    interactions: &crate::data::split::Interactions,
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
    };
    (trained, metrics)
}

/// The `train` stage: fits the visitor-protocol model on all train users and saves everything.
pub fn train_stage(
    config: &TrainingConfig,
    inputs: &Inputs,
    paths: &Paths,
    device: &Device,
) -> anyhow::Result<TrainMetrics> {
    let interactions = inputs.split.train_interactions();
    let (trained, metrics) = fit(config, inputs, &interactions, device);
    std::fs::create_dir_all(&paths.models)?;
    let mut saved_config = config.clone();
    saved_config.model.num_users = trained.user_ids.len();
    write_json(&paths.models.join("training_config.json"), &saved_config)?;
    write_json(&paths.models.join("user_ids.json"), &trained.user_ids)?;
    trained
        .model
        .clone()
        .save_file(paths.models.join("two_tower.bpk"))
        .map_err(|e| anyhow::anyhow!("saving the model: {e:?}"))?;
    write_item_embeddings(
        &paths.processed.join("movie_embeddings.parquet"),
        inputs,
        &trained,
    )?;
    write_json(&paths.metrics.join("two_tower_metrics.json"), &metrics)?;
    write_file_atomic(
        &paths.metrics.join("training_curves.svg"),
        training_curves_svg(&metrics.history).as_bytes(),
    )?;
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

/// Loads the model `train` saved.
pub fn load_trained(
    paths: &Paths,
    inputs: &Inputs,
    device: &Device,
) -> anyhow::Result<(Trained, TrainingConfig)> {
    let config_path = paths.models.join("training_config.json");
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
    let user_ids: Vec<u32> = serde_json::from_str(&std::fs::read_to_string(
        paths.models.join("user_ids.json"),
    )?)?;
    let model: TwoTowerModel = config
        .model
        .init(device)
        .try_load_file(paths.models.join("two_tower.bpk"))
        .map_err(|e| {
            anyhow::anyhow!(
                "loading {}: {e:?}",
                paths.models.join("two_tower.bpk").display()
            )
        })?;
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

/// The `evaluate` stage: the trained model on the visitor protocol, a model of the same config
/// trained on the warm split for the warm protocol, and the four baselines, in one report.
pub fn evaluate_stage(
    inputs: &Inputs,
    paths: &Paths,
    k_at: usize,
    device: &Device,
) -> anyhow::Result<Report> {
    let cases = ProtocolCases::new(&inputs.split);
    let (trained, config) = load_trained(paths, inputs, device)?;
    let config = &config;
    let visitor_scorer = TwoTowerVisitor::new(
        &trained.model,
        trained.items.clone(),
        config.personalize.clone(),
        device,
    );
    let mut visitor = Vec::new();
    for set in &cases.visitors {
        let start = Instant::now();
        let metrics = evaluate_visitors(&visitor_scorer, &set.cases, cases.catalog_len, k_at)?;
        eprintln!(
            "two-tower, visitor k = {}: ndcg@{k_at} {:.4} ({:.1} ms per visitor)",
            set.k,
            metrics.ndcg,
            start.elapsed().as_secs_f64() * 1e3 / set.cases.len().max(1) as f64
        );
        visitor.push(VisitorResult {
            given: set.k,
            metrics,
        });
    }
    eprintln!("training a model of the same config on the warm split");
    let start = Instant::now();
    let (warm_trained, _) = fit(config, inputs, &cases.warm.train, device);
    let warm_fit_seconds = start.elapsed().as_secs_f64();
    let warm_metrics = evaluate_warm(
        &TwoTowerWarm::new(&warm_trained),
        &cases.warm.cases,
        cases.catalog_len,
        k_at,
    )?;
    let train_metrics: Option<TrainMetrics> =
        std::fs::read_to_string(paths.metrics.join("two_tower_metrics.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let mut report = run_baselines(&inputs.split, &BaselineConfigs::default(), k_at, |m| {
        eprintln!("{} done", m.name);
    })?;
    report.methods.insert(
        0,
        MethodReport {
            name: "two-tower".into(),
            settings: format!(
                "loss {:?}, τ {}, output {}, personalise {} steps lr {}",
                config.loss,
                config.model.temperature,
                config.model.output_dim,
                config.personalize.steps,
                config.personalize.learning_rate
            ),
            fit_seconds: train_metrics.map_or(0.0, |m| m.seconds_total),
            visitor,
            warm: Some(WarmResult {
                metrics: warm_metrics,
                fit_seconds: warm_fit_seconds,
            }),
        },
    );
    write_json(&paths.metrics.join("evaluation.json"), &report)?;
    write_file_atomic(
        &paths.metrics.join("evaluation.md"),
        report.to_markdown().as_bytes(),
    )?;
    Ok(report)
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
    /// Test-visitor queries the overlap was measured on.
    pub queries: usize,
}

/// The bundle's item table in float: `[v ; b / s]` per catalog row, and the bias scale `s`
/// that keeps the bias column within the range of the vector components.
pub fn ranking_table(items: &crate::personalize::ItemVectors) -> (Vec<f32>, f32) {
    let max_bias = items.bias.iter().fold(0.0f32, |m, b| m.max(b.abs()));
    let scale = if max_bias > 0.0 { max_bias / 0.5 } else { 1.0 };
    let mut table = Vec::with_capacity(items.len() * (items.dim + 1));
    for i in 0..items.len() {
        table.extend_from_slice(items.row(i));
        table.push(items.bias[i] / scale);
    }
    (table, scale)
}

/// The `export` stage: the trained user tower, the compressed item table, the catalog and the
/// attribution in one bundle, with the smallest table that keeps top-20 overlap ≥ `min_overlap`.
pub fn export_stage(
    inputs: &Inputs,
    paths: &Paths,
    out: &Path,
    min_overlap: f64,
    device: &Device,
) -> anyhow::Result<ExportReport> {
    use crate::bundle::{
        Bundle, CatalogEntry, NamedTensor, PqConfig, export::write_atomic as write_bundle,
        quantize::compress_smallest,
    };
    use crate::train::user_tower_data;

    let (trained, config) = load_trained(paths, inputs, device)?;
    let (layers, prior) = user_tower_data(&trained.model);
    let mut tensors = Vec::new();
    for (i, (w, b)) in layers.into_iter().enumerate() {
        for (name, data) in [("weight", w), ("bias", b)] {
            let shape: Vec<usize> = data.shape().iter().copied().collect();
            tensors.push(NamedTensor::new(
                format!("user_tower.layers.{i}.{name}"),
                shape,
                data.try_to_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
            )?);
        }
    }
    let prior_values = prior
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    tensors.push(NamedTensor::new(
        "user_tower.prior",
        vec![prior_values.len()],
        prior_values,
    )?);
    let (table, bias_scale) = ranking_table(&trained.items);
    tensors.push(NamedTensor::new(
        "items.bias_scale",
        vec![1],
        vec![bias_scale],
    )?);
    let dim = trained.items.dim + 1;

    // Queries: every test visitor's personalised vector at each k, as the browser would form it.
    let visitor = TwoTowerVisitor::new(
        &trained.model,
        trained.items.clone(),
        config.personalize.clone(),
        device,
    );
    let mut queries = Vec::new();
    for k in crate::data::split::GIVEN_COUNTS {
        for case in inputs.split.visitor_cases(k).cases {
            let user = visitor.user_vector(&case.given);
            queries.extend(user.iter().map(|x| x / config.model.temperature as f32));
            queries.push(bias_scale);
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

    let mut rating_counts = vec![0u32; inputs.split.catalog.len()];
    for (_, row) in inputs.split.train_interactions().iter() {
        for (item, _) in row {
            rating_counts[item.0 as usize] += 1;
        }
    }
    let catalog = inputs
        .movies
        .iter()
        .zip(&rating_counts)
        .map(|(m, count)| CatalogEntry {
            movie_id: m.movie_id,
            title: m.title.clone(),
            year: m.year,
            genres: m.genres.clone(),
            tmdb_id: m.tmdb_id,
            popularity: *count as f32,
        })
        .collect();
    let bundle = Bundle::new(
        serde_json::to_value(&config)?,
        serde_json::to_value(&inputs.layout)?,
        tensors,
        compression.table,
        catalog,
        ATTRIBUTION.to_string(),
    )?;
    let bytes = write_bundle(out, &bundle)?;
    let header = crate::bundle::load::read_header(&std::fs::read(out)?)?.0;
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
    };
    write_json(&paths.metrics.join("bundle.json"), &report)?;
    Ok(report)
}
