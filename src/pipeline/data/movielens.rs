//! Readers for the MovieLens `ml-latest-small` CSV files (ratings, movies, links, tags).
//! Every row is checked; a bad row is an error naming the file, the line and what was expected.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::{MovieId, Thumbs};

/// What can go wrong while reading the input data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: missing column `{column}` (header has: {header})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        header: String,
    },
    #[error("{path}, line {line}: {message}")]
    BadRow {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

/// One MovieLens rating with its thumbs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    pub user_id: u32,
    pub movie_id: MovieId,
    /// Stars, 0.5–5.0.
    pub stars: f32,
    pub thumbs: Thumbs,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

/// One row of `movies.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Movie {
    pub movie_id: MovieId,
    /// The title without the trailing " (YYYY)".
    pub title: String,
    /// The year from the title, when it has one.
    pub year: Option<i32>,
    /// MovieLens genres; empty for "(no genres listed)".
    pub genres: Vec<String>,
}

/// One row of `links.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    pub movie_id: MovieId,
    pub imdb_id: Option<u32>,
    /// 8 rows of ml-latest-small have none (`SOURCES.md`).
    pub tmdb_id: Option<u32>,
}

/// One row of `tags.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub user_id: u32,
    pub movie_id: MovieId,
    pub tag: String,
}

#[derive(Deserialize)]
struct RatingRow {
    #[serde(rename = "userId")]
    user_id: u32,
    #[serde(rename = "movieId")]
    movie_id: u32,
    rating: f32,
    timestamp: i64,
}

#[derive(Deserialize)]
struct MovieRow {
    #[serde(rename = "movieId")]
    movie_id: u32,
    title: String,
    genres: String,
}

#[derive(Deserialize)]
struct LinkRow {
    #[serde(rename = "movieId")]
    movie_id: u32,
    #[serde(rename = "imdbId")]
    imdb_id: Option<u32>,
    #[serde(rename = "tmdbId")]
    tmdb_id: Option<u32>,
}

#[derive(Deserialize)]
struct TagRow {
    #[serde(rename = "userId")]
    user_id: u32,
    #[serde(rename = "movieId")]
    movie_id: u32,
    tag: String,
}

/// Opens a CSV file with a header and checks that the named columns are present.
pub(crate) fn open_csv(
    path: &Path,
    required: &[&str],
) -> Result<csv::Reader<std::fs::File>, DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let header = reader
        .headers()
        .map_err(|e| bad_row(path, 1, format!("unreadable header: {e}")))?
        .clone();
    for column in required {
        if !header.iter().any(|h| h == *column) {
            return Err(DataError::MissingColumn {
                path: path.to_owned(),
                column: column.to_string(),
                header: header.iter().collect::<Vec<_>>().join(","),
            });
        }
    }
    Ok(reader)
}

pub(crate) fn bad_row(path: &Path, line: u64, message: String) -> DataError {
    DataError::BadRow {
        path: path.to_owned(),
        line,
        message,
    }
}

/// Deserialises every row of a CSV file into `T`, naming the file and line of the first bad row.
fn read_rows<T: serde::de::DeserializeOwned>(
    path: &Path,
    required: &[&str],
    expected: &str,
) -> Result<Vec<(u64, T)>, DataError> {
    let mut reader = open_csv(path, required)?;
    let headers = reader
        .headers()
        .map_err(|e| bad_row(path, 1, e.to_string()))?
        .clone();
    let mut record = csv::StringRecord::new();
    let mut rows = Vec::new();
    loop {
        let line = reader.position().line();
        let more = reader
            .read_record(&mut record)
            .map_err(|e| bad_row(path, line, format!("expected {expected}; {e}")))?;
        if !more {
            break;
        }
        let row = record
            .deserialize::<T>(Some(&headers))
            .map_err(|e| bad_row(path, line, format!("expected {expected}; {e}")))?;
        rows.push((line, row));
    }
    Ok(rows)
}

/// Reads `ratings.csv` (`userId,movieId,rating,timestamp`); stars outside 0.5–5.0 are errors.
pub fn read_ratings(path: &Path) -> Result<Vec<Rating>, DataError> {
    read_rows::<RatingRow>(
        path,
        &["userId", "movieId", "rating", "timestamp"],
        "userId (integer), movieId (integer), rating (0.5–5.0), timestamp (integer)",
    )?
    .into_iter()
    .map(|(line, row)| {
        let thumbs =
            Thumbs::from_stars(row.rating).map_err(|e| bad_row(path, line, e.to_string()))?;
        Ok(Rating {
            user_id: row.user_id,
            movie_id: MovieId(row.movie_id),
            stars: row.rating,
            thumbs,
            timestamp: row.timestamp,
        })
    })
    .collect()
}

