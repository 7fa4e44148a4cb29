//! The `evaluate` stage. Reads the `thumbs-v1` inputs and random visitor splits of the same
//! prepared data, the evaluated model in `models/`, and `metrics/two_tower_metrics.json` (the
//! fit time, when there); writes `metrics/evaluation.json`, `metrics/evaluation.md`,
//! `metrics/tradeoff.json` and `metrics/tradeoff.svg`. The models it trains on the way (warm
//! split, random splits, cold start) are not saved.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;

use crate::engine::ItemIndex;
use crate::engine::score::{RankingConfig, reason};
use crate::pipeline::add_movies::{ColdStart, NEIGHBOURS, NEW_BIAS, NewBias, gather_rows};
use crate::pipeline::data::prepare::{write_file_atomic, write_json};
use crate::pipeline::data::split::{Interactions, VisitorCase};
use crate::pipeline::eval::cold_start::{
    self, ColdStartReport, ColdStartResult, content_only_scores, evaluate_cold_start,
    held_out_rows, random_scores, without_items,
};
use crate::pipeline::eval::personas::{
    mean_figure, mean_share, persona_lists, persona_shares, personas,
};
use crate::pipeline::eval::protocol::{
    BaselineConfigs, ProtocolCases, baselines_on_visitors, fit_baselines, run_baselines,
};
use crate::pipeline::eval::tradeoff::{TradeoffPoint, tradeoff_svg};
use crate::pipeline::eval::two_tower::{TwoTowerVisitor, TwoTowerWarm};
use crate::pipeline::eval::{
    EvalError, MethodReport, Report, SplitSpread, VisitorResult, VisitorScorer, WarmResult,
    evaluate_visitors, evaluate_warm,
};
use crate::pipeline::stages::Paths;
use crate::pipeline::stages::inputs::{Inputs, Prepared};
use crate::pipeline::stages::train::{TrainMetrics, fit, load_trained};
use crate::pipeline::train::{Trained, TrainingConfig, carve_validation};

/// Seeds of the random visitor splits `evaluate` repeats the visitor protocol over.
pub const SPLIT_SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// A two-tower scorer over visitor vectors personalised once ([`CachedVisitors::personalise`]),
/// so one fine-tuning per visitor serves every ranking setting of a sweep.
pub struct CachedVisitors<'a> {
    pub scorer: &'a TwoTowerVisitor,
    pub vectors: &'a HashMap<(u32, usize), Vec<Vec<f32>>>,
}

impl CachedVisitors<'_> {
    /// Every case's visitor vectors, keyed by user and number of given ratings.
    pub fn personalise(
        scorer: &TwoTowerVisitor,
        cases: &[VisitorCase],
    ) -> HashMap<(u32, usize), Vec<Vec<f32>>> {
        cases
            .iter()
            .map(|c| ((c.user_id, c.given.len()), scorer.user_vectors(&c.given)))
            .collect()
    }
}

impl VisitorScorer for CachedVisitors<'_> {
    fn name(&self) -> String {
        self.scorer.name()
    }

    fn score_visitor(&self, given: &[(ItemIndex, crate::engine::Thumbs)]) -> Vec<f32> {
        self.scorer.score_visitor(given)
    }

    fn score_case(&self, case: &VisitorCase) -> Vec<f32> {
        match self.vectors.get(&(case.user_id, case.given.len())) {
            Some(users) => self.scorer.score_vectors(users, &case.given),
            None => self.scorer.score_visitor(&case.given),
        }
    }
}

/// The popularity weights the trade-off curve visits.
pub const TRADEOFF_WEIGHTS: [f64; 11] = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0];

