//! Offline evaluation on `thumbs-v1` (`../shared/EVALUATION.md`): the scorer traits every model
//! implements (baselines and the two-tower model alike), the visitor and warm evaluation loops,
//! and the [`Report`] written to `metrics/*.json` and rendered as one Markdown table.

use serde::{Deserialize, Serialize};

use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::{VisitorCase, WarmCase};

pub mod baselines;
pub mod cold_start;
pub mod describe;
pub mod metrics;
pub mod personas;
pub mod protocol;
pub mod tradeoff;
pub mod tuning;
pub mod two_tower;

pub use metrics::{coverage_at, ndcg_at, recall_at, top_k};

/// The protocol name written into every report.
pub const PROTOCOL: &str = "thumbs-v1";
/// The cut-off of every reported metric (`EVALUATION.md`, step 5).
pub const K_AT: usize = 20;
/// How many worst and how many best pairs the report's two-taste table shows.
pub const MIXED_ROWS: usize = 10;

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
    Data(#[from] crate::pipeline::data::movielens::DataError),
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
    /// The taste metric, one row per persona ([`personas`]).
    #[serde(default)]
    pub personas: Vec<personas::PersonaResult>,
    /// The two-taste metric, one row per pair of genres ([`personas::mixed_personas`]).
    #[serde(default)]
    pub mixed: Vec<personas::MixedResult>,
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
    /// The visitor protocol repeated over random visitor splits: their seeds, and each
    /// method's mean and spread at each `k`.
    #[serde(default)]
    pub split_seeds: Vec<u64>,
    #[serde(default)]
    pub robustness: Vec<SplitSpread>,
    /// Two-tower: the share of the personas' recommendations whose reason names a liked movie.
    #[serde(default)]
    pub named_reason_share: Option<f64>,
    /// Movies nobody rated, found from content alone.
    #[serde(default)]
    pub cold_start: Option<cold_start::ColdStartReport>,
}

/// Mean and spread of one metric over several splits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (all zero when empty).
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self {
                mean: 0.0,
                std: 0.0,
                min: 0.0,
                max: 0.0,
            };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Self {
            mean,
            std: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// One method at one `k`, over several random visitor splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSpread {
    pub method: String,
    pub given: usize,
    pub ndcg: Spread,
    pub recall: Spread,
    pub coverage: Spread,
}

impl SplitSpread {
    /// Summarises one method's visitor results of several splits (one `Vec` per split).
    pub fn summarise(method: &str, per_split: &[Vec<VisitorResult>]) -> Vec<Self> {
        let Some(first) = per_split.first() else {
            return Vec::new();
        };
        first
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let metric = |f: fn(&Metrics) -> f64| {
                    Spread::of(
                        &per_split
                            .iter()
                            .map(|s| f(&s[i].metrics))
                            .collect::<Vec<_>>(),
                    )
                };
                Self {
                    method: method.to_string(),
                    given: r.given,
                    ndcg: metric(|m| m.ndcg),
                    recall: metric(|m| m.recall),
                    coverage: metric(|m| m.coverage),
                }
            })
            .collect()
    }
}

