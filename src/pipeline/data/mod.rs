//! The data readers (MovieLens CSV, TMDB metadata), the content features and their MiniLM text
//! embedding, the Parquet tables, the evaluation split and the `prepare` stage.

pub mod content;
pub mod embed;
pub mod movielens;
pub mod prepare;
pub mod split;
pub mod tables;
pub mod tmdb;
