//! The softmax both of training's softmax losses use (the towers' sampled softmax and the visitor
//! encoder's full one): cross-entropy over the scores `users · itemsᵀ / τ + bias`, with its
//! gradient formed outside autodiff in one pass per row.

use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// What a row of the softmax is trained towards: (column, weight) pairs, the weights summing to 1.
pub type Targets = [Vec<(usize, f32)>];

/// Weighted softmax cross-entropy of the scores `S = users · itemsᵀ / τ + bias` against
/// `targets`, with the `mask`ed scores dropped (row-major `[b, c]`, true = drop, never a target).
/// Row r's loss is `logsumexp(S_r) − Σ_c t_rc · S_rc`, which is `−Σ_c t_rc · log softmax(S_r)_c`;
/// the rows are averaged with `weights`.
///
/// The scores are one product outside autodiff; one pass per row (the rows in parallel) then
/// turns them into the loss and its gradient `∂L/∂S_r = w_r / Σw · (softmax(S_r) − t_r)`, and two
/// products carry that to `users`, `items` and `bias` through the returned tensor. Autodiff
/// through the decomposed softmax formed about ten score-sized tensors a step, one scalar `exp`
/// at a time on one thread: most of an epoch's time outside the products.
///
/// # Shapes
/// - users: `[b, d]`; items: `[c, d]`; bias: `[c]`; mask: `b · c`; targets, weights: `b`
/// - output: `[1]`
pub fn score_softmax(
    users: Tensor<2>,
    items: Tensor<2>,
    bias: Tensor<1>,
    temperature: f64,
    targets: &Targets,
    mask: Option<&[bool]>,
    weights: &[f32],
) -> Tensor<1> {
    let [b, _] = users.dims();
    let [c, _] = items.dims();
    assert_eq!(targets.len(), b, "one target list per row");
    assert_eq!(weights.len(), b, "one weight per row");
    assert!(
        mask.is_none_or(|m| m.len() == b * c),
        "a mask of b · c scores"
    );
    let device = users.device().inner();
    let scaled = users.clone().inner().div_scalar(temperature);
    let item_rows = items.clone().inner();
    let scores =
        scaled.clone().matmul(item_rows.clone().transpose()) + bias.clone().inner().reshape([1, c]);
    let mut gradient: Vec<f32> = scores.into_data().try_into_vec().expect("f32 scores");
    let total: f32 = weights.iter().sum();
    let loss: f64 = gradient
        .par_chunks_mut(c)
        .enumerate()
        .map(|(r, row)| {
            if let Some(mask) = mask {
                for (s, &drop) in row.iter_mut().zip(&mask[r * c..(r + 1) * c]) {
                    if drop {
                        // −∞: its exp is 0 at once, where libm's takes the slow underflow path.
                        *s = f32::NEG_INFINITY;
                    }
                }
            }
            let picked: f32 = targets[r].iter().map(|&(col, t)| t * row[col]).sum();
            let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for s in row.iter_mut() {
                *s = (*s - top).exp();
                sum += *s;
            }
            let share = weights[r] / total;
            let scale = share / sum;
            for s in row.iter_mut() {
                *s *= scale;
            }
            for &(col, t) in &targets[r] {
                row[col] -= share * t;
            }
            f64::from(share) * f64::from(top + sum.ln() - picked)
        })
        .sum();
    let gradient = Tensor::<2>::from_data(TensorData::new(gradient, [b, c]), &device);
    // ∂L/∂users = G · items / τ, ∂L/∂items = Gᵀ · users / τ, ∂L/∂bias = Σ_r G_r; each term of the
    // carrier has its gradient and no value of its own.
    let mut carrier = (users * gradient.clone().matmul(item_rows).div_scalar(temperature)).sum();
    if items.is_tracked() {
        carrier = carrier + (items * gradient.clone().transpose().matmul(scaled)).sum();
    }
    if bias.is_tracked() {
        carrier = carrier + (bias * gradient.sum_dim(0).reshape([c])).sum();
    }
    carrier.clone() - carrier.detach() + Tensor::from_data([loss as f32], &device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::log_softmax;
    use burn::tensor::{Bool, Device};

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn by_hand_with_a_masked_hit() {
        let d = Device::default();
        // Items are the unit axes, so the scores are the users' rows.
        // Row 0 [2, 0, 0], target 0: −ln(e²/(e²+2)) = ln(1 + 2e⁻²) = 0.239545.
        // Row 1 [1, 1, 5], target 1, column 2 masked: −ln(e/(e+e)) = ln 2 = 0.693147.
        let loss = score_softmax(
            Tensor::from_data([[2.0f32, 0.0, 0.0], [1.0, 1.0, 5.0]], &d),
            Tensor::from_data([[1.0f32, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], &d),
            Tensor::zeros([3], &d),
            1.0,
            &[vec![(0, 1.0)], vec![(1, 1.0)]],
            Some(&[false, false, false, false, false, true]),
            &[1.0, 1.0],
        );
        let got = value(loss);
        assert!((got - (0.239_545 + 0.693_147) / 2.0).abs() < 1e-5, "{got}");
    }

    /// The value and the gradients of users, items and bias equal autodiff's through the
    /// textbook form, on uneven scores, masks, targets and weights.
    #[test]
    fn matches_autodiff_through_log_softmax() {
        let d = Device::default().autodiff();
        let (b, c, dim, temperature) = (4, 19, 3, 0.5);
        let fill = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + seed) * 0.77).sin()).collect()
        };
        let mask: Vec<bool> = (0..b * c)
            .map(|i| (i % c == 6 && i / c != 1) || i == 2 * c + 1)
            .collect();
        let targets: Vec<Vec<(usize, f32)>> =
            (0..b).map(|r| vec![(r % 2, 0.75), (2 + r, 0.25)]).collect();
        let weights = [1.0f32, 2.0, 0.5, 1.0];
        let run = |fused: bool| {
            let param = |v: Vec<f32>, rows: usize, cols: usize| {
                Tensor::<2>::from_data(TensorData::new(v, [rows, cols]), &d).require_grad()
            };
            let users = param(fill(b * dim, 1.0), b, dim);
            let items = param(fill(c * dim, 2.0), c, dim);
            let bias =
                Tensor::<1>::from_data(TensorData::new(fill(c, 3.0), [c]), &d).require_grad();
            let loss = if fused {
                score_softmax(
                    users.clone(),
                    items.clone(),
                    bias.clone(),
                    temperature,
                    &targets,
                    Some(&mask),
                    &weights,
                )
            } else {
                let scores = users
                    .clone()
                    .matmul(items.clone().transpose())
                    .div_scalar(temperature)
                    + bias.clone().reshape([1, c]);
                let dropped =
                    Tensor::<2, Bool>::from_data(TensorData::new(mask.clone(), [b, c]), &d);
                let mut dense = vec![0f32; b * c];
                for (r, row) in targets.iter().enumerate() {
                    for &(col, t) in row {
                        dense[r * c + col] = t;
                    }
                }
                let dense = Tensor::<2>::from_data(TensorData::new(dense, [b, c]), &d);
                let log_p = log_softmax(scores.mask_fill(dropped, f32::NEG_INFINITY), 1);
                let rows = (log_p.mask_fill(dense.clone().equal_elem(0.0), 0.0) * dense)
                    .sum_dim(1)
                    .neg()
                    .reshape([b]);
                let w = Tensor::<1>::from_data(weights, &d);
                (rows * w.clone()).sum() / w.sum()
            };
            let grads = loss.backward();
            let grad = |t: Tensor<2>| -> Vec<f32> {
                t.grad(&grads).unwrap().into_data().try_to_vec().unwrap()
            };
            let mut all = grad(users);
            all.extend(grad(items));
            all.extend(
                bias.grad(&grads)
                    .unwrap()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap(),
            );
            (value(loss.inner()), all)
        };
        let ((fused, got), (textbook, expected)) = (run(true), run(false));
        assert!((fused - textbook).abs() < 1e-5, "{fused} {textbook}");
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-5, "{got:?}\n{expected:?}");
        }
        assert!(
            expected.iter().any(|g| g.abs() > 1e-2),
            "the fixture should have gradients"
        );
    }
}
