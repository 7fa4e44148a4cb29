//! The "describe a movie" search, measured on MovieLens tags: the distinct tags are split with a
//! seed; each tag of a half applied to at least [`MIN_TAGGED`] movies is a query (its text) whose
//! relevant movies are the ones it was applied to. The first half tunes the search, the
//! held-out half measures it, beside BM25 over title, genres and overview, the sentence
//! model's own query embedding against the overviews, and popularity.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::engine::recommender::fold;
use crate::engine::{ItemIndex, MovieId, Thumbs};
use crate::pipeline::data::movielens::Tag;
use crate::pipeline::eval::metrics::{ndcg_at, recall_at, top_k};

/// A tag counts as a query when applied to at least this many catalog movies.
pub const MIN_TAGGED: usize = 3;
/// The list length the figures are taken at.
pub const SEARCH_K: usize = 20;
/// Tags that say what someone thought of a movie or where they listed it, not what it is: no
/// description finds them.
pub const LEFT_OUT_TAGS: [&str; 12] = [
    "in netflix queue",
    "imdb top 250",
    "06 oscar nominated best movie - animation",
    "oscar (best actress)",
    "awesome",
    "bad",
    "bad plot",
    "boring",
    "masterpiece",
    "overrated",
    "plot holes",
    "predictable",
];

/// One tag as a query.
#[derive(Debug, Clone, PartialEq)]
pub struct TagQuery {
    pub text: String,
    /// The catalog rows it was applied to, sorted.
    pub relevant: Vec<ItemIndex>,
}

/// The tag queries of both halves.
#[derive(Debug, Clone)]
pub struct TagQueries {
    /// For tuning.
    pub train: Vec<TagQuery>,
    /// Held out: touched once, for the reported table.
    pub test: Vec<TagQuery>,
}

/// Splits the distinct tags (lower case, trimmed) in half with `seed` and keeps, in each half,
/// those applied to at least [`MIN_TAGGED`] movies of `rows` (movie id → catalog row), less
/// [`LEFT_OUT_TAGS`].
pub fn tag_queries(tags: &[Tag], rows: &HashMap<MovieId, ItemIndex>, seed: u64) -> TagQueries {
    let mut movies: BTreeMap<String, BTreeSet<ItemIndex>> = BTreeMap::new();
    for tag in tags {
        let text = tag.tag.trim().to_lowercase();
        if let Some(&row) = rows.get(&tag.movie_id) {
            movies.entry(text).or_default().insert(row);
        }
    }
    let mut texts: Vec<String> = movies.keys().cloned().collect();
    texts.shuffle(&mut StdRng::seed_from_u64(seed));
    let held_out: BTreeSet<String> = texts[..texts.len() / 2].iter().cloned().collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (text, relevant) in movies {
        if relevant.len() < MIN_TAGGED || LEFT_OUT_TAGS.contains(&text.as_str()) {
            continue;
        }
        let half = if held_out.contains(&text) {
            &mut test
        } else {
            &mut train
        };
        half.push(TagQuery {
            text,
            relevant: relevant.into_iter().collect(),
        });
    }
    TagQueries { train, test }
}

/// Mean recall@[`SEARCH_K`] and ndcg@[`SEARCH_K`] of a search over `queries`; `search` gives
/// every catalog row's score for a query's text (higher is better).
pub fn measure(queries: &[TagQuery], mut search: impl FnMut(&str) -> Vec<f32>) -> SearchFigures {
    let (mut recall, mut ndcg) = (0.0, 0.0);
    for query in queries {
        let ranked = top_k(&search(&query.text), SEARCH_K, &[]);
        let relevant: Vec<(ItemIndex, Thumbs)> =
            query.relevant.iter().map(|&r| (r, Thumbs::Up)).collect();
        recall += recall_at(SEARCH_K, &ranked, &relevant);
        ndcg += ndcg_at(SEARCH_K, &ranked, &relevant);
    }
    let n = queries.len().max(1) as f64;
    SearchFigures {
        queries: queries.len(),
        recall: recall / n,
        ndcg: ndcg / n,
    }
}

/// A search's figures over a set of queries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SearchFigures {
    pub queries: usize,
    /// Mean hits in the top [`SEARCH_K`] over `min(SEARCH_K, relevant)`.
    pub recall: f64,
    pub ndcg: f64,
}

