//! The `thumbs-v1` split (`../shared/EVALUATION.md`): test visitors from the reference file,
//! train users = everyone else, the catalog = movies rated by a train user, the visitor cases
//! (first `k` ratings given, later positives relevant) and the warm cases (last 20 % held out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde::{Deserialize, Serialize};

use super::movielens::{DataError, Rating, read_ratings};
use crate::engine::{ItemIndex, MovieId, Thumbs};

/// How many first ratings a test visitor gives in the browser (`EVALUATION.md`, step 3).
pub const GIVEN_COUNTS: [usize; 3] = [5, 10, 20];

/// Where the reference ratings and split live, relative to the data directory.
pub const RATINGS_FILE: &str = "ml-latest-small/ratings.csv";
/// The reference list of test visitors (`EVALUATION.md`, step 1).
pub const VISITORS_FILE: &str = "splits/thumbs-v1-visitors.txt";

/// Reads a test-visitor file: one `userId` a line; blank lines are ignored, anything else is an error.
pub fn read_visitor_ids(path: &Path) -> Result<BTreeSet<u32>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut ids = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let line_no = number as u64 + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let id: u32 = trimmed.parse().map_err(|_| DataError::BadRow {
            path: path.to_owned(),
            line: line_no,
            message: format!("expected one userId (a non-negative integer), got {trimmed:?}"),
        })?;
        if !ids.insert(id) {
            return Err(DataError::BadRow {
                path: path.to_owned(),
                line: line_no,
                message: format!("expected each userId once, got {id} again"),
            });
        }
    }
    Ok(ids)
}

/// The movies a model can rank: those rated by at least one train user, by ascending `movieId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    movie_ids: Vec<MovieId>,
}

impl Catalog {
    /// Builds a catalog from any movie ids (sorted and deduplicated here).
    pub fn from_movie_ids(ids: impl IntoIterator<Item = MovieId>) -> Self {
        let mut movie_ids: Vec<MovieId> = ids.into_iter().collect();
        movie_ids.sort_unstable();
        movie_ids.dedup();
        Self { movie_ids }
    }

    /// The movie ids in [`ItemIndex`] order (ascending `movieId`).
    pub fn movie_ids(&self) -> &[MovieId] {
        &self.movie_ids
    }

    /// The row of a movie, or `None` when no train user rated it.
    pub fn index_of(&self, movie_id: MovieId) -> Option<ItemIndex> {
        self.movie_ids
            .binary_search(&movie_id)
            .ok()
            .map(|i| ItemIndex(i as u32))
    }

    /// The movie at a row, or `None` past the end.
    pub fn movie_id(&self, item: ItemIndex) -> Option<MovieId> {
        self.movie_ids.get(item.0 as usize).copied()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.movie_ids.len()
    }

    /// True when no movie is in the catalog.
    pub fn is_empty(&self) -> bool {
        self.movie_ids.is_empty()
    }
}

/// Users × catalog items with thumbs: what a model is fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    /// Catalog size (number of item columns).
    pub num_items: usize,
    /// One id per row, ascending.
    pub user_ids: Vec<u32>,
    /// Per user, their rated items in `(timestamp, movieId)` order.
    pub rows: Vec<Vec<(ItemIndex, Thumbs)>>,
}

impl Interactions {
    /// Number of user rows.
    pub fn num_users(&self) -> usize {
        self.user_ids.len()
    }

    /// Number of (user, item) pairs.
    pub fn num_ratings(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }

    /// `(user_id, ratings)` per row.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[(ItemIndex, Thumbs)])> {
        self.user_ids
            .iter()
            .copied()
            .zip(self.rows.iter().map(Vec::as_slice))
    }

    /// How many ratings (any thumbs) each item has, `num_items` of them.
    pub fn rating_counts(&self) -> Vec<f32> {
        let mut counts = vec![0f32; self.num_items];
        for (item, _) in self.rows.iter().flatten() {
            counts[item.0 as usize] += 1.0;
        }
        counts
    }
}

