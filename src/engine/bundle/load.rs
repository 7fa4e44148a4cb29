//! Reading a bundle from untrusted bytes. Every length and offset is checked before use; each
//! failure is a distinct `BundleError` saying what was expected and what was got. Nothing here
//! allocates more than the input's size, indexes out of bounds or panics.

use super::format::{
    FLAG_NEW, FLAG_TMDB, FLAG_YEAR, FORMAT_VERSION, Header, KIND_INT8, KIND_PQ, MAGIC,
    PREAMBLE_LEN, REQUIRED_SECTIONS, Reader, SECTION_ATTRIBUTION, SECTION_CATALOG, SECTION_ITEMS,
    SECTION_TENSORS, SectionEntry, sha256_hex, unzigzag,
};
use super::table::{Int8Table, ItemTable, MAX_DIM, PQ_CENTROIDS, PqTable};
use super::{Bundle, BundleError, CatalogEntry, NamedTensor, check_genres};
use crate::engine::MovieId;

impl Bundle {
    /// Decodes and validates a bundle written by `to_bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        let (header, data) = read_header(bytes)?;
        let sections = locate_sections(&header.sections, data)?;
        let section = |name: &str| {
            sections
                .iter()
                .find(|(entry, _)| entry.name == name)
                .map(|(_, bytes)| *bytes)
                .ok_or_else(|| BundleError::MissingSection {
                    name: name.to_owned(),
                    found: header.sections.iter().map(|s| s.name.clone()).collect(),
                })
        };
        let tensors = decode_tensors(section(SECTION_TENSORS)?)?;
        let items = decode_items(section(SECTION_ITEMS)?)?;
        let catalog = decode_catalog(section(SECTION_CATALOG)?)?;
        let attribution_bytes = section(SECTION_ATTRIBUTION)?;
        let attribution = Reader::new(SECTION_ATTRIBUTION, attribution_bytes)
            .utf8(attribution_bytes, "attribution text")?;
        let bundle = Self {
            meta: header.meta,
            tensors,
            items,
            catalog,
            attribution,
        };
        bundle.validate()?;
        Ok(bundle)
    }
}

/// Checks the preamble and parses the JSON header; returns it with the data area.
pub fn read_header(bytes: &[u8]) -> Result<(Header, &[u8]), BundleError> {
    let got_magic = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if MAGIC.get(..got_magic.len()) != Some(got_magic) {
        return Err(BundleError::BadMagic {
            expected: hex::encode(MAGIC),
            got: hex::encode(got_magic),
        });
    }
    let Some(preamble) = bytes.first_chunk::<PREAMBLE_LEN>() else {
        return Err(BundleError::Truncated {
            expected: PREAMBLE_LEN as u64,
            got: bytes.len() as u64,
        });
    };
    let (_, rest) = preamble.split_first_chunk::<8>().unwrap_or((&MAGIC, &[]));
    let mut r = Reader::new("preamble", rest);
    let version = r.u32("version")?;
    let header_len = r.u32("header length")?;
    let file_len = r.u64("file length")?;
    if version != FORMAT_VERSION {
        return Err(BundleError::UnsupportedVersion {
            supported: FORMAT_VERSION,
            got: version,
        });
    }
    let len = bytes.len() as u64;
    if len < file_len {
        return Err(BundleError::Truncated {
            expected: file_len,
            got: len,
        });
    }
    if len > file_len {
        return Err(BundleError::TrailingBytes {
            expected: file_len,
            got: len,
        });
    }
    let after = bytes.get(PREAMBLE_LEN..).unwrap_or(&[]);
    let Some((json, data)) = after.split_at_checked(header_len as usize) else {
        return Err(BundleError::BadHeader {
            reason: format!(
                "header length: expected at most {} bytes after the preamble, got {header_len}",
                after.len()
            ),
        });
    };
    let header: Header = serde_json::from_slice(json).map_err(|e| BundleError::BadHeader {
        reason: format!("JSON: {e}"),
    })?;
    Ok((header, data))
}

