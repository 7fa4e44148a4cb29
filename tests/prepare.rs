//! `prepare` end to end on a tiny fixture: the tables and layout appear, read back with the
//! expected columns, a second run is a no-op, a changed input reruns, and a bad row stops it
//! with nothing written.

use std::path::Path;

use movie_genie::engine::{MovieId, Thumbs};
use movie_genie::pipeline::data::embed;
use movie_genie::pipeline::data::prepare::{
    LAYOUT_FILE, MOVIES_TABLE, PrepareConfig, PrepareOutcome, RATINGS_TABLE, prepare, read_layout,
};
use movie_genie::pipeline::data::tables::{read_movies_table, read_ratings_table};

const TMDB_HEADER: &str = "adult,belongs_to_collection,budget,genres,homepage,id,imdb_id,original_language,original_title,overview,popularity,poster_path,production_companies,production_countries,release_date,revenue,runtime,spoken_languages,status,tagline,title,video,vote_average,vote_count\n";

fn fixture(dir: &Path) -> PrepareConfig {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    PrepareConfig {
        ratings: write(
            "ratings.csv",
            "userId,movieId,rating,timestamp\n1,1,4.5,10\n1,2,2.0,11\n2,1,3.0,12\n2,3,5.0,13\n",
        ),
        movies: write(
            "movies.csv",
            "movieId,title,genres\n1,Toy Story (1995),Animation|Comedy\n2,Heat (1995),Action|Crime\n3,Obscure Film (2001),(no genres listed)\n",
        ),
        links: write(
            "links.csv",
            "movieId,imdbId,tmdbId\n1,0114709,862\n2,0113277,949\n3,0000001,\n",
        ),
        tags: write("tags.csv", "userId,movieId,tag,timestamp\n1,1,pixar,10\n"),
        tmdb: write(
            "movies_metadata.csv",
            &format!(
                "{TMDB_HEADER}False,,30000000,[],,862,tt0114709,en,Toy Story,\"Toys come alive.\",21.9,,[],[],1995-10-30,373554033,81.0,[],Released,,Toy Story,False,7.7,5415\n\
                 False,,60000000,[],,949,tt0113277,en,Heat,\"A cop chases a thief.\",17.9,,[],[],1995-12-15,187436818,170.0,[],Released,A Los Angeles crime saga,Heat,False,7.7,1886\n"
            ),
        ),
        model_dir: embed::model_dir(),
        out_dir: dir.join("processed"),
        cache_dir: dir.join("cache"),
        batch_size: 2,
        skip_bad_tmdb_rows: false,
        force: false,
    }
}

#[test]
fn writes_readable_tables_then_skips_itself_until_an_input_changes() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path());
    let PrepareOutcome::Ran(stats) = prepare(&config).unwrap() else {
        panic!("the first run should compute");
    };
    assert_eq!((stats.ratings, stats.users, stats.movies), (4, 2, 3));
    assert_eq!((stats.movies_with_tmdb, stats.movies_with_overview), (2, 2));
    assert_eq!(stats.thumbs["2"], 2);
    assert_eq!(stats.embeddings_computed, 3);

    let layout = read_layout(&config.out_dir.join(LAYOUT_FILE)).unwrap();
    assert_eq!(layout.columns.len(), layout.dim);
    let ratings = read_ratings_table(&config.out_dir.join(RATINGS_TABLE)).unwrap();
    assert_eq!(ratings[1].thumbs, Thumbs::Down);
    let movies = read_movies_table(&config.out_dir.join(MOVIES_TABLE), &layout).unwrap();
    assert_eq!(movies.len(), 3);
    assert_eq!(movies[2].movie_id, MovieId(3));
    assert_eq!(movies[2].tmdb_id, None);
    let text = &movies[0].features[layout.dim - layout.text_embedding_dim..];
    let norm: f32 = text.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() < 1e-4,
        "the overview embedding should be a unit vector: {norm}"
    );

    assert!(matches!(
        prepare(&config).unwrap(),
        PrepareOutcome::UpToDate
    ));

    // A new rating: the stage runs again, and the overview embeddings come from the cache.
    let mut ratings = std::fs::read_to_string(&config.ratings).unwrap();
    ratings.push_str("2,2,1.0,14\n");
    std::fs::write(&config.ratings, ratings).unwrap();
    let PrepareOutcome::Ran(stats) = prepare(&config).unwrap() else {
        panic!("a changed input should rerun the stage");
    };
    assert_eq!(stats.ratings, 5);
    assert_eq!((stats.embeddings_computed, stats.embeddings_cached), (0, 3));
}

#[test]
fn a_bad_row_stops_the_stage_with_the_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path());
    std::fs::write(
        &config.ratings,
        "userId,movieId,rating,timestamp\n1,1,4.5,10\n1,2,9.5,11\n",
    )
    .unwrap();
    let err = format!("{:#}", prepare(&config).unwrap_err());
    assert!(err.contains("line 3") && err.contains("9.5"), "{err}");
    assert!(!config.out_dir.join(RATINGS_TABLE).exists());
    assert!(!config.out_dir.join(MOVIES_TABLE).exists());
}

#[test]
fn a_rating_of_an_unknown_movie_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path());
    std::fs::write(
        &config.ratings,
        "userId,movieId,rating,timestamp\n7,99,4.0,10\n",
    )
    .unwrap();
    let err = prepare(&config).unwrap_err().to_string();
    assert!(
        err.contains("movieId 99") && err.contains("user 7"),
        "{err}"
    );
}
