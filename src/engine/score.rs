//! The one score every ranking uses — training's validation, `evaluate`, `export` and the
//! browser: `q · v / τ + β · b + λ · a`, where `v` is a movie's unit vector, `b` its learned
//! bias (how popular it is), `q` the visitor's vector, `β` how much popularity counts (below 1
//! it also takes the movies' shared, popular direction out of `q`), and `a` the movie's genre
//! affinity to the visitor's thumbs ([`Genres::affinity`]) weighted by `λ`. The first two terms
//! are one dot product per catalog row: rows `[v ; b / s]` ([`ranking_table`]) against the query `[q / τ ; β · s]`
//! ([`QuerySpace::query`]); the genre term is added per row ([`Genres::boost`]).
//!
//! Also the reason shown under a recommendation ([`reason`]): the liked movie nearest to it,
//! named only when it really is near.

use burn::config::Config;

use crate::engine::personalize::ItemVectors;
use crate::engine::{ItemIndex, Thumbs};

/// How a visitor's vector becomes a ranking, and when a liked movie is named as the reason.
#[derive(Config, Debug, PartialEq)]
pub struct RankingConfig {
    /// `β`: how much popularity counts — the learned bias, and the movies' shared direction in
    /// the visitor's vector; 1 ranks as trained, 0 by taste alone. The page's
    /// "familiar ↔ discover" control moves it between 1 and 0.
    #[config(default = 1.0)]
    pub popularity_weight: f64,
    /// `λ`: weight of the genre affinity, in the units of `cos / τ` (0: no genre term).
    #[config(default = 0.0)]
    pub genre_weight: f64,
    /// The least cosine between a recommendation and a liked movie for "because you liked".
    #[config(default = 0.5)]
    pub reason_min_cosine: f64,
    /// `δ`: how far a thumbs-down pushes its near movies down, in the units of `cos / τ`
    /// (the [`Ranker`](crate::engine::ranker::Ranker)'s; 0: a thumbs-down only moves the
    /// visitor's vector).
    #[config(default = 0.0)]
    pub dislike_weight: f64,
    /// The cosine to a disliked movie from which a movie is pushed down.
    #[config(default = 0.75)]
    pub dislike_min_cosine: f64,
    /// How many tastes a visitor's likes may split into (`tastes`; 1: one vector for all).
    #[config(default = 1)]
    pub max_tastes: usize,
    /// Two groups of likes are two tastes when their centres' cosine is below this.
    #[config(default = 0.0)]
    pub taste_split_cosine: f64,
    /// The fewest likes a taste holds.
    #[config(default = 3)]
    pub taste_min_likes: usize,
}

/// Why a ranking setting was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    #[error("popularity weight must be a number from 0 to 1 (got {0})")]
    PopularityWeight(f64),
}

/// Checks a visitor's popularity weight (`β`): finite, from 0 to 1.
pub fn check_popularity_weight(value: f64) -> Result<f64, ScoreError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ScoreError::PopularityWeight(value))
    }
}

/// The ranking table in float: `[v ; b / s]` per catalog row, and the bias scale `s` that keeps
/// the bias column within the range of the vector components (what int8 rows need).
///
/// # Shapes
/// `[items.len(), items.dim + 1]`, row-major.
pub fn ranking_table(items: &ItemVectors) -> (Vec<f32>, f32) {
    let max_bias = items.bias.iter().fold(0.0f32, |m, b| m.max(b.abs()));
    let scale = if max_bias > 0.0 { max_bias / 0.5 } else { 1.0 };
    (table_rows(items, scale), scale)
}

/// The rows `[v ; b / s]` for a given bias scale `s` (rows added to a table keep its `s`).
///
/// # Shapes
/// `[items.len(), items.dim + 1]`, row-major.
pub fn table_rows(items: &ItemVectors, bias_scale: f32) -> Vec<f32> {
    let mut table = Vec::with_capacity(items.len() * (items.dim + 1));
    for i in 0..items.len() {
        table.extend_from_slice(items.row(i));
        table.push(items.bias[i] / bias_scale);
    }
    table
}

