//! `add-movies` end to end on a synthetic bundle and a small item tower: the grown bundle loads,
//! the new rows rank where their content puts them, and bad rows are refused with nothing
//! written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use burn::tensor::{Device, TensorData};
use movie_genie::engine::MovieId;
use movie_genie::engine::bundle::Int8Table;
use movie_genie::engine::bundle::format::{encode_tensors, sha256_hex};
use movie_genie::engine::bundle::{Bundle, CatalogEntry};
use movie_genie::engine::describe::{DescribeSettings, Placement, QueryEncoder, SearchData};
use movie_genie::engine::model::mlp::MlpConfig;
use movie_genie::engine::recommender::Recommender;
use movie_genie::fixtures::{SyntheticSpec, seeded_unit_rows, synthetic_bundle};
use movie_genie::pipeline::add_movies::{
    AddMoviesPaths, AddedMovie, ColdStart, ItemTowerFile, NewBias, add_movies_file,
};
use movie_genie::pipeline::data::content::{FeatureGroup, FeatureLayout, NumericStat};
use movie_genie::pipeline::export::write_atomic;
use movie_genie::pipeline::movie_ids::{FIRST_ADDED_ID, MovieIds};

const HEADER: &str = "adult,belongs_to_collection,budget,genres,homepage,id,imdb_id,original_language,original_title,overview,popularity,poster_path,production_companies,production_countries,release_date,revenue,runtime,spoken_languages,status,tagline,title,video,vote_average,vote_count\n";

/// Words the fake sentence model knows; an overview embeds as the words it contains.
const WORDS: [&str; 4] = ["space", "cowboy", "ghost", "love"];

fn device() -> Device {
    movie_genie::engine::cpu_device()
}

fn embed(texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
    Ok(texts
        .iter()
        .map(|t| {
            WORDS
                .iter()
                .map(|w| f32::from(t.to_lowercase().contains(w)))
                .collect()
        })
        .collect())
}

/// A layout of 7 numbers, 7 missing flags, 2 languages + other, 6 flags, the synthetic
/// bundle's 3 genres and a 4-wide "text embedding".
fn layout() -> FeatureLayout {
    let widths = [
        ("numeric", 7),
        ("numeric_missing", 7),
        ("language", 3),
        ("flags", 6),
        ("genres", 3),
        ("text_embedding", WORDS.len()),
    ];
    let mut groups = Vec::new();
    let mut start = 0;
    for (name, len) in widths {
        groups.push(FeatureGroup {
            name: name.into(),
            start,
            len,
        });
        start += len;
    }
    FeatureLayout {
        version: 1,
        dim: start,
        columns: (0..start).map(|i| format!("c{i}")).collect(),
        groups,
        numeric: (0..7)
            .map(|i| NumericStat {
                name: format!("n{i}"),
                mean: 10.0,
                std: 1000.0,
                present: 10,
            })
            .collect(),
        languages: vec!["en".into(), "fr".into()],
        genres: vec!["Action".into(), "Comedy".into(), "Drama".into()],
        text_embedding_dim: WORDS.len(),
    }
}

