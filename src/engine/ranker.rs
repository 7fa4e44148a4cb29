//! The visitor's list: how a visitor's vectors (one per taste, [`tastes`]) and the thumbs they
//! were read from become ranked, explained movies — the query ([`QuerySpace`]), the compressed
//! table's kernel ([`TopK`]), the genre term ([`Genres::boost`]), the thumbs-down term, the
//! tastes' blend, the rated movies left out, the reasons ([`reason`]), the "new for you" shelf
//! and "similar" lists. The browser's recommender and
//! `evaluate`'s scorer both rank through it, so every offline figure is the shipped code's.

use crate::engine::bundle::{BundleError, Int8Table, ItemTable};
use crate::engine::personalize::ItemVectors;
use crate::engine::rank::{RankError, TopK};
use crate::engine::score::{Genres, QuerySpace, RankingConfig, ranking_table, reason, table_items};
use crate::engine::tastes::tastes;
use crate::engine::{ItemIndex, Thumbs};

/// The list the tastes share: a taste with a third of the likes holds about a third of its
/// top movies.
pub const TASTE_LIST: usize = 20;

/// Why a movie is on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Because {
    /// A liked movie of a shared genre near it ([`reason`]).
    Liked(ItemIndex),
    /// The visitor likes something, but nothing near enough to name.
    Taste,
    /// The visitor likes nothing yet.
    Nothing,
}

/// One movie of a list, with its score and reason.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub index: ItemIndex,
    pub score: f32,
    pub because: Because,
}

/// The catalog's ranking side: the compressed table, its dequantised vectors (for reasons and
/// fine-tuning), the genres, the query space and the ranking settings.
#[derive(Debug, Clone)]
pub struct Ranker {
    table: TopK,
    items: ItemVectors,
    genres: Genres,
    space: QuerySpace,
    config: RankingConfig,
    /// The thumbs-down term of the last set of disliked movies.
    dislikes: DislikeCache,
}

/// The thumbs-down term of one set of disliked movies (sorted), kept between updates: the term
/// is a max over the disliked movies, so a thumbs-down added to the set costs one pass over the
/// table, and an update that only changes likes costs none. A max is exact in any order, so the
/// kept term is the one a fresh computation gives.
#[derive(Debug, Default)]
struct DislikeCache(std::sync::Mutex<(Vec<ItemIndex>, Vec<f32>)>);

impl Clone for DislikeCache {
    /// A fresh, empty cache.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Ranker {
    /// The ranker over a bundle's `table` of rows `[v ; b / s]` (`s = bias_scale`), ranked at
    /// `temperature`. Row `r` is `ItemIndex(r)`.
    pub fn new(
        table: ItemTable,
        temperature: f64,
        bias_scale: f32,
        genres: Genres,
        config: RankingConfig,
    ) -> Self {
        // Dequantised once: reasons and fine-tuning read vectors, ranking stays compressed.
        let items = table_items(&table.dequantize(), table.dim(), bias_scale);
        let space = QuerySpace::new(&items, temperature, bias_scale);
        Self {
            table: TopK::by_row(table),
            items,
            genres,
            space,
            config,
            dislikes: DislikeCache::default(),
        }
    }

    /// The ranker of trained item vectors as `export` ships them: rows `[v ; b / s]`
    /// ([`ranking_table`]) quantised to int8.
    pub fn int8(
        items: &ItemVectors,
        temperature: f64,
        genres: Genres,
        config: RankingConfig,
    ) -> Result<Self, BundleError> {
        let (rows, bias_scale) = ranking_table(items);
        let table = ItemTable::Int8(Int8Table::quantize(&rows, items.dim + 1)?);
        Ok(Self::new(table, temperature, bias_scale, genres, config))
    }

    /// The same catalog ranked with other settings.
    pub fn with_config(self, config: RankingConfig) -> Self {
        Self {
            config,
            dislikes: DislikeCache::default(),
            ..self
        }
    }

    pub fn table(&self) -> &ItemTable {
        self.table.table()
    }

    /// The table's vectors and biases, dequantised.
    pub fn items(&self) -> &ItemVectors {
        &self.items
    }

    pub fn genres(&self) -> &Genres {
        &self.genres
    }

    pub fn space(&self) -> &QuerySpace {
        &self.space
    }

    pub fn config(&self) -> &RankingConfig {
        &self.config
    }

