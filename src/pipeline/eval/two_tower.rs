//! The two-tower model as `evaluate` scores it: a visitor's thumbs fitted by the browser's
//! personalisation ([`FrozenUserTower`]) and ranked by the browser's [`Ranker`] over the int8
//! table `export` ships, so every offline figure is the shipped code's.

use std::collections::HashMap;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{VisitorScorer, WarmScorer, evaluate_visitors};
use crate::engine::model::TwoTowerModel;
use crate::engine::model::mlp::Mlp;
use crate::engine::personalize::{FrozenUserTower, ItemVectors, PersonalizeConfig};
use crate::engine::ranker::Ranker;
use crate::engine::score::{Genres, RankingConfig};
use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::VisitorCase;
use crate::pipeline::train::{Trained, TrainingConfig, VisitorTower};

/// The two-tower model scoring a visitor as the browser does: personalisation, then the
/// ranker's score over the int8 table.
#[derive(Clone)]
pub struct TwoTowerVisitor {
    tower: FrozenUserTower,
    config: PersonalizeConfig,
    ranker: Ranker,
}

impl TwoTowerVisitor {
    /// Freezes the visitors' user tower and quantises `items` as `export` does.
    pub fn new(
        tower: &VisitorTower,
        temperature: f64,
        items: &ItemVectors,
        genres: Genres,
        ranking: RankingConfig,
        device: &Device,
    ) -> Self {
        let config = tower.personalize.clone();
        let tower = FrozenUserTower::new(
            tower.layers.clone(),
            tower.prior.clone(),
            temperature,
            &device.clone().inner(),
        )
        .reading(tower.input);
        let ranker = Ranker::int8(items, temperature, genres, ranking)
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
            &trained.visitor_tower(config),
            config.model.temperature,
            &trained.items,
            genres.clone(),
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

    /// The visitor's unit vectors, one per taste of `given` (`Ranker::tastes`).
    pub fn user_vectors(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<Vec<f32>> {
        self.ranker
            .tastes(given)
            .iter()
            .map(|taste| {
                let user = self
                    .tower
                    .personalize(self.ranker.items(), taste, &self.config)
                    .expect("evaluation cases index the catalog");
                user.into_data()
                    .try_to_vec::<f32>()
                    .expect("f32 user vector")
            })
            .collect()
    }

    /// The ranking query for a visitor vector, as the browser forms it.
    pub fn query(&self, user: &[f32]) -> Vec<f32> {
        self.ranker
            .query(user, self.ranker.config().popularity_weight)
    }

    /// Every item's score for a visitor's vectors and the thumbs they were read from.
    pub fn score_vectors(&self, users: &[Vec<f32>], given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.ranker
            .scores(users, given, self.ranker.config().popularity_weight)
            .expect("one visitor vector of the table's width per taste")
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
        self.score_vectors(&self.user_vectors(given), given)
    }
}

/// ndcg@20 over validation `cases` of visitors getting `tower`, ranked over `items` as the
/// browser ranks with the config's settings.
fn validation_ndcg_of(
    tower: &VisitorTower,
    items: &ItemVectors,
    cases: &[VisitorCase],
    genres: &Genres,
    config: &TrainingConfig,
    device: &Device,
) -> f64 {
    let t = config.model.temperature;
    let ranking = config.ranking.clone();
    let scorer = TwoTowerVisitor::new(tower, t, items, genres.clone(), ranking, device);
    evaluate_visitors(&scorer, cases, items.len(), 20)
        .expect("the scorer gives one score per catalog item")
        .ndcg
}

/// Training's validation as the stages measure it: ndcg@20 over `cases`, a visitor fitted
/// through the id tower (the towers' training: no encoder yet).
pub fn validation_ndcg<'a>(
    cases: &'a [VisitorCase],
    genres: &'a Genres,
    config: &'a TrainingConfig,
    device: &'a Device,
) -> impl Fn(&TwoTowerModel, &ItemVectors) -> f64 + 'a {
    move |model, items| {
        let tower = VisitorTower::of_ids(model, config);
        validation_ndcg_of(&tower, items, cases, genres, config, device)
    }
}

/// The visitor encoder's validation: ndcg@20 over `cases` of the encoder reading their thumbs
/// over the trained `items`.
pub fn encoder_validation_ndcg<'a>(
    cases: &'a [VisitorCase],
    items: &'a ItemVectors,
    genres: &'a Genres,
    config: &'a TrainingConfig,
    device: &'a Device,
) -> impl Fn(&Mlp) -> f64 + 'a {
    move |encoder| {
        let tower = VisitorTower::of_encoder(encoder, config);
        validation_ndcg_of(&tower, items, cases, genres, config, device)
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
            .forward(ids, None)
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
            // A train user's id vector is one vector for their whole history: one taste.
            visitor: TwoTowerVisitor::of(trained, genres, config, device)
                .with_ranking(config.ranking.clone().with_max_tastes(1)),
        }
    }
}

impl WarmScorer for TwoTowerWarm {
    fn name(&self) -> String {
        "two-tower".into()
    }

    fn score_user(&self, user_id: u32, train: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        match self.rows.get(&user_id) {
            Some(&row) => self
                .visitor
                .score_vectors(std::slice::from_ref(&self.users[row]), train),
            None => self.visitor.score_visitor(train),
        }
    }
}
