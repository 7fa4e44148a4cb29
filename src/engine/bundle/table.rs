//! Compressed item tables: symmetric int8 with a per-row scale, and product quantisation (PQ,
//! `m` sub-spaces of 256 centroids each, trained by seeded k-means). Here the tables are built
//! and checked; scoring on them lives in `rank`, and choosing one (the exporter's overlap
//! measurement) in `pipeline::export`.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{BundleError, check_finite};
use crate::engine::ItemIndex;

/// Centroids per PQ sub-space; one code byte each.
pub const PQ_CENTROIDS: usize = 256;

/// Largest embedding dim a table may have; bounds the int8 kernel's i32 sums (see `rank`).
pub const MAX_DIM: usize = 65_536;

/// Symmetric int8 rows: `x[r][j] ≈ scales[r] * codes[r][j]`, codes in `-127..=127`.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Table {
    rows: usize,
    dim: usize,
    scales: Vec<f32>,
    codes: Vec<i8>,
}

/// Product-quantised rows: row `r` ≈ the concatenation over sub-space `s` of
/// `centroids[s][codes[r][s]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PqTable {
    rows: usize,
    dim: usize,
    m: usize,
    centroids: Vec<f32>,
    codes: Vec<u8>,
}

/// The compressed item table the bundle ships; row `i` is `ItemIndex(i)`.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemTable {
    Int8(Int8Table),
    Pq(PqTable),
}

/// How to train a PQ table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PqConfig {
    /// Sub-spaces; must divide the embedding dim. Code bytes per row.
    pub m: usize,
    /// Lloyd iterations per sub-space.
    pub iterations: usize,
    /// Seed for the k-means initialisation and the training sample.
    pub seed: u64,
    /// Rows sampled (seeded) to train the centroids; every row is still encoded.
    pub max_train_rows: usize,
}

impl Default for PqConfig {
    fn default() -> Self {
        Self {
            m: 16,
            iterations: 20,
            seed: 42,
            max_train_rows: 50_000,
        }
    }
}

impl Int8Table {
    /// Quantises a float table row by row with `scale = max|x| / 127`.
    ///
    /// # Shapes
    /// `table`: `[rows, dim]`, row-major.
    pub fn quantize(table: &[f32], dim: usize) -> Result<Self, BundleError> {
        let rows = check_float_table(table, dim)?;
        let mut scales = Vec::with_capacity(rows);
        let mut codes = Vec::with_capacity(table.len());
        for row in table.chunks_exact(dim) {
            let max = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let scale = max / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            scales.push(scale);
            codes.extend(
                row.iter()
                    .map(|x| (x * inv).round().clamp(-127.0, 127.0) as i8),
            );
        }
        Self::from_parts(rows, dim, scales, codes)
    }

