//! The visitor's saved ratings, one format for local storage and for the files Export writes
//! and Import reads: `{"version":1,"ratings":[[movieId,thumbs],…],"popularityWeight":β}`.
//! Decoding keeps every valid entry and says what it dropped, so tampered or stale text loses
//! nothing that can be kept.

use crate::engine::recommender::RatedMovie;
use crate::engine::score::check_popularity_weight;
use crate::engine::{MovieId, Thumbs};

/// The version written into saved ratings.
pub const RATINGS_FORMAT_VERSION: u64 = 1;

/// Saved ratings after validation, with a warning per dropped part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoredRatings {
    pub ratings: Vec<(MovieId, Thumbs)>,
    /// The visitor's popularity weight, when saved and valid.
    pub popularity_weight: Option<f64>,
    pub warnings: Vec<String>,
}

/// The saved-ratings text.
pub fn encode_ratings(ratings: &[(MovieId, Thumbs)], popularity_weight: f64) -> String {
    let pairs: Vec<(u32, i8)> = ratings.iter().map(|(m, t)| (m.0, t.value())).collect();
    serde_json::json!({
        "version": RATINGS_FORMAT_VERSION,
        "ratings": pairs,
        "popularityWeight": popularity_weight,
    })
    .to_string()
}

/// The file Export writes: the saved-ratings text plus the rated movies' titles, for people.
pub fn encode_ratings_file(movies: &[RatedMovie], popularity_weight: f64) -> String {
    let pairs: Vec<(u32, i8)> = movies
        .iter()
        .map(|m| (m.movie_id.0, m.thumbs.value()))
        .collect();
    let file = serde_json::json!({
        "format": "movie-genie-ratings",
        "version": RATINGS_FORMAT_VERSION,
        "ratings": pairs,
        "popularityWeight": popularity_weight,
        "movies": movies,
    });
    serde_json::to_string_pretty(&file).expect("plain JSON values")
}

/// Saved ratings as `decode_ratings` keeps them, but a text that is not ratings at all (not
/// JSON, another version, no `ratings` array) is an error saying what it is instead.
pub fn parse_ratings(
    text: &str,
    known: impl Fn(MovieId) -> bool,
) -> Result<RestoredRatings, String> {
    let mut out = RestoredRatings::default();
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "not JSON ({e}); expected {{\"version\":{RATINGS_FORMAT_VERSION},\"ratings\":[[movieId,thumbs],…]}}"
        )
    })?;
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(RATINGS_FORMAT_VERSION) {
        return Err(format!(
            "of version {}; expected version {RATINGS_FORMAT_VERSION}",
            value
                .get("version")
                .map_or_else(|| "none".into(), |v| v.to_string())
        ));
    }
    match value.get("popularityWeight") {
        None => {}
        Some(w) => match w.as_f64().map(check_popularity_weight) {
            Some(Ok(w)) => out.popularity_weight = Some(w),
            _ => out.warnings.push(format!(
                "saved popularity weight must be a number from 0 to 1 (got {w}): kept the default"
            )),
        },
    }
    let Some(entries) = value.get("ratings").and_then(serde_json::Value::as_array) else {
        return Err("without a `ratings` array; expected [[movieId,thumbs],…]".into());
    };
    for (i, entry) in entries.iter().enumerate() {
        let parsed = match entry.as_array().map(Vec::as_slice) {
            Some([id, thumbs]) => {
                let id = id
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .map(MovieId)
                    .ok_or_else(|| {
                        format!(
                            "movie id must be a whole number from 0 to {} (got {id})",
                            u32::MAX
                        )
                    });
                let thumbs = thumbs
                    .as_f64()
                    .ok_or_else(|| format!("thumbs must be a number (got {thumbs})"))
                    .and_then(|v| Thumbs::from_f64(v).map_err(|e| e.to_string()));
                id.and_then(|id| thumbs.map(|t| (id, t)))
            }
            _ => Err(format!("expected [movieId, thumbs], got {entry}")),
        };
        match parsed {
            Ok((id, _)) if !known(id) => out.warnings.push(format!(
                "saved rating {i}: movie id {id} is not in this catalog: dropped it"
            )),
            Ok((id, thumbs)) => match out.ratings.iter_mut().find(|(m, _)| *m == id) {
                Some(rating) => rating.1 = thumbs,
                None => out.ratings.push((id, thumbs)),
            },
            Err(reason) => out
                .warnings
                .push(format!("saved rating {i}: {reason}: dropped it")),
        }
    }
    Ok(out)
}

