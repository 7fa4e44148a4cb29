//! Training the visitor encoder: the user tower that reads a visitor's thumbs
//! ([`thumbs_input`]) instead of looking up a user id, trained on the product's own situation.
//! Simulated visitors are drawn from the train users, as Mult-VAE and RecVAE train their
//! encoders: a user's first `k` ratings (`k` from 1 to [`EncoderConfig::max_given`]), or `k` of
//! them at random, are the thumbs; the user's other likes, weighted by thumbs, are what the
//! encoder must rank first, in a full softmax over the catalog (the given movies left out, as
//! the ranking leaves them out). The trained item tower's vectors and biases stay fixed: the
//! encoder learns to place a visitor among them.

use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::engine::encoder::{thumbs_input, thumbs_input_dim};
use crate::engine::model::mlp::{Mlp, MlpConfig};
use crate::engine::model::user_tower::user_vectors;
use crate::engine::personalize::ItemVectors;
use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::Interactions;
use crate::pipeline::train::softmax::score_softmax;

/// How the visitor encoder is trained.
#[derive(Config, Debug, PartialEq)]
pub struct EncoderConfig {
    /// Hidden widths of the encoder's MLP.
    #[config(default = "vec![128]")]
    pub hidden: Vec<usize>,
    #[config(default = 0.1)]
    pub dropout: f64,
    #[config(default = 30)]
    pub num_epochs: usize,
    /// Simulated visitors drawn from each train user per epoch.
    #[config(default = 8)]
    pub draws_per_user: usize,
    #[config(default = 128)]
    pub batch_size: usize,
    #[config(default = 0.003)]
    pub learning_rate: f64,
    /// The most thumbs a simulated visitor is given.
    #[config(default = 20)]
    pub max_given: usize,
    /// Share of simulated visitors given a random subset rather than their first ratings.
    #[config(default = 0.5)]
    pub random_subset_share: f64,
    #[config(default = 7)]
    pub seed: u64,
    /// Fine-tuning steps from the encoder's reading of the thumbs in the browser
    /// (`PersonalizeConfig::steps` for a visitor of the encoder; 0: its output as is).
    #[config(default = 0)]
    pub refine_steps: usize,
}

/// The encoder's MLP for item vectors of width `dim`: pooled thumbs → hidden → `dim`.
pub fn encoder_mlp(config: &EncoderConfig, dim: usize) -> MlpConfig {
    MlpConfig {
        d_input: thumbs_input_dim(dim),
        hidden: config.hidden.clone(),
        d_output: dim,
        dropout: config.dropout,
    }
}

/// A simulated visitor: the thumbs given, and the likes to rank (weights summing to 1).
struct Draw {
    given: Vec<(ItemIndex, Thumbs)>,
    targets: Vec<(ItemIndex, f32)>,
}

/// Draws a visitor from one user's ratings (in time order); `None` when nothing is left to
/// rank.
fn draw(ratings: &[(ItemIndex, Thumbs)], config: &EncoderConfig, rng: &mut StdRng) -> Option<Draw> {
    if ratings.len() < 2 {
        return None;
    }
    let k = rng.random_range(1..=config.max_given.min(ratings.len() - 1));
    let mut order: Vec<usize> = (0..ratings.len()).collect();
    if rng.random_bool(config.random_subset_share) {
        order.shuffle(rng);
    }
    let (given, rest) = order.split_at(k);
    let total: f32 = rest
        .iter()
        .map(|&r| ratings[r].1)
        .filter(|t| t.is_positive())
        .map(|t| f32::from(t.value()))
        .sum();
    (total > 0.0).then(|| Draw {
        given: given.iter().map(|&r| ratings[r]).collect(),
        targets: rest
            .iter()
            .map(|&r| ratings[r])
            .filter(|(_, t)| t.is_positive())
            .map(|(i, t)| (i, f32::from(t.value()) / total))
            .collect(),
    })
}

/// One epoch's record.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EncoderEpoch {
    pub epoch: usize,
    pub loss: f64,
    pub validation: f64,
}

/// Trains the encoder on the train users of `train` against fixed item vectors, measuring
/// `validate` after every epoch and keeping the best epoch (the last without it).
pub fn train_encoder(
    config: &EncoderConfig,
    train: &Interactions,
    items: &ItemVectors,
    temperature: f64,
    device: &Device,
    validate: Option<&dyn Fn(&Mlp) -> f64>,
) -> (Mlp, Vec<EncoderEpoch>) {
    let device = device.clone().autodiff();
    device.seed(config.seed);
    let (n, dim) = (items.len(), items.dim);
    let rows = Tensor::<2>::from_data(TensorData::new(items.vectors.clone(), [n, dim]), &device);
    let bias = Tensor::<1>::from_data(TensorData::new(items.bias.clone(), [n]), &device);
    let mut model = encoder_mlp(config, dim).init(&device);
    let mut optim = AdamConfig::new().init();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut history = Vec::new();
    let mut best: Option<(f64, Mlp)> = None;
    for epoch in 1..=config.num_epochs {
        let mut draws: Vec<Draw> = train
            .rows
            .iter()
            .flat_map(|ratings| {
                (0..config.draws_per_user)
                    .filter_map(|_| draw(ratings, config, &mut rng))
                    .collect::<Vec<_>>()
            })
            .collect();
        draws.shuffle(&mut rng);
        let mut total = 0.0;
        for batch in draws.chunks(config.batch_size) {
            let b = batch.len();
            let inputs: Vec<f32> = batch
                .iter()
                .flat_map(|d| thumbs_input(items, &d.given))
                .collect();
            let mut mask = vec![false; b * n];
            for (row, d) in batch.iter().enumerate() {
                for (i, _) in &d.given {
                    mask[row * n + i.0 as usize] = true;
                }
            }
            let targets: Vec<Vec<(usize, f32)>> = batch
                .iter()
                .map(|d| d.targets.iter().map(|(i, w)| (i.0 as usize, *w)).collect())
                .collect();
            let x = Tensor::<2>::from_data(
                TensorData::new(inputs, [b, thumbs_input_dim(dim)]),
                &device,
            );
            let users = user_vectors(&model, x, Some(&mut rng));
            let loss = score_softmax(
                users,
                rows.clone(),
                bias.clone(),
                temperature,
                &targets,
                Some(&mask),
                &vec![1.0; b],
            );
            total += f64::from(loss.clone().into_scalar::<f32>()) * b as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);
        }
        let loss = total / draws.len().max(1) as f64;
        let frozen = model.valid();
        let validation = validate.map_or(0.0, |v| v(&frozen));
        eprintln!("encoder epoch {epoch}: loss {loss:.4}, validation {validation:.4}");
        history.push(EncoderEpoch {
            epoch,
            loss,
            validation,
        });
        if validate.is_none() || best.as_ref().is_none_or(|(s, _)| validation > *s) {
            best = Some((validation, frozen));
        }
    }
    let (_, model) = best.expect("at least one epoch");
    (model, history)
}
