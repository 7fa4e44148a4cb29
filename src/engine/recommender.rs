//! The visitor's recommender, shared by the browser and native code: it holds the loaded bundle
//! (frozen user tower, the catalog, the [`Ranker`] over the compressed table) and the visitor's
//! thumbs. An update reads the visitor's vector of each taste (`Ranker::tastes`,
//! `FrozenUserTower::personalize`), reads them
//! back (`into_data_async`, the only read the browser's WebGPU allows), then ranks the whole
//! catalog through the ranker `evaluate` also scores with, on the CPU's int8 kernel or, for a
//! large catalog on WebGPU, on the device (`device_rank`).

use std::collections::HashMap;
use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use crate::engine::bundle::{Bundle, BundleError, CatalogEntry, ItemTable, NamedTensor};
use crate::engine::describe::{Describer, SearchData};
use crate::engine::device_rank::DeviceTable;
use crate::engine::personalize::{FrozenUserTower, PersonalizeConfig, PersonalizeError};
use crate::engine::rank::RankError;
use crate::engine::ranker::{Because, Ranked, Ranker};
use crate::engine::score::{Genres, QuerySpace, ScoreError, check_popularity_weight};
use crate::engine::{ItemIndex, MovieId, Thumbs, ThumbsError};

/// Milliseconds since any fixed origin (`performance.now` in the browser, `Instant` natively).
pub type Clock = fn() -> f64;

/// The reason of a recommendation that no liked movie is near enough to name.
pub const TASTE_REASON: &str = "Popular with people who share your taste";

/// What can go wrong loading a recommender or answering a visitor.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecommendError {
    #[error("movie id {id} is not in the catalog of {catalog} movies")]
    UnknownMovie { id: MovieId, catalog: usize },
    #[error(transparent)]
    Thumbs(#[from] ThumbsError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
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
    #[error("timing updates needs a clock (`with_clock`)")]
    NoClock,
    #[error("describing a movie needs the search data, and none is loaded")]
    NoSearchData,
}

/// The reason of every description match.
pub const DESCRIBE_REASON: &str = "Close to your description";

/// One recommended (or similar) movie, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub movie_id: MovieId,
    pub title: String,
    pub year: Option<i32>,
    /// "Title (year)", as the page names the movie.
    pub label: String,
    pub genres: Vec<String>,
    /// cosine / τ + β · item bias for recommendations, cosine for similar movies.
    pub score: f32,
    /// Why it is recommended, as the page shows it: "Because you liked X (year)" when a liked
    /// movie of a shared genre is near enough (`score::reason`), else [`TASTE_REASON`]; none
    /// before any thumbs up.
    pub because: Option<String>,
    pub because_movie_id: Option<MovieId>,
    /// Added after training (`movie-genie add-movies`); the page marks it new.
    pub new: bool,
}

/// One of the visitor's ratings with the movie's title.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RatedMovie {
    pub movie_id: MovieId,
    pub thumbs: Thumbs,
    pub title: String,
    pub year: Option<i32>,
    /// "Title (year)", as the page names the movie.
    pub label: String,
    /// Added after training (`movie-genie add-movies`).
    pub new: bool,
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
    /// Catalog movies added after training.
    pub new_movies: usize,
    /// Fine-tuning steps per update.
    pub steps: usize,
}

/// The visitor's vector being computed for a snapshot of their ratings.
pub struct PendingUser {
    ratings: Vec<(MovieId, Thumbs)>,
    state: Pending,
    /// Where the catalog is scored on the device: the scores follow the vector.
    scoring: Option<DeviceScoring>,
    clock: Option<Clock>,
    started: Option<f64>,
}

/// What scoring on the device needs besides the vector.
struct DeviceScoring {
    table: Arc<DeviceTable>,
    space: QuerySpace,
    popularity_weight: f64,
}

/// Every catalog row's score for each of a visitor's vectors, computed on the device.
#[derive(Debug, Clone, PartialEq)]
struct DeviceScores {
    /// The popularity weight they were computed for.
    popularity_weight: f64,
    /// `[tastes][rows]`.
    values: Vec<Vec<f32>>,
    /// Scoring plus reading back, in ms.
    ms: Option<f64>,
}

