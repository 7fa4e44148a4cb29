//! Native training of the two-tower model with burn's autodiff on the CPU: seeded triplet or
//! softmax batches, Adam, early stopping on validation visitors carved from the train users,
//! and the per-epoch history for the metrics file and the training-curve plot.

pub mod config;
pub mod plot;
pub mod softmax;
pub mod visitor;

use std::collections::HashSet;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

pub use config::TrainingConfig;
use softmax::score_softmax;

use crate::engine::Thumbs;
use crate::engine::bundle::UserInput;
use crate::engine::model::TwoTowerModel;
use crate::engine::model::loss::{LossKind, binary_cross_entropy, margin_ranking};
use crate::engine::model::mlp::{Mlp, MlpConfig};
use crate::engine::personalize::{ItemVectors, PersonalizeConfig};
use crate::engine::score::Genres;
use crate::pipeline::data::split::{Interactions, VisitorCase};
use crate::pipeline::train::visitor::encoder_mlp;

/// One epoch's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    /// Validation visitors' ndcg@20 at k = 10 given ratings.
    pub valid_ndcg_at_20: f64,
    /// The batches alone (sampling, forward, backward, optimiser step).
    #[serde(default)]
    pub train_seconds: f64,
    /// The whole epoch: the batches, the item vectors and the validation visitors.
    pub seconds: f64,
}

/// A trained model with what evaluation and export need.
pub struct Trained {
    pub model: TwoTowerModel,
    /// The visitor encoder, trained after the towers when the config's `user_input` is
    /// `thumbs` (`visitor::train_encoder`).
    pub encoder: Option<Mlp>,
    /// Every catalog item's vector and bias from the best epoch.
    pub items: ItemVectors,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    /// Train-user id per user-embedding row.
    pub user_ids: Vec<u32>,
}

/// Content features of every catalog item, row-major `[num_items, dim]`, and its genres (the
/// score's genre term reads them).
pub struct ContentMatrix {
    pub values: Vec<f32>,
    pub dim: usize,
    pub genres: Genres,
}

