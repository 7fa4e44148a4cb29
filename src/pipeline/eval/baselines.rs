//! The four baselines every `thumbs-v1` report shows (`../shared/EVALUATION.md`): most-popular,
//! item-kNN (cosine), EASE and implicit ALS. Each fits on an [`Interactions`] set and scores a
//! visitor by fold-in from their given thumbs (no user id), and a warm user from their training
//! thumbs. The defaults of every config were chosen on validation visitors carved out of the train
//! users ([`super::protocol::tune_baselines`]), never on the test visitors.

use faer::linalg::solvers::DenseSolveCore;
use faer::prelude::*;
use faer::{Mat, Side};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use super::{EvalError, VisitorScorer, WarmScorer};
use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::Interactions;

/// How each thumbs level enters the interaction matrix X (and a visitor's fold-in row).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThumbsWeights {
    pub down: f32,
    pub up: f32,
    pub double_up: f32,
}

impl ThumbsWeights {
    /// The thumbs values themselves: −1, 1, 2.
    pub const SIGNED: Self = Self {
        down: -1.0,
        up: 1.0,
        double_up: 2.0,
    };
    /// Positives only, graded: a thumbs-down is as if unrated.
    pub const POSITIVE: Self = Self {
        down: 0.0,
        up: 1.0,
        double_up: 2.0,
    };
    /// Every rating counts as a watch: the classic implicit-feedback reading of MovieLens.
    pub const RATED: Self = Self {
        down: 1.0,
        up: 1.0,
        double_up: 1.0,
    };
    /// A watch with graded liking: a thumbs-down is a weak positive.
    pub const GRADED: Self = Self {
        down: 0.5,
        up: 1.0,
        double_up: 2.0,
    };

    /// The weight of one thumbs level.
    pub fn of(&self, thumbs: Thumbs) -> f32 {
        match thumbs {
            Thumbs::Down => self.down,
            Thumbs::Up => self.up,
            Thumbs::DoubleUp => self.double_up,
        }
    }

    /// A short label for reports, e.g. `(-1,1,2)`.
    pub fn label(&self) -> String {
        format!("({},{},{})", self.down, self.up, self.double_up)
    }
}

/// Ranks by the number of positive ratings among train users; the same list for everyone.
#[derive(Debug, Clone)]
pub struct MostPopular {
    counts: Vec<f32>,
}

impl MostPopular {
    /// Counts positives (thumbs ≥ 1) per item.
    pub fn fit(train: &Interactions) -> Self {
        let mut counts = vec![0.0; train.num_items];
        for row in &train.rows {
            for (item, thumbs) in row {
                if thumbs.is_positive() {
                    counts[item.0 as usize] += 1.0;
                }
            }
        }
        Self { counts }
    }
}

impl VisitorScorer for MostPopular {
    fn name(&self) -> String {
        "most-popular".into()
    }

    fn score_visitor(&self, _given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.counts.clone()
    }
}

impl WarmScorer for MostPopular {
    fn name(&self) -> String {
        VisitorScorer::name(self)
    }

    fn score_user(&self, _user_id: u32, _train: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.counts.clone()
    }
}

/// The item–item Gram matrix XᵀX, dense and symmetric, as a row-major `n × n` vector.
fn gram(train: &Interactions, weights: ThumbsWeights) -> Vec<f64> {
    let n = train.num_items;
    let mut g = vec![0.0f64; n * n];
    for row in &train.rows {
        let weighted: Vec<(usize, f64)> = row
            .iter()
            .map(|(item, t)| (item.0 as usize, f64::from(weights.of(*t))))
            .filter(|(_, w)| *w != 0.0)
            .collect();
        for &(a, wa) in &weighted {
            let g_row = &mut g[a * n..(a + 1) * n];
            for &(b, wb) in &weighted {
                g_row[b] += wa * wb;
            }
        }
    }
    g
}

