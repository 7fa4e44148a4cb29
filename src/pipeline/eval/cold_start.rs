//! The cold-start protocol: can movies nobody has rated be found? A seeded tenth of the catalog
//! is held out of training entirely (every rating of those movies removed), a model is trained
//! on the rest, and the held-out movies get vectors from content alone (`add_movies`'s rule:
//! the item tower on `[mean id embedding ; content]`, the median bias). Then, for the test
//! visitors given `k` ratings, the whole catalog is ranked and we measure how well each
//! visitor's later liked held-out movies are found (recall and ndcg over those alone), and the
//! overall ndcg. Beside it: a content-only recommender (cosine of the overview embeddings to
//! the mean of the visitor's liked movies') and a random ordering.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::metrics::{ndcg_at, recall_at, top_k};
use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::{Interactions, VisitorCase};

/// Share of the catalog held out.
pub const HELD_OUT_FRACTION: f64 = 0.1;

/// Seed of the held-out draw and of the random ordering.
pub const SEED: u64 = 14;

/// One method's figures on the cold-start protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStartResult {
    pub method: String,
    /// Visitors with at least one later liked held-out movie (the held-out metrics' mean).
    pub visitors_with_held_out: usize,
    pub held_out_recall: f64,
    pub held_out_ndcg: f64,
    /// Over every visitor and every later liked movie, held-out movies in the catalog.
    pub overall_ndcg: f64,
    pub visitors: usize,
}

/// The protocol's setting and every method's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStartReport {
    pub held_out_movies: usize,
    pub catalog_len: usize,
    pub seed: u64,
    /// Ratings given per visitor.
    pub given: usize,
    pub k_at: usize,
    pub results: Vec<ColdStartResult>,
}

/// The seeded held-out catalog rows.
pub fn held_out_rows(catalog_len: usize) -> HashSet<usize> {
    let mut rows: Vec<usize> = (0..catalog_len).collect();
    rows.shuffle(&mut StdRng::seed_from_u64(SEED));
    let count = (HELD_OUT_FRACTION * catalog_len as f64).round() as usize;
    rows.into_iter().take(count).collect()
}

/// `train` without any rating of the `held` rows.
pub fn without_items(train: &Interactions, held: &HashSet<usize>) -> Interactions {
    Interactions {
        num_items: train.num_items,
        user_ids: train.user_ids.clone(),
        rows: train
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .copied()
                    .filter(|(i, _)| !held.contains(&(i.0 as usize)))
                    .collect()
            })
            .collect(),
    }
}

/// Scores of the content-only recommender: each movie's overview embedding (`text`, unit rows
/// of `dim`) dotted with the mean embedding of the visitor's liked movies.
pub fn content_only_scores(text: &[f32], dim: usize, given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
    let mut profile = vec![0f32; dim];
    for (i, _) in given.iter().filter(|(_, t)| t.is_positive()) {
        let row = &text[i.0 as usize * dim..(i.0 as usize + 1) * dim];
        profile.iter_mut().zip(row).for_each(|(p, v)| *p += v);
    }
    text.chunks_exact(dim)
        .map(|row| row.iter().zip(&profile).map(|(a, b)| a * b).sum())
        .collect()
}

/// Seeded uniform scores: the random ordering.
pub fn random_scores(catalog_len: usize, visitor: u32) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(SEED ^ u64::from(visitor) << 20);
    (0..catalog_len).map(|_| rng.random::<f32>()).collect()
}

/// One method on the cold-start protocol: `score` ranks the whole catalog for a visitor's
/// given ratings.
pub fn evaluate_cold_start(
    method: &str,
    score: impl Fn(u32, &[(ItemIndex, Thumbs)]) -> Vec<f32>,
    cases: &[VisitorCase],
    held: &HashSet<usize>,
    k_at: usize,
) -> ColdStartResult {
    let (mut recall, mut ndcg, mut with_held, mut overall) = (0.0, 0.0, 0usize, 0.0);
    for case in cases {
        let exclude: Vec<ItemIndex> = case.given.iter().map(|(i, _)| *i).collect();
        let ranked = top_k(&score(case.user_id, &case.given), k_at, &exclude);
        overall += ndcg_at(k_at, &ranked, &case.relevant);
        let relevant: Vec<(ItemIndex, Thumbs)> = case
            .relevant
            .iter()
            .copied()
            .filter(|(i, _)| held.contains(&(i.0 as usize)))
            .collect();
        if !relevant.is_empty() {
            with_held += 1;
            recall += recall_at(k_at, &ranked, &relevant);
            ndcg += ndcg_at(k_at, &ranked, &relevant);
        }
    }
    let mean = |total: f64, n: usize| if n == 0 { 0.0 } else { total / n as f64 };
    ColdStartResult {
        method: method.into(),
        visitors_with_held_out: with_held,
        held_out_recall: mean(recall, with_held),
        held_out_ndcg: mean(ndcg, with_held),
        overall_ndcg: mean(overall, cases.len()),
        visitors: cases.len(),
    }
}

impl ColdStartReport {
    pub fn to_markdown(&self) -> String {
        let k = self.k_at;
        let mut out = format!(
            "\n## Cold start: movies nobody rated\n\n\
             {} of {} movies (seed {}) held out of training entirely; their vectors come from \
             content alone. Test visitors given {} ratings; the whole catalog is ranked.\n\n\
             | method | held-out recall@{k} | held-out ndcg@{k} | visitors with a held-out like | overall ndcg@{k} |\n\
             |---|---|---|---|---|\n",
            self.held_out_movies, self.catalog_len, self.seed, self.given
        );
        for r in &self.results {
            out.push_str(&format!(
                "| {} | {:.4} | {:.4} | {} of {} | {:.4} |\n",
                r.method,
                r.held_out_recall,
                r.held_out_ndcg,
                r.visitors_with_held_out,
                r.visitors,
                r.overall_ndcg
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenth_is_held_out_and_their_ratings_removed() {
        let held = held_out_rows(100);
        assert_eq!(held.len(), 10);
        assert_eq!(held, held_out_rows(100), "seeded");
        let first = *held.iter().next().unwrap();
        let train = Interactions {
            num_items: 100,
            user_ids: vec![1],
            rows: vec![vec![
                (ItemIndex(first as u32), Thumbs::Up),
                (ItemIndex(((first + 1) % 100) as u32), Thumbs::Up),
            ]],
        };
        let kept = without_items(&train, &held);
        assert!(
            kept.rows[0]
                .iter()
                .all(|(i, _)| !held.contains(&(i.0 as usize)))
        );
    }

    #[test]
    fn content_only_scores_follow_the_liked_overviews() {
        // Three movies on three axes; the visitor liked movie 0 and disliked movie 1.
        let text = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.9, 0.1, 0.0];
        let scores = content_only_scores(
            &text,
            3,
            &[(ItemIndex(0), Thumbs::Up), (ItemIndex(1), Thumbs::Down)],
        );
        assert!(scores[2] > scores[1], "{scores:?}");
    }
}
