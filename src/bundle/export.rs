//! Writing the bundle to disk (native only): validate, encode, re-decode, then write to a temporary
//! file in the destination's directory, fsync it and rename it over the destination, so a reader
//! never sees a half-written bundle.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Bundle, BundleError};

/// What can go wrong exporting a bundle.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("refusing to write an invalid bundle: {0}")]
    Invalid(#[from] BundleError),
    #[error("cannot write bundle {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `bundle` to `path` atomically; returns the number of bytes written.
pub fn write_atomic(path: &Path, bundle: &Bundle) -> Result<u64, ExportError> {
    bundle.validate()?;
    let bytes = bundle.to_bytes();
    // Never ship a file the browser would reject.
    Bundle::from_bytes(&bytes)?;
    crate::atomic::write_atomic(path, |f| f.write_all(&bytes)).map_err(|source| {
        ExportError::Io {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(bytes.len() as u64)
}
