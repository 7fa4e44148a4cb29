//! A new visitor has no user id: their vector is found by fine-tuning ONLY an input vector of
//! the frozen user tower, starting from a prior (the mean of the train users' id embeddings),
//! against their thumbs. The item vectors stay fixed. The native evaluation and the browser
//! run exactly this code; only the device differs.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::engine::bundle::UserInput;
use crate::engine::encoder::thumbs_input;
use crate::engine::model::mlp::Mlp;
use crate::engine::model::product;
use crate::engine::model::user_tower::user_vectors;
use crate::engine::{ItemIndex, Thumbs};

/// How a visitor's vector is fitted.
#[derive(Config, Debug, PartialEq)]
pub struct PersonalizeConfig {
    /// Optimiser steps (Adam on the input vector); the browser's update time is per step. 0:
    /// the tower's output for where fitting would start (a tower reading the thumbs needs none).
    #[config(default = 40)]
    pub steps: usize,
    /// Adam learning rate.
    #[config(default = 0.05)]
    pub learning_rate: f64,
    /// Weight of ‖x − start‖², which keeps a visitor with few ratings near where fitting
    /// started (the average user, or the tower's reading of the thumbs).
    #[config(default = 10.0)]
    pub prior_weight: f64,
    /// Items sampled uniformly (excluding rated ones) as implicit negatives; at least the
    /// catalog size means every unrated item (a full softmax).
    #[config(default = 1024)]
    pub sampled_negatives: usize,
    /// Weight of the term that pushes thumbs-down items below zero.
    #[config(default = 0.0)]
    pub downvote_weight: f64,
    /// Seed of the negative sampling; the same thumbs always give the same vector.
    #[config(default = 42)]
    pub seed: u64,
}

/// Why a visitor's vector could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PersonalizeError {
    #[error("item index {got} is outside the catalog of {catalog} items")]
    UnknownItem { got: u32, catalog: usize },
    #[error("the item table has rows of {got} values; expected {expected} (output_dim)")]
    Shape { expected: usize, got: usize },
}

/// The user tower's MLP with frozen weights, plus what it reads, the prior input and the
/// temperature.
#[derive(Debug, Clone)]
pub struct FrozenUserTower {
    mlp: Mlp,
    input: UserInput,
    prior: Tensor<1>,
    temperature: f64,
    device: Device,
}

/// The fixed item side: unit vectors and biases of every catalog item, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemVectors {
    /// `len × dim` values.
    pub vectors: Vec<f32>,
    /// `len` values (zeros when the model has no item bias).
    pub bias: Vec<f32>,
    pub dim: usize,
}

impl ItemVectors {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.bias.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.bias.is_empty()
    }

    /// One item's vector.
    pub fn row(&self, index: usize) -> &[f32] {
        &self.vectors[index * self.dim..(index + 1) * self.dim]
    }
}

impl FrozenUserTower {
    /// Builds the frozen tower from plain data (weights as saved in the bundle).
    ///
    /// # Shapes
    /// - layers: (`[d_in, d_out]`, `[d_out]`) each; prior: `[d_in of the first layer]`
    pub fn new(
        layers: Vec<(TensorData, TensorData)>,
        prior: TensorData,
        temperature: f64,
        device: &Device,
    ) -> Self {
        let device = device.clone().autodiff();
        Self {
            mlp: Mlp::from_weights(layers, &device).no_grad(),
            input: UserInput::Prior,
            prior: Tensor::from_data(prior, &device),
            temperature,
            device,
        }
    }

    /// The same tower reading `input` (built reading [`UserInput::Prior`]).
    pub fn reading(self, input: UserInput) -> Self {
        Self { input, ..self }
    }

    /// Where fitting starts for `rated` (valid rows of `items`), and what it is pulled back
    /// to: the prior, or the pooled thumbs.
    ///
    /// # Shapes
    /// - output: `[1, d_in]`
    fn start(&self, items: &ItemVectors, rated: &[(ItemIndex, Thumbs)]) -> Tensor<2> {
        match self.input {
            UserInput::Prior => {
                let [d] = self.prior.dims();
                self.prior.clone().reshape([1, d])
            }
            UserInput::Thumbs => {
                let x = thumbs_input(items, rated);
                let d = x.len();
                Tensor::from_data(TensorData::new(x, [1, d]), &self.device)
            }
        }
    }

