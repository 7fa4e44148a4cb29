//! The visitor's recommender, shared by the browser and native code: it holds the loaded bundle
//! (frozen user tower, dequantised item vectors for fine-tuning, the compressed table for
//! ranking, the catalog) and the visitor's thumbs. An update fine-tunes the visitor's vector
//! (`FrozenUserTower::personalize`), reads it back (`into_data_async`, the only read the
//! browser's WebGPU allows), then ranks the whole catalog in one dot product per row
//! (`score`: cosine / τ + β · item bias, β the visitor's popularity weight).
//! Saved ratings are parsed and validated here too, so the recovery rules are tested natively.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::bundle::{Bundle, BundleError, CatalogEntry, Int8Table, ItemTable, NamedTensor};
use crate::data::{ItemIndex, MovieId, Thumbs, ThumbsError};
use crate::personalize::{FrozenUserTower, ItemVectors, PersonalizeConfig, PersonalizeError};
use crate::rank::{RankError, TopK};
use crate::score::{
    Genres, QuerySpace, RankingConfig, ScoreError, check_popularity_weight, reason,
};

/// Milliseconds since any fixed origin (`performance.now` in the browser, `Instant` natively).
pub type Clock = fn() -> f64;

/// The key under which the browser saves ratings; the version is bumped with the format.
pub const RATINGS_STORAGE_KEY: &str = "movie-genie/ratings/v1";

/// The version written into saved ratings.
pub const RATINGS_FORMAT_VERSION: u64 = 1;

/// The reason of a recommendation that no liked movie is near enough to name.
pub const TASTE_REASON: &str = "popular with people who share your taste";

/// Name of the tensor holding the item-bias scale `s`.
pub const BIAS_SCALE_TENSOR: &str = "items.bias_scale";

/// Name of the user tower's personalisation prior.
pub const PRIOR_TENSOR: &str = "user_tower.prior";

/// What can go wrong loading a recommender or answering a visitor.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecommendError {
    #[error("movie id {id} is not in the catalog of {catalog} movies")]
    UnknownMovie { id: MovieId, catalog: usize },
    #[error("{what} must be a whole number from {min} to {max} (got {got})")]
    BadNumber {
        what: String,
        min: u64,
        max: u64,
        got: f64,
    },
    #[error(transparent)]
    Thumbs(#[from] ThumbsError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("bundle training config: {what}: expected {expected}, got {got}")]
    BadConfig {
        what: String,
        expected: String,
        got: String,
    },
    #[error("bundle tensor `{name}`: expected shape {expected}, got {got:?}")]
    TensorShape {
        name: String,
        expected: String,
        got: Vec<usize>,
    },
    #[error("catalog lists movie id {id} twice (rows {first} and {second}); expected unique ids")]
    DuplicateMovie {
        id: MovieId,
        first: usize,
        second: usize,
    },
    #[error(transparent)]
    Personalize(#[from] PersonalizeError),
    #[error(transparent)]
    Rank(#[from] RankError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error("reading the visitor vector from the device failed: {reason}")]
    Read { reason: String },
}

/// One recommended (or similar) movie, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub movie_id: MovieId,
    pub title: String,
    pub year: Option<i32>,
    pub genres: Vec<String>,
    /// cosine / τ + β · item bias for recommendations, cosine for similar movies.
    pub score: f32,
    /// Why it is recommended: "because you liked X" when a liked movie of a shared genre is
    /// near enough (`score::reason`), else [`TASTE_REASON`]; none before any thumbs up.
    pub because: Option<String>,
    pub because_movie_id: Option<MovieId>,
}

/// One of the visitor's ratings with the movie's title.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RatedMovie {
    pub movie_id: MovieId,
    pub thumbs: Thumbs,
    pub title: String,
    pub year: Option<i32>,
}

/// Timings and counts of the last update, for the page's footer and the measurements.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Fine-tuning plus reading the vector back, in ms (`None` without a clock or before any update).
    pub personalize_ms: Option<f64>,
    /// Top-k over the compressed table plus the reasons, in ms.
    pub rank_ms: Option<f64>,
    /// Whether the last update reused the vector of unchanged ratings.
    pub reused_vector: bool,
    pub ratings: usize,
    pub catalog: usize,
    /// Fine-tuning steps per update.
    pub steps: usize,
}

/// The visitor's vector being computed for a snapshot of their ratings.
pub struct PendingUser {
    ratings: Vec<(MovieId, Thumbs)>,
    state: Pending,
    clock: Option<Clock>,
    started: Option<f64>,
}

enum Pending {
    /// The ratings did not change since the last update.
    Reused(Vec<f32>),
    /// Fine-tuned on the device, not read back yet.
    Computed(Tensor<1>),
}

/// A visitor vector with the ratings it was fitted to.
#[derive(Debug, Clone, PartialEq)]
pub struct UserVector {
    ratings: Vec<(MovieId, Thumbs)>,
    /// `[output_dim]`, a unit vector.
    vector: Vec<f32>,
    personalize_ms: Option<f64>,
    reused: bool,
}

impl UserVector {
    /// The unit vector, `[output_dim]`.
    pub fn vector(&self) -> &[f32] {
        &self.vector
    }
}

impl PendingUser {
    /// Waits for the device and reads the vector (the browser's WebGPU only reads asynchronously).
    pub async fn finish(self) -> Result<UserVector, RecommendError> {
        let (vector, reused) = match self.state {
            Pending::Reused(vector) => (vector, true),
            Pending::Computed(tensor) => {
                let data = tensor
                    .into_data_async()
                    .await
                    .map_err(|e| RecommendError::Read {
                        reason: format!("{e:?}"),
                    })?;
                let vector = data
                    .try_into_vec::<f32>()
                    .map_err(|e| RecommendError::Read {
                        reason: format!("expected f32 values: {e:?}"),
                    })?;
                (vector, false)
            }
        };
        let personalize_ms = match (self.clock, self.started) {
            (Some(clock), Some(started)) if !reused => Some(clock() - started),
            _ => None,
        };
        Ok(UserVector {
            ratings: self.ratings,
            vector,
            personalize_ms,
            reused,
        })
    }
}

