//! New movies without retraining. A movie added after training has no learned id embedding
//! and no learned bias. Its vector is the trained item tower applied to `[id fill ; content]`,
//! where the id fill is borrowed from the trained movies most like it: the mean id embedding
//! of the [`NEIGHBOURS`] trained movies with the most genres in common, nearest by probe (the
//! tower on `[mean id ; content]`: where its content alone points) among equals; its bias is
//! their mean bias ([`NEW_BIAS`]). The mean id alone puts every new movie near the catalog's
//! middle, far from the films it resembles (the tower leans on ids); the cold-start protocol
//! measures both (`examples/tune_cold_start.rs` chose these on validation visitors). The
//! same rule gives the cold-start protocol's held-out movies their vectors (`eval::cold_start`).
//!
//! `export` writes what this needs beside the bundle into [`ITEM_TOWER_FILE`] (safetensors:
//! the item tower's MLP, the fills, and the content layout with its standardisation
//! statistics); the page never fetches it. `movie-genie add-movies` reads new movies in The
//! Movies Dataset's `movies_metadata.csv` schema, computes their content features exactly as
//! `prepare` does, and writes a new bundle with them appended.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use crate::engine::MovieId;
use crate::engine::bundle::format::{encode_tensors, sha256_hex};
use crate::engine::bundle::{Bundle, BundleError, CatalogEntry, Int8Table, ItemTable};
use crate::engine::describe::SearchData;
use crate::engine::model::TwoTowerModel;
use crate::engine::model::item_tower::item_vectors;
use crate::engine::model::mlp::{Mlp, MlpConfig};
use crate::engine::personalize::ItemVectors;
use crate::engine::score::table_rows;
use crate::pipeline::data::content::{FeatureLayout, embedding_text};
use crate::pipeline::data::movielens::Movie;
use crate::pipeline::data::tmdb::{TmdbMovie, read_tmdb_rows};
use crate::pipeline::export::write_atomic;
use crate::pipeline::movie_ids::{MovieIds, MovieIdsError};
use crate::pipeline::search::{extend, movie_text};

/// Where `export` writes the item tower for `add-movies` (committed; not part of the site).
pub const ITEM_TOWER_FILE: &str = "shipped/item-tower.safetensors";

/// TMDB's genre names and the MovieLens genre each becomes; History, Foreign and TV Movie have
/// no MovieLens counterpart and are dropped. Any other name is refused.
const TMDB_GENRES: [(&str, Option<&str>); 20] = [
    ("Action", Some("Action")),
    ("Adventure", Some("Adventure")),
    ("Animation", Some("Animation")),
    ("Comedy", Some("Comedy")),
    ("Crime", Some("Crime")),
    ("Documentary", Some("Documentary")),
    ("Drama", Some("Drama")),
    ("Family", Some("Children")),
    ("Fantasy", Some("Fantasy")),
    ("Foreign", None),
    ("History", None),
    ("Horror", Some("Horror")),
    ("Music", Some("Musical")),
    ("Mystery", Some("Mystery")),
    ("Romance", Some("Romance")),
    ("Science Fiction", Some("Sci-Fi")),
    ("Thriller", Some("Thriller")),
    ("TV Movie", None),
    ("War", Some("War")),
    ("Western", Some("Western")),
];

/// One number of an added movie and its plausible range, inclusive.
pub struct Plausible {
    /// The CSV column.
    pub column: &'static str,
    /// What the number is, for the error message.
    pub what: &'static str,
    pub least: f64,
    pub most: f64,
    /// The number as read (`None`: unknown).
    pub of: fn(&TmdbMovie) -> Option<f64>,
}

