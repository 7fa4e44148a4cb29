//! The bundle contract end to end: export → load round trip, one test per corruption the loader
//! must name, and a proptest that mutated or truncated bundles never make `from_bytes` panic.

use movie_genie::engine::bundle::format::{self, Header, PREAMBLE_LEN, write_container, write_raw};
use movie_genie::engine::bundle::load::read_header;
use movie_genie::engine::bundle::{
    Bundle, BundleError, CatalogEntry, Int8Table, ItemTable, NamedTensor, PqConfig, PqTable,
    ServingConfig, USER_PRIOR, UserInput, user_layer_names,
};
use movie_genie::engine::model::mlp::MlpConfig;
use movie_genie::engine::personalize::PersonalizeConfig;
use movie_genie::engine::rank::TopK;
use movie_genie::engine::score::RankingConfig;
use movie_genie::engine::{ItemIndex, MovieId};
use movie_genie::pipeline::export::{ExportError, compress_smallest, top20_overlap};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const DIM: usize = 8;
const ROWS: usize = 40;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn catalog(rows: usize) -> Vec<CatalogEntry> {
    (0..rows)
        .map(|i| CatalogEntry {
            movie_id: MovieId(i as u32 * 7 + 1),
            title: match i % 3 {
                0 => format!("Movie {i}"),
                1 => format!("Amélie {i} — 千と千尋"),
                _ => String::new(),
            },
            year: (i % 4 != 0).then_some(1900 + i as i32),
            genres: match i % 3 {
                0 => vec![],
                1 => vec!["Drama".into()],
                _ => vec!["Comedy".into(), "Drama".into(), "Sci-Fi".into()],
            },
            tmdb_id: (i % 5 != 0).then_some(100_000 + i as u32),
            popularity: i as f32 * 0.5,
            new: i % 6 == 5,
        })
        .collect()
}

/// The user tower: 4 → 3 (ReLU) → DIM − 1, the table's last column being the bias.
fn serving() -> ServingConfig {
    ServingConfig {
        user_tower: MlpConfig::new(4, vec![3], DIM - 1),
        user_input: UserInput::Prior,
        temperature: 0.1,
        bias_scale: 2.0,
        personalize: PersonalizeConfig::new(),
        ranking: RankingConfig::new(),
    }
}

fn tensors() -> Vec<NamedTensor> {
    let mut out = Vec::new();
    for (i, (d_in, d_out)) in [(4, 3), (3, DIM - 1)].into_iter().enumerate() {
        let (weight, bias) = user_layer_names(i);
        let seed = 10 * i as u64;
        out.push(NamedTensor::new(weight, vec![d_in, d_out], random(d_in * d_out, seed)).unwrap());
        out.push(NamedTensor::new(bias, vec![d_out], random(d_out, seed + 1)).unwrap());
    }
    out.push(NamedTensor::new(USER_PRIOR, vec![4], random(4, 3)).unwrap());
    out
}

fn bundle_with(items: ItemTable) -> Bundle {
    let rows = items.rows();
    Bundle::new(
        serving(),
        tensors(),
        items,
        catalog(rows),
        "This product uses the TMDB API but is not endorsed or certified by TMDB.\nMovieLens data: F. Maxwell Harper and Joseph A. Konstan, 2015.".into(),
    )
    .unwrap()
}

fn sample() -> Bundle {
    bundle_with(ItemTable::Int8(
        Int8Table::quantize(&random(ROWS * DIM, 4), DIM).unwrap(),
    ))
}

/// Re-encodes `bytes` with section `name` replaced by `mutate(section)` and fresh checksums,
/// so the corruption reaches the section decoder instead of the checksum check.
fn reseal(bytes: &[u8], name: &str, mutate: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let (header, data) = read_header(bytes).unwrap();
    let mut sections: Vec<(String, Vec<u8>)> = header
        .sections
        .iter()
        .map(|s| {
            let range = s.offset as usize..(s.offset + s.length) as usize;
            (s.name.clone(), data[range].to_vec())
        })
        .collect();
    let target = sections.iter_mut().find(|(n, _)| n == name).unwrap();
    mutate(&mut target.1);
    let refs: Vec<(&str, &[u8])> = sections
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    write_container(&header.meta, &refs)
}

/// Rewrites the JSON header (lengths in the preamble follow), keeping the data area.
fn rewrite_header(bytes: &[u8], edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    let (mut header, data) = read_header(bytes).unwrap();
    edit(&mut header);
    write_raw(&header, data)
}