/// Carves validation visitors out of the train users: their first `k` ratings are given,
/// their later positives relevant, and none of their ratings is trained on.
pub fn carve_validation(
    train: &Interactions,
    fraction: f64,
    k: usize,
    seed: u64,
) -> (Interactions, Vec<VisitorCase>) {
    let mut order: Vec<usize> = (0..train.num_users()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let count = (fraction * order.len() as f64).floor() as usize;
    let held: HashSet<usize> = order[..count].iter().copied().collect();
    let mut kept = Interactions {
        num_items: train.num_items,
        user_ids: Vec::new(),
        rows: Vec::new(),
    };
    let mut cases = Vec::new();
    for (row, (user_id, ratings)) in train.iter().enumerate() {
        if held.contains(&row) {
            let (given, later) = ratings.split_at(k.min(ratings.len()));
            let relevant: Vec<_> = later
                .iter()
                .copied()
                .filter(|(_, t)| t.is_positive())
                .collect();
            if !relevant.is_empty() {
                cases.push(VisitorCase {
                    user_id,
                    given: given.to_vec(),
                    given_outside_catalog: Vec::new(),
                    relevant,
                });
            }
        } else {
            kept.user_ids.push(user_id);
            kept.rows.push(ratings.to_vec());
        }
    }
    (kept, cases)
}

/// How many threads burn-flex's rayon pool trains on: `RAYON_NUM_THREADS`, else every core.
pub fn training_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// One training run's state: the model, its optimiser, and what batches are drawn from.
pub struct Trainer {
    config: TrainingConfig,
    device: Device,
    rng: StdRng,
    model: TwoTowerModel,
    optim: ModuleOptimizer,
    content_tensor: Tensor<2>,
    num_items: usize,
    /// (user row, item, weight) for every positive.
    positives: Vec<(usize, u32, f32)>,
    /// Per user: thumbs-downs (negatives), every rated item, sorted (never a sampled negative),
    /// and the liked items (masked out of that user's softmax candidates).
    downs: Vec<Vec<u32>>,
    rated: Vec<Vec<u32>>,
    liked: Vec<Vec<u32>>,
}

impl Trainer {
    /// A fresh model (seeded) over `train` (rows = users) with content features `content`.
    pub fn new(
        config: &TrainingConfig,
        train: &Interactions,
        content: &ContentMatrix,
        device: &Device,
    ) -> Self {
        let device = device.clone().autodiff();
        device.seed(config.seed);
        let num_items = train.num_items;
        let content_tensor = Tensor::<2>::from_data(
            TensorData::new(content.values.clone(), [num_items, content.dim]),
            &device,
        );
        let mut positives = Vec::new();
        let mut downs = Vec::new();
        let mut rated = Vec::new();
        let mut liked = Vec::new();
        for (row, (_, ratings)) in train.iter().enumerate() {
            let mut d = Vec::new();
            for (item, thumbs) in ratings {
                match thumbs {
                    Thumbs::Down => d.push(item.0),
                    t => positives.push((row, item.0, t.value() as f32)),
                }
            }
            downs.push(d);
            let mut items: Vec<u32> = ratings.iter().map(|(i, _)| i.0).collect();
            items.sort_unstable();
            rated.push(items);
            liked.push(
                ratings
                    .iter()
                    .filter(|(_, t)| t.is_positive())
                    .map(|(i, _)| i.0)
                    .collect(),
            );
        }
        Self {
            model: config.model.init(&device),
            optim: config.optimizer.init(),
            rng: StdRng::seed_from_u64(config.seed),
            config: config.clone(),
            device,
            content_tensor,
            num_items,
            positives,
            downs,
            rated,
            liked,
        }
    }

    /// Positives per epoch.
    pub fn positives(&self) -> usize {
        self.positives.len()
    }

    pub fn model(&self) -> &TwoTowerModel {
        &self.model
    }

    /// One pass over every positive in shuffled batches; the mean loss per positive.
    ///
    /// The batches run on a worker of rayon's pool (`rayon::scope` runs its closure there), so
    /// the products and the softmax share the pool's threads with the loop between them. From a
    /// thread of its own, the loop competed for the cores with the workers each parallel call
    /// had just woken.
    pub fn epoch(&mut self, bar: &ProgressBar) -> f64 {
        rayon::scope(|_| {
            let mut positives = std::mem::take(&mut self.positives);
            positives.shuffle(&mut self.rng);
            let mut total_loss = 0.0;
            for chunk in positives.chunks(self.config.batch_size) {
                total_loss += self.step(chunk) * chunk.len() as f64;
                bar.inc(1);
            }
            self.positives = positives;
            total_loss / self.positives.len() as f64
        })
    }

    /// Samples `negatives` per positive of `chunk`, takes one optimiser step; the batch loss.
    fn step(&mut self, chunk: &[(usize, u32, f32)]) -> f64 {
        let config = &self.config;
        let model_config = &config.model;
        let device = &self.device;
        let b = chunk.len();
        let n = config.negatives;
        let users: Vec<i64> = chunk.iter().map(|(u, _, _)| *u as i64).collect();
        let pos: Vec<i64> = chunk.iter().map(|(_, i, _)| *i as i64).collect();
        let weights: Vec<f32> = chunk.iter().map(|(_, _, w)| *w).collect();
        let mut neg: Vec<i64> = Vec::with_capacity(b * n);
        for (u, _, _) in chunk {
            let downs = &self.downs[*u];
            for _ in 0..n {
                let use_down =
                    !downs.is_empty() && self.rng.random_bool(config.thumbs_down_negative_rate);
                let item = if use_down {
                    downs[self.rng.random_range(0..downs.len())]
                } else {
                    // Uniform over items the user has not rated (rejection sampling).
                    loop {
                        let candidate = self.rng.random_range(0..self.num_items as u32);
                        if self.rated[*u].binary_search(&candidate).is_err() {
                            break candidate;
                        }
                    }
                };
                neg.push(item as i64);
            }
        }
        let ints =
            |v: &[i64]| Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [v.len()]), device);
        let model = &self.model;
        let user_vecs = model.user.forward(ints(&users), Some(&mut self.rng));
        let items_all: Vec<i64> = pos.iter().chain(neg.iter()).copied().collect();
        let items_t = ints(&items_all);
        let item_vecs = model.item.forward(
            items_t.clone(),
            self.content_tensor.clone().select(0, items_t.clone()),
            Some(&mut self.rng),
        );
        let bias = model.item_bias(items_t);
        let loss = match config.loss {
            LossKind::MarginRanking | LossKind::BinaryCrossEntropy => {
                let weights = Tensor::<1>::from_data(TensorData::new(weights, [b]), device);
                let d = model_config.output_dim;
                let pos_vecs = item_vecs.clone().slice([0..b, 0..d]);
                let neg_vecs = item_vecs.slice([b..b + b * n, 0..d]).reshape([b, n, d]);
                let pos_cos = (user_vecs.clone() * pos_vecs).sum_dim(1).reshape([b]);
                let neg_cos = (user_vecs.reshape([b, 1, d]) * neg_vecs)
                    .sum_dim(2)
                    .reshape([b, n]);
                if config.loss == LossKind::MarginRanking {
                    margin_ranking(pos_cos, neg_cos, weights, config.margin)
                } else {
                    let t = model_config.temperature;
                    let pos_bias = bias.clone().slice([0..b]);
                    let neg_bias = bias.slice([b..b + b * n]).reshape([b, n]);
                    binary_cross_entropy(
                        pos_cos.div_scalar(t) + pos_bias,
                        neg_cos.div_scalar(t) + neg_bias,
                        weights,
                    )
                }
            }
            LossKind::SampledSoftmax => {
                // Every row's candidates: all batch positives and all sampled negatives; row
                // r's positive is column r.
                let mask = accidental_hits(chunk, &items_all, &self.liked, self.num_items);
                let targets: Vec<_> = (0..b).map(|r| vec![(r, 1.0)]).collect();
                score_softmax(
                    user_vecs,
                    item_vecs,
                    bias,
                    model_config.temperature,
                    &targets,
                    Some(&mask),
                    &weights,
                )
            }
        };
        let value = loss
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .expect("the loss should be f32")[0] as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self
            .optim
            .step(config.learning_rate, self.model.clone(), grads);
        value
    }
}

