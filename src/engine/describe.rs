//! "Describe a movie": a visitor's description becomes a vector in the space of the movies'
//! overview embeddings, without the words leaving the machine.
//!
//! The query encoder is a static embedding distilled from the sentence model that embedded the
//! overviews (all-MiniLM-L6-v2): one vector per word piece of its vocabulary, each the model's
//! embedding of that piece alone, projected onto the principal axes of the overviews. A query
//! is the weighted mean of its pieces' vectors (rarer pieces weigh more), less the overviews'
//! mean; each movie is its overview embedding, projected the same way. Both are unit vectors,
//! so a movie's score is their cosine. The pipeline builds the [`SearchData`]
//! (`pipeline::search`), the browser fetches it only when a visitor first describes a movie.
//!
//! ```text
//! file      magic [8] | version u32 | sha256 [32] of the data | data
//! data      model (varint len + UTF-8), dim u32, source_dim u32, pieces u32, movies u32,
//!           text_share f32, popularity_weight f32, min_standout f32, feedback_movies u32,
//!           feedback_weight f32 ([`Placement`], [`DescribeSettings`])
//!           vocabulary: varint count, then varint len + UTF-8 per piece (id order)
//!           weights f32 × pieces | offset f32 × dim
//!           projection f32 × dim × source_dim (what `add-movies` projects new movies with)
//!           piece table: scales f32 × pieces, codes i8 × pieces × dim
//!           movies: movie_id u32 × movies, scales f32 × movies, codes i8 × movies × dim
//! ```

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::engine::MovieId;
use crate::engine::bundle::format::{Reader, Writer};
use crate::engine::bundle::{BundleError, Int8Table};
use crate::engine::recommender::fold;

/// First 8 bytes of every search-data file.
pub const SEARCH_MAGIC: [u8; 8] = *b"MVGSRCH\x1a";
/// The version this build writes and the only one it reads.
pub const SEARCH_VERSION: u32 = 1;
/// Longest word the word-piece split tries (BERT's `max_input_chars_per_word`).
const MAX_WORD_CHARS: usize = 100;
/// Most pieces of a query that count: a description, not a document.
pub const MAX_QUERY_PIECES: usize = 64;

/// Splits text into word pieces of a BERT-style uncased vocabulary: folded to lower case
/// without Latin accents ([`fold`]), split at white space and around every other character that
/// is not a letter or digit, then each word greedily into its longest known prefix and
/// `##`-continuations; a word that does not split is unknown and dropped.
#[derive(Debug, Clone)]
pub struct WordPieces {
    ids: HashMap<String, u32>,
}

impl WordPieces {
    /// `vocabulary` in id order.
    pub fn new(vocabulary: &[String]) -> Self {
        let ids = vocabulary
            .iter()
            .enumerate()
            .map(|(i, piece)| (piece.clone(), i as u32))
            .collect();
        Self { ids }
    }

    /// The pieces of `text`, in order.
    pub fn split(&self, text: &str) -> Vec<u32> {
        let folded = fold(text);
        let mut out = Vec::new();
        for word in words(&folded) {
            self.split_word(word, &mut out);
        }
        out
    }

    fn split_word(&self, word: &str, out: &mut Vec<u32>) {
        if word.chars().count() > MAX_WORD_CHARS {
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < word.len() {
            let rest = &word[start..];
            let found = rest
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .rev()
                .find_map(|end| {
                    let piece = &rest[..end];
                    let id = if start == 0 {
                        self.ids.get(piece)
                    } else {
                        self.ids.get(&format!("##{piece}"))
                    };
                    id.map(|&id| (id, end))
                });
            let Some((id, end)) = found else { return };
            pieces.push(id);
            start += end;
        }
        out.extend(pieces);
    }
}

/// Words of folded text: runs of ASCII letters and digits (English, accents folded), and every
/// other non-space character alone.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start();
        let first = rest.chars().next()?;
        let end = if first.is_ascii_alphanumeric() {
            rest.find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len())
        } else {
            first.len_utf8()
        };
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

/// The static query encoder: word pieces, their weights and projected vectors, and the
/// overviews' mean in the projected space.
#[derive(Debug, Clone)]
pub struct QueryEncoder {
    vocabulary: Vec<String>,
    pieces: WordPieces,
    weights: Vec<f32>,
    offset: Vec<f32>,
    table: Int8Table,
}

