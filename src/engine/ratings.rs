//! The visitor's thumbs as the browser keeps them: a replicated map from movie to thumbs, where
//! every change (a thumb, a removal, a wipe, the popularity weight) carries a [`Stamp`] from a
//! hybrid logical clock. Two copies merge per movie, the later stamp winning, so tabs and devices
//! that changed the same thumbs in any order agree (the per-key last-writer-wins map of local-first
//! software). A removal is remembered as such, and a wipe as a floor below which every thumb is
//! gone, so neither comes back from an older copy.
//!
//! Nothing readable is dropped: thumbs for movies this catalog lacks stay in the map (the
//! recommender only sees the known ones) and text of a newer format is carried verbatim in
//! `newer`, beside what this build could read of it. Malformed entries are dropped with a
//! warning each.
//!
//! Saved text, version 2 (the movie ids ascending, so equal maps have equal text):
//! `{"version":2,"thumbs":[[movieId,thumbs|null,time,counter,device],…],"cleared":[time,counter,device],
//! "popularityWeight":[β,time,counter,device],"newer":["text"]}` (`cleared`, `popularityWeight`
//! and `newer` only when set). Version 1, `{"version":1,"ratings":[[movieId,thumbs],…],
//! "popularityWeight":β}`, is read as changes older than any new one. A reader that finds a
//! version it cannot fully read keeps that text in `newer`; a reader of that version takes it
//! back from there and merges it.
//!
//! Export files (`{"format":"movie-genie-ratings","version":1,"ratings":[[movieId,thumbs],…],…}`)
//! and share links ([`encode_link`]) carry thumbs without stamps: importing them is a change made
//! now, previewed first ([`Thumbprint::preview_import`]).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::engine::recommender::RatedMovie;
use crate::engine::score::check_popularity_weight;
use crate::engine::{MovieId, Thumbs};

/// The version of the saved text this build writes.
pub const RATINGS_FORMAT_VERSION: u64 = 2;
/// The version of the export file's format (pairs without stamps).
pub const EXPORT_FORMAT_VERSION: u64 = 1;
/// The largest import (a file, or a link's text) read, in bytes.
pub const IMPORT_MAX_BYTES: usize = 5 * 1024 * 1024;
/// The most thumbs one import may carry.
pub const IMPORT_MAX_ENTRIES: usize = 100_000;
/// How far past the reader's clock a stamp may be (ms): clocks of two devices differ, but a
/// stamp years ahead would let one entry win every later change.
const STAMP_MAX_AHEAD_MS: u64 = 7 * 24 * 3600 * 1000;
/// What share links start with: the format of what follows.
const LINK_PREFIX: &str = "t1.";

/// When a change was made: a hybrid logical clock's reading (wall time in ms, then a counter
/// for changes in the same ms) and the id of the copy that made it, which breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp {
    pub time: u64,
    pub counter: u32,
    pub device: u32,
}

/// One movie's latest change: thumbs, or `None` when they were removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub thumbs: Option<Thumbs>,
    pub stamp: Stamp,
}

/// The visitor's thumbs and popularity weight, every change stamped, plus what this build
/// could not read and carries forward.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Thumbprint {
    entries: BTreeMap<MovieId, Entry>,
    /// The last wipe: every change at or before it is gone.
    cleared: Option<Stamp>,
    popularity_weight: Option<(f64, Stamp)>,
    /// Saved texts of newer formats, verbatim.
    newer: Vec<String>,
    /// The clock's last reading: every stamp seen, so new changes order after them.
    clock: Stamp,
}

/// Saved text after validation, with a warning per dropped part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decoded {
    pub thumbprint: Thumbprint,
    pub warnings: Vec<String>,
}

/// Thumbs an import carries (no stamps: importing is a change made now).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    pub ratings: Vec<(MovieId, Thumbs)>,
    pub warnings: Vec<String>,
}

/// What an import would change, for the visitor to confirm.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportPreview {
    /// Movies the visitor has no thumbs on.
    pub adds: Vec<(MovieId, Thumbs)>,
    /// Movies where the file's thumbs differ from the visitor's: `(id, mine, file's)`.
    pub differs: Vec<(MovieId, Thumbs, Thumbs)>,
    /// Movies where both agree.
    pub same: usize,
}

impl Thumbprint {
    /// An empty map whose changes are stamped with `device`.
    pub fn new(device: u32) -> Self {
        Thumbprint {
            clock: Stamp {
                device,
                ..Stamp::default()
            },
            ..Thumbprint::default()
        }
    }

