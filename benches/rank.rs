//! Top-20 retrieval over the shipped table (9,301 movies) and synthetic (seeded) item tables of
//! 9,742 (ml-latest-small), 100k and 1M rows × 64: the int8 and PQ kernels beside the naive
//! alternative (all f32 scores, full sort).
//! Prints the bytes each table holds in memory before timing. Then a visitor's whole update on
//! the shipped bundle (encoder, every taste's pass over the table, the thumbs-down term, top 20)
//! for one taste, two tastes, and one taste with 20 thumbs-down.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use movie_genie::engine::bundle::{Bundle, Int8Table, ItemTable, PqConfig, PqTable};
use movie_genie::engine::rank::TopK;
use movie_genie::engine::recommender::Recommender;
use movie_genie::engine::{MovieId, Thumbs};
use movie_genie::fixtures::seeded_unit_rows;

const DIM: usize = 64;
const K: usize = 20;
const SIZES: [usize; 3] = [9_742, 100_000, 1_000_000];

/// The synthetic sizes of this run: `cargo bench` (which passes `--bench`) times all of them;
/// `cargo test`'s single pass checks the kernels on a small table, where they are the same code.
fn sizes() -> &'static [usize] {
    if std::env::args().any(|arg| arg == "--bench") {
        &SIZES
    } else {
        &[2_000]
    }
}

/// The bundle the site ships (`movie-genie export`).
const SHIPPED: &str = "www/assets/movie-genie.bundle";

/// The naive alternative: every f32 score, then a full sort.
///
/// # Shapes
/// `table`: `[rows, DIM]`; `q`: `[DIM]`.
fn naive_top_k(table: &[f32], q: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut scored: Vec<(u32, f32)> = table
        .chunks_exact(q.len())
        .enumerate()
        .map(|(i, row)| (i as u32, row.iter().zip(q).map(|(a, b)| a * b).sum()))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

fn rank(c: &mut Criterion) {
    let q = seeded_unit_rows(1, DIM, 7);
    let mut group = c.benchmark_group("top20");
    // The shipped table itself (int8 rows of 64-d vectors + the bias column), beside the same
    // rows as f32, when the exporter has written the bundle.
    match std::fs::read(SHIPPED) {
        Ok(bytes) => {
            let bundle = Bundle::from_bytes(&bytes).expect("the shipped bundle should load");
            let floats = bundle.items.dequantize();
            let dim = bundle.items.dim();
            let q = seeded_unit_rows(1, dim, 7);
            println!(
                "shipped: {} × {dim}, int8 {} B in memory",
                bundle.items.rows(),
                bundle.items.heap_bytes()
            );
            let int8 = TopK::by_row(bundle.items);
            group.bench_with_input(BenchmarkId::new("int8", "shipped"), &q, |b, q| {
                b.iter(|| int8.query(black_box(q), K).expect("valid query"))
            });
            group.bench_with_input(BenchmarkId::new("f32-naive-sort", "shipped"), &q, |b, q| {
                b.iter(|| naive_top_k(&floats, black_box(q), K))
            });
        }
        Err(e) => eprintln!("rank bench: no shipped table ({SHIPPED}: {e})"),
    }
    for &rows in sizes() {
        let floats = seeded_unit_rows(rows, DIM, rows as u64);
        let int8 = ItemTable::Int8(Int8Table::quantize(&floats, DIM).expect("finite table"));
        let pq_config = PqConfig {
            m: 16,
            iterations: 10,
            seed: 42,
            max_train_rows: 20_000,
        };
        let pq = ItemTable::Pq(PqTable::train(&floats, DIM, &pq_config).expect("finite table"));
        println!(
            "{rows} × {DIM}: f32 {} B, int8 {} B, pq-m16 {} B in memory",
            floats.len() * 4,
            int8.heap_bytes(),
            pq.heap_bytes()
        );
        let int8 = TopK::by_row(int8);
        let pq = TopK::by_row(pq);
        group.bench_with_input(BenchmarkId::new("int8", rows), &q, |b, q| {
            b.iter(|| int8.query(black_box(q), K).expect("valid query"))
        });
        group.bench_with_input(BenchmarkId::new("pq-m16", rows), &q, |b, q| {
            b.iter(|| pq.query(black_box(q), K).expect("valid query"))
        });
        group.bench_with_input(BenchmarkId::new("f32-naive-sort", rows), &q, |b, q| {
            b.iter(|| naive_top_k(&floats, black_box(q), K))
        });
    }
    group.finish();
}

/// The Shining, Jaws, Halloween, The Exorcist, Scream; Toy Story, Finding Nemo, Up.
const HORROR: [u32; 5] = [1258, 1387, 1982, 1997, 1407];
const ANIMATED: [u32; 3] = [1, 6377, 68954];

fn visitor_update(c: &mut Criterion) {
    let Ok(bytes) = std::fs::read(SHIPPED) else {
        return;
    };
    let bundle = Bundle::from_bytes(&bytes).expect("the shipped bundle should load");
    let device = movie_genie::engine::cpu_device();
    let mut group = c.benchmark_group("visitor update, top 20, shipped bundle");
    let likes: [(&str, Vec<u32>); 3] = [
        ("5 likes", HORROR.to_vec()),
        (
            "3 + 3 likes, two tastes",
            [&HORROR[..3], &ANIMATED].concat(),
        ),
        ("5 likes, 20 thumbs-down", HORROR.to_vec()),
    ];
    for (name, liked) in likes {
        let mut r = Recommender::from_bundle(bundle.clone(), &device).expect("it loads");
        for &id in &liked {
            r.rate(MovieId(id), Thumbs::DoubleUp)
                .expect("a catalog movie");
        }
        if name.contains("thumbs-down") {
            let downs: Vec<MovieId> = r.catalog().iter().map(|e| e.movie_id).take(20).collect();
            for id in downs {
                r.rate(id, Thumbs::Down).expect("a catalog movie");
            }
        }
        // Each iteration changes the thumbs (one more like, or one fewer), so nothing is reused.
        let toggled = MovieId(2571);
        group.bench_function(name, |b| {
            b.iter(|| {
                if !r.unrate(toggled).expect("a valid id") {
                    r.rate(toggled, Thumbs::Up).expect("a catalog movie");
                }
                pollster::block_on(r.recommend(K)).expect("recommendations")
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Small samples so the whole run fits in a couple of minutes on 2 cores.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = rank, visitor_update
}
criterion_main!(benches);
