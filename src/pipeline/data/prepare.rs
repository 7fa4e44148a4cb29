//! The `prepare` stage: MovieLens ratings → thumbs table; MovieLens + TMDB → per-movie content
//! features with an overview embedding; the feature layout beside them. Skips itself when its
//! inputs, options and code version are unchanged (content hashes in `prepare.stamp.json`), and
//! caches sentence embeddings by text hash, since they are the slow step (~18 texts/s on 2 cores).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::content::{FeatureLayout, MovieContent, build_content};
use super::embed::{EMBEDDING_DIM, SentenceEmbedder};
use super::movielens::{DataError, read_links, read_movies, read_ratings, read_tags};
use super::tables::{movies_batch, ratings_batch, write_atomic};
use super::tmdb::read_tmdb;
use crate::engine::Thumbs;

/// Output names, as the design and `dvc.yaml` use them.
pub const RATINGS_TABLE: &str = "sequences_with_metadata.parquet";
pub const MOVIES_TABLE: &str = "movies_with_content_features.parquet";
pub const LAYOUT_FILE: &str = "feature_layout.json";
pub const STATS_FILE: &str = "prepare_stats.json";
const STAMP_FILE: &str = "prepare.stamp.json";

/// Where `prepare` reads and writes.
#[derive(Debug, Clone, Serialize)]
pub struct PrepareConfig {
    pub ratings: PathBuf,
    pub movies: PathBuf,
    pub links: PathBuf,
    pub tags: PathBuf,
    pub tmdb: PathBuf,
    pub model_dir: PathBuf,
    pub out_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Texts per forward pass of the sentence model.
    pub batch_size: usize,
    /// Skip (with a warning) TMDB rows that do not parse, as the full Kaggle file needs.
    pub skip_bad_tmdb_rows: bool,
    /// Recompute even when the stamp says the outputs are current.
    #[serde(skip)]
    pub force: bool,
}

/// Figures about one `prepare` run, written as `prepare_stats.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepareStats {
    pub ratings: usize,
    pub users: usize,
    pub movies: usize,
    pub movies_with_tmdb: usize,
    pub movies_with_overview: usize,
    /// Ratings per thumbs value: "-1", "1", "2".
    pub thumbs: HashMap<String, usize>,
    pub feature_dim: usize,
    /// Distinct texts embedded in this run.
    pub embeddings_computed: usize,
    /// Movies whose embedding came from the cache.
    pub embeddings_cached: usize,
}

