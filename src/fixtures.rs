//! Fixtures for tests and benchmarks, native and in the browser (tests/web.rs, `web::bench`):
//! seeded random tables and a small but valid bundle, so timings and tests never depend on a
//! trained model.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::engine::MovieId;
use crate::engine::bundle::{
    Bundle, CatalogEntry, Int8Table, ItemTable, NamedTensor, ServingConfig, USER_PRIOR, UserInput,
    user_layer_names,
};
use crate::engine::encoder::thumbs_input_dim;
use crate::engine::model::mlp::MlpConfig;
use crate::engine::personalize::PersonalizeConfig;
use crate::engine::score::RankingConfig;

/// `rows` seeded random vectors of unit length, row-major: synthetic tables for the benchmarks.
///
/// # Shapes
/// `[rows, dim]`.
pub fn seeded_unit_rows(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut v: Vec<f32> = (0..rows * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    for row in v.chunks_mut(dim.max(1)) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut()
            .for_each(|x| *x /= norm.max(f32::MIN_POSITIVE));
    }
    v
}

/// The shape of a synthetic bundle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    pub rows: usize,
    pub d_in: usize,
    pub hidden: usize,
    pub output_dim: usize,
    pub steps: usize,
    pub sampled_negatives: usize,
    /// What the user tower reads: the prior, fitted by `steps` of Adam, or the thumbs.
    pub user_input: UserInput,
}

impl SyntheticSpec {
    /// A tiny model over `rows` movies, fast on any device.
    pub fn small(rows: usize) -> Self {
        Self {
            rows,
            d_in: 8,
            hidden: 16,
            output_dim: 8,
            steps: 20,
            sampled_negatives: 16,
            user_input: UserInput::Prior,
        }
    }

    /// The shape of the shipped model (`configs/two_tower_config.yaml`, ~9,300 movies of
    /// ml-latest-small): the visitor encoder reading the thumbs, no fine-tuning; for timings
    /// on catalogs of any size.
    pub fn movielens_small() -> Self {
        Self {
            rows: 9301,
            d_in: thumbs_input_dim(64),
            hidden: 64,
            output_dim: 64,
            steps: 0,
            sampled_negatives: 1024,
            user_input: UserInput::Thumbs,
        }
    }
}

/// A random but valid bundle (a two-layer tower, an int8 table, a catalog with a few accented
/// titles), for tests, demos and timings that must not depend on a trained model.
pub fn synthetic_bundle(spec: &SyntheticSpec, seed: u64) -> Bundle {
    let SyntheticSpec {
        rows,
        d_in,
        hidden,
        output_dim: out,
        ..
    } = *spec;
    const BIAS_SCALE: f32 = 2.0;
    const TITLES: [&str; 6] = [
        "Amélie",
        "Léon: The Professional",
        "Toy Story",
        "Heat",
        "Crouching Tiger, Hidden Dragon",
        "Das Boot",
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut uniform = |scale: f32, n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
            .collect()
    };
    let tensor = |name: &str, shape: Vec<usize>, data: Vec<f32>| {
        NamedTensor::new(name, shape, data).expect("synthetic tensors should be well formed")
    };
    let mut tensors = Vec::new();
    for (i, (d_from, d_to, scale)) in [(d_in, hidden, 0.6), (hidden, out, 0.4)]
        .into_iter()
        .enumerate()
    {
        let (weight, bias) = user_layer_names(i);
        tensors.push(tensor(
            &weight,
            vec![d_from, d_to],
            uniform(scale, d_from * d_to),
        ));
        tensors.push(tensor(&bias, vec![d_to], uniform(0.1, d_to)));
    }
    tensors.push(tensor(USER_PRIOR, vec![d_in], uniform(0.5, d_in)));
    let mut table = Vec::with_capacity(rows * (out + 1));
    for _ in 0..rows {
        let v = uniform(1.0, out);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        table.extend(v.iter().map(|x| x / norm));
        table.push(uniform(0.3, 1)[0] / BIAS_SCALE);
    }
    let items = Int8Table::quantize(&table, out + 1).expect("a finite synthetic table");
    let catalog = (0..rows)
        .map(|r| CatalogEntry {
            movie_id: MovieId(10 * r as u32 + 1),
            title: match TITLES.get(r) {
                Some(t) => (*t).to_owned(),
                None => format!("Movie {r}"),
            },
            year: (r % 7 != 0).then_some(1950 + (r % 70) as i32),
            genres: vec![["Drama", "Comedy", "Action"][r % 3].to_owned()],
            tmdb_id: Some(1000 + r as u32),
            popularity: ((r * 37) % 101) as f32,
            new: false,
        })
        .collect();
    let serving = ServingConfig {
        user_tower: MlpConfig::new(d_in, vec![hidden], out),
        user_input: spec.user_input,
        temperature: 0.1,
        bias_scale: BIAS_SCALE,
        personalize: PersonalizeConfig::new()
            .with_steps(spec.steps)
            .with_sampled_negatives(spec.sampled_negatives),
        ranking: RankingConfig::new(),
    };
    Bundle::new(
        serving,
        tensors,
        ItemTable::Int8(items),
        catalog,
        "Synthetic bundle for tests: no real data.".into(),
    )
    .expect("the synthetic bundle should validate")
}