/// The plausible range of each number `add-movies` reads. Outside it is a typo or a slipped
/// column (a runtime of 1e30, a vote average of 11), which `prepare`'s standardisation would
/// turn into an extreme feature, so the row is refused. Negative numbers are refused when the
/// CSV is read. The ranges are wide: the dearest film yet cost under $0.5 billion, the
/// highest-grossing earned under $3 billion, the longest TMDB features run under a day,
/// TMDB's most-voted film has under 10⁵ votes, and the first films were shot in the late 1870s.
pub const PLAUSIBLE: [Plausible; 7] = [
    Plausible {
        column: "budget",
        what: "dollars",
        least: 0.0,
        most: 1e10,
        of: |t| t.budget,
    },
    Plausible {
        column: "revenue",
        what: "dollars",
        least: 0.0,
        most: 1e11,
        of: |t| t.revenue,
    },
    Plausible {
        column: "runtime",
        what: "minutes",
        least: 0.0,
        most: 1440.0,
        of: |t| t.runtime,
    },
    Plausible {
        column: "popularity",
        what: "a TMDB popularity",
        least: 0.0,
        most: 1e5,
        of: |t| t.popularity,
    },
    Plausible {
        column: "vote_average",
        what: "a vote average (TMDB's scale)",
        least: 0.0,
        most: 10.0,
        of: |t| t.vote_average,
    },
    Plausible {
        column: "vote_count",
        what: "a vote count",
        least: 0.0,
        most: 1e8,
        of: |t| t.vote_count,
    },
    Plausible {
        column: "release_date",
        what: "a year",
        least: 1870.0,
        most: 2100.0,
        of: |t| t.release_year.map(f64::from),
    },
];

/// `v` as a person would write it: 1e30, not thirty-one digits.
fn shown(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// The MovieLens genres of a row's TMDB genres, and its numbers checked against
/// [`PLAUSIBLE`]; `Err` says what was expected and what was got.
fn checked_genres(t: &TmdbMovie) -> Result<Vec<String>, String> {
    for p in &PLAUSIBLE {
        if let Some(v) = (p.of)(t).filter(|v| !(p.least..=p.most).contains(v)) {
            return Err(format!(
                "column `{}`: expected {} from {} to {}, got {}",
                p.column,
                p.what,
                shown(p.least),
                shown(p.most),
                shown(v)
            ));
        }
    }
    let mut genres = Vec::new();
    for (k, name) in t.genres.iter().enumerate() {
        if t.genres[..k].contains(name) {
            return Err(format!(
                "column `genres`: expected each genre once, got {name:?} twice"
            ));
        }
        match TMDB_GENRES.iter().find(|(n, _)| n == name) {
            Some((_, Some(movielens))) => genres.push(movielens.to_string()),
            Some((_, None)) => {}
            None => {
                let known: Vec<&str> = TMDB_GENRES.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "column `genres`: expected TMDB genre names ({}), got {name:?}",
                    known.join(", ")
                ));
            }
        }
    }
    Ok(genres)
}

/// What can go wrong adding movies; nothing is written when any of these happens.
#[derive(Debug, thiserror::Error)]
pub enum AddMoviesError {
    #[error("{path}, line {line}: {reason}")]
    BadRow {
        path: String,
        line: u64,
        reason: String,
    },
    #[error("item tower file: {0}")]
    BadTowerFile(String),
    #[error(
        "the item tower file belongs to another model: expected the bundle's tensors checksum {expected}, got {got}; run `movie-genie export` to write both from one model"
    )]
    OtherModel { expected: String, got: String },
    #[error("add-movies appends int8 rows; this bundle's table is {got}")]
    NotInt8 { got: String },
    #[error("no movies to add in {0}")]
    Empty(String),
    #[error("embedding the overviews failed: {0}")]
    Embed(String),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    MovieIds(#[from] MovieIdsError),
}

/// The item tower file's metadata key: [`TowerMeta`] as JSON.
const META_KEY: &str = "movie_genie";

/// What the item tower file says beside its tensors.
#[derive(serde::Serialize, serde::Deserialize)]
struct TowerMeta {
    mlp: MlpConfig,
    neighbours: usize,
    new_bias: NewBias,
    layout: FeatureLayout,
    bundle_tensors_sha256: String,
}