impl QueryEncoder {
    /// Checks that the parts agree: one weight and one table row per piece, finite non-negative
    /// weights, an offset of the table's width.
    pub fn new(
        vocabulary: Vec<String>,
        weights: Vec<f32>,
        offset: Vec<f32>,
        table: Int8Table,
    ) -> Result<Self, BundleError> {
        let expect = |what: &str, expected: usize, got: usize| {
            if expected == got {
                Ok(())
            } else {
                Err(BundleError::BadValue {
                    section: "search data".into(),
                    what: what.into(),
                    expected: expected.to_string(),
                    got: got.to_string(),
                })
            }
        };
        expect("weights, one per piece", vocabulary.len(), weights.len())?;
        expect(
            "piece vectors, one per piece",
            vocabulary.len(),
            table.rows(),
        )?;
        expect("offset width", table.dim(), offset.len())?;
        if let Some(w) = weights.iter().find(|w| !w.is_finite() || **w < 0.0) {
            return Err(BundleError::BadValue {
                section: "search data".into(),
                what: "piece weight".into(),
                expected: "a finite weight ≥ 0".into(),
                got: w.to_string(),
            });
        }
        let pieces = WordPieces::new(&vocabulary);
        Ok(Self {
            vocabulary,
            pieces,
            weights,
            offset,
            table,
        })
    }

    pub fn dim(&self) -> usize {
        self.table.dim()
    }

    /// How many pieces the vocabulary has.
    pub fn vocabulary_len(&self) -> usize {
        self.vocabulary.len()
    }

    /// The pieces of `text` that carry meaning (weight above zero), at most
    /// [`MAX_QUERY_PIECES`].
    pub fn pieces(&self, text: &str) -> Vec<u32> {
        let mut pieces = self.pieces.split(text);
        pieces.retain(|&p| self.weights[p as usize] > 0.0);
        pieces.truncate(MAX_QUERY_PIECES);
        pieces
    }

    /// The piece named `id`.
    pub fn piece(&self, id: u32) -> Option<&str> {
        self.vocabulary.get(id as usize).map(String::as_str)
    }

    /// The offset every query and movie vector is centred by.
    pub fn offset(&self) -> &[f32] {
        &self.offset
    }

    /// The unit query vector of `text`, or `None` when no piece of it is known.
    pub fn encode(&self, text: &str) -> Option<Vec<f32>> {
        let pieces = self.pieces(text);
        let dim = self.dim();
        let mut sum = vec![0f32; dim];
        let mut total = 0f32;
        for &p in &pieces {
            let w = self.weights[p as usize];
            let row = self.table.row(p as usize)?;
            sum.iter_mut().zip(&row).for_each(|(s, x)| *s += w * x);
            total += w;
        }
        if total <= 0.0 {
            return None;
        }
        sum.iter_mut()
            .zip(&self.offset)
            .for_each(|(s, o)| *s = *s / total - o);
        unit(sum)
    }
}

/// `v / |v|`, or `None` for a zero vector.
pub fn unit(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Some(v)
}

/// Everything a description is ranked with: the query encoder and each movie's unit vector in
/// its space, keyed by movie id (a movie of the catalog without one is never a description's
/// match).
#[derive(Debug, Clone)]
pub struct SearchData {
    pub model: String,
    pub settings: DescribeSettings,
    /// How movies were placed in the space: what `add-movies` places new ones with.
    pub placement: Placement,
    pub encoder: QueryEncoder,
    pub movie_ids: Vec<MovieId>,
    pub movies: Int8Table,
}

impl SearchData {
    /// Checks that the movies' table matches the encoder's width and has one row per id.
    pub fn new(
        model: String,
        settings: DescribeSettings,
        placement: Placement,
        encoder: QueryEncoder,
        movie_ids: Vec<MovieId>,
        movies: Int8Table,
    ) -> Result<Self, BundleError> {
        if placement.projection.len() != encoder.dim() * placement.source_dim
            || !(0.0..=1.0).contains(&placement.text_share)
        {
            return Err(BundleError::BadValue {
                section: "search data".into(),
                what: "placement".into(),
                expected: format!(
                    "a {} × {} projection and a text share in [0, 1]",
                    encoder.dim(),
                    placement.source_dim
                ),
                got: format!(
                    "{} values and {}",
                    placement.projection.len(),
                    placement.text_share
                ),
            });
        }
        if movies.dim() != encoder.dim() || movies.rows() != movie_ids.len() {
            return Err(BundleError::BadValue {
                section: "search data".into(),
                what: "movie vectors".into(),
                expected: format!("{} × {}", movie_ids.len(), encoder.dim()),
                got: format!("{} × {}", movies.rows(), movies.dim()),
            });
        }
        let weight = settings.popularity_weight;
        if !(weight.is_finite() && (0.0..=10.0).contains(&weight))
            || !(settings.feedback_weight.is_finite()
                && (0.0..=10.0).contains(&settings.feedback_weight))
        {
            return Err(BundleError::BadValue {
                section: "search data".into(),
                what: "popularity and feedback weights".into(),
                expected: "numbers in [0, 10]".into(),
                got: format!("{weight} and {}", settings.feedback_weight),
            });
        }
        Ok(Self {
            model,
            settings,
            placement,
            encoder,
            movie_ids,
            movies,
        })
    }

