//! The taste metric: does a ranking follow a visitor with one clear taste? For each genre with
//! at least [`MIN_GENRE_MOVIES`] catalog movies, a persona likes (+2) the [`PERSONA_LIKES`]
//! movies of that genre the train users rated most, and nothing else; the metric is the share
//! of their top-20 (rated movies left out) that carries the genre.

use serde::{Deserialize, Serialize};

use super::{VisitorScorer, top_k};
use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::Interactions;

/// Genres with fewer catalog movies get no persona.
pub const MIN_GENRE_MOVIES: usize = 50;
/// Movies each persona likes.
pub const PERSONA_LIKES: usize = 5;
/// MovieLens's label for a movie without genres: no taste to follow.
const NO_GENRES: &str = "(no genres listed)";

/// A visitor who likes the most-rated movies of one genre.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    pub genre: String,
    /// Most-rated first, each given +2.
    pub given: Vec<(ItemIndex, Thumbs)>,
}

/// One persona's result for one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonaResult {
    pub genre: String,
    /// Share of the top-k that carries the genre.
    pub share: f64,
}

/// The personas of a catalog: `genres[i]` are item `i`'s genres; popularity is the number of
/// ratings by the users of `train`. Genres in name order.
pub fn personas(genres: &[Vec<String>], train: &Interactions) -> Vec<Persona> {
    let counts = train.rating_counts();
    let mut names: Vec<&String> = genres
        .iter()
        .flatten()
        .filter(|g| *g != NO_GENRES)
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|genre| {
            let mut members: Vec<usize> = (0..genres.len())
                .filter(|&i| genres[i].contains(genre))
                .collect();
            if members.len() < MIN_GENRE_MOVIES {
                return None;
            }
            members.sort_by(|&a, &b| counts[b].total_cmp(&counts[a]).then(a.cmp(&b)));
            Some(Persona {
                genre: genre.clone(),
                given: members[..PERSONA_LIKES]
                    .iter()
                    .map(|&i| (ItemIndex(i as u32), Thumbs::DoubleUp))
                    .collect(),
            })
        })
        .collect()
}

/// Each persona's top-`k_at` from `scorer`, its rated movies left out.
pub fn persona_lists(
    scorer: &(impl VisitorScorer + ?Sized),
    personas: &[Persona],
    k_at: usize,
) -> Vec<Vec<ItemIndex>> {
    personas
        .iter()
        .map(|p| {
            let exclude: Vec<ItemIndex> = p.given.iter().map(|(i, _)| *i).collect();
            top_k(&scorer.score_visitor(&p.given), k_at, &exclude)
        })
        .collect()
}

/// The share of each persona's list that carries the persona's genre.
pub fn persona_shares(
    personas: &[Persona],
    lists: &[Vec<ItemIndex>],
    genres: &[Vec<String>],
    k_at: usize,
) -> Vec<PersonaResult> {
    personas
        .iter()
        .zip(lists)
        .map(|(p, list)| PersonaResult {
            genre: p.genre.clone(),
            share: list
                .iter()
                .filter(|i| genres[i.0 as usize].contains(&p.genre))
                .count() as f64
                / k_at as f64,
        })
        .collect()
}

/// The mean share over personas (0 when there are none).
pub fn mean_share(results: &[PersonaResult]) -> f64 {
    if results.is_empty() {
        0.0
    } else {
        results.iter().map(|r| r.share).sum::<f64>() / results.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 westerns (items 0..60), 60 dramas (60..120), 10 musicals; item i rated by 200 − i users.
    fn world() -> (Vec<Vec<String>>, Interactions) {
        let genres: Vec<Vec<String>> = (0..130)
            .map(|i| {
                vec![
                    match i {
                        0..60 => "Western",
                        60..120 => "Drama",
                        _ => "Musical",
                    }
                    .to_string(),
                ]
            })
            .collect();
        let rows = (0..200u32)
            .map(|u| {
                (0..130u32)
                    .filter(|i| *i < 200 - u)
                    .map(|i| (ItemIndex(i), Thumbs::Up))
                    .collect()
            })
            .collect();
        let train = Interactions {
            num_items: 130,
            user_ids: (0..200).collect(),
            rows,
        };
        (genres, train)
    }

    /// Ranks items by index: western first.
    struct ByIndex;
    impl VisitorScorer for ByIndex {
        fn name(&self) -> String {
            "by-index".into()
        }
        fn score_visitor(&self, _given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
            (0..130).map(|i| -(i as f32)).collect()
        }
    }

    #[test]
    fn personas_like_the_most_rated_movies_of_genres_with_enough_movies() {
        let (genres, train) = world();
        let p = personas(&genres, &train);
        let names: Vec<&str> = p.iter().map(|p| p.genre.as_str()).collect();
        assert_eq!(
            names,
            ["Drama", "Western"],
            "Musical has 10 movies, under 50"
        );
        let given: Vec<u32> = p[0].given.iter().map(|(i, _)| i.0).collect();
        assert_eq!(given, [60, 61, 62, 63, 64]);
        assert!(p[0].given.iter().all(|(_, t)| *t == Thumbs::DoubleUp));
    }

    #[test]
    fn the_share_counts_the_genre_in_the_list_without_the_given_movies() {
        let (genres, train) = world();
        let p = personas(&genres, &train);
        let lists = persona_lists(&ByIndex, &p, 20);
        // The western persona's list starts after its own five: items 5..25, all westerns.
        assert_eq!(lists[1][0], ItemIndex(5));
        let shares = persona_shares(&p, &lists, &genres, 20);
        assert_eq!(shares[0].share, 0.0, "drama persona gets westerns");
        assert_eq!(shares[1].share, 1.0);
        assert_eq!(mean_share(&shares), 0.5);
    }
}