/// The accuracy/variety trade-off on the evaluated model's validation visitors (k = its
/// `validation_k`): the two-tower at every popularity weight and the baselines fitted on the
/// same remaining train users. Never touches the test visitors.
pub fn tradeoff(
    trained: &Trained,
    config: &TrainingConfig,
    inputs: &Inputs,
    k_at: usize,
    device: &Device,
) -> Result<Vec<TradeoffPoint>, EvalError> {
    let (kept, valid) = carve_validation(
        &inputs.split.train_interactions(),
        config.validation_fraction,
        config.validation_k,
        config.seed,
    );
    let n = inputs.split.catalog.len();
    let genres = inputs.genres();
    let validation_personas = personas(&genres, &kept);
    let point = |label: String, beta: Option<f64>, scorer: &dyn VisitorScorer| {
        let m = evaluate_visitors(scorer, &valid, n, k_at)?;
        let lists = persona_lists(scorer, &validation_personas, k_at);
        let share = mean_share(&persona_shares(&validation_personas, &lists, &genres, k_at));
        Ok::<_, EvalError>(TradeoffPoint {
            label,
            popularity_weight: beta,
            ndcg: m.ndcg,
            coverage: m.coverage,
            persona_share: share,
        })
    };
    let mut points = Vec::new();
    let mut scorer = TwoTowerVisitor::of(&trained, &inputs.content.genres, config, device);
    let vectors = CachedVisitors::personalise(&scorer, &valid);
    for beta in TRADEOFF_WEIGHTS {
        scorer = scorer.with_ranking(RankingConfig {
            popularity_weight: beta,
            ..config.ranking.clone()
        });
        let cached = CachedVisitors {
            scorer: &scorer,
            vectors: &vectors,
        };
        points.push(point(format!("β {beta}"), Some(beta), &cached)?);
    }
    for model in fit_baselines(&kept, &BaselineConfigs::default())? {
        points.push(point(model.name(), None, model.as_ref())?);
    }
    Ok(points)
}