/// Writes the synthetic bundle and an item tower that fits it into `dir`.
fn fixture(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let bundle = synthetic_bundle(&SyntheticSpec::small(40), 3);
    let layout = layout();
    let (id_width, hidden, out) = (4, 12, bundle.meta.serving.user_tower.d_output);
    let mlp = MlpConfig::new(id_width + layout.dim, vec![hidden], out);
    // Small seeded weights, plus the overview's words carried to their own output units, so
    // different words make different vectors and the same words the same one.
    let text = layout.group("text_embedding").unwrap().start + id_width;
    let weights = |d_in: usize, d_out: usize, seed: u64, word_rows: usize| {
        let mut w: Vec<f32> = seeded_unit_rows(d_in, d_out, seed)
            .iter()
            .map(|x| 0.05 * x)
            .collect();
        for j in 0..WORDS.len() {
            w[(word_rows + j) * d_out + j] = 3.0;
        }
        (
            TensorData::new(w, [d_in, d_out]),
            TensorData::new(vec![0.0f32; d_out], [d_out]),
        )
    };
    // Three trained movies lend their ids: the one whose probe is nearest a new movie's wins.
    let int8 = |rows: usize, dim: usize, seed| {
        Int8Table::quantize(&seeded_unit_rows(rows, dim, seed), dim).unwrap()
    };
    let tower = ItemTowerFile {
        layers: vec![
            weights(mlp.d_input, hidden, 1, text),
            weights(hidden, out, 2, 0),
        ],
        mlp,
        cold: ColdStart {
            mean_id: vec![0.0; id_width],
            biases: vec![0.0; 3],
            ids: int8(3, id_width, 3),
            probes: int8(3, out, 4),
            neighbours: 1,
            new_bias: NewBias::Median,
        },
        layout,
        bundle_tensors_sha256: sha256_hex(&encode_tensors(&bundle.tensors)),
    };
    let bundle_path = dir.join("in.bundle");
    write_atomic(&bundle_path, &bundle).unwrap();
    let tower_path = dir.join("item-tower.safetensors");
    std::fs::write(&tower_path, tower.to_bytes()).unwrap();
    let back = ItemTowerFile::from_bytes(&std::fs::read(&tower_path).unwrap()).unwrap();
    assert_eq!(
        back.cold.probes, tower.cold.probes,
        "the item tower file round-trips"
    );
    assert_eq!(back.layers, tower.layers);
    (bundle_path, tower_path)
}

/// The genres cell of a drama.
const DRAMA: &str = "[{'id': 18, 'name': 'Drama'}]";

/// A drama about space cowboys, by id and title: two of them are each other's nearest movie.
fn space_cowboys(id: &str, title: &str) -> String {
    row(id, title, DRAMA, "Space cowboy adventure", "100")
}

/// A movies_metadata.csv row: id, title, genres cell, overview, budget.
fn row(id: &str, title: &str, genres: &str, overview: &str, budget: &str) -> String {
    row_of(&[
        ("id", id),
        ("title", title),
        ("genres", genres),
        ("overview", overview),
        ("budget", budget),
    ])
}

/// A movies_metadata.csv row of a plausible 2019 drama, with `cells` (column, text) instead.
fn row_of(cells: &[(&str, &str)]) -> String {
    let usual = [
        ("adult", "False"),
        ("budget", "10"),
        ("genres", DRAMA),
        ("id", "900001"),
        ("imdb_id", "tt1"),
        ("original_language", "en"),
        ("overview", "love"),
        ("popularity", "5.0"),
        ("production_companies", "[]"),
        ("production_countries", "[]"),
        ("release_date", "2019-01-01"),
        ("revenue", "0"),
        ("runtime", "100"),
        ("spoken_languages", "[]"),
        ("status", "Released"),
        ("title", "Fine Film"),
        ("video", "False"),
        ("vote_average", "7.0"),
        ("vote_count", "100"),
    ];
    let cell = |column: &str| {
        let text = cells
            .iter()
            .chain(&usual)
            .find(|(c, _)| *c == column)
            .map_or("", |(_, t)| t);
        format!("\"{}\"", text.replace('"', "\"\""))
    };
    let cells: Vec<String> = HEADER.trim_end().split(',').map(cell).collect();
    format!("{}\n", cells.join(","))
}

fn csv(dir: &Path, rows: &[String]) -> std::path::PathBuf {
    let path = dir.join("new.csv");
    std::fs::write(&path, format!("{HEADER}{}", rows.concat())).unwrap();
    path
}