enum Pending {
    /// The ratings did not change since the last update.
    Reused(Vec<Vec<f32>>),
    /// One per taste, computed on the device, not read back yet.
    Computed(Vec<Tensor<1>>),
}

/// A visitor's vectors (one per taste, `Ranker::tastes`) with the ratings they were read from.
#[derive(Debug, Clone, PartialEq)]
pub struct UserVector {
    ratings: Vec<(MovieId, Thumbs)>,
    /// `[tastes][output_dim]`, unit vectors.
    vectors: Vec<Vec<f32>>,
    personalize_ms: Option<f64>,
    reused: bool,
    scores: Option<DeviceScores>,
}

impl UserVector {
    /// The unit vectors, one per taste: `[tastes][output_dim]`.
    pub fn vectors(&self) -> &[Vec<f32>] {
        &self.vectors
    }
}

impl PendingUser {
    /// Waits for the device and reads the vectors, then, where the catalog is scored on the
    /// device, their scores (the browser's WebGPU only reads asynchronously).
    pub async fn finish(self) -> Result<UserVector, RecommendError> {
        let (vectors, reused) = match self.state {
            Pending::Reused(vectors) => (vectors, true),
            Pending::Computed(tensors) => {
                let mut vectors = Vec::with_capacity(tensors.len());
                for tensor in tensors {
                    vectors.push(read(tensor).await?);
                }
                (vectors, false)
            }
        };
        let now = || self.clock.map(|clock| clock());
        let personalize_ms = match (now(), self.started) {
            (Some(now), Some(started)) if !reused => Some(now - started),
            _ => None,
        };
        let scores = match self.scoring {
            Some(s) => {
                let started = now();
                let mut values = Vec::with_capacity(vectors.len());
                for vector in &vectors {
                    let q = s.space.query(vector, s.popularity_weight);
                    values.push(read(s.table.scores(&q)).await?);
                }
                Some(DeviceScores {
                    popularity_weight: s.popularity_weight,
                    values,
                    ms: now().zip(started).map(|(now, started)| now - started),
                })
            }
            None => None,
        };
        Ok(UserVector {
            ratings: self.ratings,
            vectors,
            personalize_ms,
            reused,
            scores,
        })
    }
}

/// Reads a device tensor's f32 values.
async fn read(tensor: Tensor<1>) -> Result<Vec<f32>, RecommendError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| RecommendError::Read {
            reason: format!("{e:?}"),
        })?;
    data.try_into_vec::<f32>()
        .map_err(|e| RecommendError::Read {
            reason: format!("expected f32 values: {e:?}"),
        })
}

/// The loaded model and one visitor's thumbs.
pub struct Recommender {
    catalog: Vec<CatalogEntry>,
    by_id: HashMap<MovieId, ItemIndex>,
    /// Titles folded for search (lower case, accents removed), in catalog order.
    folded_titles: Vec<String>,
    /// Catalog rows by descending popularity, ties to the lower row.
    by_popularity: Vec<usize>,
    /// Rows added after training (`new` in the catalog).
    new_rows: Vec<ItemIndex>,
    ranker: Ranker,
    /// The ranking table on the device, for large catalogs on WebGPU (`with_device_ranking`).
    device_table: Option<Arc<DeviceTable>>,
    tower: FrozenUserTower,
    config: PersonalizeConfig,
    /// The visitor's `β` (the page's "familiar ↔ discover" control); starts at the bundle's.
    popularity_weight: f64,
    ratings: Vec<(MovieId, Thumbs)>,
    last: Option<UserVector>,
    clock: Option<Clock>,
    stats: Stats,
    /// The "describe a movie" search, once its data is loaded (`set_search`).
    describer: Option<Describer>,
}

impl std::fmt::Debug for Recommender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender")
            .field("catalog", &self.catalog.len())
            .field("dim", &self.ranker.items().dim)
            .field("ratings", &self.ratings)
            .finish_non_exhaustive()
    }
}