/// The inverse of [`ranking_table`]: the vectors and biases of a (dequantised) table with
/// rows `[v ; b / s]`.
///
/// # Shapes
/// `table`: `[rows, width]`, row-major; the result has `dim = width − 1`.
pub fn table_items(table: &[f32], width: usize, bias_scale: f32) -> ItemVectors {
    let dim = width - 1;
    let rows = table.len() / width;
    let mut vectors = Vec::with_capacity(rows * dim);
    let mut bias = Vec::with_capacity(rows);
    for row in table.chunks_exact(width) {
        vectors.extend_from_slice(&row[..dim]);
        bias.push(row[dim] * bias_scale);
    }
    ItemVectors { vectors, bias, dim }
}

/// What a query is formed against: the temperature, the table's bias scale, and the direction
/// the movie vectors share (their normalised mean) — popularity, which they carry beside the
/// learned bias.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpace {
    pub temperature: f64,
    pub bias_scale: f32,
    /// Unit vector, `[items.dim]` (zeros for an empty catalog).
    pub shared: Vec<f32>,
}

impl QuerySpace {
    /// The space of `items`, ranked at `temperature` with the table's `bias_scale`.
    pub fn new(items: &ItemVectors, temperature: f64, bias_scale: f32) -> Self {
        let mut shared = vec![0f32; items.dim];
        for i in 0..items.len() {
            for (m, v) in shared.iter_mut().zip(items.row(i)) {
                *m += v;
            }
        }
        let norm = shared.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            shared.iter_mut().for_each(|x| *x /= norm);
        }
        Self {
            temperature,
            bias_scale,
            shared,
        }
    }

    /// The query `[q / τ ; β · s]` for the visitor vector `user` (unit, `[items.dim]`), where
    /// `q` is `user` with `1 − β` of its component along the shared direction taken out: at
    /// `β = 0` neither the bias nor the vectors' common popularity counts.
    pub fn query(&self, user: &[f32], popularity_weight: f64) -> Vec<f32> {
        let along: f32 = user.iter().zip(&self.shared).map(|(a, b)| a * b).sum();
        let cut = (1.0 - popularity_weight) as f32 * along;
        let inv_t = (1.0 / self.temperature) as f32;
        let mut q: Vec<f32> = user
            .iter()
            .zip(&self.shared)
            .map(|(x, m)| (x - cut * m) * inv_t)
            .collect();
        q.push((popularity_weight * f64::from(self.bias_scale)) as f32);
        q
    }
}

/// Each catalog movie's genres as small ids, and each genre's share of the crowd's ratings:
/// what the genre term reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Genres {
    of_item: Vec<Vec<u16>>,
    /// Per genre: the share of all ratings that went to movies of the genre.
    crowd: Vec<f32>,
}

impl Genres {
    /// From each catalog movie's genre names and number of ratings, in catalog order.
    pub fn new<S: AsRef<str>>(per_item: &[Vec<S>], ratings: &[f32]) -> Self {
        let mut ids = std::collections::BTreeMap::new();
        for name in per_item.iter().flatten() {
            let next = ids.len() as u16;
            ids.entry(name.as_ref()).or_insert(next);
        }
        let of_item: Vec<Vec<u16>> = per_item
            .iter()
            .map(|names| names.iter().map(|n| ids[n.as_ref()]).collect())
            .collect();
        let mut crowd = vec![0f32; ids.len()];
        for (genres, &n) in of_item.iter().zip(ratings) {
            for &g in genres {
                crowd[usize::from(g)] += n;
            }
        }
        let total: f32 = ratings.iter().take(of_item.len()).sum();
        if total > 0.0 {
            crowd.iter_mut().for_each(|c| *c /= total);
        }
        Self { of_item, crowd }
    }

