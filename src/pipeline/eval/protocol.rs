//! Running a method through the whole `thumbs-v1` protocol (visitor cases at k = 5, 10, 20, then
//! the warm split), and choosing baseline hyper-parameters on validation visitors carved out of the
//! train users, so that the test visitors are only ever used for the final numbers.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::baselines::{
    Als, AlsConfig, Ease, EaseConfig, ItemKnn, ItemKnnConfig, MostPopular, ThumbsWeights,
};
use super::personas::{
    MixedPersona, MixedResult, Persona, PersonaResult, mixed_lists, mixed_personas, mixed_shares,
    persona_lists, persona_shares, personas,
};
use super::{
    EvalError, MethodReport, Report, VisitorResult, VisitorScorer, WarmResult, WarmScorer,
    evaluate_visitors, evaluate_warm,
};
use crate::pipeline::data::split::{GIVEN_COUNTS, Interactions, Split, VisitorCases, WarmSplit};

/// The share of train users that become validation visitors when tuning (as the protocol's 20 %).
pub const VALIDATION_FRACTION: f64 = 0.2;
/// Seed of the validation carve-out.
pub const VALIDATION_SEED: u64 = 2024;
/// The number of given ratings the tuning optimises for (the headline setting).
pub const TUNING_GIVEN: usize = 10;

/// Every case of both protocols, built once per split.
#[derive(Debug, Clone)]
pub struct ProtocolCases {
    pub catalog_len: usize,
    /// Visitor protocol training set: all ratings of the train users.
    pub train: Interactions,
    /// One set per `k` of [`GIVEN_COUNTS`].
    pub visitors: Vec<VisitorCases>,
    pub warm: WarmSplit,
    /// Each catalog item's genres (empty when unknown: then there are no personas).
    pub genres: Vec<Vec<String>>,
    /// The taste metrics' visitors, from the train users' rating counts.
    pub personas: Vec<Persona>,
    pub mixed_personas: Vec<MixedPersona>,
}

/// A model's visitor results at every `k` and its taste metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitorOutcome {
    pub visitor: Vec<VisitorResult>,
    pub personas: Vec<PersonaResult>,
    pub mixed: Vec<MixedResult>,
}

impl ProtocolCases {
    /// Builds the visitor cases for every `k` of [`GIVEN_COUNTS`], the warm split, and the
    /// personas of `genres` (one entry per catalog item, or none).
    pub fn new(split: &Split, genres: Vec<Vec<String>>) -> Self {
        let train = split.train_interactions();
        let (personas, mixed_personas) = if genres.len() == split.catalog.len() {
            (personas(&genres, &train), mixed_personas(&genres, &train))
        } else {
            (Vec::new(), Vec::new())
        };
        Self {
            catalog_len: split.catalog.len(),
            train,
            visitors: GIVEN_COUNTS
                .iter()
                .map(|&k| split.visitor_cases(k))
                .collect(),
            warm: split.warm(),
            genres,
            personas,
            mixed_personas,
        }
    }

    /// A model's visitor results at every `k` and its personas' shares.
    pub fn evaluate_visitors(
        &self,
        model: &(impl VisitorScorer + ?Sized),
        k_at: usize,
    ) -> Result<VisitorOutcome, EvalError> {
        let mut visitor = Vec::with_capacity(self.visitors.len());
        for set in &self.visitors {
            let metrics = evaluate_visitors(model, &set.cases, self.catalog_len, k_at)?;
            visitor.push(VisitorResult {
                given: set.k,
                metrics,
            });
        }
        let lists = persona_lists(model, &self.personas, k_at);
        let personas = persona_shares(&self.personas, &lists, &self.genres, k_at);
        let lists = mixed_lists(model, &self.mixed_personas, k_at);
        let mixed = mixed_shares(&self.mixed_personas, &lists, &self.genres, k_at);
        Ok(VisitorOutcome {
            visitor,
            personas,
            mixed,
        })
    }
}

