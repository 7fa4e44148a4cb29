//! The committed bundle, loaded natively through the same `Recommender` the browser runs:
//! it must decode, and its recommendations must follow a visitor's taste.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use movie_genie::engine::bundle::Bundle;
use movie_genie::engine::describe::SearchData;
use movie_genie::engine::recommender::{Recommendation, Recommender};
use movie_genie::engine::{MovieId, Thumbs};
use movie_genie::fixtures::{
    FIXED_DESCRIBED_FILE, FIXED_DESCRIPTIONS, FIXED_TOP20_FILE, FIXED_VISITORS, FixedDescribed,
    FixedTop20, top20_difference,
};
use movie_genie::pipeline::add_movies::{AddMoviesPaths, ITEM_TOWER_FILE, add_movies_file};
use movie_genie::pipeline::data::embed::{self, SentenceEmbedder};
use movie_genie::pipeline::movie_ids::{FIRST_ADDED_ID, MOVIE_IDS_FILE, MovieIds};

/// Relative to the package root, where `cargo test` runs the tests.
const BUNDLE: &str = "www/assets/movie-genie.bundle";
/// The "describe a movie" search data beside it.
const SEARCH: &str = "www/assets/movie-genie.search";

/// Toy Story, Toy Story 2, A Bug's Life, Monsters Inc., Finding Nemo.
const PIXAR: [u32; 5] = [1, 3114, 2355, 4886, 6377];
/// The Shining, Jaws, Halloween, The Exorcist, Scream.
const HORROR: [u32; 5] = [1258, 1387, 1982, 1997, 1407];

fn device() -> Device {
    movie_genie::engine::cpu_device()
}

fn recommender_of(path: &Path) -> Recommender {
    let bytes = std::fs::read(path).expect("the bundle should be readable");
    let bundle = Bundle::from_bytes(&bytes).expect("the bundle should decode");
    Recommender::from_bundle(bundle, &device()).expect("the bundle should load")
}

fn recommender() -> Recommender {
    recommender_of(Path::new(BUNDLE))
}

/// Recommendations after liking `liked`, with how many carry `genre`.
fn after_liking(liked: &[u32], genre: &str) -> (Vec<Recommendation>, usize) {
    liked_on(recommender(), liked, genre)
}

fn liked_on(mut r: Recommender, liked: &[u32], genre: &str) -> (Vec<Recommendation>, usize) {
    for id in liked {
        r.rate(MovieId(*id), Thumbs::DoubleUp)
            .expect("the movie should be in the catalog");
    }
    let recs = pollster::block_on(r.recommend(20)).expect("recommendations");
    let hits = recs
        .iter()
        .filter(|m| m.genres.iter().any(|g| g == genre))
        .count();
    (recs, hits)
}

/// A visitor with one clear taste — five liked films of one genre — gets mostly that genre,
/// and every reason that names a film names one they liked.
#[test]
fn a_visitor_with_one_clear_taste_gets_that_taste() {
    for (genre, liked) in [("Animation", PIXAR), ("Horror", HORROR)] {
        let (cold, cold_hits) = after_liking(&[], genre);
        assert!(
            cold.iter().all(|m| m.because.is_none()),
            "no thumbs, no reason"
        );
        let (recs, hits) = after_liking(&liked, genre);
        eprintln!("{genre} in the top 20: {cold_hits} before any thumbs, {hits} after five liked");
        assert!(
            recs.iter().all(|m| !liked.contains(&m.movie_id.0)),
            "a rated movie came back"
        );
        assert!(
            hits * 10 >= recs.len() * 6,
            "{genre}: {hits} of {} (cold {cold_hits}); expected a share of at least 0.6",
            recs.len()
        );
        assert!(
            recs.iter().all(|m| m.because.is_some()),
            "every recommendation says why"
        );
        let named = recs.iter().filter(|m| m.because_movie_id.is_some()).count();
        assert!(named > 0, "{genre}: no reason names a liked film");
        for m in &recs {
            if let Some(id) = m.because_movie_id {
                assert!(
                    liked.contains(&id.0),
                    "{}: reason names {id}, not a liked film",
                    m.title
                );
            }
        }
    }
}

