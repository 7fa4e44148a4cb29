//! New movies without retraining. A movie added after training has no learned id embedding
//! and no learned bias: its vector is the trained item tower applied to `[id fill ; content]`.
//! The id fill is zeros when training dropped ids to zeros (`id_dropout`), so the tower has
//! learned to place a movie from content alone; otherwise it is the mean of the trained
//! movies' id embeddings, the input the MLP saw for a typical movie. Its bias is the median
//! trained bias: a new movie is assumed neither a hit nor a flop. The same rule gives the
//! cold-start protocol's held-out movies their vectors (`eval::cold_start`).
//!
//! `export` writes what this needs beside the bundle into [`ITEM_TOWER_FILE`] (safetensors:
//! the item tower's MLP, the fills, and the content layout with its standardisation
//! statistics); the page never fetches it. `movie-genie add-movies` reads new movies in The
//! Movies Dataset's `movies_metadata.csv` schema, computes their content features exactly as
//! `prepare` does, and writes a new bundle with them appended.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use crate::engine::MovieId;
use crate::engine::bundle::format::{encode_tensors, sha256_hex};
use crate::engine::bundle::{Bundle, BundleError, CatalogEntry, Int8Table, ItemTable};
use crate::engine::model::TwoTowerModel;
use crate::engine::model::item_tower::item_vectors;
use crate::engine::model::mlp::{Mlp, MlpConfig};
use crate::engine::personalize::ItemVectors;
use crate::engine::score::table_rows;
use crate::pipeline::data::content::{FeatureLayout, embedding_text};
use crate::pipeline::data::movielens::Movie;
use crate::pipeline::data::tmdb::{TmdbMovie, read_tmdb_rows};
use crate::pipeline::export::write_atomic;

/// Where `export` writes the item tower for `add-movies` (committed; not part of the site).
pub const ITEM_TOWER_FILE: &str = "shipped/item-tower.safetensors";

/// TMDB genre names and the MovieLens genre each becomes; TMDB's History, Foreign and TV Movie
/// have no MovieLens counterpart and are dropped.
const TMDB_GENRES: [(&str, &str); 17] = [
    ("Action", "Action"),
    ("Adventure", "Adventure"),
    ("Animation", "Animation"),
    ("Comedy", "Comedy"),
    ("Crime", "Crime"),
    ("Documentary", "Documentary"),
    ("Drama", "Drama"),
    ("Family", "Children"),
    ("Fantasy", "Fantasy"),
    ("Horror", "Horror"),
    ("Music", "Musical"),
    ("Mystery", "Mystery"),
    ("Romance", "Romance"),
    ("Science Fiction", "Sci-Fi"),
    ("Thriller", "Thriller"),
    ("War", "War"),
    ("Western", "Western"),
];

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
}

/// The item tower's side of a trained model, for movies that arrive after training.
#[derive(Debug, Clone)]
pub struct ItemTowerFile {
    pub mlp: MlpConfig,
    /// (weight `[d_in, d_out]`, bias `[d_out]`) per layer.
    pub layers: Vec<(TensorData, TensorData)>,
    /// The id-embedding part of a new movie's input, `[item_embedding_dim]`.
    pub id_fill: Vec<f32>,
    /// A new movie's bias.
    pub bias_fill: f32,
    pub layout: FeatureLayout,
    /// SHA-256 of the bundle's `tensors` section: the user tower these item vectors fit.
    pub bundle_tensors_sha256: String,
}

/// The id fill and bias fill of a model trained with `id_dropout`, from its trained movies
/// `rows` (all rows when empty).
pub fn cold_start_fills(model: &TwoTowerModel, rows: &[usize], id_dropout: f64) -> (Vec<f32>, f32) {
    let ids = model.item.embedding.weight.val().into_data();
    let ids = ids.try_to_vec::<f32>().expect("f32 id embeddings");
    let width = model.item.embedding.weight.val().dims()[1];
    let all: Vec<usize> = (0..ids.len() / width).collect();
    let rows = if rows.is_empty() { &all[..] } else { rows };
    let mut fill = vec![0f32; width];
    for &r in rows.iter().filter(|_| id_dropout == 0.0) {
        for (f, v) in fill.iter_mut().zip(&ids[r * width..(r + 1) * width]) {
            *f += v / rows.len() as f32;
        }
    }
    let bias = match &model.bias {
        Some(b) => {
            let all = b
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 bias");
            let mut picked: Vec<f32> = rows.iter().map(|&r| all[r]).collect();
            picked.sort_by(f32::total_cmp);
            picked.get(picked.len() / 2).copied().unwrap_or(0.0)
        }
        None => 0.0,
    };
    (fill, bias)
}

