//! The bundle's byte layout and its writer. All integers and floats are little-endian.
//!
//! ```text
//! preamble  magic [8] | version u32 | header_len u32 | file_len u64          (24 bytes)
//! header    JSON `Header` { meta: BundleMeta, sections: [{name, offset, length, sha256}] }
//! data      sections; `offset` is relative to the first data byte (24 + header_len)
//!
//! tensors      count u32, then per tensor: name (u32 len + UTF-8), rank u32,
//!              dims rank × u64, data_bytes u64, data f32 × (data_bytes / 4)
//! items        kind u8 (0 int8, 1 pq), rows u32, dim u32, then
//!              int8: scales f32 × rows, codes i8 × rows × dim
//!              pq:   m u32, centroids_per_subspace u32 (= 256),
//!                    centroids f32 × m × 256 × (dim / m), codes u8 × rows × m
//! catalog      genre table (varint count, then varint len + UTF-8 each), varint rows, then per row:
//!              movie_id varint, flags u8 (bit 0 year, bit 1 tmdb, bit 2 new), [year zigzag varint],
//!              [tmdb_id varint], popularity f32, title (varint len + UTF-8),
//!              varint genre count, genre-table indices varint each
//! attribution  UTF-8
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Bundle, BundleError, BundleMeta, CatalogEntry, ItemTable, NamedTensor};

/// First 8 bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"MVGENIE\x1a";

/// The version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 3;

/// Bytes before the JSON header: magic, version, header length, file length.
pub const PREAMBLE_LEN: usize = 24;

pub const SECTION_TENSORS: &str = "tensors";
pub const SECTION_ITEMS: &str = "items";
pub const SECTION_CATALOG: &str = "catalog";
pub const SECTION_ATTRIBUTION: &str = "attribution";

/// Sections every bundle must have; others are checked (bounds, checksum) and ignored.
pub const REQUIRED_SECTIONS: [&str; 4] = [
    SECTION_TENSORS,
    SECTION_ITEMS,
    SECTION_CATALOG,
    SECTION_ATTRIBUTION,
];

/// `items` kind tags.
pub(crate) const KIND_INT8: u8 = 0;
pub(crate) const KIND_PQ: u8 = 1;

/// Catalog row flags.
pub(crate) const FLAG_YEAR: u8 = 1;
pub(crate) const FLAG_TMDB: u8 = 2;
pub(crate) const FLAG_NEW: u8 = 4;

/// The JSON header: metadata plus the section table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub meta: BundleMeta,
    pub sections: Vec<SectionEntry>,
}

/// Where one section lies in the data area and its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionEntry {
    pub name: String,
    /// Relative to the first data byte.
    pub offset: u64,
    pub length: u64,
    /// Lower-case hex SHA-256 of the section bytes.
    pub sha256: String,
}

impl Bundle {
    /// Encodes the bundle; `from_bytes` of the result checks what `validate` checks.
    pub fn to_bytes(&self) -> Vec<u8> {
        let tensors = encode_tensors(&self.tensors);
        let items = encode_items(&self.items);
        let catalog = encode_catalog(&self.catalog);
        write_container(
            &self.meta,
            &[
                (SECTION_TENSORS, &tensors),
                (SECTION_ITEMS, &items),
                (SECTION_CATALOG, &catalog),
                (SECTION_ATTRIBUTION, self.attribution.as_bytes()),
            ],
        )
    }
}

/// Lays `sections` out back to back, checksums them and writes the preamble and header.
pub fn write_container(meta: &BundleMeta, sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut offset = 0u64;
    let mut entries = Vec::with_capacity(sections.len());
    for (name, bytes) in sections {
        entries.push(SectionEntry {
            name: (*name).to_owned(),
            offset,
            length: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        });
        offset += bytes.len() as u64;
    }
    let header = Header {
        meta: meta.clone(),
        sections: entries,
    };
    let data: Vec<u8> = sections
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    write_raw(&header, &data)
}