/// The `evaluate` stage: the trained model on the visitor protocol, a model of the same config
/// trained on the warm split for the warm protocol, and the four baselines, in one report; the
/// personas for every method; the visitor protocol again over [`SPLIT_SEEDS`] random splits;
/// and the trade-off curve on validation visitors (`metrics/tradeoff.svg`).
pub fn evaluate_stage(
    prepared: &Prepared,
    inputs: &Inputs,
    paths: &Paths,
    k_at: usize,
    device: &Device,
) -> anyhow::Result<Report> {
    let cases = ProtocolCases::new(&inputs.split, inputs.genres());
    let (trained, config) = load_trained(&paths.models, inputs, device)?;
    let config = &config;
    let visitor_scorer = TwoTowerVisitor::of(&trained, &inputs.content.genres, config, device);
    let start = Instant::now();
    let outcome = cases.evaluate_visitors(&visitor_scorer, k_at)?;
    for r in &outcome.visitor {
        eprintln!(
            "two-tower, visitor k = {}: ndcg@{k_at} {:.4}, coverage@{k_at} {:.4}",
            r.given, r.metrics.ndcg, r.metrics.coverage
        );
    }
    eprintln!(
        "two-tower: visitors and personas in {:.1} s; persona share {:.3}, mixed-persona figure {:.3}",
        start.elapsed().as_secs_f64(),
        mean_share(&outcome.personas),
        mean_figure(&outcome.mixed)
    );
    let named_reason_share = named_reasons(&visitor_scorer, &cases, config, k_at);

    eprintln!("training a model of the same config on the warm split");
    let start = Instant::now();
    let (warm_trained, _) = fit(config, inputs, &cases.warm.train, device);
    let warm_fit_seconds = start.elapsed().as_secs_f64();
    let warm_metrics = evaluate_warm(
        &TwoTowerWarm::new(&warm_trained, &inputs.content.genres, config, device),
        &cases.warm.cases,
        cases.catalog_len,
        k_at,
    )?;
    let train_metrics: Option<TrainMetrics> =
        std::fs::read_to_string(paths.metrics.join("two_tower_metrics.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let mut report = run_baselines(&cases, &BaselineConfigs::default(), k_at, |m| {
        eprintln!("{} done", m.name);
    })?;
    report.methods.insert(
        0,
        MethodReport {
            name: "two-tower".into(),
            settings: format!(
                "loss {:?}, τ {}, output {}, personalise {} steps lr {}, popularity weight {}, genre weight {}",
                config.loss,
                config.model.temperature,
                config.model.output_dim,
                config.personalize.steps,
                config.personalize.learning_rate,
                config.ranking.popularity_weight,
                config.ranking.genre_weight
            ),
            fit_seconds: train_metrics.map_or(0.0, |m| m.seconds_total),
            visitor: outcome.visitor,
            warm: Some(WarmResult {
                metrics: warm_metrics,
                fit_seconds: warm_fit_seconds,
            }),
            personas: outcome.personas,
            mixed: outcome.mixed,
        },
    );
    report.named_reason_share = Some(named_reason_share);

    // The same protocol over random visitor splits: is the ranking of methods a property of
    // the one published split?
    let mut per_method: Vec<(String, Vec<Vec<VisitorResult>>)> = Vec::new();
    for seed in SPLIT_SEEDS {
        let split_inputs = prepared.inputs(&prepared.random_visitors(seed))?;
        let split_cases = ProtocolCases::new(&split_inputs.split, Vec::new());
        let start = Instant::now();
        let (split_trained, _) = fit(config, &split_inputs, &split_cases.train, device);
        let scorer =
            TwoTowerVisitor::of(&split_trained, &split_inputs.content.genres, config, device);
        let mut results = vec![(
            "two-tower".to_string(),
            split_cases.evaluate_visitors(&scorer, k_at)?.visitor,
        )];
        results.extend(baselines_on_visitors(
            &split_cases,
            &BaselineConfigs::default(),
            k_at,
        )?);
        eprintln!(
            "split seed {seed}: {} in {:.0} s",
            results
                .iter()
                .map(|(name, r)| format!("{name} {:.4}", r[1].metrics.ndcg))
                .collect::<Vec<_>>()
                .join(", "),
            start.elapsed().as_secs_f64()
        );
        for (name, r) in results {
            match per_method.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => all.push(r),
                None => per_method.push((name, vec![r])),
            }
        }
    }
    report.split_seeds = SPLIT_SEEDS.to_vec();
    report.robustness = per_method
        .iter()
        .flat_map(|(name, all)| SplitSpread::summarise(name, all))
        .collect();

    report.cold_start = Some(cold_start(config, inputs, &cases, k_at, device));

    let points = tradeoff(&trained, config, inputs, k_at, device)?;
    write_json(&paths.metrics.join("tradeoff.json"), &points)?;
    write_file_atomic(
        &paths.metrics.join("tradeoff.svg"),
        tradeoff_svg(
            &points,
            config.ranking.popularity_weight,
            &format!(
                "validation visitors (k = {}): two-tower by popularity weight β, baselines",
                config.validation_k
            ),
        )
        .as_bytes(),
    )?;

    write_json(&paths.metrics.join("evaluation.json"), &report)?;
    write_file_atomic(
        &paths.metrics.join("evaluation.md"),
        report.to_markdown().as_bytes(),
    )?;
    Ok(report)
}

/// The cold-start protocol (`eval::cold_start`) on the test visitors given 10 ratings.
fn cold_start(
    config: &TrainingConfig,
    inputs: &Inputs,
    cases: &ProtocolCases,
    k_at: usize,
    device: &Device,
) -> ColdStartReport {
    let held = held_out_rows(cases.catalog_len);
    let given = &cases.visitors[1];
    ColdStartReport {
        held_out_movies: held.len(),
        catalog_len: cases.catalog_len,
        seed: cold_start::SEED,
        given: given.k,
        k_at,
        results: cold_start_results(
            config,
            inputs,
            &cases.train,
            &given.cases,
            &held,
            &[(NEIGHBOURS, NEW_BIAS), (0, NewBias::Median)],
            k_at,
            device,
        ),
    }
}

