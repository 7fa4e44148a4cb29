//! Ranking metrics of `thumbs-v1` (`../shared/EVALUATION.md`, step 5): `recall@k`, `ndcg@k` with
//! thumbs as gain, `coverage@k`, plus the deterministic top-k selection every evaluation uses.

use std::collections::HashSet;

use crate::engine::{ItemIndex, Thumbs};

/// The `k` best items by score, best first, skipping `exclude`; ties go to the lower index.
///
/// NaN scores rank last and −0.0 ties with +0.0, so the order is total and reproducible.
pub fn top_k(scores: &[f32], k: usize, exclude: &[ItemIndex]) -> Vec<ItemIndex> {
    if k == 0 {
        return Vec::new();
    }
    let mut excluded = vec![false; scores.len()];
    for item in exclude {
        if let Some(flag) = excluded.get_mut(item.0 as usize) {
            *flag = true;
        }
    }
    let key = |i: u32| {
        let s = scores[i as usize];
        if s.is_nan() {
            f32::NEG_INFINITY
        } else {
            s + 0.0
        }
    };
    let order = |a: &u32, b: &u32| key(*b).total_cmp(&key(*a)).then(a.cmp(b));
    let mut candidates: Vec<u32> = (0..scores.len() as u32)
        .filter(|&i| !excluded[i as usize])
        .collect();
    if k < candidates.len() {
        candidates.select_nth_unstable_by(k - 1, order);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(order);
    candidates.into_iter().map(ItemIndex).collect()
}

/// Hits among the first `k` ranked items over `min(k, #relevant)`; 0 when nothing is relevant.
pub fn recall_at(k: usize, ranked: &[ItemIndex], relevant: &[(ItemIndex, Thumbs)]) -> f64 {
    let denominator = k.min(relevant.len());
    if denominator == 0 {
        return 0.0;
    }
    let relevant: HashSet<ItemIndex> = relevant.iter().map(|(item, _)| *item).collect();
    let hits = ranked
        .iter()
        .take(k)
        .filter(|item| relevant.contains(item))
        .count();
    hits as f64 / denominator as f64
}

/// DCG of the first `k` ranked items (gain = thumbs, 1 or 2; discount `log2(rank + 1)`) over the
/// ideal DCG of the relevant items sorted by gain; 0 when nothing is relevant.
pub fn ndcg_at(k: usize, ranked: &[ItemIndex], relevant: &[(ItemIndex, Thumbs)]) -> f64 {
    let discount = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let mut gains: Vec<f64> = relevant
        .iter()
        .map(|(_, t)| f64::from(t.value().max(0)))
        .collect();
    gains.sort_by(|a, b| b.total_cmp(a));
    let ideal: f64 = gains
        .iter()
        .take(k)
        .enumerate()
        .map(|(rank, g)| g * discount(rank))
        .sum();
    if ideal == 0.0 {
        return 0.0;
    }
    let gain_of: std::collections::HashMap<ItemIndex, f64> = relevant
        .iter()
        .map(|(item, t)| (*item, f64::from(t.value().max(0))))
        .collect();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(rank, item)| gain_of.get(item).copied().unwrap_or(0.0) * discount(rank))
        .sum();
    dcg / ideal
}

