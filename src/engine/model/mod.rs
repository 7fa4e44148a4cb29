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

/// Divides each row by its L2 norm (rows of zeros stay zero).
///
/// # Shapes
/// - input: `[batch, dim]`
/// - output: `[batch, dim]`
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}
