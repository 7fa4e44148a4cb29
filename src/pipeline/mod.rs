//! The native pipeline (`movie-genie <stage>`): data preparation, training, evaluation, the
//! bundle's export, and adding movies to a bundle.

pub mod add_movies;
pub mod atomic;
pub mod data;
pub mod eval;
pub mod export;
pub mod movie_ids;
pub mod search;
pub mod stages;
pub mod train;
