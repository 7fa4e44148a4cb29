//! Visitor fine-tuning natively (burn-flex, CPU) at k = 5, 10 and 20 ratings, with the
//! shipped architecture and personalisation settings over a ml-latest-small-sized catalog
//! (random weights: the time does not depend on their values). Beside it, the naive
//! alternative: no fine-tuning, the prior vector's scores over all items.

use std::hint::black_box;
use std::time::Duration;

use burn::tensor::TensorData;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use movie_genie::engine::personalize::{FrozenUserTower, ItemVectors, PersonalizeConfig};
use movie_genie::engine::score::{QuerySpace, ranking_table, score_rows};
use movie_genie::engine::{ItemIndex, Thumbs};
use movie_genie::fixtures::seeded_unit_rows;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const ITEMS: usize = 9_301;
const D_IN: usize = 32;
const HIDDEN: usize = 64;
const DIM: usize = 64;

fn random(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn setup() -> (FrozenUserTower, ItemVectors) {
    let mut rng = StdRng::seed_from_u64(1);
    let device = movie_genie::engine::cpu_device();
    let layers = vec![
        (
            TensorData::new(random(&mut rng, D_IN * HIDDEN, 0.2), [D_IN, HIDDEN]),
            TensorData::new(random(&mut rng, HIDDEN, 0.1), [HIDDEN]),
        ),
        (
            TensorData::new(random(&mut rng, HIDDEN * DIM, 0.2), [HIDDEN, DIM]),
            TensorData::new(random(&mut rng, DIM, 0.1), [DIM]),
        ),
    ];
    let tower = FrozenUserTower::new(
        layers,
        TensorData::new(random(&mut rng, D_IN, 0.1), [D_IN]),
        0.1,
        &device,
    );
    let items = ItemVectors {
        vectors: seeded_unit_rows(ITEMS, DIM, 2),
        bias: random(&mut rng, ITEMS, 1.0),
        dim: DIM,
    };
    (tower, items)
}

/// Every item's score for a visitor vector, in float (what evaluation ranks by).
fn score_all(space: &QuerySpace, table: &[f32], user: &[f32]) -> Vec<f32> {
    score_rows(table, &space.query(user, 1.0))
}

fn bench(c: &mut Criterion) {
    let (tower, items) = setup();
    let (table, scale) = ranking_table(&items);
    let space = QuerySpace::new(&items, 0.1, scale);
    let config = PersonalizeConfig::new();
    let mut group = c.benchmark_group("personalize");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for k in [5usize, 10, 20] {
        let rated: Vec<(ItemIndex, Thumbs)> = (0..k)
            .map(|i| {
                (
                    ItemIndex((i * 397 % ITEMS) as u32),
                    if i % 3 == 0 { Thumbs::Down } else { Thumbs::Up },
                )
            })
            .collect();
        group.bench_with_input(
            BenchmarkId::new("fine-tune + score all", k),
            &rated,
            |b, rated| {
                b.iter(|| {
                    let user: Vec<f32> = tower
                        .personalize(&items, rated, &config)
                        .expect("indices are in the catalog")
                        .into_data()
                        .try_to_vec()
                        .expect("f32");
                    black_box(score_all(&space, &table, &user))
                })
            },
        );
    }
    let prior: Vec<f32> = tower.prior_vector().into_data().try_to_vec().expect("f32");
    group.bench_function("naive: prior only, score all", |b| {
        b.iter(|| black_box(score_all(&space, &table, &prior)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