/// Unit vectors of movies from content alone: the item MLP on `[id_fill ; content row]`.
///
/// # Shapes
/// `content`: `[n, content_dim]`; the result has `n` rows of the MLP's output width.
pub fn content_vectors(
    mlp: &Mlp,
    id_fill: &[f32],
    bias_fill: f32,
    content: &[f32],
    content_dim: usize,
    device: &Device,
) -> ItemVectors {
    let n = content.len() / content_dim.max(1);
    let ids: Vec<f32> = (0..n).flat_map(|_| id_fill.iter().copied()).collect();
    let ids = Tensor::<2>::from_data(TensorData::new(ids, [n, id_fill.len()]), device);
    let content =
        Tensor::<2>::from_data(TensorData::new(content.to_vec(), [n, content_dim]), device);
    let vectors = item_vectors(mlp, ids, content)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 item vectors");
    let dim = vectors.len() / n.max(1);
    ItemVectors {
        vectors,
        bias: vec![bias_fill; n],
        dim,
    }
}

impl ItemTowerFile {
    /// The item tower of `model`, the fills over all its movies, and the layout of its content.
    pub fn of(
        model: &TwoTowerModel,
        mlp: MlpConfig,
        id_dropout: f64,
        layout: &FeatureLayout,
        bundle: &Bundle,
    ) -> Self {
        let (id_fill, bias_fill) = cold_start_fills(model, &[], id_dropout);
        Self {
            mlp,
            layers: model.item.mlp.weights(),
            id_fill,
            bias_fill,
            layout: layout.clone(),
            bundle_tensors_sha256: sha256_hex(&encode_tensors(&bundle.tensors)),
        }
    }