    /// The file's bytes; [`SearchData::from_bytes`] reads them back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let e = &self.encoder;
        let mut w = Writer::default();
        w.str(&self.model);
        for n in [
            e.dim(),
            self.placement.source_dim,
            e.vocabulary.len(),
            self.movie_ids.len(),
        ] {
            w.u32(n as u32);
        }
        w.f32s(&[
            self.placement.text_share,
            self.settings.popularity_weight,
            self.settings.min_standout,
        ]);
        w.u32(self.settings.feedback_movies);
        w.f32s(&[self.settings.feedback_weight]);
        w.varint(e.vocabulary.len() as u32);
        for piece in &e.vocabulary {
            w.str(piece);
        }
        w.f32s(&e.weights);
        w.f32s(&e.offset);
        w.f32s(&self.placement.projection);
        w.f32s(e.table.scales());
        w.bytes(&e.table.codes().iter().map(|&c| c as u8).collect::<Vec<_>>());
        for id in &self.movie_ids {
            w.u32(id.0);
        }
        w.f32s(self.movies.scales());
        w.bytes(
            &self
                .movies
                .codes()
                .iter()
                .map(|&c| c as u8)
                .collect::<Vec<_>>(),
        );
        let data = w.0;
        let mut out = Vec::with_capacity(SEARCH_MAGIC.len() + 4 + 32 + data.len());
        out.extend_from_slice(&SEARCH_MAGIC);
        out.extend_from_slice(&SEARCH_VERSION.to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&data));
        out.extend_from_slice(&data);
        out
    }

    /// Reads and checks a search-data file: magic, version, checksum, every length and value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        let got = bytes.get(..SEARCH_MAGIC.len()).unwrap_or(bytes);
        let mut r = Reader::new("search data", bytes);
        if got != SEARCH_MAGIC {
            return Err(r.bad("magic bytes", &hex::encode(SEARCH_MAGIC), &hex::encode(got)));
        }
        r.take(SEARCH_MAGIC.len() as u64, "magic bytes")?;
        let version = r.u32("version")?;
        if version != SEARCH_VERSION {
            return Err(r.bad("version", &SEARCH_VERSION.to_string(), &version.to_string()));
        }
        let sum = r.take(32, "checksum")?;
        let data = &bytes[SEARCH_MAGIC.len() + 4 + 32..];
        let got = Sha256::digest(data);
        if got.as_slice() != sum {
            return Err(BundleError::ChecksumMismatch {
                name: "search data".into(),
                expected: hex::encode(sum),
                got: hex::encode(got),
            });
        }
        let mut r = Reader::new("search data", data);
        let model = r.str("model")?;
        let mut sizes = [0u64; 4];
        for (size, what) in sizes
            .iter_mut()
            .zip(["dim", "source dim", "pieces", "movies"])
        {
            *size = u64::from(r.u32(what)?);
        }
        let [dim, source_dim, pieces, movies] = sizes;
        let [text_share, popularity_weight, min_standout] =
            r.f32s(3, "settings")?.try_into().expect("three values");
        let feedback_movies = r.u32("feedback movies")?;
        let feedback_weight = r.f32s(1, "feedback weight")?[0];
        let count = r.varint("vocabulary size")?;
        if u64::from(count) != pieces {
            return Err(r.bad("vocabulary size", &pieces.to_string(), &count.to_string()));
        }
        let vocabulary = (0..count)
            .map(|_| r.str("piece"))
            .collect::<Result<Vec<_>, _>>()?;
        let weights = r.f32s(pieces, "piece weights")?;
        let offset = r.f32s(dim, "offset")?;
        let projection = r.f32s(dim.saturating_mul(source_dim), "projection")?;
        let scales = r.f32s(pieces, "piece scales")?;
        let codes = i8s(r.take(pieces.saturating_mul(dim), "piece codes")?);
        let table = Int8Table::from_parts(pieces as usize, dim as usize, scales, codes)?;
        let movie_ids = (0..movies)
            .map(|_| r.u32("movie id").map(MovieId))
            .collect::<Result<Vec<_>, _>>()?;
        let scales = r.f32s(movies, "movie scales")?;
        let codes = i8s(r.take(movies.saturating_mul(dim), "movie codes")?);
        let movie_table = Int8Table::from_parts(movies as usize, dim as usize, scales, codes)?;
        r.finish()?;
        let encoder = QueryEncoder::new(vocabulary, weights, offset, table)?;
        let settings = DescribeSettings {
            popularity_weight,
            min_standout,
            feedback_movies,
            feedback_weight,
        };
        let placement = Placement {
            projection,
            source_dim: source_dim as usize,
            text_share,
        };
        Self::new(model, settings, placement, encoder, movie_ids, movie_table)
    }

    /// Each movie's cosine to the unit query `q`, in the data's movie order.
    pub fn cosines(&self, q: &[f32]) -> Vec<f32> {
        let dim = self.movies.dim();
        self.movies
            .codes()
            .chunks_exact(dim)
            .zip(self.movies.scales())
            .map(|(codes, scale)| {
                scale
                    * codes
                        .iter()
                        .zip(q)
                        .map(|(&c, x)| f32::from(c) * x)
                        .sum::<f32>()
            })
            .collect()
    }
}