    /// The next stamp at wall time `now` (ms since the epoch): later than every stamp seen.
    fn tick(&mut self, now: f64) -> Stamp {
        let wall = if now.is_finite() && now > 0.0 {
            now as u64
        } else {
            0
        };
        let last = self.clock;
        self.clock = match last.counter.checked_add(1) {
            _ if wall > last.time => Stamp {
                time: wall,
                counter: 0,
                ..last
            },
            Some(counter) => Stamp { counter, ..last },
            // A saved stamp may carry the last counter of its millisecond: the next one then.
            None => Stamp {
                time: last.time.saturating_add(1),
                counter: 0,
                ..last
            },
        };
        self.clock
    }

    /// Moves the clock past `stamp`, keeping this copy's device id.
    fn observe(&mut self, stamp: Stamp) {
        if (stamp.time, stamp.counter) > (self.clock.time, self.clock.counter) {
            self.clock.time = stamp.time;
            self.clock.counter = stamp.counter;
        }
    }

    /// Sets (or, with `None`, removes) the thumbs on `id` at wall time `now`.
    pub fn set(&mut self, id: MovieId, thumbs: Option<Thumbs>, now: f64) {
        let stamp = self.tick(now);
        self.entries.insert(id, Entry { thumbs, stamp });
    }

    /// Wipes every thumb at wall time `now`; a change made elsewhere later survives the merge.
    pub fn clear(&mut self, now: f64) {
        self.cleared = Some(self.tick(now));
        self.entries.clear();
    }

    /// Sets the popularity weight at wall time `now`.
    pub fn set_popularity_weight(&mut self, weight: f64, now: f64) {
        let stamp = self.tick(now);
        self.popularity_weight = Some((weight, stamp));
    }

    /// The saved popularity weight, when one was set.
    pub fn popularity_weight(&self) -> Option<f64> {
        self.popularity_weight.map(|(w, _)| w)
    }

    /// Merges `other` in: per movie the later change, the later wipe and weight, both copies'
    /// unread texts. Merging is commutative, associative and idempotent.
    pub fn merge(&mut self, other: &Thumbprint) {
        for (&id, &entry) in &other.entries {
            self.merge_entry(id, entry);
        }
        if let Some(cleared) = other.cleared {
            self.merge_cleared(cleared);
        }
        if let Some((weight, stamp)) = other.popularity_weight {
            self.merge_weight(weight, stamp);
        }
        for text in &other.newer {
            self.merge_newer(text);
        }
    }

    /// Takes `entry` for `id` where it is later than this copy's and than the last wipe: the
    /// rule merging and reading saved text both follow.
    fn merge_entry(&mut self, id: MovieId, entry: Entry) {
        self.observe(entry.stamp);
        let wiped = self.cleared.is_some_and(|cleared| entry.stamp <= cleared);
        if !wiped
            && self
                .entries
                .get(&id)
                .is_none_or(|mine| mine.stamp < entry.stamp)
        {
            self.entries.insert(id, entry);
        }
    }

    /// Takes a wipe at `stamp` where it is later than this copy's, dropping what came before.
    fn merge_cleared(&mut self, stamp: Stamp) {
        self.observe(stamp);
        if self.cleared < Some(stamp) {
            self.cleared = Some(stamp);
            self.entries.retain(|_, e| e.stamp > stamp);
        }
    }

    fn merge_weight(&mut self, weight: f64, stamp: Stamp) {
        self.observe(stamp);
        if self.popularity_weight.is_none_or(|(_, mine)| mine < stamp) {
            self.popularity_weight = Some((weight, stamp));
        }
    }

    /// Keeps `text` once, the texts sorted, so equal maps have equal text whichever copy saw
    /// which text first.
    fn merge_newer(&mut self, text: &str) {
        if let Err(at) = self.newer.binary_search_by(|kept| kept.as_str().cmp(text)) {
            self.newer.insert(at, text.to_owned());
        }
    }

    /// The thumbs by movie id.
    pub fn by_id(&self) -> Vec<(MovieId, Thumbs)> {
        self.entries
            .iter()
            .filter_map(|(&id, e)| e.thumbs.map(|t| (id, t)))
            .collect()
    }

    /// How many movies have thumbs.
    pub fn len(&self) -> usize {
        self.entries.values().filter(|e| e.thumbs.is_some()).count()
    }

    /// Whether no movie has thumbs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The thumbs, in the order they were given (by stamp).
    pub fn ratings(&self) -> Vec<(MovieId, Thumbs)> {
        let mut live: Vec<(Stamp, MovieId, Thumbs)> = self
            .entries
            .iter()
            .filter_map(|(&id, e)| e.thumbs.map(|t| (e.stamp, id, t)))
            .collect();
        live.sort_unstable();
        live.into_iter().map(|(_, id, t)| (id, t)).collect()
    }

    /// The thumbs on `id`, if any.
    pub fn thumbs(&self, id: MovieId) -> Option<Thumbs> {
        self.entries.get(&id).and_then(|e| e.thumbs)
    }