/// `add-movies` on the shipped bundle with five 2019 films (tests/fixtures/new-movies.csv):
/// no retraining, yet they sit beside the films they resemble, and a visitor who likes such
/// films gets them first on the "new for you" shelf, marked new and with a true reason.
#[test]
fn movies_added_without_retraining_reach_visitors_of_their_kind() {
    let embedder = SentenceEmbedder::load(&embed::model_dir())
        .expect("the sentence model should be in ../shared/models");
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("grown.bundle");
    // A copy of the committed registry: the test leaves the committed one as it is.
    let movie_ids = dir.path().join("movie-ids.json");
    std::fs::copy(MOVIE_IDS_FILE, &movie_ids).unwrap();
    let paths = AddMoviesPaths {
        bundle: Path::new(BUNDLE),
        tower: Path::new(ITEM_TOWER_FILE),
        movie_ids: &movie_ids,
        movies: Path::new("tests/fixtures/new-movies.csv"),
        out: &out,
    };
    let (added, _) = add_movies_file(
        &paths,
        |texts| embedder.embed(texts).map_err(|e| e.to_string()),
        &device(),
    )
    .expect("the fixture's movies should be added");
    assert_eq!(added.len(), 5);
    assert!(added.iter().all(|m| m.movie_id.0 >= FIRST_ADDED_ID));
    let title_of = |id: MovieId| {
        added
            .iter()
            .find(|m| m.movie_id == id)
            .map(|m| m.title.as_str())
    };

    let grown = recommender_of(&out);
    let hit = grown.search("midsommar", 5);
    assert!(
        hit.len() == 1 && hit[0].new,
        "an added movie is searchable and marked new"
    );
    // Get Out, It Follows, The Conjuring, The Babadook, Split.
    let recent_horror = [168250, 121231, 103688, 112515, 166534];
    // Toy Story 3, Inside Out, Coco, Zootopia, Moana.
    let recent_animation = [78499, 134853, 177765, 152081, 166461];
    for (liked, expected) in [
        (&recent_horror[..], &["Midsommar", "Us"][..]),
        (&HORROR[..], &["Midsommar", "Us"][..]),
        (&recent_animation[..], &["Toy Story 4"][..]),
        (&PIXAR[..], &["Toy Story 4"][..]),
    ] {
        let mut r = recommender_of(&out);
        for id in liked {
            r.rate(MovieId(*id), Thumbs::DoubleUp).unwrap();
        }
        let main = pollster::block_on(r.recommend(50)).unwrap();
        let offered = r.new_for_you(5).unwrap();
        let shelf = &offered[..expected.len().min(offered.len())];
        let got: Vec<&str> = shelf.iter().filter_map(|m| title_of(m.movie_id)).collect();
        let mut want = expected.to_vec();
        want.sort_unstable();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        let places: Vec<Option<usize>> = shelf
            .iter()
            .map(|m| main.iter().position(|x| x.movie_id == m.movie_id))
            .collect();
        eprintln!("liked {liked:?}: new for you {got:?}, places in the main top 50 {places:?}");
        assert_eq!(sorted, want, "liked {liked:?}");
        let liked_genres: Vec<String> = liked
            .iter()
            .flat_map(|id| r.entry(MovieId(*id)).unwrap().genres.clone())
            .collect();
        for m in &offered {
            assert!(
                m.genres.iter().any(|g| liked_genres.contains(g)),
                "{} shares no genre with a liked film",
                m.title
            );
            assert!(
                m.new && m.because.is_some(),
                "{}: marked new, with a reason",
                m.title
            );
            if let Some(id) = m.because_movie_id {
                assert!(
                    liked.contains(&id.0),
                    "{}: the reason names a liked film",
                    m.title
                );
            }
        }
    }
}