    /// The tower's output for embedding-space inputs.
    ///
    /// # Shapes
    /// - input: `[batch, d_in]`
    /// - output: `[batch, output_dim]`, unit rows
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        user_vectors(&self.mlp, x, None)
    }

    /// The vector of a visitor with no ratings yet: the tower applied to the prior.
    pub fn prior_vector(&self) -> Tensor<1> {
        let [d] = self.prior.dims();
        self.forward(self.prior.clone().reshape([1, d]))
            .reshape([-1])
    }

    /// The temperature the model was trained with.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// Fits the visitor's input vector to their thumbs and returns the tower's output for it.
    ///
    /// # Shapes
    /// - output: `[output_dim]`, a unit vector (read it with `into_data`, or
    ///   `into_data_async` in the browser)
    pub fn personalize(
        &self,
        items: &ItemVectors,
        rated: &[(ItemIndex, Thumbs)],
        config: &PersonalizeConfig,
    ) -> Result<Tensor<1>, PersonalizeError> {
        self.fit(items, rated, config, None)
    }

    /// [`FrozenUserTower::personalize`], also recording the loss before each step (each
    /// record waits for the device, so the browser's hot path does not use it).
    pub fn personalize_traced(
        &self,
        items: &ItemVectors,
        rated: &[(ItemIndex, Thumbs)],
        config: &PersonalizeConfig,
    ) -> Result<(Tensor<1>, Vec<f32>), PersonalizeError> {
        let mut losses = Vec::new();
        let user = self.fit(items, rated, config, Some(&mut losses))?;
        Ok((user, losses))
    }

    fn fit(
        &self,
        items: &ItemVectors,
        rated: &[(ItemIndex, Thumbs)],
        config: &PersonalizeConfig,
        mut losses: Option<&mut Vec<f32>>,
    ) -> Result<Tensor<1>, PersonalizeError> {
        let catalog = items.len();
        if let Some((bad, _)) = rated.iter().find(|(i, _)| i.0 as usize >= catalog) {
            return Err(PersonalizeError::UnknownItem {
                got: bad.0,
                catalog,
            });
        }
        let out_dim = self
            .mlp
            .layers
            .last()
            .map_or(0, |l| l.weight.val().dims()[1]);
        if items.dim != out_dim {
            return Err(PersonalizeError::Shape {
                expected: out_dim,
                got: items.dim,
            });
        }
        let start = self.start(items, rated).detach();
        if rated.is_empty() || config.steps == 0 {
            return Ok(self.forward(start).reshape([-1]).detach());
        }

        // Candidate rows: positives, then thumbs-downs, then sampled negatives.
        let positives: Vec<(usize, f32)> = rated
            .iter()
            .filter(|(_, t)| t.is_positive())
            .map(|(i, t)| (i.0 as usize, t.value() as f32))
            .collect();
        let downs: Vec<usize> = rated
            .iter()
            .filter(|(_, t)| !t.is_positive())
            .map(|(i, _)| i.0 as usize)
            .collect();
        let sampled = sample_negatives(catalog, rated, config);
        let rows: Vec<usize> = positives
            .iter()
            .map(|(i, _)| *i)
            .chain(downs.iter().copied())
            .chain(sampled.iter().copied())
            .collect();
        let c = rows.len();
        let d = items.dim;
        // The candidates' vectors as columns, `[d, c]`: the layout the logits' product takes,
        // built once here rather than transposed (and, in the browser, copied) in every step.
        let mut columns = vec![0.0; d * c];
        let mut bias = Vec::with_capacity(c);
        for (j, &r) in rows.iter().enumerate() {
            for (i, &value) in items.row(r).iter().enumerate() {
                columns[i * c + j] = value;
            }
            bias.push(items.bias[r]);
        }
        let candidates = Tensor::<2>::from_data(TensorData::new(columns, [d, c]), &self.device);
        let bias = Tensor::<1>::from_data(TensorData::new(bias, [c]), &self.device).reshape([1, c]);
        let (p, n_down) = (positives.len(), downs.len());
        let pos_weights = Tensor::<1>::from_data(
            TensorData::new(positives.iter().map(|(_, w)| *w).collect::<Vec<_>>(), [p]),
            &self.device,
        );

        let mut x = start.clone();
        let (mut m, mut v) = (x.zeros_like(), x.zeros_like());
        let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        for step in 1..=config.steps {
            let input = x.clone().require_grad();
            let user = self.forward(input.clone());
            let logits = product(user, candidates.clone())
                .div_scalar(self.temperature)
                .add(bias.clone()); // [1, c]
            let mut loss = (input.clone() - start.clone())
                .powi_scalar(2)
                .sum()
                .mul_scalar(config.prior_weight);
            if p > 0 && c > p {
                // Each positive competes against every non-positive candidate: its log-softmax
                // over [pos_i, rest] is log σ(pos_i − logsumexp(rest)), so `rest` is reduced once
                // instead of once per positive.
                let pos_logits = logits.clone().slice([0..1, 0..p]);
                let rest = logits.clone().slice([0..1, p..c]);
                let top = rest.clone().max_dim(1).detach(); // [1, 1]
                let lse = (rest - top.clone()).exp().sum_dim(1).log() + top;
                let per = log_sigmoid(pos_logits - lse).reshape([p]);
                loss = loss + (per * pos_weights.clone()).sum().neg() / pos_weights.clone().sum();
            }
            if n_down > 0 {
                let down_logits = logits.slice([0..1, p..p + n_down]);
                let push = log_sigmoid(down_logits.neg()).mean().neg();
                loss = loss + push.mul_scalar(config.downvote_weight);
            }
            if let Some(losses) = losses.as_deref_mut() {
                losses.extend(loss.clone().into_data().iter::<f32>());
            }
            let grads = loss.backward();
            let g = input
                .grad(&grads)
                .expect("the input vector should receive a gradient");
            // Adam, written out: one vector needs no optimiser state machinery.
            m = m.mul_scalar(beta1) + g.clone().mul_scalar(1.0 - beta1);
            v = v.mul_scalar(beta2) + g.powi_scalar(2).mul_scalar(1.0 - beta2);
            let m_hat = m.clone().div_scalar(1.0 - beta1.powi(step as i32));
            let v_hat = v.clone().div_scalar(1.0 - beta2.powi(step as i32));
            x = (x - m_hat
                .div(v_hat.sqrt().add_scalar(eps))
                .mul_scalar(config.learning_rate))
            .detach();
        }
        Ok(self.forward(x).reshape([-1]).detach())
    }
}

