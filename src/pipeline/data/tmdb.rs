//! Reader for TMDB metadata in The Movies Dataset's `movies_metadata.csv` schema.
//! A user who owns the full Kaggle file can drop it in place of the merged one in `../shared`.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::movielens::{DataError, bad_row, open_csv};

/// The TMDB fields the content features use, parsed. Empty cells are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TmdbMovie {
    pub tmdb_id: u32,
    pub adult: Option<bool>,
    /// `belongs_to_collection` is non-empty.
    pub in_collection: bool,
    /// In dollars; TMDB writes 0 for "unknown", kept here as `None`.
    pub budget: Option<f64>,
    /// In dollars; 0 means unknown, kept as `None`.
    pub revenue: Option<f64>,
    /// Minutes; 0 means unknown.
    pub runtime: Option<f64>,
    pub popularity: Option<f64>,
    pub vote_average: Option<f64>,
    pub vote_count: Option<f64>,
    pub release_year: Option<i32>,
    pub original_language: Option<String>,
    pub overview: Option<String>,
    pub tagline: Option<String>,
    pub homepage: Option<String>,
    pub title: Option<String>,
    /// TMDB's genre names, in the file's order.
    pub genres: Vec<String>,
}

#[derive(Deserialize)]
struct Row {
    adult: String,
    belongs_to_collection: String,
    budget: String,
    genres: String,
    homepage: String,
    id: String,
    original_language: String,
    overview: String,
    popularity: String,
    release_date: String,
    revenue: String,
    runtime: String,
    tagline: String,
    title: String,
    vote_average: String,
    vote_count: String,
}

const COLUMNS: [&str; 16] = [
    "adult",
    "belongs_to_collection",
    "budget",
    "genres",
    "homepage",
    "id",
    "original_language",
    "overview",
    "popularity",
    "release_date",
    "revenue",
    "runtime",
    "tagline",
    "title",
    "vote_average",
    "vote_count",
];

fn text(cell: String) -> Option<String> {
    let trimmed = cell.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Parses a numeric cell; `Ok(None)` when empty, an error naming the column otherwise.
fn number(cell: &str, column: &str) -> Result<Option<f64>, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(format!(
            "column `{column}`: expected a non-negative number, got {cell:?}"
        )),
    }
}

/// Reads `movies_metadata.csv`, keyed by TMDB id (the first row wins for a duplicated id,
/// as in the upstream file). With `skip_bad_rows`, a malformed row is reported on stderr
/// and skipped (the full Kaggle file has a few shifted rows); otherwise it is an error.
pub fn read_tmdb(path: &Path, skip_bad_rows: bool) -> Result<HashMap<u32, TmdbMovie>, DataError> {
    let mut movies = HashMap::new();
    for_each_row(path, |line, parsed| match parsed {
        Ok(movie) => {
            movies.entry(movie.tmdb_id).or_insert(movie);
            Ok(())
        }
        Err(message) if skip_bad_rows => {
            eprintln!(
                "warning: {}, line {line}: {message}; row skipped",
                path.display()
            );
            Ok(())
        }
        Err(message) => Err(bad_row(path, line, message)),
    })?;
    Ok(movies)
}

/// Reads every row in file order with its line number; any malformed row is an error naming
/// its line (for files a person wrote, such as `add-movies` input).
pub fn read_tmdb_rows(path: &Path) -> Result<Vec<(u64, TmdbMovie)>, DataError> {
    let mut rows = Vec::new();
    for_each_row(path, |line, parsed| {
        rows.push((
            line,
            parsed.map_err(|message| bad_row(path, line, message))?,
        ));
        Ok(())
    })?;
    Ok(rows)
}

fn for_each_row(
    path: &Path,
    mut visit: impl FnMut(u64, Result<TmdbMovie, String>) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let mut reader = open_csv(path, &COLUMNS)?;
    let mut record = csv::StringRecord::new();
    let headers = reader
        .headers()
        .map_err(|e| bad_row(path, 1, e.to_string()))?
        .clone();
    loop {
        let line = reader.position().line();
        let parsed = match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => record
                .deserialize::<Row>(Some(&headers))
                .map_err(|e| format!("expected the movies_metadata.csv columns; {e}"))
                .and_then(parse_row),
            Err(e) if e.is_io_error() => {
                return Err(bad_row(path, line, format!("unreadable: {e}")));
            }
            Err(e) => Err(format!("expected {} fields; {e}", headers.len())),
        };
        visit(line, parsed)?;
    }
}

/// The genre names of TMDB's `genres` cell, a Python-literal list such as
/// `[{'id': 16, 'name': 'Animation'}, {'id': 35, 'name': 'Comedy'}]` (JSON quotes work too).
fn genre_names(cell: &str) -> Result<Vec<String>, String> {
    let cell = cell.trim();
    if cell.is_empty() || cell == "[]" {
        return Ok(Vec::new());
    }
    let bad = || format!("column `genres`: expected [{{'id': …, 'name': '…'}}, …], got {cell:?}");
    let mut names = Vec::new();
    for part in cell.split("name").skip(1) {
        let rest = part.trim_start_matches(['\'', '"']).trim_start();
        let rest = rest.strip_prefix(':').ok_or_else(bad)?.trim_start();
        let quote = rest
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(bad)?;
        let name = rest[1..]
            .split(quote)
            .next()
            .filter(|n| !n.is_empty())
            .ok_or_else(bad)?;
        names.push(name.to_owned());
    }
    if names.is_empty() {
        return Err(bad());
    }
    Ok(names)
}