impl Report {
    /// An empty report for a catalog.
    pub fn new(k_at: usize, catalog_len: usize) -> Self {
        Self {
            protocol: PROTOCOL.to_string(),
            k_at,
            catalog_len,
            methods: Vec::new(),
            split_seeds: Vec::new(),
            robustness: Vec::new(),
            named_reason_share: None,
            cold_start: None,
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
        out.push_str(&self.personas_markdown());
        out.push_str(&self.mixed_markdown());
        out.push_str(&self.robustness_markdown());
        if let Some(cold) = &self.cold_start {
            out.push_str(&cold.to_markdown());
        }
        out
    }

    /// The taste table: a row per persona genre, a column per method, then the means.
    fn personas_markdown(&self) -> String {
        let methods: Vec<&MethodReport> = self
            .methods
            .iter()
            .filter(|m| !m.personas.is_empty())
            .collect();
        let Some(first) = methods.first() else {
            return String::new();
        };
        let k = self.k_at;
        let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
        let mut out = format!(
            "\n### Taste: share of a persona's top-{k} in the persona's genre\n\n\
             Each persona likes (+2) the {} most-rated movies of one genre with at least {} \
             catalog movies, and nothing else.\n\n| genre | {} |\n|---|{}\n",
            personas::PERSONA_LIKES,
            personas::MIN_GENRE_MOVIES,
            names.join(" | "),
            "---|".repeat(names.len())
        );
        for (i, row) in first.personas.iter().enumerate() {
            let cells: Vec<String> = methods
                .iter()
                .map(|m| {
                    m.personas
                        .get(i)
                        .map_or("–".into(), |p| format!("{:.2}", p.share))
                })
                .collect();
            out.push_str(&format!("| {} | {} |\n", row.genre, cells.join(" | ")));
        }
        let means: Vec<String> = methods
            .iter()
            .map(|m| format!("**{:.3}**", personas::mean_share(&m.personas)))
            .collect();
        out.push_str(&format!("| mean | {} |\n", means.join(" | ")));
        if let Some(share) = self.named_reason_share {
            out.push_str(&format!(
                "\nTwo-tower: {:.0} % of the personas' recommendations name a liked movie as the \
                 reason; the rest say they are popular with people of the same taste.\n",
                share * 100.0
            ));
        }
        out
    }

    /// The two-taste table: the first method's [`MIXED_ROWS`] worst and best pairs (every pair
    /// when there are not more than twice that), a column per method, then the means.
    fn mixed_markdown(&self) -> String {
        let methods: Vec<&MethodReport> = self
            .methods
            .iter()
            .filter(|m| !m.mixed.is_empty())
            .collect();
        let Some(first) = methods.first() else {
            return String::new();
        };
        let k = self.k_at;
        let pairs = first.mixed.len();
        let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
        let mut order: Vec<usize> = (0..pairs).collect();
        order.sort_by(|&a, &b| first.mixed[a].figure.total_cmp(&first.mixed[b].figure));
        let shown = if pairs > 2 * MIXED_ROWS {
            format!(
                "the {MIXED_ROWS} pairs where {} does worst, then the {MIXED_ROWS} where it does best",
                first.name
            )
        } else {
            format!("every pair, by {}'s figure", first.name)
        };
        let mut out = format!(
            "\n### Two tastes: the smaller genre share of a mixed persona's top-{k}\n\n\
             Each mixed persona likes (+2) the {} most-rated movies of each of two genres (each \
             with at least {} catalog movies) that do not carry the other genre; a pair's figure \
             is the smaller of the two genres' shares of its top-{k}. {pairs} pairs; below, \
             {shown}, as figure (first genre's share / second's); every pair is in \
             `evaluation.json`.\n\n| pair | {} |\n|---|{}\n",
            personas::MIXED_LIKES,
            personas::MIN_GENRE_MOVIES,
            names.join(" | "),
            "---|".repeat(names.len())
        );
        let row = |out: &mut String, i: usize| {
            let cells: Vec<String> = methods
                .iter()
                .map(|m| {
                    m.mixed.get(i).map_or("–".into(), |r| {
                        format!("{:.2} ({:.2} / {:.2})", r.figure, r.shares[0], r.shares[1])
                    })
                })
                .collect();
            let [a, b] = &first.mixed[i].genres;
            out.push_str(&format!("| {a} + {b} | {} |\n", cells.join(" | ")));
        };
        if pairs > 2 * MIXED_ROWS {
            order[..MIXED_ROWS].iter().for_each(|&i| row(&mut out, i));
            out.push_str(&format!("| …{}\n", " | …".repeat(names.len()) + " |"));
            order[pairs - MIXED_ROWS..]
                .iter()
                .for_each(|&i| row(&mut out, i));
        } else {
            order.iter().for_each(|&i| row(&mut out, i));
        }
        let means: Vec<String> = methods
            .iter()
            .map(|m| format!("**{:.3}**", personas::mean_figure(&m.mixed)))
            .collect();
        out.push_str(&format!("| mean | {} |\n", means.join(" | ")));
        out
    }

    /// The multi-split table: mean ± standard deviation per method and `k`.
    fn robustness_markdown(&self) -> String {
        if self.robustness.is_empty() {
            return String::new();
        }
        let k = self.k_at;
        let seeds: Vec<String> = self.split_seeds.iter().map(u64::to_string).collect();
        let mut out = format!(
            "\n### Robustness: the visitor protocol over {} random visitor splits (seeds {}), mean ± std\n\n\
             | method | given | ndcg@{k} | recall@{k} | coverage@{k} |\n|---|---|---|---|---|\n",
            seeds.len(),
            seeds.join(", ")
        );
        for r in &self.robustness {
            let cell = |s: &Spread| format!("{:.4} ± {:.4}", s.mean, s.std);
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.method,
                r.given,
                cell(&r.ndcg),
                cell(&r.recall),
                cell(&r.coverage)
            ));
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
            personas: Vec::new(),
            mixed: Vec::new(),
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

    #[test]
    fn spreads_summarise_each_k_over_the_splits() {
        let at = |given, ndcg| VisitorResult {
            given,
            metrics: Metrics {
                recall: 0.5,
                ndcg,
                coverage: 0.1,
                visitors: 10,
            },
        };
        let rows = SplitSpread::summarise(
            "m",
            &[vec![at(5, 0.1), at(10, 0.2)], vec![at(5, 0.3), at(10, 0.2)]],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].given, 5);
        assert!((rows[0].ndcg.mean - 0.2).abs() < 1e-12);
        assert!(
            (rows[0].ndcg.std - 0.02f64.sqrt()).abs() < 1e-12,
            "{:?}",
            rows[0].ndcg
        );
        assert_eq!((rows[0].ndcg.min, rows[0].ndcg.max), (0.1, 0.3));
        assert_eq!(rows[1].ndcg.std, 0.0);
        let mut report = Report::new(20, 10);
        report.split_seeds = vec![1, 2];
        report.robustness = rows;
        let md = report.to_markdown();
        assert!(
            md.contains("over 2 random visitor splits (seeds 1, 2)"),
            "{md}"
        );
        assert!(md.contains("| m | 5 | 0.2000 ± 0.1414 |"), "{md}");
    }