/// One test visitor for a given `k`: what they gave and what they liked afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitorCase {
    pub user_id: u32,
    /// The first `k` ratings that are in the catalog, in time order: the model's only input.
    pub given: Vec<(ItemIndex, Thumbs)>,
    /// Given ratings of movies no train user rated: no row to score or leave out, so id-based
    /// models ignore them; content-based models may use them. Never relevant (they are given).
    pub given_outside_catalog: Vec<(MovieId, Thumbs)>,
    /// Later ratings with thumbs ≥ 1 whose movie is in the catalog (others cannot be ranked).
    pub relevant: Vec<(ItemIndex, Thumbs)>,
}

/// All visitor cases for one `k`, with what was left out and why.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitorCases {
    /// How many first ratings each visitor gave.
    pub k: usize,
    pub cases: Vec<VisitorCase>,
    /// Visitors skipped because no rating after the first `k` is positive (`EVALUATION.md`, step 3).
    pub skipped_no_positive: usize,
    /// Visitors skipped because every later positive is of a movie outside the catalog.
    pub skipped_positives_outside_catalog: usize,
    /// Later positives dropped from `relevant` over all kept cases because they are outside the catalog.
    pub relevant_outside_catalog: usize,
}

/// One train user in the warm protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmCase {
    pub user_id: u32,
    /// The user's earlier ratings: scored from, and left out of the ranking.
    pub train: Vec<(ItemIndex, Thumbs)>,
    /// Held-out ratings with thumbs ≥ 1.
    pub relevant: Vec<(ItemIndex, Thumbs)>,
}

/// The warm protocol: what models fit on and the cases to score.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmSplit {
    /// All train users' ratings except the held-out ones.
    pub train: Interactions,
    pub cases: Vec<WarmCase>,
    /// Train users with no positive among their held-out ratings.
    pub skipped_no_positive: usize,
}

/// How many of a user's `n` ratings the warm protocol holds out: `ceil(n / 5)`, so at least one
/// when `n ≥ 1` (`EVALUATION.md`, "last 20 %, at least one"); integer arithmetic avoids 0.2·20 > 4.
pub fn warm_holdout_count(n: usize) -> usize {
    n.div_ceil(5)
}

/// The `thumbs-v1` split of a rating set.
#[derive(Debug, Clone)]
pub struct Split {
    pub catalog: Catalog,
    /// Ascending.
    pub train_users: Vec<u32>,
    /// Ascending.
    pub test_visitors: Vec<u32>,
    /// Every user's ratings in `(timestamp, movieId)` order.
    histories: BTreeMap<u32, Vec<Rating>>,
}

impl Split {
    /// Splits ratings into train users and the given test visitors; each visitor must have ratings.
    pub fn new(ratings: &[Rating], test_visitors: &BTreeSet<u32>) -> Result<Self, DataError> {
        let mut histories: BTreeMap<u32, Vec<Rating>> = BTreeMap::new();
        for rating in ratings {
            histories.entry(rating.user_id).or_default().push(*rating);
        }
        for history in histories.values_mut() {
            history.sort_by_key(|r| (r.timestamp, r.movie_id));
        }
        if let Some(missing) = test_visitors.iter().find(|id| !histories.contains_key(id)) {
            return Err(DataError::Other(format!(
                "expected every test visitor to have ratings, got none for userId {missing}"
            )));
        }
        let train_users: Vec<u32> = histories
            .keys()
            .copied()
            .filter(|id| !test_visitors.contains(id))
            .collect();
        if train_users.is_empty() {
            return Err(DataError::Other(format!(
                "expected at least one train user, got {} users who are all test visitors",
                histories.len()
            )));
        }
        let catalog = Catalog::from_movie_ids(
            train_users
                .iter()
                .flat_map(|id| histories[id].iter().map(|r| r.movie_id)),
        );
        Ok(Self {
            catalog,
            train_users,
            test_visitors: test_visitors.iter().copied().collect(),
            histories,
        })
    }

    /// Reads `ratings.csv` and the reference visitor list from a data directory (`../shared/data`).
    pub fn load(data_dir: &Path) -> Result<Self, DataError> {
        let ratings = read_ratings(&data_dir.join(RATINGS_FILE))?;
        let visitors = read_visitor_ids(&data_dir.join(VISITORS_FILE))?;
        Self::new(&ratings, &visitors)
    }