/// Words for BM25: folded text split at every character that is not a letter or digit.
fn terms(text: &str) -> impl Iterator<Item = String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Okapi BM25 (k1 = 1.2, b = 0.75) over one text per catalog row.
pub struct Bm25 {
    /// term → (row, count in the row)
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<f32>,
    mean_length: f32,
}

impl Bm25 {
    const K1: f32 = 1.2;
    const B: f32 = 0.75;

    pub fn new(texts: &[String]) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(texts.len());
        for (row, text) in texts.iter().enumerate() {
            let mut counts: HashMap<String, u32> = HashMap::new();
            let mut length = 0;
            for term in terms(text) {
                *counts.entry(term).or_default() += 1;
                length += 1;
            }
            for (term, count) in counts {
                postings.entry(term).or_default().push((row as u32, count));
            }
            lengths.push(length as f32);
        }
        let mean_length = lengths.iter().sum::<f32>() / lengths.len().max(1) as f32;
        Self {
            postings,
            lengths,
            mean_length,
        }
    }

    /// Every row's score for `query`.
    pub fn scores(&self, query: &str) -> Vec<f32> {
        let n = self.lengths.len() as f32;
        let mut scores = vec![0f32; self.lengths.len()];
        let mut seen = BTreeSet::new();
        for term in terms(query) {
            if !seen.insert(term.clone()) {
                continue;
            }
            let Some(postings) = self.postings.get(&term) else {
                continue;
            };
            let df = postings.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(row, tf) in postings {
                let tf = tf as f32;
                let norm = 1.0 - Self::B + Self::B * self.lengths[row as usize] / self.mean_length;
                scores[row as usize] += idf * tf * (Self::K1 + 1.0) / (tf + Self::K1 * norm);
            }
        }
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(movie: u32, text: &str) -> Tag {
        Tag {
            user_id: 1,
            movie_id: MovieId(movie),
            tag: text.into(),
        }
    }

    #[test]
    fn tags_split_by_text_and_keep_only_descriptions_of_three_movies() {
        let mut tags = Vec::new();
        for t in 0..40 {
            for m in 0..3 {
                tags.push(tag(m + t, &format!("Tag {t}")));
            }
        }
        tags.extend((0..5).map(|m| tag(m, "in netflix queue")));
        tags.extend((0..2).map(|m| tag(m, "rare")));
        let rows: HashMap<MovieId, ItemIndex> =
            (0..50).map(|m| (MovieId(m), ItemIndex(m))).collect();
        let q = tag_queries(&tags, &rows, 7);
        assert_eq!(q.train.len() + q.test.len(), 40);
        assert!(
            q.train.len() >= 10 && q.test.len() >= 10,
            "{} / {}",
            q.train.len(),
            q.test.len()
        );
        assert!(
            q.train
                .iter()
                .all(|t| !q.test.iter().any(|u| u.text == t.text))
        );
        assert!(
            q.test
                .iter()
                .chain(&q.train)
                .all(|t| t.text.starts_with("tag "))
        );
        let again = tag_queries(&tags, &rows, 7);
        assert_eq!(again.test, q.test, "the split is a function of the seed");
    }

    #[test]
    fn bm25_prefers_the_text_that_says_it_more_briefly() {
        let texts = vec![
            "a heist in paris".to_owned(),
            "a long story about a family and a heist and a dog in the country".to_owned(),
            "space".to_owned(),
        ];
        let s = Bm25::new(&texts).scores("Heist");
        assert!(s[0] > s[1] && s[1] > 0.0 && s[2] == 0.0, "{s:?}");
    }

    #[test]
    fn figures_count_hits_in_the_top_twenty() {
        let queries = vec![TagQuery {
            text: "x".into(),
            relevant: vec![ItemIndex(0), ItemIndex(5)],
        }];
        let f = measure(&queries, |_| {
            (0..30)
                .map(|i| match i {
                    5 => 2.0,
                    0 => -1.0,
                    _ => 0.0,
                })
                .collect()
        });
        assert_eq!(f.recall, 0.5);
        assert!(f.ndcg > 0.6 && f.ndcg < 0.62, "{}", f.ndcg);
    }
}
