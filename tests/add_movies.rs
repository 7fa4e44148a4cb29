//! `add-movies` end to end on a synthetic bundle and a small item tower: the grown bundle loads,
//! the new rows rank where their content puts them, and bad rows are refused with nothing
//! written.

use std::path::Path;

use burn::tensor::{Device, TensorData};
use movie_genie::engine::bundle::Bundle;
use movie_genie::engine::bundle::Int8Table;
use movie_genie::engine::bundle::format::{encode_tensors, sha256_hex};
use movie_genie::engine::model::mlp::MlpConfig;
use movie_genie::engine::recommender::Recommender;
use movie_genie::fixtures::{SyntheticSpec, seeded_unit_rows, synthetic_bundle};
use movie_genie::pipeline::add_movies::{ColdStart, ItemTowerFile, NewBias, add_movies_file};
use movie_genie::pipeline::data::content::{FeatureGroup, FeatureLayout, NumericStat};
use movie_genie::pipeline::export::write_atomic;

const HEADER: &str = "adult,belongs_to_collection,budget,genres,homepage,id,imdb_id,original_language,original_title,overview,popularity,poster_path,production_companies,production_countries,release_date,revenue,runtime,spoken_languages,status,tagline,title,video,vote_average,vote_count\n";

/// Words the fake sentence model knows; an overview embeds as the words it contains.
const WORDS: [&str; 4] = ["space", "cowboy", "ghost", "love"];

fn device() -> Device {
    #[allow(deprecated)]
    Device::ndarray()
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

/// A movies_metadata.csv row: id, title, genres cell, overview, budget.
fn row(id: &str, title: &str, genres: &str, overview: &str, budget: &str) -> String {
    format!(
        "False,,{budget},\"{genres}\",,{id},tt1,en,{title},\"{overview}\",5.0,,[],[],2019-01-01,0,100,[],Released,,{title},False,7.0,100\n"
    )
}

fn csv(dir: &Path, rows: &[String]) -> std::path::PathBuf {
    let path = dir.join("new.csv");
    std::fs::write(&path, format!("{HEADER}{}", rows.concat())).unwrap();
    path
}

#[test]
fn added_movies_load_are_marked_new_and_rank_by_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle_path, tower_path) = fixture(dir.path());
    let drama = "[{'id': 18, 'name': 'Drama'}]";
    let movies = csv(
        dir.path(),
        &[
            row(
                "900001",
                "Space Cowboys Return",
                drama,
                "Space cowboy adventure",
                "100",
            ),
            row(
                "900002",
                "Space Cowboys Again",
                drama,
                "Space cowboy adventure",
                "100",
            ),
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
    let (added, _) =
        add_movies_file(&bundle_path, &tower_path, &movies, &out, embed, &device()).unwrap();
    assert_eq!(added.len(), 3);

    let grown = Bundle::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let old = Bundle::from_bytes(&std::fs::read(&bundle_path).unwrap()).unwrap();
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

#[test]
fn bad_rows_are_refused_naming_the_row_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle_path, tower_path) = fixture(dir.path());
    let drama = "[{'id': 18, 'name': 'Drama'}]";
    let good = row("900001", "Fine Film", drama, "love", "10");
    let cases = [
        (row("900002", "", drama, "love", "10"), "expected a title"),
        (row("900001", "Twice", drama, "love", "10"), "appears twice"),
        // The synthetic catalog's TMDB ids are 1000 + row.
        (
            row("1005", "Known", drama, "love", "10"),
            "already in the catalog",
        ),
        (
            row("900003", "Money", drama, "love", "lots"),
            "column `budget`",
        ),
        (
            row("900004", "Odd", "Drama", "love", "10"),
            "column `genres`",
        ),
    ];
    let out = dir.path().join("out.bundle");
    for (bad, reason) in cases {
        let movies = csv(dir.path(), &[good.clone(), bad]);
        let err = add_movies_file(&bundle_path, &tower_path, &movies, &out, embed, &device())
            .unwrap_err();
        let text = format!("{err:#}");
        // The bad row follows the header and the good row.
        assert!(text.contains("line 3") && text.contains(reason), "{text}");
        assert!(!out.exists(), "nothing written after: {text}");
    }
    // Overwriting the input in place leaves it untouched on failure.
    let before = std::fs::read(&bundle_path).unwrap();
    let movies = csv(
        dir.path(),
        &[good, row("1005", "Known", drama, "love", "10")],
    );
    assert!(
        add_movies_file(
            &bundle_path,
            &tower_path,
            &movies,
            &bundle_path,
            embed,
            &device()
        )
        .is_err()
    );
    assert_eq!(std::fs::read(&bundle_path).unwrap(), before);
}

#[test]
fn an_item_tower_of_another_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, tower_path) = fixture(dir.path());
    let other = dir.path().join("other.bundle");
    write_atomic(&other, &synthetic_bundle(&SyntheticSpec::small(40), 99)).unwrap();
    let movies = csv(
        dir.path(),
        &[row("900001", "Fine Film", "[]", "love", "10")],
    );
    let err = add_movies_file(
        &other,
        &tower_path,
        &movies,
        &dir.path().join("o"),
        embed,
        &device(),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("belongs to another model"),
        "{err:#}"
    );
}
