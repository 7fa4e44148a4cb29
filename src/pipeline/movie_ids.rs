//! The movie-id registry: every TMDB id → movie id pair any catalog of this site has held, so a
//! film keeps its id for good. Visitors' thumbs are saved in their browsers by movie id; an id
//! that moved to another film would silently move their thumbs with it.
//!
//! `export` writes it (its catalog merged in, a film registered earlier getting its registered
//! id back) and `add-movies` reads it, merged with the bundle's catalog (so a
//! missing registry is created from the catalog), and records the ids it hands out. Entries are
//! never dropped. Both take [`lock`] for their read-modify-write, so two runs at once cannot
//! lose either's movies.
//!
//! The file is JSON, `{"format": "movie-genie-movie-ids", "version": 1, "movies": {"<TMDB id>":
//! <movie id>, …}}`, keys in numeric order (one line each, for readable diffs).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::engine::MovieId;
use crate::engine::bundle::CatalogEntry;

/// Where `export` and `add-movies` keep the registry (committed beside the item tower; not part
/// of the site).
pub const MOVIE_IDS_FILE: &str = "shipped/movie-ids.json";

/// The first id `add-movies` hands out. MovieLens numbers its films upward from 1 (193,609 in
/// ml-latest-small after 25 years), so ids above the largest MovieLens id would be given to
/// other films by a later MovieLens release and clash on the next retrain; ids from 10⁹ up
/// never meet a MovieLens id and leave 3.29·10⁹ below `u32::MAX`.
pub const FIRST_ADDED_ID: u32 = 1_000_000_000;

const FORMAT: &str = "movie-genie-movie-ids";
const VERSION: u32 = 1;

/// What can go wrong reading, merging or writing the registry; nothing is written when any of
/// these happens.
#[derive(Debug, thiserror::Error)]
pub enum MovieIdsError {
    #[error("{path}: expected {expected}, got {got}")]
    Corrupt {
        path: PathBuf,
        expected: String,
        got: String,
    },
    #[error(
        "{registry} and {catalog} disagree: {what}; expected the registry to hold every id the catalog uses (restore the registry that was written with the bundle)"
    )]
    Disagree {
        registry: PathBuf,
        catalog: String,
        what: String,
    },
    #[error("no movie id left below 2^32 for TMDB id {tmdb_id}")]
    Exhausted { tmdb_id: u32 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The file's shape (`movies`: TMDB id → movie id).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    format: String,
    version: u32,
    movies: BTreeMap<u32, u32>,
}

/// TMDB id → movie id, one id per film and one film per id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MovieIds {
    by_tmdb: BTreeMap<u32, MovieId>,
    by_id: HashMap<MovieId, u32>,
}