    /// The catalog's size.
    pub fn rows(&self) -> usize {
        self.items.len()
    }

    /// The query for a visitor vector at popularity weight `β`.
    pub fn query(&self, user: &[f32], popularity_weight: f64) -> Vec<f32> {
        self.space.query(user, popularity_weight)
    }

    /// The visitor's tastes ([`tastes`]): the thumbs each of the visitor's vectors is read
    /// from, in the order the ranking takes them.
    pub fn tastes(&self, rated: &[(ItemIndex, Thumbs)]) -> Vec<Vec<(ItemIndex, Thumbs)>> {
        tastes(&self.items, rated, &self.config)
    }

    /// Every catalog row's score for the visitor vectors `users`, one per taste of `rated`
    /// ([`Ranker::tastes`]).
    ///
    /// A taste's score is the compressed table's kernel plus its genre term, less the
    /// thumbs-down term. With one taste that is the score; with several, each taste's is taken
    /// relative to its own `k`-th best unrated movie, `k` its share of a [`TASTE_LIST`]-movie
    /// list by number of likes, and a movie scores its best taste's: the top of the list is
    /// each taste's top, in proportion.
    ///
    /// # Shapes
    /// `users`: `[tastes][dim]`; the result: `[rows]`.
    pub fn scores(
        &self,
        users: &[Vec<f32>],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
    ) -> Result<Vec<f32>, RankError> {
        Ok(self.scored(users, rated, popularity_weight, None)?.scores)
    }

    /// The `k` best movies for `users` (one per taste of `rated`), none of them rated, with
    /// their reasons. `device_scores`, when given, are every row's table score per taste,
    /// computed on the device for these vectors and weight; the other terms are added here
    /// either way.
    pub fn top(
        &self,
        users: &[Vec<f32>],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
        k: usize,
        device_scores: Option<&[Vec<f32>]>,
    ) -> Result<Vec<Ranked>, RankError> {
        let scored = self.scored(users, rated, popularity_weight, device_scores)?;
        let exclude: Vec<ItemIndex> = rated.iter().map(|(i, _)| *i).collect();
        let top = self.table.select_scored(&scored.scores, k, &exclude)?;
        Ok(self.explained(top, &scored))
    }

    /// The `k` best of `candidates` (catalog rows, e.g. the movies added after training) for
    /// `users` (one per taste of `rated`), by the same score, none of them rated; once the
    /// visitor likes anything, only candidates sharing a genre with a liked movie.
    pub fn top_among(
        &self,
        candidates: &[ItemIndex],
        users: &[Vec<f32>],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
        k: usize,
    ) -> Result<Vec<Ranked>, RankError> {
        let scored = self.scored(users, rated, popularity_weight, None)?;
        let liked = liked(rated);
        let mut top: Vec<(ItemIndex, f32)> = candidates
            .iter()
            .filter(|i| !rated.iter().any(|(r, _)| r == *i))
            .filter(|&&i| liked.is_empty() || liked.iter().any(|&l| self.genres.share(l, i)))
            .map(|&i| (i, scored.scores[i.0 as usize]))
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(k);
        Ok(self.explained(top, &scored))
    }

    /// The `k` best unrated movies for a description: `description` holds every row's
    /// description score (`f32::NEG_INFINITY` where a movie is no match), blended with the
    /// visitor's list score when there are visitor vectors (`users`, one per taste of `rated`):
    /// both standardised over the rows that match, `taste_share` of the visitor's. Reasons as
    /// for the list; none of the rows that do not match.
    pub fn top_described(
        &self,
        description: &[f32],
        taste_share: f32,
        users: &[Vec<f32>],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
        k: usize,
    ) -> Result<Vec<Ranked>, RankError> {
        if description.len() != self.rows() {
            return Err(RankError::OutputLen {
                expected: self.rows(),
                got: description.len(),
            });
        }
        let mut scored = if users.is_empty() {
            Scored {
                scores: vec![0.0; self.rows()],
                taste: vec![0; self.rows()],
                tastes: vec![Vec::new()],
            }
        } else {
            self.scored(users, rated, popularity_weight, None)?
        };
        let share = if users.is_empty() {
            0.0
        } else {
            taste_share.clamp(0.0, 1.0)
        };
        let matching: Vec<usize> = (0..self.rows())
            .filter(|&r| description[r].is_finite())
            .collect();
        let standard = |values: &dyn Fn(usize) -> f32| -> (f32, f32) {
            let n = matching.len().max(1) as f32;
            let mean = matching.iter().map(|&r| values(r)).sum::<f32>() / n;
            let var = matching
                .iter()
                .map(|&r| (values(r) - mean).powi(2))
                .sum::<f32>()
                / n;
            (mean, var.sqrt().max(1e-6))
        };
        let (d_mean, d_sd) = standard(&|r| description[r]);
        let (t_mean, t_sd) = standard(&|r| scored.scores[r]);
        let blended: Vec<f32> = (0..self.rows())
            .map(|r| {
                if !description[r].is_finite() {
                    return f32::NEG_INFINITY;
                }
                let d = (description[r] - d_mean) / d_sd;
                let t = (scored.scores[r] - t_mean) / t_sd;
                (1.0 - share) * d + share * t
            })
            .collect();
        scored.scores = blended;
        let exclude: Vec<ItemIndex> = rated.iter().map(|(i, _)| *i).collect();
        let mut top = self.table.select_scored(&scored.scores, k, &exclude)?;
        top.retain(|(_, score)| score.is_finite());
        Ok(self.explained(top, &scored))
    }