#[test]
fn added_movies_load_are_marked_new_and_rank_by_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let movies = csv(
        dir.path(),
        &[
            space_cowboys("900001", "Space Cowboys Return"),
            space_cowboys("900002", "Space Cowboys Again"),
            row(
                "900003",
                "A Quiet Ghost",
                "[{'id': 35, 'name': 'Comedy'}]",
                "A ghost in love",
                "",
            ),
        ],
    );
    let out = dir.path().join("out.bundle");
    let paths = AddMoviesPaths {
        movies: &movies,
        out: &out,
        ..site.paths()
    };
    let (added, _) = add_movies_file(&paths, embed, &device()).unwrap();
    assert_eq!(added.len(), 3);

    let grown = Bundle::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let old = Bundle::from_bytes(&std::fs::read(&site.bundle).unwrap()).unwrap();
    assert_eq!(grown.catalog.len(), old.catalog.len() + 3);
    assert_eq!(
        grown.catalog[..old.catalog.len()],
        old.catalog[..],
        "old rows kept"
    );
    let new: Vec<_> = grown.catalog.iter().filter(|e| e.new).collect();
    assert_eq!(new.len(), 3);
    assert_eq!(new[2].genres, ["Comedy"]);
    assert_eq!(new[0].tmdb_id, Some(900001));

    let r = Recommender::from_bundle(grown, &device()).unwrap();
    // Same content, same vector: each twin is the other's nearest movie.
    let near = r.similar(added[0].movie_id, 50).unwrap();
    assert_eq!(near[0].movie_id, added[1].movie_id, "{near:?}");
    assert!(near[0].new && near[0].score > 0.99, "{near:?}");
    let ghost = near
        .iter()
        .find(|m| m.movie_id == added[2].movie_id)
        .unwrap();
    assert!(
        ghost.score < 0.5,
        "other words, another place: {}",
        ghost.score
    );
    assert!(r.search("quiet ghost", 5)[0].new);
}

/// "Describe a movie" search data for `bundle`'s catalog beside it: one piece per word the fake
/// sentence model knows, each along its own axis, and the trained movies at seeded places.
fn search_beside(bundle: &Path) {
    let catalog = Bundle::from_bytes(&std::fs::read(bundle).unwrap())
        .unwrap()
        .catalog;
    let dim = WORDS.len();
    let mut vocabulary = vec!["[UNK]".to_owned()];
    vocabulary.extend(WORDS.iter().map(|w| w.to_string()));
    let mut pieces = vec![0.0f32; dim];
    let mut weights = vec![0.0f32];
    for j in 0..dim {
        pieces.extend((0..dim).map(|k| f32::from(j == k)));
        weights.push(1.0);
    }
    let identity: Vec<f32> = pieces[dim..].to_vec();
    let encoder = QueryEncoder::new(
        vocabulary,
        weights,
        vec![0.0; dim],
        Int8Table::quantize(&pieces, dim).unwrap(),
    )
    .unwrap();
    let data = SearchData::new(
        "fake".into(),
        DescribeSettings {
            popularity_weight: 0.0,
            min_standout: 0.0,
            feedback_movies: 0,
            feedback_weight: 0.0,
        },
        Placement {
            projection: identity,
            source_dim: dim,
            text_share: 0.5,
        },
        encoder,
        catalog.iter().map(|e| e.movie_id).collect(),
        Int8Table::quantize(&seeded_unit_rows(catalog.len(), dim, 9), dim).unwrap(),
    )
    .unwrap();
    std::fs::write(AddMoviesPaths::search_of(bundle), data.to_bytes()).unwrap();
}

#[test]
fn added_movies_join_the_search_data_beside_the_bundle_and_are_found_by_description() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    search_beside(&site.bundle);
    let added = site
        .add(&[
            space_cowboys("900001", "Space Cowboys Return"),
            row("900003", "A Quiet Ghost", DRAMA, "A ghost in love", ""),
        ])
        .unwrap();
    let search =
        SearchData::from_bytes(&std::fs::read(AddMoviesPaths::search_of(&site.bundle)).unwrap())
            .unwrap();
    let bundle = Bundle::from_bytes(&std::fs::read(&site.bundle).unwrap()).unwrap();
    let ids: Vec<MovieId> = bundle.catalog.iter().map(|e| e.movie_id).collect();
    assert_eq!(
        search.movie_ids, ids,
        "one search vector per catalog movie, in order"
    );
    let mut r = Recommender::from_bundle(bundle, &device()).unwrap();
    r.set_search(search);
    let found = r.describe("space cowboy", 0.0, 3).unwrap().unwrap();
    assert_eq!(found[0].movie_id, added[0].movie_id, "{found:?}");
    let found = r.describe("a ghost in love", 0.0, 3).unwrap().unwrap();
    assert_eq!(found[0].movie_id, added[1].movie_id, "{found:?}");
}

