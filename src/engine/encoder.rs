//! The input of the user tower that reads a visitor's thumbs: their rated movies' vectors,
//! pooled. `[liked ; disliked ; ln(1 + likes) ; ln(1 + dislikes)]`, where `liked` is the mean of
//! the liked movies' unit vectors weighted by thumbs (+1, +2) and `disliked` the mean of the
//! disliked ones' (zeros when there are none). Sums run in catalog-row order, so the input is a
//! function of the set of thumbs, whatever order they came in.

use crate::engine::personalize::ItemVectors;
use crate::engine::{ItemIndex, Thumbs};

/// The pooled input's width for item vectors of width `dim`.
pub const fn thumbs_input_dim(dim: usize) -> usize {
    2 * dim + 2
}

/// The pooled input of `rated` (rows of `items`; rows outside it are ignored).
///
/// # Shapes
/// The result: `[thumbs_input_dim(items.dim)]`.
pub fn thumbs_input(items: &ItemVectors, rated: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
    let dim = items.dim;
    let mut sorted: Vec<(ItemIndex, Thumbs)> = rated
        .iter()
        .copied()
        .filter(|(i, _)| (i.0 as usize) < items.len())
        .collect();
    sorted.sort_unstable_by_key(|(i, _)| *i);
    let mut input = vec![0f32; thumbs_input_dim(dim)];
    let (mut liked_weight, mut downs) = (0f32, 0usize);
    let mut likes = 0usize;
    for (item, thumbs) in &sorted {
        let row = items.row(item.0 as usize);
        let (offset, weight) = match thumbs {
            Thumbs::Down => {
                downs += 1;
                (dim, 1.0)
            }
            t => {
                likes += 1;
                liked_weight += f32::from(t.value());
                (0, f32::from(t.value()))
            }
        };
        for (x, v) in input[offset..offset + dim].iter_mut().zip(row) {
            *x += weight * v;
        }
    }
    if liked_weight > 0.0 {
        input[..dim].iter_mut().for_each(|x| *x /= liked_weight);
    }
    if downs > 0 {
        input[dim..2 * dim]
            .iter_mut()
            .for_each(|x| *x /= downs as f32);
    }
    input[2 * dim] = (1.0 + likes as f32).ln();
    input[2 * dim + 1] = (1.0 + downs as f32).ln();
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_pools_likes_by_thumbs_and_dislikes_apart_in_any_order() {
        let items = ItemVectors {
            vectors: vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8],
            bias: vec![0.0; 3],
            dim: 2,
        };
        let rated = [
            (ItemIndex(1), Thumbs::Up),
            (ItemIndex(0), Thumbs::DoubleUp),
            (ItemIndex(2), Thumbs::Down),
        ];
        let x = thumbs_input(&items, &rated);
        let want = [2.0 / 3.0, 1.0 / 3.0, 0.6, 0.8, 3f32.ln(), 2f32.ln()];
        for (got, want) in x.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{x:?}");
        }
        let reversed: Vec<_> = rated.iter().rev().copied().collect();
        assert_eq!(thumbs_input(&items, &reversed), x);
        assert_eq!(thumbs_input(&items, &[]), vec![0.0; 6]);
    }
}