/// Checks the section table against the data area (bounds, duplicates, required names,
/// overlaps, checksums) and returns each section's bytes.
pub fn locate_sections<'a, 'h>(
    entries: &'h [SectionEntry],
    data: &'a [u8],
) -> Result<Vec<(&'h SectionEntry, &'a [u8])>, BundleError> {
    let data_len = data.len() as u64;
    let mut located = Vec::with_capacity(entries.len().min(64));
    for entry in entries {
        let out_of_bounds = || BundleError::SectionOutOfBounds {
            name: entry.name.clone(),
            offset: entry.offset,
            length: entry.length,
            data_len,
        };
        let end = entry
            .offset
            .checked_add(entry.length)
            .ok_or_else(out_of_bounds)?;
        if end > data_len {
            return Err(out_of_bounds());
        }
        // Both fit in `data.len()`, a usize.
        let bytes = data
            .get(entry.offset as usize..end as usize)
            .ok_or_else(out_of_bounds)?;
        located.push((entry, bytes));
    }
    let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(BundleError::DuplicateSection {
            name: pair[0].to_owned(),
            count: names.iter().filter(|n| **n == pair[0]).count(),
        });
    }
    for name in REQUIRED_SECTIONS {
        if !entries.iter().any(|e| e.name == name) {
            return Err(BundleError::MissingSection {
                name: name.to_owned(),
                found: entries.iter().map(|e| e.name.clone()).collect(),
            });
        }
    }
    let mut by_offset: Vec<&SectionEntry> = entries.iter().filter(|e| e.length > 0).collect();
    by_offset.sort_by_key(|e| (e.offset, e.length));
    let mut furthest: Option<&SectionEntry> = None;
    for entry in by_offset {
        if let Some(prev) = furthest {
            let prev_end = prev.offset + prev.length;
            if prev_end > entry.offset {
                return Err(BundleError::OverlappingSections {
                    first: prev.name.clone(),
                    first_end: prev_end,
                    second: entry.name.clone(),
                    second_start: entry.offset,
                });
            }
        }
        if furthest.is_none_or(|p| p.offset + p.length < entry.offset + entry.length) {
            furthest = Some(entry);
        }
    }
    for (entry, bytes) in &located {
        let got = sha256_hex(bytes);
        if !got.eq_ignore_ascii_case(&entry.sha256) {
            return Err(BundleError::ChecksumMismatch {
                name: entry.name.clone(),
                expected: entry.sha256.clone(),
                got,
            });
        }
    }
    Ok(located)
}

fn decode_tensors(bytes: &[u8]) -> Result<Vec<NamedTensor>, BundleError> {
    let mut r = Reader::new(SECTION_TENSORS, bytes);
    let count = r.u32("tensor count")?;
    let mut tensors: Vec<NamedTensor> = Vec::new();
    for _ in 0..count {
        let name_len = r.u32("tensor name length")?;
        let name_bytes = r.take(u64::from(name_len), "tensor name")?;
        let name = r.utf8(name_bytes, "tensor name")?;
        let rank = r.u32("tensor rank")?;
        let dims = r.take(u64::from(rank) * 8, &format!("shape of tensor `{name}`"))?;
        let (dims, _) = dims.as_chunks::<8>();
        let shape: Vec<u64> = dims.iter().map(|d| u64::from_le_bytes(*d)).collect();
        let data_bytes = r.u64(&format!("data length of tensor `{name}`"))?;
        let expected = shape.iter().try_fold(4u64, |acc, &d| acc.checked_mul(d));
        if expected != Some(data_bytes) {
            return Err(BundleError::TensorShape {
                name,
                shape,
                expected: expected.map_or_else(|| "an overflowing count".into(), |e| e.to_string()),
                got: data_bytes,
            });
        }
        let data = r.f32s(data_bytes / 4, &format!("tensor `{name}`"))?;
        let shape = shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<Vec<usize>, _>>()
            .map_err(|_| {
                r.bad(
                    "tensor shape",
                    "dims that fit in usize",
                    &format!("{shape:?}"),
                )
            })?;
        // Duplicate names are caught by `Bundle::validate`.
        tensors.push(NamedTensor { name, shape, data });
    }
    r.finish()?;
    Ok(tensors)
}

fn decode_items(bytes: &[u8]) -> Result<ItemTable, BundleError> {
    let mut r = Reader::new(SECTION_ITEMS, bytes);
    let kind = r.u8("item table kind")?;
    let rows = r.u32("item rows")?;
    let dim = r.u32("item dim")?;
    if dim == 0 || dim as usize > MAX_DIM {
        return Err(r.bad("item dim", &format!("1..={MAX_DIM}"), &dim.to_string()));
    }
    let (rows_u64, dim_u64) = (u64::from(rows), u64::from(dim));
    let table = match kind {
        KIND_INT8 => {
            let scales = r.f32s(rows_u64, "int8 scales")?;
            let codes = r.take(rows_u64 * dim_u64, "int8 codes")?;
            let codes = codes.iter().map(|&c| c as i8).collect();
            ItemTable::Int8(Int8Table::from_parts(
                rows as usize,
                dim as usize,
                scales,
                codes,
            )?)
        }
        KIND_PQ => {
            let m = r.u32("pq sub-spaces")?;
            if m == 0 || !dim.is_multiple_of(m) {
                return Err(r.bad(
                    "pq sub-spaces",
                    &format!("a divisor of dim {dim}"),
                    &m.to_string(),
                ));
            }
            let centroids_per = r.u32("pq centroids per sub-space")?;
            if centroids_per as usize != PQ_CENTROIDS {
                return Err(r.bad(
                    "pq centroids per sub-space",
                    &PQ_CENTROIDS.to_string(),
                    &centroids_per.to_string(),
                ));
            }
            let centroids = r.f32s(PQ_CENTROIDS as u64 * dim_u64, "pq centroids")?;
            let codes = r.take(rows_u64 * u64::from(m), "pq codes")?.to_vec();
            ItemTable::Pq(PqTable::from_parts(
                rows as usize,
                dim as usize,
                m as usize,
                centroids,
                codes,
            )?)
        }
        other => {
            return Err(r.bad(
                "item table kind",
                &format!("{KIND_INT8} (int8) or {KIND_PQ} (pq)"),
                &other.to_string(),
            ));
        }
    };
    r.finish()?;
    Ok(table)
}