    /// Makes the thumbs those of `snapshot` again, as changes made now (an undo): movies it
    /// rated get its thumbs back, movies it did not rate lose theirs.
    pub fn revert_to(&mut self, snapshot: &Thumbprint, now: f64) {
        let ids: Vec<MovieId> = self
            .entries
            .keys()
            .chain(snapshot.entries.keys())
            .copied()
            .collect();
        for id in ids {
            let want = snapshot.thumbs(id);
            if self.thumbs(id) != want {
                self.set(id, want, now);
            }
        }
        if let Some(weight) = snapshot.popularity_weight()
            && self.popularity_weight() != Some(weight)
        {
            self.set_popularity_weight(weight, now);
        }
    }

    /// What importing `imported` would change.
    pub fn preview_import(&self, imported: &Imported) -> ImportPreview {
        let mut preview = ImportPreview::default();
        for &(id, theirs) in &imported.ratings {
            match self.thumbs(id) {
                None => preview.adds.push((id, theirs)),
                Some(mine) if mine == theirs => preview.same += 1,
                Some(mine) => preview.differs.push((id, mine, theirs)),
            }
        }
        preview
    }

    /// Imports `imported` at wall time `now`: adds what the visitor lacks, and where both have
    /// thumbs keeps the visitor's unless `prefer_file`. Returns how many thumbs changed.
    pub fn import(&mut self, imported: &Imported, prefer_file: bool, now: f64) -> usize {
        let preview = self.preview_import(imported);
        let mut changed = 0;
        for (id, thumbs) in preview.adds {
            self.set(id, Some(thumbs), now);
            changed += 1;
        }
        if prefer_file {
            for (id, _, theirs) in preview.differs {
                self.set(id, Some(theirs), now);
                changed += 1;
            }
        }
        changed
    }

    /// The saved text (version 2), equal for equal maps.
    pub fn encode(&self) -> String {
        let stamp = |s: Stamp| [json!(s.time), json!(s.counter), json!(s.device)];
        let thumbs: Vec<Value> = self
            .entries
            .iter()
            .map(|(id, e)| {
                let [time, counter, device] = stamp(e.stamp);
                json!([id.0, e.thumbs.map(Thumbs::value), time, counter, device])
            })
            .collect();
        let mut doc = serde_json::Map::new();
        doc.insert("version".into(), json!(RATINGS_FORMAT_VERSION));
        doc.insert("thumbs".into(), Value::Array(thumbs));
        if let Some(cleared) = self.cleared {
            doc.insert("cleared".into(), json!(stamp(cleared)));
        }
        if let Some((weight, s)) = self.popularity_weight {
            let [time, counter, device] = stamp(s);
            doc.insert(
                "popularityWeight".into(),
                json!([weight, time, counter, device]),
            );
        }
        if !self.newer.is_empty() {
            doc.insert("newer".into(), json!(self.newer));
        }
        Value::Object(doc).to_string()
    }

    /// Reads saved text of any version, for a reader whose clock reads `now` (ms): every valid
    /// entry is kept, whatever movie it names; a text that is not saved thumbs at all is an
    /// error saying what it is instead.
    pub fn decode(text: &str, now: f64) -> Result<Decoded, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "not JSON ({e}); expected {{\"version\":{RATINGS_FORMAT_VERSION},\"thumbs\":[…]}}"
            )
        })?;
        let version = value.get("version").and_then(Value::as_u64);
        let max_time = (now.max(0.0) as u64).saturating_add(STAMP_MAX_AHEAD_MS);
        let mut out = Decoded::default();
        match version {
            Some(1) => read_version_1(&value, &mut out)?,
            Some(RATINGS_FORMAT_VERSION) => read_version_2(&value, max_time, &mut out)?,
            Some(v) if v > RATINGS_FORMAT_VERSION => {
                // What of a newer text has this version's shape is read; all of it is kept.
                if value.get("thumbs").is_some_and(Value::is_array) {
                    read_version_2(&value, max_time, &mut out)?;
                }
                out.thumbprint.merge_newer(text);
                out.warnings.push(format!(
                    "saved thumbs of version {v}, newer than this site's {RATINGS_FORMAT_VERSION}: \
                     read what this version can and kept the text as it is"
                ));
            }
            _ => {
                return Err(format!(
                    "of version {}; expected version 1 or {RATINGS_FORMAT_VERSION}",
                    value
                        .get("version")
                        .map_or_else(|| "none".into(), Value::to_string)
                ));
            }
        }
        Ok(out)
    }
}