/// Fits a method on the visitor training set and on the warm training set and evaluates both.
pub fn evaluate_method<M, F>(
    settings: &str,
    cases: &ProtocolCases,
    k_at: usize,
    fit: F,
) -> Result<MethodReport, EvalError>
where
    M: VisitorScorer + WarmScorer,
    F: Fn(&Interactions) -> Result<M, EvalError>,
{
    let start = Instant::now();
    let model = fit(&cases.train)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let name = VisitorScorer::name(&model);
    let outcome = cases.evaluate_visitors(&model, k_at)?;
    drop(model);
    let start = Instant::now();
    let warm_model = fit(&cases.warm.train)?;
    let warm_fit_seconds = start.elapsed().as_secs_f64();
    let warm_metrics = evaluate_warm(&warm_model, &cases.warm.cases, cases.catalog_len, k_at)?;
    Ok(MethodReport {
        name,
        settings: settings.to_string(),
        fit_seconds,
        visitor: outcome.visitor,
        warm: Some(WarmResult {
            metrics: warm_metrics,
            fit_seconds: warm_fit_seconds,
        }),
        personas: outcome.personas,
        mixed: outcome.mixed,
    })
}

/// The hyper-parameters of the three tunable baselines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineConfigs {
    pub item_knn: ItemKnnConfig,
    pub ease: EaseConfig,
    pub als: AlsConfig,
}

/// Item-kNN settings in words.
pub fn describe_item_knn(c: &ItemKnnConfig) -> String {
    let neighbours = if c.neighbours == usize::MAX {
        "all".to_string()
    } else {
        c.neighbours.to_string()
    };
    format!("neighbours {neighbours}, X weights {}", c.weights.label())
}

/// EASE settings in words.
pub fn describe_ease(c: &EaseConfig) -> String {
    format!("λ {}, X weights {}", c.lambda, c.weights.label())
}

/// ALS settings in words.
pub fn describe_als(c: &AlsConfig) -> String {
    format!(
        "{} factors, {} sweeps, λ {}, α {}, X weights {}",
        c.factors,
        c.iterations,
        c.regularization,
        c.alpha,
        c.weights.label()
    )
}

/// Describes each baseline's settings in words, for reports.
pub fn describe(configs: &BaselineConfigs) -> [(&'static str, String); 4] {
    [
        ("most-popular", "count of positive ratings".to_string()),
        ("item-kNN", describe_item_knn(&configs.item_knn)),
        ("EASE", describe_ease(&configs.ease)),
        ("ALS", describe_als(&configs.als)),
    ]
}

/// The four baselines fitted on `train`.
pub fn fit_baselines(
    train: &Interactions,
    configs: &BaselineConfigs,
) -> Result<Vec<Box<dyn VisitorScorer>>, EvalError> {
    Ok(vec![
        Box::new(MostPopular::fit(train)),
        Box::new(ItemKnn::fit(train, configs.item_knn)),
        Box::new(Ease::fit(train, configs.ease)?),
        Box::new(Als::fit(train, configs.als)?),
    ])
}

/// The four baselines on the visitor protocol alone: each one's name and results per `k`.
pub fn baselines_on_visitors(
    cases: &ProtocolCases,
    configs: &BaselineConfigs,
    k_at: usize,
) -> Result<Vec<(String, Vec<VisitorResult>)>, EvalError> {
    fit_baselines(&cases.train, configs)?
        .iter()
        .map(|m| Ok((m.name(), cases.evaluate_visitors(m.as_ref(), k_at)?.visitor)))
        .collect()
}

/// Runs the four baselines through both protocols; `log` hears each method as it finishes.
pub fn run_baselines(
    cases: &ProtocolCases,
    configs: &BaselineConfigs,
    k_at: usize,
    mut log: impl FnMut(&MethodReport),
) -> Result<Report, EvalError> {
    let mut report = Report::new(k_at, cases.catalog_len);
    let [pop, knn, ease, als] = describe(configs);
    let mut push = |method: MethodReport| {
        log(&method);
        report.methods.push(method);
    };
    push(evaluate_method(&pop.1, cases, k_at, |t| {
        Ok(MostPopular::fit(t))
    })?);
    push(evaluate_method(&knn.1, cases, k_at, |t| {
        Ok(ItemKnn::fit(t, configs.item_knn))
    })?);
    push(evaluate_method(&ease.1, cases, k_at, |t| {
        Ease::fit(t, configs.ease)
    })?);
    push(evaluate_method(&als.1, cases, k_at, |t| {
        Als::fit(t, configs.als)
    })?);
    Ok(report)
}

/// One point of the hyper-parameter search, measured on validation visitors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningRow {
    pub method: String,
    pub settings: String,
    /// `ndcg@k_at` of validation visitors who gave [`TUNING_GIVEN`] ratings.
    pub ndcg: f64,
    pub recall: f64,
    pub fit_seconds: f64,
}

