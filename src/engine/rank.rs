//! Top-k retrieval over the compressed item table, scored directly on the compressed data: int8
//! rows against the query quantised once to i16, in an exact i32 dot product written as a plain
//! integer reduction so LLVM may vectorise it (x86-64: `pmaddwd`; wasm simd128 has the same
//! widening multiply-add); PQ rows by per-query lookup tables.
//! Scores stream through a small stack buffer into a bounded min-heap of `k`, so a query
//! allocates O(dim + k), never O(rows).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::engine::ItemIndex;
use crate::engine::bundle::table::{Int8Table, ItemTable, MAX_DIM, PQ_CENTROIDS, PqTable};

/// Rows scored per block before their scores go through the heap.
const BLOCK: usize = 256;

/// What can go wrong ranking.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RankError {
    #[error("query must have the table's dim: expected {expected} values, got {got}")]
    QueryDim { expected: usize, got: usize },
    #[error("query holds a non-finite value at index {index}: expected finite floats, got {value}")]
    NonFiniteQuery { index: usize, value: f32 },
    #[error("k must be at least 1: got 0")]
    ZeroK,
    #[error("score buffer must have one slot per row: expected {expected}, got {got}")]
    OutputLen { expected: usize, got: usize },
    #[error("ids must have one entry per table row: expected {expected}, got {got}")]
    IdsLen { expected: usize, got: usize },
    #[error("ids must be distinct: got {id:?} more than once")]
    DuplicateId { id: ItemIndex },
    #[error("float table must be rows × dim: expected {expected} values, got {got}")]
    TableLen { expected: usize, got: usize },
    #[error("queries must be a non-empty multiple of dim {dim}: got {got} values")]
    QueriesLen { dim: usize, got: usize },
    #[error("one visitor vector per taste of the thumbs: expected {expected}, got {got}")]
    Tastes { expected: usize, got: usize },
}

/// Brute-force top-k over a compressed table (TFRS `TopK`: `index`, then `query`).
#[derive(Debug, Clone)]
pub struct TopK {
    table: ItemTable,
    /// `ids[row]`; `None` means row `r` is `ItemIndex(r)`.
    ids: Option<Vec<ItemIndex>>,
}

impl TopK {
    /// Indexes `table` whose row `r` is identified by `ids[r]` (distinct).
    pub fn index(table: ItemTable, ids: Vec<ItemIndex>) -> Result<Self, RankError> {
        if ids.len() != table.rows() {
            return Err(RankError::IdsLen {
                expected: table.rows(),
                got: ids.len(),
            });
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(RankError::DuplicateId { id: pair[0] });
        }
        Ok(Self {
            table,
            ids: Some(ids),
        })
    }

    /// Indexes `table` with row `r` as `ItemIndex(r)`, the bundle's convention.
    pub fn by_row(table: ItemTable) -> Self {
        Self { table, ids: None }
    }

    pub fn table(&self) -> &ItemTable {
        &self.table
    }

    pub fn into_table(self) -> ItemTable {
        self.table
    }

    /// The `k` best `(id, score)` by descending score, ties to the lower id; fewer if the table is
    /// smaller.
    ///
    /// # Shapes
    /// `q`: `[dim]`.
    pub fn query(&self, q: &[f32], k: usize) -> Result<Vec<(ItemIndex, f32)>, RankError> {
        self.query_with_exclusions(q, k, &[])
    }

    /// Like `query`, skipping the ids in `exclude` (ids not in the index are ignored).
    ///
    /// # Shapes
    /// `q`: `[dim]`.
    pub fn query_with_exclusions(
        &self,
        q: &[f32],
        k: usize,
        exclude: &[ItemIndex],
    ) -> Result<Vec<(ItemIndex, f32)>, RankError> {
        let scorer = Scorer::new(&self.table, q)?;
        select(&scorer, self.ids.as_deref(), k, exclude)
    }