/// The loaded model and one visitor's thumbs.
pub struct Recommender {
    catalog: Vec<CatalogEntry>,
    by_id: HashMap<MovieId, ItemIndex>,
    /// Titles folded for search (lower case, accents removed), in catalog order.
    folded_titles: Vec<String>,
    /// Catalog rows by descending popularity, ties to the lower row.
    by_popularity: Vec<usize>,
    ranker: TopK,
    items: ItemVectors,
    genres: Genres,
    tower: FrozenUserTower,
    config: PersonalizeConfig,
    ranking: RankingConfig,
    /// The visitor's `β` (the page's "familiar ↔ discover" control); starts at the bundle's.
    popularity_weight: f64,
    space: QuerySpace,
    ratings: Vec<(MovieId, Thumbs)>,
    last: Option<UserVector>,
    clock: Option<Clock>,
    stats: Stats,
}

impl std::fmt::Debug for Recommender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender")
            .field("catalog", &self.catalog.len())
            .field("dim", &self.items.dim)
            .field("ratings", &self.ratings)
            .finish_non_exhaustive()
    }
}

impl Recommender {
    /// Builds the recommender from a validated bundle, the user tower on `device`.
    pub fn from_bundle(bundle: Bundle, device: &Device) -> Result<Self, RecommendError> {
        let config = &bundle.meta.training_config;
        let temperature = config
            .get("model")
            .and_then(|m| m.get("temperature"))
            .and_then(serde_json::Value::as_f64);
        let temperature = match temperature {
            Some(t) if t.is_finite() && t > 0.0 => t,
            _ => {
                return Err(RecommendError::BadConfig {
                    what: "model.temperature".into(),
                    expected: "a number > 0".into(),
                    got: config
                        .get("model")
                        .and_then(|m| m.get("temperature"))
                        .map_or_else(|| "nothing".into(), |v| v.to_string()),
                });
            }
        };
        let personalize = config_section(config, "personalize", PersonalizeConfig::new())?;
        let ranking = config_section(config, "ranking", RankingConfig::new())?;
        let popularity_weight = check_popularity_weight(ranking.popularity_weight)?;

        let table_dim = bundle.items.dim();
        let output_dim = table_dim.checked_sub(1).filter(|&d| d > 0).ok_or_else(|| {
            RecommendError::TensorShape {
                name: "items".into(),
                expected: "rows of output_dim + 1 ≥ 2 values".into(),
                got: vec![bundle.items.rows(), table_dim],
            }
        })?;
        let (layers, prior) = tower_tensors(&bundle, output_dim)?;
        let scale = bundle.tensor(BIAS_SCALE_TENSOR)?;
        let bias_scale = match scale.data.as_slice() {
            [s] if scale.shape == [1] => *s,
            _ => {
                return Err(RecommendError::TensorShape {
                    name: BIAS_SCALE_TENSOR.into(),
                    expected: "[1]".into(),
                    got: scale.shape.clone(),
                });
            }
        };
        let tower = FrozenUserTower::new(layers, prior, temperature, device);

        // Dequantise once: personalisation and reasons read vectors, ranking stays compressed.
        let rows = bundle.items.rows();
        let mut vectors = Vec::with_capacity(rows * output_dim);
        let mut bias = Vec::with_capacity(rows);
        for r in 0..rows {
            let row = bundle
                .items
                .row(ItemIndex(r as u32))
                .expect("a validated table should have every row up to rows()");
            vectors.extend_from_slice(&row[..output_dim]);
            bias.push(row[output_dim] * bias_scale);
        }
        let items = ItemVectors {
            vectors,
            bias,
            dim: output_dim,
        };
        let space = QuerySpace::new(&items, temperature, bias_scale);

        let mut by_id = HashMap::with_capacity(bundle.catalog.len());
        for (row, entry) in bundle.catalog.iter().enumerate() {
            if let Some(first) = by_id.insert(entry.movie_id, ItemIndex(row as u32)) {
                return Err(RecommendError::DuplicateMovie {
                    id: entry.movie_id,
                    first: first.0 as usize,
                    second: row,
                });
            }
        }
        let folded_titles = bundle.catalog.iter().map(|e| fold(&e.title)).collect();
        let genres = Genres::new(
            &bundle
                .catalog
                .iter()
                .map(|e| e.genres.clone())
                .collect::<Vec<_>>(),
            &bundle
                .catalog
                .iter()
                .map(|e| e.popularity)
                .collect::<Vec<_>>(),
        );
        let mut by_popularity: Vec<usize> = (0..bundle.catalog.len()).collect();
        by_popularity.sort_by(|&a, &b| {
            bundle.catalog[b]
                .popularity
                .total_cmp(&bundle.catalog[a].popularity)
                .then(a.cmp(&b))
        });
        let stats = Stats {
            catalog: bundle.catalog.len(),
            steps: personalize.steps,
            ..Stats::default()
        };
        Ok(Self {
            catalog: bundle.catalog,
            by_id,
            folded_titles,
            by_popularity,
            ranker: TopK::by_row(bundle.items),
            items,
            genres,
            tower,
            config: personalize,
            ranking,
            popularity_weight,
            space,
            ratings: Vec::new(),
            last: None,
            clock: None,
            stats,
        })
    }

    /// Times updates with `clock` (the browser passes `performance.now`).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The catalog, in item-table row order.
    pub fn catalog(&self) -> &[CatalogEntry] {
        &self.catalog
    }

    /// The catalog entry of `id`, if the bundle has it.
    pub fn entry(&self, id: MovieId) -> Option<&CatalogEntry> {
        self.by_id
            .get(&id)
            .map(|index| &self.catalog[index.0 as usize])
    }

    /// The temperature τ the ranking query divides by.
    pub fn temperature(&self) -> f64 {
        self.space.temperature
    }

