//! Reads the list a visitor with one clear taste would get from the shipped bundle, through the
//! same `Recommender` the browser runs: five liked westerns, documentaries, horror films and
//! Pixar films, and a mixed taste (three horror films, three animated ones), each list with its
//! reasons, at the shipped popularity weight and at "discover".
//!
//! `cargo run --example try_visitor -- [bundle] [movieId …]` (default: the shipped bundle and
//! the four tastes above; ids given are liked +2 as one visitor).

use movie_genie::engine::bundle::Bundle;
use movie_genie::engine::recommender::Recommender;
use movie_genie::engine::{MovieId, Thumbs};

const TASTES: [(&str, &[u32]); 5] = [
    // The Good, the Bad and the Ugly; Unforgiven; Dances with Wolves; Django Unchained;
    // Once Upon a Time in the West.
    ("westerns", &[1201, 1266, 590, 99114, 1209]),
    // Bowling for Columbine; Super Size Me; Fahrenheit 9/11; Roger & Me; Hoop Dreams.
    ("documentaries", &[5669, 8464, 8622, 2064, 246]),
    // Halloween (1978); The Shining; Scream; The Exorcist; A Nightmare on Elm Street.
    ("horror", &[1982, 1258, 1407, 1997, 1347]),
    // Toy Story; Toy Story 2; A Bug's Life; Monsters, Inc.; Finding Nemo.
    ("Pixar", &[1, 3114, 2355, 4886, 6377]),
    // Halloween; The Shining; The Exorcist; Toy Story; Finding Nemo; Up.
    ("horror and animated", &[1982, 1258, 1997, 1, 6377, 68954]),
];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "www/assets/movie-genie.bundle".into());
    let ids: Vec<u32> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let bundle = Bundle::from_bytes(&std::fs::read(&path)?)?;
    let device = movie_genie::engine::cpu_device();
    let given: Vec<(String, Vec<u32>)> = if ids.is_empty() {
        TASTES
            .iter()
            .map(|(name, ids)| (name.to_string(), ids.to_vec()))
            .collect()
    } else {
        vec![("your picks".into(), ids)]
    };
    for (name, ids) in given {
        let mut r = Recommender::from_bundle(bundle.clone(), &device)?;
        let liked: Vec<String> = ids
            .iter()
            .map(|&id| {
                r.rate(MovieId(id), Thumbs::DoubleUp)?;
                Ok(r.entry(MovieId(id))
                    .map_or(String::new(), |e| e.title.clone()))
            })
            .collect::<anyhow::Result<_>>()?;
        println!("\n== liked {name}: {}", liked.join("; "));
        for weight in [r.default_popularity_weight(), 0.0] {
            r.set_popularity_weight(weight)?;
            println!("-- popularity weight {weight}");
            for (i, m) in pollster::block_on(r.recommend(12))?.iter().enumerate() {
                println!(
                    "{:>2}. {} ({}) [{}] — {}",
                    i + 1,
                    m.title,
                    m.year.map_or("?".into(), |y| y.to_string()),
                    m.genres.join("|"),
                    m.because.as_deref().unwrap_or("no reason")
                );
            }
        }
    }
    Ok(())
}