/// The committed registry holds every film of the committed bundle under its id, so
/// `add-movies` on the shipped files never hands out an id a visitor's thumbs already use.
#[test]
fn the_committed_registry_agrees_with_the_committed_bundle() {
    let mut ids = MovieIds::read(Path::new(MOVIE_IDS_FILE)).unwrap();
    let before = ids.clone();
    let catalog = Bundle::from_bytes(&std::fs::read(BUNDLE).unwrap())
        .unwrap()
        .catalog;
    ids.register_catalog(&catalog, Path::new(MOVIE_IDS_FILE), BUNDLE)
        .expect("the registry should agree with the bundle");
    assert_eq!(ids, before, "every catalog film is registered already");
    assert!(ids.len() > 9_000, "{} films", ids.len());
}

/// The fixed visitors' top 20 on the committed bundle is the one recorded for the browser to
/// reproduce. After an export, `MOVIE_GENIE_BLESS=1 cargo test --test shipped_bundle` records
/// the new bundle's lists.
#[test]
fn the_fixed_visitors_get_the_recorded_top_20() {
    let lists: Vec<FixedTop20> = FIXED_VISITORS
        .iter()
        .map(|thumbs| {
            let mut r = recommender();
            for &(id, t) in *thumbs {
                let thumbs = Thumbs::try_from(t).expect("fixed thumbs are valid");
                r.rate(MovieId(id), thumbs)
                    .expect("fixed movies are in the catalog");
            }
            let top = pollster::block_on(r.recommend(20)).expect("recommendations");
            FixedTop20 {
                thumbs: thumbs.to_vec(),
                top: top.iter().map(|m| (m.movie_id.0, m.score)).collect(),
            }
        })
        .collect();
    if std::env::var_os("MOVIE_GENIE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&lists).unwrap();
        std::fs::write(FIXED_TOP20_FILE, text + "\n").unwrap();
    }
    let text = std::fs::read_to_string(FIXED_TOP20_FILE).expect("the recorded lists");
    let recorded: Vec<FixedTop20> = serde_json::from_str(&text).expect("the recorded lists parse");
    assert_eq!(recorded.len(), lists.len());
    for (want, got) in recorded.iter().zip(&lists) {
        assert_eq!(want.thumbs, got.thumbs);
        if let Some(diff) = top20_difference(&want.top, &got.top) {
            panic!(
                "visitor {:?}: {diff}; if the bundle was re-exported, record its lists with \
                 MOVIE_GENIE_BLESS=1 cargo test --test shipped_bundle",
                want.thumbs
            );
        }
    }
}

/// A thumbs-down moves the list: after five liked horror films, disliking the first
/// recommendation lowers its ten nearest movies in the visitor's whole ranking.
#[test]
fn a_thumbs_down_lowers_the_disliked_movies_neighbours() {
    let mut r = recommender();
    for id in HORROR {
        r.rate(MovieId(id), Thumbs::DoubleUp).unwrap();
    }
    let all = r.catalog().len();
    let ranks = |r: &mut Recommender| -> std::collections::HashMap<MovieId, usize> {
        let list = pollster::block_on(r.recommend(all)).unwrap();
        list.iter()
            .enumerate()
            .map(|(i, m)| (m.movie_id, i))
            .collect()
    };
    let before = ranks(&mut r);
    let disliked = pollster::block_on(r.recommend(1)).unwrap()[0].movie_id;
    let near: Vec<MovieId> = r
        .similar(disliked, 10)
        .unwrap()
        .iter()
        .map(|m| m.movie_id)
        .filter(|id| before.contains_key(id))
        .collect();
    r.rate(disliked, Thumbs::Down).unwrap();
    let after = ranks(&mut r);
    let mean = |ranks: &std::collections::HashMap<MovieId, usize>| {
        near.iter().map(|id| ranks[id] as f64).sum::<f64>() / near.len() as f64
    };
    let (was, now) = (mean(&before), mean(&after));
    eprintln!(
        "movie {disliked}'s {} neighbours: mean rank {was:.1} → {now:.1}",
        near.len()
    );
    assert!(near.len() >= 5, "{near:?}");
    assert!(
        now > was,
        "the neighbours of a disliked movie rose: {was:.1} → {now:.1}"
    );
}