    /// The item-bias scale `s` (last query component).
    pub fn bias_scale(&self) -> f32 {
        self.space.bias_scale
    }

    fn index_of(&self, id: MovieId) -> Result<ItemIndex, RecommendError> {
        self.by_id
            .get(&id)
            .copied()
            .ok_or(RecommendError::UnknownMovie {
                id,
                catalog: self.catalog.len(),
            })
    }

    /// Records (or replaces) the visitor's thumbs on `id`.
    pub fn rate(&mut self, id: MovieId, thumbs: Thumbs) -> Result<(), RecommendError> {
        self.index_of(id)?;
        match self.ratings.iter_mut().find(|(m, _)| *m == id) {
            Some(rating) => rating.1 = thumbs,
            None => self.ratings.push((id, thumbs)),
        }
        Ok(())
    }

    /// Removes the visitor's thumbs on `id`; `false` when it was not rated.
    pub fn unrate(&mut self, id: MovieId) -> Result<bool, RecommendError> {
        self.index_of(id)?;
        let before = self.ratings.len();
        self.ratings.retain(|(m, _)| *m != id);
        Ok(self.ratings.len() != before)
    }

    /// Forgets every rating.
    pub fn clear_ratings(&mut self) {
        self.ratings.clear();
    }

    /// The visitor's ratings in the order given.
    pub fn ratings(&self) -> &[(MovieId, Thumbs)] {
        &self.ratings
    }

    /// The ratings with titles, for the page.
    pub fn rated_movies(&self) -> Vec<RatedMovie> {
        self.ratings
            .iter()
            .filter_map(|&(movie_id, thumbs)| {
                let entry = self.entry(movie_id)?;
                Some(RatedMovie {
                    movie_id,
                    thumbs,
                    title: entry.title.clone(),
                    year: entry.year,
                })
            })
            .collect()
    }

    /// Replaces the ratings with `ratings`, keeping the last thumbs of a repeated id; returns
    /// the ids not in the catalog, which are dropped.
    pub fn restore(&mut self, ratings: &[(MovieId, Thumbs)]) -> Vec<MovieId> {
        self.ratings.clear();
        let mut unknown = Vec::new();
        for &(id, thumbs) in ratings {
            if self.rate(id, thumbs).is_err() {
                unknown.push(id);
            }
        }
        unknown
    }

    /// Starts an update: fine-tunes the visitor's vector to the current ratings (or reuses the
    /// last one if they did not change). Nothing waits for the device yet.
    pub fn start_update(&self) -> Result<PendingUser, RecommendError> {
        let started = self.clock.map(|clock| clock());
        if let Some(last) = self.last.as_ref().filter(|l| l.ratings == self.ratings) {
            return Ok(PendingUser {
                ratings: self.ratings.clone(),
                state: Pending::Reused(last.vector.clone()),
                clock: self.clock,
                started,
            });
        }
        let rated: Vec<(ItemIndex, Thumbs)> = self
            .ratings
            .iter()
            .map(|&(id, thumbs)| Ok((self.index_of(id)?, thumbs)))
            .collect::<Result<_, RecommendError>>()?;
        let tensor = self.tower.personalize(&self.items, &rated, &self.config)?;
        Ok(PendingUser {
            ratings: self.ratings.clone(),
            state: Pending::Computed(tensor),
            clock: self.clock,
            started,
        })
    }

    /// The `k` best movies for `user`, none of them rated in the ratings it was fitted to; keeps
    /// the vector for the next update and the timings for `stats`.
    pub fn rank(
        &mut self,
        user: UserVector,
        k: usize,
    ) -> Result<Vec<Recommendation>, RecommendError> {
        let started = self.clock.map(|clock| clock());
        let rated: Vec<(ItemIndex, Thumbs)> = user
            .ratings
            .iter()
            .filter_map(|(id, t)| self.by_id.get(id).map(|&i| (i, *t)))
            .collect();
        let q = self.space.query(&user.vector, self.popularity_weight);
        let exclude: Vec<ItemIndex> = rated.iter().map(|(i, _)| *i).collect();
        let top = match self.genres.boost(&rated, &self.ranking) {
            Some(boost) => self.ranker.query_boosted(&q, k, &exclude, &boost)?,
            None => self.ranker.query_with_exclusions(&q, k, &exclude)?,
        };
        let liked: Vec<ItemIndex> = rated
            .iter()
            .filter(|(_, t)| t.is_positive())
            .map(|(i, _)| *i)
            .collect();
        let out = top
            .into_iter()
            .map(|(index, score)| {
                let because = reason(
                    &self.items,
                    &self.genres,
                    index,
                    &liked,
                    self.ranking.reason_min_cosine,
                );
                let mut rec = self.recommendation(index, score, because);
                if because.is_none() && !liked.is_empty() {
                    rec.because = Some(TASTE_REASON.to_string());
                }
                rec
            })
            .collect();
        self.stats = Stats {
            personalize_ms: user.personalize_ms.or(if user.reused {
                self.stats.personalize_ms
            } else {
                None
            }),
            rank_ms: match (self.clock, started) {
                (Some(clock), Some(started)) => Some(clock() - started),
                _ => None,
            },
            reused_vector: user.reused,
            ratings: user.ratings.len(),
            ..self.stats.clone()
        };
        self.last = Some(user);
        Ok(out)
    }

    /// `start_update`, `finish` and `rank` in one call.
    pub async fn recommend(&mut self, k: usize) -> Result<Vec<Recommendation>, RecommendError> {
        let user = self.start_update()?.finish().await?;
        self.rank(user, k)
    }

    /// Sets the visitor's popularity weight `β` (0: taste alone … 1: as trained); the next
    /// update re-ranks with the same vector, without fine-tuning again.
    pub fn set_popularity_weight(&mut self, weight: f64) -> Result<(), RecommendError> {
        self.popularity_weight = check_popularity_weight(weight)?;
        Ok(())
    }

    /// The visitor's popularity weight `β`.
    pub fn popularity_weight(&self) -> f64 {
        self.popularity_weight
    }