fn decode_catalog(bytes: &[u8]) -> Result<Vec<CatalogEntry>, BundleError> {
    let mut r = Reader::new(SECTION_CATALOG, bytes);
    let genre_count = r.varint("genre count")?;
    let mut genres = Vec::new();
    for _ in 0..genre_count {
        let genre = r.str("genre")?;
        check_genres(None, std::iter::once(genre.as_str()), 1)?;
        genres.push(genre);
    }
    let rows = r.varint("catalog rows")?;
    let mut catalog = Vec::new();
    for row in 0..rows as usize {
        let movie_id = MovieId(r.varint("movie id")?);
        let flags = r.u8("flags")?;
        if flags & !(FLAG_YEAR | FLAG_TMDB | FLAG_NEW) != 0 {
            return Err(r.bad(
                "flags",
                "only bits 0 (year), 1 (tmdb) and 2 (new)",
                &format!("{flags:#04x}"),
            ));
        }
        let year = if flags & FLAG_YEAR != 0 {
            Some(unzigzag(r.varint("year")?))
        } else {
            None
        };
        let tmdb_id = if flags & FLAG_TMDB != 0 {
            Some(r.varint("tmdb id")?)
        } else {
            None
        };
        let popularity = f32::from_bits(r.u32("popularity")?);
        if !popularity.is_finite() {
            return Err(BundleError::NonFinite {
                what: "catalog popularity".into(),
                index: row,
                value: popularity,
            });
        }
        let title = r.str("title")?;
        let n_genres = r.varint("genre list length")?;
        // Before cloning anything: each reference copies a genre name, so both are capped.
        check_genres(Some(row), std::iter::empty(), n_genres as usize)?;
        let mut movie_genres = Vec::new();
        for _ in 0..n_genres {
            let index = r.varint("genre index")?;
            let genre = genres.get(index as usize).ok_or_else(|| {
                r.bad(
                    "genre index",
                    &format!("below the genre table's {} entries", genres.len()),
                    &index.to_string(),
                )
            })?;
            movie_genres.push(genre.clone());
        }
        catalog.push(CatalogEntry {
            movie_id,
            title,
            year,
            genres: movie_genres,
            tmdb_id,
            popularity,
            new: flags & FLAG_NEW != 0,
        });
    }
    r.finish()?;
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, offset: u64, length: u64, data: &[u8]) -> SectionEntry {
        let bytes = data
            .get(offset as usize..(offset + length) as usize)
            .unwrap_or(&[]);
        SectionEntry {
            name: name.into(),
            offset,
            length,
            sha256: sha256_hex(bytes),
        }
    }

    fn required(data: &[u8]) -> Vec<SectionEntry> {
        vec![
            entry("tensors", 0, 2, data),
            entry("items", 2, 2, data),
            entry("catalog", 4, 2, data),
            entry("attribution", 6, 2, data),
        ]
    }

    #[test]
    fn a_well_formed_table_locates_every_section() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8];
        let entries = required(&data);
        let found = locate_sections(&entries, &data).unwrap();
        assert_eq!(found[2].1, &[5, 6]);
    }

    #[test]
    fn overlap_with_a_non_adjacent_section_is_caught() {
        let data = [0u8; 10];
        let mut entries = required(&data);
        // `tensors` covers 0..10, overlapping everything after it.
        entries[0] = entry("tensors", 0, 10, &data);
        let err = locate_sections(&entries, &data).unwrap_err();
        assert!(
            matches!(err, BundleError::OverlappingSections { .. }),
            "{err}"
        );
    }

    #[test]
    fn empty_sections_never_overlap() {
        let data = [0u8; 4];
        let entries = vec![
            entry("tensors", 0, 4, &data),
            entry("items", 2, 0, &data),
            entry("catalog", 4, 0, &data),
            entry("attribution", 0, 0, &data),
        ];
        assert!(locate_sections(&entries, &data).is_ok());
    }

    #[test]
    fn offset_overflow_is_out_of_bounds() {
        let data = [0u8; 8];
        let mut entries = required(&data);
        entries[1].offset = u64::MAX;
        let err = locate_sections(&entries, &data).unwrap_err();
        assert!(
            matches!(err, BundleError::SectionOutOfBounds { .. }),
            "{err}"
        );
    }
}
