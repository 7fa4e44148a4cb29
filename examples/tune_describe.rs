//! The "describe a movie" search's settings (`pipeline::search::SearchConfig`, the popularity
//! weight) swept on the train half of the tag queries (`eval::describe`), beside the baselines.
//! The held-out half is left for `movie-genie evaluate`.
//!
//! `cargo run --example tune_describe` (after `movie-genie prepare`).

use std::collections::HashMap;
use std::path::Path;

use movie_genie::engine::describe::{DescribeSettings, Describer};
use movie_genie::engine::{ItemIndex, MovieId};
use movie_genie::pipeline::data::embed::{SentenceEmbedder, model_dir};
use movie_genie::pipeline::data::movielens::read_tags;
use movie_genie::pipeline::eval::describe::{Bm25, SearchFigures, measure, tag_queries};
use movie_genie::pipeline::eval::metrics::top_k;
use movie_genie::pipeline::search::{Pieces, SearchConfig, build};

use movie_genie::pipeline::stages::Paths;
use movie_genie::pipeline::stages::inputs::load_prepared;
use movie_genie::pipeline::stages::search::{MODEL_NAME as MODEL, SearchInputs, TAG_SEED};

fn main() -> anyhow::Result<()> {
    let data = Path::new("../shared/data");
    let paths = Paths::defaults(data);
    let prepared = load_prepared(&paths)?;
    let inputs = SearchInputs::load(&prepared, &data.join("tmdb/movies_metadata.csv"))?;
    let movies = &inputs.movies;
    let rows: HashMap<MovieId, ItemIndex> = movies
        .iter()
        .enumerate()
        .map(|(r, m)| (m.movie_id, ItemIndex(r as u32)))
        .collect();
    let queries = tag_queries(&read_tags(&paths.tags)?, &rows, TAG_SEED);
    println!(
        "{} train queries, {} held out",
        queries.train.len(),
        queries.test.len()
    );
    let (texts, text_refs, overviews) = (&inputs.texts, inputs.text_refs(), &inputs.overviews);
    let catalog: Vec<(MovieId, f32)> = movies
        .iter()
        .zip(&inputs.counts)
        .map(|(m, c)| (m.movie_id, *c))
        .collect();
    let popularity = inputs.counts.clone();
    let show = |name: &str, f: SearchFigures| {
        println!(
            "{name:<50} recall@20 {:.4}  ndcg@20 {:.4}  ({} queries)",
            f.recall, f.ndcg, f.queries
        );
    };

    let bm25 = Bm25::new(texts);
    show("BM25", measure(&queries.train, |q| bm25.scores(q)));
    show(
        "popularity",
        measure(&queries.train, |_| popularity.clone()),
    );
    let embedder = SentenceEmbedder::load(&model_dir())?;
    let raw = |q: &str| -> Vec<f32> {
        let query = embedder.embed(&[q]).expect("embedding a tag").remove(0);
        overviews
            .iter()
            .map(|(_, v)| v.iter().zip(&query).map(|(a, b)| a * b).sum())
            .collect()
    };
    show("MiniLM query · overview", measure(&queries.train, raw));

    let pieces = Pieces::distil(&model_dir(), Path::new("data/cache"))?;
    for dim in [64, 128, 256] {
        for centre in [false, true] {
            for text_share in [0.5f32, 0.7, 1.0] {
                for popularity_weight in [0.0f32, 0.2, 0.4] {
                    let config = SearchConfig {
                        dim,
                        text_share,
                        centre,
                        settings: DescribeSettings {
                            popularity_weight,
                            ..SearchConfig::default().settings
                        },
                        ..SearchConfig::default()
                    };
                    let search = build(&pieces, &text_refs, &overviews, MODEL, &config)?;
                    let describer = Describer::new(search, &catalog);
                    show(
                        &format!(
                            "static, dim {dim}, centred {centre}, text share {text_share}, popularity {popularity_weight}"
                        ),
                        measure(&queries.train, |q| describer.scores(q).unwrap_or_default()),
                    );
                }
            }
        }
    }
    // The shipped config: the best cosine of each tag query against that of text no movie is
    // about, for the least cosine of a match; and what a few descriptions find.
    // Pseudo-relevance feedback, at the config's other settings.
    for (feedback_movies, feedback_weight) in [(0, 0.0), (5, 1.0), (10, 0.5), (10, 1.0), (20, 2.0)]
    {
        let mut config = SearchConfig::default();
        config.settings.feedback_movies = feedback_movies;
        config.settings.feedback_weight = feedback_weight;
        let search = build(&pieces, &text_refs, overviews, MODEL, &config)?;
        let describer = Describer::new(search, &catalog);
        show(
            &format!("feedback from the top {feedback_movies}, weight {feedback_weight}"),
            measure(&queries.train, |q| describer.scores(q).unwrap_or_default()),
        );
    }
    // Into the recommender's space: the two-tower vectors of the first matches, their mean as a
    // query there, its cosine added to the description's score.
    {
        let bundle = movie_genie::engine::bundle::Bundle::from_bytes(&std::fs::read(
            "www/assets/movie-genie.bundle",
        )?)?;
        let width = bundle.items.dim();
        let items = movie_genie::engine::score::table_items(
            &bundle.items.dequantize(),
            width,
            bundle.meta.serving.bias_scale,
        );
        let dim = items.dim;
        let describer = Describer::new(
            build(
                &pieces,
                &text_refs,
                overviews,
                MODEL,
                &SearchConfig::default(),
            )?,
            &catalog,
        );
        for n in [10usize, 20] {
            for gamma in [0.1f32, 0.25, 0.5, 1.0] {
                let scores = |q: &str| -> Vec<f32> {
                    let Some(first) = describer.scores(q) else {
                        return Vec::new();
                    };
                    let top = top_k(&first, n, &[]);
                    let mut centre = vec![0f32; dim];
                    for i in &top {
                        let r = i.0 as usize;
                        centre
                            .iter_mut()
                            .zip(&items.vectors[r * dim..(r + 1) * dim])
                            .for_each(|(c, x)| *c += x);
                    }
                    let norm = centre.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
                    first
                        .iter()
                        .enumerate()
                        .map(|(r, d)| {
                            let v = &items.vectors[r * dim..(r + 1) * dim];
                            d + gamma * v.iter().zip(&centre).map(|(a, b)| a * b).sum::<f32>()
                                / norm
                        })
                        .collect()
                };
                show(
                    &format!("recommender space from the top {n}, weight {gamma}"),
                    measure(&queries.train, scores),
                );
            }
        }
    }
    // Without the least standout, to list every description's matches.
    let mut config = SearchConfig::default();
    config.settings.min_standout = 0.0;
    let describer = Describer::new(
        build(&pieces, &text_refs, &overviews, MODEL, &config)?,
        &catalog,
    );
    let best = |q: &str| -> f32 {
        let data = describer.data();
        let Some(query) = data.encoder.encode(q) else {
            return -1.0;
        };
        let c = data.cosines(&query);
        let mean = c.iter().sum::<f32>() / c.len() as f32;
        let sd = (c.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / c.len() as f32).sqrt();
        (c.iter().copied().fold(-1.0, f32::max) - mean) / sd
    };
    let mut tags: Vec<f32> = queries.train.iter().map(|q| best(&q.text)).collect();
    tags.sort_by(f32::total_cmp);
    println!(
        "standout of the train tags' best match: min {:.3}, 5th percentile {:.3}, median {:.3}",
        tags[0],
        tags[tags.len() / 20],
        tags[tags.len() / 2]
    );
    for q in [
        "qwerty asdf",
        "the",
        "how do I file my tax return",
        "purple monkey dishwasher",
        "ok",
        "zzzzkkk",
        "a slow, sad space film",
        "a courtroom drama",
        "a love story in paris",
        "a boxer who never gives up",
        "time travel paradox",
        "a road trip with friends",
        "a spy thriller in the cold war",
        "a family christmas comedy",
        "something scary",
    ] {
        println!("  standout of {q:?}: {:.3}", best(q));
    }
    for q in [
        "animated film about toys",
        "heist with a twist",
        "a slow, sad space film",
        "something funny for kids about animals",
    ] {
        let top = top_k(&describer.scores(q).unwrap_or_default(), 6, &[]);
        let names: Vec<&str> = top
            .iter()
            .map(|i| movies[i.0 as usize].title.as_str())
            .collect();
        println!("  {q}: {}", names.join(" | "));
    }
    Ok(())
}
