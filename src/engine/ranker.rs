//! The visitor's list: how a visitor vector and the thumbs it was fitted to become ranked,
//! explained movies — the query ([`QuerySpace`]), the compressed table's kernel
//! ([`TopK`]), the genre term ([`Genres::boost`]), the rated movies left out, the reasons
//! ([`reason`]), the "new for you" shelf and "similar" lists. The browser's recommender and
//! `evaluate`'s scorer both rank through it, so every offline figure is the shipped code's.

use crate::engine::bundle::{BundleError, Int8Table, ItemTable};
use crate::engine::personalize::ItemVectors;
use crate::engine::rank::{RankError, TopK};
use crate::engine::score::{Genres, QuerySpace, RankingConfig, ranking_table, reason, table_items};
use crate::engine::{ItemIndex, Thumbs};

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
        Self { config, ..self }
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

    /// Every catalog row's score for the visitor vector `user` fitted to `rated`: the
    /// compressed table's kernel plus the genre term.
    ///
    /// # Shapes
    /// `user`: `[dim]`; the result: `[rows]`.
    pub fn scores(
        &self,
        user: &[f32],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
    ) -> Result<Vec<f32>, RankError> {
        let mut scores = vec![0f32; self.rows()];
        self.table
            .scores_into(&self.query(user, popularity_weight), &mut scores)?;
        if let Some(boost) = self.genres.boost(rated, &self.config) {
            scores.iter_mut().zip(boost).for_each(|(s, b)| *s += b);
        }
        Ok(scores)
    }

    /// The `k` best movies for `user` fitted to `rated`, none of them rated, with their
    /// reasons. `device_scores`, when given, are every row's table score computed on the device
    /// for this vector and weight; the genre term is added here either way.
    pub fn top(
        &self,
        user: &[f32],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
        k: usize,
        device_scores: Option<&[f32]>,
    ) -> Result<Vec<Ranked>, RankError> {
        let exclude: Vec<ItemIndex> = rated.iter().map(|(i, _)| *i).collect();
        let boost = self.genres.boost(rated, &self.config);
        let top = match device_scores {
            Some(scores) => self
                .table
                .select_scored(scores, k, &exclude, boost.as_deref())?,
            None => {
                let q = self.query(user, popularity_weight);
                match &boost {
                    Some(boost) => self.table.query_boosted(&q, k, &exclude, boost)?,
                    None => self.table.query_with_exclusions(&q, k, &exclude)?,
                }
            }
        };
        Ok(self.explained(top, rated))
    }

    /// The `k` best of `candidates` (catalog rows, e.g. the movies added after training) for
    /// `user` fitted to `rated`, by the same score, none of them rated; once the visitor likes
    /// anything, only candidates sharing a genre with a liked movie.
    pub fn top_among(
        &self,
        candidates: &[ItemIndex],
        user: &[f32],
        rated: &[(ItemIndex, Thumbs)],
        popularity_weight: f64,
        k: usize,
    ) -> Result<Vec<Ranked>, RankError> {
        let scores = self.scores(user, rated, popularity_weight)?;
        let liked = liked(rated);
        let mut scored: Vec<(ItemIndex, f32)> = candidates
            .iter()
            .filter(|i| !rated.iter().any(|(r, _)| r == *i))
            .filter(|&&i| liked.is_empty() || liked.iter().any(|&l| self.genres.share(l, i)))
            .map(|&i| (i, scores[i.0 as usize]))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        Ok(self.explained(scored, rated))
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

    /// Each movie's reason: the nearest liked movie of a shared genre, else [`Because::Taste`]
    /// once the visitor likes anything.
    fn explained(&self, top: Vec<(ItemIndex, f32)>, rated: &[(ItemIndex, Thumbs)]) -> Vec<Ranked> {
        let liked = liked(rated);
        top.into_iter()
            .map(|(index, score)| {
                let near = reason(
                    &self.items,
                    &self.genres,
                    index,
                    &liked,
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

/// The liked movies among `rated`.
fn liked(rated: &[(ItemIndex, Thumbs)]) -> Vec<ItemIndex> {
    rated
        .iter()
        .filter(|(_, t)| t.is_positive())
        .map(|(i, _)| *i)
        .collect()
}