    /// A user's ratings in `(timestamp, movieId)` order.
    pub fn history(&self, user_id: u32) -> Option<&[Rating]> {
        self.histories.get(&user_id).map(Vec::as_slice)
    }

    /// Every rating of every train user: what models fit on for the visitor protocol.
    pub fn train_interactions(&self) -> Interactions {
        let rows = self
            .train_users
            .iter()
            .map(|id| self.indexed(&self.histories[id]))
            .collect();
        Interactions {
            num_items: self.catalog.len(),
            user_ids: self.train_users.clone(),
            rows,
        }
    }

    /// The visitor cases when each test visitor gives their first `k` ratings.
    pub fn visitor_cases(&self, k: usize) -> VisitorCases {
        let mut out = VisitorCases {
            k,
            cases: Vec::new(),
            skipped_no_positive: 0,
            skipped_positives_outside_catalog: 0,
            relevant_outside_catalog: 0,
        };
        for &user_id in &self.test_visitors {
            let history = &self.histories[&user_id];
            let (first, later) = history.split_at(k.min(history.len()));
            let positives: Vec<&Rating> = later.iter().filter(|r| r.thumbs.is_positive()).collect();
            if positives.is_empty() {
                out.skipped_no_positive += 1;
                continue;
            }
            let relevant = self.indexed_refs(&positives);
            if relevant.is_empty() {
                out.skipped_positives_outside_catalog += 1;
                continue;
            }
            out.relevant_outside_catalog += positives.len() - relevant.len();
            let given = self.indexed(first);
            let given_outside_catalog = first
                .iter()
                .filter(|r| self.catalog.index_of(r.movie_id).is_none())
                .map(|r| (r.movie_id, r.thumbs))
                .collect();
            out.cases.push(VisitorCase {
                user_id,
                given,
                given_outside_catalog,
                relevant,
            });
        }
        out
    }

    /// The warm protocol: each train user's last [`warm_holdout_count`] ratings held out.
    pub fn warm(&self) -> WarmSplit {
        let mut rows = Vec::with_capacity(self.train_users.len());
        let mut cases = Vec::new();
        let mut skipped_no_positive = 0;
        for &user_id in &self.train_users {
            let history = &self.histories[&user_id];
            let cut = history.len() - warm_holdout_count(history.len());
            let (earlier, held_out) = history.split_at(cut);
            let train = self.indexed(earlier);
            let positives: Vec<&Rating> =
                held_out.iter().filter(|r| r.thumbs.is_positive()).collect();
            // Every train user's movie is in the catalog by construction.
            let relevant = self.indexed_refs(&positives);
            if relevant.is_empty() {
                skipped_no_positive += 1;
            } else {
                cases.push(WarmCase {
                    user_id,
                    train: train.clone(),
                    relevant,
                });
            }
            rows.push(train);
        }
        WarmSplit {
            train: Interactions {
                num_items: self.catalog.len(),
                user_ids: self.train_users.clone(),
                rows,
            },
            cases,
            skipped_no_positive,
        }
    }

