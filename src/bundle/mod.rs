//! The model bundle: the one file the browser downloads, holding the user-tower weights, the
//! compressed item table, the catalog and the attribution. `format` writes it, `load` reads and
//! validates it (shared with wasm), `quantize` builds the compressed tables, and `export` writes
//! the file atomically (native only).

use serde::{Deserialize, Serialize};

use crate::data::MovieId;
use crate::rank::RankError;

pub mod format;
pub mod load;
pub mod quantize;

#[cfg(not(target_arch = "wasm32"))]
pub mod export;

pub use format::{FORMAT_VERSION, Header, MAGIC, SectionEntry};
pub use quantize::{Int8Table, ItemTable, PqConfig, PqTable};

/// Everything the browser needs to recommend from the whole catalog with no further request.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub meta: BundleMeta,
    /// Trained user-tower weights and the personalisation prior, looked up by name.
    pub tensors: Vec<NamedTensor>,
    /// The movie-embedding table, compressed; row `i` is `ItemIndex(i)`.
    pub items: ItemTable,
    /// One entry per item-table row, in row order.
    pub catalog: Vec<CatalogEntry>,
    /// MovieLens and TMDB attribution lines, shown by the page.
    pub attribution: String,
}

/// The JSON metadata block of the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleMeta {
    /// The `TrainingConfig` the weights came from, so the browser rebuilds the exact architecture.
    pub training_config: serde_json::Value,
    /// How visitor features map to user-tower inputs (owned by the model code).
    pub feature_layout: serde_json::Value,
    /// Embedding dimension shared by the towers and the item table.
    pub dim: u32,
    /// Rows of the item table (and of the catalog).
    pub num_items: u32,
}

/// A named f32 tensor, row-major.
///
/// # Shapes
/// `data.len() == shape.iter().product()`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// One movie as the page shows and searches it (search hits are these, as JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    pub movie_id: MovieId,
    /// Title without the trailing " (YYYY)".
    pub title: String,
    pub year: Option<i32>,
    pub genres: Vec<String>,
    pub tmdb_id: Option<u32>,
    /// Popularity used for cold-start ordering (e.g. rating count); finite.
    pub popularity: f32,
}

/// What can go wrong building, reading or validating a bundle.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BundleError {
    #[error("not a Movie Genie bundle: expected magic bytes {expected}, got {got}")]
    BadMagic { expected: String, got: String },
    #[error("bundle format version {got} is not supported: this build reads version {supported}")]
    UnsupportedVersion { supported: u32, got: u32 },
    #[error("bundle is truncated: expected {expected} bytes, got {got}")]
    Truncated { expected: u64, got: u64 },
    #[error("bundle has trailing bytes: expected {expected} bytes, got {got}")]
    TrailingBytes { expected: u64, got: u64 },
    #[error("bundle header is invalid: {reason}")]
    BadHeader { reason: String },
    #[error(
        "section `{name}` spans {offset}..{offset}+{length}, past the end of the data area: expected at most {data_len} bytes"
    )]
    SectionOutOfBounds {
        name: String,
        offset: u64,
        length: u64,
        data_len: u64,
    },
    #[error(
        "sections overlap: `{first}` ends at {first_end} but `{second}` starts at {second_start}"
    )]
    OverlappingSections {
        first: String,
        first_end: u64,
        second: String,
        second_start: u64,
    },
    #[error("section `{name}` appears {count} times; expected once")]
    DuplicateSection { name: String, count: usize },
    #[error("required section `{name}` is missing; got sections {found:?}")]
    MissingSection { name: String, found: Vec<String> },
    #[error("section `{name}` checksum mismatch: expected sha256 {expected}, got {got}")]
    ChecksumMismatch {
        name: String,
        expected: String,
        got: String,
    },
    #[error("section `{section}` ends early reading {what}: expected {expected} bytes, got {got}")]
    SectionTruncated {
        section: String,
        what: String,
        expected: u64,
        got: u64,
    },
    #[error("section `{section}` has trailing bytes: expected 0 after its content, got {got}")]
    SectionTrailingBytes { section: String, got: u64 },
    #[error("section `{section}`: invalid {what}: expected {expected}, got {got}")]
    BadValue {
        section: String,
        what: String,
        expected: String,
        got: String,
    },
    #[error("tensor `{name}` with shape {shape:?}: expected {expected} data bytes, got {got}")]
    TensorShape {
        name: String,
        shape: Vec<u64>,
        expected: String,
        got: u64,
    },
    #[error("tensor name `{name}` appears more than once; expected unique names")]
    DuplicateTensor { name: String },
    #[error("no tensor named `{name}`; got tensors {available:?}")]
    MissingTensor {
        name: String,
        available: Vec<String>,
    },
    #[error(
        "{what} holds a non-finite value at index {index}: expected a finite float, got {value}"
    )]
    NonFinite {
        what: String,
        index: usize,
        value: f32,
    },
    #[error("catalog has {got} rows; expected {expected}, one per item-table row")]
    CatalogRows { expected: u64, got: u64 },
    #[error("{what}: expected {expected}, got {got}")]
    CountMismatch {
        what: String,
        expected: u64,
        got: u64,
    },
    #[error("invalid item table: {reason}")]
    InvalidTable { reason: String },
    #[error(
        "no compression reaches mean top-20 overlap {required}: best was {best_label} with {best}"
    )]
    OverlapTooLow {
        required: f64,
        best_label: String,
        best: f64,
    },
    #[error(transparent)]
    Rank(#[from] RankError),
}

