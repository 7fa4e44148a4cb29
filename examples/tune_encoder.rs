//! The visitor encoder (a user tower reading the thumbs) against today's personalisation, on
//! the validation visitors carved from the train users (`eval::tuning`), EASE beside; for two
//! widths, with 0, 10 and 40 fine-tuning steps from the encoder's reading.
//!
//! `cargo run --release --example tune_encoder -- [models_dir]` (default `models`).

use movie_genie::engine::model::mlp::Mlp;
use movie_genie::pipeline::eval::baselines::{Ease, EaseConfig};
use movie_genie::pipeline::eval::evaluate_visitors;
use movie_genie::pipeline::eval::tuning::Tuning;
use movie_genie::pipeline::eval::two_tower::TwoTowerVisitor;
use movie_genie::pipeline::train::VisitorTower;
use movie_genie::pipeline::train::visitor::train_encoder;

fn main() -> anyhow::Result<()> {
    let Tuning {
        inputs,
        trained,
        config,
        device,
    } = Tuning::from_args()?;
    let n = inputs.split.catalog.len();
    let validation = Tuning::validation_of(&inputs, &config);
    let kept = &validation.kept;
    println!(
        "EASE:{}",
        validation.figures(&Ease::fit(kept, EaseConfig::default())?)?
    );
    let today = TwoTowerVisitor::of(&trained, &inputs.content.genres, &config, &device);
    println!("two-tower today:{}", validation.figures(&today)?);

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
    let valid10 = &validation.visitors[1];
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
            let figures = validation.figures(&encoded(&mlp, steps))?;
            println!("encoder {hidden:?}, {steps} refining steps:{figures}");
        }
    }
    Ok(())
}