    /// The bundle's popularity weight: the shipped operating point.
    pub fn default_popularity_weight(&self) -> f64 {
        self.ranking.popularity_weight
    }

    /// The visitor vector of the last update, `[output_dim]`.
    pub fn last_vector(&self) -> Option<&[f32]> {
        self.last.as_ref().map(|l| l.vector.as_slice())
    }

    /// The `k` movies whose vectors are nearest to `id`'s (cosine over the compressed table).
    pub fn similar(&self, id: MovieId, k: usize) -> Result<Vec<Recommendation>, RecommendError> {
        let index = self.index_of(id)?;
        let mut query = self.items.row(index.0 as usize).to_vec();
        query.push(0.0);
        let top = self.ranker.query_with_exclusions(&query, k, &[index])?;
        Ok(top
            .into_iter()
            .map(|(i, score)| self.recommendation(i, score, None))
            .collect())
    }

    /// Up to `limit` movies whose title contains `text` (ignoring case and accents), most
    /// popular first.
    pub fn search(&self, text: &str, limit: usize) -> Vec<&CatalogEntry> {
        let needle = fold(text.trim());
        self.by_popularity
            .iter()
            .filter(|&&row| self.folded_titles[row].contains(&needle))
            .take(limit)
            .map(|&row| &self.catalog[row])
            .collect()
    }

    /// Timings and counts of the last update.
    pub fn stats(&self) -> Stats {
        Stats {
            ratings: self.ratings.len(),
            ..self.stats.clone()
        }
    }

    fn recommendation(
        &self,
        index: ItemIndex,
        score: f32,
        because: Option<ItemIndex>,
    ) -> Recommendation {
        let e = &self.catalog[index.0 as usize];
        let because = because.map(|b| &self.catalog[b.0 as usize]);
        Recommendation {
            movie_id: e.movie_id,
            title: e.title.clone(),
            year: e.year,
            genres: e.genres.clone(),
            score,
            because: because.map(|b| format!("because you liked {}", display_title(b))),
            because_movie_id: because.map(|b| b.movie_id),
        }
    }
}

/// A section of the bundle's training config (`personalize`, `ranking`) over `T`'s defaults:
/// fields it omits keep theirs.
fn config_section<T>(
    config: &serde_json::Value,
    name: &str,
    defaults: T,
) -> Result<T, RecommendError>
where
    T: Serialize + serde::de::DeserializeOwned,
{
    let bad = |got: String| RecommendError::BadConfig {
        what: name.into(),
        expected: format!("an object of `{name}` settings"),
        got,
    };
    let mut merged =
        serde_json::to_value(defaults).expect("a config of plain fields should serialise");
    match (config.get(name), merged.as_object_mut()) {
        (None, _) => {}
        (Some(serde_json::Value::Object(fields)), Some(base)) => {
            base.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        (Some(other), _) => return Err(bad(other.to_string())),
    }
    serde_json::from_value(merged).map_err(|e| bad(e.to_string()))
}

/// The user tower's layers and prior from the bundle, shapes checked against each other.
fn tower_tensors(
    bundle: &Bundle,
    output_dim: usize,
) -> Result<(Vec<(TensorData, TensorData)>, TensorData), RecommendError> {
    let mut layers = Vec::new();
    let mut d_prev: Option<usize> = None;
    loop {
        let i = layers.len();
        let name = format!("user_tower.layers.{i}.weight");
        let Some(weight) = bundle.tensors.iter().find(|t| t.name == name) else {
            break;
        };
        let bias = bundle.tensor(&format!("user_tower.layers.{i}.bias"))?;
        let (d_in, d_out) = match weight.shape.as_slice() {
            &[d_in, d_out] if d_prev.is_none_or(|d| d == d_in) => (d_in, d_out),
            _ => {
                return Err(shape_error(
                    weight,
                    match d_prev {
                        Some(d) => format!("[{d}, d_out]"),
                        None => "[d_in, d_out]".into(),
                    },
                ));
            }
        };
        if bias.shape != [d_out] {
            return Err(shape_error(bias, format!("[{d_out}]")));
        }
        d_prev = Some(d_out);
        layers.push((
            TensorData::new(weight.data.clone(), [d_in, d_out]),
            TensorData::new(bias.data.clone(), [d_out]),
        ));
    }
    let Some(d_out) = d_prev else {
        return Err(BundleError::MissingTensor {
            name: "user_tower.layers.0.weight".into(),
            available: bundle.tensors.iter().map(|t| t.name.clone()).collect(),
        }
        .into());
    };
    if d_out != output_dim {
        let last = bundle.tensor(&format!("user_tower.layers.{}.bias", layers.len() - 1))?;
        return Err(shape_error(
            last,
            format!("[{output_dim}] (the item table's width − 1)"),
        ));
    }
    let d_in = layers[0].0.shape()[0];
    let prior = bundle.tensor(PRIOR_TENSOR)?;
    if prior.shape != [d_in] {
        return Err(shape_error(prior, format!("[{d_in}]")));
    }
    Ok((layers, TensorData::new(prior.data.clone(), [d_in])))
}

fn shape_error(tensor: &NamedTensor, expected: String) -> RecommendError {
    RecommendError::TensorShape {
        name: tensor.name.clone(),
        expected,
        got: tensor.shape.clone(),
    }
}

/// "Title (Year)", or the title alone.
fn display_title(entry: &CatalogEntry) -> String {
    match entry.year {
        Some(year) => format!("{} ({year})", entry.title),
        None => entry.title.clone(),
    }
}

/// A movie id from a JS number: a whole number in u32's range (NaN, 1.5, −1 are errors).
pub fn movie_id_from_f64(value: f64) -> Result<MovieId, RecommendError> {
    whole_from_f64("movie id", value, 0, u64::from(u32::MAX)).map(|v| MovieId(v as u32))
}

/// A count such as `k` or `limit` from a JS number: a whole number from 1 to `max`.
pub fn count_from_f64(what: &str, value: f64, max: usize) -> Result<usize, RecommendError> {
    whole_from_f64(what, value, 1, max as u64).map(|v| v as usize)
}

fn whole_from_f64(what: &str, value: f64, min: u64, max: u64) -> Result<u64, RecommendError> {
    if value.fract() == 0.0 && value >= min as f64 && value <= max as f64 {
        Ok(value as u64)
    } else {
        Err(RecommendError::BadNumber {
            what: what.into(),
            min,
            max,
            got: value,
        })
    }
}

/// Lower case with Latin accents removed ("Amélie" → "amelie"), for search.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            // Combining diacritical marks (decomposed input): drop them.
            '\u{300}'..='\u{36f}' => {}
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => out.push('a'),
            'æ' => out.push_str("ae"),
            'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => out.push('c'),
            'ď' | 'đ' | 'ð' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => out.push('e'),
            'ĝ' | 'ğ' | 'ġ' | 'ģ' => out.push('g'),
            'ĥ' | 'ħ' => out.push('h'),
            'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => out.push('i'),
            'ĳ' => out.push_str("ij"),
            'ĵ' => out.push('j'),
            'ķ' => out.push('k'),
            'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => out.push('l'),
            'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' | 'ŋ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => out.push('o'),
            'œ' => out.push_str("oe"),
            'ŕ' | 'ŗ' | 'ř' => out.push('r'),
            'ś' | 'ŝ' | 'ş' | 'š' | 'ſ' => out.push('s'),
            'ß' => out.push_str("ss"),
            'ţ' | 'ť' | 'ŧ' => out.push('t'),
            'þ' => out.push_str("th"),
            'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => out.push('u'),
            'ŵ' => out.push('w'),
            'ý' | 'ÿ' | 'ŷ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            c => out.push(c),
        }
    }
    out
}