impl Recommender {
    /// Builds the recommender from a validated bundle, the user tower on `device`.
    pub fn from_bundle(bundle: Bundle, device: &Device) -> Result<Self, RecommendError> {
        let serving = bundle.meta.serving.clone();
        let popularity_weight = check_popularity_weight(serving.ranking.popularity_weight)?;
        let bias_scale = serving.bias_scale;
        let temperature = serving.temperature;
        let weights = bundle.user_tower()?;
        let data = |t: &NamedTensor| TensorData::new(t.data.clone(), t.shape.clone());
        let layers = weights
            .layers
            .iter()
            .map(|(w, b)| (data(w), data(b)))
            .collect();
        let prior = data(weights.prior);
        let tower =
            FrozenUserTower::new(layers, prior, temperature, device).reading(serving.user_input);

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
        let new_rows: Vec<ItemIndex> = (0..bundle.catalog.len())
            .filter(|&r| bundle.catalog[r].new)
            .map(|r| ItemIndex(r as u32))
            .collect();
        let stats = Stats {
            catalog: bundle.catalog.len(),
            new_movies: new_rows.len(),
            steps: serving.personalize.steps,
            ..Stats::default()
        };
        Ok(Self {
            ranker: Ranker::new(
                bundle.items,
                temperature,
                bias_scale,
                genres,
                serving.ranking,
            ),
            catalog: bundle.catalog,
            by_id,
            folded_titles,
            by_popularity,
            new_rows,
            device_table: None,
            tower,
            config: serving.personalize,
            popularity_weight,
            ratings: Vec::new(),
            last: None,
            clock: None,
            stats,
            describer: None,
        })
    }

    /// Scores the catalog on `device` (`device_rank`) when it has at least `min_rows` movies
    /// and an int8 table; the top `k` is still chosen on the CPU.
    pub fn with_device_ranking(mut self, device: &Device, min_rows: usize) -> Self {
        let rows = self.catalog.len();
        if rows > 0
            && rows >= min_rows
            && let ItemTable::Int8(table) = self.ranker.table()
        {
            self.device_table = Some(Arc::new(DeviceTable::new(table, device)));
        }
        self
    }

    /// Whether the catalog is scored on the device.
    pub fn ranks_on_device(&self) -> bool {
        self.device_table.is_some()
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
        self.ranker.space().temperature
    }