impl Bundle {
    /// Builds a bundle, filling `meta.dim` and `meta.num_items` from the table, and validates it.
    pub fn new(
        training_config: serde_json::Value,
        feature_layout: serde_json::Value,
        tensors: Vec<NamedTensor>,
        items: ItemTable,
        catalog: Vec<CatalogEntry>,
        attribution: String,
    ) -> Result<Self, BundleError> {
        let meta = BundleMeta {
            training_config,
            feature_layout,
            dim: to_u32(items.dim(), "item table dim")?,
            num_items: to_u32(items.rows(), "item table rows")?,
        };
        let bundle = Self {
            meta,
            tensors,
            items,
            catalog,
            attribution,
        };
        bundle.validate()?;
        Ok(bundle)
    }

    /// The tensor called `name`, or an error listing the names the bundle holds.
    pub fn tensor(&self, name: &str) -> Result<&NamedTensor, BundleError> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| BundleError::MissingTensor {
                name: name.to_owned(),
                available: self.tensors.iter().map(|t| t.name.clone()).collect(),
            })
    }

    /// Checks the invariants `from_bytes` guarantees: counts agree, shapes match, floats are finite.
    pub fn validate(&self) -> Result<(), BundleError> {
        check_count(
            "meta.dim vs item table dim",
            self.items.dim(),
            self.meta.dim,
        )?;
        check_count(
            "meta.num_items vs item table rows",
            self.items.rows(),
            self.meta.num_items,
        )?;
        if self.catalog.len() != self.items.rows() {
            return Err(BundleError::CatalogRows {
                expected: self.items.rows() as u64,
                got: self.catalog.len() as u64,
            });
        }
        let mut names = std::collections::HashSet::with_capacity(self.tensors.len());
        for tensor in &self.tensors {
            tensor.validate()?;
            if !names.insert(tensor.name.as_str()) {
                return Err(BundleError::DuplicateTensor {
                    name: tensor.name.clone(),
                });
            }
        }
        for (row, entry) in self.catalog.iter().enumerate() {
            check_genres(
                Some(row),
                entry.genres.iter().map(String::as_str),
                entry.genres.len(),
            )?;
            if !entry.popularity.is_finite() {
                return Err(BundleError::NonFinite {
                    what: "catalog popularity".into(),
                    index: row,
                    value: entry.popularity,
                });
            }
        }
        Ok(())
    }
}

