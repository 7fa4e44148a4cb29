//! The engine both targets compile, with no `cfg`: the model, the visitor's personalisation, the
//! score and ranking over the compressed table (on the CPU, or on the device for large
//! catalogs), the bundle's format and loader, the recommender the browser drives, and the
//! calibration that decides whether WebGPU runs it.

pub mod bundle;
pub mod calibration;
pub mod describe;
pub mod device_rank;
pub mod encoder;
pub mod model;
pub mod personalize;
pub mod rank;
pub mod ranker;
pub mod ratings;
pub mod recommender;
pub mod score;
pub mod tastes;
pub mod thumbs;

pub use thumbs::{ItemIndex, MovieId, Thumbs, ThumbsError};

/// The CPU device everything on the CPU runs on — training, evaluation and the browser's CPU
/// engine: burn-flex, burn's reference CPU backend (SIMD kernels; native builds add threads).
#[cfg(any(not(target_arch = "wasm32"), feature = "cpu"))]
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}
