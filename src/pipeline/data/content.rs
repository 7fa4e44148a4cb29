//! Content features of each movie: standardised TMDB numbers with missing flags, the
//! original-language one-hot, categorical flags and MovieLens genres. The overview's sentence
//! embedding is appended by `prepare`. The [`FeatureLayout`] names every column in order, so
//! training and the browser read the vector the same way.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::movielens::{Link, Movie, Tag};
use super::tmdb::TmdbMovie;
use crate::engine::MovieId;

/// Bump when the meaning or order of any column changes.
pub const LAYOUT_VERSION: u32 = 1;
/// Top original languages kept as their own column; the rest share `lang_other`.
pub const TOP_LANGUAGES: usize = 15;

/// The seven TMDB numbers, in vector order.
pub const NUMERIC: [&str; 7] = [
    "log_budget",
    "log_revenue",
    "runtime",
    "log_popularity",
    "vote_average",
    "log_vote_count",
    "release_year",
];

/// The categorical flags, in vector order.
pub const FLAGS: [&str; 6] = [
    // TMDB has a row for the movie at all.
    "has_tmdb_metadata",
    // TMDB gives a real overview (else the embedding reads title, year and genres).
    "has_overview",
    // TMDB marks it adult.
    "adult",
    // `belongs_to_collection` is set (a franchise); empty can also mean "unknown" (SOURCES.md).
    "in_collection",
    // TMDB gives a tagline or a homepage: a proxy for a promoted release.
    "has_tagline_or_homepage",
    // MovieLens users tagged it (tags.csv).
    "has_user_tags",
];

/// Mean and standard deviation used to standardise one numeric feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericStat {
    pub name: String,
    pub mean: f64,
    pub std: f64,
    /// How many movies had a value.
    pub present: usize,
}

/// A contiguous run of columns with one meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureGroup {
    pub name: String,
    pub start: usize,
    pub len: usize,
}

/// Names and order of every column of the content feature vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureLayout {
    pub version: u32,
    /// Total width of the vector.
    pub dim: usize,
    pub groups: Vec<FeatureGroup>,
    /// Every column's name, `dim` of them.
    pub columns: Vec<String>,
    pub numeric: Vec<NumericStat>,
    pub languages: Vec<String>,
    pub genres: Vec<String>,
    pub text_embedding_dim: usize,
}

impl FeatureLayout {
    /// The group called `name`, if any.
    pub fn group(&self, name: &str) -> Option<&FeatureGroup> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// One movie's identity, display fields and tabular features (everything but the text embedding).
#[derive(Debug, Clone, PartialEq)]
pub struct MovieContent {
    pub movie_id: MovieId,
    pub tmdb_id: Option<u32>,
    pub imdb_id: Option<u32>,
    pub title: String,
    pub year: Option<i32>,
    pub genres: Vec<String>,
    /// The tabular part of the feature vector, `layout.dim - text_embedding_dim` values.
    pub tabular: Vec<f32>,
    /// What the sentence model reads: the overview, or title, year and genres.
    pub embedding_text: String,
    /// TMDB popularity when known (for display and ordering only, not a feature by itself).
    pub popularity: Option<f64>,
}

fn log1p(v: Option<f64>) -> Option<f64> {
    v.map(f64::ln_1p)
}

/// Builds every movie's tabular features and the layout that describes them.
pub fn build_content(
    movies: &[Movie],
    links: &[Link],
    tmdb: &HashMap<u32, TmdbMovie>,
    tags: &[Tag],
    text_embedding_dim: usize,
) -> (Vec<MovieContent>, FeatureLayout) {
    let links: HashMap<MovieId, &Link> = links.iter().map(|l| (l.movie_id, l)).collect();
    let tagged: HashSet<MovieId> = tags.iter().map(|t| t.movie_id).collect();
    let meta_of = |m: &Movie| {
        links
            .get(&m.movie_id)
            .and_then(|l| l.tmdb_id)
            .and_then(|id| tmdb.get(&id))
    };

    // Raw numbers per movie, before standardisation.
    let raw: Vec<[Option<f64>; 7]> = movies.iter().map(|m| raw_numbers(m, meta_of(m))).collect();
    let numeric: Vec<NumericStat> = NUMERIC
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values: Vec<f64> = raw.iter().filter_map(|r| r[i]).collect();
            let n = values.len().max(1) as f64;
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            NumericStat {
                name: name.to_string(),
                mean,
                std: if var > 0.0 { var.sqrt() } else { 1.0 },
                present: values.len(),
            }
        })
        .collect();

    // Top languages by movie count, ties by code, so the order is reproducible.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in movies {
        if let Some(lang) = meta_of(m).and_then(|t| t.original_language.as_deref()) {
            *counts.entry(lang).or_default() += 1;
        }
    }
    let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let languages: Vec<String> = by_count
        .iter()
        .take(TOP_LANGUAGES)
        .map(|(l, _)| l.to_string())
        .collect();
    let genres: Vec<String> = movies
        .iter()
        .flat_map(|m| m.genres.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut columns = Vec::new();
    let mut groups = Vec::new();
    let mut push_group = |name: &str, names: Vec<String>, columns: &mut Vec<String>| {
        groups.push(FeatureGroup {
            name: name.into(),
            start: columns.len(),
            len: names.len(),
        });
        columns.extend(names);
    };
    push_group(
        "numeric",
        NUMERIC.iter().map(|n| format!("num_{n}")).collect(),
        &mut columns,
    );
    push_group(
        "numeric_missing",
        NUMERIC.iter().map(|n| format!("num_{n}_missing")).collect(),
        &mut columns,
    );
    push_group(
        "language",
        languages
            .iter()
            .map(|l| format!("lang_{l}"))
            .chain(["lang_other".to_string()])
            .collect(),
        &mut columns,
    );
    push_group(
        "flags",
        FLAGS.iter().map(|f| format!("flag_{f}")).collect(),
        &mut columns,
    );
    push_group(
        "genres",
        genres.iter().map(|g| format!("genre_{g}")).collect(),
        &mut columns,
    );
    push_group(
        "text_embedding",
        (0..text_embedding_dim)
            .map(|i| format!("text_embedding_{i}"))
            .collect(),
        &mut columns,
    );

    let layout = FeatureLayout {
        version: LAYOUT_VERSION,
        dim: columns.len(),
        groups,
        columns,
        numeric,
        languages,
        genres,
        text_embedding_dim,
    };
    let contents = movies
        .iter()
        .map(|m| {
            let t = meta_of(m);
            let link = links.get(&m.movie_id);
            MovieContent {
                movie_id: m.movie_id,
                tmdb_id: link.and_then(|l| l.tmdb_id),
                imdb_id: link.and_then(|l| l.imdb_id),
                title: display_title(m, t),
                year: m.year.or(t.and_then(|t| t.release_year)),
                genres: m.genres.clone(),
                tabular: layout.tabular(m, t, tagged.contains(&m.movie_id)),
                embedding_text: embedding_text(m, t),
                popularity: t.and_then(|t| t.popularity),
            }
        })
        .collect();
    (contents, layout)
}