/// How the pipeline placed movies in the search space: the projection of the sentence model's
/// embeddings onto the space's axes and the share of a movie's text. The browser never uses it;
/// `add-movies` places new movies with it, as the pipeline placed the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// `[dim, source_dim]`, row-major: one axis per row.
    pub projection: Vec<f32>,
    pub source_dim: usize,
    pub text_share: f32,
}

/// How a description's matches are scored, chosen on the train half of the tag queries
/// (`pipeline::eval::describe`) and shipped in the search data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DescribeSettings {
    /// A match scores its cosine plus this times its popularity (ln(1 + ratings), over the
    /// catalog's largest).
    pub popularity_weight: f32,
    /// The least standard score of a description's best match (its cosine above the mean over
    /// the catalog, in standard deviations): a description that no movie stands out for, such
    /// as words about nothing in any film, finds nothing.
    pub min_standout: f32,
    /// How many of the first matches the query then moves towards (0: none) …
    pub feedback_movies: u32,
    /// … and by how much: this times their mean vector is added to the query.
    pub feedback_weight: f32,
}

/// A visitor's description against one catalog: each catalog row's search vector (if the
/// search data has the movie) and popularity term.
#[derive(Debug, Clone)]
pub struct Describer {
    data: SearchData,
    /// Search-data row of each catalog row.
    rows: Vec<Option<usize>>,
    /// ln(1 + popularity) over the catalog's largest, per catalog row.
    popularity: Vec<f32>,
}

/// One catalog row's match to a description.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub row: usize,
    pub cosine: f32,
    /// Cosine plus the popularity term.
    pub score: f32,
}

impl Describer {
    /// `catalog`: each row's movie id and popularity (e.g. its number of ratings). Movies of the
    /// search data the catalog lacks are left out.
    pub fn new(data: SearchData, catalog: &[(MovieId, f32)]) -> Self {
        let by_id: HashMap<MovieId, usize> = data
            .movie_ids
            .iter()
            .enumerate()
            .map(|(r, id)| (*id, r))
            .collect();
        let rows = catalog
            .iter()
            .map(|(id, _)| by_id.get(id).copied())
            .collect();
        let logs: Vec<f32> = catalog.iter().map(|(_, p)| p.max(0.0).ln_1p()).collect();
        let max = logs.iter().copied().fold(0.0, f32::max);
        let popularity = logs
            .iter()
            .map(|l| if max > 0.0 { l / max } else { 0.0 })
            .collect();
        Self {
            data,
            rows,
            popularity,
        }
    }

    pub fn data(&self) -> &SearchData {
        &self.data
    }

    /// Every catalog row's match to `text` (`None` for a row the search data lacks), or `None`
    /// when nothing is close: no word of `text` is known, or its best match does not stand out
    /// ([`DescribeSettings::min_standout`]).
    pub fn matches(&self, text: &str) -> Option<Vec<Option<Match>>> {
        let settings = &self.data.settings;
        let query = self.data.encoder.encode(text)?;
        let cosines = self.data.cosines(&query);
        let n = cosines.len().max(1) as f32;
        let mean = cosines.iter().sum::<f32>() / n;
        let sd = (cosines.iter().map(|c| (c - mean).powi(2)).sum::<f32>() / n).sqrt();
        let best = cosines.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !(best - mean >= settings.min_standout * sd) {
            return None;
        }
        let first = self.scored(&cosines);
        if settings.feedback_movies == 0 || settings.feedback_weight == 0.0 {
            return Some(first);
        }
        // The query moved towards its best matches (pseudo-relevance feedback): their mean
        // vector, `feedback_weight` of it.
        let mut top: Vec<&Match> = first.iter().flatten().collect();
        let n = (settings.feedback_movies as usize).min(top.len());
        if n == 0 {
            return Some(first);
        }
        top.select_nth_unstable_by(n - 1, |a, b| {
            b.score.total_cmp(&a.score).then(a.row.cmp(&b.row))
        });
        let mut moved = query;
        let share = settings.feedback_weight / n as f32;
        for m in &top[..n] {
            let r = self.rows[m.row].expect("a match has a search row");
            let row = self.data.movies.row(r).expect("a search row");
            moved.iter_mut().zip(row).for_each(|(q, x)| *q += share * x);
        }
        let moved = unit(moved)?;
        Some(self.scored(&self.data.cosines(&moved)))
    }