impl MovieIds {
    /// The registry at `path`, or an empty one when there is no file.
    pub fn read(path: &Path) -> Result<Self, MovieIdsError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_json(&bytes, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(MovieIdsError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses and validates the file's bytes (`path` names it in errors).
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, MovieIdsError> {
        let corrupt = |expected: &str, got: String| MovieIdsError::Corrupt {
            path: path.to_owned(),
            expected: expected.to_owned(),
            got,
        };
        let shape = format!(
            r#"{{"format": "{FORMAT}", "version": {VERSION}, "movies": {{"<TMDB id>": <movie id>, …}}}}"#
        );
        // The format and version first: another version is named as such, not as a parse error.
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(&shape, format!("not JSON ({e})")))?;
        let (format, version) = (value.get("format"), value.get("version"));
        if format.and_then(|f| f.as_str()) != Some(FORMAT)
            || version.and_then(|v| v.as_u64()) != Some(VERSION.into())
        {
            return Err(corrupt(
                &format!("format {FORMAT:?} version {VERSION}"),
                format!(
                    "format {} version {}",
                    format.map_or("(none)".into(), |f| f.to_string()),
                    version.map_or("(none)".into(), |v| v.to_string())
                ),
            ));
        }
        let file: RegistryFile =
            serde_json::from_value(value).map_err(|e| corrupt(&shape, e.to_string()))?;
        let mut ids = Self::default();
        for (tmdb_id, movie_id) in file.movies {
            ids.insert(tmdb_id, MovieId(movie_id)).map_err(|other| {
                corrupt(
                    "each movie id once",
                    format!("movie {movie_id} for TMDB ids {other} and {tmdb_id}"),
                )
            })?;
        }
        Ok(ids)
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        let file = RegistryFile {
            format: FORMAT.into(),
            version: VERSION,
            movies: self.by_tmdb.iter().map(|(t, m)| (*t, m.0)).collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("plain JSON values");
        text.push('\n');
        text
    }

    /// Writes the registry to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), MovieIdsError> {
        let text = self.to_json();
        crate::pipeline::atomic::write_atomic(path, |f| {
            std::io::Write::write_all(f, text.as_bytes())
        })
        .map_err(|source| MovieIdsError::Io {
            path: path.to_owned(),
            source,
        })
    }

    pub fn len(&self) -> usize {
        self.by_tmdb.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_tmdb.is_empty()
    }

    /// The id registered for `tmdb_id`.
    pub fn get(&self, tmdb_id: u32) -> Option<MovieId> {
        self.by_tmdb.get(&tmdb_id).copied()
    }

    /// Registers `tmdb_id` as `movie_id`; `Err` names the TMDB id that already holds the movie
    /// id. A TMDB id registered before keeps its id.
    fn insert(&mut self, tmdb_id: u32, movie_id: MovieId) -> Result<(), u32> {
        match self.by_id.get(&movie_id) {
            Some(&other) if other != tmdb_id => return Err(other),
            _ => {}
        }
        if !self.by_tmdb.contains_key(&tmdb_id) {
            self.by_tmdb.insert(tmdb_id, movie_id);
            self.by_id.insert(movie_id, tmdb_id);
        }
        Ok(())
    }

    /// The id of `tmdb_id`: its registered one, or else the next unused id from
    /// [`FIRST_ADDED_ID`] up (above every id registered or in `catalog`), registered now.
    pub fn id_for(
        &mut self,
        tmdb_id: u32,
        catalog: &[CatalogEntry],
    ) -> Result<MovieId, MovieIdsError> {
        if let Some(id) = self.get(tmdb_id) {
            return Ok(id);
        }
        let highest = self
            .by_id
            .keys()
            .chain(catalog.iter().map(|e| &e.movie_id))
            .map(|m| m.0)
            .max()
            .unwrap_or(0)
            .max(FIRST_ADDED_ID - 1);
        let id = highest
            .checked_add(1)
            .map(MovieId)
            .ok_or(MovieIdsError::Exhausted { tmdb_id })?;
        self.insert(tmdb_id, id)
            .expect("an id above every registered one is free");
        Ok(id)
    }

    /// Registers every film of `catalog` (named `source` in errors) not registered yet; a film
    /// registered under another id, or an id registered to another film, is an error (`path`:
    /// the registry). MovieLens links a few TMDB ids to two movies (ml-latest-small: TMDB 4912,
    /// movies 26587 and 32600); the smallest of their ids is registered and each keeps its own.
    pub fn register_catalog(
        &mut self,
        catalog: &[CatalogEntry],
        path: &Path,
        source: &str,
    ) -> Result<(), MovieIdsError> {
        let disagree = |what: String| MovieIdsError::Disagree {
            registry: path.to_owned(),
            catalog: source.to_owned(),
            what,
        };
        for entry in catalog {
            match self.by_id.get(&entry.movie_id) {
                Some(&other) if entry.tmdb_id != Some(other) => {
                    return Err(disagree(format!(
                        "movie {} is registered for TMDB id {other}, but the catalog has it as {} ({})",
                        entry.movie_id,
                        entry
                            .tmdb_id
                            .map_or("no TMDB id".into(), |t| format!("TMDB id {t}")),
                        entry.label()
                    )));
                }
                _ => {}
            }
        }
        for (tmdb_id, films) in by_tmdb(catalog) {
            let ids: Vec<MovieId> = films.iter().map(|&i| catalog[i].movie_id).collect();
            match self.get(tmdb_id) {
                Some(id) if ids.contains(&id) => {}
                Some(id) => {
                    return Err(disagree(format!(
                        "TMDB id {tmdb_id} is registered as movie {id}, but the catalog has it as movie {} ({})",
                        ids[0],
                        catalog[films[0]].label()
                    )));
                }
                None => self.insert(tmdb_id, ids[0]).map_err(|other| {
                    disagree(format!(
                        "the catalog has movie {} twice, as TMDB ids {other} and {tmdb_id}",
                        ids[0]
                    ))
                })?,
            }
        }
        Ok(())
    }

    /// `export`'s catalog with the registry's ids: a film registered before (added by
    /// `add-movies`, now in the training data) gets its registered id instead of its MovieLens
    /// one, unless a film of the same TMDB id already has it; then every film is registered
    /// ([`MovieIds::register_catalog`]).
    pub fn renumber(
        &mut self,
        catalog: &mut [CatalogEntry],
        path: &Path,
        source: &str,
    ) -> Result<(), MovieIdsError> {
        for (tmdb_id, films) in by_tmdb(catalog) {
            let Some(id) = self.get(tmdb_id) else {
                continue;
            };
            if films.iter().all(|&i| catalog[i].movie_id != id) {
                catalog[films[0]].movie_id = id;
            }
        }
        self.register_catalog(catalog, path, source)
    }
}

/// `movie-genie register-ids`: under the lock, records the catalog of the bundle at `bundle` in
/// the registry at `path` (created when missing). Returns how many films it held before and
/// after.
pub fn register_bundle(bundle: &Path, path: &Path) -> anyhow::Result<(usize, usize)> {
    use anyhow::Context;
    let _lock = lock(path)?;
    let bytes = std::fs::read(bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let catalog = crate::engine::bundle::Bundle::from_bytes(&bytes)
        .with_context(|| format!("loading {}", bundle.display()))?
        .catalog;
    let mut ids = MovieIds::read(path)?;
    let before = ids.len();
    ids.register_catalog(&catalog, path, &bundle.display().to_string())?;
    ids.write(path)?;
    Ok((before, ids.len()))
}

/// The catalog's rows by TMDB id, each group's rows by ascending movie id.
fn by_tmdb(catalog: &[CatalogEntry]) -> BTreeMap<u32, Vec<usize>> {
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, entry) in catalog.iter().enumerate() {
        if let Some(tmdb_id) = entry.tmdb_id {
            groups.entry(tmdb_id).or_default().push(i);
        }
    }
    for rows in groups.values_mut() {
        rows.sort_by_key(|&i| catalog[i].movie_id);
    }
    groups
}

/// An exclusive lock for a read-modify-write of the registry at `path` (and of the bundle
/// beside it), held until the returned file is dropped: the lock file `<path>.lock`, left in
/// place for the next run. A second run waits for the first, saying so on stderr.
pub fn lock(path: &Path) -> Result<File, MovieIdsError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let io = |source| MovieIdsError::Io {
        path: lock_path.clone(),
        source,
    };
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!(
                "waiting for {}: another add-movies or export is using {}",
                lock_path.display(),
                path.display()
            );
            file.lock().map_err(io)?;
            Ok(file)
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn film(movie_id: u32, tmdb_id: Option<u32>) -> CatalogEntry {
        CatalogEntry {
            movie_id: MovieId(movie_id),
            title: format!("Movie {movie_id}"),
            year: None,
            genres: vec![],
            tmdb_id,
            popularity: 0.0,
            new: false,
        }
    }