    /// Every row's score and the taste it came from.
    fn scored(
        &self,
        users: &[Vec<f32>],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
        device_scores: Option<&[Vec<f32>]>,
    ) -> Result<Scored, RankError> {
        let tastes = self.tastes(rated);
        for got in [Some(users.len()), device_scores.map(<[_]>::len)]
            .into_iter()
            .flatten()
        {
            if got != tastes.len() {
                return Err(RankError::Tastes {
                    expected: tastes.len(),
                    got,
                });
            }
        }
        let penalty = self.dislike_penalty(rated)?;
        let mut per_taste = Vec::with_capacity(tastes.len());
        for (t, (user, taste)) in users.iter().zip(&tastes).enumerate() {
            let mut scores = match device_scores {
                Some(device) if device[t].len() != self.rows() => {
                    return Err(RankError::OutputLen {
                        expected: self.rows(),
                        got: device[t].len(),
                    });
                }
                Some(device) => device[t].clone(),
                None => {
                    let mut scores = vec![0f32; self.rows()];
                    let query = self.query(user, popularity_weight);
                    self.table.scores_into(&query, &mut scores)?;
                    scores
                }
            };
            if let Some(boost) = self.genres.boost(taste, &self.config) {
                scores.iter_mut().zip(boost).for_each(|(s, b)| *s += b);
            }
            if let Some(penalty) = &penalty {
                scores.iter_mut().zip(penalty).for_each(|(s, p)| *s -= p);
            }
            per_taste.push(scores);
        }
        if per_taste.len() == 1 {
            return Ok(Scored {
                scores: per_taste.pop().expect("one taste"),
                taste: vec![0; self.rows()],
                tastes,
            });
        }
        let rated_rows: std::collections::HashSet<ItemIndex> =
            rated.iter().map(|(i, _)| *i).collect();
        let likes: Vec<usize> = tastes.iter().map(|t| liked(t).len()).collect();
        let total: usize = likes.iter().sum();
        let offsets: Vec<f32> = per_taste
            .iter()
            .zip(&likes)
            .map(|(scores, &n)| {
                let share = (TASTE_LIST * n).div_ceil(total.max(1)).max(1);
                let mut unrated: Vec<f32> = (0..self.rows())
                    .filter(|r| !rated_rows.contains(&ItemIndex(*r as u32)))
                    .map(|r| scores[r])
                    .collect();
                if unrated.is_empty() {
                    return 0.0;
                }
                let kth = share.min(unrated.len()) - 1;
                *unrated.select_nth_unstable_by(kth, |a, b| b.total_cmp(a)).1
            })
            .collect();
        let mut scores = vec![f32::NEG_INFINITY; self.rows()];
        let mut taste = vec![0u8; self.rows()];
        for (t, (row_scores, offset)) in per_taste.iter().zip(&offsets).enumerate() {
            for (r, s) in row_scores.iter().enumerate() {
                if s - offset > scores[r] {
                    scores[r] = s - offset;
                    taste[r] = t as u8;
                }
            }
        }
        Ok(Scored {
            scores,
            taste,
            tastes,
        })
    }

