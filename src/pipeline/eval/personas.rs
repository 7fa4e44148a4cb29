//! The taste metrics: does a ranking follow a visitor with one clear taste, or with two? For
//! each genre with at least [`MIN_GENRE_MOVIES`] catalog movies, a persona likes (+2) the
//! [`PERSONA_LIKES`] movies of that genre the train users rated most, and nothing else; the
//! metric is the share of their top-20 (rated movies left out) that carries the genre. For each
//! unordered pair of those genres, a mixed persona likes (+2) the [`MIXED_LIKES`] most-rated
//! movies of each genre that are not in the other; the pair's figure is the smaller of the two
//! genres' shares of its top-20, and the mixed metric is the mean over pairs.

use serde::{Deserialize, Serialize};

use super::{VisitorScorer, top_k};
use crate::engine::{ItemIndex, Thumbs};
use crate::pipeline::data::split::Interactions;

/// Genres with fewer catalog movies get no persona.
pub const MIN_GENRE_MOVIES: usize = 50;
/// Movies each persona likes.
pub const PERSONA_LIKES: usize = 5;
/// Movies a mixed persona likes of each of its two genres.
pub const MIXED_LIKES: usize = 3;
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

/// A visitor who likes the most-rated movies of two genres, none of them in both.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedPersona {
    /// In name order.
    pub genres: [String; 2],
    /// The first genre's movies, then the second's, each most-rated first, each given +2.
    pub given: Vec<(ItemIndex, Thumbs)>,
}

/// One mixed persona's result for one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixedResult {
    pub genres: [String; 2],
    /// Each genre's share of the top-k.
    pub shares: [f64; 2],
    /// The pair's figure: the smaller share.
    pub figure: f64,
}

/// The persona genres of a catalog (at least [`MIN_GENRE_MOVIES`] movies each), in name order,
/// each with its movies most-rated first (ties: lower index first); `counts` per item.
fn persona_genres<'a>(genres: &'a [Vec<String>], counts: &[f32]) -> Vec<(&'a String, Vec<usize>)> {
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
            Some((genre, members))
        })
        .collect()
}

/// Each movie given +2.
fn loved(movies: impl IntoIterator<Item = usize>) -> Vec<(ItemIndex, Thumbs)> {
    movies
        .into_iter()
        .map(|i| (ItemIndex(i as u32), Thumbs::DoubleUp))
        .collect()
}

/// The personas of a catalog: `genres[i]` are item `i`'s genres; popularity is the number of
/// ratings by the users of `train`. Genres in name order.
pub fn personas(genres: &[Vec<String>], train: &Interactions) -> Vec<Persona> {
    persona_genres(genres, &train.rating_counts())
        .into_iter()
        .map(|(genre, members)| Persona {
            genre: genre.clone(),
            given: loved(members[..PERSONA_LIKES].iter().copied()),
        })
        .collect()
}

/// The mixed personas of a catalog, one per unordered pair of persona genres (name order, then
/// the second genre's name): the [`MIXED_LIKES`] most-rated movies of each genre that do not
/// carry the other, popularity and ties as in [`personas`]. A pair where either genre has fewer
/// such movies gets no persona.
pub fn mixed_personas(genres: &[Vec<String>], train: &Interactions) -> Vec<MixedPersona> {
    let ranked = persona_genres(genres, &train.rating_counts());
    let only = |members: &[usize], other: &String| -> Vec<usize> {
        members
            .iter()
            .copied()
            .filter(|&i| !genres[i].contains(other))
            .take(MIXED_LIKES)
            .collect()
    };
    let mut out = Vec::new();
    for (a, (genre_a, members_a)) in ranked.iter().enumerate() {
        for (genre_b, members_b) in &ranked[a + 1..] {
            let (only_a, only_b) = (only(members_a, genre_b), only(members_b, genre_a));
            if only_a.len() == MIXED_LIKES && only_b.len() == MIXED_LIKES {
                out.push(MixedPersona {
                    genres: [(*genre_a).clone(), (*genre_b).clone()],
                    given: loved(only_a.into_iter().chain(only_b)),
                });
            }
        }
    }
    out
}

/// The top-`k_at` of `scorer` for thumbs `given`, the given movies left out.
fn list_for(
    scorer: &(impl VisitorScorer + ?Sized),
    given: &[(ItemIndex, Thumbs)],
    k_at: usize,
) -> Vec<ItemIndex> {
    let exclude: Vec<ItemIndex> = given.iter().map(|(i, _)| *i).collect();
    top_k(&scorer.score_visitor(given), k_at, &exclude)
}

/// The share of `list` (of `k_at` slots) that carries `genre`.
fn genre_share(list: &[ItemIndex], genres: &[Vec<String>], genre: &String, k_at: usize) -> f64 {
    list.iter()
        .filter(|i| genres[i.0 as usize].contains(genre))
        .count() as f64
        / k_at as f64
}

/// Each persona's top-`k_at` from `scorer`, its rated movies left out.
pub fn persona_lists(
    scorer: &(impl VisitorScorer + ?Sized),
    personas: &[Persona],
    k_at: usize,
) -> Vec<Vec<ItemIndex>> {
    personas
        .iter()
        .map(|p| list_for(scorer, &p.given, k_at))
        .collect()
}

/// Each mixed persona's top-`k_at` from `scorer`, its rated movies left out.
pub fn mixed_lists(
    scorer: &(impl VisitorScorer + ?Sized),
    personas: &[MixedPersona],
    k_at: usize,
) -> Vec<Vec<ItemIndex>> {
    personas
        .iter()
        .map(|p| list_for(scorer, &p.given, k_at))
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
            share: genre_share(list, genres, &p.genre, k_at),
        })
        .collect()
}