/// `[time, counter, device]`, each a whole number in range, not after `max_time`.
fn read_stamp(parts: &[Value], max_time: u64) -> Result<Stamp, String> {
    let whole = |v: &Value| v.as_u64();
    match parts {
        [time, counter, device] => {
            let stamp = Stamp {
                time: whole(time).ok_or_else(|| {
                    format!("stamp time must be a whole number of ms (got {time})")
                })?,
                counter: whole(counter)
                    .and_then(|c| u32::try_from(c).ok())
                    .ok_or_else(|| {
                        format!("stamp counter must be a whole number below 2^32 (got {counter})")
                    })?,
                device: whole(device)
                    .and_then(|d| u32::try_from(d).ok())
                    .ok_or_else(|| {
                        format!("stamp device must be a whole number below 2^32 (got {device})")
                    })?,
            };
            if stamp.time > max_time {
                return Err(format!(
                    "stamped at {} ms, more than a week after this clock's {} ms",
                    stamp.time,
                    max_time - STAMP_MAX_AHEAD_MS
                ));
            }
            Ok(stamp)
        }
        _ => Err(format!(
            "expected a stamp [time, counter, device], got {}",
            Value::Array(parts.to_vec())
        )),
    }
}

fn read_movie_id(id: &Value) -> Result<MovieId, String> {
    id.as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .map(MovieId)
        .ok_or_else(|| {
            format!(
                "movie id must be a whole number from 0 to {} (got {id})",
                u32::MAX
            )
        })
}

fn read_thumbs(thumbs: &Value) -> Result<Thumbs, String> {
    thumbs
        .as_f64()
        .ok_or_else(|| format!("thumbs must be a number (got {thumbs})"))
        .and_then(|v| Thumbs::from_f64(v).map_err(|e| e.to_string()))
}

/// The popularity weight of version 1 (`β`) or 2 (`[β, time, counter, device]`).
fn read_weight(value: &Value, max_time: u64, out: &mut Decoded) {
    let Some(saved) = value.get("popularityWeight") else {
        return;
    };
    let (weight, stamp) = match saved.as_array().map(Vec::as_slice) {
        Some([weight, stamp @ ..]) => (weight, read_stamp(stamp, max_time)),
        _ => (saved, Ok(Stamp::default())),
    };
    match (weight.as_f64().map(check_popularity_weight), stamp) {
        (Some(Ok(w)), Ok(stamp)) => out.thumbprint.merge_weight(w, stamp),
        (_, Err(reason)) => out.warnings.push(format!(
            "saved popularity weight: {reason}: kept the default"
        )),
        _ => out.warnings.push(format!(
            "saved popularity weight must be a number from 0 to 1 (got {weight}): kept the default"
        )),
    }
}

/// Version 1 and export files: pairs in the order given, each older than any stamped change
/// (the later of a repeated id wins).
fn read_version_1(value: &Value, out: &mut Decoded) -> Result<(), String> {
    let entries = read_pairs(value, out)?;
    for (i, (id, thumbs)) in entries.into_iter().enumerate() {
        let stamp = Stamp {
            time: 0,
            counter: u32::try_from(i).unwrap_or(u32::MAX),
            device: 0,
        };
        let thumbs = Some(thumbs);
        out.thumbprint.merge_entry(id, Entry { thumbs, stamp });
    }
    read_weight(value, 0, out);
    Ok(())
}

/// `ratings: [[movieId, thumbs], …]` (version 1 and export files): the valid pairs, each
/// invalid one a warning.
fn read_pairs(value: &Value, out: &mut Decoded) -> Result<Vec<(MovieId, Thumbs)>, String> {
    let Some(entries) = value.get("ratings").and_then(Value::as_array) else {
        return Err("without a `ratings` array; expected [[movieId,thumbs],…]".into());
    };
    let mut pairs = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let pair = match entry.as_array().map(Vec::as_slice) {
            Some([id, thumbs]) => read_movie_id(id).and_then(|id| Ok((id, read_thumbs(thumbs)?))),
            _ => Err(format!("expected [movieId, thumbs], got {entry}")),
        };
        match pair {
            Ok(pair) => pairs.push(pair),
            Err(reason) => out
                .warnings
                .push(format!("saved rating {i}: {reason}: dropped it")),
        }
    }
    Ok(pairs)
}

