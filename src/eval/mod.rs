//! Offline evaluation on `thumbs-v1` (`../shared/EVALUATION.md`): the scorer traits every model
//! implements (baselines and the two-tower model alike), the visitor and warm evaluation loops,
//! and the [`Report`] written to `metrics/*.json` and rendered as one Markdown table.

use serde::{Deserialize, Serialize};

use crate::data::split::{VisitorCase, WarmCase};
use crate::data::{ItemIndex, Thumbs};

pub mod baselines;
pub mod metrics;
pub mod protocol;

pub use metrics::{coverage_at, ndcg_at, recall_at, top_k};

/// The protocol name written into every report.
pub const PROTOCOL: &str = "thumbs-v1";
/// The cut-off of every reported metric (`EVALUATION.md`, step 5).
pub const K_AT: usize = 20;

/// What can go wrong while fitting or evaluating.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{method}: expected one score per catalog item ({expected}), got {got}")]
    ScoreLength {
        method: String,
        expected: usize,
        got: usize,
    },
    #[error("{method}: {message}")]
    Fit { method: String, message: String },
    #[error(transparent)]
    Data(#[from] crate::data::movielens::DataError),
}

/// A model that ranks the catalog for a new visitor known only by the thumbs they gave.
pub trait VisitorScorer {
    /// The method's name in reports.
    fn name(&self) -> String;

    /// One score per catalog item (higher = better) from the visitor's thumbs, with no user id.
    fn score_visitor(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32>;

    /// Scores a whole case; override to use `given_outside_catalog` (content-based models).
    fn score_case(&self, case: &VisitorCase) -> Vec<f32> {
        self.score_visitor(&case.given)
    }
}

/// A model that ranks the catalog for a user it was trained on.
pub trait WarmScorer {
    /// The method's name in reports.
    fn name(&self) -> String;

    /// One score per catalog item for `user_id`, whose training thumbs are `train`.
    fn score_user(&self, user_id: u32, train: &[(ItemIndex, Thumbs)]) -> Vec<f32>;
}

/// Metrics at one cut-off, averaged over the evaluated users.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub recall: f64,
    pub ndcg: f64,
    pub coverage: f64,
    /// How many visitors (or warm users) were averaged.
    pub visitors: usize,
}

/// Collects per-user results into [`Metrics`].
struct Accumulator {
    k_at: usize,
    catalog_len: usize,
    recall: f64,
    ndcg: f64,
    lists: Vec<Vec<ItemIndex>>,
}

impl Accumulator {
    fn new(k_at: usize, catalog_len: usize) -> Self {
        Self {
            k_at,
            catalog_len,
            recall: 0.0,
            ndcg: 0.0,
            lists: Vec::new(),
        }
    }

    /// Ranks one user's scores, leaving out `exclude`, and adds their recall and nDCG.
    fn add(
        &mut self,
        method: &str,
        scores: &[f32],
        exclude: &[ItemIndex],
        relevant: &[(ItemIndex, Thumbs)],
    ) -> Result<(), EvalError> {
        if scores.len() != self.catalog_len {
            return Err(EvalError::ScoreLength {
                method: method.to_string(),
                expected: self.catalog_len,
                got: scores.len(),
            });
        }
        let ranked = top_k(scores, self.k_at, exclude);
        self.recall += recall_at(self.k_at, &ranked, relevant);
        self.ndcg += ndcg_at(self.k_at, &ranked, relevant);
        self.lists.push(ranked);
        Ok(())
    }

    /// The means; all zero when no user was added.
    fn finish(self) -> Metrics {
        let n = self.lists.len();
        let mean = |sum: f64| if n == 0 { 0.0 } else { sum / n as f64 };
        Metrics {
            recall: mean(self.recall),
            ndcg: mean(self.ndcg),
            coverage: coverage_at(self.k_at, &self.lists, self.catalog_len),
            visitors: n,
        }
    }
}

/// The visitor protocol: ranks the catalog for each case, leaving out the given items.
pub fn evaluate_visitors(
    scorer: &(impl VisitorScorer + ?Sized),
    cases: &[VisitorCase],
    catalog_len: usize,
    k_at: usize,
) -> Result<Metrics, EvalError> {
    let name = scorer.name();
    let mut acc = Accumulator::new(k_at, catalog_len);
    for case in cases {
        let exclude: Vec<ItemIndex> = case.given.iter().map(|(item, _)| *item).collect();
        acc.add(&name, &scorer.score_case(case), &exclude, &case.relevant)?;
    }
    Ok(acc.finish())
}

/// The warm protocol: ranks the catalog for each train user, leaving out their training items.
pub fn evaluate_warm(
    scorer: &(impl WarmScorer + ?Sized),
    cases: &[WarmCase],
    catalog_len: usize,
    k_at: usize,
) -> Result<Metrics, EvalError> {
    let name = scorer.name();
    let mut acc = Accumulator::new(k_at, catalog_len);
    for case in cases {
        let exclude: Vec<ItemIndex> = case.train.iter().map(|(item, _)| *item).collect();
        let scores = scorer.score_user(case.user_id, &case.train);
        acc.add(&name, &scores, &exclude, &case.relevant)?;
    }
    Ok(acc.finish())
}

/// Visitor-protocol metrics for one number of given ratings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VisitorResult {
    /// How many first ratings each visitor gave (`k`).
    pub given: usize,
    pub metrics: Metrics,
}

/// Warm-protocol metrics with the time to fit on the warm training set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WarmResult {
    pub metrics: Metrics,
    pub fit_seconds: f64,
}

/// One method's results on both protocols.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodReport {
    pub name: String,
    /// The hyper-parameters used, in words.
    pub settings: String,
    /// Time to fit on all train users (the visitor protocol's model).
    pub fit_seconds: f64,
    pub visitor: Vec<VisitorResult>,
    pub warm: Option<WarmResult>,
}