fn section_range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    let (header, data) = read_header(bytes).unwrap();
    let start = bytes.len() - data.len();
    let s = header.sections.iter().find(|s| s.name == name).unwrap();
    start + s.offset as usize..start + (s.offset + s.length) as usize
}

fn load_err(bytes: &[u8]) -> BundleError {
    match Bundle::from_bytes(bytes) {
        Ok(_) => panic!("a corrupted bundle loaded"),
        Err(e) => e,
    }
}

#[test]
fn round_trip_int8_keeps_everything() {
    let bundle = sample();
    let bytes = bundle.to_bytes();
    let back = Bundle::from_bytes(&bytes).unwrap();
    assert_eq!(back.tensors, bundle.tensors);
    assert_eq!(back.items, bundle.items);
    assert_eq!(back.catalog, bundle.catalog);
    assert_eq!(back, bundle);
    // Deterministic encoding: the same bundle gives the same bytes.
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.tensor(USER_PRIOR).unwrap().shape, vec![4]);
}

#[test]
fn round_trip_pq_keeps_the_table() {
    let floats = random(600 * DIM, 5);
    let config = PqConfig {
        m: 4,
        iterations: 4,
        ..PqConfig::default()
    };
    let bundle = bundle_with(ItemTable::Pq(
        PqTable::train(&floats, DIM, &config).unwrap(),
    ));
    let back = Bundle::from_bytes(&bundle.to_bytes()).unwrap();
    assert_eq!(back, bundle);
}

#[test]
fn empty_attribution_round_trips_and_a_bundle_without_its_tower_is_refused() {
    let mut bundle = sample();
    bundle.attribution.clear();
    assert_eq!(Bundle::from_bytes(&bundle.to_bytes()).unwrap(), bundle);
    bundle.tensors.clear();
    assert!(matches!(
        load_err(&bundle.to_bytes()),
        BundleError::MissingTensor { .. }
    ));
}

#[test]
fn missing_tensor_lists_what_is_there() {
    let err = sample().tensor("nope").unwrap_err();
    assert!(matches!(err, BundleError::MissingTensor { .. }));
    assert!(err.to_string().contains("prior"), "{err}");
}