/// Splits "Toy Story (1995)" into ("Toy Story", Some(1995)); titles without a year keep it all.
pub fn split_title_year(raw: &str) -> (String, Option<i32>) {
    let trimmed = raw.trim();
    if let Some(open) = trimmed.rfind('(')
        && trimmed.ends_with(')')
    {
        let inner = &trimmed[open + 1..trimmed.len() - 1];
        // Some titles carry a range such as "(2007-2013)": take the first year.
        let year_text = inner.split(['-', '–']).next().unwrap_or("").trim();
        if year_text.len() == 4
            && let Ok(year) = year_text.parse::<i32>()
        {
            return (trimmed[..open].trim_end().to_string(), Some(year));
        }
    }
    (trimmed.to_string(), None)
}

/// Reads `movies.csv` (`movieId,title,genres`).
pub fn read_movies(path: &Path) -> Result<Vec<Movie>, DataError> {
    Ok(read_rows::<MovieRow>(
        path,
        &["movieId", "title", "genres"],
        "movieId (integer), title, genres (A|B|C)",
    )?
    .into_iter()
    .map(|(_, row)| {
        let (title, year) = split_title_year(&row.title);
        let genres = row
            .genres
            .split('|')
            .filter(|g| !g.is_empty() && *g != "(no genres listed)")
            .map(str::to_string)
            .collect();
        Movie {
            movie_id: MovieId(row.movie_id),
            title,
            year,
            genres,
        }
    })
    .collect())
}

/// Reads `links.csv` (`movieId,imdbId,tmdbId`); empty ids are `None`.
pub fn read_links(path: &Path) -> Result<Vec<Link>, DataError> {
    Ok(read_rows::<LinkRow>(
        path,
        &["movieId", "imdbId", "tmdbId"],
        "movieId (integer), imdbId (integer or empty), tmdbId (integer or empty)",
    )?
    .into_iter()
    .map(|(_, row)| Link {
        movie_id: MovieId(row.movie_id),
        imdb_id: row.imdb_id,
        tmdb_id: row.tmdb_id,
    })
    .collect())
}

/// Reads `tags.csv` (`userId,movieId,tag,timestamp`).
pub fn read_tags(path: &Path) -> Result<Vec<Tag>, DataError> {
    Ok(read_rows::<TagRow>(
        path,
        &["userId", "movieId", "tag"],
        "userId (integer), movieId (integer), tag (text)",
    )?
    .into_iter()
    .map(|(_, row)| Tag {
        user_id: row.user_id,
        movie_id: MovieId(row.movie_id),
        tag: row.tag,
    })
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn fixture(contents: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(contents.as_bytes()).unwrap();
        file
    }

    #[test]
    fn reads_ratings_with_thumbs() {
        let file = fixture("userId,movieId,rating,timestamp\n1,10,4.5,100\n2,11,2.5,200\n");
        let ratings = read_ratings(file.path()).unwrap();
        assert_eq!(ratings.len(), 2);
        assert_eq!(ratings[0].thumbs, Thumbs::DoubleUp);
        assert_eq!(ratings[1].thumbs, Thumbs::Down);
        assert_eq!(ratings[1].movie_id, MovieId(11));
    }

    #[test]
    fn a_rating_outside_the_scale_names_file_and_line() {
        let file = fixture("userId,movieId,rating,timestamp\n1,10,4.5,100\n1,11,7.0,101\n");
        let err = read_ratings(file.path()).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("0.5–5.0") && err.contains("got 7"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }

    #[test]
    fn a_malformed_row_names_file_and_line() {
        let file = fixture("userId,movieId,rating,timestamp\n1,10,4.5,100\n1,abc,3.0,101\n");
        let err = read_ratings(file.path()).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("movieId (integer)"), "{err}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let file = fixture("userId,movieId,timestamp\n1,10,100\n");
        let err = read_ratings(file.path()).unwrap_err().to_string();
        assert!(err.contains("missing column `rating`"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = read_ratings(Path::new("/nonexistent/ratings.csv"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ratings.csv"), "{err}");
    }

    #[test]
    fn movies_split_title_year_and_genres() {
        let file = fixture(
            "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,\"American President, The (1995)\",(no genres listed)\n3,Babylon 5,Sci-Fi\n",
        );
        let movies = read_movies(file.path()).unwrap();
        assert_eq!(movies[0].title, "Toy Story");
        assert_eq!(movies[0].year, Some(1995));
        assert_eq!(movies[0].genres, vec!["Adventure", "Animation"]);
        assert_eq!(movies[1].title, "American President, The");
        assert!(movies[1].genres.is_empty());
        assert_eq!(movies[2].year, None);
        assert_eq!(
            split_title_year("Fawlty Towers (1975-1979)"),
            ("Fawlty Towers".into(), Some(1975))
        );
    }

    #[test]
    fn links_allow_empty_tmdb_ids() {
        let file = fixture("movieId,imdbId,tmdbId\n1,0114709,862\n2,0113497,\n");
        let links = read_links(file.path()).unwrap();
        assert_eq!(links[0].tmdb_id, Some(862));
        assert_eq!(links[0].imdb_id, Some(114709));
        assert_eq!(links[1].tmdb_id, None);
    }
}