    /// A split of the train users only, with `floor(fraction · #train users)` of them (seeded
    /// shuffle) as validation visitors: for choosing hyper-parameters without the test visitors.
    pub fn validation_split(&self, fraction: f64, seed: u64) -> Result<Split, DataError> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(DataError::Other(format!(
                "expected a validation fraction in [0, 1), got {fraction}"
            )));
        }
        let mut users = self.train_users.clone();
        users.shuffle(&mut StdRng::seed_from_u64(seed));
        let count = (fraction * users.len() as f64).floor() as usize;
        let validation: BTreeSet<u32> = users[..count].iter().copied().collect();
        let ratings: Vec<Rating> = self
            .train_users
            .iter()
            .flat_map(|id| self.histories[id].iter().copied())
            .collect();
        Split::new(&ratings, &validation)
    }

    /// The catalog rows of ratings, in order, dropping movies outside the catalog.
    fn indexed(&self, ratings: &[Rating]) -> Vec<(ItemIndex, Thumbs)> {
        ratings
            .iter()
            .filter_map(|r| self.catalog.index_of(r.movie_id).map(|i| (i, r.thumbs)))
            .collect()
    }

    fn indexed_refs(&self, ratings: &[&Rating]) -> Vec<(ItemIndex, Thumbs)> {
        ratings
            .iter()
            .filter_map(|r| self.catalog.index_of(r.movie_id).map(|i| (i, r.thumbs)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rating(user_id: u32, movie: u32, stars: f32, timestamp: i64) -> Rating {
        Rating {
            user_id,
            movie_id: MovieId(movie),
            stars,
            thumbs: Thumbs::from_stars(stars).unwrap(),
            timestamp,
        }
    }

    /// Users 1 and 2 train; 3 and 4 are visitors. Movie 99 is only rated by visitors.
    fn fixture() -> Vec<Rating> {
        vec![
            rating(1, 30, 4.0, 10),
            rating(1, 10, 5.0, 10),
            rating(1, 20, 1.0, 5),
            rating(1, 40, 3.0, 20),
            rating(1, 50, 4.5, 30),
            rating(2, 20, 4.0, 1),
            rating(2, 60, 2.0, 2),
            // Visitor 3, time order: 99 (outside), 10 (−1), 20 (+1), then 30 (+1), 60 (−1), 40 (+2).
            rating(3, 40, 5.0, 50),
            rating(3, 99, 4.0, 1),
            rating(3, 10, 2.0, 2),
            rating(3, 20, 3.0, 3),
            rating(3, 30, 3.5, 40),
            rating(3, 60, 1.0, 45),
            // Visitor 4: 10 (+1), 20 (+1), 30 (−1).
            rating(4, 10, 4.0, 1),
            rating(4, 20, 4.0, 2),
            rating(4, 30, 1.0, 3),
        ]
    }

    fn split() -> Split {
        Split::new(&fixture(), &BTreeSet::from([3, 4])).unwrap()
    }

    #[test]
    fn catalog_holds_train_movies_in_ascending_id_order() {
        let split = split();
        let ids: Vec<u32> = split.catalog.movie_ids().iter().map(|m| m.0).collect();
        assert_eq!(ids, vec![10, 20, 30, 40, 50, 60]);
        assert_eq!(split.catalog.index_of(MovieId(40)), Some(ItemIndex(3)));
        assert_eq!(split.catalog.index_of(MovieId(99)), None);
        assert_eq!(split.catalog.movie_id(ItemIndex(5)), Some(MovieId(60)));
        assert_eq!(split.train_users, vec![1, 2]);
        assert_eq!(split.test_visitors, vec![3, 4]);
    }

    #[test]
    fn train_interactions_are_time_ordered_with_movie_id_tie_break() {
        let train = split().train_interactions();
        assert_eq!(train.user_ids, vec![1, 2]);
        // User 1: t=5 movie 20, t=10 movies 10 then 30, t=20 movie 40, t=30 movie 50.
        let items: Vec<u32> = train.rows[0].iter().map(|(i, _)| i.0).collect();
        assert_eq!(items, vec![1, 0, 2, 3, 4]);
        assert_eq!(train.rows[0][0].1, Thumbs::Down);
        assert_eq!(train.num_ratings(), 7);
        assert_eq!(train.num_items, 6);
    }

    #[test]
    fn visitor_cases_give_the_first_k_and_keep_later_positives() {
        let cases = split().visitor_cases(3);
        // Visitor 4 has no rating after its first 3: skipped.
        assert_eq!(cases.skipped_no_positive, 1);
        assert_eq!(cases.cases.len(), 1);
        let case = &cases.cases[0];
        assert_eq!(case.user_id, 3);
        // First 3 by time: 99 (outside the catalog), 10 (−1), 20 (+1).
        assert_eq!(
            case.given,
            vec![(ItemIndex(0), Thumbs::Down), (ItemIndex(1), Thumbs::Up)]
        );
        assert_eq!(case.given_outside_catalog, vec![(MovieId(99), Thumbs::Up)]);
        // Later: 30 (+1), 60 (−1, not relevant), 40 (+2).
        assert_eq!(
            case.relevant,
            vec![(ItemIndex(2), Thumbs::Up), (ItemIndex(3), Thumbs::DoubleUp)]
        );
    }

    #[test]
    fn a_visitor_with_a_positive_after_k_is_kept() {
        let cases = split().visitor_cases(2);
        let four = cases.cases.iter().find(|c| c.user_id == 4);
        assert!(
            four.is_none(),
            "visitor 4's only later rating is thumbs-down"
        );
        let cases = split().visitor_cases(1);
        let four = cases.cases.iter().find(|c| c.user_id == 4).unwrap();
        assert_eq!(four.given, vec![(ItemIndex(0), Thumbs::Up)]);
        assert_eq!(four.relevant, vec![(ItemIndex(1), Thumbs::Up)]);
    }

    #[test]
    fn later_positives_outside_the_catalog_are_dropped_and_counted() {
        let mut ratings = fixture();
        ratings.push(rating(4, 77, 5.0, 9));
        let split = Split::new(&ratings, &BTreeSet::from([3, 4])).unwrap();
        let cases = split.visitor_cases(3);
        assert_eq!(cases.skipped_positives_outside_catalog, 1);
        assert_eq!(cases.skipped_no_positive, 0);
        assert!(cases.cases.iter().all(|c| c.user_id != 4));
    }

    #[test]
    fn holdout_is_ceil_of_a_fifth_and_at_least_one() {
        assert_eq!(warm_holdout_count(1), 1);
        assert_eq!(warm_holdout_count(5), 1);
        assert_eq!(warm_holdout_count(6), 2);
        assert_eq!(warm_holdout_count(20), 4);
        assert_eq!(warm_holdout_count(21), 5);
    }

    #[test]
    fn warm_split_holds_out_the_latest_ratings() {
        let warm = split().warm();
        // User 1 (5 ratings): hold out 1, the latest (movie 50, +2).
        // User 2 (2 ratings): hold out 1, the latest (movie 60, −1): no positive, skipped.
        assert_eq!(warm.skipped_no_positive, 1);
        assert_eq!(warm.cases.len(), 1);
        assert_eq!(warm.cases[0].user_id, 1);
        assert_eq!(
            warm.cases[0].relevant,
            vec![(ItemIndex(4), Thumbs::DoubleUp)]
        );
        assert_eq!(warm.cases[0].train.len(), 4);
        assert_eq!(warm.train.rows[1], vec![(ItemIndex(1), Thumbs::Up)]);
        assert_eq!(warm.train.num_ratings(), 5);
    }

    #[test]
    fn validation_split_uses_train_users_only() {
        let validation = split().validation_split(0.5, 7).unwrap();
        assert_eq!(validation.test_visitors.len(), 1);
        assert_eq!(validation.train_users.len(), 1);
        let all: BTreeSet<u32> = validation
            .train_users
            .iter()
            .chain(&validation.test_visitors)
            .copied()
            .collect();
        assert_eq!(all, BTreeSet::from([1, 2]));
        assert!(split().validation_split(1.0, 7).is_err());
    }

    #[test]
    fn a_visitor_without_ratings_is_an_error() {
        let err = Split::new(&fixture(), &BTreeSet::from([3, 8]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("userId 8"), "{err}");
    }

    #[test]
    fn visitor_file_errors_name_path_and_line() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"7\n21\n\nabc\n").unwrap();
        let err = read_visitor_ids(file.path()).unwrap_err().to_string();
        assert!(err.contains("line 4") && err.contains("\"abc\""), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");

        let mut dup = tempfile::NamedTempFile::new().unwrap();
        dup.write_all(b"7\n7\n").unwrap();
        let err = read_visitor_ids(dup.path()).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("got 7 again"),
            "{err}"
        );

        let mut good = tempfile::NamedTempFile::new().unwrap();
        good.write_all(b"30\n7\n21\n").unwrap();
        let ids = read_visitor_ids(good.path()).unwrap();
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![7, 21, 30]);
    }
}
