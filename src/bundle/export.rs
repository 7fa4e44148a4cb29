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
    let io = |source| ExportError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".bundle-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    // Make the rename itself durable; directories cannot be fsynced on every platform.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(bytes.len() as u64)
}