/// Adds `weight · row` for every given item to a score vector (the fold-in of kNN and EASE).
fn fold_in_rows(
    given: &[(ItemIndex, Thumbs)],
    weights: ThumbsWeights,
    n: usize,
    mut add: impl FnMut(usize, f32, &mut [f32]),
) -> Vec<f32> {
    let mut scores = vec![0.0f32; n];
    for (item, thumbs) in given {
        let w = weights.of(*thumbs);
        if w != 0.0 && (item.0 as usize) < n {
            add(item.0 as usize, w, &mut scores);
        }
    }
    scores
}

/// Item-kNN settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemKnnConfig {
    /// Neighbours kept per item (the most similar); at least the catalog size keeps all.
    pub neighbours: usize,
    /// How thumbs enter X and the visitor's row.
    pub weights: ThumbsWeights,
}

impl Default for ItemKnnConfig {
    /// `protocol::tune_baselines` (validation visitors, k = 10, ndcg@20): every neighbour and
    /// positives-only X won (0.231 vs 0.229 at 400 neighbours and 0.229 for signed X); thumbs-down
    /// as a watch (1,1,1) was clearly worse (0.197).
    fn default() -> Self {
        Self {
            neighbours: usize::MAX,
            weights: ThumbsWeights::POSITIVE,
        }
    }
}

/// Item-kNN: cosine similarity between the columns of X, pruned to the top neighbours of each
/// item; a visitor's score for item j is Σ over their given items i of sim(i, j) · weight(i).
#[derive(Debug, Clone)]
pub struct ItemKnn {
    config: ItemKnnConfig,
    /// Per item, its kept neighbours `(item, cosine)`.
    neighbours: Vec<Vec<(u32, f32)>>,
}

impl ItemKnn {
    /// Computes the cosine similarities and keeps each item's `config.neighbours` best.
    pub fn fit(train: &Interactions, config: ItemKnnConfig) -> Self {
        let n = train.num_items;
        let g = gram(train, config.weights);
        let norms: Vec<f64> = (0..n).map(|i| g[i * n + i].sqrt()).collect();
        let keep = config.neighbours.min(n.saturating_sub(1));
        let mut neighbours = Vec::with_capacity(n);
        for i in 0..n {
            if norms[i] == 0.0 || keep == 0 {
                neighbours.push(Vec::new());
                continue;
            }
            let mut row: Vec<(u32, f32)> = (0..n)
                .filter(|&j| j != i && norms[j] > 0.0 && g[i * n + j] != 0.0)
                .map(|j| (j as u32, (g[i * n + j] / (norms[i] * norms[j])) as f32))
                .collect();
            let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
            if keep < row.len() {
                row.select_nth_unstable_by(keep - 1, order);
                row.truncate(keep);
            }
            row.sort_unstable_by(order);
            neighbours.push(row);
        }
        Self { config, neighbours }
    }

    /// The similarity-weighted sum over the given items' neighbours.
    fn score(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        fold_in_rows(
            given,
            self.config.weights,
            self.neighbours.len(),
            |i, w, scores| {
                for &(j, sim) in &self.neighbours[i] {
                    scores[j as usize] += w * sim;
                }
            },
        )
    }
}

impl VisitorScorer for ItemKnn {
    fn name(&self) -> String {
        "item-kNN".into()
    }

    fn score_visitor(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.score(given)
    }
}

impl WarmScorer for ItemKnn {
    fn name(&self) -> String {
        VisitorScorer::name(self)
    }

    fn score_user(&self, _user_id: u32, train: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.score(train)
    }
}

/// EASE settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EaseConfig {
    /// L2 penalty λ added to the diagonal of XᵀX.
    pub lambda: f64,
    /// How thumbs enter X and the visitor's row.
    pub weights: ThumbsWeights,
}

impl Default for EaseConfig {
    /// `protocol::tune_baselines` (validation visitors, k = 10, ndcg@20): signed X (−1, 1, 2) tied
    /// positives-only at λ 500 (0.248) and beat (1,1,1) (0.213); ndcg rose with λ to a plateau,
    /// 0.259 at 1500, 0.260 at 5000, 0.261 at 15 000, 0.260 at 50 000. A large λ suits visitors
    /// who give only 5–20 thumbs; the warm protocol would prefer a smaller one (not tuned).
    fn default() -> Self {
        Self {
            lambda: 15_000.0,
            weights: ThumbsWeights::SIGNED,
        }
    }
}

