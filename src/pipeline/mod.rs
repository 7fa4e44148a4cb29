//! The native pipeline (`movie-genie <stage>`): data preparation, training, evaluation, the
//! bundle's export, adding movies to a bundle, and the static server.

pub mod add_movies;
pub mod atomic;
pub mod data;
pub mod eval;
pub mod export;
pub mod serve;
pub mod stages;
pub mod train;
