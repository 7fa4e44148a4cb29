//! The visitor encoder (a user tower reading the thumbs) against today's personalisation, on
//! the validation visitors carved from the train users: ndcg@20 and coverage@20 at k = 5, 10,
//! 20 given ratings, the one-genre personas' share and the mixed personas' figure, EASE beside; for two widths, with 0, 10
//! and 40 fine-tuning steps from the encoder's reading.
//!
//! `cargo run --release --example tune_encoder -- [models_dir]` (default `models`).

use std::path::PathBuf;

use movie_genie::engine::model::mlp::Mlp;
use movie_genie::pipeline::data::split::GIVEN_COUNTS;
use movie_genie::pipeline::eval::baselines::{Ease, EaseConfig};
use movie_genie::pipeline::eval::personas::{
    mean_figure, mean_share, mixed_lists, mixed_personas, mixed_shares, persona_lists,
    persona_shares, personas,
};
use movie_genie::pipeline::eval::two_tower::TwoTowerVisitor;
use movie_genie::pipeline::eval::{VisitorScorer, evaluate_visitors};
use movie_genie::pipeline::stages::Paths;
use movie_genie::pipeline::stages::inputs::load_inputs;
use movie_genie::pipeline::stages::train::load_trained;
use movie_genie::pipeline::train::visitor::train_encoder;
use movie_genie::pipeline::train::{VisitorTower, carve_validation};

fn main() -> anyhow::Result<()> {
    let models = std::env::args().nth(1).unwrap_or_else(|| "models".into());
    let data = PathBuf::from(
        std::env::var("MOVIE_GENIE_DATA").unwrap_or_else(|_| "../shared/data".into()),
    );
    let paths = Paths {
        models: models.into(),
        ..Paths::defaults(&data)
    };
    let (_, inputs) = load_inputs(&paths)?;
    let device = movie_genie::engine::cpu_device();
    let (trained, config) = load_trained(&paths.models, &inputs, &device)?;
    let n = inputs.split.catalog.len();
    let genres = inputs.genres();
    let train = inputs.split.train_interactions();
    let sets: Vec<_> = GIVEN_COUNTS
        .iter()
        .map(|&k| carve_validation(&train, config.validation_fraction, k, config.seed))
        .collect();
    let kept = &sets[0].0;
    let people = personas(&genres, kept);
    let mixed = mixed_personas(&genres, kept);
    let report = |name: &str, scorer: &dyn VisitorScorer| -> anyhow::Result<()> {
        let mut line = format!("{name}:");
        for (_, valid) in &sets {
            let m = evaluate_visitors(scorer, valid, n, 20)?;
            line += &format!("  ndcg {:.4} cov {:.4}", m.ndcg, m.coverage);
        }
        let lists = persona_lists(scorer, &people, 20);
        let share = mean_share(&persona_shares(&people, &lists, &genres, 20));
        let lists = mixed_lists(scorer, &mixed, 20);
        let both = mean_figure(&mixed_shares(&mixed, &lists, &genres, 20));
        println!("{line}  personas {share:.3}  mixed personas {both:.3}");
        Ok(())
    };
    report("EASE", &Ease::fit(kept, EaseConfig::default())?)?;
    let today = TwoTowerVisitor::of(&trained, &inputs.content.genres, &config, &device);
    report("two-tower today", &today)?;

    let items = today.ranker().items().clone();
    let genres = &inputs.content.genres;
    let encoded = |mlp: &Mlp, steps: usize| {
        let mut tower = VisitorTower::of_encoder(mlp, &config);
        tower.personalize.steps = steps;
        let t = config.model.temperature;
        TwoTowerVisitor::new(
            &tower,
            t,
            &items,
            genres.clone(),
            config.ranking.clone(),
            &device,
        )
    };
    let valid10 = &sets[1].1;
    let validate = |mlp: &Mlp| {
        evaluate_visitors(&encoded(mlp, 0), valid10, n, 20)
            .unwrap()
            .ndcg
    };
    for hidden in [vec![64], vec![128]] {
        let encoder = config.encoder.clone().with_hidden(hidden.clone());
        let t = config.model.temperature;
        let (mlp, history) = train_encoder(&encoder, kept, &items, t, &device, Some(&validate));
        let best = history
            .iter()
            .max_by(|a, b| a.validation.total_cmp(&b.validation))
            .unwrap();
        println!(
            "encoder {hidden:?}: best epoch {} ({:.4})",
            best.epoch, best.validation
        );
        for steps in [0, 10, 40] {
            report(
                &format!("encoder {hidden:?}, {steps} refining steps"),
                &encoded(&mlp, steps),
            )?;
        }
    }
    Ok(())
}