/// The item tower's side of a trained model, for movies that arrive after training.
#[derive(Debug, Clone)]
pub struct ItemTowerFile {
    pub mlp: MlpConfig,
    /// (weight `[d_in, d_out]`, bias `[d_out]`) per layer.
    pub layers: Vec<(TensorData, TensorData)>,
    pub cold: ColdStart,
    pub layout: FeatureLayout,
    /// SHA-256 of the bundle's `tensors` section: the user tower these item vectors fit.
    pub bundle_tensors_sha256: String,
}

/// How many trained movies lend a new movie their id embeddings (0: the mean id alone), and
/// where its bias comes from; chosen on validation visitors (`examples/tune_cold_start.rs`).
pub const NEIGHBOURS: usize = 3;
pub const NEW_BIAS: NewBias = NewBias::Neighbours;

/// What a trained model gives movies that arrive after it (the rule in the module's doc).
#[derive(Debug, Clone)]
pub struct ColdStart {
    /// The mean id embedding of the trained movies: the probe's id part.
    pub mean_id: Vec<f32>,
    /// The trained movies' biases, one each.
    pub biases: Vec<f32>,
    /// The trained movies' id embeddings, one row each.
    pub ids: Int8Table,
    /// The trained movies' probes (the tower on `[mean id ; content]`), one row each.
    pub probes: Int8Table,
    pub neighbours: usize,
    pub new_bias: NewBias,
}

/// A new movie's bias (`ColdStart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NewBias {
    /// The trained movies' median: neither a hit nor a flop.
    Median,
    /// The mean of its neighbours': as popular as the films it resembles.
    Neighbours,
}

impl ColdStart {
    /// From `model` and the content rows (`content_dim` wide, catalog order) of its trained
    /// movies `rows`.
    pub fn of(
        model: &TwoTowerModel,
        content: &[f32],
        content_dim: usize,
        rows: &[usize],
        neighbours: usize,
        new_bias: NewBias,
    ) -> Self {
        let model = model.valid();
        let all_ids = model
            .item
            .embedding
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 id embeddings");
        let width = model.item.embedding.weight.val().dims()[1];
        let ids = gather_rows(&all_ids, width, rows);
        let mut mean_id = vec![0f32; width];
        for row in ids.chunks_exact(width) {
            mean_id
                .iter_mut()
                .zip(row)
                .for_each(|(m, v)| *m += v / rows.len() as f32);
        }
        let biases = match &model.bias {
            Some(b) => {
                let all = b
                    .weight
                    .val()
                    .into_data()
                    .try_to_vec::<f32>()
                    .expect("f32 bias");
                rows.iter().map(|&r| all[r]).collect()
            }
            None => vec![0.0; rows.len()],
        };
        let device = model.item.embedding.weight.val().device();
        let probes = run_tower(
            &model.item.mlp,
            mean_id.repeat(rows.len()),
            &gather_rows(content, content_dim, rows),
            content_dim,
            &device,
        );
        let int8 = |values: &[f32], dim| Int8Table::quantize(values, dim).expect("finite rows");
        Self {
            ids: int8(&ids, width),
            probes: int8(&probes, probes.len() / rows.len().max(1)),
            mean_id,
            biases,
            neighbours,
            new_bias,
        }
    }