#[test]
fn truncated_file_is_truncated() {
    let bytes = sample().to_bytes();
    for len in [bytes.len() - 1, bytes.len() / 2, PREAMBLE_LEN + 3, 10, 0] {
        let err = load_err(&bytes[..len]);
        assert!(
            matches!(err, BundleError::Truncated { .. }),
            "len {len}: {err}"
        );
    }
    let err = load_err(&bytes[..bytes.len() - 1]);
    assert!(
        err.to_string().contains(&format!(
            "expected {} bytes, got {}",
            bytes.len(),
            bytes.len() - 1
        )),
        "{err}"
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = sample().to_bytes();
    bytes.push(0);
    assert!(matches!(
        load_err(&bytes),
        BundleError::TrailingBytes { .. }
    ));
}

#[test]
fn wrong_magic_is_bad_magic() {
    let mut bytes = sample().to_bytes();
    bytes[0] = b'P';
    assert!(matches!(load_err(&bytes), BundleError::BadMagic { .. }));
    assert!(matches!(
        load_err(b"PK\x03\x04"),
        BundleError::BadMagic { .. }
    ));
}

#[test]
fn newer_version_is_unsupported() {
    let mut bytes = sample().to_bytes();
    bytes[8..12].copy_from_slice(&(format::FORMAT_VERSION + 1).to_le_bytes());
    let err = load_err(&bytes);
    assert!(
        matches!(
            err,
            BundleError::UnsupportedVersion { got, supported }
                if got == format::FORMAT_VERSION + 1 && supported == format::FORMAT_VERSION
        ),
        "{err}"
    );
}

#[test]
fn flipped_section_byte_is_a_checksum_mismatch() {
    let mut bytes = sample().to_bytes();
    let range = section_range(&bytes, "attribution");
    bytes[range.start + 3] ^= 0x20;
    let err = load_err(&bytes);
    assert!(
        matches!(&err, BundleError::ChecksumMismatch { name, .. } if name == "attribution"),
        "{err}"
    );
}

#[test]
fn garbage_header_is_bad_header() {
    let mut bytes = sample().to_bytes();
    bytes[PREAMBLE_LEN] = b'[';
    assert!(matches!(load_err(&bytes), BundleError::BadHeader { .. }));
}

#[test]
fn section_past_the_end_is_out_of_bounds() {
    let bytes = rewrite_header(&sample().to_bytes(), |h| h.sections[1].offset += 1_000_000);
    let err = load_err(&bytes);
    assert!(
        matches!(&err, BundleError::SectionOutOfBounds { name, .. } if name == "items"),
        "{err}"
    );
}

#[test]
fn overlapping_sections_are_rejected() {
    let bytes = rewrite_header(&sample().to_bytes(), |h| h.sections[1].offset -= 1);
    let err = load_err(&bytes);
    assert!(
        matches!(err, BundleError::OverlappingSections { .. }),
        "{err}"
    );
}

#[test]
fn missing_section_is_named() {
    let bytes = rewrite_header(&sample().to_bytes(), |h| {
        h.sections.retain(|s| s.name != "catalog")
    });
    let err = load_err(&bytes);
    assert!(
        matches!(&err, BundleError::MissingSection { name, .. } if name == "catalog"),
        "{err}"
    );
}

#[test]
fn duplicate_section_is_rejected() {
    let bytes = rewrite_header(&sample().to_bytes(), |h| {
        let mut extra = h.sections[3].clone();
        extra.name = "items".into();
        h.sections.push(extra);
    });
    assert!(matches!(
        load_err(&bytes),
        BundleError::DuplicateSection { .. }
    ));
}

#[test]
fn tensor_shape_disagreeing_with_data_is_rejected() {
    let mut bundle = sample();
    bundle.tensors[0].shape = vec![3, 3]; // 36 bytes expected, 12 floats = 48 bytes held
    let err = load_err(&bundle.to_bytes());
    assert!(
        matches!(&err, BundleError::TensorShape { expected, got: 48, .. } if expected == "36"),
        "{err}"
    );
}

#[test]
fn nan_in_a_tensor_is_non_finite() {
    let mut bundle = sample();
    bundle.tensors[2].data[5] = f32::NAN;
    let err = load_err(&bundle.to_bytes());
    assert!(
        matches!(err, BundleError::NonFinite { index: 5, .. }),
        "{err}"
    );
}

#[test]
fn inf_in_an_int8_scale_is_non_finite() {
    // items: kind u8, rows u32, dim u32, then the scales.
    let bytes = reseal(&sample().to_bytes(), "items", |s| {
        s[9 + 4 * 7..9 + 4 * 8].copy_from_slice(&f32::INFINITY.to_le_bytes());
    });
    let err = load_err(&bytes);
    assert!(
        matches!(&err, BundleError::NonFinite { index: 7, what, .. } if what.contains("scales")),
        "{err}"
    );
}

#[test]
fn nan_in_a_pq_centroid_is_non_finite() {
    let floats = random(300 * DIM, 6);
    let config = PqConfig {
        m: 2,
        iterations: 2,
        ..PqConfig::default()
    };
    let bundle = bundle_with(ItemTable::Pq(
        PqTable::train(&floats, DIM, &config).unwrap(),
    ));
    // items: kind, rows, dim, m, centroids-per-subspace, then the centroids.
    let bytes = reseal(&bundle.to_bytes(), "items", |s| {
        s[17..21].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let err = load_err(&bytes);
    assert!(
        matches!(&err, BundleError::NonFinite { index: 0, what, .. } if what.contains("centroids")),
        "{err}"
    );
}

#[test]
fn nan_popularity_is_non_finite() {
    let mut bundle = sample();
    bundle.catalog[3].popularity = f32::NAN;
    let err = load_err(&bundle.to_bytes());
    assert!(
        matches!(&err, BundleError::NonFinite { index: 3, what, .. } if what.contains("popularity")),
        "{err}"
    );
}

#[test]
fn catalog_rows_must_match_item_rows() {
    let mut bundle = sample();
    bundle.catalog.pop();
    let err = load_err(&bundle.to_bytes());
    assert!(
        matches!(
            err,
            BundleError::CatalogRows {
                expected: 40,
                got: 39
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("39") && err.to_string().contains("40"));
}

#[test]
fn tensors_must_have_the_shapes_the_serving_config_gives() {
    let mut bundle = sample();
    let (weight, _) = user_layer_names(1);
    let w = bundle
        .tensors
        .iter_mut()
        .find(|t| t.name == weight)
        .unwrap();
    *w = NamedTensor::new(weight.clone(), vec![3, DIM], random(3 * DIM, 9)).unwrap();
    assert_eq!(
        load_err(&bundle.to_bytes()).to_string(),
        format!(
            "tensor `{weight}`: expected shape [3, {}] (from the serving config), got [3, {DIM}]",
            DIM - 1
        )
    );
    let mut bundle = sample();
    bundle.meta.serving.user_tower.d_output = DIM;
    assert!(matches!(
        load_err(&bundle.to_bytes()),
        BundleError::BadServing { .. }
    ));
}

#[test]
fn a_bundle_of_an_older_format_asks_to_be_re_exported() {
    let mut bytes = sample().to_bytes();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let err = load_err(&bytes).to_string();
    assert!(
        err.contains("version 1 is not supported") && err.contains("re-export the bundle"),
        "{err}"
    );
}

#[test]
fn meta_counts_must_match_the_table() {
    let mut bundle = sample();
    bundle.meta.dim += 1;
    assert!(matches!(
        load_err(&bundle.to_bytes()),
        BundleError::CountMismatch { .. }
    ));
}

#[test]
fn short_items_section_is_section_truncated() {
    let bytes = reseal(&sample().to_bytes(), "items", |s| {
        s.truncate(s.len() - 1);
    });
    let err = load_err(&bytes);
    assert!(
        matches!(&err, BundleError::SectionTruncated { section, .. } if section == "items"),
        "{err}"
    );
}

#[test]
fn extra_bytes_in_a_section_are_rejected() {
    let bytes = reseal(&sample().to_bytes(), "tensors", |s| s.push(0));
    assert!(matches!(
        load_err(&bytes),
        BundleError::SectionTrailingBytes { .. }
    ));
}

#[test]
fn unknown_item_kind_is_a_bad_value() {
    let bytes = reseal(&sample().to_bytes(), "items", |s| s[0] = 9);
    let err = load_err(&bytes);
    assert!(
        matches!(&err, BundleError::BadValue { what, .. } if what == "item table kind"),
        "{err}"
    );
}

#[test]
fn invalid_utf8_attribution_is_a_bad_value() {
    let bytes = reseal(&sample().to_bytes(), "attribution", |s| s[0] = 0xff);
    assert!(matches!(load_err(&bytes), BundleError::BadValue { .. }));
}

#[test]
fn duplicate_tensor_names_are_rejected() {
    let mut bundle = sample();
    bundle.tensors[1].name = bundle.tensors[0].name.clone();
    assert!(matches!(
        load_err(&bundle.to_bytes()),
        BundleError::DuplicateTensor { .. }
    ));
}

#[test]
fn oversized_genre_lists_are_rejected_before_cloning() {
    let mut bundle = sample();
    bundle.catalog[2].genres = vec!["Drama".into(); 33];
    let err = load_err(&bundle.to_bytes());
    assert!(
        matches!(&err, BundleError::BadValue { what, .. } if what.contains("row 2")),
        "{err}"
    );
    assert!(
        err.to_string().contains("at most 32") && err.to_string().contains("got 33"),
        "{err}"
    );
    let mut bundle = sample();
    bundle.catalog[1].genres = vec!["x".repeat(65)];
    let err = load_err(&bundle.to_bytes());
    assert!(
        matches!(&err, BundleError::BadValue { what, .. } if what.contains("genre table")),
        "{err}"
    );
    assert!(bundle.validate().is_err());
}

#[test]
fn write_atomic_round_trips_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bundle");
    let bundle = sample();
    let written = movie_genie::pipeline::export::write_atomic(&path, &bundle).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, written);
    assert_eq!(Bundle::from_bytes(&bytes).unwrap(), bundle);
    // Overwriting works too and leaves only the bundle.
    movie_genie::pipeline::export::write_atomic(&path, &bundle).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.bundle")]);
}

#[test]
fn write_atomic_refuses_an_invalid_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bundle");
    let mut bundle = sample();
    bundle.catalog.pop();
    assert!(movie_genie::pipeline::export::write_atomic(&path, &bundle).is_err());
    assert!(!path.exists());
}

/// Random unit vectors.
///
/// # Shapes
/// `[n, dim]`.
fn unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut v = random(n * dim, seed);
    for row in v.chunks_mut(dim) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Planted structure: `clusters` centres plus small noise, like trained embeddings.
///
/// # Shapes
/// `[rows, dim]`.
fn planted(rows: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let centres = unit_vectors(clusters, dim, seed);
    let noise = random(rows * dim, seed + 1);
    let mut rng = StdRng::seed_from_u64(seed + 2);
    let mut out = Vec::with_capacity(rows * dim);
    for r in 0..rows {
        let c = rng.random_range(0..clusters);
        let len = rng.random_range(0.5f32..1.5);
        for j in 0..dim {
            out.push(len * (centres[c * dim + j] + 0.3 * noise[r * dim + j]));
        }
    }
    out
}

#[test]
fn int8_keeps_top20_overlap_on_random_and_planted_tables() {
    let (rows, dim) = (3000, 32);
    let queries = unit_vectors(50, dim, 10);
    for (name, table) in [
        ("random", unit_vectors(rows, dim, 11)),
        ("planted", planted(rows, dim, 30, 12)),
    ] {
        let int8 = ItemTable::Int8(Int8Table::quantize(&table, dim).unwrap());
        let overlap = top20_overlap(&table, &int8, &queries).unwrap();
        assert!(overlap >= 0.98, "{name}: int8 overlap {overlap}");
    }
}

#[test]
fn compress_smallest_picks_the_smallest_table_meeting_the_bar() {
    let (rows, dim) = (3000, 32);
    let table = planted(rows, dim, 30, 13);
    let queries = unit_vectors(50, dim, 14);
    let configs = [4, 8, 16].map(|m| PqConfig {
        m,
        iterations: 8,
        ..PqConfig::default()
    });
    let chosen = compress_smallest(&table, dim, &queries, 0.98, &configs).unwrap();
    let ok: Vec<_> = chosen
        .candidates
        .iter()
        .filter(|c| c.overlap >= 0.98)
        .collect();
    let smallest = ok.iter().min_by_key(|c| c.bytes).unwrap();
    assert_eq!(chosen.chosen, smallest.label);
    assert_eq!(chosen.table.label(), smallest.label);
    // A coarse PQ falls short and the bar is impossible at 1.01.
    assert!(
        chosen.candidates.iter().any(|c| c.overlap < 0.98),
        "{:?}",
        chosen.candidates
    );
    assert!(matches!(
        compress_smallest(&table, dim, &queries, 1.01, &configs),
        Err(ExportError::OverlapTooLow { .. })
    ));
}

#[test]
fn loaded_table_ranks_like_the_original() {
    let bundle = sample();
    let back = Bundle::from_bytes(&bundle.to_bytes()).unwrap();
    let q = random(DIM, 20);
    let a = TopK::by_row(bundle.items)
        .query_with_exclusions(&q, 10, &[ItemIndex(3)])
        .unwrap();
    let b = TopK::by_row(back.items)
        .query_with_exclusions(&q, 10, &[ItemIndex(3)])
        .unwrap();
    assert_eq!(a, b);
    assert!(a.iter().all(|(id, _)| *id != ItemIndex(3)));
}

fn sample_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| sample().to_bytes())
}