/// The softmax mask `[rows, candidates]` (true = drop): for row `r`, every candidate column other
/// than `r` that holds the row's own positive or an item the row's user liked — it is no
/// negative for them. Each item's columns are a list threaded through `next` from `first[item]`,
/// so the cost is rows × likes lookups, not rows × columns (heavy raters, hundreds of likes,
/// are drawn most often).
fn accidental_hits(
    chunk: &[(usize, u32, f32)],
    columns: &[i64],
    liked: &[Vec<u32>],
    num_items: usize,
) -> Vec<bool> {
    const NONE: usize = usize::MAX;
    let c = columns.len();
    let mut first = vec![NONE; num_items];
    let mut next = vec![NONE; c];
    for (col, item) in columns.iter().enumerate() {
        next[col] = first[*item as usize];
        first[*item as usize] = col;
    }
    let mut mask = vec![false; chunk.len() * c];
    for (row, (u, own, _)) in chunk.iter().enumerate() {
        for item in liked[*u].iter().chain(std::iter::once(own)) {
            let mut col = first[*item as usize];
            while col != NONE {
                if col != row {
                    mask[row * c + col] = true;
                }
                col = next[col];
            }
        }
    }
    mask
}

/// A model's figure on the validation visitors, higher is better (the stage that trains says
/// how it is measured): ndcg@20 of its item vectors after personalisation.
pub type Validation<'a> = &'a dyn Fn(&TwoTowerModel, &ItemVectors) -> f64;

/// Trains on `train` (rows = users) with content features `content`, measuring `validate` after
/// every epoch and keeping the best; without it (the shipped model) the last epoch is kept.
pub fn train(
    config: &TrainingConfig,
    train: &Interactions,
    content: &ContentMatrix,
    validate: Option<Validation>,
    device: &Device,
) -> Trained {
    let num_items = train.num_items;
    let mut trainer = Trainer::new(config, train, content, device);
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, TwoTowerModel, ItemVectors)> = None;
    let batches = trainer.positives().div_ceil(config.batch_size);
    for epoch in 1..=config.num_epochs {
        let start = Instant::now();
        let bar = ProgressBar::new(batches as u64).with_style(
            ProgressStyle::with_template(
                "epoch {msg} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}]",
            )
            .expect("the progress template should parse"),
        );
        bar.set_message(format!("{epoch}/{}", config.num_epochs));
        let train_loss = trainer.epoch(&bar);
        let train_seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let model = trainer.model();
        let items = item_vectors(model, content, num_items);
        let valid_ndcg = validate.map_or(0.0, |validate| validate(model, &items));
        let record = EpochRecord {
            epoch,
            train_loss,
            valid_ndcg_at_20: valid_ndcg,
            train_seconds,
            seconds: start.elapsed().as_secs_f64(),
        };
        eprintln!(
            "epoch {epoch}: loss {:.4}, validation ndcg@20 {:.4} ({:.1} s, {:.1} s of it training)",
            record.train_loss, record.valid_ndcg_at_20, record.seconds, record.train_seconds
        );
        history.push(record);
        if validate.is_none() || best.as_ref().is_none_or(|(score, ..)| valid_ndcg > *score) {
            best = Some((valid_ndcg, epoch, model.clone(), items));
        } else if epoch - best.as_ref().map_or(0, |b| b.1) >= config.patience {
            eprintln!(
                "early stop: no validation gain for {} epochs",
                config.patience
            );
            break;
        }
    }
    let (_, best_epoch, model, items) = best.expect("at least one epoch should run");
    Trained {
        model,
        encoder: None,
        items,
        history,
        best_epoch,
        user_ids: train.user_ids.clone(),
    }
}