/// EASE (Steck 2019): B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹ and diag(B) = 0;
/// a visitor's scores are x·B, their fold-in row x times B.
#[derive(Debug, Clone)]
pub struct Ease {
    config: EaseConfig,
    n: usize,
    /// Row-major `n × n`: row i holds the weights from item i to every item.
    b: Vec<f32>,
}

impl Ease {
    /// Solves the closed form with a Cholesky (LLT) factorisation and inverse in faer.
    pub fn fit(train: &Interactions, config: EaseConfig) -> Result<Self, EvalError> {
        let n = train.num_items;
        if config.lambda <= 0.0 {
            return Err(EvalError::Fit {
                method: "EASE".into(),
                message: format!("expected λ > 0, got {}", config.lambda),
            });
        }
        let p = {
            let g = gram(train, config.weights);
            let a = Mat::<f64>::from_fn(n, n, |i, j| {
                g[i * n + j] + if i == j { config.lambda } else { 0.0 }
            });
            drop(g);
            let llt = a.llt(Side::Lower).map_err(|e| EvalError::Fit {
                method: "EASE".into(),
                message: format!("expected XᵀX + λI to be positive definite, got {e:?}"),
            })?;
            drop(a);
            llt.inverse()
        };
        // B_ij = −P_ij / P_jj off the diagonal; P is symmetric, so row i is read from column i.
        let diag: Vec<f64> = (0..n).map(|j| p[(j, j)]).collect();
        let mut b = vec![0.0f32; n * n];
        for i in 0..n {
            let col = p
                .col(i)
                .try_as_col_major()
                .expect("a column of an owned faer Mat should be contiguous")
                .as_slice();
            let row = &mut b[i * n..(i + 1) * n];
            for (j, slot) in row.iter_mut().enumerate() {
                if j != i {
                    *slot = (-col[j] / diag[j]) as f32;
                }
            }
        }
        Ok(Self { config, n, b })
    }

    /// x·B for the given row x.
    fn score(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        let n = self.n;
        fold_in_rows(given, self.config.weights, n, |i, w, scores| {
            for (s, bij) in scores.iter_mut().zip(&self.b[i * n..(i + 1) * n]) {
                *s += w * bij;
            }
        })
    }
}

impl VisitorScorer for Ease {
    fn name(&self) -> String {
        "EASE".into()
    }

    fn score_visitor(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.score(given)
    }
}

impl WarmScorer for Ease {
    fn name(&self) -> String {
        VisitorScorer::name(self)
    }

    fn score_user(&self, _user_id: u32, train: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.score(train)
    }
}

/// Implicit-ALS settings (Hu, Koren & Volinsky 2008).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlsConfig {
    /// Latent dimension.
    pub factors: usize,
    /// Alternating sweeps (users then items).
    pub iterations: usize,
    /// L2 penalty λ on every factor.
    pub regularization: f64,
    /// Confidence slope: c = 1 + α·|weight|.
    pub alpha: f64,
    /// Preference p = 1 when the weight is > 0, else 0 (so a negative weight is a confident 0).
    pub weights: ThumbsWeights,
    /// Seed of the item-factor initialisation.
    pub seed: u64,
}

impl Default for AlsConfig {
    /// `protocol::tune_baselines` (validation visitors, k = 10, ndcg@20), coordinate search from
    /// 64 factors, λ 1, α 10: signed X (0.228 vs ≤ 0.219), then α 1 (0.239; 0.3 → 0.237,
    /// 10 → 0.228), then λ 10 (0.244; 3 → 0.242, 100 → 0.221), then 64 factors (32 → 0.243,
    /// 128 → 0.238). A thumbs-down is thus a confident "no" (p = 0, c = 1 + α).
    fn default() -> Self {
        Self {
            factors: 64,
            iterations: 15,
            regularization: 10.0,
            alpha: 1.0,
            weights: ThumbsWeights::SIGNED,
            seed: 42,
        }
    }
}

