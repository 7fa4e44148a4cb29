//! Builds the "describe a movie" search data ([`SearchData`]): the sentence model's word pieces
//! distilled into a static query encoder, and each movie's overview embedding in its space.
//!
//! - Each piece's vector is the sentence model's embedding of the piece alone
//!   (`SentenceEmbedder::embed_tokens`), computed once per model and cached.
//! - A piece weighs its inverse document frequency over the movies' texts
//!   (`ln(1 + N / (1 + df))`); the special pieces weigh 0.
//! - Both sides are projected onto the top `dim` principal axes of the movies' overview
//!   embeddings; the query is centred on the movies' mean there, as the movies are.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use faer::{Mat, Side};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::engine::MovieId;
use crate::engine::bundle::Int8Table;
use crate::engine::describe::{
    DescribeSettings, Placement, QueryEncoder, SearchData, WordPieces, unit,
};
use crate::pipeline::data::embed::{EMBEDDING_DIM, SentenceEmbedder};
use crate::pipeline::data::prepare::write_file_atomic;

/// How the search data is built (`examples/tune_describe.rs` sweeps it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchConfig {
    /// How matches are scored, shipped in the data.
    pub settings: DescribeSettings,
    /// Width of the projected space.
    pub dim: usize,
    /// Centre queries and movies on the movies' mean before the cosine.
    pub centre: bool,
    /// A movie's vector: this share of its text's static encoding (title, genres, overview,
    /// read as a query is), the rest its overview embedding.
    pub text_share: f32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            settings: DescribeSettings {
                popularity_weight: 0.2,
                min_standout: 2.5,
                feedback_movies: 10,
                feedback_weight: 1.0,
            },
            dim: 128,
            centre: false,
            text_share: 0.7,
        }
    }
}

/// The model's word pieces and each one's embedding alone, in id order.
pub struct Pieces {
    pub vocabulary: Vec<String>,
    /// `[pieces, EMBEDDING_DIM]`, row-major, unit rows.
    pub vectors: Vec<f32>,
}

/// Pieces per batch of the distillation.
const DISTIL_BATCH: usize = 512;

impl Pieces {
    /// The pieces of the model in `model_dir`, their vectors read from `cache_dir` when a run
    /// with the same model weights left them there, else computed (a few minutes) and cached.
    pub fn distil(model_dir: &Path, cache_dir: &Path) -> anyhow::Result<Self> {
        let embedder = SentenceEmbedder::load(model_dir)?;
        let vocabulary: Vec<String> = embedder.vocabulary().into_iter().map(|(p, _)| p).collect();
        let weights = model_dir.join("model.safetensors");
        let hash = file_hash(&weights)?;
        let cache = cache_dir.join(format!("pieces-{}.bin", &hash[..16]));
        let expected = vocabulary.len() * EMBEDDING_DIM * 4;
        if let Ok(bytes) = std::fs::read(&cache)
            && bytes.len() == expected
        {
            let vectors: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if vectors.iter().all(|x| x.is_finite()) {
                return Ok(Self {
                    vocabulary,
                    vectors,
                });
            }
        }
        let bar = ProgressBar::new(vocabulary.len() as u64).with_style(
            ProgressStyle::with_template(
                "distilling word pieces {bar:40} {pos}/{len} [{elapsed_precise}<{eta_precise}]",
            )
            .expect("the progress template should parse"),
        );
        let ids: Vec<u32> = (0..vocabulary.len() as u32).collect();
        let mut vectors = Vec::with_capacity(vocabulary.len() * EMBEDDING_DIM);
        for chunk in ids.chunks(DISTIL_BATCH) {
            for v in embedder.embed_tokens(chunk)? {
                vectors.extend(v);
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        let bytes: Vec<u8> = vectors.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::create_dir_all(cache_dir)
            .with_context(|| format!("creating {}", cache_dir.display()))?;
        write_file_atomic(&cache, &bytes)?;
        Ok(Self {
            vocabulary,
            vectors,
        })
    }
}

fn file_hash(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Whether a piece is one of the vocabulary's special pieces (`[CLS]`, `[unused0]`, …).
fn special(piece: &str) -> bool {
    piece.starts_with('[') && piece.ends_with(']')
}

/// Each piece's weight: `ln(1 + N / (1 + df))` over `texts`, 0 for special pieces.
pub fn piece_weights(vocabulary: &[String], texts: &[&str]) -> Vec<f32> {
    let pieces = WordPieces::new(vocabulary);
    let mut df = vec![0u32; vocabulary.len()];
    for text in texts {
        let mut seen = pieces.split(text);
        seen.sort_unstable();
        seen.dedup();
        for p in seen {
            df[p as usize] += 1;
        }
    }
    let n = texts.len() as f32;
    vocabulary
        .iter()
        .zip(&df)
        .map(|(piece, &d)| {
            if special(piece) {
                0.0
            } else {
                (1.0 + n / (1.0 + d as f32)).ln()
            }
        })
        .collect()
}

/// The top `dim` principal axes of `rows` (`[n, width]`) and their mean: `(axes [dim, width],
/// mean [width])`.
fn principal_axes(rows: &[f32], width: usize, dim: usize) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let n = rows.len() / width;
    if n == 0 || dim > width {
        bail!("principal axes: expected ≥ 1 row and dim ≤ {width}, got {n} rows and dim {dim}");
    }
    let mut mean = vec![0f64; width];
    for row in rows.chunks_exact(width) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, x)| *m += f64::from(*x));
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred = Mat::<f64>::from_fn(n, width, |r, c| f64::from(rows[r * width + c]) - mean[c]);
    let covariance = centred.transpose() * &centred;
    let eigen = covariance
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| anyhow::anyhow!("principal axes: {e:?}"))?;
    let u = eigen.U();
    // Eigenvalues ascend: the last `dim` columns are the top axes.
    let mut axes = Vec::with_capacity(dim * width);
    for k in 0..dim {
        let col = width - 1 - k;
        axes.extend((0..width).map(|r| u[(r, col)] as f32));
    }
    Ok((axes, mean.into_iter().map(|m| m as f32).collect()))
}

