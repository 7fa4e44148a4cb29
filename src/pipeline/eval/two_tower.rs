//! The two-tower model as `evaluate` scores it: a visitor's thumbs fitted by the browser's
//! personalisation ([`FrozenUserTower`]) and ranked by the browser's [`Ranker`] over the int8
//! table `export` ships, so every offline figure is the shipped code's.

use std::collections::HashMap;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{VisitorScorer, WarmScorer, evaluate_visitors};
use crate::engine::model::TwoTowerModel;
use crate::engine::personalize::{FrozenUserTower, ItemVectors, PersonalizeConfig};
use crate::engine::ranker::Ranker;
use crate::engine::score::{Genres, RankingConfig};
use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::VisitorCase;
use crate::pipeline::train::{Trained, TrainingConfig, user_tower_data};

/// The two-tower model scoring a visitor as the browser does: personalisation, then the
/// ranker's score over the int8 table.
pub struct TwoTowerVisitor {
    tower: FrozenUserTower,
    config: PersonalizeConfig,
    ranker: Ranker,
}

impl TwoTowerVisitor {
    /// Freezes the model's user tower for visitors and quantises `items` as `export` does.
    pub fn new(
        model: &TwoTowerModel,
        items: &ItemVectors,
        genres: Genres,
        config: PersonalizeConfig,
        ranking: RankingConfig,
        device: &Device,
    ) -> Self {
        let (layers, prior) = user_tower_data(model);
        let tower = FrozenUserTower::new(layers, prior, model.temperature, &device.clone().inner());
        let ranker = Ranker::int8(items, model.temperature, genres, ranking)
            .expect("trained item vectors should be finite");
        Self {
            tower,
            config,
            ranker,
        }
    }

    /// The scorer of a trained model with the config's personalisation and ranking.
    pub fn of(
        trained: &Trained,
        genres: &Genres,
        config: &TrainingConfig,
        device: &Device,
    ) -> Self {
        Self::new(
            &trained.model,
            &trained.items,
            genres.clone(),
            config.personalize.clone(),
            config.ranking.clone(),
            device,
        )
    }

    /// The same model ranking with other settings.
    pub fn with_ranking(self, ranking: RankingConfig) -> Self {
        Self {
            ranker: self.ranker.with_config(ranking),
            ..self
        }
    }

    /// The visitor's unit vector.
    pub fn user_vector(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        let user = self
            .tower
            .personalize(self.ranker.items(), given, &self.config)
            .expect("evaluation cases index the catalog");
        user.into_data()
            .try_to_vec::<f32>()
            .expect("f32 user vector")
    }

    /// The ranking query for a visitor vector, as the browser forms it.
    pub fn query(&self, user: &[f32]) -> Vec<f32> {
        self.ranker
            .query(user, self.ranker.config().popularity_weight)
    }

    /// Every item's score for a visitor vector and the thumbs it was fitted to.
    pub fn score_vector(&self, user: &[f32], given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.ranker
            .scores(user, given, self.ranker.config().popularity_weight)
            .expect("a visitor vector has the table's width")
    }

    /// What it ranks with.
    pub fn ranker(&self) -> &Ranker {
        &self.ranker
    }
}

impl VisitorScorer for TwoTowerVisitor {
    fn name(&self) -> String {
        "two-tower".into()
    }

    fn score_visitor(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.score_vector(&self.user_vector(given), given)
    }
}

/// Training's validation as the stages measure it: ndcg@20 of the two-tower scorer over
/// `cases`, with the config's personalisation and ranking.
pub fn validation_ndcg<'a>(
    cases: &'a [VisitorCase],
    genres: &'a Genres,
    config: &'a TrainingConfig,
    device: &'a Device,
) -> impl Fn(&TwoTowerModel, &ItemVectors) -> f64 + 'a {
    move |model, items| {
        let scorer = TwoTowerVisitor::new(
            model,
            items,
            genres.clone(),
            config.personalize.clone(),
            config.ranking.clone(),
            device,
        );
        evaluate_visitors(&scorer, cases, items.len(), 20)
            .expect("the scorer gives one score per catalog item")
            .ndcg
    }
}

/// The two-tower model scoring its own train users by id (the warm protocol); users it did not
/// train on (its validation visitors) are scored as visitors from their training thumbs.
pub struct TwoTowerWarm {
    users: Vec<Vec<f32>>,
    rows: HashMap<u32, usize>,
    visitor: TwoTowerVisitor,
}

impl TwoTowerWarm {
    /// Precomputes every train user's vector.
    pub fn new(
        trained: &Trained,
        genres: &Genres,
        config: &TrainingConfig,
        device: &Device,
    ) -> Self {
        let model = trained.model.valid();
        let device_inner = model.user.embedding.weight.val().device();
        let n = trained.user_ids.len();
        let ids = Tensor::<1, Int>::from_data(
            TensorData::new((0..n as i64).collect::<Vec<_>>(), [n]),
            &device_inner,
        );
        let flat = model
            .user
            .forward(ids)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 user vectors");
        let dim = flat.len() / n.max(1);
        Self {
            users: flat.chunks(dim).map(<[f32]>::to_vec).collect(),
            rows: trained
                .user_ids
                .iter()
                .enumerate()
                .map(|(r, u)| (*u, r))
                .collect(),
            visitor: TwoTowerVisitor::of(trained, genres, config, device),
        }
    }
}

impl WarmScorer for TwoTowerWarm {
    fn name(&self) -> String {
        "two-tower".into()
    }

    fn score_user(&self, user_id: u32, train: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        match self.rows.get(&user_id) {
            Some(&row) => self.visitor.score_vector(&self.users[row], train),
            None => self.visitor.score_visitor(train),
        }
    }
}