fn read_version_2(value: &Value, max_time: u64, out: &mut Decoded) -> Result<(), String> {
    let Some(entries) = value.get("thumbs").and_then(Value::as_array) else {
        return Err(
            "without a `thumbs` array; expected [[movieId,thumbs,time,counter,device],…]".into(),
        );
    };
    for (i, entry) in entries.iter().enumerate() {
        let parsed = match entry.as_array().map(Vec::as_slice) {
            Some([id, thumbs, stamp @ ..]) => read_movie_id(id).and_then(|id| {
                let thumbs = if thumbs.is_null() {
                    None
                } else {
                    Some(read_thumbs(thumbs)?)
                };
                Ok((
                    id,
                    Entry {
                        thumbs,
                        stamp: read_stamp(stamp, max_time)?,
                    },
                ))
            }),
            _ => Err(format!(
                "expected [movieId, thumbs, time, counter, device], got {entry}"
            )),
        };
        match parsed {
            Ok((id, entry)) => out.thumbprint.merge_entry(id, entry),
            Err(reason) => out
                .warnings
                .push(format!("saved thumbs {i}: {reason}: dropped it")),
        }
    }
    if let Some(cleared) = value.get("cleared") {
        match cleared.as_array().map(|parts| read_stamp(parts, max_time)) {
            Some(Ok(stamp)) => out.thumbprint.merge_cleared(stamp),
            Some(Err(reason)) => out
                .warnings
                .push(format!("saved wipe: {reason}: ignored it")),
            None => out.warnings.push(format!(
                "saved wipe must be [time, counter, device] (got {cleared}): ignored it"
            )),
        }
    }
    read_weight(value, max_time, out);
    for text in value
        .get("newer")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        out.thumbprint.merge_newer(text);
    }
    Ok(())
}

/// The thumbs an import carries: an export file, saved text of any version (its live thumbs),
/// or a share link's text ([`encode_link`]). At most [`IMPORT_MAX_BYTES`] and
/// [`IMPORT_MAX_ENTRIES`]; text that is none of these is an error saying what it is instead.
pub fn parse_import(text: &str) -> Result<Imported, String> {
    check_import_size(text.len() as f64)?;
    let trimmed = text.trim();
    if let Some(code) = trimmed.strip_prefix(LINK_PREFIX) {
        return decode_link(code).map(|ratings| Imported {
            ratings,
            warnings: Vec::new(),
        });
    }
    let value: Value = serde_json::from_str(trimmed).map_err(|e| {
        format!("not JSON ({e}); expected a file Movie Genie exported, {{\"ratings\":[[movieId,thumbs],…]}}")
    })?;
    let count = ["ratings", "thumbs"]
        .iter()
        .filter_map(|k| value.get(*k).and_then(Value::as_array))
        .map(Vec::len)
        .sum::<usize>();
    if count > IMPORT_MAX_ENTRIES {
        return Err(format!(
            "{count} thumbs; an import may carry at most {IMPORT_MAX_ENTRIES}"
        ));
    }
    let mut out = Decoded::default();
    if value.get("format").and_then(Value::as_str) == Some("movie-genie-ratings") {
        let version = value.get("version").and_then(Value::as_u64);
        if version != Some(EXPORT_FORMAT_VERSION) {
            return Err(format!(
                "an export of version {}; expected version {EXPORT_FORMAT_VERSION}",
                value
                    .get("version")
                    .map_or_else(|| "none".into(), Value::to_string)
            ));
        }
        read_version_1(&value, &mut out)?;
    } else {
        out = Thumbprint::decode(trimmed, f64::INFINITY)?;
    }
    Ok(Imported {
        ratings: out.thumbprint.by_id(),
        warnings: out.warnings,
    })
}

/// Refuses an import of `bytes` bytes over [`IMPORT_MAX_BYTES`] (checked before a file is
/// read, and again on its text).
pub fn check_import_size(bytes: f64) -> Result<(), String> {
    if bytes > IMPORT_MAX_BYTES as f64 {
        return Err(format!(
            "{:.1} MB; an import may be at most {} MB",
            bytes / 1e6,
            IMPORT_MAX_BYTES / (1024 * 1024)
        ));
    }
    Ok(())
}

/// The file Export writes: the thumbs (those for movies this catalog lacks too) as pairs, the
/// popularity weight, and the catalog's titles of the rated movies, for people.
pub fn encode_ratings_file(
    thumbprint: &Thumbprint,
    movies: &[RatedMovie],
    popularity_weight: f64,
) -> String {
    let pairs: Vec<(u32, i8)> = thumbprint
        .by_id()
        .into_iter()
        .map(|(m, t)| (m.0, t.value()))
        .collect();
    let file = json!({
        "format": "movie-genie-ratings",
        "version": EXPORT_FORMAT_VERSION,
        "ratings": pairs,
        "popularityWeight": popularity_weight,
        "movies": movies,
    });
    serde_json::to_string_pretty(&file).expect("plain JSON values")
}

/// A share link's text for the thumbs of `thumbprint`: [`LINK_PREFIX`], then base64url of the
/// movie ids ascending, each as the LEB128 varint of `gap × 3 + thumbs code` (gap from the
/// previous id; code 0, 1, 2 for −1, +1, +2): about three bytes a thumb, so 100 thumbs fit in a
/// few hundred characters.
pub fn encode_link(thumbprint: &Thumbprint) -> String {
    let ratings = thumbprint.by_id();
    let mut bytes = Vec::with_capacity(ratings.len() * 3);
    let mut previous = 0u64;
    for (id, thumbs) in ratings {
        let code = match thumbs {
            Thumbs::Down => 0,
            Thumbs::Up => 1,
            Thumbs::DoubleUp => 2,
        };
        let mut v = (u64::from(id.0) - previous) * 3 + code;
        previous = u64::from(id.0);
        loop {
            let low = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                bytes.push(low);
                break;
            }
            bytes.push(low | 0x80);
        }
    }
    format!("{LINK_PREFIX}{}", base64url(&bytes))
}