fn project(axes: &[f32], width: usize, v: &[f32]) -> Vec<f32> {
    axes.chunks_exact(width)
        .map(|axis| axis.iter().zip(v).map(|(a, x)| a * x).sum())
        .collect()
}

/// Whether a query can ever hold `piece`: queries are folded to lower-case ASCII for English
/// (`engine::describe::WordPieces`), so pieces of other scripts and accented ones never match,
/// and the special pieces (`[CLS]`, `[unused0]`, …) are no words.
fn reachable(piece: &str) -> bool {
    let word = piece.strip_prefix("##").unwrap_or(piece);
    !special(piece) && !word.is_empty() && word.is_ascii()
}

/// The search data for `movies` (id, overview embedding of `EMBEDDING_DIM`) and their `texts`
/// (one each), which also weigh the pieces.
pub fn build(
    pieces: &Pieces,
    texts: &[&str],
    movies: &[(MovieId, Vec<f32>)],
    model: &str,
    config: &SearchConfig,
) -> anyhow::Result<SearchData> {
    let width = EMBEDDING_DIM;
    if texts.len() != movies.len() {
        bail!(
            "search data: expected one text per movie ({}), got {}",
            movies.len(),
            texts.len()
        );
    }
    let flat: Vec<f32> = movies.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let (axes, mean) = principal_axes(&flat, width, config.dim)?;
    let offset = if config.centre {
        project(&axes, width, &mean)
    } else {
        vec![0.0; config.dim]
    };
    let kept: Vec<usize> = (0..pieces.vocabulary.len())
        .filter(|&p| reachable(&pieces.vocabulary[p]))
        .collect();
    let vocabulary: Vec<String> = kept.iter().map(|&p| pieces.vocabulary[p].clone()).collect();
    let table: Vec<f32> = kept
        .iter()
        .flat_map(|&p| project(&axes, width, &pieces.vectors[p * width..(p + 1) * width]))
        .collect();
    let weights = piece_weights(&vocabulary, texts);
    let encoder = QueryEncoder::new(
        vocabulary,
        weights,
        offset,
        Int8Table::quantize(&table, config.dim)?,
    )?;
    let placement = Placement {
        projection: axes,
        source_dim: width,
        text_share: config.text_share,
    };
    let mut rows = Vec::with_capacity(movies.len() * config.dim);
    for ((id, v), text) in movies.iter().zip(texts) {
        rows.extend(place(&placement, &encoder, v, text).with_context(|| format!("movie {id}"))?);
    }
    Ok(SearchData::new(
        model.to_owned(),
        config.settings,
        placement,
        encoder,
        movies.iter().map(|(id, _)| *id).collect(),
        Int8Table::quantize(&rows, config.dim)?,
    )?)
}

/// A movie's unit vector in the search space: its overview embedding projected and centred,
/// blended with its text read as a query ([`Placement::text_share`] of it).
fn place(
    placement: &Placement,
    encoder: &QueryEncoder,
    overview: &[f32],
    text: &str,
) -> anyhow::Result<Vec<f32>> {
    if overview.len() != placement.source_dim {
        bail!(
            "expected an overview embedding of {} values, got {}",
            placement.source_dim,
            overview.len()
        );
    }
    let mut p = project(&placement.projection, placement.source_dim, overview);
    p.iter_mut()
        .zip(encoder.offset())
        .for_each(|(x, o)| *x -= o);
    let mut p = unit(p).context("a zero overview vector")?;
    if let Some(read) = encoder.encode(text) {
        let share = placement.text_share;
        p.iter_mut()
            .zip(read)
            .for_each(|(x, r)| *x = (1.0 - share) * *x + share * r);
    }
    unit(p).context("a zero search vector")
}

/// `data` with `movies` (id, overview embedding, text) appended, placed as the pipeline placed
/// the others; a movie already in it is refused.
pub fn extend(
    data: &SearchData,
    movies: &[(MovieId, Vec<f32>, String)],
) -> anyhow::Result<SearchData> {
    if movies.is_empty() {
        return Ok(data.clone());
    }
    let dim = data.encoder.dim();
    let mut ids = data.movie_ids.clone();
    let mut rows = Vec::with_capacity(movies.len() * dim);
    for (id, overview, text) in movies {
        if ids.contains(id) {
            bail!("movie {id} already has a search vector");
        }
        rows.extend(
            place(&data.placement, &data.encoder, overview, text)
                .with_context(|| format!("movie {id}"))?,
        );
        ids.push(*id);
    }
    let added = Int8Table::quantize(&rows, dim)?;
    let table = Int8Table::from_parts(
        ids.len(),
        dim,
        [data.movies.scales(), added.scales()].concat(),
        [data.movies.codes(), added.codes()].concat(),
    )?;
    Ok(SearchData::new(
        data.model.clone(),
        data.settings,
        data.placement.clone(),
        data.encoder.clone(),
        ids,
        table,
    )?)
}

/// What the search reads of a movie: title, genres, overview.
pub fn movie_text(title: &str, genres: &[String], overview: Option<&str>) -> String {
    format!(
        "{title}. {}. {}",
        genres.join(", "),
        overview.unwrap_or_default()
    )
}

/// Where the pieces' cache lives beside `prepare`'s embedding cache.
pub fn default_cache_dir() -> PathBuf {
    "data/cache".into()
}