/// Everything one evaluation run measured; serialised to `metrics/*.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`PROTOCOL`].
    pub protocol: String,
    /// The metric cut-off (20).
    pub k_at: usize,
    pub catalog_len: usize,
    pub methods: Vec<MethodReport>,
}

impl Report {
    /// An empty report for a catalog.
    pub fn new(k_at: usize, catalog_len: usize) -> Self {
        Self {
            protocol: PROTOCOL.to_string(),
            k_at,
            catalog_len,
            methods: Vec::new(),
        }
    }

    /// One Markdown table: a row per method and protocol (visitor at each `k`, then warm).
    pub fn to_markdown(&self) -> String {
        let k = self.k_at;
        let mut out = format!(
            "| method | protocol | given | recall@{k} | ndcg@{k} | coverage@{k} | users | fit s |\n\
             |---|---|---|---|---|---|---|---|\n"
        );
        let row = |out: &mut String, name: &str, protocol: &str, given: &str, m: &Metrics, s| {
            out.push_str(&format!(
                "| {name} | {protocol} | {given} | {:.4} | {:.4} | {:.4} | {} | {s:.1} |\n",
                m.recall, m.ndcg, m.coverage, m.visitors
            ));
        };
        for method in &self.methods {
            for result in &method.visitor {
                let given = result.given.to_string();
                let metrics = &result.metrics;
                row(
                    &mut out,
                    &method.name,
                    "visitor",
                    &given,
                    metrics,
                    method.fit_seconds,
                );
            }
            if let Some(warm) = &method.warm {
                row(
                    &mut out,
                    &method.name,
                    "warm",
                    "80 %",
                    &warm.metrics,
                    warm.fit_seconds,
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores item `i` as `-i`: always ranks the catalog in index order.
    struct ByIndex(usize);

    impl VisitorScorer for ByIndex {
        fn name(&self) -> String {
            "by-index".into()
        }
        fn score_visitor(&self, _given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
            (0..self.0).map(|i| -(i as f32)).collect()
        }
    }

    impl WarmScorer for ByIndex {
        fn name(&self) -> String {
            "by-index".into()
        }
        fn score_user(&self, _user_id: u32, train: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
            self.score_visitor(train)
        }
    }

    fn case(given: &[u32], relevant: &[(u32, Thumbs)]) -> VisitorCase {
        VisitorCase {
            user_id: 1,
            given: given.iter().map(|&i| (ItemIndex(i), Thumbs::Up)).collect(),
            given_outside_catalog: Vec::new(),
            relevant: relevant.iter().map(|&(i, t)| (ItemIndex(i), t)).collect(),
        }
    }

    #[test]
    fn visitors_are_ranked_without_their_given_items() {
        // Catalog of 6, k_at = 2.
        // Visitor A gave 0 → top 2 = [1, 2]; relevant {2 (+2)}: recall 1/1, nDCG 2/log2(3) / 2 = 0.6309298.
        // Visitor B gave 1 → top 2 = [0, 2]; relevant {5 (+1)}: recall 0, nDCG 0.
        // Means: recall 0.5, nDCG 0.3154649; coverage |{0, 1, 2}| / 6 = 0.5.
        let cases = vec![
            case(&[0], &[(2, Thumbs::DoubleUp)]),
            case(&[1], &[(5, Thumbs::Up)]),
        ];
        let m = evaluate_visitors(&ByIndex(6), &cases, 6, 2).unwrap();
        assert_eq!(m.visitors, 2);
        assert!((m.recall - 0.5).abs() < 1e-9, "{m:?}");
        assert!((m.ndcg - 0.315_464_876_785_728_7).abs() < 1e-9, "{m:?}");
        assert!((m.coverage - 0.5).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn warm_users_are_ranked_without_their_training_items() {
        // Train {0, 1} → top 1 = [2], relevant {2}: recall 1, nDCG 1, coverage 1/4.
        let cases = vec![WarmCase {
            user_id: 9,
            train: vec![(ItemIndex(0), Thumbs::Down), (ItemIndex(1), Thumbs::Up)],
            relevant: vec![(ItemIndex(2), Thumbs::Up)],
        }];
        let m = evaluate_warm(&ByIndex(4), &cases, 4, 1).unwrap();
        assert_eq!(
            (m.recall, m.ndcg, m.coverage, m.visitors),
            (1.0, 1.0, 0.25, 1)
        );
    }

    #[test]
    fn a_wrong_score_length_is_an_error() {
        let cases = vec![case(&[0], &[(2, Thumbs::Up)])];
        let err = evaluate_visitors(&ByIndex(5), &cases, 6, 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected one score per catalog item (6), got 5"),
            "{err}"
        );
    }

    #[test]
    fn report_renders_the_protocol_column_names() {
        let metrics = Metrics {
            recall: 0.25,
            ndcg: 0.125,
            coverage: 0.5,
            visitors: 3,
        };
        let mut report = Report::new(20, 10);
        report.methods.push(MethodReport {
            name: "most-popular".into(),
            settings: String::new(),
            fit_seconds: 0.0,
            visitor: vec![VisitorResult { given: 10, metrics }],
            warm: Some(WarmResult {
                metrics,
                fit_seconds: 1.0,
            }),
        });
        let table = report.to_markdown();
        assert!(
            table.contains("| recall@20 | ndcg@20 | coverage@20 |"),
            "{table}"
        );
        assert!(
            table.contains("| most-popular | visitor | 10 | 0.2500 | 0.1250 | 0.5000 | 3 | 0.0 |"),
            "{table}"
        );
        assert_eq!(table.lines().count(), 4, "{table}");
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
