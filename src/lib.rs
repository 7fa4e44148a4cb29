//! Movie Genie: a two-tower movie recommender trained natively with burn and run in the browser.
//!
//! Shared core (native and wasm, no `cfg` inside): `data::{thumbs, MovieId, ItemIndex}`, `score`, `rank`,
//! `bundle::{format, load}`. Native only: the CSV readers, `prepare`, `eval`, `bundle::export`.

pub mod bundle;
pub mod data;
pub mod model;
pub mod personalize;
pub mod rank;
pub mod recommender;
pub mod score;

#[cfg(not(target_arch = "wasm32"))]
pub mod atomic;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod pipeline;
#[cfg(not(target_arch = "wasm32"))]
pub mod serve;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// Every native binary (the CLI, tests, benches) allocates through mimalloc: training allocates
/// and frees tensors of megabytes each batch, which glibc hands back to the OS and faults in again.
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