/// |union of the first `k` items of every list| over the catalog size; 0 for an empty catalog.
pub fn coverage_at(k: usize, lists: &[Vec<ItemIndex>], catalog_len: usize) -> f64 {
    if catalog_len == 0 {
        return 0.0;
    }
    let union: HashSet<ItemIndex> = lists
        .iter()
        .flat_map(|list| list.iter().take(k).copied())
        .collect();
    union.len() as f64 / catalog_len as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(ids: &[u32]) -> Vec<ItemIndex> {
        ids.iter().copied().map(ItemIndex).collect()
    }

    fn close(got: f64, expected: f64) {
        assert!(
            (got - expected).abs() < 1e-9,
            "got {got}, expected {expected}"
        );
    }

    /// Relevant: item 1 (+1), item 2 (+2), item 5 (+1), never ranked.
    fn relevant() -> Vec<(ItemIndex, Thumbs)> {
        vec![
            (ItemIndex(1), Thumbs::Up),
            (ItemIndex(2), Thumbs::DoubleUp),
            (ItemIndex(5), Thumbs::Up),
        ]
    }

    #[test]
    fn top_k_sorts_by_score_with_lower_index_on_ties() {
        let scores = [0.5, 0.9, 0.9, f32::NAN, 0.1, 0.7];
        assert_eq!(top_k(&scores, 3, &[]), items(&[1, 2, 5]));
        assert_eq!(top_k(&scores, 3, &[ItemIndex(2)]), items(&[1, 5, 0]));
        // NaN ranks last; k past the candidates returns them all.
        assert_eq!(top_k(&scores, 10, &[ItemIndex(0)]), items(&[1, 2, 5, 4, 3]));
        assert_eq!(
            top_k(&[1.0, 1.0, -0.0, 0.0, 1.0], 5, &[]),
            items(&[0, 1, 4, 2, 3])
        );
        assert!(top_k(&scores, 0, &[]).is_empty());
    }

    #[test]
    fn top_k_matches_a_full_sort_on_many_ties() {
        let scores: Vec<f32> = (0..200).map(|i| ((i * 7) % 5) as f32).collect();
        let mut full: Vec<u32> = (0..200).collect();
        full.sort_by(|a, b| {
            scores[*b as usize]
                .total_cmp(&scores[*a as usize])
                .then(a.cmp(b))
        });
        assert_eq!(top_k(&scores, 17, &[]), items(&full[..17]));
    }

    #[test]
    fn recall_divides_by_min_of_k_and_relevant() {
        let ranked = items(&[3, 1, 4, 0, 2]);
        // k = 3: top 3 = {3, 1, 4}, one hit (1); min(3, 3) = 3 → 1/3.
        close(recall_at(3, &ranked, &relevant()), 1.0 / 3.0);
        // k = 5: hits 1 and 2; min(5, 3) = 3 → 2/3.
        close(recall_at(5, &ranked, &relevant()), 2.0 / 3.0);
        // k = 2: top 2 = {3, 1}, one hit; min(2, 3) = 2 → 1/2.
        close(recall_at(2, &ranked, &relevant()), 0.5);
        close(recall_at(5, &ranked, &[]), 0.0);
    }

    #[test]
    fn ndcg_uses_thumbs_as_gain() {
        let ranked = items(&[3, 1, 4, 0, 2]);
        // Ideal (gains 2, 1, 1): 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.6309298 + 0.5 = 3.1309298.
        // k = 3: item 1 (+1) at rank 2 → DCG = 1/log2(3) = 0.6309298; 0.6309298 / 3.1309298 = 0.2015151.
        close(ndcg_at(3, &ranked, &relevant()), 0.201_515_141_900_502_46);
        // k = 5: adds item 2 (+2) at rank 5 → 0.6309298 + 2/log2(6) = 1.4046354; / 3.1309298 = 0.4486320.
        close(ndcg_at(5, &ranked, &relevant()), 0.448_632_029_012_554_67);
        // The ideal ranking scores 1.
        close(ndcg_at(3, &items(&[2, 1, 5]), &relevant()), 1.0);
        // k = 1 with the +1 item first: DCG = 1, ideal = 2 (the +2 item) → 0.5.
        close(ndcg_at(1, &items(&[1, 2]), &relevant()), 0.5);
        close(ndcg_at(3, &ranked, &[]), 0.0);
    }

    #[test]
    fn coverage_counts_distinct_items_in_the_first_k() {
        let lists = vec![items(&[0, 1, 2]), items(&[1, 2, 3])];
        // k = 2: {0, 1} ∪ {1, 2} = 3 items of 10 → 0.3.
        close(coverage_at(2, &lists, 10), 0.3);
        // k = 3: {0, 1, 2, 3} → 0.4.
        close(coverage_at(3, &lists, 10), 0.4);
        close(coverage_at(3, &lists, 0), 0.0);
    }
}
