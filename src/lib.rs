//! Movie Genie: a two-tower movie recommender trained natively with burn and run in the browser.
//!
//! - [`engine`]: what both targets compile — model, personalisation, score, ranking, bundle
//!   format and loader, the recommender.
//! - [`pipeline`] (native): data, training, evaluation, export, the static server.
//! - [`web`] (wasm32): the browser API.
//! - [`fixtures`]: synthetic bundles and tables for tests and benchmarks; in wasm32 only with
//!   the `bench` feature, so no shipped module has them.

pub mod engine;
#[cfg(any(not(target_arch = "wasm32"), feature = "bench"))]
pub mod fixtures;
#[cfg(not(target_arch = "wasm32"))]
pub mod pipeline;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// Every native binary (the CLI, tests, benches) allocates through mimalloc: training allocates
/// and frees tensors of megabytes each batch, which glibc hands back to the OS and faults in again.
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