    /// The item-bias scale `s` (last query component).
    pub fn bias_scale(&self) -> f32 {
        self.ranker.space().bias_scale
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

    /// `Ok` when the catalog has `id`, else the error naming it.
    pub fn require(&self, id: MovieId) -> Result<(), RecommendError> {
        self.index_of(id).map(|_| ())
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

    /// The visitor's ratings in the order given.
    pub fn ratings(&self) -> &[(MovieId, Thumbs)] {
        &self.ratings
    }

    /// The ratings with titles, for the page.
    pub fn rated_movies(&self) -> Vec<RatedMovie> {
        self.ratings
            .iter()
            .map(|&(movie_id, thumbs)| self.rated_movie(movie_id, thumbs))
            .collect()
    }

    /// `id` with `thumbs` and its title; a movie the catalog lacks is named by its id.
    pub fn rated_movie(&self, movie_id: MovieId, thumbs: Thumbs) -> RatedMovie {
        match self.entry(movie_id) {
            Some(entry) => RatedMovie {
                movie_id,
                thumbs,
                title: entry.title.clone(),
                year: entry.year,
                label: entry.label(),
                new: entry.new,
            },
            None => RatedMovie {
                movie_id,
                thumbs,
                title: format!("Movie {movie_id}"),
                year: None,
                label: format!("movie {movie_id} (not in this catalog)"),
                new: false,
            },
        }
    }

    /// Replaces the ratings with those of `ratings` (one per movie) on movies the catalog has,
    /// in their order; returns the ids it lacks, which are left out.
    pub fn restore(&mut self, ratings: &[(MovieId, Thumbs)]) -> Vec<MovieId> {
        let (known, unknown): (Vec<_>, Vec<_>) = ratings
            .iter()
            .partition(|(id, _)| self.by_id.contains_key(id));
        self.ratings = known;
        unknown.into_iter().map(|(id, _)| id).collect()
    }

    /// Starts an update: reads the visitor's vector of each taste from the current ratings (or
    /// reuses the last ones if they did not change). Nothing waits for the device yet.
    pub fn start_update(&self) -> Result<PendingUser, RecommendError> {
        let started = self.clock.map(|clock| clock());
        let scoring = self.device_table.as_ref().map(|table| DeviceScoring {
            table: Arc::clone(table),
            space: self.ranker.space().clone(),
            popularity_weight: self.popularity_weight,
        });
        if let Some(last) = self.last.as_ref().filter(|l| l.ratings == self.ratings) {
            return Ok(PendingUser {
                ratings: self.ratings.clone(),
                state: Pending::Reused(last.vectors.clone()),
                scoring,
                clock: self.clock,
                started,
            });
        }
        let rated: Vec<(ItemIndex, Thumbs)> = self
            .ratings
            .iter()
            .map(|&(id, thumbs)| Ok((self.index_of(id)?, thumbs)))
            .collect::<Result<_, RecommendError>>()?;
        let tensors = self
            .ranker
            .tastes(&rated)
            .iter()
            .map(|taste| {
                self.tower
                    .personalize(self.ranker.items(), taste, &self.config)
            })
            .collect::<Result<_, _>>()?;
        Ok(PendingUser {
            ratings: self.ratings.clone(),
            state: Pending::Computed(tensors),
            scoring,
            clock: self.clock,
            started,
        })
    }

    /// The `k` best movies for `user`, none of them rated in the ratings it was fitted to; keeps
    /// the vector for the next update and the timings for `stats`.
    pub fn rank(
        &mut self,
        mut user: UserVector,
        k: usize,
    ) -> Result<Vec<Recommendation>, RecommendError> {
        let started = self.clock.map(|clock| clock());
        let rated = self.rows_of(&user.ratings);
        // Scores from the device hold for the popularity weight they were computed for.
        let scored = user
            .scores
            .take()
            .filter(|s| s.popularity_weight == self.popularity_weight);
        let top = self.ranker.top(
            &user.vectors,
            &rated,
            self.popularity_weight,
            k,
            scored.as_ref().map(|s| s.values.as_slice()),
        )?;
        let out = top.into_iter().map(|r| self.recommendation(r)).collect();
        self.stats = Stats {
            personalize_ms: user.personalize_ms.or(if user.reused {
                self.stats.personalize_ms
            } else {
                None
            }),
            rank_ms: match (self.clock, started) {
                (Some(clock), Some(started)) => {
                    let on_device = scored.as_ref().and_then(|s| s.ms).unwrap_or(0.0);
                    Some(clock() - started + on_device)
                }
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

    /// A fixed visitor for timing updates: the ten most popular movies with mixed thumbs (the
    /// same on every device, so two devices time the same work).
    pub fn calibration_sample(&self) -> Vec<(MovieId, Thumbs)> {
        const THUMBS: [Thumbs; 3] = [Thumbs::DoubleUp, Thumbs::Up, Thumbs::Down];
        self.by_popularity
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, &row)| (self.catalog[row].movie_id, THUMBS[i % 3]))
            .collect()
    }

    /// Times `runs` fresh updates (fine-tuning and ranking the top `k`, no reused vector) of
    /// `sample`, in ms by the clock, and returns them with the last run's top `k`; the
    /// visitor's own ratings, vector and stats are as they were afterwards.
    pub async fn time_updates(
        &mut self,
        sample: &[(MovieId, Thumbs)],
        runs: usize,
        k: usize,
    ) -> Result<(Vec<f64>, Vec<Recommendation>), RecommendError> {
        let clock = self.clock.ok_or(RecommendError::NoClock)?;
        let ratings = std::mem::take(&mut self.ratings);
        let (last, stats) = (self.last.take(), self.stats.clone());
        self.restore(sample);
        let mut times = Vec::with_capacity(runs);
        let mut top = Ok(Vec::new());
        for _ in 0..runs {
            self.last = None;
            let started = clock();
            top = self.recommend(k).await;
            times.push(clock() - started);
            if top.is_err() {
                break;
            }
        }
        (self.ratings, self.last, self.stats) = (ratings, last, stats);
        Ok((times, top?))
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
        self.ranker.config().popularity_weight
    }

    /// The visitor vectors of the last update, one per taste: `[tastes][output_dim]`.
    pub fn last_vectors(&self) -> Option<&[Vec<f32>]> {
        self.last.as_ref().map(|l| l.vectors.as_slice())
    }

    /// The `k` movies whose vectors are nearest to `id`'s (cosine over the compressed table).
    pub fn similar(&self, id: MovieId, k: usize) -> Result<Vec<Recommendation>, RecommendError> {
        let index = self.index_of(id)?;
        Ok(self
            .ranker
            .similar(index, k)?
            .into_iter()
            .map(|r| self.recommendation(r))
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

    /// Loads the "describe a movie" search data; movies it has that the catalog lacks are left
    /// out, and a catalog movie it lacks is never a description's match.
    pub fn set_search(&mut self, data: SearchData) {
        let catalog: Vec<(MovieId, f32)> = self
            .catalog
            .iter()
            .map(|e| (e.movie_id, e.popularity))
            .collect();
        self.describer = Some(Describer::new(data, &catalog));
    }

    /// Whether the search data is loaded.
    pub fn has_search(&self) -> bool {
        self.describer.is_some()
    }

    /// The `k` best unrated movies for the description `text`, `taste_share` of the score from
    /// the visitor's list (as of the last update; 0: the description alone), each with its
    /// reason; `None` when nothing in the catalog is close to it (`Describer::matches`).
    pub fn describe(
        &self,
        text: &str,
        taste_share: f64,
        k: usize,
    ) -> Result<Option<Vec<Recommendation>>, RecommendError> {
        let describer = self
            .describer
            .as_ref()
            .ok_or(RecommendError::NoSearchData)?;
        let Some(matches) = describer.matches(text) else {
            return Ok(None);
        };
        let scores: Vec<f32> = matches
            .iter()
            .map(|m| m.map_or(f32::NEG_INFINITY, |m| m.score))
            .collect();
        let (users, rated) = match &self.last {
            Some(user) => (user.vectors.as_slice(), self.rows_of(&user.ratings)),
            None => (&[][..], self.rows_of(&self.ratings)),
        };
        let top = self.ranker.top_described(
            &scores,
            taste_share as f32,
            users,
            &rated,
            self.popularity_weight,
            k,
        )?;
        if top.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            top.into_iter()
                .map(|r| {
                    let mut out = self.recommendation(r);
                    out.because = Some(match out.because.take() {
                        Some(liked) if r.because != Because::Taste => {
                            format!("{DESCRIBE_REASON}. {liked}")
                        }
                        _ => DESCRIBE_REASON.to_owned(),
                    });
                    out
                })
                .collect(),
        ))
    }

    /// Timings and counts of the last update.
    pub fn stats(&self) -> Stats {
        Stats {
            ratings: self.ratings.len(),
            ..self.stats.clone()
        }
    }

    /// The `k` best movies added after training (`new` in the catalog) for the last update's
    /// vector, none of them rated, by the same score: the page's "new for you" shelf, since a
    /// new movie has no popularity of its own to climb the main list with. Once the visitor
    /// likes anything, only new movies sharing a genre with a liked one are offered.
    pub fn new_for_you(&self, k: usize) -> Result<Vec<Recommendation>, RecommendError> {
        let Some(user) = self.last.as_ref().filter(|_| !self.new_rows.is_empty()) else {
            return Ok(Vec::new());
        };
        let rated = self.rows_of(&user.ratings);
        Ok(self
            .ranker
            .top_among(
                &self.new_rows,
                &user.vectors,
                &rated,
                self.popularity_weight,
                k,
            )?
            .into_iter()
            .map(|r| self.recommendation(r))
            .collect())
    }

    /// The catalog rows of `ratings`, leaving out ids the catalog lacks.
    fn rows_of(&self, ratings: &[(MovieId, Thumbs)]) -> Vec<(ItemIndex, Thumbs)> {
        ratings
            .iter()
            .filter_map(|(id, t)| self.by_id.get(id).map(|&i| (i, *t)))
            .collect()
    }

    /// A ranked movie as the page shows it, its reason in words.
    fn recommendation(&self, ranked: Ranked) -> Recommendation {
        let e = &self.catalog[ranked.index.0 as usize];
        let (because, because_movie_id) = match ranked.because {
            Because::Liked(movie) => {
                let liked = &self.catalog[movie.0 as usize];
                (
                    Some(format!("Because you liked {}", liked.label())),
                    Some(liked.movie_id),
                )
            }
            Because::Taste => (Some(TASTE_REASON.to_string()), None),
            Because::Nothing => (None, None),
        };
        Recommendation {
            movie_id: e.movie_id,
            title: e.title.clone(),
            year: e.year,
            label: e.label(),
            genres: e.genres.clone(),
            score: ranked.score,
            because,
            because_movie_id,
            new: e.new,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::bundle::USER_PRIOR;
    use crate::fixtures::{SyntheticSpec, synthetic_bundle};

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
        assert_eq!(r.last_vectors().unwrap()[0].len(), spec.output_dim);
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
        let title = r.entry(liked).unwrap().label();
        let named = format!("Because you liked {title}");
        let liked_row = r.ranker.items().row(r.by_id[&liked].0 as usize).to_vec();
        for rec in &warm {
            let row = r.ranker.items().row(r.by_id[&rec.movie_id].0 as usize);
            let cos: f32 = row.iter().zip(&liked_row).map(|(a, b)| a * b).sum();
            let near = f64::from(cos) >= r.ranker.config().reason_min_cosine
                && r.ranker
                    .genres()
                    .share(r.by_id[&liked], r.by_id[&rec.movie_id]);
            assert_eq!(rec.because_movie_id, near.then_some(liked), "cosine {cos}");
            let want = if near { named.as_str() } else { TASTE_REASON };
            assert_eq!(rec.because.as_deref(), Some(want));
        }
        // Scores are descending and match cosine / τ + bias on the dequantised rows.
        assert!(warm.windows(2).all(|w| w[0].score >= w[1].score));
        let u = r.last_vectors().unwrap()[0].clone();
        let top = r.by_id[&warm[0].movie_id].0 as usize;
        let expected = u
            .iter()
            .zip(r.ranker.items().row(top))
            .map(|(a, b)| a * b)
            .sum::<f32>()
            / r.temperature() as f32
            + r.ranker.items().bias[top];
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
            let row = r.ranker.items().row(r.by_id[&rec.movie_id].0 as usize);
            let cos = |id: MovieId| -> f32 {
                let v = r.ranker.items().row(r.by_id[&id].0 as usize);
                v.iter().zip(row).map(|(x, y)| x * y).sum()
            };
            let index = r.by_id[&rec.movie_id];
            let nearest = [a, b]
                .into_iter()
                .filter(|id| r.ranker.genres().share(r.by_id[id], index))
                .max_by(|x, y| cos(*x).total_cmp(&cos(*y)).then(y.cmp(x)))
                .filter(|id| f64::from(cos(*id)) >= r.ranker.config().reason_min_cosine);
            assert_eq!(rec.because_movie_id, nearest);
            if nearest.is_none() {
                assert_eq!(rec.because.as_deref(), Some(TASTE_REASON));
            }
        }
    }

    #[test]
    fn scoring_on_the_device_ranks_as_the_int8_kernel() {
        let device = Device::default();
        // With the genre term, so the boost is added to the device's scores too.
        let boosted = || {
            let mut bundle = synthetic_bundle(&SyntheticSpec::small(300), 7);
            bundle.meta.serving.ranking.genre_weight = 4.0;
            Recommender::from_bundle(bundle, &device).unwrap()
        };
        let mut cpu = boosted();
        let mut dev = boosted().with_device_ranking(&device, 1);
        assert!(dev.ranks_on_device() && !cpu.ranks_on_device());
        assert!(
            !recommender(300)
                .with_device_ranking(&device, 301)
                .ranks_on_device(),
            "a catalog under the threshold stays on the CPU"
        );
        // Thumbs up, down, and a new weight on the same thumbs (the vector is reused).
        let steps = [
            (1, Thumbs::Up, 1.0),
            (21, Thumbs::DoubleUp, 1.0),
            (11, Thumbs::Down, 0.3),
            (11, Thumbs::Down, 0.0),
        ];
        for (id, thumbs, weight) in steps {
            for r in [&mut cpu, &mut dev] {
                r.rate(MovieId(id), thumbs).unwrap();
                r.set_popularity_weight(weight).unwrap();
            }
            let a = pollster::block_on(cpu.recommend(20)).unwrap();
            let b = pollster::block_on(dev.recommend(20)).unwrap();
            assert_eq!(ids(&a), ids(&b), "after {id} at weight {weight}");
            for (x, y) in a.iter().zip(&b) {
                assert!((x.score - y.score).abs() < 1e-4, "{x:?} vs {y:?}");
                assert_eq!(x.because, y.because);
            }
            assert!(!ids(&b).contains(&MovieId(id)), "a rated movie is excluded");
        }
        assert!(dev.stats().reused_vector);
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
        let u = r.last_vectors().unwrap()[0].clone();
        let along: f32 = u
            .iter()
            .zip(&r.ranker.space().shared)
            .map(|(a, b)| a * b)
            .sum();
        let u: Vec<f32> = u
            .iter()
            .zip(&r.ranker.space().shared)
            .map(|(a, m)| a - along * m)
            .collect();
        let cos = |id: MovieId| -> f32 {
            let v = r.ranker.items().row(r.by_id[&id].0 as usize);
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
        let v0 = r.ranker.items().row(0);
        let mut exact: Vec<(usize, f32)> = (1..50)
            .map(|i| {
                (
                    i,
                    r.ranker
                        .items()
                        .row(i)
                        .iter()
                        .zip(v0)
                        .map(|(a, b)| a * b)
                        .sum(),
                )
            })
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
    fn bad_bundles_are_errors_naming_what_is_wrong() {
        let mut bundle = synthetic_bundle(&SyntheticSpec::small(10), 3);
        bundle.meta.serving.temperature = 0.0;
        let err = Recommender::from_bundle(bundle, &Device::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "serving config: temperature: expected a number > 0, got 0"
        );

        let mut bundle = synthetic_bundle(&SyntheticSpec::small(10), 3);
        bundle.tensors.retain(|t| t.name != USER_PRIOR);
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
            "tensor `user_tower.layers.1.weight`: expected shape [16, 8] (from the serving config), got [8, 16]"
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
    fn timing_updates_leaves_the_visitors_ratings_and_vector_alone() {
        let mut r = recommender(50);
        r.rate(MovieId(11), Thumbs::Up).unwrap();
        let before = pollster::block_on(r.recommend(5)).unwrap();
        let sample = r.calibration_sample();
        assert_eq!(sample.len(), 10);
        let (ms, top) = pollster::block_on(r.time_updates(&sample, 3, 20)).unwrap();
        assert_eq!(ms.len(), 3);
        assert!(ms.iter().all(|t| *t >= 0.0));
        assert_eq!(top.len(), 20);
        assert!(
            top.iter()
                .all(|m| !sample.iter().any(|(id, _)| *id == m.movie_id))
        );
        assert_eq!(r.ratings(), [(MovieId(11), Thumbs::Up)]);
        let after = pollster::block_on(r.recommend(5)).unwrap();
        assert_eq!(ids(&after), ids(&before));
        assert!(r.stats().reused_vector, "the visitor's vector was kept");
    }

    #[test]
    fn restore_ranks_with_known_ids_and_names_the_others() {
        let mut r = recommender(10);
        let unknown = r.restore(&[(MovieId(1), Thumbs::Up), (MovieId(2), Thumbs::Up)]);
        assert_eq!(
            unknown,
            [MovieId(2)],
            "the caller keeps them (engine::ratings)"
        );
        assert_eq!(r.ratings(), [(MovieId(1), Thumbs::Up)]);
        assert_eq!(
            r.rated_movie(MovieId(2), Thumbs::Up).label,
            "movie 2 (not in this catalog)"
        );
    }
}
