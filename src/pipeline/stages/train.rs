//! The `train` stage and the saved model's format. Reads the `thumbs-v1` inputs, and every
//! user's for the shipped model; writes the evaluated model to `models/` and the shipped one
//! to `models/shipped/` (each the burn record `two_tower.bpk`, its exact
//! `training_config.json` and `user_ids.json`), `data/processed/movie_embeddings.parquet`,
//! `metrics/two_tower_metrics.json` and `metrics/training_curves.svg`. `evaluate` and
//! `export` fit and load models through [`fit`] and [`load_trained`].

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::{ArrayRef, FixedSizeListArray, Float32Array, Int32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::engine::bundle::UserInput;
use crate::engine::model::TwoTowerModel;
use crate::engine::personalize::ItemVectors;
use crate::engine::score::Genres;
use crate::pipeline::data::movielens::DataError;
use crate::pipeline::data::prepare::{write_file_atomic, write_json};
use crate::pipeline::data::split::{Interactions, VisitorCase};
use crate::pipeline::data::tables::write_atomic;
use crate::pipeline::eval::baselines::MostPopular;
use crate::pipeline::eval::evaluate_visitors;
use crate::pipeline::eval::two_tower::{encoder_validation_ndcg, validation_ndcg};
use crate::pipeline::stages::Paths;
use crate::pipeline::stages::inputs::{Inputs, Prepared};
use crate::pipeline::train::plot::training_curves_svg;
use crate::pipeline::train::visitor::{EncoderEpoch, encoder_mlp, train_encoder};
use crate::pipeline::train::{EpochRecord, Trained, TrainingConfig, item_vectors, train};

/// The folder under `models/` of the model trained on every user, which `export` ships.
pub const SHIPPED_DIR: &str = "shipped";

/// The visitor encoder's burn record beside `two_tower.bpk`.
const ENCODER_FILE: &str = "visitor_encoder.bpk";

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
    /// The visitor encoder's epochs on the same validation visitors, and the best one.
    #[serde(default)]
    pub encoder_history: Vec<EncoderEpoch>,
    #[serde(default)]
    pub encoder_best_epoch: usize,
}

/// Trains on `interactions`, carving validation visitors from them as the config says.
pub fn fit(
    config: &TrainingConfig,
    inputs: &Inputs,
    interactions: &Interactions,
    device: &Device,
) -> (Trained, TrainMetrics) {
    let mut config = config.clone();
    let (kept, valid) = config.carve_validation(interactions);
    let start = Instant::now();
    let validate = validation_visitors(&config, &kept, &inputs.content.genres, &valid, device);
    let mut trained = train(&config, &kept, &inputs.content, Some(&validate), device);
    let mut encoder_history = Vec::new();
    if config.user_input == UserInput::Thumbs {
        let genres = &inputs.content.genres;
        let validate = encoder_validation_ndcg(&valid, &trained.items, genres, &config, device);
        let (encoder, history) = train_encoder(
            &config.encoder,
            &kept,
            &trained.items,
            config.model.temperature,
            device,
            Some(&validate),
        );
        trained.encoder = Some(encoder);
        encoder_history = history;
    }
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
        encoder_best_epoch: best_encoder_epoch(&encoder_history),
        encoder_history,
    };
    (trained, metrics)
}

/// Training's validation on `valid`, the visitors carved from the train users: the two-tower
/// scorer `evaluate` uses, after printing most-popular's figure on them for reference.
fn validation_visitors<'a>(
    config: &'a TrainingConfig,
    train: &Interactions,
    genres: &'a Genres,
    valid: &'a [VisitorCase],
    device: &'a Device,
) -> impl Fn(&TwoTowerModel, &ItemVectors) -> f64 + 'a {
    let popular = MostPopular::fit(train);
    let reference = evaluate_visitors(&popular, valid, train.num_items, 20)
        .expect("most-popular gives one score per catalog item");
    eprintln!(
        "{} validation visitors; most-popular reaches ndcg@20 {:.4} on them",
        valid.len(),
        reference.ndcg
    );
    validation_ndcg(valid, genres, config, device)
}

/// The encoder epoch validation chose (0 without an encoder).
fn best_encoder_epoch(history: &[EncoderEpoch]) -> usize {
    history
        .iter()
        .max_by(|a, b| {
            a.validation
                .total_cmp(&b.validation)
                .then(b.epoch.cmp(&a.epoch))
        })
        .map_or(0, |e| e.epoch)
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
        .map_err(|e| anyhow::anyhow!("saving the model: {e:?}"))?;
    if let Some(encoder) = &trained.encoder {
        encoder
            .clone()
            .save_file(dir.join(ENCODER_FILE))
            .map_err(|e| anyhow::anyhow!("saving the visitor encoder: {e:?}"))?;
    }
    Ok(())
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
    let mut shipped = train(&shipped_config, &all, &everyone.content, None, device);
    if config.user_input == UserInput::Thumbs {
        shipped_config.encoder.num_epochs = metrics.encoder_best_epoch;
        let (encoder, _) = train_encoder(
            &shipped_config.encoder,
            &all,
            &shipped.items,
            config.model.temperature,
            device,
            None,
        );
        shipped.encoder = Some(encoder);
    }
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
    let encoder = match config.user_input {
        UserInput::Thumbs => {
            let path = dir.join(ENCODER_FILE);
            let mlp = encoder_mlp(&config.encoder, config.model.output_dim)
                .init(device)
                .try_load_file(&path)
                .map_err(|e| anyhow::anyhow!("loading {}: {e:?}; retrain", path.display()))?;
            Some(mlp)
        }
        UserInput::Prior => None,
    };
    let trained = Trained {
        model,
        encoder,
        items,
        history: Vec::new(),
        best_epoch: 0,
        user_ids,
    };
    Ok((trained, config))
}
