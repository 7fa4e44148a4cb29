//! A visitor's tastes: the liked movies split into groups that lie apart in the item space
//! (three horror films and three animated ones are two tastes), so that each gets a vector of
//! its own and a share of the list ([`Ranker`](crate::engine::ranker::Ranker)). One pooled
//! vector of such a visitor sits between the groups, on films that are neither.
//!
//! A group splits in two (2-means over the liked movies' unit vectors) while both halves hold
//! at least `taste_min_likes` likes and their centroids' cosine is below `taste_split_cosine`,
//! up to `max_tastes` groups. Everything runs in catalog-row order with ties to the lower row,
//! so the tastes are a function of the set of thumbs.

use crate::engine::personalize::ItemVectors;
use crate::engine::score::RankingConfig;
use crate::engine::{ItemIndex, Thumbs};

/// Rounds of 2-means; six movies settle in two or three.
const ROUNDS: usize = 10;

/// The visitor's tastes: each holds its liked movies and every thumbs-down, sorted by row. One
/// taste (all of `rated`) unless the config allows more and the likes fall apart.
pub fn tastes(
    items: &ItemVectors,
    rated: &[(ItemIndex, Thumbs)],
    config: &RankingConfig,
) -> Vec<Vec<(ItemIndex, Thumbs)>> {
    let mut sorted: Vec<(ItemIndex, Thumbs)> = rated.to_vec();
    sorted.sort_unstable_by_key(|(i, _)| *i);
    let (likes, downs): (Vec<_>, Vec<_>) = sorted.into_iter().partition(|(_, t)| t.is_positive());
    let mut groups = vec![likes];
    while groups.len() < config.max_tastes.clamp(1, usize::from(u8::MAX)) {
        // The largest group that splits, first of equals.
        let split = groups
            .iter()
            .enumerate()
            .filter_map(|(g, likes)| Some((g, split(items, likes, config)?)))
            .max_by(|a, b| {
                groups[a.0]
                    .len()
                    .cmp(&groups[b.0].len())
                    .then(b.0.cmp(&a.0))
            });
        let Some((g, (a, b))) = split else {
            break;
        };
        groups[g] = a;
        groups.insert(g + 1, b);
    }
    groups.sort_by_key(|likes| likes.first().map(|(i, _)| *i));
    groups
        .into_iter()
        .map(|mut taste| {
            taste.extend_from_slice(&downs);
            taste.sort_unstable_by_key(|(i, _)| *i);
            taste
        })
        .collect()
}

/// `likes` in two groups far enough apart to be two tastes, each sorted by row; `None` when
/// they are one.
fn split(
    items: &ItemVectors,
    likes: &[(ItemIndex, Thumbs)],
    config: &RankingConfig,
) -> Option<(Vec<(ItemIndex, Thumbs)>, Vec<(ItemIndex, Thumbs)>)> {
    let min = config.taste_min_likes.max(1);
    if likes.len() < 2 * min {
        return None;
    }
    let rows: Vec<&[f32]> = likes.iter().map(|(i, _)| items.row(i.0 as usize)).collect();
    let all: Vec<usize> = (0..rows.len()).collect();
    // Seeds: the like farthest from the group's centre, then the like farthest from it.
    let centre = centroid(&rows, &all);
    let first = farthest(&rows, &centre);
    let second = farthest(&rows, rows[first]);
    let mut centres = [rows[first].to_vec(), rows[second].to_vec()];
    let mut side = vec![false; rows.len()];
    for _ in 0..ROUNDS {
        let next: Vec<bool> = rows
            .iter()
            .map(|r| dot(r, &centres[1]) > dot(r, &centres[0]))
            .collect();
        let settled = next == side;
        side = next;
        let (a, b): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&i| !side[i]);
        if a.is_empty() || b.is_empty() {
            return None;
        }
        centres = [centroid(&rows, &a), centroid(&rows, &b)];
        if settled {
            break;
        }
    }
    let (a, b): (Vec<_>, Vec<_>) = likes.iter().zip(&side).partition(|(_, s)| !**s);
    let apart = f64::from(dot(&centres[0], &centres[1])) < config.taste_split_cosine;
    (apart && a.len() >= min && b.len() >= min).then(|| {
        let unzip =
            |g: Vec<(&(ItemIndex, Thumbs), &bool)>| g.into_iter().map(|(l, _)| *l).collect();
        (unzip(a), unzip(b))
    })
}

/// The unit mean of `rows[members]`.
fn centroid(rows: &[&[f32]], members: &[usize]) -> Vec<f32> {
    let mut c = vec![0f32; rows[0].len()];
    for &m in members {
        c.iter_mut().zip(rows[m]).for_each(|(c, v)| *c += v);
    }
    let norm = dot(&c, &c).sqrt();
    if norm > 0.0 {
        c.iter_mut().for_each(|x| *x /= norm);
    }
    c
}

/// The row least like `to`, first of equals.
fn farthest(rows: &[&[f32]], to: &[f32]) -> usize {
    (0..rows.len())
        .min_by(|&a, &b| {
            dot(rows[a], to)
                .total_cmp(&dot(rows[b], to))
                .then(a.cmp(&b))
        })
        .expect("a group to split has likes")
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four movies along x, four along y, one disliked in between.
    fn items() -> ItemVectors {
        let mut vectors = Vec::new();
        for i in 0..4 {
            vectors.extend([1.0, 0.05 * i as f32]);
        }
        for i in 0..4 {
            vectors.extend([0.05 * i as f32, 1.0]);
        }
        vectors.extend([0.7, 0.7]);
        let mut items = ItemVectors {
            vectors,
            bias: vec![0.0; 9],
            dim: 2,
        };
        for r in items.vectors.chunks_mut(2) {
            let n = (r[0] * r[0] + r[1] * r[1]).sqrt();
            r.iter_mut().for_each(|x| *x /= n);
        }
        items
    }

    fn config(max_tastes: usize) -> RankingConfig {
        RankingConfig::new()
            .with_max_tastes(max_tastes)
            .with_taste_split_cosine(0.5)
            .with_taste_min_likes(3)
    }

    fn rated(likes: &[u32], downs: &[u32]) -> Vec<(ItemIndex, Thumbs)> {
        let likes = likes.iter().map(|&i| (ItemIndex(i), Thumbs::Up));
        let downs = downs.iter().map(|&i| (ItemIndex(i), Thumbs::Down));
        likes.chain(downs).collect()
    }

    #[test]
    fn likes_far_apart_become_two_tastes_that_share_the_dislikes() {
        let got = tastes(&items(), &rated(&[6, 0, 5, 1, 4, 2], &[8]), &config(2));
        assert_eq!(got, vec![rated(&[0, 1, 2], &[8]), rated(&[4, 5, 6], &[8])]);
        // Any order of the same thumbs.
        let reversed = tastes(&items(), &rated(&[2, 4, 1, 5, 0, 6], &[8]), &config(2));
        assert_eq!(reversed, got);
    }

    #[test]
    fn one_taste_when_the_config_allows_one_or_the_likes_are_few_or_together() {
        let all = rated(&[0, 1, 2, 4, 5, 6], &[]);
        assert_eq!(tastes(&items(), &all, &config(1)).len(), 1);
        assert_eq!(
            tastes(&items(), &rated(&[0, 1, 4, 5], &[]), &config(2)).len(),
            1
        );
        assert_eq!(
            tastes(&items(), &rated(&[0, 1, 2, 3], &[8]), &config(2)),
            vec![rated(&[0, 1, 2, 3], &[8])]
        );
        assert_eq!(tastes(&items(), &[], &config(2)), vec![Vec::new()]);
    }
}
