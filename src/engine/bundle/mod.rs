//! The model bundle: the one file the browser downloads, holding the serving config, the
//! user-tower weights, the compressed item table, the catalog and the attribution. `format`
//! writes it, `load` reads and validates it, `table` builds the compressed tables; the exporter
//! (`pipeline::export`) chooses the table and writes the file.

use serde::{Deserialize, Serialize};

use crate::engine::MovieId;
use crate::engine::model::mlp::MlpConfig;
use crate::engine::personalize::PersonalizeConfig;
use crate::engine::score::RankingConfig;

pub mod format;
pub mod load;
pub mod table;

pub use format::{FORMAT_VERSION, Header, MAGIC, SectionEntry};
pub use table::{Int8Table, ItemTable, PqConfig, PqTable};

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
#[serde(deny_unknown_fields)]
pub struct BundleMeta {
    pub serving: ServingConfig,
    /// Width of the item table's rows: the towers' output dim + 1 (the bias column).
    pub dim: u32,
    /// Rows of the item table (and of the catalog).
    pub num_items: u32,
}

/// Everything the browser needs to rebuild and drive the model, written by the exporter and
/// read by the loader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingConfig {
    /// The user tower's MLP; its weights are the tensors [`user_layer_names`] names, and its
    /// input is the vector personalisation fits, starting from what `user_input` says.
    pub user_tower: MlpConfig,
    /// What the user tower reads.
    #[serde(default)]
    pub user_input: UserInput,
    /// τ: the ranking query is the visitor's vector over τ.
    pub temperature: f64,
    /// `s`: the item table's last column is the item bias over `s` (`score::ranking_table`).
    pub bias_scale: f32,
    pub personalize: PersonalizeConfig,
    pub ranking: RankingConfig,
}

/// What the user tower reads: where personalisation starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserInput {
    /// A vector of the id embeddings' space, fitted to the thumbs from [`USER_PRIOR`] (the mean
    /// of the train users' id embeddings).
    #[default]
    Prior,
    /// The visitor's thumbs, pooled over the table's vectors (`engine::encoder::thumbs_input`);
    /// [`USER_PRIOR`] is then the input of a visitor with no thumbs (zeros).
    Thumbs,
}

/// The tensor holding the user tower's starting input, `[user_tower.d_input]`
/// ([`UserInput`] says what it is).
pub const USER_PRIOR: &str = "user_tower.prior";

/// The names of user-tower layer `i`'s weight `[d_in, d_out]` and bias `[d_out]`.
pub fn user_layer_names(i: usize) -> (String, String) {
    (
        format!("user_tower.layers.{i}.weight"),
        format!("user_tower.layers.{i}.bias"),
    )
}

/// The user tower's tensors, checked against the serving config.
#[derive(Debug, Clone)]
pub struct UserTowerTensors<'a> {
    /// (weight, bias) per layer, input first.
    pub layers: Vec<(&'a NamedTensor, &'a NamedTensor)>,
    pub prior: &'a NamedTensor,
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
    /// Added to the catalog after training (`movie-genie add-movies`): its vector comes from
    /// content alone.
    pub new: bool,
}

impl CatalogEntry {
    /// "Title (year)", or the title alone: how the page names a movie.
    pub fn label(&self) -> String {
        match self.year {
            Some(year) => format!("{} ({year})", self.title),
            None => self.title.clone(),
        }
    }
}

/// What can go wrong building, reading or validating a bundle.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BundleError {
    #[error("not a Movie Genie bundle: expected magic bytes {expected}, got {got}")]
    BadMagic { expected: String, got: String },
    #[error(
        "bundle format version {got} is not supported: this build reads version {supported}; re-export the bundle with this version (`movie-genie export`)"
    )]
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
    #[error("tensor `{name}`: expected shape {expected:?} (from the serving config), got {got:?}")]
    TowerShape {
        name: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("serving config: {what}: expected {expected}, got {got}")]
    BadServing {
        what: String,
        expected: String,
        got: String,
    },
}

impl Bundle {
    /// Builds a bundle, filling `meta.dim` and `meta.num_items` from the table, and validates it.
    pub fn new(
        serving: ServingConfig,
        tensors: Vec<NamedTensor>,
        items: ItemTable,
        catalog: Vec<CatalogEntry>,
        attribution: String,
    ) -> Result<Self, BundleError> {
        let meta = BundleMeta {
            serving,
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

    /// The user tower's tensors, each checked against the shape the serving config gives it,
    /// after the config's own numbers (τ, the bias scale, the output width the table needs).
    pub fn user_tower(&self) -> Result<UserTowerTensors<'_>, BundleError> {
        let serving = &self.meta.serving;
        let bad = |what: &str, expected: &str, got: String| BundleError::BadServing {
            what: what.into(),
            expected: expected.into(),
            got,
        };
        if !(serving.temperature.is_finite() && serving.temperature > 0.0) {
            return Err(bad(
                "temperature",
                "a number > 0",
                serving.temperature.to_string(),
            ));
        }
        if !(serving.bias_scale.is_finite() && serving.bias_scale > 0.0) {
            return Err(bad(
                "bias_scale",
                "a number > 0",
                serving.bias_scale.to_string(),
            ));
        }
        if serving.user_tower.d_output + 1 != self.items.dim() {
            return Err(bad(
                "user_tower.d_output",
                &format!(
                    "the item table's width − 1 = {}",
                    self.items.dim().saturating_sub(1)
                ),
                serving.user_tower.d_output.to_string(),
            ));
        }
        let pooled = crate::engine::encoder::thumbs_input_dim(self.items.dim().saturating_sub(1));
        if serving.user_input == UserInput::Thumbs && serving.user_tower.d_input != pooled {
            return Err(bad(
                "user_tower.d_input",
                &format!("{pooled}, the pooled thumbs of the table's vectors"),
                serving.user_tower.d_input.to_string(),
            ));
        }
        let tower = &serving.user_tower;
        let widths: Vec<usize> = std::iter::once(tower.d_input)
            .chain(tower.hidden.iter().copied())
            .chain(std::iter::once(tower.d_output))
            .collect();
        let shaped = |name: &str, expected: Vec<usize>| {
            let tensor = self.tensor(name)?;
            if tensor.shape != expected {
                return Err(BundleError::TowerShape {
                    name: name.to_owned(),
                    expected,
                    got: tensor.shape.clone(),
                });
            }
            Ok(tensor)
        };
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (weight, bias) = user_layer_names(i);
                Ok((
                    shaped(&weight, vec![w[0], w[1]])?,
                    shaped(&bias, vec![w[1]])?,
                ))
            })
            .collect::<Result<_, BundleError>>()?;
        let prior = shaped(USER_PRIOR, vec![tower.d_input])?;
        Ok(UserTowerTensors { layers, prior })
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
        self.user_tower()?;
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