/// The seven TMDB numbers of [`NUMERIC`] before standardisation (log1p of the heavy-tailed ones).
fn raw_numbers(m: &Movie, t: Option<&TmdbMovie>) -> [Option<f64>; 7] {
    let get = |f: fn(&TmdbMovie) -> Option<f64>| t.and_then(f);
    let votes = get(|t| t.vote_count);
    [
        log1p(get(|t| t.budget)),
        log1p(get(|t| t.revenue)),
        get(|t| t.runtime),
        log1p(get(|t| t.popularity)),
        // An average of zero votes is no average.
        get(|t| t.vote_average).filter(|_| votes.unwrap_or(0.0) > 0.0),
        log1p(votes),
        t.and_then(|t| t.release_year).or(m.year).map(f64::from),
    ]
}

/// The title shown: TMDB's when it has one, else MovieLens's.
pub fn display_title(m: &Movie, t: Option<&TmdbMovie>) -> String {
    t.and_then(|t| t.title.clone())
        .unwrap_or_else(|| m.title.clone())
}

/// What the sentence model reads: the overview, or title, year and genres.
pub fn embedding_text(m: &Movie, t: Option<&TmdbMovie>) -> String {
    t.and_then(|t| t.overview.clone())
        .unwrap_or_else(|| fallback_text(m))
}

impl FeatureLayout {
    /// One movie's tabular features (everything but the text embedding) under this layout's
    /// statistics and vocabularies: what `prepare` computes for the catalog, and `add-movies`
    /// for a movie added after training.
    pub fn tabular(&self, m: &Movie, t: Option<&TmdbMovie>, tagged: bool) -> Vec<f32> {
        let raw = raw_numbers(m, t);
        let mut v = Vec::with_capacity(self.dim - self.text_embedding_dim);
        for (value, stat) in raw.iter().zip(&self.numeric) {
            v.push(value.map_or(0.0, |x| ((x - stat.mean) / stat.std) as f32));
        }
        v.extend(raw.iter().map(|x| if x.is_none() { 1.0 } else { 0.0 }));
        let lang = t.and_then(|t| t.original_language.as_deref());
        // No language known: every language column stays 0.
        v.extend(
            self.languages
                .iter()
                .map(|l| f32::from(lang == Some(l.as_str()))),
        );
        v.push(f32::from(
            lang.is_some_and(|l| !self.languages.iter().any(|k| k == l)),
        ));
        v.extend(
            [
                t.is_some(),
                t.is_some_and(|t| t.overview.is_some()),
                t.and_then(|t| t.adult).unwrap_or(false),
                t.is_some_and(|t| t.in_collection),
                t.is_some_and(|t| t.tagline.is_some() || t.homepage.is_some()),
                tagged,
            ]
            .map(f32::from),
        );
        v.extend(self.genres.iter().map(|g| f32::from(m.genres.contains(g))));
        debug_assert_eq!(v.len(), self.dim - self.text_embedding_dim);
        v
    }
}