/// Implicit ALS; new visitors are folded in by solving their factor against the fixed item
/// factors (the same least-squares step as a user update), warm users keep their fitted factor.
#[derive(Debug, Clone)]
pub struct Als {
    config: AlsConfig,
    num_items: usize,
    /// Row-major `num_items × factors`.
    item_factors: Vec<f64>,
    /// YᵀY, shared by every fold-in.
    item_gram: Mat<f64>,
    /// Sorted ids of the fitted users, parallel to `user_factors` rows.
    user_ids: Vec<u32>,
    /// Row-major `num_users × factors`.
    user_factors: Vec<f64>,
}

/// `(index, weight)` pairs of one row or column of X.
type Sparse = Vec<(u32, f32)>;

/// `MᵀM` of a row-major `rows × f` matrix.
fn gram_of(m: &[f64], f: usize) -> Mat<f64> {
    let rows = m.len() / f.max(1);
    let view = MatRef::from_row_major_slice(m, rows, f);
    view.transpose() * view
}

/// The implicit-ALS least-squares step for one entity against fixed factors `other`:
/// (OᵀO + Oᵀ(C − I)O + λI) x = OᵀCp.
fn solve_one(
    entries: &[(u32, f32)],
    other: &[f64],
    other_gram: &Mat<f64>,
    config: &AlsConfig,
) -> Result<Vec<f64>, String> {
    let f = config.factors;
    let confidence = |w: f32| 1.0 + config.alpha * f64::from(w.abs());
    let scaled = Mat::<f64>::from_fn(entries.len(), f, |r, c| {
        let (j, w) = entries[r];
        other[j as usize * f + c] * (confidence(w) - 1.0).sqrt()
    });
    let mut a = other_gram + scaled.transpose() * &scaled;
    for d in 0..f {
        a[(d, d)] += config.regularization;
    }
    let mut rhs = Mat::<f64>::zeros(f, 1);
    for &(j, w) in entries {
        if w > 0.0 {
            let c = confidence(w);
            for d in 0..f {
                rhs[(d, 0)] += c * other[j as usize * f + d];
            }
        }
    }
    let llt = a
        .llt(Side::Lower)
        .map_err(|e| format!("expected a positive-definite normal matrix, got {e:?}"))?;
    let x = llt.solve(&rhs);
    Ok((0..f).map(|d| x[(d, 0)]).collect())
}

/// Solves every entity's factor against fixed factors `other`.
fn solve_side(lists: &[Sparse], other: &[f64], config: &AlsConfig) -> Result<Vec<f64>, String> {
    let other_gram = gram_of(other, config.factors);
    let mut out = Vec::with_capacity(lists.len() * config.factors);
    for entries in lists {
        out.extend(solve_one(entries, other, &other_gram, config)?);
    }
    Ok(out)
}

impl Als {
    /// Alternates user and item least-squares sweeps from seeded small random item factors.
    pub fn fit(train: &Interactions, config: AlsConfig) -> Result<Self, EvalError> {
        let fit_error = |message: String| EvalError::Fit {
            method: "ALS".into(),
            message,
        };
        if config.factors == 0 || config.regularization <= 0.0 {
            return Err(fit_error(format!(
                "expected factors ≥ 1 and λ > 0, got {} factors and λ = {}",
                config.factors, config.regularization
            )));
        }
        let f = config.factors;
        let n = train.num_items;
        let to_sparse = |row: &[(ItemIndex, Thumbs)]| -> Sparse {
            row.iter()
                .map(|(i, t)| (i.0, config.weights.of(*t)))
                .filter(|(_, w)| *w != 0.0)
                .collect()
        };
        let user_lists: Vec<Sparse> = train.rows.iter().map(|r| to_sparse(r)).collect();
        let mut item_lists: Vec<Sparse> = vec![Vec::new(); n];
        for (u, list) in user_lists.iter().enumerate() {
            for &(i, w) in list {
                item_lists[i as usize].push((u as u32, w));
            }
        }
        let mut rng = StdRng::seed_from_u64(config.seed);
        let scale = 0.1 / (f as f64).sqrt();
        let mut item_factors: Vec<f64> = (0..n * f)
            .map(|_| (rng.random::<f64>() - 0.5) * 2.0 * scale)
            .collect();
        let mut user_factors = Vec::new();
        for _ in 0..config.iterations.max(1) {
            user_factors = solve_side(&user_lists, &item_factors, &config).map_err(fit_error)?;
            item_factors = solve_side(&item_lists, &user_factors, &config).map_err(fit_error)?;
        }
        let item_gram = gram_of(&item_factors, f);
        // Pair ids with rows so a warm user finds their factor by binary search.
        let mut order: Vec<usize> = (0..train.user_ids.len()).collect();
        order.sort_by_key(|&u| train.user_ids[u]);
        let user_ids = order.iter().map(|&u| train.user_ids[u]).collect();
        let user_factors = order
            .iter()
            .flat_map(|&u| user_factors[u * f..(u + 1) * f].iter().copied())
            .collect();
        Ok(Self {
            config,
            num_items: n,
            item_factors,
            item_gram,
            user_ids,
            user_factors,
        })
    }

