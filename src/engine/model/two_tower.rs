//! The two-tower model and its configuration.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::tensor::{Device, Int, Tensor};

use super::item_tower::ItemTower;
use super::mlp::MlpConfig;
use super::user_tower::UserTower;

/// Architecture of the two-tower model. Only the counts are required.
#[derive(Config, Debug)]
pub struct TwoTowerConfig {
    /// Users with an id embedding (train users).
    pub num_users: usize,
    /// Catalog items with an id embedding.
    pub num_items: usize,
    /// Width of the content feature vector (`FeatureLayout::dim`).
    pub content_dim: usize,
    /// Width of the user-id embedding (what a visitor's fine-tuning moves).
    #[config(default = 32)]
    pub user_embedding_dim: usize,
    /// Width of the movie-id embedding.
    #[config(default = 32)]
    pub item_embedding_dim: usize,
    /// Hidden widths of the user tower's ReLU MLP.
    #[config(default = "vec![64]")]
    pub user_hidden: Vec<usize>,
    /// Hidden widths of the item tower's ReLU MLP.
    #[config(default = "vec![128]")]
    pub item_hidden: Vec<usize>,
    /// Width of both towers' outputs (the shared embedding space).
    #[config(default = 64)]
    pub output_dim: usize,
    /// Dropout after hidden layers, in training only.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Cosines are divided by this before the softmax / sigmoid losses and the item bias.
    #[config(default = 0.1)]
    pub temperature: f64,
    /// Learn a per-item bias added to the scaled cosine (captures popularity).
    #[config(default = true)]
    pub item_bias: bool,
}

/// User tower, item tower and the optional item bias.
#[derive(Module, Debug)]
pub struct TwoTowerModel {
    pub user: UserTower,
    pub item: ItemTower,
    /// `[num_items, 1]`, present when `item_bias` is on.
    pub bias: Option<Embedding>,
    pub temperature: f64,
}

impl TwoTowerConfig {
    /// The user tower's MLP: user embedding → hidden (ReLU) → output; no dropout.
    pub fn user_mlp(&self) -> MlpConfig {
        MlpConfig::new(
            self.user_embedding_dim,
            self.user_hidden.clone(),
            self.output_dim,
        )
    }

    /// The item tower's MLP: [item embedding ; content] → hidden (ReLU) → output; no dropout.
    pub fn item_mlp(&self) -> MlpConfig {
        MlpConfig::new(
            self.item_embedding_dim + self.content_dim,
            self.item_hidden.clone(),
            self.output_dim,
        )
    }

    /// Builds a freshly initialised model on `device`.
    pub fn init(&self, device: &Device) -> TwoTowerModel {
        let small = Initializer::Normal {
            mean: 0.0,
            std: 0.1,
        };
        TwoTowerModel {
            user: UserTower {
                embedding: EmbeddingConfig::new(self.num_users, self.user_embedding_dim)
                    .with_initializer(small.clone())
                    .init(device),
                mlp: self.user_mlp().with_dropout(self.dropout).init(device),
            },
            item: ItemTower {
                embedding: EmbeddingConfig::new(self.num_items, self.item_embedding_dim)
                    .with_initializer(small)
                    .init(device),
                mlp: self.item_mlp().with_dropout(self.dropout).init(device),
            },
            bias: self.item_bias.then(|| {
                EmbeddingConfig::new(self.num_items, 1)
                    .with_initializer(Initializer::Zeros)
                    .init(device)
            }),
            temperature: self.temperature,
        }
    }
}

impl TwoTowerModel {
    /// Per-item bias, zeros without one.
    ///
    /// # Shapes
    /// - items: `[batch]`
    /// - output: `[batch]`
    pub fn item_bias(&self, items: Tensor<1, Int>) -> Tensor<1> {
        let [batch] = items.dims();
        match &self.bias {
            Some(bias) => bias.weight.val().select(0, items).reshape([batch]),
            None => Tensor::zeros([batch], &items.device()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn towers_give_unit_vectors_of_the_configured_width() {
        let device = Device::default();
        let model = TwoTowerConfig::new(5, 7, 3)
            .with_output_dim(8)
            .init(&device);
        let users = model
            .user
            .forward(Tensor::from_data([0i64, 4, 2], &device), None);
        let items = model.item.forward(
            Tensor::from_data([1i64, 6], &device),
            Tensor::from_data([[0.5f32, -1.0, 2.0], [0.0, 0.0, 1.0]], &device),
            None,
        );
        assert_eq!(users.dims(), [3, 8]);
        assert_eq!(items.dims(), [2, 8]);
        for norms in [users, items] {
            let norms: Vec<f32> = norms
                .powi_scalar(2)
                .sum_dim(1)
                .sqrt()
                .into_data()
                .try_to_vec()
                .unwrap();
            for n in norms {
                assert!((n - 1.0).abs() < 1e-5, "norm {n}");
            }
        }
        assert_eq!(model.user.mean_input().dims(), [32]);
    }
}