    /// The safetensors file: tensors `layers.{i}.weight`, `layers.{i}.bias`, `id_fill`, and the
    /// MLP config, bias fill, layout and bundle checksum as metadata.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            for (part, data) in [("weight", w), ("bias", b)] {
                let values = data.try_to_vec::<f32>().expect("f32 weights");
                tensors.push((
                    format!("layers.{i}.{part}"),
                    data.shape().to_vec(),
                    bytes(&values),
                ));
            }
        }
        tensors.push((
            "id_fill".into(),
            vec![self.id_fill.len()],
            bytes(&self.id_fill),
        ));
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .map(|(name, shape, data)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    data,
                )
                .expect("shape and data agree");
                (name.clone(), view)
            })
            .collect();
        let metadata = HashMap::from([
            (
                "mlp".to_string(),
                serde_json::to_string(&self.mlp).expect("a plain config"),
            ),
            ("bias_fill".to_string(), self.bias_fill.to_string()),
            (
                "layout".to_string(),
                serde_json::to_string(&self.layout).expect("a plain layout"),
            ),
            (
                "bundle_tensors_sha256".to_string(),
                self.bundle_tensors_sha256.clone(),
            ),
        ]);
        safetensors::serialize(views, Some(metadata)).expect("f32 tensors serialise")
    }

    /// Reads [`ItemTowerFile::to_bytes`]'s output, checking every piece against the config.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AddMoviesError> {
        let bad = |what: String| AddMoviesError::BadTowerFile(what);
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let field = |name: &str| {
            meta.get(name)
                .ok_or_else(|| bad(format!("metadata `{name}` is missing")))
        };
        let mlp: MlpConfig =
            serde_json::from_str(field("mlp")?).map_err(|e| bad(format!("metadata `mlp`: {e}")))?;
        let layout: FeatureLayout = serde_json::from_str(field("layout")?)
            .map_err(|e| bad(format!("metadata `layout`: {e}")))?;
        let bias_fill: f32 = field("bias_fill")?
            .parse()
            .map_err(|e| bad(format!("metadata `bias_fill`: {e}")))?;
        let tensors = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let read = |name: &str, shape: Vec<usize>| -> Result<Vec<f32>, AddMoviesError> {
            let view = tensors
                .tensor(name)
                .map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
            if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape.as_slice() {
                return Err(bad(format!(
                    "tensor `{name}`: expected F32 {shape:?}, got {:?} {:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            Ok(view
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
            let weight = read(&format!("layers.{i}.weight"), vec![w[0], w[1]])?;
            let bias = read(&format!("layers.{i}.bias"), vec![w[1]])?;
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
        let id_fill = read("id_fill", vec![id_width])?;
        Ok(Self {
            mlp,
            layers,
            id_fill,
            bias_fill,
            layout,
            bundle_tensors_sha256: field("bundle_tensors_sha256")?.clone(),
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
}

/// A new bundle: `bundle` with the movies of `rows` (read from `path`, with their line
/// numbers) appended, their vectors from content alone. `embed` is the sentence model
/// (`SentenceEmbedder::embed`). Every row is checked before anything is computed.
pub fn add_movies(
    bundle: &Bundle,
    tower: &ItemTowerFile,
    path: &Path,
    rows: &[(u64, TmdbMovie)],
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
    let mut next_id = bundle
        .catalog
        .iter()
        .map(|e| e.movie_id.0)
        .max()
        .unwrap_or(0);
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
        let genres: Vec<String> = t
            .genres
            .iter()
            .filter_map(|g| TMDB_GENRES.iter().find(|(n, _)| n == g))
            .map(|(_, m)| m.to_string())
            .collect();
        next_id = next_id
            .checked_add(1)
            .ok_or_else(|| bad(*line, "no movie id left below 2^32".into()))?;
        movies.push(Movie {
            movie_id: MovieId(next_id),
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
    let items = content_vectors(
        &mlp,
        &tower.id_fill,
        tower.bias_fill,
        &content,
        layout.dim,
        device,
    );
    let new_rows = Int8Table::quantize(
        &table_rows(&items, bundle.meta.serving.bias_scale),
        table.dim(),
    )?;
    let scales = [table.scales(), new_rows.scales()].concat();
    let codes = [table.codes(), new_rows.codes()].concat();
    let grown = Int8Table::from_parts(table.rows() + new_rows.rows(), table.dim(), scales, codes)?;

    let mut catalog = bundle.catalog.clone();
    let mut added = Vec::with_capacity(movies.len());
    for (m, (_, t)) in movies.into_iter().zip(rows) {
        added.push(AddedMovie {
            movie_id: m.movie_id,
            tmdb_id: t.tmdb_id,
            title: m.title.clone(),
            genres: m.genres.clone(),
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

/// `movie-genie add-movies`: reads the bundle at `bundle_path`, the item tower at `tower_path`
/// and the new movies at `movies`, and writes the grown bundle to `out` atomically (or nothing,
/// on any error). Returns the movies added and the bytes written.
pub fn add_movies_file(
    bundle_path: &Path,
    tower_path: &Path,
    movies: &Path,
    out: &Path,
    embed: impl Fn(&[&str]) -> Result<Vec<Vec<f32>>, String>,
    device: &Device,
) -> anyhow::Result<(Vec<AddedMovie>, u64)> {
    use anyhow::Context;
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let bundle = Bundle::from_bytes(&read(bundle_path)?)
        .with_context(|| format!("loading {}", bundle_path.display()))?;
    let tower = ItemTowerFile::from_bytes(&read(tower_path)?)
        .with_context(|| format!("loading {}", tower_path.display()))?;
    let rows = read_tmdb_rows(movies)?;
    let (grown, added) = add_movies(&bundle, &tower, movies, &rows, embed, device)?;
    let bytes = write_atomic(out, &grown)?;
    Ok((added, bytes))
}