    /// Scores every item against a user factor.
    fn scores_for(&self, x: &[f64]) -> Vec<f32> {
        let f = self.config.factors;
        self.item_factors
            .chunks_exact(f)
            .map(|y| y.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() as f32)
            .collect()
    }

    /// The fold-in factor of a visitor; zero when their thumbs give nothing to solve against.
    fn fold_in(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f64> {
        let entries: Sparse = given
            .iter()
            .filter(|(i, _)| (i.0 as usize) < self.num_items)
            .map(|(i, t)| (i.0, self.config.weights.of(*t)))
            .filter(|(_, w)| *w != 0.0)
            .collect();
        solve_one(&entries, &self.item_factors, &self.item_gram, &self.config)
            .unwrap_or_else(|_| vec![0.0; self.config.factors])
    }
}

impl VisitorScorer for Als {
    fn name(&self) -> String {
        "ALS".into()
    }

    fn score_visitor(&self, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        self.scores_for(&self.fold_in(given))
    }
}

impl WarmScorer for Als {
    fn name(&self) -> String {
        VisitorScorer::name(self)
    }

    fn score_user(&self, user_id: u32, train: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        let f = self.config.factors;
        match self.user_ids.binary_search(&user_id) {
            Ok(u) => self.scores_for(&self.user_factors[u * f..(u + 1) * f]),
            Err(_) => self.score_visitor(train),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two taste clusters over 6 items: users 0–2 like items 0–2, users 3–5 like items 3–5;
    /// user 6 dislikes item 0 and likes item 5.
    fn clusters() -> Interactions {
        let up = |i: u32| (ItemIndex(i), Thumbs::Up);
        let rows = vec![
            vec![up(0), up(1), up(2)],
            vec![up(0), up(1)],
            vec![up(1), up(2), (ItemIndex(0), Thumbs::DoubleUp)],
            vec![up(3), up(4), up(5)],
            vec![up(3), up(4)],
            vec![up(4), up(5)],
            vec![(ItemIndex(0), Thumbs::Down), up(5)],
        ];
        Interactions {
            num_items: 6,
            user_ids: (0..rows.len() as u32).collect(),
            rows,
        }
    }

    fn best_other(scores: &[f32], given: &[u32]) -> u32 {
        let exclude: Vec<ItemIndex> = given.iter().copied().map(ItemIndex).collect();
        crate::pipeline::eval::top_k(scores, 1, &exclude)[0].0
    }

    #[test]
    fn most_popular_counts_positives_only() {
        let model = MostPopular::fit(&clusters());
        // Item 0: users 0, 1, 2 positive, user 6 negative → 3. Item 5: users 3, 5, 6 → 3.
        assert_eq!(model.score_visitor(&[]), vec![3.0, 3.0, 2.0, 2.0, 3.0, 3.0]);
    }

    #[test]
    fn gram_is_x_transpose_x_with_weights() {
        let g = gram(&clusters(), ThumbsWeights::SIGNED);
        // G[0][0] = 1 + 1 + 2² + (−1)² = 7; G[0][5] = (−1)·1 = −1; G[0][1] = 1 + 1 + 2·1 = 4.
        assert_eq!(g[0], 7.0);
        assert_eq!(g[5], -1.0);
        assert_eq!(g[1], 4.0);
        assert_eq!(g[6], 4.0, "symmetric");
    }

    #[test]
    fn item_knn_uses_cosine_and_prunes_neighbours() {
        let config = ItemKnnConfig {
            neighbours: 1,
            weights: ThumbsWeights::RATED,
        };
        let model = ItemKnn::fit(&clusters(), config);
        // With all weights 1: items 3 and 4 share users 3, 4 → cos = 2 / (√2 · √3) = 0.8164966;
        // 4 and 5 share users 3, 5 → 2 / (√3 · √3) = 0.6667. Item 3's single neighbour is 4.
        assert_eq!(model.neighbours[3].len(), 1);
        assert_eq!(model.neighbours[3][0].0, 4);
        assert!((model.neighbours[3][0].1 - 0.816_496_6).abs() < 1e-6);
        let scores = model.score_visitor(&[(ItemIndex(3), Thumbs::DoubleUp)]);
        assert!(
            (scores[4] - 0.816_496_6).abs() < 1e-6,
            "weight 1 under RATED"
        );
        assert_eq!(scores[0], 0.0);
    }

    #[test]
    fn ease_recovers_the_taste_cluster() {
        let config = EaseConfig {
            lambda: 0.5,
            weights: ThumbsWeights::SIGNED,
        };
        let model = Ease::fit(&clusters(), config).unwrap();
        for i in 0..6 {
            assert_eq!(model.b[i * 6 + i], 0.0, "diag(B) = 0");
        }
        let given = [(ItemIndex(0), Thumbs::Up), (ItemIndex(1), Thumbs::Up)];
        assert_eq!(best_other(&model.score_visitor(&given), &[0, 1]), 2);
        let given = [(ItemIndex(3), Thumbs::Up)];
        assert!([4, 5].contains(&best_other(&model.score_visitor(&given), &[3])));
    }

    #[test]
    fn ease_matches_the_closed_form_on_one_user() {
        // One user rating items 0 and 1 with weight 1, λ = 1: XᵀX + I = [[2, 1], [1, 2]],
        // P = (1/3)[[2, −1], [−1, 2]], B_01 = −P_01 / P_11 = (1/3) / (2/3) = 0.5.
        let train = Interactions {
            num_items: 2,
            user_ids: vec![1],
            rows: vec![vec![(ItemIndex(0), Thumbs::Up), (ItemIndex(1), Thumbs::Up)]],
        };
        let config = EaseConfig {
            lambda: 1.0,
            weights: ThumbsWeights::RATED,
        };
        let model = Ease::fit(&train, config).unwrap();
        assert!((model.b[1] - 0.5).abs() < 1e-6, "{:?}", model.b);
        assert!((model.b[2] - 0.5).abs() < 1e-6, "{:?}", model.b);
        assert!(
            Ease::fit(
                &train,
                EaseConfig {
                    lambda: 0.0,
                    ..config
                }
            )
            .is_err()
        );
    }

    #[test]
    fn als_folds_in_a_visitor_into_their_cluster() {
        let config = AlsConfig {
            factors: 2,
            iterations: 20,
            regularization: 0.1,
            alpha: 10.0,
            weights: ThumbsWeights::POSITIVE,
            seed: 3,
        };
        let model = Als::fit(&clusters(), config).unwrap();
        let scores = model.score_visitor(&[(ItemIndex(3), Thumbs::Up), (ItemIndex(4), Thumbs::Up)]);
        assert_eq!(best_other(&scores, &[3, 4]), 5);
        let scores = model.score_visitor(&[(ItemIndex(1), Thumbs::Up)]);
        let best = best_other(&scores, &[1]);
        assert!(best == 0 || best == 2, "got {best}");
        // Warm: user 4 (items 3, 4) keeps their fitted factor.
        let warm = model.score_user(4, &[]);
        assert_eq!(best_other(&warm, &[3, 4]), 5);
        assert!(model.score_visitor(&[]).iter().all(|s| *s == 0.0));
    }
}
