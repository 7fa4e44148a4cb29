//! The native pipeline (`movie-genie <stage>`): data preparation, training, evaluation, the
//! bundle's export, and the static server.

pub mod atomic;
pub mod data;
pub mod eval;
pub mod export;
pub mod serve;
pub mod stages;
pub mod train;
