//! The static server behind `movie-genie-serve`: serves a built site folder (`dist/`) as any
//! static host would — files only, the right MIME type for `.wasm`, nothing outside the folder.
//! A library so the tests can start it in-process on a port of their own.

use std::net::TcpListener;
use std::path::{Component, Path, PathBuf};

use tiny_http::{Header, Response, Server, StatusCode};

/// Maps a request path to a file under `root`, refusing anything that climbs out of it.
pub fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
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
    out.is_file().then_some(out)
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

/// Serves `root` on `listener` until the process ends.
pub fn serve(listener: TcpListener, root: &Path) -> Result<(), String> {
    let server = Server::from_listener(listener, None).map_err(|e| format!("cannot serve: {e}"))?;
    for request in server.incoming_requests() {
        let response = match resolve(root, request.url()) {
            Some(file) => match std::fs::read(&file) {
                Ok(bytes) => {
                    let header = |k: &str, v: &str| {
                        Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("static header")
                    };
                    Response::from_data(bytes)
                        .with_header(header("Content-Type", &content_type(&file)))
                        .with_header(header("Cache-Control", "no-cache"))
                        .with_header(header("X-Content-Type-Options", "nosniff"))
                }
                Err(_) => Response::from_string("unreadable").with_status_code(StatusCode(500)),
            },
            None => Response::from_string("not found").with_status_code(StatusCode(404)),
        };
        let _ = request.respond(response);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_files_and_refuses_to_climb_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "hi").unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/m.wasm"), "w").unwrap();
        assert_eq!(
            resolve(dir.path(), "/"),
            Some(dir.path().join("index.html"))
        );
        assert_eq!(
            resolve(dir.path(), "/pkg/m.wasm?v=2"),
            Some(dir.path().join("pkg/m.wasm"))
        );
        assert_eq!(resolve(dir.path(), "/../etc/passwd"), None);
        assert_eq!(resolve(dir.path(), "/missing.js"), None);
        assert_eq!(content_type(Path::new("a/m.wasm")), "application/wasm");
        assert!(content_type(Path::new("index.html")).starts_with("text/html"));
    }
}