fn sample_pq_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let config = PqConfig {
            m: 2,
            iterations: 2,
            ..PqConfig::default()
        };
        bundle_with(ItemTable::Pq(
            PqTable::train(&random(300 * DIM, 7), DIM, &config).unwrap(),
        ))
        .to_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Raw mutations and truncations never panic.
    #[test]
    fn mutated_bundles_never_panic(
        pq in any::<bool>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = if pq { sample_pq_bytes() } else { sample_bytes() }.to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let _ = Bundle::from_bytes(&bytes);
    }

    /// Mutations inside a section, resealed with valid checksums, reach the decoders; no panics.
    #[test]
    fn resealed_section_mutations_never_panic(
        pq in any::<bool>(),
        section in prop::sample::select(vec!["tensors", "items", "catalog", "attribution"]),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
        extra in prop::collection::vec(any::<u8>(), 0..6),
    ) {
        let base = if pq { sample_pq_bytes() } else { sample_bytes() };
        let bytes = reseal(base, section, |s| {
            if !s.is_empty() {
                for (at, value) in &flips {
                    let i = at.index(s.len());
                    s[i] = *value;
                }
            }
            if let Some(cut) = cut {
                s.truncate(cut.index(s.len() + 1));
            }
            s.extend_from_slice(&extra);
        });
        let _ = Bundle::from_bytes(&bytes);
    }

    /// Random section tables over the real data area never panic.
    #[test]
    fn random_section_tables_never_panic(
        entries in prop::collection::vec((0u64..2_000, 0u64..2_000, 0usize..5), 0..7),
        huge in any::<bool>(),
    ) {
        let bytes = rewrite_header(sample_bytes(), |h| {
            let names = ["tensors", "items", "catalog", "attribution", "extra"];
            let old = h.sections.clone();
            h.sections = entries
                .iter()
                .map(|&(offset, length, n)| {
                    let mut e = old.get(n).cloned().unwrap_or_else(|| old[0].clone());
                    e.name = names[n].into();
                    e.offset = if huge { u64::MAX - offset } else { offset };
                    e.length = length;
                    e
                })
                .collect();
        });
        let _ = Bundle::from_bytes(&bytes);
    }
}