impl NamedTensor {
    /// A tensor whose shape and data agree and whose values are finite.
    pub fn new(
        name: impl Into<String>,
        shape: Vec<usize>,
        data: Vec<f32>,
    ) -> Result<Self, BundleError> {
        let tensor = Self {
            name: name.into(),
            shape,
            data,
        };
        tensor.validate()?;
        Ok(tensor)
    }

    /// Checks `shape × 4 == data bytes` and that every value is finite.
    pub fn validate(&self) -> Result<(), BundleError> {
        let got = (self.data.len() as u64).saturating_mul(4);
        let expected = self
            .shape
            .iter()
            .try_fold(4u64, |acc, &d| acc.checked_mul(d as u64));
        if expected != Some(got) {
            return Err(BundleError::TensorShape {
                name: self.name.clone(),
                shape: self.shape.iter().map(|&d| d as u64).collect(),
                expected: expected.map_or_else(|| "an overflowing count".into(), |e| e.to_string()),
                got,
            });
        }
        check_finite(&format!("tensor `{}`", self.name), &self.data)
    }
}

/// Longest genre name a catalog may hold, in bytes; bounds what the loader clones per reference.
pub const MAX_GENRE_LEN: usize = 64;

/// Most genres one movie may list.
pub const MAX_GENRES_PER_MOVIE: usize = 32;

/// Checks a genre list (catalog row `row`, or the genre table for `None`) against
/// `MAX_GENRES_PER_MOVIE` and `MAX_GENRE_LEN`.
pub(crate) fn check_genres<'a>(
    row: Option<usize>,
    genres: impl Iterator<Item = &'a str>,
    count: usize,
) -> Result<(), BundleError> {
    let bad = |what: &str, expected: String, got: String| BundleError::BadValue {
        section: format::SECTION_CATALOG.into(),
        what: match row {
            Some(row) => format!("{what} of catalog row {row}"),
            None => format!("{what} in the genre table"),
        },
        expected,
        got,
    };
    if count > MAX_GENRES_PER_MOVIE {
        return Err(bad(
            "genre count",
            format!("at most {MAX_GENRES_PER_MOVIE}"),
            count.to_string(),
        ));
    }
    for genre in genres {
        if genre.len() > MAX_GENRE_LEN {
            return Err(bad(
                "genre name",
                format!("at most {MAX_GENRE_LEN} bytes"),
                format!("{} bytes", genre.len()),
            ));
        }
    }
    Ok(())
}

/// Errors with the first non-finite value of `values`.
pub(crate) fn check_finite(what: &str, values: &[f32]) -> Result<(), BundleError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(BundleError::NonFinite {
            what: what.to_owned(),
            index,
            value: values.get(index).copied().unwrap_or(f32::NAN),
        }),
    }
}

fn check_count(what: &str, expected: usize, got: u32) -> Result<(), BundleError> {
    if expected as u64 != u64::from(got) {
        return Err(BundleError::CountMismatch {
            what: what.to_owned(),
            expected: expected as u64,
            got: u64::from(got),
        });
    }
    Ok(())
}

pub(crate) fn to_u32(value: usize, what: &str) -> Result<u32, BundleError> {
    u32::try_from(value).map_err(|_| BundleError::CountMismatch {
        what: format!("{what} (must fit in u32)"),
        expected: u64::from(u32::MAX),
        got: value as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_shape_must_match_data() {
        assert!(NamedTensor::new("w", vec![2, 3], vec![0.0; 6]).is_ok());
        let err = NamedTensor::new("w", vec![2, 3], vec![0.0; 5]).unwrap_err();
        assert!(
            matches!(err, BundleError::TensorShape { got: 20, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("expected 24"), "{err}");
    }

    #[test]
    fn tensor_rejects_nan() {
        let err = NamedTensor::new("p", vec![3], vec![0.0, f32::NAN, 1.0]).unwrap_err();
        assert!(
            matches!(err, BundleError::NonFinite { index: 1, .. }),
            "{err}"
        );
    }
}
