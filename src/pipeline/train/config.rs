//! The training configuration: `configs/two_tower_config.yaml` over burn `Config` defaults.
//! The counts (users, items, content width) come from the data, never from the file.

use std::path::Path;

use burn::config::Config;
use burn::optim::AdamConfig;
use serde_json::Value;

use crate::engine::bundle::UserInput;
use crate::engine::model::TwoTowerConfig;
use crate::engine::model::loss::LossKind;
use crate::engine::personalize::PersonalizeConfig;
use crate::engine::score::RankingConfig;
use crate::pipeline::data::split::{Interactions, VisitorCase};
use crate::pipeline::train::visitor::EncoderConfig;

/// Everything that decides a training run; saved beside the weights and in the bundle.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// The architecture.
    pub model: TwoTowerConfig,
    /// Adam's betas, epsilon and weight decay.
    pub optimizer: AdamConfig,
    /// How visitors are fitted (validation and the browser use the same).
    pub personalize: PersonalizeConfig,
    /// How a visitor's vector ranks the catalog (validation and the browser use the same).
    #[config(default = "RankingConfig::new()")]
    pub ranking: RankingConfig,
    /// What a visitor's user tower reads: their pooled thumbs (the visitor encoder, trained
    /// after the towers) or a vector fitted from the id tower's prior.
    #[config(default = "UserInput::Thumbs")]
    pub user_input: UserInput,
    /// How the visitor encoder is trained (with `user_input: thumbs`).
    #[config(default = "EncoderConfig::new()")]
    pub encoder: EncoderConfig,
    /// The loss.
    #[config(default = "LossKind::SampledSoftmax")]
    pub loss: LossKind,
    /// Margin of the margin ranking loss, on cosines.
    #[config(default = 0.2)]
    pub margin: f64,
    /// Upper bound on epochs; early stopping usually ends sooner.
    #[config(default = 20)]
    pub num_epochs: usize,
    /// Epochs without a validation gain before stopping.
    #[config(default = 3)]
    pub patience: usize,
    /// Positives per batch.
    #[config(default = 512)]
    pub batch_size: usize,
    /// Negatives drawn per positive.
    #[config(default = 4)]
    pub negatives: usize,
    /// Chance that a negative is one of the user's thumbs-downs (when they have any).
    #[config(default = 0.0)]
    pub thumbs_down_negative_rate: f64,
    /// Adam's learning rate.
    #[config(default = 2e-3)]
    pub learning_rate: f64,
    /// Share of train users held out as validation visitors for early stopping.
    #[config(default = 0.2)]
    pub validation_fraction: f64,
    /// Ratings each validation visitor gives (the visitor protocol's k).
    #[config(default = 10)]
    pub validation_k: usize,
    /// Seed of initialisation, shuffling and sampling.
    #[config(default = 42)]
    pub seed: u64,
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: unknown field `{field}` (known here: {known})")]
    UnknownField {
        path: String,
        field: String,
        known: String,
    },
    #[error("{path}: field `{field}` is {got} in the file but the data says {expected}")]
    Mismatch {
        path: String,
        field: String,
        expected: String,
        got: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Counts taken from the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataCounts {
    pub num_users: usize,
    pub num_items: usize,
    pub content_dim: usize,
}

/// Merges `overrides` into `base`, refusing keys that `base` does not have.
fn merge(base: &mut Value, overrides: &Value, at: &str, path: &Path) -> Result<(), ConfigError> {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (key, value) in overrides {
                let here = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match base.get_mut(key) {
                    Some(slot) => merge(slot, value, &here, path)?,
                    None => {
                        return Err(ConfigError::UnknownField {
                            path: path.display().to_string(),
                            field: here,
                            known: base.keys().cloned().collect::<Vec<_>>().join(", "),
                        });
                    }
                }
            }
            Ok(())
        }
        (slot, value) => {
            *slot = value.clone();
            Ok(())
        }
    }
}

