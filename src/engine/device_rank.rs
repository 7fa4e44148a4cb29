//! Scoring a large catalog on the device (WebGPU): the int8 table's rows, decompressed once,
//! stay on the device in chunks, and an update's scores are one matrix–vector product per chunk,
//! read back together. The top `k` is then chosen on the CPU by the int8 kernel's own selection
//! (`TopK::select_scored`, after the ranker's other terms, with the same exclusions). The query
//! is the kernel's i16-quantised one (`rank::kernel_query`), so both paths agree to float
//! rounding.

use burn::tensor::{Device, Tensor, TensorData};

use crate::engine::bundle::Int8Table;
use crate::engine::model::product;
use crate::engine::rank::kernel_query;

/// Catalogs from this many rows are scored on the device when the model runs on WebGPU: a wide,
/// uniform job. Below it one CPU pass over the int8 table takes a few milliseconds.
pub const DEVICE_RANKING_MIN_ROWS: usize = 100_000;

/// Rows per device tensor: `[CHUNK_ROWS, dim]` f32 stays under WebGPU's default storage-binding
/// limit (128 MiB) for any `dim` up to 128.
const CHUNK_ROWS: usize = 1 << 18;

/// The decompressed ranking table on a device.
#[derive(Debug, Clone)]
pub struct DeviceTable {
    /// `[≤ CHUNK_ROWS, dim]` each, in row order.
    chunks: Vec<Tensor<2>>,
    rows: usize,
    dim: usize,
    device: Device,
}

impl DeviceTable {
    /// Uploads `table`'s rows, decompressed, to `device`.
    pub fn new(table: &Int8Table, device: &Device) -> Self {
        let (rows, dim) = (table.rows(), table.dim());
        let chunks = (0..rows)
            .step_by(CHUNK_ROWS)
            .map(|start| {
                let end = (start + CHUNK_ROWS).min(rows);
                let values: Vec<f32> = (start..end)
                    .filter_map(|r| table.row(r))
                    .flatten()
                    .collect();
                Tensor::<2>::from_data(TensorData::new(values, [end - start, dim]), device)
            })
            .collect();
        Self {
            chunks,
            rows,
            dim,
            device: device.clone(),
        }
    }

    /// Starts every row's score for the query `q` as the int8 kernel sees it; nothing waits for
    /// the device yet.
    ///
    /// # Shapes
    /// `q`: `[dim]`; returns `[rows]`.
    pub fn scores(&self, q: &[f32]) -> Tensor<1> {
        debug_assert_eq!(q.len(), self.dim);
        let q = Tensor::<2>::from_data(
            TensorData::new(kernel_query(q), [self.dim, 1]),
            &self.device,
        );
        let parts = self
            .chunks
            .iter()
            .map(|chunk| product(chunk.clone(), q.clone()))
            .collect();
        Tensor::cat(parts, 0).reshape([self.rows])
    }
}
