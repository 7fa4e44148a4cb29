//! The `search-data` stage (after `export`) and the tag table `evaluate --search` reports.
//! Reads the exported bundle's catalog, `prepare`'s overview embeddings, TMDB's overviews (the
//! movies' texts: title, genres, overview) and the sentence model; writes the "describe a movie"
//! search data beside the bundle (by default `www/assets/movie-genie.search`) and
//! `metrics/search.json`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::engine::bundle::Bundle;
use crate::engine::describe::{Describer, SearchData};
use crate::engine::{ItemIndex, MovieId};
use crate::pipeline::data::embed::SentenceEmbedder;
use crate::pipeline::data::movielens::read_tags;
use crate::pipeline::data::prepare::write_json;
use crate::pipeline::data::tables::MovieFeatures;
use crate::pipeline::data::tmdb::read_tmdb;
use crate::pipeline::eval::describe::{
    Bm25, LEFT_OUT_TAGS, MIN_TAGGED, SearchFigures, measure, tag_queries,
};
use crate::pipeline::search::{Pieces, SearchConfig, build, movie_text};
use crate::pipeline::stages::Paths;
use crate::pipeline::stages::inputs::Prepared;

/// The seed of the tag split: its first half tunes (`examples/tune_describe.rs`), the other is
/// held out for `evaluate --search`.
pub const TAG_SEED: u64 = 1;

/// The sentence model's name, as the search data records it.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Every prepared movie (catalog order) with its text and overview embedding.
pub struct SearchInputs {
    pub movies: Vec<MovieFeatures>,
    pub texts: Vec<String>,
    pub overviews: Vec<(MovieId, Vec<f32>)>,
    /// Ratings per movie, catalog order.
    pub counts: Vec<f32>,
}

impl SearchInputs {
    pub fn load(prepared: &Prepared, tmdb: &Path) -> anyhow::Result<Self> {
        let inputs = prepared.inputs(&BTreeSet::new())?;
        let tmdb = read_tmdb(tmdb, true)?;
        let text_dim = inputs.layout.text_embedding_dim;
        let mut counts: HashMap<MovieId, f32> = HashMap::new();
        for r in &prepared.ratings {
            *counts.entry(r.movie_id).or_default() += 1.0;
        }
        let movies = inputs.movies;
        let texts = movies
            .iter()
            .map(|m| {
                let overview = m.tmdb_id.and_then(|id| tmdb.get(&id));
                movie_text(
                    &m.title,
                    &m.genres,
                    overview.and_then(|t| t.overview.as_deref()),
                )
            })
            .collect();
        let overviews = movies
            .iter()
            .map(|m| {
                let v = m.features[m.features.len() - text_dim..].to_vec();
                (m.movie_id, v)
            })
            .collect();
        let counts = movies
            .iter()
            .map(|m| counts.get(&m.movie_id).copied().unwrap_or(0.0))
            .collect();
        Ok(Self {
            movies,
            texts,
            overviews,
            counts,
        })
    }

    pub fn text_refs(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }

    /// The search data over these movies.
    pub fn search_data(
        &self,
        model_dir: &Path,
        cache_dir: &Path,
        config: &SearchConfig,
    ) -> anyhow::Result<SearchData> {
        let pieces = Pieces::distil(model_dir, cache_dir)?;
        build(
            &pieces,
            &self.text_refs(),
            &self.overviews,
            MODEL_NAME,
            config,
        )
    }
}

/// What `search-data` wrote, in `metrics/search.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub path: String,
    pub bytes: usize,
    pub pieces: usize,
    pub movies: usize,
    pub dim: usize,
}

