//! What every stage after `prepare` starts from: `prepare`'s tables and feature layout (in
//! `data/processed/`) and MovieLens's `tags.csv`, joined to one split's catalog: `thumbs-v1`
//! (its test-visitor list), every user, or a random visitor split. Reads only.

use std::collections::{BTreeSet, HashMap, HashSet};

use anyhow::{Context, bail};

use crate::engine::MovieId;
use crate::engine::score::Genres;
use crate::pipeline::data::content::FeatureLayout;
use crate::pipeline::data::movielens::{DataError, Rating, Tag, read_tags};
use crate::pipeline::data::prepare::{LAYOUT_FILE, MOVIES_TABLE, RATINGS_TABLE, read_layout};
use crate::pipeline::data::split::{Split, read_visitor_ids};
use crate::pipeline::data::tables::{MovieFeatures, read_movies_table, read_ratings_table};
use crate::pipeline::stages::Paths;
use crate::pipeline::train::ContentMatrix;
use crate::pipeline::train::config::DataCounts;

/// Everything `prepare` wrote, before any split.
pub struct Prepared {
    pub ratings: Vec<Rating>,
    pub layout: FeatureLayout,
    movies: HashMap<MovieId, MovieFeatures>,
    tags: Vec<Tag>,
    /// The `has_user_tags` column of the content vector.
    tag_column: usize,
}

/// The prepared data joined to one split's catalog.
pub struct Inputs {
    pub split: Split,
    pub layout: FeatureLayout,
    /// Catalog order.
    pub movies: Vec<MovieFeatures>,
    pub content: ContentMatrix,
}

impl Inputs {
    /// Each catalog item's genres, in catalog order.
    pub fn genres(&self) -> Vec<Vec<String>> {
        self.movies.iter().map(|m| m.genres.clone()).collect()
    }
}

/// Reads `prepare`'s tables and MovieLens's tags.
pub fn load_prepared(paths: &Paths) -> anyhow::Result<Prepared> {
    let layout = read_layout(&paths.processed.join(LAYOUT_FILE))
        .context("run `movie-genie prepare` first")?;
    let ratings = read_ratings_table(&paths.processed.join(RATINGS_TABLE))?;
    let movies = read_movies_table(&paths.processed.join(MOVIES_TABLE), &layout)?
        .into_iter()
        .map(|m| (m.movie_id, m))
        .collect();
    let tags = read_tags(&paths.tags)?;
    let column = "flag_has_user_tags";
    let tag_column = layout
        .columns
        .iter()
        .position(|c| c == column)
        .with_context(|| {
            format!("{LAYOUT_FILE} has no column `{column}`: re-run `movie-genie prepare`")
        })?;
    Ok(Prepared {
        ratings,
        layout,
        movies,
        tags,
        tag_column,
    })
}

impl Prepared {
    /// The inputs of the split with `test_visitors` held out (none: every user trains). The
    /// `has_user_tags` flag counts only the train users' tags, so no test visitor's tag tells
    /// the model which movies they watched.
    pub fn inputs(&self, test_visitors: &BTreeSet<u32>) -> anyhow::Result<Inputs> {
        let split = Split::new(&self.ratings, test_visitors)?;
        let tagged: HashSet<MovieId> = self
            .tags
            .iter()
            .filter(|t| !test_visitors.contains(&t.user_id))
            .map(|t| t.movie_id)
            .collect();
        let mut movies = Vec::with_capacity(split.catalog.len());
        for id in split.catalog.movie_ids() {
            match self.movies.get(id) {
                Some(m) => {
                    let mut m = m.clone();
                    m.features[self.tag_column] = f32::from(tagged.contains(id));
                    movies.push(m);
                }
                None => bail!(DataError::Other(format!(
                    "movie {id} is rated but has no row in {MOVIES_TABLE}"
                ))),
            }
        }
        let content = ContentMatrix {
            values: movies
                .iter()
                .flat_map(|m| m.features.iter().copied())
                .collect(),
            dim: self.layout.dim,
            genres: Genres::new(
                &movies.iter().map(|m| m.genres.clone()).collect::<Vec<_>>(),
                &split.train_interactions().rating_counts(),
            ),
        };
        Ok(Inputs {
            split,
            layout: self.layout.clone(),
            movies,
            content,
        })
    }

    /// A random visitor split: `floor(0.2 · #users)` users, seeded shuffle of the sorted ids.
    pub fn random_visitors(&self, seed: u64) -> BTreeSet<u32> {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let mut users: Vec<u32> = self
            .ratings
            .iter()
            .map(|r| r.user_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        users.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let count = users.len() / 5;
        users[..count].iter().copied().collect()
    }
}

/// The `thumbs-v1` inputs: the published test visitors held out.
pub fn load_inputs(paths: &Paths) -> anyhow::Result<(Prepared, Inputs)> {
    let prepared = load_prepared(paths)?;
    let inputs = prepared.inputs(&read_visitor_ids(&paths.visitors)?)?;
    Ok((prepared, inputs))
}

/// The data counts the model config is filled with.
pub fn counts(inputs: &Inputs, num_users: usize) -> DataCounts {
    DataCounts {
        num_users,
        num_items: inputs.split.catalog.len(),
        content_dim: inputs.layout.dim,
    }
}
