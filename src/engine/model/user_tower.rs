//! User tower: user-id embedding → ReLU MLP → L2-normalised vector. A visitor has no id, so
//! [`user_vectors`] takes the embedding-space vector directly (what personalisation
//! fine-tunes).

use burn::module::Module;
use burn::nn::Embedding;
use burn::tensor::{Int, Tensor};

use super::l2_normalize;
use super::mlp::{Masks, Mlp};

/// The user side of the two-tower model.
#[derive(Module, Debug)]
pub struct UserTower {
    pub embedding: Embedding,
    pub mlp: Mlp,
}

impl UserTower {
    /// Vectors for known users, with dropout where given `masks`.
    ///
    /// # Shapes
    /// - users: `[batch]`
    /// - output: `[batch, output_dim]`, unit rows
    pub fn forward(&self, users: Tensor<1, Int>, masks: Masks) -> Tensor<2> {
        user_vectors(
            &self.mlp,
            self.embedding.weight.val().select(0, users),
            masks,
        )
    }

    /// The mean of all users' id embeddings: the starting point for a new visitor.
    ///
    /// # Shapes
    /// - output: `[user_embedding_dim]`
    pub fn mean_input(&self) -> Tensor<1> {
        let [_, width] = self.embedding.weight.dims();
        self.embedding.weight.val().mean_dim(0).reshape([width])
    }
}

/// The user tower after its id embedding: the MLP, then L2-normalised. The one forward pass for
/// training, evaluation and the browser's frozen tower.
///
/// # Shapes
/// - input: `[batch, user_embedding_dim]`
/// - output: `[batch, output_dim]`, unit rows
pub fn user_vectors(mlp: &Mlp, input: Tensor<2>, masks: Masks) -> Tensor<2> {
    l2_normalize(mlp.forward(input, masks))
}