    fn path() -> &'static Path {
        Path::new("movie-ids.json")
    }

    #[test]
    fn the_file_round_trips_and_a_bad_one_says_what_was_expected() {
        let mut ids = MovieIds::default();
        ids.register_catalog(&[film(1, Some(862)), film(2, Some(8844))], path(), "c")
            .unwrap();
        assert_eq!(ids.id_for(5, &[]).unwrap(), MovieId(FIRST_ADDED_ID));
        let text = ids.to_json();
        assert!(text.contains("\"862\": 1"), "{text}");
        assert_eq!(MovieIds::from_json(text.as_bytes(), path()).unwrap(), ids);

        for (bad, expected) in [
            ("[1, 2]", "format \"movie-genie-movie-ids\" version 1"),
            (
                r#"{"format": "movie-genie-movie-ids", "version": 2, "movies": {}}"#,
                "got format \"movie-genie-movie-ids\" version 2",
            ),
            (
                r#"{"format": "movie-genie-movie-ids", "version": 1, "movies": {"862": 1, "9": 1}}"#,
                "movie 1 for TMDB ids 9 and 862",
            ),
            (
                r#"{"format": "movie-genie-movie-ids", "version": 1, "movies": {"862": -1}}"#,
                "got invalid value",
            ),
            ("{", "not JSON"),
        ] {
            let err = MovieIds::from_json(bad.as_bytes(), path())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("movie-ids.json: expected"), "{err}");
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn export_gives_registered_films_their_ids_back_and_drops_nothing() {
        let mut ids = MovieIds::default();
        ids.register_catalog(&[film(1, Some(862))], path(), "old")
            .unwrap();
        let added = ids.id_for(777, &[]).unwrap();
        let gone = ids.id_for(888, &[]).unwrap();
        // A retrain whose MovieLens now has film 777 as movie 200000, and 862 twice.
        let mut catalog = vec![
            film(1, Some(862)),
            film(200_000, Some(777)),
            film(3, Some(862)),
            film(4, None),
        ];
        ids.renumber(&mut catalog, path(), "new").unwrap();
        let got: Vec<u32> = catalog.iter().map(|e| e.movie_id.0).collect();
        assert_eq!(got, [1, added.0, 3, 4]);
        assert_eq!(ids.get(888), Some(gone), "kept though no catalog has it");
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn a_catalog_that_disagrees_with_the_registry_is_refused() {
        let mut ids = MovieIds::default();
        ids.register_catalog(&[film(1, Some(862))], path(), "old")
            .unwrap();
        let err = ids
            .clone()
            .register_catalog(&[film(2, Some(862))], path(), "b.bundle")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TMDB id 862 is registered as movie 1, but the catalog has it as movie 2"),
            "{err}"
        );
        let err = ids
            .register_catalog(&[film(1, Some(9))], path(), "b.bundle")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("movie 1 is registered for TMDB id 862"),
            "{err}"
        );
    }

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let registry = dir.path().join("movie-ids.json");
        let first = lock(&registry).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _second = lock(&registry).unwrap();
                tx.send(()).unwrap();
            });
            let waited = rx.recv_timeout(std::time::Duration::from_millis(200));
            assert!(
                waited.is_err(),
                "the second lock was taken while the first was held"
            );
            drop(first);
            rx.recv_timeout(std::time::Duration::from_secs(5))
                .expect("the second lock is taken once the first is released");
        });
    }
}
