//! Numbers from JS: every `f64` the page passes as an id or a count is checked here, so NaN,
//! 1.5 or −1 is a clear error instead of a silently truncated value.

use crate::engine::MovieId;

/// A JS number that is not the whole number expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what} must be a whole number from {min} to {max} (got {got})")]
pub struct BadNumber {
    pub what: String,
    pub min: u64,
    pub max: u64,
    pub got: f64,
}

/// A movie id: a whole number in u32's range.
pub fn movie_id(value: f64) -> Result<MovieId, BadNumber> {
    whole("movie id", value, 0, u64::from(u32::MAX)).map(|v| MovieId(v as u32))
}

/// A count such as `k` or `limit`: a whole number from 1 to `max`.
pub fn count(what: &str, value: f64, max: usize) -> Result<usize, BadNumber> {
    whole(what, value, 1, max as u64).map(|v| v as usize)
}

fn whole(what: &str, value: f64, min: u64, max: u64) -> Result<u64, BadNumber> {
    if value.fract() == 0.0 && value >= min as f64 && value <= max as f64 {
        Ok(value as u64)
    } else {
        Err(BadNumber {
            what: what.into(),
            min,
            max,
            got: value,
        })
    }
}