/// What a run did.
#[derive(Debug)]
pub enum PrepareOutcome {
    UpToDate,
    Ran(PrepareStats),
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Stamp {
    inputs: String,
    outputs: HashMap<String, String>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Other(format!("{}: {e}", path.display()))
}

/// SHA-256 of a file's bytes, hex.
pub fn file_sha256(path: &Path) -> Result<String, DataError> {
    let mut file = std::fs::File::open(path).map_err(|source| DataError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn model_files(dir: &Path) -> [PathBuf; 3] {
    ["config.json", "tokenizer.json", "model.safetensors"].map(|f| dir.join(f))
}

/// A hash of everything the outputs depend on: input bytes, options and this code's version.
fn input_fingerprint(config: &PrepareConfig) -> Result<(String, String), DataError> {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    hasher.update(super::content::LAYOUT_VERSION.to_le_bytes());
    hasher.update(config.batch_size.to_le_bytes());
    hasher.update([u8::from(config.skip_bad_tmdb_rows)]);
    for path in [
        &config.ratings,
        &config.movies,
        &config.links,
        &config.tags,
        &config.tmdb,
    ] {
        hasher.update(file_sha256(path)?);
    }
    let mut model = Sha256::new();
    for path in model_files(&config.model_dir) {
        model.update(file_sha256(&path).map_err(|e| {
            DataError::Other(format!(
                "unreadable model folder {}: {e}",
                config.model_dir.display()
            ))
        })?);
    }
    let model = hex::encode(model.finalize());
    hasher.update(&model);
    Ok((hex::encode(hasher.finalize()), model))
}

fn output_hashes(out_dir: &Path) -> Result<HashMap<String, String>, DataError> {
    [RATINGS_TABLE, MOVIES_TABLE, LAYOUT_FILE, STATS_FILE]
        .iter()
        .map(|name| Ok((name.to_string(), file_sha256(&out_dir.join(name))?)))
        .collect()
}

fn read_stamp(out_dir: &Path) -> Option<Stamp> {
    serde_json::from_str(&std::fs::read_to_string(out_dir.join(STAMP_FILE)).ok()?).ok()
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    crate::pipeline::atomic::write_atomic(path, |f| f.write_all(bytes)).map_err(|e| io_err(path, e))
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Runs the stage, or returns [`PrepareOutcome::UpToDate`] when nothing changed.
pub fn prepare(config: &PrepareConfig) -> Result<PrepareOutcome, DataError> {
    let bar = spinner("hashing inputs");
    let (fingerprint, model_hash) = input_fingerprint(config)?;
    bar.finish_and_clear();
    if !config.force
        && let Some(stamp) = read_stamp(&config.out_dir)
        && stamp.inputs == fingerprint
        && output_hashes(&config.out_dir).ok() == Some(stamp.outputs.clone())
    {
        return Ok(PrepareOutcome::UpToDate);
    }

    let bar = spinner("reading MovieLens and TMDB");
    let ratings = read_ratings(&config.ratings)?;
    let movies = read_movies(&config.movies)?;
    let links = read_links(&config.links)?;
    let tags = read_tags(&config.tags)?;
    let tmdb = read_tmdb(&config.tmdb, config.skip_bad_tmdb_rows)?;
    bar.finish_and_clear();
    let known: std::collections::HashSet<_> = movies.iter().map(|m| m.movie_id).collect();
    if let Some(r) = ratings.iter().find(|r| !known.contains(&r.movie_id)) {
        return Err(DataError::Other(format!(
            "{}: movieId {} (user {}) is not in {}",
            config.ratings.display(),
            r.movie_id,
            r.user_id,
            config.movies.display()
        )));
    }

    let (contents, layout) = build_content(&movies, &links, &tmdb, &tags, EMBEDDING_DIM);
    let (embeddings, computed, from_cache) = embed_with_cache(config, &model_hash, &contents)?;

    let mut thumbs: HashMap<String, usize> = HashMap::new();
    for r in &ratings {
        *thumbs.entry(r.thumbs.value().to_string()).or_default() += 1;
    }
    for t in [Thumbs::Down, Thumbs::Up, Thumbs::DoubleUp] {
        thumbs.entry(t.value().to_string()).or_default();
    }
    let flags = layout.group("flags").expect("the layout should have flags");
    let count_flag = |offset: usize| {
        contents
            .iter()
            .filter(|c| c.tabular[flags.start + offset] == 1.0)
            .count()
    };
    let stats = PrepareStats {
        ratings: ratings.len(),
        users: ratings
            .iter()
            .map(|r| r.user_id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        movies: contents.len(),
        movies_with_tmdb: count_flag(0),
        movies_with_overview: count_flag(1),
        thumbs,
        feature_dim: layout.dim,
        embeddings_computed: computed,
        embeddings_cached: from_cache,
    };

    let bar = spinner("writing Parquet tables");
    let out = &config.out_dir;
    write_atomic(&out.join(RATINGS_TABLE), &ratings_batch(&ratings))?;
    write_atomic(
        &out.join(MOVIES_TABLE),
        &movies_batch(&contents, &embeddings, &layout),
    )?;
    write_json(&out.join(LAYOUT_FILE), &layout)?;
    write_json(&out.join(STATS_FILE), &stats)?;
    let stamp = Stamp {
        inputs: fingerprint,
        outputs: output_hashes(out)?,
    };
    write_json(&out.join(STAMP_FILE), &stamp)?;
    bar.finish_and_clear();
    Ok(PrepareOutcome::Ran(stats))
}

/// Serialises `value` as pretty JSON to `path`, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), DataError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| io_err(path, e))?;
    write_file_atomic(path, text.as_bytes())
}

/// Reads the feature layout `prepare` wrote.
pub fn read_layout(path: &Path) -> Result<FeatureLayout, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Open {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| io_err(path, format!("not a feature layout: {e}")))
}

/// Embeds every movie's text, reusing vectors cached under the same model hash.
/// Returns the embeddings in `contents` order, how many distinct texts were embedded now and
/// how many movies were served from the cache.
fn embed_with_cache(
    config: &PrepareConfig,
    model_hash: &str,
    contents: &[MovieContent],
) -> Result<(Vec<Vec<f32>>, usize, usize), DataError> {
    let cache_path = config
        .cache_dir
        .join(format!("minilm-{}.bin", &model_hash[..16]));
    let mut cache = EmbeddingCache::read(&cache_path);
    let keys: Vec<[u8; 32]> = contents
        .iter()
        .map(|c| Sha256::digest(c.embedding_text.as_bytes()).into())
        .collect();
    let from_cache = keys
        .iter()
        .filter(|k| cache.vectors.contains_key(*k))
        .count();
    let mut seen = std::collections::HashSet::new();
    let mut todo: Vec<usize> = (0..contents.len())
        .filter(|&i| !cache.vectors.contains_key(&keys[i]) && seen.insert(keys[i]))
        .collect();
    todo.sort_by_key(|&i| contents[i].embedding_text.len());
    if !todo.is_empty() {
        let embedder = SentenceEmbedder::load(&config.model_dir)
            .map_err(|e| DataError::Other(e.to_string()))?;
        let bar = ProgressBar::new(todo.len() as u64).with_style(
            ProgressStyle::with_template(
                "embedding overviews {bar:40} {pos}/{len} [{elapsed_precise}<{eta_precise}] {per_sec}",
            )
            .expect("the progress template should parse"),
        );
        // Texts sorted by length so each batch pads little.
        for chunk in todo.chunks(config.batch_size.max(1)) {
            let texts: Vec<&str> = chunk
                .iter()
                .map(|&i| contents[i].embedding_text.as_str())
                .collect();
            let vectors = embedder
                .embed(&texts)
                .map_err(|e| DataError::Other(e.to_string()))?;
            for (&i, v) in chunk.iter().zip(vectors) {
                cache.vectors.insert(keys[i], v);
            }
            bar.inc(chunk.len() as u64);
            // Save as we go, so an interrupted run keeps what it computed.
            if bar.position() % (config.batch_size as u64 * 20) < chunk.len() as u64 {
                cache.write(&cache_path)?;
            }
        }
        bar.finish_and_clear();
        cache.write(&cache_path)?;
    }
    let vectors = keys.iter().map(|k| cache.vectors[k].clone()).collect();
    Ok((vectors, todo.len(), from_cache))
}

/// Text hash → embedding, stored as repeated (32-byte SHA-256, 384 little-endian f32).
struct EmbeddingCache {
    vectors: HashMap<[u8; 32], Vec<f32>>,
}

impl EmbeddingCache {
    const RECORD: usize = 32 + 4 * EMBEDDING_DIM;

    /// Reads the cache; a missing or damaged file is an empty cache (it is only a cache).
    fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap_or_default();
        let mut vectors = HashMap::new();
        if bytes.len() % Self::RECORD == 0 {
            for record in bytes.chunks_exact(Self::RECORD) {
                let (key, values) = record.split_at(32);
                let v: Vec<f32> = values
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                if v.iter().all(|x| x.is_finite()) {
                    vectors.insert(key.try_into().expect("32 bytes"), v);
                }
            }
        } else {
            eprintln!(
                "warning: {} is damaged; recomputing embeddings",
                path.display()
            );
        }
        Self { vectors }
    }

    fn write(&self, path: &Path) -> Result<(), DataError> {
        let mut entries: Vec<_> = self.vectors.iter().collect();
        entries.sort_by_key(|(k, _)| **k);
        let mut bytes = Vec::with_capacity(entries.len() * Self::RECORD);
        for (key, v) in entries {
            bytes.extend_from_slice(key);
            for x in v {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        write_file_atomic(path, &bytes)
    }
}