/// Parses saved ratings, keeping every valid entry whose movie `known` accepts (the last
/// thumbs of a repeated id win) and describing everything dropped; never fails.
pub fn decode_ratings(text: &str, known: impl Fn(MovieId) -> bool) -> RestoredRatings {
    parse_ratings(text, known).unwrap_or_else(|reason| RestoredRatings {
        warnings: vec![format!("saved ratings are {reason}: dropped them all")],
        ..RestoredRatings::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_ratings_round_trip() {
        let ratings = [(MovieId(1), Thumbs::DoubleUp), (MovieId(31), Thumbs::Down)];
        let text = encode_ratings(&ratings, 0.25);
        assert_eq!(
            text,
            r#"{"popularityWeight":0.25,"ratings":[[1,2],[31,-1]],"version":1}"#
        );
        let back = decode_ratings(&text, |_| true);
        assert_eq!(back.ratings, ratings);
        assert_eq!(back.popularity_weight, Some(0.25));
        assert!(back.warnings.is_empty());
        // Saved before the weight existed: ratings only.
        let back = decode_ratings(r#"{"version":1,"ratings":[[1,2]]}"#, |_| true);
        assert_eq!((back.popularity_weight, back.warnings.len()), (None, 0));
    }

    #[test]
    fn tampered_saved_ratings_keep_the_valid_entries() {
        let text = r#"{"version":1,"ratings":[[1,2],[11,7],["x",1],[21,-1],[5,1],[31],[1.5,1],[21,1],[41,null]]}"#;
        let back = decode_ratings(text, |id| id.0 % 10 == 1);
        assert_eq!(
            back.ratings,
            [(MovieId(1), Thumbs::DoubleUp), (MovieId(21), Thumbs::Up)]
        );
        assert_eq!(back.warnings.len(), 6, "{:?}", back.warnings);
        assert!(back.warnings[0].contains("thumbs must be -1, 1 or 2 (got 7)"));
        assert!(back.warnings[2].contains("movie id 5 is not in this catalog"));
        let back = decode_ratings(
            r#"{"version":1,"ratings":[[1,2]],"popularityWeight":3}"#,
            |_| true,
        );
        assert_eq!(back.ratings, [(MovieId(1), Thumbs::DoubleUp)]);
        assert_eq!(back.popularity_weight, None);
        assert!(
            back.warnings[0].contains("from 0 to 1 (got 3)"),
            "{:?}",
            back.warnings
        );

        let file = encode_ratings_file(
            &[RatedMovie {
                movie_id: MovieId(7),
                thumbs: Thumbs::Up,
                title: "Heat".into(),
                year: Some(1995),
                label: "Heat (1995)".into(),
                new: false,
            }],
            0.5,
        );
        let back = parse_ratings(&file, |_| true).unwrap();
        assert_eq!(
            back.ratings,
            [(MovieId(7), Thumbs::Up)],
            "an exported file imports"
        );
        assert!(
            parse_ratings("{oops", |_| true)
                .unwrap_err()
                .starts_with("not JSON")
        );

        for corrupt in [
            "{not json",
            r#"{"version":2,"ratings":[[1,1]]}"#,
            r#"{"version":1}"#,
            "[]",
        ] {
            let back = decode_ratings(corrupt, |_| true);
            assert!(back.ratings.is_empty(), "{corrupt}");
            assert_eq!(back.warnings.len(), 1, "{corrupt}");
        }
    }
}
