//! The `export` stage. Reads every user's prepared data, the shipped model in
//! `models/shipped/`, the `thumbs-v1` test-visitor list (the overlap is measured on validation
//! visitors carved from its train users) and the movie-id registry; writes the bundle, the item
//! tower `add-movies` reads and the registry with the catalog merged in (by default
//! `www/assets/movie-genie.bundle`, `shipped/item-tower.safetensors`, `shipped/movie-ids.json`),
//! and `metrics/bundle.json`.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::engine::bundle::{CatalogEntry, PqConfig};
use crate::engine::score::ranking_table;
use crate::pipeline::add_movies::ItemTowerFile;
use crate::pipeline::data::prepare::write_json;
use crate::pipeline::data::split::{GIVEN_COUNTS, Interactions, read_visitor_ids};
use crate::pipeline::eval::two_tower::TwoTowerVisitor;
use crate::pipeline::export::{compress_smallest, serving_bundle, write_atomic as write_bundle};
use crate::pipeline::movie_ids::{MovieIds, lock};
use crate::pipeline::stages::Paths;
use crate::pipeline::stages::inputs::Prepared;
use crate::pipeline::stages::train::{SHIPPED_DIR, load_trained};
use crate::pipeline::train::carve_validation;

/// Attribution shown with every bundle (MovieLens usage licence, TMDB terms).
pub const ATTRIBUTION: &str = "Ratings: MovieLens ml-latest-small, F. Maxwell Harper and Joseph A. Konstan. 2015. \
The MovieLens Datasets: History and Context. ACM TiiS 5, 4. GroupLens Research, University of Minnesota (research use; no endorsement implied).\n\
Movie metadata: This product uses the TMDB API but is not endorsed or certified by TMDB.";

/// What `export` measured, written to `metrics/bundle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportReport {
    pub path: String,
    pub bytes: u64,
    pub movies: usize,
    pub table_dim: usize,
    pub chosen: String,
    /// (label, items-section bytes, mean top-20 overlap with the float ranking).
    pub candidates: Vec<(String, usize, f64)>,
    /// Bytes of each section.
    pub sections: Vec<(String, u64)>,
    /// Validation-visitor queries the overlap was measured on.
    pub queries: usize,
    /// What `add-movies` reads beside the bundle (never fetched by the page).
    pub item_tower: String,
    pub item_tower_bytes: u64,
}

/// The `export` stage: the trained user tower, the compressed item table, the catalog and the
/// attribution in one bundle at `out`, with the smallest table that keeps top-20 overlap ≥
/// `min_overlap`; the item tower `add-movies` needs at `tower_out`; and the catalog merged into
/// the movie-id registry at `movie_ids`, whose ids the catalog keeps (`MovieIds::renumber`).
pub fn export_stage(
    prepared: &Prepared,
    paths: &Paths,
    out: &Path,
    tower_out: &Path,
    movie_ids: &Path,
    min_overlap: f64,
    device: &Device,
) -> anyhow::Result<ExportReport> {
    let everyone = prepared.inputs(&BTreeSet::new())?;
    let inputs = &everyone;
    let (trained, config) = load_trained(&paths.models.join(SHIPPED_DIR), inputs, device)?;
    let (table, bias_scale) = ranking_table(&trained.items);
    let dim = trained.items.dim + 1;

    // Queries: validation visitors (carved from the thumbs-v1 train users, as in training) at
    // each k, formed as the browser forms them.
    let visitor = TwoTowerVisitor::of(&trained, &inputs.content.genres, &config, device);
    let test_visitors = read_visitor_ids(&paths.visitors)?;
    let all = inputs.split.train_interactions();
    let (user_ids, rows) = all
        .iter()
        .filter(|(id, _)| !test_visitors.contains(id))
        .map(|(id, row)| (id, row.to_vec()))
        .unzip();
    let train_users = Interactions {
        num_items: all.num_items,
        user_ids,
        rows,
    };
    let mut queries = Vec::new();
    for k in GIVEN_COUNTS {
        let (_, cases) = carve_validation(&train_users, config.validation_fraction, k, config.seed);
        for case in cases {
            for user in visitor.user_vectors(&case.given) {
                queries.extend(visitor.query(&user));
            }
        }
    }
    let divisors: Vec<usize> = (2..dim).filter(|m| dim % m == 0 && *m <= 32).collect();
    let pq: Vec<PqConfig> = divisors
        .iter()
        .map(|&m| PqConfig {
            m,
            ..PqConfig::default()
        })
        .collect();
    let compression = compress_smallest(&table, dim, &queries, min_overlap, &pq)?;

    let counts = all.rating_counts();
    let mut catalog: Vec<CatalogEntry> = inputs
        .movies
        .iter()
        .zip(&counts)
        .map(|(m, count)| CatalogEntry {
            movie_id: m.movie_id,
            title: m.title.clone(),
            year: m.year,
            genres: m.genres.clone(),
            tmdb_id: m.tmdb_id,
            popularity: *count,
            new: false,
        })
        .collect();
    // Held to the end: an `add-movies` run meanwhile would read the old bundle and registry.
    let _lock = lock(movie_ids)?;
    let mut ids = MovieIds::read(movie_ids)?;
    ids.renumber(&mut catalog, movie_ids, "the exported catalog")?;
    let bundle = serving_bundle(
        &trained.visitor_tower(&config),
        &config,
        bias_scale,
        compression.table,
        catalog,
        ATTRIBUTION,
    )?;
    // The registry first, as in `add-movies`: an id it holds is never handed to another film.
    ids.write(movie_ids)?;
    let bytes = write_bundle(out, &bundle)?;
    let tower = ItemTowerFile::of(
        &trained.model,
        config.model.item_mlp(),
        &inputs.content.values,
        &inputs.layout,
        &bundle,
    );
    let tower_path = tower_out.to_owned();
    let tower_bytes = tower.to_bytes();
    crate::pipeline::atomic::write_atomic(&tower_path, |f| {
        std::io::Write::write_all(f, &tower_bytes)
    })
    .with_context(|| format!("writing {}", tower_path.display()))?;
    let header = crate::engine::bundle::load::read_header(&std::fs::read(out)?)?.0;
    let report = ExportReport {
        path: out.display().to_string(),
        bytes,
        movies: inputs.movies.len(),
        table_dim: dim,
        chosen: compression.chosen,
        candidates: compression
            .candidates
            .into_iter()
            .map(|c| (c.label, c.bytes, c.overlap))
            .collect(),
        sections: header
            .sections
            .iter()
            .map(|s| (s.name.clone(), s.length))
            .collect(),
        queries: queries.len() / dim,
        item_tower: tower_path.display().to_string(),
        item_tower_bytes: tower_bytes.len() as u64,
    };
    write_json(&paths.metrics.join("bundle.json"), &report)?;
    Ok(report)
}