/// Writes the preamble, `header` verbatim and `data`; no consistency checks (tests craft with it).
pub fn write_raw(header: &Header, data: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("a Header of plain fields should serialise");
    let file_len = (PREAMBLE_LEN + json.len() + data.len()) as u64;
    let mut out = Vec::with_capacity(PREAMBLE_LEN + json.len() + data.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&len_u32(json.len()).to_le_bytes());
    out.extend_from_slice(&file_len.to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(data);
    out
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Encodes the `tensors` section; shapes are written as given, so a mismatch fails on load.
pub fn encode_tensors(tensors: &[NamedTensor]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(len_u32(tensors.len()));
    for t in tensors {
        w.u32(len_u32(t.name.len()));
        w.bytes(t.name.as_bytes());
        w.u32(len_u32(t.shape.len()));
        for &d in &t.shape {
            w.u64(d as u64);
        }
        w.u64(t.data.len() as u64 * 4);
        w.f32s(&t.data);
    }
    w.0
}

/// Encodes the `items` section.
pub fn encode_items(table: &ItemTable) -> Vec<u8> {
    let mut w = Writer::default();
    match table {
        ItemTable::Int8(t) => {
            w.u8(KIND_INT8);
            w.u32(len_u32(t.rows()));
            w.u32(len_u32(t.dim()));
            w.f32s(t.scales());
            w.0.extend(t.codes().iter().map(|&c| c as u8));
        }
        ItemTable::Pq(t) => {
            w.u8(KIND_PQ);
            w.u32(len_u32(t.rows()));
            w.u32(len_u32(t.dim()));
            w.u32(len_u32(t.m()));
            w.u32(len_u32(super::table::PQ_CENTROIDS));
            w.f32s(t.centroids());
            w.bytes(t.codes());
        }
    }
    w.0
}

/// Encodes the `catalog` section with a shared genre table and varints.
pub fn encode_catalog(catalog: &[CatalogEntry]) -> Vec<u8> {
    let mut genres: Vec<&str> = catalog
        .iter()
        .flat_map(|e| e.genres.iter().map(String::as_str))
        .collect();
    genres.sort_unstable();
    genres.dedup();
    let mut w = Writer::default();
    w.varint(len_u32(genres.len()));
    for g in &genres {
        w.str(g);
    }
    w.varint(len_u32(catalog.len()));
    for e in catalog {
        w.varint(e.movie_id.0);
        let flags = if e.year.is_some() { FLAG_YEAR } else { 0 }
            | if e.tmdb_id.is_some() { FLAG_TMDB } else { 0 }
            | if e.new { FLAG_NEW } else { 0 };
        w.u8(flags);
        if let Some(year) = e.year {
            w.varint(zigzag(year));
        }
        if let Some(tmdb) = e.tmdb_id {
            w.varint(tmdb);
        }
        w.f32s(&[e.popularity]);
        w.str(&e.title);
        w.varint(len_u32(e.genres.len()));
        for g in &e.genres {
            // Present by construction of `genres`.
            let index = genres.binary_search(&g.as_str()).unwrap_or(0);
            w.varint(len_u32(index));
        }
    }
    w.0
}

/// Lengths beyond u32 saturate; the loader then reports the mismatch.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

pub(crate) fn unzigzag(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Little-endian byte sink.
#[derive(Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    pub(crate) fn f32s(&mut self, values: &[f32]) {
        self.0.reserve(values.len() * 4);
        for v in values {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// LEB128.
    pub(crate) fn varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.varint(len_u32(s.len()));
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// Bounds-checked little-endian reader over one section; every read says what it wanted.
pub(crate) struct Reader<'a> {
    section: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(section: &'a str, bytes: &'a [u8]) -> Self {
        Self {
            section,
            bytes,
            pos: 0,
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes, or `SectionTruncated` naming `what`.
    pub(crate) fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], BundleError> {
        let remaining = self.remaining();
        let short = || BundleError::SectionTruncated {
            section: self.section.to_owned(),
            what: what.to_owned(),
            expected: n,
            got: remaining as u64,
        };
        let n = usize::try_from(n).map_err(|_| short())?;
        let end = self.pos.checked_add(n).ok_or_else(short)?;
        let out = self.bytes.get(self.pos..end).ok_or_else(short)?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], BundleError> {
        let bytes = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, BundleError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, BundleError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, BundleError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// `count` floats, each checked finite.
    pub(crate) fn f32s(&mut self, count: u64, what: &str) -> Result<Vec<f32>, BundleError> {
        let bytes = self.take(count.saturating_mul(4), what)?;
        let (chunks, _) = bytes.as_chunks::<4>();
        let values: Vec<f32> = chunks.iter().map(|c| f32::from_le_bytes(*c)).collect();
        super::check_finite(&format!("{} {what}", self.section), &values)?;
        Ok(values)
    }

    /// A LEB128 u32 (at most 5 bytes, no overflow).
    pub(crate) fn varint(&mut self, what: &str) -> Result<u32, BundleError> {
        let mut value = 0u32;
        for i in 0..5 {
            let byte = self.u8(what)?;
            let bits = u32::from(byte & 0x7f);
            if i == 4 && bits > 0x0f {
                return Err(self.bad(what, "a varint below 2^32", "an overflowing varint"));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.bad(what, "a varint of at most 5 bytes", "a longer one"))
    }

    /// A varint-length-prefixed UTF-8 string.
    pub(crate) fn str(&mut self, what: &str) -> Result<String, BundleError> {
        let len = self.varint(what)?;
        let bytes = self.take(u64::from(len), what)?;
        self.utf8(bytes, what)
    }

    pub(crate) fn utf8(&self, bytes: &[u8], what: &str) -> Result<String, BundleError> {
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            self.bad(
                what,
                "UTF-8",
                &format!("invalid byte at {}", e.utf8_error().valid_up_to()),
            )
        })
    }

    pub(crate) fn bad(&self, what: &str, expected: &str, got: &str) -> BundleError {
        BundleError::BadValue {
            section: self.section.to_owned(),
            what: what.to_owned(),
            expected: expected.to_owned(),
            got: got.to_owned(),
        }
    }

    /// Errors if bytes are left over.
    pub(crate) fn finish(self) -> Result<(), BundleError> {
        match self.remaining() {
            0 => Ok(()),
            got => Err(BundleError::SectionTrailingBytes {
                section: self.section.to_owned(),
                got: got as u64,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_edge_values() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX - 1, u32::MAX] {
            let mut w = Writer::default();
            w.varint(v);
            let mut r = Reader::new("t", &w.0);
            assert_eq!(r.varint("v").unwrap(), v);
            r.finish().unwrap();
        }
    }

    #[test]
    fn varint_rejects_overflow_and_overlong() {
        let mut r = Reader::new("t", &[0xff, 0xff, 0xff, 0xff, 0x1f]);
        assert!(matches!(r.varint("v"), Err(BundleError::BadValue { .. })));
        let mut r = Reader::new("t", &[0x80, 0x80]);
        assert!(matches!(
            r.varint("v"),
            Err(BundleError::SectionTruncated { .. })
        ));
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0, 1, -1, 1995, -2000, i32::MAX, i32::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn take_reports_expected_and_got() {
        let mut r = Reader::new("items", &[1, 2, 3]);
        let err = r.take(8, "codes").unwrap_err();
        assert_eq!(
            err.to_string(),
            "section `items` ends early reading codes: expected 8 bytes, got 3"
        );
        assert!(r.take(u64::MAX, "huge").is_err());
    }
}