#[test]
fn bad_rows_are_refused_naming_the_row_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let before = std::fs::read(&site.bundle).unwrap();
    let good = row("900001", "Fine Film", DRAMA, "love", "10");
    let cases = [
        (row("900002", "", DRAMA, "love", "10"), "expected a title"),
        (row("900001", "Twice", DRAMA, "love", "10"), "appears twice"),
        // The synthetic catalog's TMDB ids are 1000 + row.
        (
            row("1005", "Known", DRAMA, "love", "10"),
            "already in the catalog",
        ),
        (
            row("900003", "Money", DRAMA, "love", "lots"),
            "column `budget`",
        ),
        (
            row("900004", "Odd", "Drama", "love", "10"),
            "column `genres`",
        ),
    ];
    for (bad, reason) in cases {
        let text = format!("{:#}", site.add(&[good.clone(), bad]).unwrap_err());
        // The bad row follows the header and the good row.
        assert!(text.contains("line 3") && text.contains(reason), "{text}");
        assert_eq!(std::fs::read(&site.bundle).unwrap(), before, "{text}");
        assert!(!site.movie_ids.exists(), "nothing written after: {text}");
    }
}

#[test]
fn an_item_tower_of_another_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let other = dir.path().join("other.bundle");
    write_atomic(&other, &synthetic_bundle(&SyntheticSpec::small(40), 99)).unwrap();
    let movies = csv(
        dir.path(),
        &[row("900001", "Fine Film", "[]", "love", "10")],
    );
    let paths = AddMoviesPaths {
        bundle: &other,
        movies: &movies,
        out: &dir.path().join("o"),
        ..site.paths()
    };
    let err = add_movies_file(&paths, embed, &device()).unwrap_err();
    assert!(
        format!("{err:#}").contains("belongs to another model"),
        "{err:#}"
    );
}

/// The files one `add-movies` run reads and writes, all in one folder.
struct Site {
    bundle: PathBuf,
    tower: PathBuf,
    movie_ids: PathBuf,
    dir: PathBuf,
}

impl Site {
    /// The synthetic bundle and its item tower in `dir`, no registry yet.
    fn new(dir: &Path) -> Self {
        let (bundle, tower) = fixture(dir);
        Self {
            bundle,
            tower,
            movie_ids: dir.join("movie-ids.json"),
            dir: dir.to_owned(),
        }
    }

    /// A copy of this site's files in `dir`, with `bundle` as its bundle's bytes.
    fn copy_to(&self, dir: &Path, bundle: &[u8]) -> Self {
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        let site = Self {
            bundle: dir.join(self.bundle.file_name().unwrap()),
            tower: dir.join(self.tower.file_name().unwrap()),
            movie_ids: dir.join(self.movie_ids.file_name().unwrap()),
            dir: dir.to_owned(),
        };
        std::fs::write(&site.bundle, bundle).unwrap();
        site
    }

    /// The catalog of this site's bundle.
    fn catalog(&self) -> Vec<CatalogEntry> {
        Bundle::from_bytes(&std::fs::read(&self.bundle).unwrap())
            .unwrap()
            .catalog
    }

    /// This site's files, `add-movies` in place.
    fn paths(&self) -> AddMoviesPaths<'_> {
        AddMoviesPaths {
            bundle: &self.bundle,
            tower: &self.tower,
            movie_ids: &self.movie_ids,
            movies: &self.bundle,
            out: &self.bundle,
        }
    }

    /// `add-movies` of `rows` into this site's bundle, in place.
    fn add(&self, rows: &[String]) -> anyhow::Result<Vec<AddedMovie>> {
        self.add_with(rows, embed)
    }

    fn add_with(
        &self,
        rows: &[String],
        embed: impl Fn(&[&str]) -> Result<Vec<Vec<f32>>, String>,
    ) -> anyhow::Result<Vec<AddedMovie>> {
        let movies = self.dir.join(format!("new-{}.csv", unique()));
        std::fs::write(&movies, format!("{HEADER}{}", rows.concat())).unwrap();
        let paths = AddMoviesPaths {
            movies: &movies,
            ..self.paths()
        };
        let added = add_movies_file(&paths, embed, &device());
        std::fs::remove_file(&movies).unwrap();
        Ok(added?.0)
    }
}