/// The X encodings every search tries.
const WEIGHT_GRID: [ThumbsWeights; 4] = [
    ThumbsWeights::SIGNED,
    ThumbsWeights::POSITIVE,
    ThumbsWeights::RATED,
    ThumbsWeights::GRADED,
];

/// Where the EASE search starts (a common λ for MovieLens-sized data), so re-tuning is reproducible.
pub const EASE_START: EaseConfig = EaseConfig {
    lambda: 500.0,
    weights: ThumbsWeights::SIGNED,
};

/// Where the ALS coordinate search starts (textbook implicit-ALS values).
pub const ALS_START: AlsConfig = AlsConfig {
    factors: 64,
    iterations: 15,
    regularization: 1.0,
    alpha: 10.0,
    weights: ThumbsWeights::SIGNED,
    seed: 42,
};

/// Picks the best of candidate configs by validation ndcg (the first wins ties).
fn best_of<C: Copy, M: VisitorScorer>(
    method: &str,
    candidates: &[C],
    describe: impl Fn(&C) -> String,
    fit: impl Fn(&C) -> Result<M, EvalError>,
    validation: &ValidationSet,
    rows: &mut Vec<TuningRow>,
    log: &mut dyn FnMut(&TuningRow),
) -> Result<C, EvalError> {
    let mut best: Option<(f64, C)> = None;
    for candidate in candidates {
        let start = Instant::now();
        let model = fit(candidate)?;
        let fit_seconds = start.elapsed().as_secs_f64();
        let m = evaluate_visitors(
            &model,
            &validation.cases.cases,
            validation.catalog_len,
            validation.k_at,
        )?;
        let row = TuningRow {
            method: method.to_string(),
            settings: describe(candidate),
            ndcg: m.ndcg,
            recall: m.recall,
            fit_seconds,
        };
        log(&row);
        rows.push(row);
        if best.is_none_or(|(score, _)| m.ndcg > score) {
            best = Some((m.ndcg, *candidate));
        }
    }
    best.map(|(_, c)| c).ok_or_else(|| EvalError::Fit {
        method: method.to_string(),
        message: "expected at least one candidate setting, got none".into(),
    })
}

/// The validation visitors of a tuning run.
struct ValidationSet {
    train: Interactions,
    cases: VisitorCases,
    catalog_len: usize,
    k_at: usize,
}

