//! Training losses for two-tower retrieval, each a small function over score tensors.
//! Positives carry a weight (thumbs +1 or +2), so strong likes count more.

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, relu};

/// Which loss trains the towers.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum LossKind {
    /// max(0, margin − s⁺ + s⁻) over (user, positive, negative) triplets, on cosines.
    MarginRanking,
    /// −log σ(s⁺) − log σ(−s⁻) over triplets, on logits (cosine / τ + bias).
    BinaryCrossEntropy,
    /// Softmax over the positive and the sampled negatives (in-batch and explicit), on logits
    /// (`pipeline::train::softmax`).
    SampledSoftmax,
}

/// Weighted margin ranking loss.
///
/// # Shapes
/// - pos: `[b]`, neg: `[b, n]` scores; weights: `[b]`
/// - output: `[1]`, the weighted mean over all b·n triplets
pub fn margin_ranking(
    pos: Tensor<1>,
    neg: Tensor<2>,
    weights: Tensor<1>,
    margin: f64,
) -> Tensor<1> {
    let [b, n] = neg.dims();
    let hinge = relu(neg.sub(pos.reshape([b, 1])).add_scalar(margin));
    weighted_mean(hinge.sum_dim(1).reshape([b]).div_scalar(n as f64), weights)
}

/// Weighted binary cross-entropy: positives toward 1, negatives toward 0.
///
/// # Shapes
/// - pos: `[b]`, neg: `[b, n]` logits; weights: `[b]`
/// - output: `[1]`
pub fn binary_cross_entropy(pos: Tensor<1>, neg: Tensor<2>, weights: Tensor<1>) -> Tensor<1> {
    let [b, n] = neg.dims();
    let pos_term = log_sigmoid(pos).neg();
    let neg_term = log_sigmoid(neg.neg())
        .neg()
        .sum_dim(1)
        .reshape([b])
        .div_scalar(n as f64);
    weighted_mean(pos_term + neg_term, weights)
}

fn weighted_mean(values: Tensor<1>, weights: Tensor<1>) -> Tensor<1> {
    (values * weights.clone()).sum() / weights.sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn margin_ranking_by_hand() {
        let d = Device::default();
        // Row 0: hinges max(0, 0.5 − 0.9 + 0.2) = 0 and max(0, 0.5 − 0.9 + 0.6) = 0.2 → mean 0.1.
        // Row 1: max(0, 0.5 − 0.1 + 0.3) = 0.7 and max(0, 0.5 − 0.1 − 0.5) = 0 → mean 0.35.
        // Weights 1 and 2: (0.1 + 2·0.35) / 3 = 0.2667.
        let loss = margin_ranking(
            Tensor::from_data([0.9f32, 0.1], &d),
            Tensor::from_data([[0.2f32, 0.6], [0.3, -0.5]], &d),
            Tensor::from_data([1.0f32, 2.0], &d),
            0.5,
        );
        assert!((value(loss) - 0.8 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn binary_cross_entropy_by_hand() {
        let d = Device::default();
        // −ln σ(2) − ln σ(−0) = 0.126928 + 0.693147 = 0.820075.
        let loss = binary_cross_entropy(
            Tensor::from_data([2.0f32], &d),
            Tensor::from_data([[0.0f32]], &d),
            Tensor::from_data([1.0f32], &d),
        );
        let got = value(loss);
        assert!((got - 0.820_075).abs() < 1e-5, "{got}");
    }
}