    /// Like `query_with_exclusions` over `scores`, every row's score computed elsewhere (the
    /// ranker's sum of terms, or the device's product, `device_rank`).
    ///
    /// # Shapes
    /// `scores`: `[rows]`.
    pub fn select_scored(
        &self,
        scores: &[f32],
        k: usize,
        exclude: &[ItemIndex],
    ) -> Result<Vec<(ItemIndex, f32)>, RankError> {
        let rows = self.table.rows();
        if scores.len() != rows {
            return Err(RankError::OutputLen {
                expected: rows,
                got: scores.len(),
            });
        }
        select(&Scorer::Given { scores }, self.ids.as_deref(), k, exclude)
    }

    /// Every row's score, in row order.
    ///
    /// # Shapes
    /// `q`: `[dim]`; `out`: `[rows]`.
    pub fn scores_into(&self, q: &[f32], out: &mut [f32]) -> Result<(), RankError> {
        scores_into(&self.table, q, out)
    }
}

/// Top-k over `table` with row `r` as `ItemIndex(r)`; see `TopK::query_with_exclusions`.
///
/// # Shapes
/// `q`: `[dim]`.
pub fn top_k(
    table: &ItemTable,
    q: &[f32],
    k: usize,
    exclude: &[ItemIndex],
) -> Result<Vec<(ItemIndex, f32)>, RankError> {
    select(&Scorer::new(table, q)?, None, k, exclude)
}

/// Every row's score on the compressed data, in row order.
///
/// # Shapes
/// `q`: `[dim]`; `out`: `[rows]`.
pub fn scores_into(table: &ItemTable, q: &[f32], out: &mut [f32]) -> Result<(), RankError> {
    let scorer = Scorer::new(table, q)?;
    if out.len() != scorer.rows() {
        return Err(RankError::OutputLen {
            expected: scorer.rows(),
            got: out.len(),
        });
    }
    for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
        scorer.score_rows(b * BLOCK, chunk);
    }
    Ok(())
}

/// Exact top-k over an uncompressed f32 table, the reference the compressed tables are held to.
///
/// # Shapes
/// `table`: `[rows, dim]`; `q`: `[dim]`.
pub fn top_k_f32(
    table: &[f32],
    dim: usize,
    q: &[f32],
    k: usize,
) -> Result<Vec<(ItemIndex, f32)>, RankError> {
    if dim == 0 || !table.len().is_multiple_of(dim) {
        return Err(RankError::TableLen {
            expected: (table.len() / dim.max(1)) * dim.max(1),
            got: table.len(),
        });
    }
    check_query(q, dim)?;
    select(&Scorer::F32 { table, dim, q }, None, k, &[])
}

/// A query prepared for one table layout.
enum Scorer<'a> {
    Int8 {
        table: &'a Int8Table,
        /// The query in i16 steps of `q_scale`.
        q: Vec<i16>,
        q_scale: f32,
    },
    Pq {
        table: &'a PqTable,
        lut: Vec<f32>,
    },
    F32 {
        table: &'a [f32],
        dim: usize,
        q: &'a [f32],
    },
    /// Scores computed elsewhere, `[rows]`.
    Given {
        scores: &'a [f32],
    },
}

impl<'a> Scorer<'a> {
    /// Checks `q` and builds the per-query state (int8: the i16 query; PQ: a `[m, 256]` table).
    fn new(table: &'a ItemTable, q: &'a [f32]) -> Result<Self, RankError> {
        check_query(q, table.dim())?;
        Ok(match table {
            ItemTable::Int8(table) => {
                let (q, q_scale) = quantize_query(q);
                Self::Int8 { table, q, q_scale }
            }
            ItemTable::Pq(table) => Self::Pq {
                table,
                lut: pq_lut(table, q),
            },
        })
    }

    fn rows(&self) -> usize {
        match self {
            Self::Int8 { table, .. } => table.rows(),
            Self::Pq { table, .. } => table.rows(),
            Self::F32 { table, dim, .. } => table.len() / dim,
            Self::Given { scores } => scores.len(),
        }
    }