/// The `search-data` stage: the search data for the bundle at `bundle`'s catalog, keyed by the
/// catalog's movie ids (movies `add-movies` appended have no search vector yet).
pub fn search_stage(
    prepared: &Prepared,
    paths: &Paths,
    bundle: &Path,
    tmdb: &Path,
    model_dir: &Path,
    cache_dir: &Path,
    out: &Path,
) -> anyhow::Result<SearchReport> {
    let bytes = std::fs::read(bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let bundle = Bundle::from_bytes(&bytes).with_context(|| format!("{}", bundle.display()))?;
    let inputs = SearchInputs::load(prepared, tmdb)?;
    let mut data = inputs.search_data(model_dir, cache_dir, &SearchConfig::default())?;
    // The exported catalog lists the prepared movies in order (with the registry's ids), then
    // any `add-movies` appended.
    let trained: Vec<_> = bundle.catalog.iter().filter(|e| !e.new).collect();
    if trained.len() != inputs.movies.len() {
        bail!(
            "the bundle's catalog has {} trained movies; `prepare`'s data has {}: re-run `movie-genie export`",
            trained.len(),
            inputs.movies.len()
        );
    }
    for (entry, movie) in trained.iter().zip(&inputs.movies) {
        if entry.title != movie.title {
            bail!(
                "the bundle's catalog lists {:?} where `prepare`'s data has {:?}: re-run `movie-genie export`",
                entry.title,
                movie.title
            );
        }
    }
    data.movie_ids = trained.iter().map(|e| e.movie_id).collect();
    let file = data.to_bytes();
    crate::pipeline::atomic::write_atomic(out, |f| std::io::Write::write_all(f, &file))
        .with_context(|| format!("writing {}", out.display()))?;
    let report = SearchReport {
        path: out.display().to_string(),
        bytes: file.len(),
        pieces: data.encoder.vocabulary_len(),
        movies: data.movie_ids.len(),
        dim: data.encoder.dim(),
    };
    write_json(&paths.metrics.join("search.json"), &report)?;
    Ok(report)
}

/// One row of the tag table.
#[derive(Debug, Clone, Serialize)]
pub struct SearchRow {
    pub method: String,
    #[serde(flatten)]
    pub figures: SearchFigures,
}

/// The tag table: the held-out tag queries against the search data as shipped (`Describer`,
/// what the browser's "describe a movie" ranks by) and the baselines, all over the prepared
/// catalog. The search reads only overviews, titles, genres and rating counts, so no tag (and
/// no `has_user_tags` flag) reaches it.
pub fn search_table(
    prepared: &Prepared,
    paths: &Paths,
    tmdb: &Path,
    model_dir: &Path,
    cache_dir: &Path,
) -> anyhow::Result<Vec<SearchRow>> {
    let inputs = SearchInputs::load(prepared, tmdb)?;
    let rows: HashMap<MovieId, ItemIndex> = inputs
        .movies
        .iter()
        .enumerate()
        .map(|(r, m)| (m.movie_id, ItemIndex(r as u32)))
        .collect();
    let queries = tag_queries(&read_tags(&paths.tags)?, &rows, TAG_SEED).test;
    let catalog: Vec<(MovieId, f32)> = inputs
        .movies
        .iter()
        .zip(&inputs.counts)
        .map(|(m, c)| (m.movie_id, *c))
        .collect();
    let data = inputs.search_data(model_dir, cache_dir, &SearchConfig::default())?;
    let describer = Describer::new(data, &catalog);
    let mut table = Vec::new();
    let mut row = |method: &str, figures: SearchFigures| {
        table.push(SearchRow {
            method: method.into(),
            figures,
        })
    };
    row(
        "describe (static MiniLM, shipped)",
        measure(&queries, |q| describer.scores(q).unwrap_or_default()),
    );
    let bm25 = Bm25::new(&inputs.texts);
    row(
        "BM25 (title, genres, overview)",
        measure(&queries, |q| bm25.scores(q)),
    );
    let embedder = SentenceEmbedder::load(model_dir)?;
    row(
        "MiniLM query · overview",
        measure(&queries, |q| {
            let query = embedder
                .embed(&[q])
                .map(|mut v| v.remove(0))
                .unwrap_or_default();
            inputs
                .overviews
                .iter()
                .map(|(_, v)| v.iter().zip(&query).map(|(a, b)| a * b).sum())
                .collect()
        }),
    );
    row("popularity", measure(&queries, |_| inputs.counts.clone()));
    Ok(table)
}

/// The tag table as Markdown, with the queries and the tags left out.
pub fn search_markdown(table: &[SearchRow]) -> String {
    let mut out = format!(
        "\"Describe a movie\" on the held-out half of the MovieLens tags (split by tag, seed \
         {TAG_SEED}): each tag applied to at least {MIN_TAGGED} movies is a query, its movies \
         are relevant. `movie-genie evaluate --search`.\n\n\
         | search | recall@20 | ndcg@20 | queries |\n|---|---|---|---|\n"
    );
    for r in table {
        out += &format!(
            "| {} | {:.4} | {:.4} | {} |\n",
            r.method, r.figures.recall, r.figures.ndcg, r.figures.queries
        );
    }
    out += &format!(
        "\nTags left out (they describe no movie): {}.\n",
        LEFT_OUT_TAGS.join(", ")
    );
    out
}
