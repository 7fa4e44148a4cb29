//! A ReLU multi-layer perceptron: Linear → ReLU (→ dropout) … → Linear.

use burn::config::Config;
use burn::module::Module;
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use rand::rngs::StdRng;

use super::product;

/// Widths of a [`Mlp`].
#[derive(Config, Debug, PartialEq)]
pub struct MlpConfig {
    /// Input width.
    pub d_input: usize,
    /// Hidden layer widths, each followed by ReLU; empty means a single linear map.
    pub hidden: Vec<usize>,
    /// Output width.
    pub d_output: usize,
    /// Dropout after each hidden ReLU, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// Linear/ReLU layers ending in a linear layer (no activation on the output).
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    /// Dropout's probability, applied only where a forward is given a training run's generator
    /// to draw the masks from.
    dropout: f64,
}

/// Where a forward draws its dropout masks: a training run's seeded generator, or `None`
/// (inference and personalisation: no dropout).
pub type Masks<'a> = Option<&'a mut StdRng>;

impl MlpConfig {
    /// Builds the layers with burn's default initialisation.
    pub fn init(&self, device: &Device) -> Mlp {
        let widths: Vec<usize> = std::iter::once(self.d_input)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(self.d_output))
            .collect();
        Mlp {
            layers: widths
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
            dropout: self.dropout,
        }
    }
}

impl Mlp {
    /// The layers from saved weights (each `[d_in, d_out]`, bias `[d_out]`), without dropout.
    pub fn from_weights(layers: Vec<(TensorData, TensorData)>, device: &Device) -> Self {
        Mlp {
            layers: layers
                .into_iter()
                .map(|(weight, bias)| Linear {
                    weight: Param::from_data(weight, device),
                    bias: Some(Param::from_data(bias, device)),
                })
                .collect(),
            dropout: 0.0,
        }
    }

    /// Each layer's (weight `[d_in, d_out]`, bias `[d_out]`) as plain data.
    pub fn weights(&self) -> Vec<(TensorData, TensorData)> {
        self.layers
            .iter()
            .map(|l| {
                let bias = l.bias.as_ref().expect("every layer is built with a bias");
                (l.weight.val().into_data(), bias.val().into_data())
            })
            .collect()
    }

    /// # Shapes
    /// - input: `[batch, d_input]`
    /// - output: `[batch, d_output]`
    pub fn forward(&self, x: Tensor<2>, masks: Masks) -> Tensor<2> {
        self.forward_from(product(x, self.layers[0].weight.val()), masks)
    }

    /// [`Mlp::forward`] of `[left ; right]`, the two joined along columns, without joining
    /// them: the first layer multiplies each by its own rows of the weight. Backward then
    /// never forms a gradient for a `right` that needs none (the item tower's content, whose
    /// gradient would cost as much as the layer's own).
    ///
    /// # Shapes
    /// - left: `[batch, l]`, right: `[batch, d_input − l]`
    /// - output: `[batch, d_output]`
    pub fn forward_joined(&self, left: Tensor<2>, right: Tensor<2>, masks: Masks) -> Tensor<2> {
        let weight = self.layers[0].weight.val();
        let [rows, width] = weight.dims();
        let [_, split] = left.dims();
        let first = product(left, weight.clone().slice([0..split, 0..width]))
            + product(right, weight.slice([split..rows, 0..width]));
        self.forward_from(first, masks)
    }

    /// The layers after the first one's product `x · W₀`.
    fn forward_from(&self, mut x: Tensor<2>, mut masks: Masks) -> Tensor<2> {
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                x = product(x, layer.weight.val());
            }
            if let Some(bias) = &layer.bias {
                x = x + bias.val().unsqueeze();
            }
            if i < last {
                x = relu(x);
                if let Some(rng) = masks.as_deref_mut() {
                    x = dropout(x, self.dropout, rng);
                }
            }
        }
        x
    }
}

/// `x` with each entry zeroed with probability `prob` and the others scaled by 1 / (1 − prob),
/// the whole mask drawn from `rng` at once: burn's dropout samples a Bernoulli per entry from a
/// global generator, a larger share of a training step than the layers' products.
fn dropout(x: Tensor<2>, prob: f64, rng: &mut StdRng) -> Tensor<2> {
    if prob == 0.0 {
        return x;
    }
    let [rows, cols] = x.dims();
    let mut draws = vec![0u32; rows * cols];
    rng.fill(&mut draws[..]);
    // A draw below prob · 2³² has probability prob.
    let cut = (prob * 2f64.powi(32)) as u32;
    let kept = (1.0 / (1.0 - prob)) as f32;
    let mask: Vec<f32> = draws
        .into_iter()
        .map(|d| if d < cut { 0.0 } else { kept })
        .collect();
    let device = x.device().inner();
    x * Tensor::from_data(TensorData::new(mask, [rows, cols]), &device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;

    #[test]
    fn the_joined_forward_is_the_forward_of_the_joined_input() {
        let device = Device::default();
        let mlp = MlpConfig::new(7, vec![5], 3).init(&device);
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + seed) * 0.61).sin()).collect()
        };
        let left = Tensor::<2>::from_data(TensorData::new(values(8, 1.0), [4, 2]), &device);
        let right = Tensor::<2>::from_data(TensorData::new(values(20, 2.0), [4, 5]), &device);
        let joined = mlp.forward(Tensor::cat(vec![left.clone(), right.clone()], 1), None);
        mlp.forward_joined(left, right, None)
            .into_data()
            .assert_approx_eq::<f32>(&joined.into_data(), Tolerance::absolute(1e-6));
    }

    #[test]
    fn dropout_zeroes_its_share_scales_the_rest_and_follows_the_seed() {
        use rand::SeedableRng;
        let device = Device::default();
        let ones = || Tensor::<2>::ones([200, 50], &device);
        let draw = |seed| -> Vec<f32> {
            dropout(ones(), 0.25, &mut StdRng::seed_from_u64(seed))
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        let values = draw(1);
        let zeros = values.iter().filter(|v| **v == 0.0).count() as f64 / values.len() as f64;
        assert!((zeros - 0.25).abs() < 0.02, "share dropped {zeros}");
        assert!(
            values
                .iter()
                .all(|v| *v == 0.0 || (*v - 4.0 / 3.0).abs() < 1e-6)
        );
        assert_eq!(values, draw(1));
        assert_ne!(values, draw(2));
    }
}