/// The text embedded when TMDB has no overview: "Toy Story (1995). Adventure|Animation",
/// the form `all-MiniLM-L6-v2.reference.json` checks.
pub fn fallback_text(m: &Movie) -> String {
    let year = m.year.map(|y| format!(" ({y})")).unwrap_or_default();
    if m.genres.is_empty() {
        format!("{}{year}", m.title)
    } else {
        format!("{}{year}. {}", m.title, m.genres.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movie(id: u32, title: &str, year: Option<i32>, genres: &[&str]) -> Movie {
        Movie {
            movie_id: MovieId(id),
            title: title.into(),
            year,
            genres: genres.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn link(id: u32, tmdb: Option<u32>) -> Link {
        Link {
            movie_id: MovieId(id),
            imdb_id: Some(id * 10),
            tmdb_id: tmdb,
        }
    }

    fn fixture() -> (Vec<MovieContent>, FeatureLayout) {
        let movies = vec![
            movie(1, "Alpha", Some(1990), &["Comedy", "Drama"]),
            movie(2, "Beta", Some(2000), &["Action"]),
            movie(3, "Gamma", None, &[]),
        ];
        let links = vec![link(1, Some(101)), link(2, Some(102)), link(3, None)];
        let mut tmdb = HashMap::new();
        tmdb.insert(
            101,
            TmdbMovie {
                tmdb_id: 101,
                budget: Some(999.0),
                vote_average: Some(7.0),
                vote_count: Some(10.0),
                runtime: Some(100.0),
                original_language: Some("en".into()),
                overview: Some("A comedy.".into()),
                in_collection: true,
                ..Default::default()
            },
        );
        tmdb.insert(
            102,
            TmdbMovie {
                tmdb_id: 102,
                budget: Some(99.0),
                vote_average: Some(5.0),
                vote_count: Some(0.0),
                runtime: Some(80.0),
                original_language: Some("fr".into()),
                tagline: Some("Go.".into()),
                ..Default::default()
            },
        );
        let tags = vec![Tag {
            user_id: 1,
            movie_id: MovieId(2),
            tag: "fun".into(),
        }];
        build_content(&movies, &links, &tmdb, &tags, 4)
    }

    #[test]
    fn layout_names_every_column_in_order() {
        let (contents, layout) = fixture();
        // 7 numeric + 7 missing + (2 languages + other) + 6 flags + 3 genres + 4 text.
        assert_eq!(layout.dim, 7 + 7 + 3 + 6 + 3 + 4);
        assert_eq!(layout.columns.len(), layout.dim);
        assert_eq!(layout.genres, vec!["Action", "Comedy", "Drama"]);
        assert_eq!(layout.languages, vec!["en", "fr"]);
        assert_eq!(layout.columns[0], "num_log_budget");
        assert_eq!(
            layout.group("text_embedding").unwrap().start,
            layout.dim - 4
        );
        for c in &contents {
            assert_eq!(c.tabular.len(), layout.dim - 4);
        }
    }

    #[test]
    fn numbers_are_standardised_with_missing_flags() {
        let (contents, layout) = fixture();
        // log budget: ln(1000) and ln(100); mean ln(316.2…) so the two are ±1 after scaling.
        let (a, b) = (contents[0].tabular[0], contents[1].tabular[0]);
        assert!((a - 1.0).abs() < 1e-5 && (b + 1.0).abs() < 1e-5, "{a} {b}");
        // The movie without TMDB data: value 0, missing flag 1.
        assert_eq!(contents[2].tabular[0], 0.0);
        assert_eq!(contents[2].tabular[7], 1.0);
        // Zero votes make the vote average missing.
        assert_eq!(contents[1].tabular[7 + 4], 1.0);
        assert_eq!(layout.numeric[4].present, 1);
        // Release year falls back to the MovieLens year.
        assert_eq!(layout.numeric[6].present, 2);
    }

    #[test]
    fn languages_flags_and_genres_are_one_hot() {
        let (contents, layout) = fixture();
        let lang = layout.group("language").unwrap();
        let flags = layout.group("flags").unwrap();
        let genres = layout.group("genres").unwrap();
        let slice =
            |c: &MovieContent, g: &FeatureGroup| c.tabular[g.start..g.start + g.len].to_vec();
        assert_eq!(slice(&contents[0], lang), vec![1.0, 0.0, 0.0]);
        assert_eq!(slice(&contents[2], lang), vec![0.0, 0.0, 0.0]);
        assert_eq!(
            slice(&contents[0], flags),
            vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(
            slice(&contents[1], flags),
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
        );
        assert_eq!(slice(&contents[0], genres), vec![0.0, 1.0, 1.0]);
    }

    #[test]
    fn the_embedding_text_falls_back_to_title_year_and_genres() {
        let (contents, _) = fixture();
        assert_eq!(contents[0].embedding_text, "A comedy.");
        assert_eq!(contents[1].embedding_text, "Beta (2000). Action");
        assert_eq!(contents[2].embedding_text, "Gamma");
    }
}
