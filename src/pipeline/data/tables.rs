//! The two Parquet tables `prepare` writes and `train` reads:
//! `sequences_with_metadata.parquet` (one row per rating) and
//! `movies_with_content_features.parquet` (one row per movie). Files appear atomically.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int8Array, Int32Array,
    Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::content::{FeatureLayout, MovieContent};
use super::movielens::{DataError, Rating};
use crate::engine::{MovieId, Thumbs};

/// A movie as training and export read it back: identity, display fields, full feature vector.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieFeatures {
    pub movie_id: MovieId,
    pub tmdb_id: Option<u32>,
    pub title: String,
    pub year: Option<i32>,
    pub genres: Vec<String>,
    pub popularity: Option<f64>,
    /// `layout.dim` values: the tabular columns, then the text embedding.
    pub features: Vec<f32>,
}

fn other(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Other(format!("{}: {e}", path.display()))
}

/// Writes one batch to `path` through a temporary file in the same folder, then renames it.
pub fn write_atomic(path: &Path, batch: &RecordBatch) -> Result<(), DataError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    crate::pipeline::atomic::write_atomic(path, |file| {
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
            .map_err(std::io::Error::other)?;
        writer.write(batch).map_err(std::io::Error::other)?;
        writer.close().map_err(std::io::Error::other)?;
        Ok(())
    })
    .map_err(|e| other(path, e))
}

/// The ratings table: `userId`, `movieId`, `rating`, `thumbs_rating`, `timestamp`.
pub fn ratings_batch(ratings: &[Rating]) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("userId", DataType::Int32, false),
        Field::new("movieId", DataType::Int32, false),
        Field::new("rating", DataType::Float32, false),
        Field::new("thumbs_rating", DataType::Int8, false),
        Field::new("timestamp", DataType::Int64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(
            ratings.iter().map(|r| r.user_id as i32),
        )),
        Arc::new(Int32Array::from_iter_values(
            ratings.iter().map(|r| r.movie_id.0 as i32),
        )),
        Arc::new(Float32Array::from_iter_values(
            ratings.iter().map(|r| r.stars),
        )),
        Arc::new(Int8Array::from_iter_values(
            ratings.iter().map(|r| r.thumbs.value()),
        )),
        Arc::new(Int64Array::from_iter_values(
            ratings.iter().map(|r| r.timestamp),
        )),
    ];
    RecordBatch::try_new(Arc::new(schema), columns)
        .expect("the ratings schema should match its columns")
}

/// The movies table: ids, title, year, genres, popularity, one Float32 column per tabular
/// feature (named as in the layout) and `text_embedding` as a fixed-size list.
pub fn movies_batch(
    contents: &[MovieContent],
    embeddings: &[Vec<f32>],
    layout: &FeatureLayout,
) -> RecordBatch {
    let tabular_dim = layout.dim - layout.text_embedding_dim;
    let mut fields = vec![
        Field::new("movieId", DataType::Int32, false),
        Field::new("tmdbId", DataType::Int32, true),
        Field::new("imdbId", DataType::Int32, true),
        Field::new("title", DataType::Utf8, false),
        Field::new("year", DataType::Int32, true),
        Field::new("genres", DataType::Utf8, false),
        Field::new("popularity", DataType::Float64, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(
            contents.iter().map(|c| c.movie_id.0 as i32),
        )),
        Arc::new(Int32Array::from_iter(
            contents.iter().map(|c| c.tmdb_id.map(|v| v as i32)),
        )),
        Arc::new(Int32Array::from_iter(
            contents.iter().map(|c| c.imdb_id.map(|v| v as i32)),
        )),
        Arc::new(StringArray::from_iter_values(
            contents.iter().map(|c| c.title.as_str()),
        )),
        Arc::new(Int32Array::from_iter(contents.iter().map(|c| c.year))),
        Arc::new(StringArray::from_iter_values(
            contents.iter().map(|c| c.genres.join("|")),
        )),
        Arc::new(Float64Array::from_iter(
            contents.iter().map(|c| c.popularity),
        )),
    ];
    for (i, name) in layout.columns[..tabular_dim].iter().enumerate() {
        fields.push(Field::new(name, DataType::Float32, false));
        columns.push(Arc::new(Float32Array::from_iter_values(
            contents.iter().map(|c| c.tabular[i]),
        )));
    }
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let dim = layout.text_embedding_dim as i32;
    fields.push(Field::new(
        "text_embedding",
        DataType::FixedSizeList(item.clone(), dim),
        false,
    ));
    let values = Float32Array::from_iter_values(embeddings.iter().flatten().copied());
    columns.push(Arc::new(
        FixedSizeListArray::try_new(item, dim, Arc::new(values), None)
            .expect("every embedding should have text_embedding_dim values"),
    ));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("the movies schema should match its columns")
}

fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Open {
        path: path.to_owned(),
        source,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| other(path, format!("not a readable Parquet file: {e}")))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| other(path, e))
}

fn column<'a, T: 'static>(
    path: &Path,
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a T, DataError> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| DataError::MissingColumn {
            path: path.to_owned(),
            column: name.to_string(),
            header: batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(","),
        })?;
    col.as_any().downcast_ref::<T>().ok_or_else(|| {
        other(
            path,
            format!(
                "column `{name}`: expected {}, got {}",
                std::any::type_name::<T>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("?"),
                col.data_type()
            ),
        )
    })
}

/// Reads the ratings table back.
pub fn read_ratings_table(path: &Path) -> Result<Vec<Rating>, DataError> {
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        let users = column::<Int32Array>(path, &batch, "userId")?;
        let movies = column::<Int32Array>(path, &batch, "movieId")?;
        let stars = column::<Float32Array>(path, &batch, "rating")?;
        let thumbs = column::<Int8Array>(path, &batch, "thumbs_rating")?;
        let times = column::<Int64Array>(path, &batch, "timestamp")?;
        for i in 0..batch.num_rows() {
            let thumbs = Thumbs::try_from(thumbs.value(i))
                .map_err(|e| other(path, format!("row {i}: {e}")))?;
            out.push(Rating {
                user_id: users.value(i) as u32,
                movie_id: MovieId(movies.value(i) as u32),
                stars: stars.value(i),
                thumbs,
                timestamp: times.value(i),
            });
        }
    }
    Ok(out)
}

/// Reads the movies table back, checking its columns against `layout` (names, order, width).
pub fn read_movies_table(
    path: &Path,
    layout: &FeatureLayout,
) -> Result<Vec<MovieFeatures>, DataError> {
    let tabular_dim = layout.dim - layout.text_embedding_dim;
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        let ids = column::<Int32Array>(path, &batch, "movieId")?;
        let tmdb = column::<Int32Array>(path, &batch, "tmdbId")?;
        let titles = column::<StringArray>(path, &batch, "title")?;
        let years = column::<Int32Array>(path, &batch, "year")?;
        let genres = column::<StringArray>(path, &batch, "genres")?;
        let popularity = column::<Float64Array>(path, &batch, "popularity")?;
        let tabular = layout.columns[..tabular_dim]
            .iter()
            .map(|name| column::<Float32Array>(path, &batch, name))
            .collect::<Result<Vec<_>, _>>()?;
        let text = column::<FixedSizeListArray>(path, &batch, "text_embedding")?;
        if text.value_length() as usize != layout.text_embedding_dim {
            return Err(other(
                path,
                format!(
                    "text_embedding: the layout expects {} values, the table has {}",
                    layout.text_embedding_dim,
                    text.value_length()
                ),
            ));
        }
        let text_values = text
            .values()
            .as_any()
            .downcast_ref::<Float32Array>()
            .ok_or_else(|| other(path, "text_embedding: expected float32 values"))?;
        let opt = |a: &Int32Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        for i in 0..batch.num_rows() {
            let mut features: Vec<f32> = tabular.iter().map(|c| c.value(i)).collect();
            let start = i * layout.text_embedding_dim;
            features
                .extend_from_slice(&text_values.values()[start..start + layout.text_embedding_dim]);
            out.push(MovieFeatures {
                movie_id: MovieId(ids.value(i) as u32),
                tmdb_id: opt(tmdb, i).map(|v| v as u32),
                title: titles.value(i).to_string(),
                year: opt(years, i),
                genres: genres
                    .value(i)
                    .split('|')
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect(),
                popularity: (!popularity.is_null(i)).then(|| popularity.value(i)),
                features,
            });
        }
    }
    Ok(out)
}