/// The thumbs of a share link's text after [`LINK_PREFIX`].
fn decode_link(code: &str) -> Result<Vec<(MovieId, Thumbs)>, String> {
    let bytes = unbase64url(code)?;
    let mut out = Vec::new();
    let (mut previous, mut v, mut shift) = (0u64, 0u64, 0u32);
    for byte in bytes {
        if shift > 35 {
            return Err("a damaged link: a number longer than a movie id".into());
        }
        v |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 != 0 {
            continue;
        }
        let id = previous + v / 3;
        let thumbs = [Thumbs::Down, Thumbs::Up, Thumbs::DoubleUp][(v % 3) as usize];
        let id = u32::try_from(id)
            .map_err(|_| format!("a damaged link: movie id {id} is out of range"))?;
        if out.len() >= IMPORT_MAX_ENTRIES {
            return Err(format!("a link of more than {IMPORT_MAX_ENTRIES} thumbs"));
        }
        out.push((MovieId(id), thumbs));
        previous = u64::from(id);
        (v, shift) = (0, 0);
    }
    if shift != 0 {
        return Err("a damaged link: it ends in the middle of a number".into());
    }
    Ok(out)
}

// base64url in a few lines: no crate of the wasm build has it, and the first load has under a
// kilobyte to spare.
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(BASE64URL[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unbase64url(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut n, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let Some(v) = BASE64URL.iter().position(|&b| b == c) else {
            return Err(format!(
                "a damaged link: '{}' is not a link character (A–Z, a–z, 0–9, - and _)",
                c as char
            ));
        };
        n = n << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
            n &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_764_000_000_000.0;

    fn decode(text: &str) -> Decoded {
        Thumbprint::decode(text, NOW).unwrap()
    }

    fn copy(device: u32) -> Thumbprint {
        Thumbprint::new(device)
    }

    #[test]
    fn saved_thumbs_round_trip_through_canonical_text() {
        let mut t = copy(7);
        t.set(MovieId(31), Some(Thumbs::Down), NOW);
        t.set(MovieId(1), Some(Thumbs::DoubleUp), NOW);
        t.set(MovieId(5), Some(Thumbs::Up), NOW + 1.0);
        t.set(MovieId(5), None, NOW + 2.0);
        t.set_popularity_weight(0.25, NOW + 3.0);
        let text = t.encode();
        let n = NOW as u64;
        assert_eq!(
            text,
            format!(
                r#"{{"popularityWeight":[0.25,{},0,7],"thumbs":[[1,2,{n},1,7],[5,null,{},0,7],[31,-1,{n},0,7]],"version":2}}"#,
                n + 3,
                n + 2
            )
        );
        let back = decode(&text);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        assert_eq!(back.thumbprint.encode(), text);
        assert_eq!(
            back.thumbprint.ratings(),
            [(MovieId(31), Thumbs::Down), (MovieId(1), Thumbs::DoubleUp)],
            "in the order given; the removal is remembered, not shown"
        );
        assert_eq!(back.thumbprint.popularity_weight(), Some(0.25));
    }

    #[test]
    fn two_copies_changing_at_once_both_keep_both_in_any_order() {
        let start = copy(1);
        let (mut a, mut b) = (start.clone(), start.clone());
        b.clock.device = 2;
        // The same millisecond in both tabs, on different movies and on the same one.
        a.set(MovieId(10), Some(Thumbs::Up), NOW);
        b.set(MovieId(20), Some(Thumbs::DoubleUp), NOW);
        a.set(MovieId(30), Some(Thumbs::Up), NOW);
        b.set(MovieId(30), Some(Thumbs::Down), NOW);
        let (mut ab, mut ba) = (a.clone(), b.clone());
        ab.merge(&b);
        ba.merge(&a);
        assert_eq!(ab.encode(), ba.encode(), "merging is commutative");
        let mut twice = ab.clone();
        twice.merge(&ab);
        twice.merge(&a);
        assert_eq!(twice.encode(), ab.encode(), "and idempotent");
        assert_eq!(ab.thumbs(MovieId(10)), Some(Thumbs::Up));
        assert_eq!(ab.thumbs(MovieId(20)), Some(Thumbs::DoubleUp));
        // Same ms, same counter: the device id breaks the tie, the same way everywhere.
        assert_eq!(ab.thumbs(MovieId(30)), Some(Thumbs::Down));
        // A change after seeing the other copy wins, even with a clock behind it.
        ab.set(MovieId(20), None, NOW - 60_000.0);
        ba.merge(&ab);
        assert_eq!(ba.thumbs(MovieId(20)), None, "a removal is remembered");
    }

    #[test]
    fn a_saved_stamp_at_the_last_counter_moves_the_clock_to_the_next_millisecond() {
        let n = NOW as u64;
        let text = format!(r#"{{"version":2,"thumbs":[[1,1,{n},{},7]]}}"#, u32::MAX);
        let mut read = decode(&text).thumbprint;
        read.set(MovieId(2), Some(Thumbs::Up), NOW);
        let mut other = copy(9);
        other.merge(&read);
        assert_eq!(other.entries[&MovieId(2)].stamp.time, n + 1);
        assert_eq!(
            other.ratings(),
            [(MovieId(1), Thumbs::Up), (MovieId(2), Thumbs::Up)]
        );
    }

    #[test]
    fn a_wipe_removes_what_came_before_it_and_nothing_after() {
        let mut a = copy(1);
        let mut b = copy(2);
        a.set(MovieId(1), Some(Thumbs::Up), NOW);
        b.set(MovieId(2), Some(Thumbs::Up), NOW + 1.0);
        a.clear(NOW + 5.0);
        b.set(MovieId(3), Some(Thumbs::Down), NOW + 9.0);
        let mut merged = b.clone();
        merged.merge(&a);
        assert_eq!(merged.ratings(), [(MovieId(3), Thumbs::Down)]);
        let mut other = a.clone();
        other.merge(&b);
        assert_eq!(other.encode(), merged.encode());
    }

    #[test]
    fn thumbs_for_movies_the_catalog_lacks_and_newer_text_are_kept() {
        let newer = r#"{"version":3,"thumbs":[[5,1,100,0,9]],"moods":{"5":"cosy"}}"#;
        let read = decode(newer);
        assert_eq!(
            read.thumbprint.ratings(),
            [(MovieId(5), Thumbs::Up)],
            "what it can read"
        );
        assert!(
            read.warnings[0].contains("newer than this site's"),
            "{:?}",
            read.warnings
        );
        let mut mine = read.thumbprint.clone();
        mine.set(MovieId(999_999), Some(Thumbs::Up), NOW);
        let text = mine.encode();
        let back = decode(&text);
        assert_eq!(back.thumbprint.newer, [newer], "the newer text, verbatim");
        assert_eq!(back.thumbprint.thumbs(MovieId(999_999)), Some(Thumbs::Up));
        // Version 1 migrates: older than every new change, nothing dropped.
        let v1 =
            decode(r#"{"version":1,"ratings":[[1,2],[99999,1],[1,-1]],"popularityWeight":0.5}"#);
        assert!(v1.warnings.is_empty(), "{:?}", v1.warnings);
        assert_eq!(
            v1.thumbprint.ratings(),
            [(MovieId(99999), Thumbs::Up), (MovieId(1), Thumbs::Down)]
        );
        assert_eq!(v1.thumbprint.popularity_weight(), Some(0.5));
        let mut now = copy(3);
        now.set(MovieId(1), Some(Thumbs::Up), NOW);
        now.merge(&v1.thumbprint);
        assert_eq!(
            now.thumbs(MovieId(1)),
            Some(Thumbs::Up),
            "a new change beats a migrated one"
        );
    }

    #[test]
    fn tampered_saved_thumbs_keep_the_valid_entries() {
        let far = NOW as u64 + 30 * 24 * 3600 * 1000;
        let text = format!(
            r#"{{"version":2,"thumbs":[[1,2,5,0,1],[11,7,5,0,1],["x",1,5,0,1],[21,-1,5,0,1],[31],[41,1,{far},0,1],[51,1,5,-1,1]],"popularityWeight":[3,1,0,1]}}"#
        );
        let back = decode(&text);
        assert_eq!(
            back.thumbprint.ratings(),
            [(MovieId(1), Thumbs::DoubleUp), (MovieId(21), Thumbs::Down)]
        );
        assert_eq!(back.warnings.len(), 6, "{:?}", back.warnings);
        assert!(back.warnings[0].contains("thumbs must be -1, 1 or 2 (got 7)"));
        assert!(back.warnings[1].contains("movie id must be a whole number"));
        assert!(
            back.warnings[3].contains("more than a week after"),
            "{:?}",
            back.warnings
        );
        assert!(
            back.warnings[5].contains("from 0 to 1 (got 3)"),
            "{:?}",
            back.warnings
        );
        for corrupt in [
            "{not json",
            r#"{"version":0,"ratings":[]}"#,
            r#"{"version":2}"#,
            "[]",
        ] {
            assert!(Thumbprint::decode(corrupt, NOW).is_err(), "{corrupt}");
        }
    }

    #[test]
    fn an_import_adds_what_is_missing_and_keeps_the_visitors_thumbs_unless_asked() {
        let mut mine = copy(1);
        mine.set(MovieId(1), Some(Thumbs::DoubleUp), NOW);
        mine.set(MovieId(2), Some(Thumbs::Up), NOW);
        let file = encode_ratings_file(
            &{
                let mut f = copy(9);
                f.set(MovieId(1), Some(Thumbs::Down), NOW);
                f.set(MovieId(2), Some(Thumbs::Up), NOW);
                f.set(MovieId(3), Some(Thumbs::Up), NOW);
                f
            },
            &[],
            1.0,
        );
        let imported = parse_import(&file).unwrap();
        let preview = mine.preview_import(&imported);
        assert_eq!(preview.adds, [(MovieId(3), Thumbs::Up)]);
        assert_eq!(
            preview.differs,
            [(MovieId(1), Thumbs::DoubleUp, Thumbs::Down)]
        );
        assert_eq!(preview.same, 1);
        let before = mine.clone();
        assert_eq!(mine.import(&imported, false, NOW + 1.0), 1);
        assert_eq!(
            mine.thumbs(MovieId(1)),
            Some(Thumbs::DoubleUp),
            "the visitor's love stays"
        );
        assert_eq!(mine.thumbs(MovieId(3)), Some(Thumbs::Up));
        let mut theirs = before.clone();
        assert_eq!(theirs.import(&imported, true, NOW + 1.0), 2);
        assert_eq!(theirs.thumbs(MovieId(1)), Some(Thumbs::Down));
        // Undo: back to the thumbs before, as a change that wins over the import.
        theirs.revert_to(&before, NOW + 2.0);
        assert_eq!(theirs.by_id(), before.by_id());
        let mut elsewhere = theirs.clone();
        elsewhere.merge(&mine);
        assert_eq!(
            elsewhere.thumbs(MovieId(3)),
            None,
            "the undo is the latest change"
        );
    }

    #[test]
    fn an_export_wipe_import_restores_everything() {
        let mut mine = copy(1);
        mine.set(MovieId(4), Some(Thumbs::Up), NOW);
        mine.set(MovieId(999_999), Some(Thumbs::Down), NOW);
        let file = encode_ratings_file(&mine, &[], 1.0);
        mine.clear(NOW + 1.0);
        assert_eq!(
            mine.import(&parse_import(&file).unwrap(), false, NOW + 2.0),
            2
        );
        assert_eq!(
            mine.by_id(),
            [(MovieId(4), Thumbs::Up), (MovieId(999_999), Thumbs::Down)]
        );
    }

    #[test]
    fn imports_over_the_limits_are_refused_saying_so() {
        let big = format!(
            "{{\"ratings\":[{}]}}",
            vec!["[1,1]"; IMPORT_MAX_ENTRIES + 1].join(",")
        );
        assert!(
            parse_import(&big).unwrap_err().contains("at most 100000"),
            "entries"
        );
        let huge = " ".repeat(IMPORT_MAX_BYTES + 1);
        assert!(
            parse_import(&huge).unwrap_err().contains("at most 5 MB"),
            "bytes"
        );
        assert!(parse_import("{oops").unwrap_err().starts_with("not JSON"));
        let entries: Vec<String> = (0..IMPORT_MAX_ENTRIES)
            .map(|i| format!("[{i},1]"))
            .collect();
        let most = format!(
            r#"{{"format":"movie-genie-ratings","version":1,"ratings":[{}]}}"#,
            entries.join(",")
        );
        assert_eq!(
            parse_import(&most).unwrap().ratings.len(),
            IMPORT_MAX_ENTRIES
        );
    }

    #[test]
    fn a_link_carries_a_hundred_thumbs_in_well_under_two_kilobytes() {
        let ratings: Vec<(MovieId, Thumbs)> = (0..100u32)
            .map(|i| {
                let t = [Thumbs::Down, Thumbs::Up, Thumbs::DoubleUp][(i % 3) as usize];
                (MovieId(1 + i * 1_931 % 200_000), t)
            })
            .collect();
        let mut visitor = copy(1);
        for &(id, t) in &ratings {
            visitor.set(id, Some(t), NOW);
        }
        let link = encode_link(&visitor);
        assert!(link.len() <= 2048, "{} characters", link.len());
        assert!(
            link.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert_eq!(parse_import(&link).unwrap().ratings, visitor.by_id());
        assert!(
            parse_import("t1.!!")
                .unwrap_err()
                .contains("not a link character")
        );
        assert!(
            parse_import("t1.gA")
                .unwrap_err()
                .contains("middle of a number")
        );
        assert_eq!(parse_import("t1.").unwrap().ratings, []);
    }
}
