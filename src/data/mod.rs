//! Data: identifiers and the thumbs mapping (shared with the browser), plus the native readers,
//! the evaluation split and the `prepare` stage.

use serde::{Deserialize, Serialize};

pub mod thumbs;

#[cfg(not(target_arch = "wasm32"))]
pub mod content;
#[cfg(not(target_arch = "wasm32"))]
pub mod embed;
#[cfg(not(target_arch = "wasm32"))]
pub mod movielens;
#[cfg(not(target_arch = "wasm32"))]
pub mod prepare;
#[cfg(not(target_arch = "wasm32"))]
pub mod split;
#[cfg(not(target_arch = "wasm32"))]
pub mod tables;
#[cfg(not(target_arch = "wasm32"))]
pub mod tmdb;

pub use thumbs::{Thumbs, ThumbsError};

/// A raw MovieLens `movieId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MovieId(pub u32);

/// A row of the item-embedding table (the catalog's dense index), never a raw id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemIndex(pub u32);

impl std::fmt::Display for MovieId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