    /// The vectors and biases of new movies from their content rows and `genres` alone;
    /// `trained_genres` are the trained movies', in the row order of `ids`.
    ///
    /// # Shapes
    /// `content`: `[n, content_dim]`; the result has `n` rows of the tower's output width.
    pub fn vectors(
        &self,
        mlp: &Mlp,
        content: &[f32],
        content_dim: usize,
        genres: &[Vec<String>],
        trained_genres: &[Vec<String>],
        device: &Device,
    ) -> ItemVectors {
        let n = content.len() / content_dim.max(1);
        let probes = run_tower(mlp, self.mean_id.repeat(n), content, content_dim, device);
        let mut median = self.biases.clone();
        median.sort_by(f32::total_cmp);
        let median = median.get(median.len() / 2).copied().unwrap_or(0.0);
        if self.neighbours == 0 {
            let dim = probes.len() / n.max(1);
            return ItemVectors {
                vectors: probes,
                bias: vec![median; n],
                dim,
            };
        }
        let width = self.mean_id.len();
        let trained = self.probes.dequantize();
        let ids = self.ids.dequantize();
        let dim = self.probes.dim();
        let (mut fills, mut bias) = (Vec::with_capacity(n * width), Vec::with_capacity(n));
        for (probe, mine) in probes.chunks_exact(dim).zip(genres) {
            // Nearest: the most genres in common (Jaccard), then the nearest probe.
            let mut near: Vec<(f32, f32, usize)> = trained
                .chunks_exact(dim)
                .zip(trained_genres)
                .enumerate()
                .map(|(r, (row, theirs))| {
                    let cos = row.iter().zip(probe).map(|(a, b)| a * b).sum();
                    (jaccard(mine, theirs), cos, r)
                })
                .collect();
            let k = self.neighbours.min(near.len());
            near.select_nth_unstable_by(k.saturating_sub(1), |a, b| {
                b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1))
            });
            let mut fill = vec![0f32; width];
            let mut lent = 0.0;
            for &(_, _, r) in &near[..k] {
                let row = &ids[r * width..(r + 1) * width];
                fill.iter_mut()
                    .zip(row)
                    .for_each(|(f, v)| *f += v / k as f32);
                lent += self.biases[r] / k as f32;
            }
            fills.extend(fill);
            bias.push(match self.new_bias {
                NewBias::Median => median,
                NewBias::Neighbours => lent,
            });
        }
        let vectors = run_tower(mlp, fills, content, content_dim, device);
        let dim = vectors.len() / n.max(1);
        ItemVectors { vectors, bias, dim }
    }
}

/// Shared genres over all genres of the two (0 when neither has any).
fn jaccard(a: &[String], b: &[String]) -> f32 {
    let shared = a.iter().filter(|g| b.contains(g)).count();
    let all = a.len() + b.len() - shared;
    if all == 0 {
        0.0
    } else {
        shared as f32 / all as f32
    }
}

/// Rows `rows` of a row-major matrix `width` wide, in that order.
pub fn gather_rows(values: &[f32], width: usize, rows: &[usize]) -> Vec<f32> {
    rows.iter()
        .flat_map(|&r| values[r * width..(r + 1) * width].iter().copied())
        .collect()
}

/// The item tower on `[id row ; content row]` for every row, row-major.
///
/// # Shapes
/// `ids`: `[n, id_width]`; `content`: `[n, content_dim]`.
fn run_tower(
    mlp: &Mlp,
    ids: Vec<f32>,
    content: &[f32],
    content_dim: usize,
    device: &Device,
) -> Vec<f32> {
    let n = content.len() / content_dim.max(1);
    let width = ids.len() / n.max(1);
    let ids = Tensor::<2>::from_data(TensorData::new(ids, [n, width]), device);
    let content =
        Tensor::<2>::from_data(TensorData::new(content.to_vec(), [n, content_dim]), device);
    item_vectors(mlp, ids, content, None)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 item vectors")
}

impl ItemTowerFile {
    /// The item tower of `model`, its cold-start rule over every catalog movie (`content`:
    /// their content rows, `layout.dim` wide), and the layout.
    pub fn of(
        model: &TwoTowerModel,
        mlp: MlpConfig,
        content: &[f32],
        layout: &FeatureLayout,
        bundle: &Bundle,
    ) -> Self {
        let rows: Vec<usize> = (0..content.len() / layout.dim).collect();
        Self {
            mlp,
            layers: model.item.mlp.weights(),
            cold: ColdStart::of(model, content, layout.dim, &rows, NEIGHBOURS, NEW_BIAS),
            layout: layout.clone(),
            bundle_tensors_sha256: sha256_hex(&encode_tensors(&bundle.tensors)),
        }
    }