/// Every catalog item's unit vector and bias, computed in inference mode in chunks.
pub fn item_vectors(
    model: &TwoTowerModel,
    content: &ContentMatrix,
    num_items: usize,
) -> ItemVectors {
    let model = model.valid();
    let device = model.item.embedding.weight.val().device();
    let mut vectors = Vec::new();
    let mut bias = Vec::new();
    for start in (0..num_items).step_by(2048) {
        let end = (start + 2048).min(num_items);
        let ids = Tensor::<1, Int>::from_data(
            TensorData::new(
                (start as i64..end as i64).collect::<Vec<_>>(),
                [end - start],
            ),
            &device,
        );
        let rows = Tensor::<2>::from_data(
            TensorData::new(
                content.values[start * content.dim..end * content.dim].to_vec(),
                [end - start, content.dim],
            ),
            &device,
        );
        vectors.extend(
            model
                .item
                .forward(ids.clone(), rows, None)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 item vectors"),
        );
        bias.extend(
            model
                .item_bias(ids)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 item bias"),
        );
    }
    let dim = vectors.len() / num_items.max(1);
    ItemVectors { vectors, bias, dim }
}

/// The user tower a visitor gets, as plain data (what the bundle stores): the visitor encoder
/// reading the thumbs, or the id tower fitted from its prior.
#[derive(Debug, Clone)]
pub struct VisitorTower {
    pub mlp: MlpConfig,
    pub input: UserInput,
    /// Each layer's (weight `[d_in, d_out]`, bias `[d_out]`).
    pub layers: Vec<(TensorData, TensorData)>,
    /// Where personalisation starts without thumbs, `[d_in]`.
    pub prior: TensorData,
    /// How a visitor's vector is fitted: the config's, with the encoder's refinement steps
    /// for the encoder.
    pub personalize: PersonalizeConfig,
}

impl VisitorTower {
    /// The id tower, fitted from the mean of the train users' id embeddings.
    pub fn of_ids(model: &TwoTowerModel, config: &TrainingConfig) -> Self {
        Self {
            mlp: config.model.user_mlp(),
            input: UserInput::Prior,
            layers: model.user.mlp.weights(),
            prior: model.user.mean_input().into_data(),
            personalize: config.personalize.clone(),
        }
    }

    /// The visitor encoder reading the thumbs; its prior is a visitor with none (zeros).
    pub fn of_encoder(encoder: &Mlp, config: &TrainingConfig) -> Self {
        let mlp = encoder_mlp(&config.encoder, config.model.output_dim);
        let prior = TensorData::new(vec![0f32; mlp.d_input], [mlp.d_input]);
        Self {
            mlp,
            input: UserInput::Thumbs,
            layers: encoder.weights(),
            prior,
            personalize: PersonalizeConfig {
                steps: config.encoder.refine_steps,
                ..config.personalize.clone()
            },
        }
    }
}

impl Trained {
    /// The tower its visitors get: the encoder where one was trained.
    pub fn visitor_tower(&self, config: &TrainingConfig) -> VisitorTower {
        match &self.encoder {
            Some(encoder) => VisitorTower::of_encoder(encoder, config),
            None => VisitorTower::of_ids(&self.model, config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lookup mask equals the definition applied to every (row, column) pair.
    #[test]
    fn accidental_hits_match_the_pairwise_definition() {
        let mut rng = StdRng::seed_from_u64(3);
        let liked: Vec<Vec<u32>> = (0..6)
            .map(|_| {
                (0..rng.random_range(0..8))
                    .map(|_| rng.random_range(0..20))
                    .collect()
            })
            .collect();
        let chunk: Vec<(usize, u32, f32)> = (0..10)
            .map(|_| (rng.random_range(0..6), rng.random_range(0..20), 1.0))
            .collect();
        let mut columns: Vec<i64> = chunk.iter().map(|(_, i, _)| *i as i64).collect();
        columns.extend((0..40).map(|_| rng.random_range(0..20i64)));
        let mask = accidental_hits(&chunk, &columns, &liked, 20);
        let mut expected = vec![false; chunk.len() * columns.len()];
        for (row, (u, own, _)) in chunk.iter().enumerate() {
            for (col, item) in columns.iter().enumerate() {
                let item = *item as u32;
                if col != row && (item == *own || liked[*u].contains(&item)) {
                    expected[row * columns.len() + col] = true;
                }
            }
        }
        assert_eq!(mask, expected);
        assert!(mask.contains(&true), "the fixture should have hits");
    }
}