    /// Scores rows `start..start + out.len()` into `out`; the caller keeps them in range.
    fn score_rows(&self, start: usize, out: &mut [f32]) {
        let end = start + out.len();
        match self {
            Self::Int8 { table, q, q_scale } => {
                let dim = table.dim();
                let codes = &table.codes()[start * dim..end * dim];
                let scales = &table.scales()[start..end];
                for ((o, row), &scale) in out.iter_mut().zip(codes.chunks_exact(dim)).zip(scales) {
                    // This order never makes NaN: `q_scale` is 0 only when the dot is 0.
                    *o = (scale * dot_i16_i8(q, row) as f32) * q_scale;
                }
            }
            Self::Pq { table, lut } => {
                let m = table.m();
                let (books, _) = lut.as_chunks::<PQ_CENTROIDS>();
                let codes = &table.codes()[start * m..end * m];
                for (o, row) in out.iter_mut().zip(codes.chunks_exact(m)) {
                    *o = row
                        .iter()
                        .zip(books)
                        .map(|(&c, book)| book[usize::from(c)])
                        .sum();
                }
            }
            Self::F32 { table, dim, q } => {
                let rows = &table[start * dim..end * dim];
                for (o, row) in out.iter_mut().zip(rows.chunks_exact(*dim)) {
                    *o = dot_f32(q, row);
                }
            }
            Self::Given { scores } => out.copy_from_slice(&scores[start..end]),
        }
    }
}

/// Quantises a query to i16 with `q ≈ scale * q16`; the step is small enough that no
/// `dim`-long sum of `q16 * code` (|code| ≤ 128) overflows i32.
///
/// # Shapes
/// `q`: `[dim]` with `dim ≤ MAX_DIM`; returns `[dim]`.
fn quantize_query(q: &[f32]) -> (Vec<i16>, f32) {
    let limit = (i32::MAX as usize / (128 * q.len().clamp(1, MAX_DIM))).min(i16::MAX as usize);
    let max = q.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; q.len()], 0.0);
    }
    let inv = limit as f32 / max;
    let q16 = q
        .iter()
        .map(|x| (x * inv).round().clamp(-(limit as f32), limit as f32) as i16)
        .collect();
    (q16, max / limit as f32)
}

/// `q` as the int8 kernel multiplies it (i16 steps of a per-query scale): scores computed
/// elsewhere from the decompressed rows with this query match the kernel's.
///
/// # Shapes
/// `q`: `[dim]`; returns `[dim]`.
pub fn kernel_query(q: &[f32]) -> Vec<f32> {
    let (q16, scale) = quantize_query(q);
    q16.iter().map(|&v| f32::from(v) * scale).collect()
}

/// Exact integer inner product; a plain reduction so the loop vectoriser may reassociate it.
#[inline]
fn dot_i16_i8(q: &[i16], codes: &[i8]) -> i32 {
    q.iter()
        .zip(codes)
        .map(|(&a, &c)| i32::from(a) * i32::from(c))
        .sum()
}

/// Inner product of two f32 vectors (the exact reference).
#[inline]
fn dot_f32(q: &[f32], row: &[f32]) -> f32 {
    q.iter().zip(row).map(|(a, b)| a * b).sum()
}

/// Per-query lookup table: `lut[s][c] = q_s · centroid[s][c]`.
///
/// # Shapes
/// Returns `[m, 256]`.
fn pq_lut(table: &PqTable, q: &[f32]) -> Vec<f32> {
    let dsub = table.dsub();
    let mut lut = Vec::with_capacity(table.m() * PQ_CENTROIDS);
    for (qs, book) in q
        .chunks_exact(dsub)
        .zip(table.centroids().chunks_exact(PQ_CENTROIDS * dsub))
    {
        lut.extend(
            book.chunks_exact(dsub)
                .map(|c| c.iter().zip(qs).map(|(a, b)| a * b).sum::<f32>()),
        );
    }
    lut
}

fn check_query(q: &[f32], dim: usize) -> Result<(), RankError> {
    if q.len() != dim {
        return Err(RankError::QueryDim {
            expected: dim,
            got: q.len(),
        });
    }
    match q.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(RankError::NonFiniteQuery {
            index,
            value: q[index],
        }),
        None => Ok(()),
    }
}

/// A heap entry ordered so that the heap's top is the worst kept candidate.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: f32,
    id: ItemIndex,
}

