//! The ranking settings a visitor's thumbs pass through after the encoder — the thumbs-down
//! term (`dislike_weight`, `dislike_min_cosine`) and the tastes (`max_tastes`,
//! `taste_split_cosine`, `taste_min_likes`) — swept on the validation visitors carved from the
//! train users (`eval::tuning`), one setting at a time from the config's.
//!
//! `cargo run --release --example tune_ranking -- [models_dir]` (default `models`).

use movie_genie::engine::score::RankingConfig;
use movie_genie::pipeline::eval::tuning::Tuning;
use movie_genie::pipeline::eval::two_tower::TwoTowerVisitor;

fn main() -> anyhow::Result<()> {
    let run = Tuning::from_args()?;
    let validation = run.validation();
    let config = &run.config;
    let scorer = TwoTowerVisitor::of(
        &run.trained,
        &run.inputs.content.genres,
        config,
        &run.device,
    );
    let base = config.ranking.clone();
    let report = |name: String, ranking: RankingConfig| -> anyhow::Result<()> {
        let figures = validation.figures(&scorer.clone().with_ranking(ranking))?;
        println!("{name}:{figures}");
        Ok(())
    };
    report("config".into(), base.clone())?;
    for weight in [0.0, 1.0, 2.0, 4.0, 8.0] {
        for floor in [0.6, 0.75, 0.9] {
            let ranking = base
                .clone()
                .with_dislike_weight(weight)
                .with_dislike_min_cosine(floor);
            report(
                format!("dislike weight {weight}, from cosine {floor}"),
                ranking,
            )?;
        }
    }
    for tastes in [2, 3] {
        for split in [0.2, 0.4, 0.6, 0.8, 1.0] {
            for min_likes in [2, 3] {
                let ranking = base
                    .clone()
                    .with_max_tastes(tastes)
                    .with_taste_split_cosine(split)
                    .with_taste_min_likes(min_likes);
                let name = format!("{tastes} tastes split below {split}, {min_likes}+ likes each");
                report(name, ranking)?;
            }
        }
    }
    // The genre term with tastes: each taste's genres stand out against the crowd's.
    for genre_weight in [3.0, 10.0, 15.0] {
        for split in [0.6, 1.0] {
            let ranking = base
                .clone()
                .with_max_tastes(2)
                .with_taste_split_cosine(split)
                .with_genre_weight(genre_weight);
            report(
                format!("2 tastes split below {split}, genre weight {genre_weight}"),
                ranking,
            )?;
        }
    }
    Ok(())
}