    #[test]
    fn the_two_taste_table_shows_the_worst_and_best_pairs_and_the_means() {
        // 25 pairs; pair i has figure i / 100 for "a", 0.5 for "b".
        let pair = |i: usize, figure: f64| personas::MixedResult {
            genres: [format!("G{i:02}"), "H".into()],
            shares: [figure, 0.9],
            figure,
        };
        let method = |name: &str, figure: &dyn Fn(usize) -> f64| MethodReport {
            name: name.into(),
            settings: String::new(),
            fit_seconds: 0.0,
            visitor: Vec::new(),
            warm: None,
            personas: Vec::new(),
            mixed: (0..25).map(|i| pair(i, figure(i))).collect(),
        };
        let mut report = Report::new(20, 10);
        report
            .methods
            .push(method("a", &|i| (24 - i) as f64 / 100.0));
        report.methods.push(method("b", &|_| 0.5));
        let md = report.to_markdown();
        assert!(md.contains("25 pairs"), "{md}");
        assert!(
            md.contains("| G24 + H | 0.00 (0.00 / 0.90) | 0.50 (0.50 / 0.90) |"),
            "a's worst pair comes first: {md}"
        );
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| G")).collect();
        assert_eq!(rows.len(), 20, "{md}");
        assert!(
            rows[9].starts_with("| G15 ") && rows[10].starts_with("| G09 "),
            "{md}"
        );
        assert!(rows[19].starts_with("| G00 "), "{md}");
        assert!(md.contains("| … | … | … |"), "{md}");
        assert!(md.contains("| mean | **0.120** | **0.500** |"), "{md}");
    }
}
