//! Item tower: [movie-id embedding ; content features] → ReLU MLP → L2-normalised vector.

use burn::module::Module;
use burn::nn::Embedding;
use burn::tensor::{Int, Tensor};

use super::l2_normalize;
use super::mlp::{Masks, Mlp};

/// The item side of the two-tower model.
#[derive(Module, Debug)]
pub struct ItemTower {
    pub embedding: Embedding,
    pub mlp: Mlp,
}

impl ItemTower {
    /// Vectors for catalog items, with dropout where given `masks`.
    ///
    /// # Shapes
    /// - items: `[batch]`
    /// - content: `[batch, content_dim]` (the rows of those items)
    /// - output: `[batch, output_dim]`, unit rows
    pub fn forward(&self, items: Tensor<1, Int>, content: Tensor<2>, masks: Masks) -> Tensor<2> {
        item_vectors(
            &self.mlp,
            self.embedding.weight.val().select(0, items),
            content,
            masks,
        )
    }
}

/// The item tower after its id embedding: `[id rows ; content]` through the MLP, then
/// L2-normalised. A movie with no learned id (added after training, or dropped in training)
/// passes zeros as its id row.
///
/// # Shapes
/// - ids: `[batch, item_embedding_dim]`
/// - content: `[batch, content_dim]`
/// - output: `[batch, output_dim]`, unit rows
pub fn item_vectors(mlp: &Mlp, ids: Tensor<2>, content: Tensor<2>, masks: Masks) -> Tensor<2> {
    l2_normalize(mlp.forward_joined(ids, content, masks))
}
