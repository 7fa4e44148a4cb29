//! The benchmark API for `www/bench.js` (the page's `?bench` mode): synthetic catalogs of any
//! size and the ranking kernel alone. Only in modules built with the `bench` feature (Cargo.toml
//! says which), so the shipped ones carry neither it nor the fixtures it builds from.

use wasm_bindgen::prelude::*;

use super::{MAX_RESULTS, js};
use crate::engine::bundle::{Int8Table, ItemTable};
use crate::engine::rank::TopK;
use crate::fixtures::{SyntheticSpec, seeded_unit_rows, synthetic_bundle};

/// A random bundle of the shipped model's shape over `rows` movies (`www/bench.js` ranks a
/// 100k-movie catalog with it).
#[wasm_bindgen(js_name = syntheticBundle)]
pub fn synthetic_bundle_bytes(rows: f64, seed: f64) -> Result<Vec<u8>, JsError> {
    let rows = js::count("rows", rows, 10_000_000)?;
    let spec = SyntheticSpec {
        rows,
        ..SyntheticSpec::movielens_small()
    };
    Ok(synthetic_bundle(&spec, seed as u64).to_bytes())
}

/// The ranking kernel alone, for `www/bench.js`: seeded unit vectors kept as f32 (what a plain
/// JS loop would scan) and as the int8 table the bundle ships (what `rank` scans).
#[wasm_bindgen]
pub struct RankBench {
    index: TopK,
    floats: Vec<f32>,
}

#[wasm_bindgen]
impl RankBench {
    #[wasm_bindgen(constructor)]
    pub fn new(rows: f64, dim: f64, seed: f64) -> Result<RankBench, JsError> {
        let rows = js::count("rows", rows, 10_000_000)?;
        let dim = js::count("dim", dim, 4096)?;
        let floats = seeded_unit_rows(rows, dim, seed as u64);
        let table = Int8Table::quantize(&floats, dim)?;
        Ok(RankBench {
            index: TopK::by_row(ItemTable::Int8(table)),
            floats,
        })
    }

    /// The f32 rows, row-major `[rows, dim]` (a copy, for the JS loop).
    pub fn floats(&self) -> Vec<f32> {
        self.floats.clone()
    }

    /// Row indices of the `k` best rows for `query` over the int8 table, best first.
    #[wasm_bindgen(js_name = topK)]
    pub fn top_k(&self, query: &[f32], k: f64) -> Result<Vec<u32>, JsError> {
        let k = js::count("k", k, MAX_RESULTS)?;
        let best = self.index.query(query, k)?;
        Ok(best.into_iter().map(|(row, _)| row.0).collect())
    }
}