    /// The thumbs-down term of every row's score: `δ ·` the largest, over the disliked movies,
    /// of how far the row's cosine to it is above the config's least cosine (as a share of the
    /// way to 1); `None` when `δ` is 0 or nothing is disliked.
    fn dislike_penalty(
        &self,
        rated: &[(ItemIndex, Thumbs)],
    ) -> Result<Option<Vec<f32>>, RankError> {
        let mut downs: Vec<ItemIndex> = rated
            .iter()
            .filter(|(i, t)| !t.is_positive() && (i.0 as usize) < self.rows())
            .map(|(i, _)| *i)
            .collect();
        if self.config.dislike_weight == 0.0 || downs.is_empty() {
            return Ok(None);
        }
        downs.sort_unstable();
        downs.dedup();
        let floor = self.config.dislike_min_cosine as f32;
        let scale = self.config.dislike_weight as f32 / (1.0 - floor).max(f32::EPSILON);
        let mut cache = self
            .dislikes
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (done, penalty) = &mut *cache;
        if penalty.len() != self.rows() || done.iter().any(|d| downs.binary_search(d).is_err()) {
            *done = Vec::new();
            *penalty = vec![0f32; self.rows()];
        }
        let mut cosines = vec![0f32; self.rows()];
        for &down in &downs {
            if done.binary_search(&down).is_ok() {
                continue;
            }
            let mut query = self.items.row(down.0 as usize).to_vec();
            query.push(0.0);
            if let Err(e) = self.table.scores_into(&query, &mut cosines) {
                // A half-applied pass is no term of any set: start afresh next time.
                done.clear();
                penalty.clear();
                return Err(e);
            }
            for (p, c) in penalty.iter_mut().zip(&cosines) {
                *p = p.max(scale * (c - floor).max(0.0));
            }
        }
        *done = downs;
        Ok(Some(penalty.clone()))
    }

    /// The `k` movies whose vectors are nearest to `index`'s (cosine over the compressed
    /// table), without reasons.
    pub fn similar(&self, index: ItemIndex, k: usize) -> Result<Vec<Ranked>, RankError> {
        let mut query = self.items.row(index.0 as usize).to_vec();
        query.push(0.0);
        Ok(self
            .table
            .query_with_exclusions(&query, k, &[index])?
            .into_iter()
            .map(|(index, score)| Ranked {
                index,
                score,
                because: Because::Nothing,
            })
            .collect())
    }

    /// Each movie's reason: the nearest liked movie of a shared genre in the taste that ranked
    /// it, else [`Because::Taste`] once the visitor likes anything.
    fn explained(&self, top: Vec<(ItemIndex, f32)>, scored: &Scored) -> Vec<Ranked> {
        let liked: Vec<Vec<ItemIndex>> = scored.tastes.iter().map(|t| liked(t)).collect();
        top.into_iter()
            .map(|(index, score)| {
                let liked = &liked[usize::from(scored.taste[index.0 as usize])];
                let near = reason(
                    &self.items,
                    &self.genres,
                    index,
                    liked,
                    self.config.reason_min_cosine,
                );
                let because = match near {
                    Some(movie) => Because::Liked(movie),
                    None if liked.is_empty() => Because::Nothing,
                    None => Because::Taste,
                };
                Ranked {
                    index,
                    score,
                    because,
                }
            })
            .collect()
    }
}

/// Every row's score, the taste that gave it and the tastes.
struct Scored {
    /// `[rows]`.
    scores: Vec<f32>,
    /// `[rows]`: an index into `tastes`.
    taste: Vec<u8>,
    tastes: Vec<Vec<(ItemIndex, Thumbs)>>,
}