/// A model trained on `train` without any rating of the `held` movies, those movies given
/// vectors from content alone (`ColdStart`, under each rule: how many trained neighbours
/// lend what), against a content-only recommender and a random ordering, on `cases`.
#[allow(clippy::too_many_arguments)]
pub fn cold_start_results(
    config: &TrainingConfig,
    inputs: &Inputs,
    train: &Interactions,
    cases: &[VisitorCase],
    held: &HashSet<usize>,
    rules: &[(usize, NewBias)],
    k_at: usize,
    device: &Device,
) -> Vec<ColdStartResult> {
    let catalog_len = train.num_items;
    eprintln!("cold start: training without {} movies", held.len());
    let (trained, _) = fit(config, inputs, &without_items(train, held), device);
    let kept: Vec<usize> = (0..catalog_len).filter(|r| !held.contains(r)).collect();
    let content = &inputs.content;
    let mut held_rows: Vec<usize> = held.iter().copied().collect();
    held_rows.sort_unstable();
    let held_content = gather_rows(&content.values, content.dim, &held_rows);
    let genres = inputs.genres();
    let held_genres: Vec<Vec<String>> = held_rows.iter().map(|&r| genres[r].clone()).collect();
    let kept_genres: Vec<Vec<String>> = kept.iter().map(|&r| genres[r].clone()).collect();
    let model = trained.model.valid();
    let mut results = Vec::new();
    for &(n, new_bias) in rules {
        let cold = ColdStart::of(
            &trained.model,
            &content.values,
            content.dim,
            &kept,
            n,
            new_bias,
        );
        let vectors = cold.vectors(
            &model.item.mlp,
            &held_content,
            content.dim,
            &held_genres,
            &kept_genres,
            &model.item.embedding.weight.val().device(),
        );
        let mut items = trained.items.clone();
        for (j, &r) in held_rows.iter().enumerate() {
            let dim = items.dim;
            items.vectors[r * dim..(r + 1) * dim].copy_from_slice(vectors.row(j));
            items.bias[r] = vectors.bias[j];
        }
        let scorer = TwoTowerVisitor::new(
            &trained.visitor_tower(config),
            config.model.temperature,
            &items,
            content.genres.clone(),
            config.ranking.clone(),
            device,
        );
        let bias = match new_bias {
            NewBias::Median => "median bias",
            NewBias::Neighbours => "their bias",
        };
        let name = match n {
            0 => "two-tower (held-out movies: mean id, median bias)".to_string(),
            n => format!("two-tower (held-out movies: ids of {n} nearest, {bias})"),
        };
        results.push(evaluate_cold_start(
            &name,
            |_, g| scorer.score_visitor(g),
            cases,
            held,
            k_at,
        ));
    }
    let text = inputs
        .layout
        .group("text_embedding")
        .expect("the layout has the text embedding");
    let overviews: Vec<f32> = content
        .values
        .chunks_exact(content.dim)
        .flat_map(|row| row[text.start..text.start + text.len].iter().copied())
        .collect();
    results.extend([
        evaluate_cold_start(
            "content only (overview cosine)",
            |_, g| content_only_scores(&overviews, text.len, g),
            cases,
            held,
            k_at,
        ),
        evaluate_cold_start(
            "random",
            |visitor, _| random_scores(catalog_len, visitor),
            cases,
            held,
            k_at,
        ),
    ]);
    for r in &results {
        eprintln!(
            "cold start, {}: held-out recall@{k_at} {:.4}, ndcg@{k_at} {:.4}; overall ndcg {:.4}",
            r.method, r.held_out_recall, r.held_out_ndcg, r.overall_ndcg
        );
    }
    results
}

/// The share of the personas' recommendations whose reason names a liked movie.
fn named_reasons(
    scorer: &TwoTowerVisitor,
    cases: &ProtocolCases,
    config: &TrainingConfig,
    k_at: usize,
) -> f64 {
    let lists = persona_lists(scorer, &cases.personas, k_at);
    let (mut named, mut total) = (0usize, 0usize);
    for (persona, list) in cases.personas.iter().zip(&lists) {
        let liked: Vec<ItemIndex> = persona.given.iter().map(|(i, _)| *i).collect();
        for &item in list {
            total += 1;
            let because = reason(
                scorer.ranker().items(),
                scorer.ranker().genres(),
                item,
                &liked,
                config.ranking.reason_min_cosine,
            );
            named += usize::from(because.is_some());
        }
    }
    named as f64 / total.max(1) as f64
}