    /// Each catalog row's match for the search rows' `cosines`.
    fn scored(&self, cosines: &[f32]) -> Vec<Option<Match>> {
        let weight = self.data.settings.popularity_weight;
        self.rows
            .iter()
            .zip(&self.popularity)
            .enumerate()
            .map(|(row, (r, p))| {
                r.map(|r| Match {
                    row,
                    cosine: cosines[r],
                    score: cosines[r] + weight * p,
                })
            })
            .collect()
    }

    /// Every catalog row's description score (`f32::NEG_INFINITY` for a row the search data
    /// lacks), or `None` when no word of `text` is known.
    pub fn scores(&self, text: &str) -> Option<Vec<f32>> {
        Some(
            self.matches(text)?
                .iter()
                .map(|m| m.map_or(f32::NEG_INFINITY, |m| m.score))
                .collect(),
        )
    }
}

fn i8s(bytes: &[u8]) -> Vec<i8> {
    bytes.iter().map(|&b| b as i8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vec<String> {
        [
            "[UNK]", "toy", "##s", "space", "a", "film", "sad", "-", "cafe", "un", "##known",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn splits_words_into_their_longest_known_pieces() {
        let pieces = WordPieces::new(&vocabulary());
        assert_eq!(pieces.split("Toys"), vec![1, 2]);
        assert_eq!(pieces.split("a sad, SPACE film"), vec![4, 6, 3, 5]);
        // Accents fold; punctuation is a word of its own; an unknown word is dropped whole.
        assert_eq!(pieces.split("Café-toy"), vec![8, 7, 1]);
        assert_eq!(pieces.split("unknown spacex toy"), vec![9, 10, 1]);
        assert!(pieces.split("").is_empty());
    }

    fn search_data() -> SearchData {
        let vocabulary = vocabulary();
        let n = vocabulary.len();
        let dim = 4;
        let rows: Vec<f32> = (0..n * dim).map(|i| ((i * 7 % 11) as f32) - 5.0).collect();
        let mut weights = vec![1.0; n];
        weights[0] = 0.0;
        let encoder = QueryEncoder::new(
            vocabulary,
            weights,
            vec![0.1; dim],
            Int8Table::quantize(&rows, dim).unwrap(),
        )
        .unwrap();
        let movies = [1.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.8, 0.0];
        SearchData::new(
            "test".into(),
            DescribeSettings {
                popularity_weight: 0.2,
                min_standout: 2.5,
                feedback_movies: 1,
                feedback_weight: 1.0,
            },
            Placement {
                projection: vec![0.5; dim * 3],
                source_dim: 3,
                text_share: 0.7,
            },
            encoder,
            vec![MovieId(1), MovieId(7)],
            Int8Table::quantize(&movies, dim).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_file_round_trips_and_names_what_is_wrong() {
        let data = search_data();
        let bytes = data.to_bytes();
        let back = SearchData::from_bytes(&bytes).unwrap();
        assert_eq!(back.movie_ids, data.movie_ids);
        assert_eq!(
            back.encoder.encode("sad toys"),
            data.encoder.encode("sad toys")
        );
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let err = SearchData::from_bytes(&flipped).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        let err = SearchData::from_bytes(&bytes[..bytes.len() - 3])
            .unwrap_err()
            .to_string();
        assert!(err.contains("checksum"), "{err}");
        let err = SearchData::from_bytes(b"MVGENIE\x1a....")
            .unwrap_err()
            .to_string();
        assert!(err.contains("magic"), "{err}");
    }

    #[test]
    fn a_query_is_a_unit_vector_or_nothing() {
        let data = search_data();
        let q = data.encoder.encode("a sad space film").unwrap();
        let norm: f32 = q.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        assert_eq!(data.cosines(&q).len(), 2);
        assert!(data.encoder.encode("zzz qqq").is_none());
        assert!(data.encoder.encode("").is_none());
    }
}