/// Saved ratings after validation, with a warning per dropped part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoredRatings {
    pub ratings: Vec<(MovieId, Thumbs)>,
    /// The visitor's popularity weight, when saved and valid.
    pub popularity_weight: Option<f64>,
    pub warnings: Vec<String>,
}

/// The saved-ratings text:
/// `{"version":1,"ratings":[[movieId,thumbs],…],"popularityWeight":β}`.
pub fn encode_ratings(ratings: &[(MovieId, Thumbs)], popularity_weight: f64) -> String {
    let pairs: Vec<(u32, i8)> = ratings.iter().map(|(m, t)| (m.0, t.value())).collect();
    serde_json::json!({
        "version": RATINGS_FORMAT_VERSION,
        "ratings": pairs,
        "popularityWeight": popularity_weight,
    })
    .to_string()
}

/// Parses saved ratings, keeping every valid entry whose movie `known` accepts (the last
/// thumbs of a repeated id win) and describing everything dropped; never fails.
pub fn decode_ratings(text: &str, known: impl Fn(MovieId) -> bool) -> RestoredRatings {
    let mut out = RestoredRatings::default();
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            out.warnings.push(format!(
                "saved ratings are not JSON ({e}); expected {{\"version\":{RATINGS_FORMAT_VERSION},\"ratings\":[[movieId,thumbs],…]}}: dropped them all"
            ));
            return out;
        }
    };
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(RATINGS_FORMAT_VERSION) {
        out.warnings.push(format!(
            "saved ratings have version {}; expected {RATINGS_FORMAT_VERSION}: dropped them all",
            value
                .get("version")
                .map_or_else(|| "none".into(), |v| v.to_string())
        ));
        return out;
    }
    match value.get("popularityWeight") {
        None => {}
        Some(w) => match w.as_f64().map(check_popularity_weight) {
            Some(Ok(w)) => out.popularity_weight = Some(w),
            _ => out.warnings.push(format!(
                "saved popularity weight must be a number from 0 to 1 (got {w}): kept the default"
            )),
        },
    }
    let Some(entries) = value.get("ratings").and_then(serde_json::Value::as_array) else {
        out.warnings.push(
            "saved ratings have no `ratings` array; expected [[movieId,thumbs],…]: dropped them all"
                .into(),
        );
        return out;
    };
    for (i, entry) in entries.iter().enumerate() {
        let parsed = match entry.as_array().map(Vec::as_slice) {
            Some([id, thumbs]) => {
                let id = id
                    .as_f64()
                    .ok_or_else(|| format!("movie id must be a number (got {id})"))
                    .and_then(|v| movie_id_from_f64(v).map_err(|e| e.to_string()));
                let thumbs = thumbs
                    .as_f64()
                    .ok_or_else(|| format!("thumbs must be a number (got {thumbs})"))
                    .and_then(|v| Thumbs::from_f64(v).map_err(|e| e.to_string()));
                id.and_then(|id| thumbs.map(|t| (id, t)))
            }
            _ => Err(format!("expected [movieId, thumbs], got {entry}")),
        };
        match parsed {
            Ok((id, _)) if !known(id) => out.warnings.push(format!(
                "saved rating {i}: movie id {id} is not in this catalog: dropped it"
            )),
            Ok((id, thumbs)) => match out.ratings.iter_mut().find(|(m, _)| *m == id) {
                Some(rating) => rating.1 = thumbs,
                None => out.ratings.push((id, thumbs)),
            },
            Err(reason) => out
                .warnings
                .push(format!("saved rating {i}: {reason}: dropped it")),
        }
    }
    out
}

/// The shape of a synthetic bundle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    pub rows: usize,
    pub d_in: usize,
    pub hidden: usize,
    pub output_dim: usize,
    pub steps: usize,
    pub sampled_negatives: usize,
}

impl SyntheticSpec {
    /// A tiny model over `rows` movies, fast on any device.
    pub fn small(rows: usize) -> Self {
        Self {
            rows,
            d_in: 8,
            hidden: 16,
            output_dim: 8,
            steps: 20,
            sampled_negatives: 16,
        }
    }