    /// The safetensors file: tensors `layers.{i}.weight`, `layers.{i}.bias`, `mean_id`,
    /// `biases` and `{ids,probes}.{codes,scales}`; [`TowerMeta`] (the MLP config, neighbour
    /// count, bias rule, layout and bundle checksum) as metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        let f32 = safetensors::Dtype::F32;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            for (part, data) in [("weight", w), ("bias", b)] {
                let values = data.try_to_vec::<f32>().expect("f32 weights");
                tensors.push((
                    format!("layers.{i}.{part}"),
                    f32,
                    data.shape().to_vec(),
                    f32s(&values),
                ));
            }
        }
        tensors.push((
            "biases".into(),
            f32,
            vec![self.cold.biases.len()],
            f32s(&self.cold.biases),
        ));
        tensors.push((
            "mean_id".into(),
            f32,
            vec![self.cold.mean_id.len()],
            f32s(&self.cold.mean_id),
        ));
        for (name, table) in [("ids", &self.cold.ids), ("probes", &self.cold.probes)] {
            let codes = table.codes().iter().map(|c| c.to_le_bytes()[0]).collect();
            tensors.push((
                format!("{name}.codes"),
                safetensors::Dtype::I8,
                vec![table.rows(), table.dim()],
                codes,
            ));
            tensors.push((
                format!("{name}.scales"),
                f32,
                vec![table.rows()],
                f32s(table.scales()),
            ));
        }
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .map(|(name, dtype, shape, data)| {
                let view = safetensors::tensor::TensorView::new(*dtype, shape.clone(), data)
                    .expect("shape and data agree");
                (name.clone(), view)
            })
            .collect();
        let meta = TowerMeta {
            mlp: self.mlp.clone(),
            neighbours: self.cold.neighbours,
            new_bias: self.cold.new_bias,
            layout: self.layout.clone(),
            bundle_tensors_sha256: self.bundle_tensors_sha256.clone(),
        };
        // One entry: safetensors keeps metadata in a HashMap, whose order would change the
        // file's bytes from one export to the next.
        let metadata = HashMap::from([(
            META_KEY.to_string(),
            serde_json::to_string(&meta).expect("plain fields"),
        )]);
        safetensors::serialize(views, Some(metadata)).expect("tensors serialise")
    }

    /// Reads [`ItemTowerFile::to_bytes`]'s output, checking every piece against the config.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AddMoviesError> {
        let bad = |what: String| AddMoviesError::BadTowerFile(what);
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let text = meta
            .get(META_KEY)
            .ok_or_else(|| bad(format!("metadata `{META_KEY}` is missing")))?;
        let TowerMeta {
            mlp,
            neighbours,
            new_bias,
            layout,
            bundle_tensors_sha256,
        } = serde_json::from_str(text).map_err(|e| bad(format!("metadata `{META_KEY}`: {e}")))?;
        let tensors = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let view = |name: &str, dtype: safetensors::Dtype, shape: Option<&[usize]>| {
            let view = tensors
                .tensor(name)
                .map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
            if view.dtype() != dtype || shape.is_some_and(|s| view.shape() != s) {
                return Err(bad(format!(
                    "tensor `{name}`: expected {dtype:?} {shape:?}, got {:?} {:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            Ok(view)
        };
        let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>, AddMoviesError> {
            Ok(view(name, safetensors::Dtype::F32, Some(shape))?
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        let widths: Vec<usize> = std::iter::once(mlp.d_input)
            .chain(mlp.hidden.iter().copied())
            .chain(std::iter::once(mlp.d_output))
            .collect();
        let mut layers = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let weight = read(&format!("layers.{i}.weight"), &[w[0], w[1]])?;
            let bias = read(&format!("layers.{i}.bias"), &[w[1]])?;
            layers.push((
                TensorData::new(weight, [w[0], w[1]]),
                TensorData::new(bias, [w[1]]),
            ));
        }
        let id_width = mlp.d_input.checked_sub(layout.dim).ok_or_else(|| {
            bad(format!(
                "the MLP's input ({}) is narrower than the content layout ({})",
                mlp.d_input, layout.dim
            ))
        })?;
        let table = |name: &str, dim: usize| -> Result<Int8Table, AddMoviesError> {
            let codes = view(&format!("{name}.codes"), safetensors::Dtype::I8, None)?;
            let rows = codes.shape().first().copied().unwrap_or(0);
            if codes.shape() != [rows, dim] {
                return Err(bad(format!(
                    "tensor `{name}.codes`: expected [rows, {dim}], got {:?}",
                    codes.shape()
                )));
            }
            let codes = codes
                .data()
                .iter()
                .map(|&b| i8::from_le_bytes([b]))
                .collect();
            let scales = read(&format!("{name}.scales"), &[rows])?;
            Int8Table::from_parts(rows, dim, scales, codes)
                .map_err(|e| bad(format!("`{name}`: {e}")))
        };
        let ids = table("ids", id_width)?;
        let cold = ColdStart {
            mean_id: read("mean_id", &[id_width])?,
            biases: read("biases", &[ids.rows()])?,
            ids,
            probes: table("probes", mlp.d_output)?,
            neighbours,
            new_bias,
        };
        if cold.ids.rows() != cold.probes.rows() {
            return Err(bad(format!(
                "{} id rows but {} probe rows; expected one of each per trained movie",
                cold.ids.rows(),
                cold.probes.rows()
            )));
        }
        Ok(Self {
            mlp,
            layers,
            cold,
            layout,
            bundle_tensors_sha256,
        })
    }
}

/// One movie `add_movies` appended.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedMovie {
    pub movie_id: MovieId,
    pub tmdb_id: u32,
    pub title: String,
    pub genres: Vec<String>,
    /// Its overview's sentence embedding (of the overview, else title, year and genres).
    pub text_embedding: Vec<f32>,
    /// What the "describe a movie" search reads of it (`search::movie_text`).
    pub search_text: String,
}

/// A new bundle: `bundle` with the movies of `rows` (read from `path`, with their line
/// numbers) appended, their vectors from content alone, their ids from `ids` (registered there:
/// a film's registered id, or a new one). `embed` is the sentence model
/// (`SentenceEmbedder::embed`). Every row is checked before anything is computed.
pub fn add_movies(
    bundle: &Bundle,
    tower: &ItemTowerFile,
    path: &Path,
    rows: &[(u64, TmdbMovie)],
    ids: &mut MovieIds,
    embed: impl Fn(&[&str]) -> Result<Vec<Vec<f32>>, String>,
    device: &Device,
) -> Result<(Bundle, Vec<AddedMovie>), AddMoviesError> {
    let got = sha256_hex(&encode_tensors(&bundle.tensors));
    if tower.bundle_tensors_sha256 != got {
        return Err(AddMoviesError::OtherModel {
            expected: got,
            got: tower.bundle_tensors_sha256.clone(),
        });
    }
    if bundle.catalog.len() < tower.cold.ids.rows() {
        return Err(AddMoviesError::BadTowerFile(format!(
            "it describes {} trained movies but the bundle has {}; expected the bundle `export` wrote with it",
            tower.cold.ids.rows(),
            bundle.catalog.len()
        )));
    }
    let ItemTable::Int8(table) = &bundle.items else {
        return Err(AddMoviesError::NotInt8 {
            got: bundle.items.label(),
        });
    };
    if rows.is_empty() {
        return Err(AddMoviesError::Empty(path.display().to_string()));
    }
    let bad = |line: u64, reason: String| AddMoviesError::BadRow {
        path: path.display().to_string(),
        line,
        reason,
    };
    let in_catalog: HashMap<u32, &CatalogEntry> = bundle
        .catalog
        .iter()
        .filter_map(|e| e.tmdb_id.map(|id| (id, e)))
        .collect();
    let mut seen: HashMap<u32, u64> = HashMap::new();
    let mut movies = Vec::with_capacity(rows.len());
    for (line, t) in rows {
        let Some(title) = t.title.clone() else {
            return Err(bad(
                *line,
                "expected a title, got an empty `title` cell".into(),
            ));
        };
        if let Some(first) = seen.insert(t.tmdb_id, *line) {
            return Err(bad(
                *line,
                format!(
                    "TMDB id {} appears twice (first on line {first})",
                    t.tmdb_id
                ),
            ));
        }
        if let Some(entry) = in_catalog.get(&t.tmdb_id) {
            return Err(bad(
                *line,
                format!(
                    "TMDB id {} is already in the catalog as movie {} ({})",
                    t.tmdb_id, entry.movie_id, entry.title
                ),
            ));
        }
        let genres = checked_genres(t).map_err(|reason| bad(*line, reason))?;
        let movie_id = ids.id_for(t.tmdb_id, &bundle.catalog)?;
        if let Some(entry) = bundle.catalog.iter().find(|e| e.movie_id == movie_id) {
            return Err(bad(
                *line,
                format!(
                    "TMDB id {} is registered as movie {movie_id}, which the catalog gives to {} (TMDB id {:?}); expected the registry and the bundle to agree",
                    t.tmdb_id,
                    entry.label(),
                    entry.tmdb_id
                ),
            ));
        }
        movies.push(Movie {
            movie_id,
            title,
            year: t.release_year,
            genres,
        });
    }

    let layout = &tower.layout;
    let texts: Vec<String> = movies
        .iter()
        .zip(rows)
        .map(|(m, (_, t))| embedding_text(m, Some(t)))
        .collect();
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embeddings = embed(&text_refs).map_err(AddMoviesError::Embed)?;
    let mut content = Vec::with_capacity(movies.len() * layout.dim);
    for ((m, (_, t)), text) in movies.iter().zip(rows).zip(&embeddings) {
        content.extend(layout.tabular(m, Some(t), false));
        if text.len() != layout.text_embedding_dim {
            return Err(AddMoviesError::Embed(format!(
                "expected {} values per overview, got {}",
                layout.text_embedding_dim,
                text.len()
            )));
        }
        content.extend_from_slice(text);
    }

    let mlp = Mlp::from_weights(tower.layers.clone(), device);
    let genres: Vec<Vec<String>> = movies.iter().map(|m| m.genres.clone()).collect();
    let trained_genres: Vec<Vec<String>> = bundle.catalog[..tower.cold.ids.rows()]
        .iter()
        .map(|e| e.genres.clone())
        .collect();
    let items = tower
        .cold
        .vectors(&mlp, &content, layout.dim, &genres, &trained_genres, device);
    let new_rows = Int8Table::quantize(
        &table_rows(&items, bundle.meta.serving.bias_scale),
        table.dim(),
    )?;
    let scales = [table.scales(), new_rows.scales()].concat();
    let codes = [table.codes(), new_rows.codes()].concat();
    let grown = Int8Table::from_parts(table.rows() + new_rows.rows(), table.dim(), scales, codes)?;

    let mut catalog = bundle.catalog.clone();
    let mut added = Vec::with_capacity(movies.len());
    for ((m, (_, t)), embedding) in movies.into_iter().zip(rows).zip(embeddings) {
        added.push(AddedMovie {
            movie_id: m.movie_id,
            tmdb_id: t.tmdb_id,
            title: m.title.clone(),
            genres: m.genres.clone(),
            text_embedding: embedding,
            search_text: movie_text(&m.title, &m.genres, t.overview.as_deref()),
        });
        catalog.push(CatalogEntry {
            movie_id: m.movie_id,
            title: m.title,
            year: m.year,
            genres: m.genres,
            tmdb_id: Some(t.tmdb_id),
            popularity: 0.0,
            new: true,
        });
    }
    let out = Bundle::new(
        bundle.meta.serving.clone(),
        bundle.tensors.clone(),
        ItemTable::Int8(grown),
        catalog,
        bundle.attribution.clone(),
    )?;
    debug_assert_eq!(out.items.rows(), out.catalog.len());
    Ok((out, added))
}

/// The files `add-movies` reads and writes.
#[derive(Debug, Clone)]
pub struct AddMoviesPaths<'a> {
    /// The bundle to add to.
    pub bundle: &'a Path,
    /// The item tower `export` wrote with it.
    pub tower: &'a Path,
    /// The movie-id registry (`movie_ids::MOVIE_IDS_FILE`), created from the bundle's catalog
    /// when missing.
    pub movie_ids: &'a Path,
    /// The new movies (movies_metadata.csv's columns).
    pub movies: &'a Path,
    /// Where the grown bundle goes (may be `bundle`).
    pub out: &'a Path,
}

impl AddMoviesPaths<'_> {
    /// The "describe a movie" search data beside a bundle: the same name, `.search`.
    pub fn search_of(bundle: &Path) -> std::path::PathBuf {
        bundle.with_extension("search")
    }
}