    /// Number of catalog movies.
    pub fn len(&self) -> usize {
        self.of_item.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.of_item.is_empty()
    }

    /// Whether two movies share a genre.
    pub fn share(&self, a: ItemIndex, b: ItemIndex) -> bool {
        let (a, b) = (&self.of_item[a.0 as usize], &self.of_item[b.0 as usize]);
        a.iter().any(|g| b.contains(g))
    }

    /// Each movie's genre affinity to the thumbs `rated`: the mean, over the movie's genres, of
    /// how much more the visitor's thumbs go to the genre than the crowd's ratings do — the
    /// genre's thumbs-weighted share of the rated movies (thumbs −1, 1, 2 as weights) minus its
    /// share of all ratings. A taste that is the crowd's moves nothing; five horror films make
    /// horror stand out. 0 for every movie when nothing is rated; rows outside the catalog are
    /// ignored.
    pub fn affinity(&self, rated: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
        let mut profile = vec![0f32; self.crowd.len()];
        let mut total = 0f32;
        for (item, thumbs) in rated {
            let Some(genres) = self.of_item.get(item.0 as usize) else {
                continue;
            };
            let w = f32::from(thumbs.value());
            for &g in genres {
                profile[usize::from(g)] += w;
            }
            total += w.abs();
        }
        if total == 0.0 {
            return vec![0.0; self.len()];
        }
        for (p, c) in profile.iter_mut().zip(&self.crowd) {
            *p = *p / total - c;
        }
        self.of_item
            .iter()
            .map(|genres| {
                let sum: f32 = genres.iter().map(|&g| profile[usize::from(g)]).sum();
                sum / genres.len().max(1) as f32
            })
            .collect()
    }

    /// The genre term of every row's score: `λ ·` [`Genres::affinity`]; `None` when `λ` is 0.
    pub fn boost(&self, rated: &[(ItemIndex, Thumbs)], config: &RankingConfig) -> Option<Vec<f32>> {
        (config.genre_weight != 0.0).then(|| {
            let lambda = config.genre_weight as f32;
            self.affinity(rated)
                .into_iter()
                .map(|a| lambda * a)
                .collect()
        })
    }
}

/// Every row's score for a query over a float table of rows of `query.len()` values.
pub fn score_rows(table: &[f32], query: &[f32]) -> Vec<f32> {
    table
        .chunks_exact(query.len())
        .map(|row| row.iter().zip(query).map(|(a, b)| a * b).sum())
        .collect()
}