impl TrainingConfig {
    /// The defaults for data of these counts.
    pub fn defaults(counts: DataCounts) -> Self {
        TrainingConfig::new(
            TwoTowerConfig::new(counts.num_users, counts.num_items, counts.content_dim),
            AdamConfig::new(),
            PersonalizeConfig::new(),
        )
    }

    /// Reads a YAML file of overrides; counts in it must agree with the data.
    pub fn load(path: &Path, counts: DataCounts) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_yaml(&text, path, counts)
    }

    /// Parses YAML overrides (see [`TrainingConfig::load`]).
    pub fn from_yaml(text: &str, path: &Path, counts: DataCounts) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let overrides: Value = serde_yaml_ng::from_str::<Option<Value>>(text)
            .map_err(|e| invalid(format!("not valid YAML: {e}")))?
            .unwrap_or(Value::Object(Default::default()));
        for (field, expected) in [
            ("num_users", counts.num_users),
            ("num_items", counts.num_items),
            ("content_dim", counts.content_dim),
        ] {
            if let Some(got) = overrides.get("model").and_then(|m| m.get(field))
                && got.as_u64() != Some(expected as u64)
            {
                return Err(ConfigError::Mismatch {
                    path: path.display().to_string(),
                    field: format!("model.{field}"),
                    expected: expected.to_string(),
                    got: got.to_string(),
                });
            }
        }
        let mut merged =
            serde_json::to_value(Self::defaults(counts)).map_err(|e| invalid(e.to_string()))?;
        merge(&mut merged, &overrides, "", path)?;
        let config: Self =
            serde_json::from_value(merged).map_err(|e| invalid(format!("bad value: {e}")))?;
        if config.batch_size == 0 || config.num_epochs == 0 || config.negatives == 0 {
            return Err(invalid(
                "batch_size, num_epochs and negatives must be at least 1".into(),
            ));
        }
        if !(config.model.temperature > 0.0) {
            return Err(invalid(format!(
                "model.temperature must be > 0, got {}",
                config.model.temperature
            )));
        }
        Ok(config)
    }

    /// Carves this config's validation visitors out of `train` (see [`super::carve_validation`])
    /// and sizes the model to the users and items kept for training.
    pub fn carve_validation(&mut self, train: &Interactions) -> (Interactions, Vec<VisitorCase>) {
        let (kept, valid) = super::carve_validation(
            train,
            self.validation_fraction,
            self.validation_k,
            self.seed,
        );
        self.model.num_users = kept.num_users();
        self.model.num_items = kept.num_items;
        (kept, valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNTS: DataCounts = DataCounts {
        num_users: 10,
        num_items: 20,
        content_dim: 5,
    };

    #[test]
    fn yaml_overrides_defaults() {
        let config = TrainingConfig::from_yaml(
            "loss: MarginRanking\nmodel:\n  output_dim: 16\npersonalize:\n  steps: 7\n",
            Path::new("c.yaml"),
            COUNTS,
        )
        .unwrap();
        assert_eq!(config.loss, LossKind::MarginRanking);
        assert_eq!(config.model.output_dim, 16);
        assert_eq!(config.model.num_items, 20);
        assert_eq!(config.personalize.steps, 7);
        assert_eq!(config.batch_size, 512);
    }

    #[test]
    fn an_unknown_field_is_named() {
        let err =
            TrainingConfig::from_yaml("model:\n  outptu_dim: 16\n", Path::new("c.yaml"), COUNTS)
                .unwrap_err()
                .to_string();
        assert!(err.contains("model.outptu_dim"), "{err}");
    }

    #[test]
    fn a_content_width_that_disagrees_with_the_layout_is_named() {
        let err =
            TrainingConfig::from_yaml("model:\n  content_dim: 6\n", Path::new("c.yaml"), COUNTS)
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("model.content_dim") && err.contains('5') && err.contains('6'),
            "{err}"
        );
    }
}