/// A number no other call in this process gets: names for files written side by side.
fn unique() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn ids_by_tmdb(added: &[AddedMovie]) -> HashMap<u32, MovieId> {
    added.iter().map(|m| (m.tmdb_id, m.movie_id)).collect()
}

fn films() -> Vec<String> {
    vec![
        row("900001", "First Film", DRAMA, "space", "10"),
        row("900002", "Second Film", DRAMA, "ghost", "10"),
        row("900003", "Third Film", DRAMA, "love", "10"),
    ]
}

/// A visitor's thumbs are stored by movie id, so an id must stay with its film: through a
/// rerun, a reordered file, and the film leaving the bundle (a new export) and coming back.
#[test]
fn a_film_keeps_its_id_through_reruns_reorders_and_removals() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let exported = std::fs::read(&site.bundle).unwrap();
    let films = films();
    let first = ids_by_tmdb(&site.add(&films).unwrap());
    assert_eq!(first.len(), 3);

    let grown = std::fs::read(&site.bundle).unwrap();
    let err = format!("{:#}", site.add(&films).unwrap_err());
    assert!(err.contains("already in the catalog"), "{err}");
    assert_eq!(
        std::fs::read(&site.bundle).unwrap(),
        grown,
        "a rerun writes nothing"
    );

    // The bundle as exported again (the added films gone), with everything else kept.
    let other = tempfile::tempdir().unwrap();
    let copy = site.copy_to(other.path(), &exported);
    let reordered = [films[2].clone(), films[0].clone(), films[1].clone()];
    assert_eq!(
        ids_by_tmdb(&copy.add(&reordered).unwrap()),
        first,
        "reordered"
    );

    let third = tempfile::tempdir().unwrap();
    let copy = site.copy_to(third.path(), &exported);
    let back = copy.add(&films[1..2]).unwrap();
    assert_eq!(back[0].movie_id, first[&900002], "re-added alone");
}

/// An id handed out once is never handed to another film, even after its film left the
/// bundle; and no added film takes a catalog movie's id.
#[test]
fn a_new_film_never_takes_an_id_handed_out_before() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let exported = std::fs::read(&site.bundle).unwrap();
    let catalog: Vec<MovieId> = Bundle::from_bytes(&exported)
        .unwrap()
        .catalog
        .iter()
        .map(|e| e.movie_id)
        .collect();
    let first = site.add(&films()[..1]).unwrap();

    let other = tempfile::tempdir().unwrap();
    let copy = site.copy_to(other.path(), &exported);
    let later = copy.add(&films()[1..]).unwrap();
    for m in &later {
        assert_ne!(m.movie_id, first[0].movie_id, "{} took a used id", m.title);
        assert!(
            !catalog.contains(&m.movie_id),
            "{} took a catalog id",
            m.title
        );
    }
    assert_ne!(later[0].movie_id, later[1].movie_id);
}

/// Numbers and genres no real film has are typos or slipped columns: refused, naming the
/// line, what was expected and what was got, with nothing written.
#[test]
fn implausible_rows_are_refused_naming_the_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let before = std::fs::read(&site.bundle).unwrap();
    // Every file but a lock file (empty, left for the next run).
    let files = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .path()
                    .to_string_lossy()
                    .ends_with(".lock")
            })
            .count()
    };
    let files_before = files();
    let good = row_of(&[("id", "900001")]);
    let cases = [
        (
            ("genres", "[{'id': 1, 'name': 'Sci Fi'}]"),
            "got \"Sci Fi\"",
        ),
        (
            (
                "genres",
                "[{'id': 18, 'name': 'Drama'}, {'id': 18, 'name': 'Drama'}]",
            ),
            "\"Drama\" twice",
        ),
        (("runtime", "1e30"), "got 1e30"),
        (("vote_average", "11"), "got 11"),
        (("release_date", "1700-01-01"), "got 1700"),
        (("budget", "1e15"), "got 1e15"),
        (("revenue", "1e15"), "got 1e15"),
        (("popularity", "1e9"), "got 1e9"),
        (("vote_count", "1e12"), "got 1e12"),
        (("vote_count", "-5"), "got \"-5\""),
    ];
    for ((column, text), got) in cases {
        let bad = row_of(&[("id", "900002"), (column, text)]);
        let err = format!("{:#}", site.add(&[good.clone(), bad]).unwrap_err());
        // The bad row follows the header and the good row.
        assert!(
            err.contains("line 3") && err.contains(column) && err.contains("expected"),
            "{column} = {text}: {err}"
        );
        assert!(err.contains(got), "{column} = {text}: {err}");
        assert_eq!(std::fs::read(&site.bundle).unwrap(), before, "{err}");
        assert_eq!(files(), files_before, "nothing new written after: {err}");
    }
    // History has no MovieLens counterpart but is a TMDB genre: dropped, not refused.
    let history = row_of(&[("genres", "[{'id': 36, 'name': 'History'}]")]);
    assert!(site.add(&[history]).unwrap()[0].genres.is_empty());
}

