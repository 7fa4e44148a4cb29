//! What a tuning program reads off one scorer on the validation visitors carved from the train
//! users (never the test visitors): ndcg@20 and coverage@20 at each number of given ratings,
//! the one-genre personas' share and the mixed personas' figure.

use std::fmt;
use std::path::PathBuf;

use burn::tensor::Device;

use super::personas::{
    MixedPersona, Persona, mean_figure, mean_share, mixed_lists, mixed_personas, mixed_shares,
    persona_lists, persona_shares, personas,
};
use super::{EvalError, K_AT, VisitorScorer, evaluate_visitors};
use crate::pipeline::data::split::{GIVEN_COUNTS, Interactions, VisitorCase};
use crate::pipeline::stages::Paths;
use crate::pipeline::stages::inputs::{Inputs, load_inputs};
use crate::pipeline::stages::train::load_trained;
use crate::pipeline::train::{Trained, TrainingConfig, carve_validation};

/// What a tuning program works on: `prepare`'s inputs (from `$MOVIE_GENIE_DATA`, default
/// `../shared/data`) and the model `train` wrote to the program's first argument (default
/// `models`), on the CPU.
pub struct Tuning {
    pub inputs: Inputs,
    pub trained: Trained,
    pub config: TrainingConfig,
    pub device: Device,
}

impl Tuning {
    /// Loads what the command line names.
    pub fn from_args() -> anyhow::Result<Self> {
        let models = std::env::args().nth(1).unwrap_or_else(|| "models".into());
        let data = PathBuf::from(
            std::env::var("MOVIE_GENIE_DATA").unwrap_or_else(|_| "../shared/data".into()),
        );
        let paths = Paths {
            models: models.into(),
            ..Paths::defaults(&data)
        };
        let (_, inputs) = load_inputs(&paths)?;
        let device = crate::engine::cpu_device();
        let (trained, config) = load_trained(&paths.models, &inputs, &device)?;
        Ok(Self {
            inputs,
            trained,
            config,
            device,
        })
    }

    /// The validation visitors of the loaded inputs, carved as training carves them.
    pub fn validation(&self) -> Validation {
        Self::validation_of(&self.inputs, &self.config)
    }

    /// The validation visitors of `inputs`, carved as training with `config` carves them.
    pub fn validation_of(inputs: &Inputs, config: &TrainingConfig) -> Validation {
        Validation::carve(&inputs.split.train_interactions(), &inputs.genres(), config)
    }
}

/// The validation visitors of every given count, with the personas of the kept train users.
pub struct Validation {
    /// The train users left after carving (what a model is fitted on).
    pub kept: Interactions,
    /// Per given count (`GIVEN_COUNTS`): the visitors.
    pub visitors: Vec<Vec<VisitorCase>>,
    personas: Vec<Persona>,
    mixed: Vec<MixedPersona>,
    genres: Vec<Vec<String>>,
}

/// One scorer's validation figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Per given count: ndcg@20 and coverage@20.
    pub visitors: [(f64, f64); GIVEN_COUNTS.len()],
    pub persona_share: f64,
    pub mixed: f64,
}

impl Validation {
    /// Carves the validation visitors of `train` as the config's training does.
    pub fn carve(train: &Interactions, genres: &[Vec<String>], config: &TrainingConfig) -> Self {
        let mut sets = GIVEN_COUNTS
            .iter()
            .map(|&k| carve_validation(train, config.validation_fraction, k, config.seed));
        let (kept, first) = sets.next().expect("given counts");
        let mut visitors = vec![first];
        visitors.extend(sets.map(|(_, valid)| valid));
        Self {
            personas: personas(genres, &kept),
            mixed: mixed_personas(genres, &kept),
            kept,
            visitors,
            genres: genres.to_vec(),
        }
    }

    /// `scorer`'s figures.
    pub fn figures(&self, scorer: &dyn VisitorScorer) -> Result<Figures, EvalError> {
        let n = self.genres.len();
        let mut visitors = [(0.0, 0.0); GIVEN_COUNTS.len()];
        for (out, cases) in visitors.iter_mut().zip(&self.visitors) {
            let m = evaluate_visitors(scorer, cases, n, K_AT)?;
            *out = (m.ndcg, m.coverage);
        }
        let lists = persona_lists(scorer, &self.personas, K_AT);
        let persona_share = mean_share(&persona_shares(&self.personas, &lists, &self.genres, K_AT));
        let lists = mixed_lists(scorer, &self.mixed, K_AT);
        let mixed = mean_figure(&mixed_shares(&self.mixed, &lists, &self.genres, K_AT));
        Ok(Figures {
            visitors,
            persona_share,
            mixed,
        })
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (ndcg, coverage) in &self.visitors {
            write!(f, "  ndcg {ndcg:.4} cov {coverage:.4}")?;
        }
        write!(
            f,
            "  personas {:.3}  mixed personas {:.3}",
            self.persona_share, self.mixed
        )
    }
}
