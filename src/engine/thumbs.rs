//! The vocabulary both targets share: movie ids, item-table rows, and thumbs, the three-level
//! feedback a visitor gives, mapped from MovieLens stars as in `../shared/EVALUATION.md` (protocol `thumbs-v1`): 0.5–2.5 → −1, 3.0–4.0 → +1, 4.5–5.0 → +2.

use serde::{Deserialize, Serialize};

/// A raw MovieLens `movieId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MovieId(pub u32);

/// A row of the item-embedding table (the catalog's dense index), never a raw id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemIndex(pub u32);

impl std::fmt::Display for MovieId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A visitor's verdict on one movie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i8", into = "i8")]
pub enum Thumbs {
    /// −1: thumbs down (0.5–2.5 stars).
    Down,
    /// +1: thumbs up (3.0–4.0 stars).
    Up,
    /// +2: two thumbs up (4.5–5.0 stars).
    DoubleUp,
}

/// Why a value could not become [`Thumbs`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThumbsError {
    #[error("thumbs must be -1, 1 or 2 (got {0})")]
    BadThumbs(f64),
    #[error("a rating must be 0.5–5.0 stars in half-star steps (got {0})")]
    BadStars(f64),
}

impl Thumbs {
    /// Maps a MovieLens star rating to thumbs (`EVALUATION.md`, "Thumbs from stars").
    pub fn from_stars(stars: f32) -> Result<Self, ThumbsError> {
        let doubled = stars * 2.0;
        if !(1.0..=10.0).contains(&doubled) || doubled.fract() != 0.0 {
            return Err(ThumbsError::BadStars(stars as f64));
        }
        Ok(match doubled as u8 {
            1..=5 => Thumbs::Down,
            6..=8 => Thumbs::Up,
            _ => Thumbs::DoubleUp,
        })
    }

    /// The signed value: −1, 1 or 2.
    pub fn value(self) -> i8 {
        match self {
            Thumbs::Down => -1,
            Thumbs::Up => 1,
            Thumbs::DoubleUp => 2,
        }
    }

    /// A rating is positive when thumbs ≥ 1 (`EVALUATION.md`).
    pub fn is_positive(self) -> bool {
        self != Thumbs::Down
    }

    /// Parses thumbs from any number a caller (JS, JSON) may hand over; NaN and 7 are errors.
    pub fn from_f64(value: f64) -> Result<Self, ThumbsError> {
        if value == -1.0 {
            Ok(Thumbs::Down)
        } else if value == 1.0 {
            Ok(Thumbs::Up)
        } else if value == 2.0 {
            Ok(Thumbs::DoubleUp)
        } else {
            Err(ThumbsError::BadThumbs(value))
        }
    }
}

impl TryFrom<i8> for Thumbs {
    type Error = ThumbsError;
    fn try_from(value: i8) -> Result<Self, Self::Error> {
        Self::from_f64(value as f64)
    }
}

impl From<Thumbs> for i8 {
    fn from(t: Thumbs) -> i8 {
        t.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_map_to_the_protocol_table() {
        let expected = [
            (0.5, -1),
            (1.0, -1),
            (1.5, -1),
            (2.0, -1),
            (2.5, -1),
            (3.0, 1),
            (3.5, 1),
            (4.0, 1),
            (4.5, 2),
            (5.0, 2),
        ];
        for (stars, thumbs) in expected {
            assert_eq!(
                Thumbs::from_stars(stars).unwrap().value(),
                thumbs,
                "{stars} stars"
            );
        }
    }

    #[test]
    fn stars_outside_the_scale_are_errors() {
        for bad in [0.0, 5.5, -1.0, 3.25, f32::NAN, f32::INFINITY] {
            assert!(Thumbs::from_stars(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn only_minus_one_one_and_two_are_thumbs() {
        assert_eq!(Thumbs::from_f64(2.0), Ok(Thumbs::DoubleUp));
        for bad in [0.0, 7.0, -2.0, 1.5, f64::NAN] {
            assert!(Thumbs::from_f64(bad).is_err());
        }
        let json: Result<Thumbs, _> = serde_json::from_str("7");
        assert!(json.is_err());
        assert_eq!(serde_json::to_string(&Thumbs::Down).unwrap(), "-1");
    }

    #[test]
    fn positives_are_up_and_double_up() {
        assert!(!Thumbs::Down.is_positive());
        assert!(Thumbs::Up.is_positive() && Thumbs::DoubleUp.is_positive());
    }
}