/// The liked movies among `rated`.
fn liked(rated: &[(ItemIndex, Thumbs)]) -> Vec<ItemIndex> {
    rated
        .iter()
        .filter(|(_, t)| t.is_positive())
        .map(|(i, _)| *i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten "horror" movies around x, ten "animation" around y, ten "family" around x + y:
    /// unit vectors, no bias.
    fn ranker(config: RankingConfig) -> Ranker {
        let mut vectors = Vec::new();
        let mut names = Vec::new();
        for (genre, (x, y)) in [
            ("Horror", (1.0, 0.0)),
            ("Animation", (0.0, 1.0)),
            ("Family", (0.7, 0.7)),
        ] {
            for i in 0..10 {
                let z = 0.02 * i as f32;
                let n = (x * x + y * y + z * z as f32).sqrt();
                vectors.extend([x / n, y / n, z / n]);
                names.push(vec![genre]);
            }
        }
        let items = ItemVectors {
            vectors,
            bias: vec![0.0; 30],
            dim: 3,
        };
        let genres = Genres::new(&names, &[1.0; 30]);
        Ranker::int8(&items, 0.1, genres, config).unwrap()
    }

    fn liked(rows: &[u32]) -> Vec<(ItemIndex, Thumbs)> {
        rows.iter().map(|&r| (ItemIndex(r), Thumbs::Up)).collect()
    }

    /// The visitor vector of each taste: its likes' normalised mean.
    fn vectors(r: &Ranker, rated: &[(ItemIndex, Thumbs)]) -> Vec<Vec<f32>> {
        r.tastes(rated)
            .iter()
            .map(|taste| {
                let mut v = vec![0f32; 3];
                for (i, _) in taste.iter().filter(|(_, t)| t.is_positive()) {
                    v.iter_mut()
                        .zip(r.items().row(i.0 as usize))
                        .for_each(|(v, x)| *v += x);
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / n).collect()
            })
            .collect()
    }

    #[test]
    fn two_tastes_share_the_top_and_each_reason_is_of_its_own_taste() {
        let rated = liked(&[0, 1, 2, 10, 11, 12]);
        let config = RankingConfig::new().with_reason_min_cosine(0.9);
        let one = ranker(config.clone());
        let top = one
            .top(&vectors(&one, &rated), &rated, 1.0, 6, None)
            .unwrap();
        // One pooled vector sits between the tastes: the family films lead.
        assert!(top.iter().all(|m| m.index.0 >= 20), "{top:?}");

        let two = ranker(config.with_max_tastes(2).with_taste_split_cosine(0.5));
        let users = vectors(&two, &rated);
        assert_eq!(users.len(), 2);
        let top = two.top(&users, &rated, 1.0, 6, None).unwrap();
        let horror = top.iter().filter(|m| m.index.0 < 10).count();
        let animation = top.iter().filter(|m| (10..20).contains(&m.index.0)).count();
        assert!(
            horror >= 2 && animation >= 2 && horror + animation == 6,
            "{top:?}"
        );
        for m in &top {
            let Because::Liked(because) = m.because else {
                panic!("{m:?} names no liked movie");
            };
            assert_eq!(because.0 / 10, m.index.0 / 10, "{m:?}");
        }
        // The list is the same whichever order the thumbs came in.
        let reversed: Vec<_> = rated.iter().rev().copied().collect();
        assert_eq!(two.top(&users, &reversed, 1.0, 6, None).unwrap(), top);
        // One vector per taste, or an error that says how many.
        assert!(matches!(
            two.top(&users[..1], &rated, 1.0, 6, None),
            Err(RankError::Tastes {
                expected: 2,
                got: 1
            })
        ));
    }

    #[test]
    fn a_thumbs_down_lowers_the_movies_near_it_and_only_those() {
        let config = RankingConfig::new()
            .with_dislike_weight(4.0)
            .with_dislike_min_cosine(0.9);
        let r = ranker(config);
        let likes = liked(&[0, 1]);
        let mut rated = likes.clone();
        rated.push((ItemIndex(20), Thumbs::Down));
        let before = r.scores(&vectors(&r, &likes), &likes, 1.0).unwrap();
        let after = r.scores(&vectors(&r, &rated), &rated, 1.0).unwrap();
        for row in 0..30 {
            let fell = after[row] < before[row] - 1.0;
            assert_eq!(
                fell,
                row >= 20,
                "row {row}: {} → {}",
                before[row],
                after[row]
            );
        }
    }

    #[test]
    fn the_kept_thumbs_down_term_is_the_fresh_one_as_thumbs_come_and_go() {
        let config = RankingConfig::new()
            .with_dislike_weight(4.0)
            .with_dislike_min_cosine(0.5);
        let kept = ranker(config);
        let likes = liked(&[0, 1, 2]);
        for downs in [&[20][..], &[20, 25, 12], &[25], &[], &[12, 20]] {
            let mut rated = likes.clone();
            rated.extend(downs.iter().map(|&d| (ItemIndex(d), Thumbs::Down)));
            let users = vectors(&kept, &rated);
            let fresh = kept.clone().scores(&users, &rated, 1.0).unwrap();
            assert_eq!(
                kept.scores(&users, &rated, 1.0).unwrap(),
                fresh,
                "{downs:?}"
            );
        }
    }
}
