//! A ReLU multi-layer perceptron: Linear → ReLU (→ dropout) … → Linear.

use burn::config::Config;
use burn::module::Module;
use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

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
    dropout: Dropout,
}

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
            dropout: DropoutConfig::new(self.dropout).init(),
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
            dropout: DropoutConfig::new(0.0).init(),
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
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward_from(product(x, self.layers[0].weight.val()))
    }

    /// [`Mlp::forward`] of `[left ; right]`, the two joined along columns, without joining
    /// them: the first layer multiplies each by its own rows of the weight. Backward then
    /// never forms a gradient for a `right` that needs none (the item tower's content, whose
    /// gradient would cost as much as the layer's own).
    ///
    /// # Shapes
    /// - left: `[batch, l]`, right: `[batch, d_input − l]`
    /// - output: `[batch, d_output]`
    pub fn forward_joined(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<2> {
        let weight = self.layers[0].weight.val();
        let [rows, width] = weight.dims();
        let [_, split] = left.dims();
        let first = product(left, weight.clone().slice([0..split, 0..width]))
            + product(right, weight.slice([split..rows, 0..width]));
        self.forward_from(first)
    }

    /// The layers after the first one's product `x · W₀`.
    fn forward_from(&self, mut x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                x = product(x, layer.weight.val());
            }
            if let Some(bias) = &layer.bias {
                x = x + bias.val().unsqueeze();
            }
            if i < last {
                x = self.dropout.forward(relu(x));
            }
        }
        x
    }
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
        let joined = mlp.forward(Tensor::cat(vec![left.clone(), right.clone()], 1));
        mlp.forward_joined(left, right)
            .into_data()
            .assert_approx_eq::<f32>(&joined.into_data(), Tolerance::absolute(1e-6));
    }
}
