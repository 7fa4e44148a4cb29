//! The data readers (MovieLens CSV, TMDB metadata), the content features and their MiniLM text
//! embedding, the Parquet tables, the evaluation split, the `prepare` stage, and seeded
//! MovieLens-shaped data for scale benchmarks.

pub mod content;
pub mod embed;
pub mod movielens;
pub mod prepare;
pub mod split;
pub mod synthetic;
pub mod tables;
pub mod tmdb;