    /// Assembles a table from its parts, checking lengths and that scales are finite.
    ///
    /// # Shapes
    /// `scales`: `[rows]`; `codes`: `[rows, dim]`.
    pub fn from_parts(
        rows: usize,
        dim: usize,
        scales: Vec<f32>,
        codes: Vec<i8>,
    ) -> Result<Self, BundleError> {
        if dim == 0 || dim > MAX_DIM {
            return Err(invalid(format!(
                "int8 dim: expected 1..={MAX_DIM}, got {dim}"
            )));
        }
        if scales.len() != rows {
            return Err(invalid(format!(
                "int8 scales: expected {rows}, got {}",
                scales.len()
            )));
        }
        if Some(codes.len()) != rows.checked_mul(dim) {
            return Err(invalid(format!(
                "int8 codes: expected {rows} × {dim}, got {}",
                codes.len()
            )));
        }
        check_finite("int8 scales", &scales)?;
        Ok(Self {
            rows,
            dim,
            scales,
            codes,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Per-row scales.
    ///
    /// # Shapes
    /// `[rows]`.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Codes, row-major.
    ///
    /// # Shapes
    /// `[rows, dim]`.
    pub fn codes(&self) -> &[i8] {
        &self.codes
    }

    /// Row `r` decompressed, or `None` past the end.
    pub fn row(&self, r: usize) -> Option<Vec<f32>> {
        let scale = *self.scales.get(r)?;
        let codes = self.codes.get(r * self.dim..(r + 1) * self.dim)?;
        Some(codes.iter().map(|&c| scale * f32::from(c)).collect())
    }

    /// The whole table decompressed, `[rows, dim]`.
    pub fn dequantize(&self) -> Vec<f32> {
        (0..self.rows)
            .filter_map(|r| self.row(r))
            .flatten()
            .collect()
    }
}

impl PqTable {
    /// Trains `m` k-means codebooks (seeded) on up to `max_train_rows` rows and encodes every row.
    ///
    /// # Shapes
    /// `table`: `[rows, dim]`, row-major; `dim % config.m == 0`.
    pub fn train(table: &[f32], dim: usize, config: &PqConfig) -> Result<Self, BundleError> {
        let rows = check_float_table(table, dim)?;
        let m = config.m;
        if m == 0 || !dim.is_multiple_of(m) {
            return Err(invalid(format!(
                "pq m: expected a divisor of dim {dim}, got {m}"
            )));
        }
        if rows == 0 {
            return Err(invalid(
                "pq rows: expected at least 1 row to train on, got 0".into(),
            ));
        }
        let dsub = dim / m;
        let mut rng = StdRng::seed_from_u64(config.seed);
        let sample = sample_rows(rows, config.max_train_rows.max(1), &mut rng);
        let mut centroids = Vec::with_capacity(m * PQ_CENTROIDS * dsub);
        let mut points = Vec::with_capacity(sample.len() * dsub);
        for s in 0..m {
            points.clear();
            for &r in &sample {
                let start = r * dim + s * dsub;
                points.extend_from_slice(&table[start..start + dsub]);
            }
            centroids.extend(kmeans(&points, dsub, config.iterations, &mut rng));
        }
        let mut codes = Vec::with_capacity(rows * m);
        for row in table.chunks_exact(dim) {
            for (s, sub) in row.chunks_exact(dsub).enumerate() {
                let book = &centroids[s * PQ_CENTROIDS * dsub..(s + 1) * PQ_CENTROIDS * dsub];
                codes.push(nearest(book, dsub, sub) as u8);
            }
        }
        Self::from_parts(rows, dim, m, centroids, codes)
    }

    /// Assembles a table from its parts, checking lengths and that centroids are finite.
    ///
    /// # Shapes
    /// `centroids`: `[m, 256, dim / m]`; `codes`: `[rows, m]`.
    pub fn from_parts(
        rows: usize,
        dim: usize,
        m: usize,
        centroids: Vec<f32>,
        codes: Vec<u8>,
    ) -> Result<Self, BundleError> {
        if dim == 0 || dim > MAX_DIM {
            return Err(invalid(format!(
                "pq dim: expected 1..={MAX_DIM}, got {dim}"
            )));
        }
        if m == 0 || !dim.is_multiple_of(m) {
            return Err(invalid(format!(
                "pq m: expected a divisor of dim {dim}, got {m}"
            )));
        }
        if centroids.len() != PQ_CENTROIDS * dim {
            return Err(invalid(format!(
                "pq centroids: expected {m} × {PQ_CENTROIDS} × {} = {}, got {}",
                dim / m,
                PQ_CENTROIDS * dim,
                centroids.len()
            )));
        }
        if Some(codes.len()) != rows.checked_mul(m) {
            return Err(invalid(format!(
                "pq codes: expected {rows} × {m}, got {}",
                codes.len()
            )));
        }
        check_finite("pq centroids", &centroids)?;
        Ok(Self {
            rows,
            dim,
            m,
            centroids,
            codes,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Sub-spaces (code bytes per row).
    pub fn m(&self) -> usize {
        self.m
    }

    /// Width of one sub-space.
    pub fn dsub(&self) -> usize {
        self.dim / self.m
    }

    /// Codebooks.
    ///
    /// # Shapes
    /// `[m, 256, dsub]`.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    /// Codes, row-major.
    ///
    /// # Shapes
    /// `[rows, m]`.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }
}

impl ItemTable {
    pub fn rows(&self) -> usize {
        match self {
            Self::Int8(t) => t.rows,
            Self::Pq(t) => t.rows,
        }
    }

    pub fn dim(&self) -> usize {
        match self {
            Self::Int8(t) => t.dim,
            Self::Pq(t) => t.dim,
        }
    }

    /// `int8` or `pq-m{m}`, for reports.
    pub fn label(&self) -> String {
        match self {
            Self::Int8(_) => "int8".into(),
            Self::Pq(t) => format!("pq-m{}", t.m),
        }
    }

    /// Bytes the table's buffers hold in memory.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Self::Int8(t) => t.scales.len() * 4 + t.codes.len(),
            Self::Pq(t) => t.centroids.len() * 4 + t.codes.len(),
        }
    }

    /// One row decompressed to f32 (`None` past the end).
    ///
    /// # Shapes
    /// `[dim]`.
    pub fn row(&self, index: ItemIndex) -> Option<Vec<f32>> {
        let r = index.0 as usize;
        match self {
            Self::Int8(t) => t.row(r),
            Self::Pq(t) => {
                let codes = t.codes.get(r * t.m..(r + 1) * t.m)?;
                let dsub = t.dsub();
                let mut out = Vec::with_capacity(t.dim);
                for (s, &c) in codes.iter().enumerate() {
                    let start = (s * PQ_CENTROIDS + usize::from(c)) * dsub;
                    out.extend_from_slice(t.centroids.get(start..start + dsub)?);
                }
                Some(out)
            }
        }
    }

    /// The whole table decompressed; for tests and measurements, never per query.
    ///
    /// # Shapes
    /// `[rows, dim]`.
    pub fn dequantize(&self) -> Vec<f32> {
        (0..self.rows())
            .filter_map(|r| self.row(ItemIndex(r as u32)))
            .flatten()
            .collect()
    }
}

fn invalid(reason: String) -> BundleError {
    BundleError::InvalidTable { reason }
}

/// Checks a float table's length and values; returns its row count.
fn check_float_table(table: &[f32], dim: usize) -> Result<usize, BundleError> {
    if dim == 0 || !table.len().is_multiple_of(dim) {
        return Err(invalid(format!(
            "float table: expected a multiple of dim {dim} (> 0) values, got {}",
            table.len()
        )));
    }
    check_finite("float item table", table)?;
    Ok(table.len() / dim)
}

/// Up to `max` distinct row indices, sampled with `rng` (all rows, in order, when they fit).
fn sample_rows(rows: usize, max: usize, rng: &mut StdRng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..rows).collect();
    if rows <= max {
        return all;
    }
    // Partial Fisher–Yates: the first `max` slots become a uniform sample.
    for i in 0..max {
        let j = rng.random_range(i..rows);
        all.swap(i, j);
    }
    all.truncate(max);
    all.sort_unstable();
    all
}

/// Lloyd's k-means with 256 centroids, initialised from distinct sampled points.
///
/// # Shapes
/// `points`: `[n, dsub]`; returns `[256, dsub]`.
fn kmeans(points: &[f32], dsub: usize, iterations: usize, rng: &mut StdRng) -> Vec<f32> {
    let n = points.len() / dsub;
    let mut centroids = Vec::with_capacity(PQ_CENTROIDS * dsub);
    let init = sample_rows(n, PQ_CENTROIDS, rng);
    for c in 0..PQ_CENTROIDS {
        // With fewer than 256 points the codebook repeats them; codes stay exact.
        let p = init[c % init.len()];
        centroids.extend_from_slice(&points[p * dsub..(p + 1) * dsub]);
    }
    if n <= PQ_CENTROIDS {
        return centroids;
    }
    let mut assign = vec![0usize; n];
    let mut sums = vec![0.0f64; PQ_CENTROIDS * dsub];
    let mut counts = vec![0usize; PQ_CENTROIDS];
    for _ in 0..iterations {
        let mut changed = false;
        for (a, p) in assign.iter_mut().zip(points.chunks_exact(dsub)) {
            let c = nearest(&centroids, dsub, p);
            changed |= *a != c;
            *a = c;
        }
        sums.fill(0.0);
        counts.fill(0);
        for (&a, p) in assign.iter().zip(points.chunks_exact(dsub)) {
            counts[a] += 1;
            for (s, &x) in sums[a * dsub..(a + 1) * dsub].iter_mut().zip(p) {
                *s += f64::from(x);
            }
        }
        for c in 0..PQ_CENTROIDS {
            let centroid = &mut centroids[c * dsub..(c + 1) * dsub];
            if counts[c] == 0 {
                // Re-seed an empty cluster on a random point.
                let p = rng.random_range(0..n);
                centroid.copy_from_slice(&points[p * dsub..(p + 1) * dsub]);
                changed = true;
            } else {
                let inv = 1.0 / counts[c] as f64;
                for (x, &s) in centroid.iter_mut().zip(&sums[c * dsub..(c + 1) * dsub]) {
                    *x = (s * inv) as f32;
                }
            }
        }
        if !changed {
            break;
        }
    }
    centroids
}

/// Index of the centroid in `book` (`[k, dsub]`) nearest to `x` in squared L2; ties → lower.
fn nearest(book: &[f32], dsub: usize, x: &[f32]) -> usize {
    let mut best = 0;
    let mut best_d = f32::INFINITY;
    for (c, centroid) in book.chunks_exact(dsub).enumerate() {
        let d: f32 = centroid.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best_d {
            best_d = d;
            best = c;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_table(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..rows * dim)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect()
    }

    #[test]
    fn int8_round_trip_error_is_within_half_a_step() {
        let dim = 24;
        let table = random_table(50, dim, 1);
        let q = Int8Table::quantize(&table, dim).unwrap();
        let back = ItemTable::Int8(q.clone()).dequantize();
        for (r, (row, back)) in table.chunks(dim).zip(back.chunks(dim)).enumerate() {
            let step = q.scales()[r];
            for (a, b) in row.iter().zip(back) {
                assert!((a - b).abs() <= step * 0.5 + 1e-6, "row {r}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn int8_zero_row_has_zero_scale() {
        let q = Int8Table::quantize(&[0.0; 8], 4).unwrap();
        assert_eq!(q.scales(), &[0.0, 0.0]);
        assert!(q.codes().iter().all(|&c| c == 0));
    }

    #[test]
    fn pq_with_few_rows_is_exact() {
        // Fewer rows than centroids: every sub-vector is its own centroid.
        let dim = 8;
        let table = random_table(40, dim, 2);
        let pq = PqTable::train(
            &table,
            dim,
            &PqConfig {
                m: 4,
                ..PqConfig::default()
            },
        )
        .unwrap();
        assert_eq!(ItemTable::Pq(pq).dequantize(), table);
    }

    #[test]
    fn pq_is_deterministic_and_reduces_error() {
        let dim = 8;
        let table = random_table(1000, dim, 3);
        let config = PqConfig {
            m: 4,
            iterations: 10,
            ..PqConfig::default()
        };
        let a = PqTable::train(&table, dim, &config).unwrap();
        let b = PqTable::train(&table, dim, &config).unwrap();
        assert_eq!(a, b);
        let back = ItemTable::Pq(a).dequantize();
        let mse: f32 = table
            .iter()
            .zip(&back)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            / table.len() as f32;
        // Uniform(-1,1) has variance 1/3; 256 centroids in 2-D should cut it well below 1/100.
        assert!(mse < 0.01, "mse {mse}");
    }

    #[test]
    fn pq_rejects_m_not_dividing_dim() {
        let err = PqTable::train(
            &random_table(10, 6, 4),
            6,
            &PqConfig {
                m: 4,
                ..PqConfig::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("got 4"), "{err}");
    }
}