/// Two `add-movies` runs at once on one bundle: both runs' films land, with distinct ids.
#[test]
fn two_runs_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let before = site.catalog().len();
    // Each run waits in its sentence model for the other to get there too (up to 2 s): without
    // a lock both have read the bundle by then, and the later write loses the other's films;
    // with one, the second run waits for the first to finish instead.
    let arrived = (Mutex::new(0), Condvar::new());
    let meet = |texts: &[&str]| {
        let (count, bell) = &arrived;
        let mut count = count.lock().unwrap();
        *count += 1;
        bell.notify_all();
        let _ = bell
            .wait_timeout_while(count, Duration::from_secs(2), |c| *c < 2)
            .unwrap();
        embed(texts)
    };
    let films = films();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| site.add_with(&films[..1], meet));
        let b = s.spawn(|| site.add_with(&films[1..], meet));
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    let grown = site.catalog();
    assert_eq!(
        grown.len(),
        before + 3,
        "both runs' films are in the bundle"
    );
    let mut ids: Vec<MovieId> = a.iter().chain(&b).map(|m| m.movie_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "distinct ids: {a:?} {b:?}");
    for m in a.iter().chain(&b) {
        assert!(
            grown
                .iter()
                .any(|e| e.movie_id == m.movie_id && e.tmdb_id == Some(m.tmdb_id))
        );
    }
}

/// The registry starts as the bundle's catalog and gains the added films, with ids from their
/// own range; a corrupt registry, or one that disagrees with the bundle, stops the run with
/// nothing written.
#[test]
fn the_registry_is_seeded_from_the_catalog_and_a_bad_one_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path());
    let catalog = site.catalog();
    let added = site.add(&films()).unwrap();
    let ids = MovieIds::read(&site.movie_ids).unwrap();
    assert_eq!(ids.len(), catalog.len() + 3);
    for e in &catalog {
        assert_eq!(ids.get(e.tmdb_id.unwrap()), Some(e.movie_id));
    }
    for (m, want) in added.iter().zip(FIRST_ADDED_ID..) {
        assert_eq!(m.movie_id, MovieId(want));
        assert_eq!(ids.get(m.tmdb_id), Some(m.movie_id));
    }

    let bundle = std::fs::read(&site.bundle).unwrap();
    let good = std::fs::read_to_string(&site.movie_ids).unwrap();
    // The synthetic catalog's movie 51 is TMDB id 1005.
    assert!(good.contains("\"1005\": 51,"), "{good}");
    let cases = [
        (
            good.replace("\"version\": 1", "\"version\": 9"),
            "movie-ids.json: expected format \"movie-genie-movie-ids\" version 1, got format \"movie-genie-movie-ids\" version 9",
        ),
        (
            "{\"movies\": [".to_owned(),
            "movie-ids.json: expected {\"format\"",
        ),
        (
            good.replace("\"1005\": 51,", "\"1005\": 7,"),
            "TMDB id 1005 is registered as movie 7, but the catalog has it as movie 51",
        ),
    ];
    for (registry, expected) in cases {
        std::fs::write(&site.movie_ids, &registry).unwrap();
        let err = format!(
            "{:#}",
            site.add(&[row_of(&[("id", "900009")])]).unwrap_err()
        );
        assert!(err.contains(expected), "{err}");
        assert_eq!(std::fs::read(&site.bundle).unwrap(), bundle);
        assert_eq!(std::fs::read_to_string(&site.movie_ids).unwrap(), registry);
    }
}