fn parse_row(row: Row) -> Result<TmdbMovie, String> {
    let tmdb_id = row.id.trim().parse::<u32>().map_err(|_| {
        format!(
            "column `id`: expected a TMDB id (integer), got {:?}",
            row.id
        )
    })?;
    let adult = match row.adult.trim() {
        "" => None,
        "True" | "true" => Some(true),
        "False" | "false" => Some(false),
        other => {
            return Err(format!(
                "column `adult`: expected True or False, got {other:?}"
            ));
        }
    };
    let known = |v: Option<f64>| v.filter(|x| *x > 0.0);
    let release_year = match row.release_date.trim() {
        "" => None,
        date => Some(
            date.get(..4)
                .and_then(|y| y.parse::<i32>().ok())
                .ok_or_else(|| {
                    format!("column `release_date`: expected YYYY-MM-DD, got {date:?}")
                })?,
        ),
    };
    Ok(TmdbMovie {
        tmdb_id,
        adult,
        in_collection: !row.belongs_to_collection.trim().is_empty(),
        budget: known(number(&row.budget, "budget")?),
        revenue: known(number(&row.revenue, "revenue")?),
        runtime: known(number(&row.runtime, "runtime")?),
        popularity: number(&row.popularity, "popularity")?,
        vote_average: number(&row.vote_average, "vote_average")?,
        vote_count: number(&row.vote_count, "vote_count")?,
        release_year,
        original_language: text(row.original_language),
        // "No overview found." is TMDB's placeholder, not an overview.
        overview: text(row.overview).filter(|o| o != "No overview found."),
        tagline: text(row.tagline),
        homepage: text(row.homepage),
        title: text(row.title),
        genres: genre_names(&row.genres)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HEADER: &str = "adult,belongs_to_collection,budget,genres,homepage,id,imdb_id,original_language,original_title,overview,popularity,poster_path,production_companies,production_countries,release_date,revenue,runtime,spoken_languages,status,tagline,title,video,vote_average,vote_count\n";

    fn fixture(rows: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(HEADER.as_bytes()).unwrap();
        file.write_all(rows.as_bytes()).unwrap();
        file
    }

    #[test]
    fn parses_fields_and_treats_zero_money_as_unknown() {
        let file = fixture(
            "False,\"{'id': 1}\",30000000,[],http://x,862,tt0114709,en,Toy Story,\"Toys, alive.\",21.9,,[],[],1995-10-30,0,81.0,[],Released,,Toy Story,False,7.7,5415\n\
             ,,0,[],,42,tt1,,,No overview found.,,,,,,,,,,,Other,,6.0,10\n",
        );
        let movies = read_tmdb(file.path(), false).unwrap();
        let toy = &movies[&862];
        assert_eq!(toy.budget, Some(30_000_000.0));
        assert_eq!(toy.revenue, None, "0 revenue means unknown");
        assert_eq!(toy.release_year, Some(1995));
        assert!(toy.in_collection);
        assert_eq!(toy.adult, Some(false));
        assert_eq!(toy.overview.as_deref(), Some("Toys, alive."));
        let other = &movies[&42];
        assert_eq!(other.budget, None);
        assert_eq!(other.overview, None, "the TMDB placeholder is no overview");
        assert!(!other.in_collection);
    }

    #[test]
    fn genres_are_read_from_the_python_literal_list() {
        assert_eq!(
            genre_names(
                "[{'id': 16, 'name': 'Animation'}, {'id': 878, 'name': 'Science Fiction'}]"
            )
            .unwrap(),
            ["Animation", "Science Fiction"]
        );
        assert_eq!(
            genre_names(r#"[{"id": 99, "name": "Documentary"}]"#).unwrap(),
            ["Documentary"]
        );
        assert!(genre_names("[]").unwrap().is_empty());
        assert!(
            genre_names("Comedy")
                .unwrap_err()
                .contains("column `genres`")
        );
    }

    #[test]
    fn a_shifted_row_is_an_error_naming_the_line_or_is_skipped_on_request() {
        let rows = "False,,100,[],,862,tt1,en,T,O,1.0,,[],[],1995-10-30,0,81.0,[],Released,,T,False,7.7,5\n\
                    - Written by Ørnås,0.065736,/ff9qCepilowshEtG2GYWwzt2bs4.jpg,[],[],1997-08-20,0,[],Released,,T,False,1,1,,,,,,\n";
        let file = fixture(rows);
        let err = read_tmdb(file.path(), false).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("expected"), "{err}");
        let movies = read_tmdb(file.path(), true).unwrap();
        assert_eq!(movies.len(), 1);
    }
}