/// Visitors with fixed thumbs (MovieLens ids, thumbs −1/+1/+2) on the shipped bundle: five
/// horror films, five Pixar films, three of each with Jaws disliked, one film liked.
pub const FIXED_VISITORS: [&[(u32, i8)]; 4] = [
    &[(1258, 2), (1387, 2), (1982, 2), (1997, 2), (1407, 2)],
    &[(1, 2), (3114, 2), (2355, 2), (4886, 2), (6377, 2)],
    &[
        (1258, 2),
        (1982, 2),
        (1997, 2),
        (1, 2),
        (6377, 2),
        (68954, 2),
        (1387, -1),
    ],
    &[(356, 1)],
];

/// Where the shipped bundle's top 20 for [`FIXED_VISITORS`] is recorded (relative to the
/// package root): written by the native recommender (`tests/shipped_bundle.rs`), which ranks
/// as `evaluate` does (`tests/two_tower_synthetic.rs`), and reproduced by the browser
/// (`tests/web.rs`).
pub const FIXED_TOP20_FILE: &str = "tests/fixtures/shipped-top20.json";

/// One fixed visitor's recorded top 20: `(movie id, score)`, best first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FixedTop20 {
    pub thumbs: Vec<(u32, i8)>,
    pub top: Vec<(u32, f32)>,
}

/// Descriptions with fixed thumbs and taste shares (an index into [`FIXED_VISITORS`], or none)
/// on the shipped bundle and search data: a description alone, and blended with a visitor's
/// taste.
pub const FIXED_DESCRIPTIONS: [(&str, Option<usize>, f64); 4] = [
    ("animated film about toys", None, 0.0),
    ("a heist with a twist", None, 0.0),
    ("something scary", Some(2), 0.5),
    ("a road trip with friends", Some(1), 0.25),
];

/// Where the shipped search data's top 20 for [`FIXED_DESCRIPTIONS`] is recorded, as
/// [`FIXED_TOP20_FILE`] is for the visitors.
pub const FIXED_DESCRIBED_FILE: &str = "tests/fixtures/shipped-describe.json";

/// One fixed description's recorded top 20.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FixedDescribed {
    pub text: String,
    pub thumbs: Vec<(u32, i8)>,
    pub taste: f64,
    pub top: Vec<(u32, f32)>,
}

/// Where `got` departs from the recorded list `want`: a different movie at a rank, or a score
/// off by 1e-4 or more; `None` when they agree.
pub fn top20_difference(want: &[(u32, f32)], got: &[(u32, f32)]) -> Option<String> {
    if want.len() != got.len() {
        return Some(format!("expected {} movies, got {}", want.len(), got.len()));
    }
    want.iter().zip(got).enumerate().find_map(|(rank, (w, g))| {
        if w.0 != g.0 {
            Some(format!(
                "rank {}: expected movie {}, got {}",
                rank + 1,
                w.0,
                g.0
            ))
        } else if (w.1 - g.1).abs() >= 1e-4 {
            Some(format!(
                "movie {}: expected score {}, got {}",
                w.0, w.1, g.1
            ))
        } else {
            None
        }
    })
}