/// `movie-genie add-movies`: under the registry's lock, reads the bundle, the item tower, the
/// registry (merged with the bundle's catalog) and the new movies, then writes the registry
/// with the new ids and the grown bundle, each atomically (or nothing, on any error). Returns
/// the movies added and the bundle's bytes.
pub fn add_movies_file(
    paths: &AddMoviesPaths<'_>,
    embed: impl Fn(&[&str]) -> Result<Vec<Vec<f32>>, String>,
    device: &Device,
) -> anyhow::Result<(Vec<AddedMovie>, u64)> {
    use anyhow::Context;
    let _lock = crate::pipeline::movie_ids::lock(paths.movie_ids)?;
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let bundle = Bundle::from_bytes(&read(paths.bundle)?)
        .with_context(|| format!("loading {}", paths.bundle.display()))?;
    let tower = ItemTowerFile::from_bytes(&read(paths.tower)?)
        .with_context(|| format!("loading {}", paths.tower.display()))?;
    let mut ids = MovieIds::read(paths.movie_ids)?;
    ids.register_catalog(
        &bundle.catalog,
        paths.movie_ids,
        &paths.bundle.display().to_string(),
    )?;
    let rows = read_tmdb_rows(paths.movies)?;
    let (grown, added) = add_movies(
        &bundle,
        &tower,
        paths.movies,
        &rows,
        &mut ids,
        embed,
        device,
    )?;
    // The search data beside the bundle, when it has one, gains the new movies too.
    let search_in = AddMoviesPaths::search_of(paths.bundle);
    let search = match std::fs::read(&search_in) {
        Ok(bytes) => {
            let data = SearchData::from_bytes(&bytes)
                .with_context(|| format!("loading {}", search_in.display()))?;
            let movies: Vec<_> = added
                .iter()
                .map(|m| (m.movie_id, m.text_embedding.clone(), m.search_text.clone()))
                .collect();
            Some(
                extend(&data, &movies)
                    .with_context(|| format!("extending {}", search_in.display()))?,
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", search_in.display())),
    };
    // The registry first: should the bundle's write fail, the ids stay handed out, and a rerun
    // gives the same films the same ids.
    ids.write(paths.movie_ids)?;
    let bytes = write_atomic(paths.out, &grown)?;
    if let Some(search) = search {
        let out = AddMoviesPaths::search_of(paths.out);
        let file = search.to_bytes();
        crate::pipeline::atomic::write_atomic(&out, |f| std::io::Write::write_all(f, &file))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok((added, bytes))
}
