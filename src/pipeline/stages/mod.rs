//! The native pipeline's stages after `prepare`, one file each: [`train`], [`evaluate`] and
//! [`export`], all starting from the prepared data of [`inputs`]. Each file says what its
//! stage reads and writes, under the folders of [`Paths`].

use std::path::{Path, PathBuf};

pub mod evaluate;
pub mod export;
pub mod inputs;
pub mod search;
pub mod train;

/// Where the stages read and write.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `prepare`'s output folder.
    pub processed: PathBuf,
    /// The `thumbs-v1` test-visitor list.
    pub visitors: PathBuf,
    /// MovieLens `tags.csv`: the `has_user_tags` flag of a split counts its train users' tags.
    pub tags: PathBuf,
    /// The evaluated model (train users of `thumbs-v1`); the shipped one is in
    /// [`SHIPPED_DIR`](train::SHIPPED_DIR).
    pub models: PathBuf,
    pub metrics: PathBuf,
}

impl Paths {
    /// The default layout, reading MovieLens and the split list from `data_dir`.
    pub fn defaults(data_dir: &Path) -> Self {
        Self {
            processed: "data/processed".into(),
            visitors: data_dir.join("splits/thumbs-v1-visitors.txt"),
            tags: data_dir.join("ml-latest-small/tags.csv"),
            models: "models".into(),
            metrics: "metrics".into(),
        }
    }
}