/// Chooses item-kNN, EASE and ALS settings by coordinate search on validation visitors carved out
/// of the train users ([`VALIDATION_FRACTION`], [`VALIDATION_SEED`]), scored by `ndcg@k_at` at
/// [`TUNING_GIVEN`] given ratings, starting from [`EASE_START`] and [`ALS_START`] so a re-run
/// reproduces the defaults. The test visitors are never touched. About 9 minutes on 2 cores;
/// with ~97 validation visitors, ndcg differences under ~0.005 are noise.
pub fn tune_baselines(
    split: &Split,
    k_at: usize,
    mut log: impl FnMut(&TuningRow),
) -> Result<(BaselineConfigs, Vec<TuningRow>), EvalError> {
    let inner = split.validation_split(VALIDATION_FRACTION, VALIDATION_SEED)?;
    let v = ValidationSet {
        train: inner.train_interactions(),
        cases: inner.visitor_cases(TUNING_GIVEN),
        catalog_len: inner.catalog.len(),
        k_at,
    };
    let mut rows = Vec::new();
    let log: &mut dyn FnMut(&TuningRow) = &mut log;
    let mut chosen = BaselineConfigs::default();

    // Reference only: most-popular has nothing to tune.
    best_of(
        "most-popular",
        &[()],
        |_| "count of positive ratings".to_string(),
        |_| Ok(MostPopular::fit(&v.train)),
        &v,
        &mut rows,
        log,
    )?;

    // item-kNN: every encoding × neighbourhood size (cheap fits).
    let knn_grid: Vec<ItemKnnConfig> = WEIGHT_GRID
        .iter()
        .flat_map(|&weights| {
            [25, 50, 100, 200, 400, 800, usize::MAX].map(|neighbours| ItemKnnConfig {
                neighbours,
                weights,
            })
        })
        .collect();
    chosen.item_knn = best_of(
        "item-kNN",
        &knn_grid,
        describe_item_knn,
        |c| Ok(ItemKnn::fit(&v.train, *c)),
        &v,
        &mut rows,
        log,
    )?;

    // EASE: encoding at the default λ, then λ with the chosen encoding.
    let ease_fit = |c: &EaseConfig| Ease::fit(&v.train, *c);
    let base = EASE_START;
    let by_weights: Vec<EaseConfig> = WEIGHT_GRID
        .iter()
        .map(|&weights| EaseConfig { weights, ..base })
        .collect();
    let best = best_of(
        "EASE",
        &by_weights,
        describe_ease,
        ease_fit,
        &v,
        &mut rows,
        log,
    )?;
    let by_lambda: Vec<EaseConfig> = [150.0, 500.0, 1500.0, 5000.0, 15000.0, 50000.0]
        .map(|lambda| EaseConfig { lambda, ..best })
        .to_vec();
    chosen.ease = best_of(
        "EASE",
        &by_lambda,
        describe_ease,
        ease_fit,
        &v,
        &mut rows,
        log,
    )?;

    // ALS: encoding, then α, then λ, then factors, each with the best so far.
    let als_fit = |c: &AlsConfig| Als::fit(&v.train, *c);
    let mut best = ALS_START;
    let stages: [&dyn Fn(AlsConfig) -> Vec<AlsConfig>; 4] = [
        &|b| {
            WEIGHT_GRID
                .iter()
                .map(|&weights| AlsConfig { weights, ..b })
                .collect()
        },
        &|b| {
            [0.3, 1.0, 3.0, 10.0]
                .map(|alpha| AlsConfig { alpha, ..b })
                .to_vec()
        },
        &|b| {
            [1.0, 3.0, 10.0, 30.0, 100.0]
                .map(|regularization| AlsConfig {
                    regularization,
                    ..b
                })
                .to_vec()
        },
        &|b| {
            [32, 64, 128]
                .map(|factors| AlsConfig { factors, ..b })
                .to_vec()
        },
    ];
    for stage in stages {
        best = best_of(
            "ALS",
            &stage(best),
            describe_als,
            als_fit,
            &v,
            &mut rows,
            log,
        )?;
    }
    chosen.als = best;
    Ok((chosen, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{MovieId, Thumbs};
    use crate::pipeline::data::movielens::Rating;
    use std::collections::BTreeSet;

    /// 12 users over 8 movies in two taste groups; users 11 and 12 are test visitors.
    fn split() -> Split {
        let mut ratings = Vec::new();
        for user in 1..=12u32 {
            let group = if user % 2 == 0 { 0 } else { 4 };
            for t in 0..4u32 {
                // Rotate the order so each user's last (held-out) movie is rated by others.
                let movie = group + (t + user) % 4;
                let stars = if t == 3 { 5.0 } else { 4.0 };
                ratings.push(Rating {
                    user_id: user,
                    movie_id: MovieId(movie + 1),
                    stars,
                    thumbs: Thumbs::from_stars(stars).unwrap(),
                    timestamp: i64::from(user * 10 + t),
                });
            }
        }
        Split::new(&ratings, &BTreeSet::from([11, 12])).unwrap()
    }

    #[test]
    fn baselines_run_through_both_protocols() {
        let configs = BaselineConfigs {
            item_knn: ItemKnnConfig {
                neighbours: 3,
                weights: ThumbsWeights::POSITIVE,
            },
            ease: EaseConfig {
                lambda: 1.0,
                weights: ThumbsWeights::POSITIVE,
            },
            als: AlsConfig {
                factors: 2,
                iterations: 5,
                ..AlsConfig::default()
            },
        };
        let mut names = Vec::new();
        let cases = ProtocolCases::new(&split(), Vec::new());
        let report = run_baselines(&cases, &configs, 2, |m| names.push(m.name.clone())).unwrap();
        assert_eq!(names, vec!["most-popular", "item-kNN", "EASE", "ALS"]);
        assert_eq!(report.catalog_len, 8);
        let knn = &report.methods[1];
        // k = 5 and k = 20 leave nothing after the 4 ratings: no visitor is evaluated.
        let given: Vec<(usize, usize)> = knn
            .visitor
            .iter()
            .map(|r| (r.given, r.metrics.visitors))
            .collect();
        assert_eq!(given, vec![(5, 0), (10, 0), (20, 0)]);
        // Warm: each train user holds out their last rating (+2), the remaining movie of their group,
        // which item-kNN ranks first from the other three: recall@2 = 1 for all 10 train users.
        let warm = knn.warm.unwrap().metrics;
        assert_eq!(warm.visitors, 10);
        assert!((warm.recall - 1.0).abs() < 1e-9, "{warm:?}");
        assert!(report.to_markdown().contains("| EASE | warm |"));
    }
}
