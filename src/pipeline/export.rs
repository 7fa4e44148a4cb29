//! The exporter's side of the bundle: choosing the compressed table (the smallest one that keeps
//! the float ranking, measured by top-20 overlap on real queries) and writing the file: validate,
//! encode, re-decode, then write to a temporary file in the destination's directory, fsync it and
//! rename it over the destination, so a reader never sees a half-written bundle.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::TensorData;

use crate::engine::bundle::format::encode_items;
use crate::engine::bundle::{
    Bundle, BundleError, CatalogEntry, Int8Table, ItemTable, NamedTensor, PqConfig, PqTable,
    ServingConfig, USER_PRIOR, user_layer_names,
};
use crate::engine::rank::{RankError, top_k, top_k_f32};
use crate::pipeline::train::{TrainingConfig, VisitorTower};

/// What can go wrong exporting a bundle.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("refusing to write an invalid bundle: {0}")]
    Invalid(#[from] BundleError),
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
    #[error("cannot write bundle {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The bundle of a trained model: its serving config, the visitors' user tower (weights and
/// prior), the compressed table of rows `[v ; b / s]` (`score::ranking_table`,
/// `s = bias_scale`) and the catalog in the table's row order.
pub fn serving_bundle(
    tower: &VisitorTower,
    config: &TrainingConfig,
    bias_scale: f32,
    table: ItemTable,
    catalog: Vec<CatalogEntry>,
    attribution: &str,
) -> Result<Bundle, BundleError> {
    let serving = ServingConfig {
        user_tower: tower.mlp.clone(),
        user_input: tower.input,
        temperature: config.model.temperature,
        bias_scale,
        personalize: tower.personalize.clone(),
        ranking: config.ranking.clone(),
    };
    let (layers, prior) = (tower.layers.clone(), tower.prior.clone());
    let named = |name: &str, data: TensorData| {
        let shape = data.shape().to_vec();
        let values = data
            .try_to_vec::<f32>()
            .map_err(|e| BundleError::BadServing {
                what: format!("tensor `{name}`"),
                expected: "f32 values".into(),
                got: format!("{e:?}"),
            })?;
        NamedTensor::new(name, shape, values)
    };
    let mut tensors = Vec::new();
    for (i, (weight, bias)) in layers.into_iter().enumerate() {
        let (weight_name, bias_name) = user_layer_names(i);
        tensors.push(named(&weight_name, weight)?);
        tensors.push(named(&bias_name, bias)?);
    }
    tensors.push(named(USER_PRIOR, prior)?);
    Bundle::new(serving, tensors, table, catalog, attribution.to_owned())
}

/// Writes `bundle` to `path` atomically; returns the number of bytes written.
pub fn write_atomic(path: &Path, bundle: &Bundle) -> Result<u64, ExportError> {
    bundle.validate()?;
    let bytes = bundle.to_bytes();
    // Never ship a file the browser would reject.
    Bundle::from_bytes(&bytes)?;
    crate::pipeline::atomic::write_atomic(path, |f| f.write_all(&bytes)).map_err(|source| {
        ExportError::Io {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(bytes.len() as u64)
}

/// One table tried by `compress_smallest`.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateReport {
    /// `int8` or `pq-m{m}`.
    pub label: String,
    /// Encoded size of the `items` section.
    pub bytes: usize,
    /// Mean top-20 overlap with the float ranking.
    pub overlap: f64,
}

/// The table `compress_smallest` chose and every candidate it measured.
#[derive(Debug, Clone)]
pub struct Compression {
    pub table: ItemTable,
    pub chosen: String,
    pub candidates: Vec<CandidateReport>,
}

/// Mean over `queries` of |top-20(float) ∩ top-20(compressed)| / 20.
///
/// # Shapes
/// `float_table`: `[rows, dim]`; `queries`: `[n, dim]` with `dim = compressed.dim()`.
pub fn top20_overlap(
    float_table: &[f32],
    compressed: &ItemTable,
    queries: &[f32],
) -> Result<f64, RankError> {
    top_k_overlap(20, float_table, compressed, queries)
}

/// Mean over `queries` of |top-k(float) ∩ top-k(compressed)| / min(k, rows).
///
/// # Shapes
/// `float_table`: `[rows, dim]`; `queries`: `[n, dim]` with `dim = compressed.dim()`.
pub fn top_k_overlap(
    k: usize,
    float_table: &[f32],
    compressed: &ItemTable,
    queries: &[f32],
) -> Result<f64, RankError> {
    let dim = compressed.dim();
    let rows = compressed.rows();
    if Some(float_table.len()) != rows.checked_mul(dim) {
        return Err(RankError::TableLen {
            expected: rows.saturating_mul(dim),
            got: float_table.len(),
        });
    }
    if queries.is_empty() || !queries.len().is_multiple_of(dim) {
        return Err(RankError::QueriesLen {
            dim,
            got: queries.len(),
        });
    }
    if k == 0 {
        return Err(RankError::ZeroK);
    }
    let expected = k.min(rows);
    if expected == 0 {
        return Ok(1.0);
    }
    let mut total = 0.0;
    let mut count = 0usize;
    for q in queries.chunks_exact(dim) {
        let exact = top_k_f32(float_table, dim, q, k)?;
        let approx = top_k(compressed, q, k, &[])?;
        let hits = approx
            .iter()
            .filter(|(id, _)| exact.iter().any(|(e, _)| e == id))
            .count();
        total += hits as f64 / expected as f64;
        count += 1;
    }
    Ok(total / count as f64)
}

/// Tries int8 and each PQ config; returns the smallest table whose mean top-20 overlap with the
/// float ranking is at least `min_overlap`.
///
/// # Shapes
/// `float_table`: `[rows, dim]`; `queries`: `[n, dim]`.
pub fn compress_smallest(
    float_table: &[f32],
    dim: usize,
    queries: &[f32],
    min_overlap: f64,
    pq_configs: &[PqConfig],
) -> Result<Compression, ExportError> {
    let mut tables = vec![ItemTable::Int8(Int8Table::quantize(float_table, dim)?)];
    for config in pq_configs {
        tables.push(ItemTable::Pq(PqTable::train(float_table, dim, config)?));
    }
    let mut candidates = Vec::with_capacity(tables.len());
    let mut best: Option<(usize, usize)> = None;
    for (i, table) in tables.iter().enumerate() {
        let overlap = top20_overlap(float_table, table, queries)?;
        let bytes = encode_items(table).len();
        if overlap >= min_overlap && best.is_none_or(|(_, b)| bytes < b) {
            best = Some((i, bytes));
        }
        candidates.push(CandidateReport {
            label: table.label(),
            bytes,
            overlap,
        });
    }
    match best {
        Some((i, _)) => {
            let table = tables.swap_remove(i);
            Ok(Compression {
                chosen: table.label(),
                table,
                candidates,
            })
        }
        None => {
            let top = candidates
                .iter()
                .max_by(|a, b| a.overlap.total_cmp(&b.overlap));
            Err(ExportError::OverlapTooLow {
                required: min_overlap,
                best_label: top.map_or_else(String::new, |c| c.label.clone()),
                best: top.map_or(0.0, |c| c.overlap),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::seeded_unit_rows;

    #[test]
    fn overlap_of_a_table_with_itself_is_one_and_with_noise_less() {
        let dim = 16;
        let table = seeded_unit_rows(300, dim, 5);
        let queries = seeded_unit_rows(10, dim, 6);
        let exact = ItemTable::Int8(Int8Table::quantize(&table, dim).unwrap());
        let same = top20_overlap(&exact.dequantize(), &exact, &queries).unwrap();
        assert_eq!(same, 1.0);
        let other =
            ItemTable::Int8(Int8Table::quantize(&seeded_unit_rows(300, dim, 7), dim).unwrap());
        let cross = top20_overlap(&table, &other, &queries).unwrap();
        assert!(cross < 0.5, "unrelated tables overlap {cross}");
    }
}
