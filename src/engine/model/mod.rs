//! The two-tower model: a user tower and an item tower whose L2-normalised outputs are scored
//! by dot product (cosine), plus an optional per-item popularity bias. Generic over the device:
//! no backend is named here, so the browser and the native trainer share it.

pub mod item_tower;
pub mod loss;
pub mod mlp;
pub mod two_tower;
pub mod user_tower;

pub use item_tower::ItemTower;
pub use two_tower::{TwoTowerConfig, TwoTowerModel};
pub use user_tower::UserTower;

use burn::tensor::Tensor;

/// `x · w`.
///
/// The browser only multiplies one visitor's row by a matrix, or a catalog's rows by one query:
/// wasm builds form the product as a broadcast multiply and a sum ([`broadcast_product`]), which
/// needs none of burn-wgpu's matmul kernels (much of the WebGPU module's download otherwise).
/// Native training multiplies whole batches, where matmul is the right tool.
///
/// # Shapes
/// - x: `[b, k]`, w: `[k, n]`
/// - output: `[b, n]`
pub fn product(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    #[cfg(target_arch = "wasm32")]
    {
        broadcast_product(x, w)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        x.matmul(w)
    }
}

/// [`product`] as `[b, k, 1] * [1, k, n]` summed over `k`: elementwise and reduce kernels only.
pub fn broadcast_product(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    let ([b, k], [_, n]) = (x.dims(), w.dims());
    (x.reshape([b, k, 1]) * w.reshape([1, k, n]))
        .sum_dim(1)
        .reshape([b, n])
}

/// Divides each row by its L2 norm (rows of zeros stay zero).
///
/// # Shapes
/// - input: `[batch, dim]`
/// - output: `[batch, dim]`
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn the_broadcast_product_is_the_matrix_product() {
        let device = Device::default();
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
        };
        for (b, k, n) in [(1, 32, 64), (3, 5, 4), (7, 6, 1)] {
            let x = Tensor::<2>::from_data(TensorData::new(values(b * k, 1.0), [b, k]), &device);
            let w = Tensor::<2>::from_data(TensorData::new(values(k * n, 2.0), [k, n]), &device);
            let want = x.clone().matmul(w.clone());
            let got = broadcast_product(x, w);
            assert_eq!(got.dims(), [b, n]);
            got.into_data().assert_approx_eq::<f32>(
                &want.into_data(),
                burn::tensor::Tolerance::absolute(1e-5),
            );
        }
    }
}