impl Ord for Candidate {
    /// Greater = worse: lower score, then (on equal score) higher id.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

/// Streams all rows through a bounded heap of `k`; returns best first.
fn select(
    scorer: &Scorer<'_>,
    ids: Option<&[ItemIndex]>,
    k: usize,
    exclude: &[ItemIndex],
) -> Result<Vec<(ItemIndex, f32)>, RankError> {
    if k == 0 {
        return Err(RankError::ZeroK);
    }
    let mut excluded = exclude.to_vec();
    excluded.sort_unstable();
    excluded.dedup();
    let is_excluded = |id: &ItemIndex| excluded.binary_search(id).is_ok();
    let rows = scorer.rows();
    let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k.min(rows));
    // Once the heap is full, the worst kept score: anything strictly below it is skipped with
    // one float compare, which is what almost every row takes.
    let mut threshold = f32::NEG_INFINITY;
    let mut buf = [0.0f32; BLOCK];
    let mut start = 0;
    while start < rows {
        let n = BLOCK.min(rows - start);
        let scores = &mut buf[..n];
        scorer.score_rows(start, scores);
        for (i, &score) in scores.iter().enumerate() {
            // `+ 0.0` folds -0.0 into +0.0 so that equal scores tie on the id.
            let score = score + 0.0;
            if score < threshold {
                continue;
            }
            let row = start + i;
            let id = match ids {
                Some(ids) => ids[row],
                None => ItemIndex(row as u32),
            };
            let cand = Candidate { score, id };
            if heap.len() < k {
                if !is_excluded(&id) {
                    heap.push(cand);
                }
            } else if heap.peek().is_some_and(|worst| cand < *worst)
                && !is_excluded(&id)
                && let Some(mut worst) = heap.peek_mut()
            {
                *worst = cand;
            }
            if heap.len() == k {
                threshold = heap.peek().map_or(f32::NEG_INFINITY, |worst| worst.score);
            }
        }
        start += n;
    }
    Ok(heap
        .into_sorted_vec()
        .into_iter()
        .map(|c| (c.id, c.score))
        .collect())
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::engine::bundle::table::PqConfig;

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn int8(rows: usize, dim: usize, seed: u64) -> ItemTable {
        ItemTable::Int8(Int8Table::quantize(&random(rows * dim, seed), dim).unwrap())
    }