/// Uniformly sampled catalog rows the visitor has not rated, seeded by the ratings themselves.
fn sample_negatives(
    catalog: usize,
    rated: &[(ItemIndex, Thumbs)],
    config: &PersonalizeConfig,
) -> Vec<usize> {
    let rated_set: std::collections::HashSet<usize> =
        rated.iter().map(|(i, _)| i.0 as usize).collect();
    let available = catalog - rated_set.len();
    let wanted = config.sampled_negatives.min(available);
    let seed = rated.iter().fold(config.seed, |h, (i, t)| {
        h.wrapping_mul(0x100000001b3)
            .wrapping_add((i.0 as u64) << 2 | t.value() as u64 & 3)
    });
    if wanted == available {
        // Every unrated item: the full softmax, no sampling needed.
        return (0..catalog).filter(|r| !rated_set.contains(r)).collect();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut chosen = std::collections::BTreeSet::new();
    while chosen.len() < wanted {
        let r = rng.random_range(0..catalog);
        if !rated_set.contains(&r) {
            chosen.insert(r);
        }
    }
    chosen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-layer tower (identity weights, so output = normalised input) and four items on
    /// the axes of a 4-d space, item 0 and 1 sharing a direction.
    fn fixture() -> (FrozenUserTower, ItemVectors) {
        let device = Device::default();
        let eye: Vec<f32> = (0..16)
            .map(|i| if i % 5 == 0 { 1.0 } else { 0.0 })
            .collect();
        let tower = FrozenUserTower::new(
            vec![(
                TensorData::new(eye, [4, 4]),
                TensorData::new(vec![0.0f32; 4], [4]),
            )],
            TensorData::new(vec![0.5f32, 0.5, 0.5, 0.5], [4]),
            0.1,
            &device,
        );
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let items = ItemVectors {
            vectors: vec![
                1.0, 0.0, 0.0, 0.0, //
                s, s, 0.0, 0.0, //
                0.0, 0.0, 1.0, 0.0, //
                0.0, 0.0, 0.0, 1.0,
            ],
            bias: vec![0.0; 4],
            dim: 4,
        };
        (tower, items)
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn fitting_lowers_the_loss_and_moves_toward_liked_items() {
        let (tower, items) = fixture();
        // A weak prior pull, so two ratings can move the vector far.
        let config = PersonalizeConfig::new()
            .with_sampled_negatives(2)
            .with_prior_weight(0.01)
            .with_downvote_weight(0.5);
        let rated = [
            (ItemIndex(0), Thumbs::DoubleUp),
            (ItemIndex(3), Thumbs::Down),
        ];
        let (user, losses) = tower.personalize_traced(&items, &rated, &config).unwrap();
        assert_eq!(losses.len(), config.steps);
        // Item 1 shares item 0's direction and stays a negative, so the loss has a floor well
        // above zero; a third off the start is a clear descent.
        assert!(losses[config.steps - 1] < 0.7 * losses[0], "{losses:?}");
        let user: Vec<f32> = user.into_data().try_to_vec().unwrap();
        let prior: Vec<f32> = tower.prior_vector().into_data().try_to_vec().unwrap();
        assert!(cosine(&user, items.row(0)) > cosine(&prior, items.row(0)) + 0.2);
        assert!(cosine(&user, items.row(3)) < cosine(&prior, items.row(3)));
        // The unrated item that shares the liked direction now beats the unrelated one.
        assert!(cosine(&user, items.row(1)) > cosine(&user, items.row(2)));
    }

    #[test]
    fn the_first_loss_is_the_weighted_log_softmax_of_each_positive_against_the_rest() {
        let (tower, items) = fixture();
        // Every unrated item is a negative (a full softmax), and no prior pull at the start.
        let config = PersonalizeConfig::new().with_sampled_negatives(100);
        let rated = [(ItemIndex(0), Thumbs::Up), (ItemIndex(2), Thumbs::DoubleUp)];
        let (_, losses) = tower.personalize_traced(&items, &rated, &config).unwrap();
        // The tower is the identity, so the user is the normalised prior: all 0.5.
        let logit = |row: usize| items.row(row).iter().map(|v| 0.5 * v).sum::<f32>() / 0.1;
        let rest = [logit(1), logit(3)];
        let log_softmax_first =
            |pos: f32| pos - (pos.exp() + rest.iter().map(|r| r.exp()).sum::<f32>()).ln();
        let expected = -(log_softmax_first(logit(0)) + 2.0 * log_softmax_first(logit(2))) / 3.0;
        assert!(
            (losses[0] - expected).abs() < 1e-4,
            "{} vs {expected}",
            losses[0]
        );
    }

    #[test]
    fn the_same_thumbs_give_the_same_vector_and_no_thumbs_give_the_prior() {
        let (tower, items) = fixture();
        let config = PersonalizeConfig::new().with_sampled_negatives(2);
        let rated = [(ItemIndex(2), Thumbs::Up)];
        let a: Vec<f32> = tower
            .personalize(&items, &rated, &config)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let b: Vec<f32> = tower
            .personalize(&items, &rated, &config)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(a, b);
        let empty: Vec<f32> = tower
            .personalize(&items, &[], &config)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let prior: Vec<f32> = tower.prior_vector().into_data().try_to_vec().unwrap();
        assert_eq!(empty, prior);
    }

    #[test]
    fn an_item_outside_the_catalog_is_an_error() {
        let (tower, items) = fixture();
        let err = tower
            .personalize(
                &items,
                &[(ItemIndex(9), Thumbs::Up)],
                &PersonalizeConfig::new(),
            )
            .unwrap_err();
        assert_eq!(err, PersonalizeError::UnknownItem { got: 9, catalog: 4 });
    }
}