/// Each mixed persona's two genre shares of its list, and the smaller.
pub fn mixed_shares(
    personas: &[MixedPersona],
    lists: &[Vec<ItemIndex>],
    genres: &[Vec<String>],
    k_at: usize,
) -> Vec<MixedResult> {
    personas
        .iter()
        .zip(lists)
        .map(|(p, list)| {
            let shares = p
                .genres
                .clone()
                .map(|g| genre_share(list, genres, &g, k_at));
            MixedResult {
                genres: p.genres.clone(),
                shares,
                figure: shares[0].min(shares[1]),
            }
        })
        .collect()
}

/// The mean pair figure over mixed personas (0 when there are none).
pub fn mean_figure(results: &[MixedResult]) -> f64 {
    mean(results.iter().map(|r| r.figure))
}

/// The mean of `values` (0 when there are none).
fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len();
    if n == 0 {
        0.0
    } else {
        values.sum::<f64>() / n as f64
    }
}

/// The mean share over personas (0 when there are none).
pub fn mean_share(results: &[PersonaResult]) -> f64 {
    mean(results.iter().map(|r| r.share))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `genre(i)` per item of `n`; item i rated by 200 − i users.
    fn world_of(
        n: u32,
        genre: impl Fn(u32) -> Vec<&'static str>,
    ) -> (Vec<Vec<String>>, Interactions) {
        let genres = (0..n)
            .map(|i| genre(i).into_iter().map(String::from).collect())
            .collect();
        let rows = (0..200u32)
            .map(|u| {
                (0..n)
                    .filter(|i| *i < 200 - u)
                    .map(|i| (ItemIndex(i), Thumbs::Up))
                    .collect()
            })
            .collect();
        let train = Interactions {
            num_items: n as usize,
            user_ids: (0..200).collect(),
            rows,
        };
        (genres, train)
    }

    /// 60 westerns (items 0..60), 60 dramas (60..120), 10 musicals.
    fn world() -> (Vec<Vec<String>>, Interactions) {
        world_of(130, |i| match i {
            0..60 => vec!["Western"],
            60..120 => vec!["Drama"],
            _ => vec!["Musical"],
        })
    }

    /// Western-dramas (0..2), westerns (2..62), dramas (62..122), noirs (122..124),
    /// western-noirs (124..172), musicals (172..182).
    fn mixed_world() -> (Vec<Vec<String>>, Interactions) {
        world_of(182, |i| match i {
            0..2 => vec!["Western", "Drama"],
            2..62 => vec!["Western"],
            62..122 => vec!["Drama"],
            122..124 => vec!["Noir"],
            124..172 => vec!["Noir", "Western"],
            _ => vec!["Musical"],
        })
    }

    /// Ranks items by index, lowest first, over a catalog of `.0` items.
    struct ByIndex(usize);
    impl VisitorScorer for ByIndex {
        fn name(&self) -> String {
            "by-index".into()
        }
        fn score_visitor(&self, _given: &[(ItemIndex, Thumbs)]) -> Vec<f32> {
            (0..self.0).map(|i| -(i as f32)).collect()
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
        let lists = persona_lists(&ByIndex(130), &p, 20);
        // The western persona's list starts after its own five: items 5..25, all westerns.
        assert_eq!(lists[1][0], ItemIndex(5));
        let shares = persona_shares(&p, &lists, &genres, 20);
        assert_eq!(shares[0].share, 0.0, "drama persona gets westerns");
        assert_eq!(shares[1].share, 1.0);
        assert_eq!(mean_share(&shares), 0.5);
    }

    #[test]
    fn mixed_personas_like_each_genres_most_rated_movies_not_in_the_other() {
        let (genres, train) = mixed_world();
        let p = mixed_personas(&genres, &train);
        let pairs: Vec<[&str; 2]> = p
            .iter()
            .map(|p| [p.genres[0].as_str(), p.genres[1].as_str()])
            .collect();
        // Noir has 50 movies but only 2 without Western: that pair gets no persona.
        assert_eq!(pairs, [["Drama", "Noir"], ["Drama", "Western"]]);
        let given = |k: usize| -> Vec<u32> { p[k].given.iter().map(|(i, _)| i.0).collect() };
        // The western-dramas 0 and 1 are in neither set of the drama-western pair.
        assert_eq!(given(0), [0, 1, 62, 122, 123, 124]);
        assert_eq!(given(1), [62, 63, 64, 2, 3, 4]);
        assert!(p[1].given.iter().all(|(_, t)| *t == Thumbs::DoubleUp));
    }

    #[test]
    fn a_pairs_figure_is_the_smaller_genre_share_of_the_list() {
        let (genres, train) = mixed_world();
        let p = mixed_personas(&genres, &train);
        let lists = mixed_lists(&ByIndex(182), &p, 20);
        // Drama-noir: 0, 1 given, so 2..22, all westerns. Drama-western: 0, 1, then 5..23
        // (2, 3, 4 given): all westerns, two of them dramas.
        assert_eq!(lists[0][0], ItemIndex(2));
        assert_eq!(lists[1][..3], [ItemIndex(0), ItemIndex(1), ItemIndex(5)]);
        let results = mixed_shares(&p, &lists, &genres, 20);
        assert_eq!(results[0].shares, [0.0, 0.0]);
        assert_eq!(results[1].shares, [0.1, 1.0]);
        assert_eq!(results[1].figure, 0.1);
        assert_eq!(
            results[1].genres,
            ["Drama".to_string(), "Western".to_string()]
        );
        assert!((mean_figure(&results) - 0.05).abs() < 1e-12);
        assert_eq!(mean_figure(&[]), 0.0);
    }
}