/// The liked movie to name under recommendation `index`: of the liked movies that share a genre
/// with it, the nearest by cosine, when that cosine is at least `min_cosine`; `None` when no
/// liked movie is that close.
pub fn reason(
    items: &ItemVectors,
    genres: &Genres,
    index: ItemIndex,
    liked: &[ItemIndex],
    min_cosine: f64,
) -> Option<ItemIndex> {
    let target = items.row(index.0 as usize);
    liked
        .iter()
        .filter(|&&l| genres.share(l, index))
        .map(|&l| {
            let v = items.row(l.0 as usize);
            (l, v.iter().zip(target).map(|(a, b)| a * b).sum::<f32>())
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .filter(|(_, cosine)| f64::from(*cosine) >= min_cosine)
        .map(|(l, _)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three items in 2-d: east (bias 1), north (bias 0), north-east (bias -1).
    fn items() -> ItemVectors {
        let h = std::f32::consts::FRAC_1_SQRT_2;
        ItemVectors {
            vectors: vec![1.0, 0.0, 0.0, 1.0, h, h],
            bias: vec![1.0, 0.0, -1.0],
            dim: 2,
        }
    }

    #[test]
    fn a_row_against_the_query_is_cosine_over_temperature_plus_weighted_bias() {
        let items = items();
        let (table, s) = ranking_table(&items);
        assert_eq!(s, 2.0);
        let space = QuerySpace::new(&items, 0.1, s);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        // The mean of east, north and north-east points north-east.
        assert!((space.shared[0] - h).abs() < 1e-6 && (space.shared[1] - h).abs() < 1e-6);
        for beta in [0.0f32, 0.5, 1.0] {
            let q = space.query(&[0.0, 1.0], f64::from(beta));
            // (1 − β) of the component along north-east (h) is taken out of north.
            let cut = (1.0 - beta) * h;
            let user = [-cut * h, 1.0 - cut * h];
            let scores = score_rows(&table, &q);
            for (i, got) in scores.iter().enumerate() {
                let v = items.row(i);
                let want = (user[0] * v[0] + user[1] * v[1]) / 0.1 + beta * items.bias[i];
                assert!(
                    (got - want).abs() < 1e-4,
                    "β {beta}, row {i}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn a_reason_names_a_liked_movie_of_a_shared_genre_only_when_it_is_near() {
        let items = items();
        let liked = [ItemIndex(0), ItemIndex(1)];
        let all_drama = Genres::new(&[vec!["Drama"], vec!["Drama"], vec!["Drama"]], &[]);
        // North-east is at cosine 0.707 from both; the lower row wins the tie.
        assert_eq!(
            reason(&items, &all_drama, ItemIndex(2), &liked, 0.5),
            Some(ItemIndex(0))
        );
        assert_eq!(reason(&items, &all_drama, ItemIndex(2), &liked, 0.8), None);
        assert_eq!(reason(&items, &all_drama, ItemIndex(2), &[], 0.0), None);
        // Only the northern movie shares a genre with north-east.
        let genres = Genres::new(
            &[vec!["Western"], vec!["Horror", "Drama"], vec!["Drama"]],
            &[],
        );
        assert_eq!(
            reason(&items, &genres, ItemIndex(2), &liked, 0.5),
            Some(ItemIndex(1))
        );
    }

    #[test]
    fn genre_affinity_is_the_mean_lift_of_the_movies_genres_over_the_crowd() {
        let names = [
            vec!["Horror"],
            vec!["Horror", "Comedy"],
            vec!["Comedy"],
            vec!["Western"],
        ];
        // The crowd: 10 ratings, Horror 1 + 3, Comedy 3 + 4, Western 2.
        let genres = Genres::new(&names, &[1.0, 3.0, 4.0, 2.0]);
        assert_eq!(genres.affinity(&[]), vec![0.0; 4]);
        // Loved 0 (+2), disliked 2 (−1): Horror 2/3 − 0.4, Comedy −1/3 − 0.7, Western −0.2.
        let rated = [
            (ItemIndex(0), Thumbs::DoubleUp),
            (ItemIndex(2), Thumbs::Down),
        ];
        let a = genres.affinity(&rated);
        let (horror, comedy, western) = (2.0 / 3.0 - 0.4, -1.0 / 3.0 - 0.7, -0.2);
        let want = [horror, (horror + comedy) / 2.0, comedy, western];
        for (got, want) in a.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{a:?}");
        }
        let config = RankingConfig {
            genre_weight: 3.0,
            ..RankingConfig::new()
        };
        let boost = genres.boost(&rated, &config).unwrap();
        assert!((boost[0] - 3.0 * horror).abs() < 1e-6, "{boost:?}");
        assert_eq!(genres.boost(&rated, &RankingConfig::new()), None);
        assert!(genres.share(ItemIndex(0), ItemIndex(1)));
        assert!(!genres.share(ItemIndex(0), ItemIndex(3)));
        // A visitor whose thumbs split like the crowd's moves nothing.
        let flat = Genres::new(&[vec!["A"], vec!["B"]], &[1.0, 1.0]);
        let even = [(ItemIndex(0), Thumbs::Up), (ItemIndex(1), Thumbs::Up)];
        assert_eq!(flat.affinity(&even), vec![0.0, 0.0]);
    }
}
