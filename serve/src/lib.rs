//! The static server behind `movie-genie-serve`: serves a built site folder (`dist/`) as any
//! static host would — files only, the right MIME type for `.wasm`, nothing outside the folder
//! (links included), and every answer with the headers of the folder's `_headers` file.
//!
//! Each connection has a thread of its own, and every read and write on it has a deadline
//! ([`Timeouts`]), so a client that stalls holds up nobody but itself. A library so the tests
//! can start it in-process on a port of their own.

mod headers;
mod http;

use std::net::TcpListener;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use headers::{DEFAULTS, HeaderRules};

/// The site folder and the headers its answers carry.
pub struct Site {
    /// Canonical: every file served resolves to a real path under it.
    root: PathBuf,
    headers: HeaderRules,
    has_headers_file: bool,
}

impl Site {
    /// Opens the folder `root` and reads its `_headers`; without one every answer carries
    /// [`DEFAULTS`]. A `_headers` that does not parse is an error, so no answer goes out with
    /// less than the site asked for.
    pub fn open(root: &Path) -> Result<Self, String> {
        let canonical = root
            .canonicalize()
            .map_err(|e| format!("cannot open the site folder {}: {e}", root.display()))?;
        let file = canonical.join("_headers");
        let (headers, has_headers_file) = match std::fs::read_to_string(&file) {
            Ok(text) => (
                HeaderRules::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?,
                true,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (HeaderRules::defaults(), false),
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        Ok(Self {
            root: canonical,
            headers,
            has_headers_file,
        })
    }

    /// Whether the folder has a `_headers` file (otherwise answers carry [`DEFAULTS`]).
    pub fn has_headers_file(&self) -> bool {
        self.has_headers_file
    }

    /// The file a request path names, if it is a file whose real path is in the folder.
    fn file(&self, path: &str) -> Option<PathBuf> {
        resolve(&self.root, path)
    }
}

/// Maps a request path to a file under `root` (a canonical path), refusing anything that climbs
/// out of it: `..` in the path, and links whose target lies outside `root`. The file's real
/// path is returned.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let mut out = root.to_path_buf();
    for part in Path::new(path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    let real = out.canonicalize().ok()?;
    (real.starts_with(root) && real.is_file()).then_some(real)
}

/// The Content-Type for a file name (`application/wasm` for `.wasm`, which browsers require
/// for streaming compilation).
pub fn content_type(path: &Path) -> String {
    match path.extension().and_then(|e| e.to_str()) {
        Some("wasm") => "application/wasm".into(),
        Some("bundle") => "application/octet-stream".into(),
        Some("js" | "mjs") => "text/javascript; charset=utf-8".into(),
        _ => mime_guess::from_path(path)
            .first_or_octet_stream()
            .to_string(),
    }
}

/// How long a connection may take, so a client that stalls is let go.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// From the end of the previous answer (or the connection) to the end of a request's
    /// head: an idle kept-alive connection is closed, an unfinished request answered 408.
    pub request: Duration,
    /// For each write of an answer: a client that stops reading is dropped.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request: Duration::from_secs(10),
            write: Duration::from_secs(10),
        }
    }
}

/// Answers the connections of `listener` with the files of `site`, each in a thread of its
/// own. Never returns.
pub fn serve(listener: TcpListener, site: Site, timeouts: Timeouts) {
    let site = Arc::new(site);
    for connection in listener.incoming() {
        match connection {
            Ok(stream) => {
                let site = Arc::clone(&site);
                let spawned = std::thread::Builder::new()
                    .name("connection".into())
                    .spawn(move || http::connection(stream, &site, timeouts));
                if let Err(e) = spawned {
                    eprintln!("movie-genie-serve: no thread for a connection, dropped: {e}");
                }
            }
            Err(e) => {
                // Such as the process's file descriptors all in use: wait for some to close.
                eprintln!("movie-genie-serve: cannot accept a connection: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_files_and_refuses_to_climb_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("index.html"), "hi").unwrap();
        std::fs::create_dir(root.join("pkg")).unwrap();
        std::fs::write(root.join("pkg/m.wasm"), "w").unwrap();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(&root, "/pkg/m.wasm?v=2"),
            Some(root.join("pkg/m.wasm"))
        );
        assert_eq!(resolve(&root, "/pkg/../index.html"), None);
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/missing.js"), None);
        assert_eq!(content_type(Path::new("a/m.wasm")), "application/wasm");
        assert!(content_type(Path::new("index.html")).starts_with("text/html"));
    }

    #[test]
    fn a_headers_file_that_does_not_parse_stops_the_site_from_opening() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("_headers"), "no path first\n").unwrap();
        let error = Site::open(dir.path())
            .err()
            .expect("a bad _headers is refused");
        assert!(
            error.contains("_headers: line 1: expected a path"),
            "{error}"
        );
        std::fs::remove_file(dir.path().join("_headers")).unwrap();
        assert!(!Site::open(dir.path()).unwrap().has_headers_file());
    }
}