    /// Reference: all scores, full sort by (score desc, id asc), skip excluded, take k.
    fn brute_force(
        table: &ItemTable,
        q: &[f32],
        k: usize,
        exclude: &[ItemIndex],
    ) -> Vec<(ItemIndex, f32)> {
        let mut scores = vec![0.0; table.rows()];
        scores_into(table, q, &mut scores).unwrap();
        let mut all: Vec<(ItemIndex, f32)> = scores
            .iter()
            .enumerate()
            .map(|(r, &s)| (ItemIndex(r as u32), s + 0.0))
            .filter(|(id, _)| !exclude.contains(id))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    #[test]
    fn int8_scores_match_dequantised_dot_products() {
        for dim in [1, 16, 37, 64] {
            let table = int8(100, dim, dim as u64);
            let q = random(dim, 99);
            let mut scores = vec![0.0; 100];
            scores_into(&table, &q, &mut scores).unwrap();
            // The only error is the query's i16 rounding: half a step per component.
            let half_step = 0.5 * q.iter().fold(0.0f32, |m, x| m.max(x.abs())) / 32767.0;
            for (r, row) in table.dequantize().chunks(dim).enumerate() {
                let want: f32 = row.iter().zip(&q).map(|(a, b)| a * b).sum();
                let bound = half_step * row.iter().map(|x| x.abs()).sum::<f32>() + 1e-5;
                assert!(
                    (scores[r] - want).abs() <= bound,
                    "dim {dim} row {r}: {} vs {want} (bound {bound})",
                    scores[r]
                );
            }
        }
    }

    #[test]
    fn query_quantisation_cannot_overflow_at_max_dim() {
        let q = vec![1.0f32; MAX_DIM];
        let (q16, scale) = quantize_query(&q);
        let worst: i64 = q16.iter().map(|&v| i64::from(v) * 128).sum();
        assert!(worst <= i64::from(i32::MAX), "{worst}");
        assert!(scale > 0.0 && q16[0] > 0);
        assert_eq!(quantize_query(&[0.0, 0.0]), (vec![0, 0], 0.0));
    }

    #[test]
    fn pq_scores_match_dequantised_dot_products() {
        let dim = 12;
        let floats = random(600 * dim, 7);
        let config = PqConfig {
            m: 3,
            iterations: 5,
            ..PqConfig::default()
        };
        let table = ItemTable::Pq(PqTable::train(&floats, dim, &config).unwrap());
        let q = random(dim, 8);
        let mut scores = vec![0.0; 600];
        scores_into(&table, &q, &mut scores).unwrap();
        for (r, row) in table.dequantize().chunks(dim).enumerate() {
            let want: f32 = row.iter().zip(&q).map(|(a, b)| a * b).sum();
            assert!(
                (scores[r] - want).abs() < 1e-4,
                "row {r}: {} vs {want}",
                scores[r]
            );
        }
    }

    #[test]
    fn top_k_equals_brute_force_on_random_tables() {
        let mut rng = StdRng::seed_from_u64(11);
        for case in 0..60 {
            let rows = rng.random_range(1..700);
            let dim = rng.random_range(1..40);
            let k = rng.random_range(1..30);
            let table = if case % 3 == 2 && dim % 2 == 0 {
                let config = PqConfig {
                    m: dim / 2,
                    iterations: 3,
                    seed: case,
                    ..PqConfig::default()
                };
                ItemTable::Pq(PqTable::train(&random(rows * dim, case), dim, &config).unwrap())
            } else {
                int8(rows, dim, case)
            };
            let q = random(dim, 1000 + case);
            let exclude: Vec<ItemIndex> = (0..rng.random_range(0..10))
                .map(|_| ItemIndex(rng.random_range(0..rows as u32 + 5)))
                .collect();
            let got = top_k(&table, &q, k, &exclude).unwrap();
            assert_eq!(got, brute_force(&table, &q, k, &exclude), "case {case}");
            assert_eq!(
                got.len(),
                k.min(
                    rows - exclude
                        .iter()
                        .filter(|e| (e.0 as usize) < rows)
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                )
            );
        }
    }

    #[test]
    fn exclusions_are_honoured() {
        let table = int8(50, 8, 3);
        let q = random(8, 4);
        let all = top_k(&table, &q, 50, &[]).unwrap();
        let banned: Vec<ItemIndex> = all.iter().take(5).map(|(id, _)| *id).collect();
        let got = top_k(&table, &q, 10, &banned).unwrap();
        assert_eq!(got, all[5..15].to_vec());
    }

    #[test]
    fn scores_given_whole_are_selected_like_the_kernels_own() {
        let table = int8(300, 8, 5);
        let q = random(8, 6);
        let boost = random(300, 7);
        let mut scores = vec![0.0; 300];
        scores_into(&table, &q, &mut scores).unwrap();
        let mut want: Vec<(ItemIndex, f32)> = scores
            .iter()
            .zip(&boost)
            .enumerate()
            .map(|(r, (s, b))| (ItemIndex(r as u32), s + b + 0.0))
            .filter(|(id, _)| id.0 != 3)
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        want.truncate(12);
        // The ranker's terms (here a random boost) added to the kernel's scores, then selected.
        let boosted: Vec<f32> = scores.iter().zip(&boost).map(|(s, b)| s + b).collect();
        let got = TopK::by_row(table.clone())
            .select_scored(&boosted, 12, &[ItemIndex(3)])
            .unwrap();
        assert_eq!(got, want);
        let err = TopK::by_row(table)
            .select_scored(&boosted[..10], 12, &[])
            .unwrap_err();
        assert_eq!(
            err,
            RankError::OutputLen {
                expected: 300,
                got: 10
            }
        );
    }

    #[test]
    fn ties_break_to_the_lower_index() {
        // Rows 0..6 alternate between two vectors; scores tie in pairs.
        let rows: Vec<f32> = [
            [1.0, 0.0],
            [0.5, 0.0],
            [1.0, 0.0],
            [0.5, 0.0],
            [1.0, 0.0],
            [0.0, 0.0],
        ]
        .concat();
        let table = ItemTable::Int8(Int8Table::quantize(&rows, 2).unwrap());
        let got = top_k(&table, &[1.0, 0.0], 4, &[]).unwrap();
        let ids: Vec<u32> = got.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, [0, 2, 4, 1]);
        // A negative query makes the zero row score -0.0; it must tie with +0.0 rows by index.
        let zeros = ItemTable::Int8(Int8Table::quantize(&[0.0; 6], 2).unwrap());
        let got = top_k(&zeros, &[-1.0, -1.0], 3, &[]).unwrap();
        assert_eq!(
            got.iter().map(|(id, _)| id.0).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }

    #[test]
    fn explicit_ids_are_returned_and_excluded() {
        let table = int8(4, 2, 5);
        let ids = vec![ItemIndex(40), ItemIndex(10), ItemIndex(30), ItemIndex(20)];
        let index = TopK::index(table.clone(), ids.clone()).unwrap();
        let q = random(2, 6);
        let by_row = top_k(&table, &q, 4, &[]).unwrap();
        let got = index
            .query_with_exclusions(&q, 4, &[ids[by_row[0].0.0 as usize]])
            .unwrap();
        let want: Vec<(ItemIndex, f32)> = by_row[1..]
            .iter()
            .map(|(r, s)| (ids[r.0 as usize], *s))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn ties_break_to_the_lower_id_even_when_ids_run_backwards() {
        // Every row scores the same; later rows carry lower ids and must win the ties.
        let table = ItemTable::Int8(Int8Table::quantize(&[0.5; 10], 2).unwrap());
        let ids = (0..5).rev().map(ItemIndex).collect();
        let got = TopK::index(table, ids)
            .unwrap()
            .query(&[1.0, 1.0], 2)
            .unwrap();
        assert_eq!(got.iter().map(|(id, _)| id.0).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn bad_inputs_say_what_was_got() {
        let table = int8(10, 4, 1);
        let index = TopK::by_row(table.clone());
        assert_eq!(
            index.query(&[0.0; 3], 5),
            Err(RankError::QueryDim {
                expected: 4,
                got: 3
            })
        );
        assert_eq!(index.query(&[0.0; 4], 0), Err(RankError::ZeroK));
        assert!(matches!(
            index.query(&[0.0, f32::NAN, 0.0, 0.0], 1),
            Err(RankError::NonFiniteQuery { index: 1, .. })
        ));
        assert_eq!(
            index.scores_into(&[0.0; 4], &mut [0.0; 9]),
            Err(RankError::OutputLen {
                expected: 10,
                got: 9
            })
        );
        assert_eq!(
            TopK::index(table.clone(), vec![ItemIndex(0); 3]).unwrap_err(),
            RankError::IdsLen {
                expected: 10,
                got: 3
            }
        );
        assert_eq!(
            TopK::index(table, vec![ItemIndex(1); 10]).unwrap_err(),
            RankError::DuplicateId { id: ItemIndex(1) }
        );
        let err = RankError::QueryDim {
            expected: 4,
            got: 3,
        }
        .to_string();
        assert!(err.contains("expected 4") && err.contains("got 3"), "{err}");
    }

    #[test]
    fn k_larger_than_the_table_returns_every_row() {
        let table = int8(7, 3, 2);
        assert_eq!(top_k(&table, &random(3, 3), 100, &[]).unwrap().len(), 7);
    }

    #[test]
    fn f32_reference_is_exact() {
        let dim = 5;
        let floats = random(40 * dim, 12);
        let q = random(dim, 13);
        let got = top_k_f32(&floats, dim, &q, 3).unwrap();
        let mut want: Vec<(usize, f32)> = floats
            .chunks(dim)
            .map(|r| r.iter().zip(&q).map(|(a, b)| a * b).sum())
            .enumerate()
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1));
        let got_ids: Vec<usize> = got.iter().map(|(id, _)| id.0 as usize).collect();
        assert_eq!(got_ids, want[..3].iter().map(|w| w.0).collect::<Vec<_>>());
    }
}