fn searching() -> Recommender {
    let mut r = recommender();
    let bytes = std::fs::read(SEARCH).expect("the search data should be readable");
    r.set_search(SearchData::from_bytes(&bytes).expect("the search data should decode"));
    r
}

/// The committed search data holds a vector for every movie of the committed catalog that
/// `export` wrote, in catalog order, so a description can find any of them.
#[test]
fn the_committed_search_data_covers_the_committed_catalog() {
    let data = SearchData::from_bytes(&std::fs::read(SEARCH).unwrap()).unwrap();
    let catalog = Bundle::from_bytes(&std::fs::read(BUNDLE).unwrap())
        .unwrap()
        .catalog;
    let trained: Vec<MovieId> = catalog
        .iter()
        .filter(|e| !e.new)
        .map(|e| e.movie_id)
        .collect();
    assert_eq!(data.movie_ids, trained);
}

/// A description finds what it says, with its reason; words about nothing find nothing; a
/// description blended with a visitor's taste never lists a movie they rated.
#[test]
fn a_description_finds_its_movies_and_nonsense_finds_nothing() {
    let mut r = searching();
    let toys = r
        .describe("animated film about toys", 0.0, 10)
        .unwrap()
        .unwrap();
    let titles: Vec<&str> = toys.iter().map(|m| m.title.as_str()).collect();
    assert!(titles.contains(&"Toy Story"), "{titles:?}");
    assert!(
        toys.iter()
            .all(|m| m.because.as_deref() == Some("Close to your description"))
    );
    assert_eq!(r.describe("qwerty asdf", 0.0, 10).unwrap(), None);
    for id in PIXAR {
        r.rate(MovieId(id), Thumbs::DoubleUp).unwrap();
    }
    pollster::block_on(r.recommend(1)).unwrap();
    let mine = r
        .describe("animated film about toys", 0.5, 20)
        .unwrap()
        .unwrap();
    assert!(
        mine.iter().all(|m| !PIXAR.contains(&m.movie_id.0)),
        "a rated movie is listed"
    );
    for m in mine.iter().filter(|m| m.because_movie_id.is_some()) {
        assert!(
            PIXAR.contains(&m.because_movie_id.unwrap().0),
            "{}: a liked film",
            m.title
        );
    }
}

/// The fixed descriptions' top 20 on the committed files is the one recorded for the browser
/// to reproduce (`tests/web.rs`); `MOVIE_GENIE_BLESS=1` records it after a new export.
#[test]
fn the_fixed_descriptions_get_the_recorded_top_20() {
    let lists: Vec<FixedDescribed> = FIXED_DESCRIPTIONS
        .iter()
        .map(|&(text, visitor, taste)| {
            let mut r = searching();
            let thumbs = visitor.map_or(&[][..], |v| FIXED_VISITORS[v]);
            for &(id, t) in thumbs {
                r.rate(MovieId(id), Thumbs::try_from(t).unwrap()).unwrap();
            }
            if !thumbs.is_empty() {
                pollster::block_on(r.recommend(1)).unwrap();
            }
            let top = r.describe(text, taste, 20).unwrap().expect("a match");
            FixedDescribed {
                text: text.into(),
                thumbs: thumbs.to_vec(),
                taste,
                top: top.iter().map(|m| (m.movie_id.0, m.score)).collect(),
            }
        })
        .collect();
    if std::env::var_os("MOVIE_GENIE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&lists).unwrap();
        std::fs::write(FIXED_DESCRIBED_FILE, text + "\n").unwrap();
    }
    let text = std::fs::read_to_string(FIXED_DESCRIBED_FILE).expect("the recorded lists");
    let recorded: Vec<FixedDescribed> = serde_json::from_str(&text).unwrap();
    assert_eq!(recorded.len(), lists.len());
    for (want, got) in recorded.iter().zip(&lists) {
        assert_eq!((&want.text, &want.thumbs), (&got.text, &got.thumbs));
        if let Some(diff) = top20_difference(&want.top, &got.top) {
            panic!(
                "{:?}: {diff}; after a new export, record the lists with \
                 MOVIE_GENIE_BLESS=1 cargo test --test shipped_bundle",
                want.text
            );
        }
    }
}