    /// The size of the shipped model (`configs/two_tower_config.yaml`, ~9,300 movies of
    /// ml-latest-small), for timings before a trained bundle exists.
    pub fn movielens_small() -> Self {
        Self {
            rows: 9301,
            d_in: 32,
            hidden: 64,
            output_dim: 64,
            steps: 40,
            sampled_negatives: 1024,
        }
    }
}

/// A random but valid bundle (a two-layer tower, an int8 table, a catalog with a few accented
/// titles), for tests, demos and timings that must not depend on a trained model.
pub fn synthetic_bundle(spec: &SyntheticSpec, seed: u64) -> Bundle {
    let SyntheticSpec {
        rows,
        d_in,
        hidden,
        output_dim: out,
        ..
    } = *spec;
    const BIAS_SCALE: f32 = 2.0;
    const TITLES: [&str; 6] = [
        "Amélie",
        "Léon: The Professional",
        "Toy Story",
        "Heat",
        "Crouching Tiger, Hidden Dragon",
        "Das Boot",
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut uniform = |scale: f32, n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
            .collect()
    };
    let tensor = |name: &str, shape: Vec<usize>, data: Vec<f32>| {
        NamedTensor::new(name, shape, data).expect("synthetic tensors should be well formed")
    };
    let tensors = vec![
        tensor(
            "user_tower.layers.0.weight",
            vec![d_in, hidden],
            uniform(0.6, d_in * hidden),
        ),
        tensor(
            "user_tower.layers.0.bias",
            vec![hidden],
            uniform(0.1, hidden),
        ),
        tensor(
            "user_tower.layers.1.weight",
            vec![hidden, out],
            uniform(0.4, hidden * out),
        ),
        tensor("user_tower.layers.1.bias", vec![out], uniform(0.1, out)),
        tensor(PRIOR_TENSOR, vec![d_in], uniform(0.5, d_in)),
        tensor(BIAS_SCALE_TENSOR, vec![1], vec![BIAS_SCALE]),
    ];
    let mut table = Vec::with_capacity(rows * (out + 1));
    for _ in 0..rows {
        let v = uniform(1.0, out);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        table.extend(v.iter().map(|x| x / norm));
        table.push(uniform(0.3, 1)[0] / BIAS_SCALE);
    }
    let items = Int8Table::quantize(&table, out + 1).expect("a finite synthetic table");
    let catalog = (0..rows)
        .map(|r| CatalogEntry {
            movie_id: MovieId(10 * r as u32 + 1),
            title: match TITLES.get(r) {
                Some(t) => (*t).to_owned(),
                None => format!("Movie {r}"),
            },
            year: (r % 7 != 0).then_some(1950 + (r % 70) as i32),
            genres: vec![["Drama", "Comedy", "Action"][r % 3].to_owned()],
            tmdb_id: Some(1000 + r as u32),
            popularity: ((r * 37) % 101) as f32,
        })
        .collect();
    let config = serde_json::json!({
        "model": { "temperature": 0.1, "output_dim": out },
        "personalize": { "steps": spec.steps, "sampled_negatives": spec.sampled_negatives },
    });
    Bundle::new(
        config,
        serde_json::json!({}),
        tensors,
        ItemTable::Int8(items),
        catalog,
        "Synthetic bundle for tests: no real data.".into(),
    )
    .expect("the synthetic bundle should validate")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> f64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }

    fn recommender(rows: usize) -> Recommender {
        Recommender::from_bundle(
            synthetic_bundle(&SyntheticSpec::small(rows), 7),
            &Device::default(),
        )
        .unwrap()
        .with_clock(clock)
    }

    fn ids(recs: &[Recommendation]) -> Vec<MovieId> {
        recs.iter().map(|r| r.movie_id).collect()
    }

    #[test]
    fn the_synthetic_bundle_round_trips_through_bytes() {
        let bundle = synthetic_bundle(&SyntheticSpec::small(30), 1);
        let back = Bundle::from_bytes(&bundle.to_bytes()).unwrap();
        assert_eq!(back, bundle);
        Recommender::from_bundle(back, &Device::default()).unwrap();
    }

    #[test]
    fn a_bundle_the_size_of_the_shipped_model_loads_and_updates() {
        let spec = SyntheticSpec::movielens_small();
        let mut r = Recommender::from_bundle(synthetic_bundle(&spec, 5), &Device::default())
            .unwrap()
            .with_clock(clock);
        r.rate(MovieId(1), Thumbs::Up).unwrap();
        assert_eq!(pollster::block_on(r.recommend(20)).unwrap().len(), 20);
        assert_eq!(r.last_vector().unwrap().len(), spec.output_dim);
        assert_eq!(r.stats().steps, spec.steps);
    }

    #[test]
    fn rated_movies_are_never_recommended_and_a_thumbs_up_changes_the_list() {
        let mut r = recommender(60);
        let cold = pollster::block_on(r.recommend(20)).unwrap();
        assert_eq!(cold.len(), 20);
        assert!(cold.iter().all(|c| c.because.is_none()));
        let liked = cold[5].movie_id;
        r.rate(liked, Thumbs::DoubleUp).unwrap();
        r.rate(MovieId(11), Thumbs::Down).unwrap();
        let warm = pollster::block_on(r.recommend(20)).unwrap();
        assert!(!ids(&warm).contains(&liked));
        assert!(!ids(&warm).contains(&MovieId(11)));
        assert_ne!(ids(&cold), ids(&warm));
        // The only liked movie is the reason of every recommendation near enough to it.
        let title = display_title(r.entry(liked).unwrap());
        let named = format!("because you liked {title}");
        let liked_row = r.items.row(r.by_id[&liked].0 as usize).to_vec();
        for rec in &warm {
            let row = r.items.row(r.by_id[&rec.movie_id].0 as usize);
            let cos: f32 = row.iter().zip(&liked_row).map(|(a, b)| a * b).sum();
            let near = f64::from(cos) >= r.ranking.reason_min_cosine
                && r.genres.share(r.by_id[&liked], r.by_id[&rec.movie_id]);
            assert_eq!(rec.because_movie_id, near.then_some(liked), "cosine {cos}");
            let want = if near { named.as_str() } else { TASTE_REASON };
            assert_eq!(rec.because.as_deref(), Some(want));
        }
        // Scores are descending and match cosine / τ + bias on the dequantised rows.
        assert!(warm.windows(2).all(|w| w[0].score >= w[1].score));
        let u = r.last_vector().unwrap().to_vec();
        let top = r.by_id[&warm[0].movie_id].0 as usize;
        let expected = u
            .iter()
            .zip(r.items.row(top))
            .map(|(a, b)| a * b)
            .sum::<f32>()
            / r.temperature() as f32
            + r.items.bias[top];
        assert!(
            (warm[0].score - expected).abs() < 0.05,
            "{expected} vs {warm:?}"
        );
    }

    #[test]
    fn the_reason_is_the_nearest_liked_movie_of_a_shared_genre() {
        let mut r = recommender(40);
        let (a, b) = (MovieId(1), MovieId(21));
        r.rate(a, Thumbs::Up).unwrap();
        r.rate(b, Thumbs::Up).unwrap();
        let recs = pollster::block_on(r.recommend(10)).unwrap();
        for rec in recs {
            let row = r.items.row(r.by_id[&rec.movie_id].0 as usize);
            let cos = |id: MovieId| -> f32 {
                let v = r.items.row(r.by_id[&id].0 as usize);
                v.iter().zip(row).map(|(x, y)| x * y).sum()
            };
            let index = r.by_id[&rec.movie_id];
            let nearest = [a, b]
                .into_iter()
                .filter(|id| r.genres.share(r.by_id[id], index))
                .max_by(|x, y| cos(*x).total_cmp(&cos(*y)).then(y.cmp(x)))
                .filter(|id| f64::from(cos(*id)) >= r.ranking.reason_min_cosine);
            assert_eq!(rec.because_movie_id, nearest);
            if nearest.is_none() {
                assert_eq!(rec.because.as_deref(), Some(TASTE_REASON));
            }
        }
    }

    #[test]
    fn the_popularity_weight_reranks_without_fine_tuning_again() {
        let mut r = recommender(60);
        r.rate(MovieId(1), Thumbs::Up).unwrap();
        let familiar = pollster::block_on(r.recommend(10)).unwrap();
        assert_eq!(r.popularity_weight(), r.default_popularity_weight());
        r.set_popularity_weight(0.0).unwrap();
        let discover = pollster::block_on(r.recommend(10)).unwrap();
        assert!(
            r.stats().reused_vector,
            "a new weight must not fine-tune again"
        );
        // With β = 0 the order is by the visitor's vector without the shared direction alone.
        let u = r.last_vector().unwrap().to_vec();
        let along: f32 = u.iter().zip(&r.space.shared).map(|(a, b)| a * b).sum();
        let u: Vec<f32> = u
            .iter()
            .zip(&r.space.shared)
            .map(|(a, m)| a - along * m)
            .collect();
        let cos = |id: MovieId| -> f32 {
            let v = r.items.row(r.by_id[&id].0 as usize);
            v.iter().zip(&u).map(|(x, y)| x * y).sum()
        };
        assert!(
            discover
                .windows(2)
                .all(|w| cos(w[0].movie_id) >= cos(w[1].movie_id) - 1e-2)
        );
        assert_ne!(
            ids(&familiar),
            ids(&discover),
            "the bias should matter at β = 1"
        );
        let err = r.set_popularity_weight(1.5).unwrap_err().to_string();
        assert!(err.contains("from 0 to 1 (got 1.5)"), "{err}");
        assert_eq!(
            r.popularity_weight(),
            0.0,
            "a refused weight changes nothing"
        );
    }

    #[test]
    fn unchanged_ratings_reuse_the_vector_and_stats_have_timings() {
        let mut r = recommender(30);
        r.rate(MovieId(31), Thumbs::Up).unwrap();
        let first = pollster::block_on(r.recommend(5)).unwrap();
        let stats = r.stats();
        assert!(!stats.reused_vector);
        assert!(stats.personalize_ms.is_some_and(|ms| ms >= 0.0));
        assert!(stats.rank_ms.is_some_and(|ms| ms >= 0.0));
        assert_eq!((stats.ratings, stats.catalog, stats.steps), (1, 30, 20));
        let again = pollster::block_on(r.recommend(5)).unwrap();
        assert_eq!(first, again);
        assert!(r.stats().reused_vector);
        assert_eq!(r.stats().personalize_ms, stats.personalize_ms);
    }

    #[test]
    fn rate_and_unrate_check_ids_and_replace_thumbs() {
        let mut r = recommender(10);
        let err = r.rate(MovieId(5), Thumbs::Up).unwrap_err();
        assert_eq!(
            err.to_string(),
            "movie id 5 is not in the catalog of 10 movies"
        );
        r.rate(MovieId(1), Thumbs::Up).unwrap();
        r.rate(MovieId(11), Thumbs::Down).unwrap();
        r.rate(MovieId(1), Thumbs::DoubleUp).unwrap();
        assert_eq!(
            r.ratings(),
            [(MovieId(1), Thumbs::DoubleUp), (MovieId(11), Thumbs::Down)]
        );
        assert!(r.unrate(MovieId(1)).unwrap());
        assert!(!r.unrate(MovieId(1)).unwrap());
        assert!(r.unrate(MovieId(2)).is_err());
        assert_eq!(r.rated_movies()[0].title, "Léon: The Professional");
    }

    #[test]
    fn similar_returns_nearest_rows_without_the_movie_itself() {
        let r = recommender(50);
        let sims = r.similar(MovieId(1), 5).unwrap();
        assert_eq!(sims.len(), 5);
        assert!(!ids(&sims).contains(&MovieId(1)));
        let v0 = r.items.row(0);
        let mut exact: Vec<(usize, f32)> = (1..50)
            .map(|i| (i, r.items.row(i).iter().zip(v0).map(|(a, b)| a * b).sum()))
            .collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(r.by_id[&sims[0].movie_id].0 as usize, exact[0].0);
        assert!((sims[0].score - exact[0].1).abs() < 0.02);
        assert!(r.similar(MovieId(2), 5).is_err());
    }

    #[test]
    fn search_ignores_case_and_accents_and_ranks_by_popularity() {
        let r = recommender(200);
        let hits = r.search("AMELIE", 10);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].title, "Amélie");
        assert_eq!(r.search("léon", 10)[0].movie_id, MovieId(11));
        let many = r.search("movie 1", 50);
        assert!(many.len() > 10);
        assert!(many.windows(2).all(|w| w[0].popularity >= w[1].popularity));
        assert_eq!(r.search("movie", 3).len(), 3);
        assert!(r.search("no such film", 10).is_empty());
        assert_eq!(fold("Ærø Straße Œuvre e\u{301}"), "aero strasse oeuvre e");
    }

    #[test]
    fn js_numbers_are_checked() {
        assert_eq!(movie_id_from_f64(42.0).unwrap(), MovieId(42));
        for bad in [f64::NAN, -1.0, 1.5, 5e9, f64::INFINITY] {
            assert!(movie_id_from_f64(bad).is_err(), "{bad}");
        }
        assert_eq!(
            movie_id_from_f64(f64::NAN).unwrap_err().to_string(),
            "movie id must be a whole number from 0 to 4294967295 (got NaN)"
        );
        assert_eq!(count_from_f64("k", 20.0, 1000).unwrap(), 20);
        assert!(count_from_f64("k", 0.0, 1000).is_err());
        assert!(count_from_f64("k", 1001.0, 1000).is_err());
    }

    #[test]
    fn bad_bundles_are_errors_naming_what_is_wrong() {
        let mut bundle = synthetic_bundle(&SyntheticSpec::small(10), 3);
        bundle.meta.training_config["model"]["temperature"] = serde_json::json!(0.0);
        let err = Recommender::from_bundle(bundle, &Device::default()).unwrap_err();
        assert!(err.to_string().contains("model.temperature"), "{err}");

        let mut bundle = synthetic_bundle(&SyntheticSpec::small(10), 3);
        bundle.tensors.retain(|t| t.name != PRIOR_TENSOR);
        let err = Recommender::from_bundle(bundle, &Device::default()).unwrap_err();
        assert!(err.to_string().contains("user_tower.prior"), "{err}");

        let mut bundle = synthetic_bundle(&SyntheticSpec::small(10), 3);
        let w = bundle
            .tensors
            .iter_mut()
            .find(|t| t.name == "user_tower.layers.1.weight")
            .unwrap();
        w.shape = vec![8, 16];
        let err = Recommender::from_bundle(bundle, &Device::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bundle tensor `user_tower.layers.1.weight`: expected shape [16, d_out], got [8, 16]"
        );

        let mut bundle = synthetic_bundle(&SyntheticSpec::small(10), 3);
        bundle.catalog[3].movie_id = MovieId(1);
        let err = Recommender::from_bundle(bundle, &Device::default()).unwrap_err();
        assert!(
            matches!(err, RecommendError::DuplicateMovie { .. }),
            "{err}"
        );
    }

    #[test]
    fn saved_ratings_round_trip() {
        let ratings = [(MovieId(1), Thumbs::DoubleUp), (MovieId(31), Thumbs::Down)];
        let text = encode_ratings(&ratings, 0.25);
        assert_eq!(
            text,
            r#"{"popularityWeight":0.25,"ratings":[[1,2],[31,-1]],"version":1}"#
        );
        let back = decode_ratings(&text, |_| true);
        assert_eq!(back.ratings, ratings);
        assert_eq!(back.popularity_weight, Some(0.25));
        assert!(back.warnings.is_empty());
        // Saved before the weight existed: ratings only.
        let back = decode_ratings(r#"{"version":1,"ratings":[[1,2]]}"#, |_| true);
        assert_eq!((back.popularity_weight, back.warnings.len()), (None, 0));
    }

    #[test]
    fn tampered_saved_ratings_keep_the_valid_entries() {
        let text = r#"{"version":1,"ratings":[[1,2],[11,7],["x",1],[21,-1],[5,1],[31],[1.5,1],[21,1],[41,null]]}"#;
        let back = decode_ratings(text, |id| id.0 % 10 == 1);
        assert_eq!(
            back.ratings,
            [(MovieId(1), Thumbs::DoubleUp), (MovieId(21), Thumbs::Up)]
        );
        assert_eq!(back.warnings.len(), 6, "{:?}", back.warnings);
        assert!(back.warnings[0].contains("thumbs must be -1, 1 or 2 (got 7)"));
        assert!(back.warnings[2].contains("movie id 5 is not in this catalog"));
        let back = decode_ratings(
            r#"{"version":1,"ratings":[[1,2]],"popularityWeight":3}"#,
            |_| true,
        );
        assert_eq!(back.ratings, [(MovieId(1), Thumbs::DoubleUp)]);
        assert_eq!(back.popularity_weight, None);
        assert!(
            back.warnings[0].contains("from 0 to 1 (got 3)"),
            "{:?}",
            back.warnings
        );

        for corrupt in [
            "{not json",
            r#"{"version":2,"ratings":[[1,1]]}"#,
            r#"{"version":1}"#,
            "[]",
        ] {
            let back = decode_ratings(corrupt, |_| true);
            assert!(back.ratings.is_empty(), "{corrupt}");
            assert_eq!(back.warnings.len(), 1, "{corrupt}");
        }
    }

    #[test]
    fn restore_drops_unknown_ids() {
        let mut r = recommender(10);
        let unknown = r.restore(&[(MovieId(1), Thumbs::Up), (MovieId(2), Thumbs::Up)]);
        assert_eq!(unknown, [MovieId(2)]);
        assert_eq!(r.ratings(), [(MovieId(1), Thumbs::Up)]);
    }
}
