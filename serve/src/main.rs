//! `movie-genie-serve`: serves the built site folder (`dist/`) on loopback, as any static host
//! would — files only, the right MIME type for `.wasm`, nothing outside the folder. A crate of
//! its own, so serving the site never waits for the ML stack to compile.
//!
//! `cargo run -p movie-genie-serve -- [--dir dist] [--port 8080]`

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

/// Serves `root` on `127.0.0.1:port` until the process ends.
fn serve(root: &Path, port: u16) -> Result<(), String> {
    if !root.join("index.html").is_file() {
        return Err(format!(
            "{} has no index.html: build the site first (./build.sh)",
            root.display()
        ));
    }
    let server = Server::http(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    println!(
        "Movie Genie: http://127.0.0.1:{port}/ (serving {}; Ctrl-C stops)",
        root.display()
    );
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

/// `--dir DIR` and `--port PORT`, each optional.
fn options(args: impl Iterator<Item = String>) -> Result<(PathBuf, u16), String> {
    let (mut dir, mut port) = (PathBuf::from("dist"), 8080u16);
    let mut args = args;
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value; expected --dir DIR or --port PORT"))?;
        match flag.as_str() {
            "--dir" => dir = value.into(),
            "--port" => {
                port = value.parse().map_err(|_| {
                    format!("--port expects a number from 1 to 65535, got {value:?}")
                })?
            }
            _ => {
                return Err(format!(
                    "unknown option {flag}; expected --dir DIR or --port PORT"
                ));
            }
        }
    }
    Ok((dir, port))
}

fn main() {
    let result = options(std::env::args().skip(1)).and_then(|(dir, port)| serve(&dir, port));
    if let Err(message) = result {
        eprintln!("movie-genie-serve: {message}");
        std::process::exit(1);
    }
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

    #[test]
    fn options_have_defaults_and_bad_ones_say_what_was_expected() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(options(args(&[])).unwrap(), (PathBuf::from("dist"), 8080));
        assert_eq!(
            options(args(&["--port", "9000", "--dir", "x"])).unwrap(),
            (PathBuf::from("x"), 9000)
        );
        assert!(
            options(args(&["--port", "high"]))
                .unwrap_err()
                .contains("got \"high\"")
        );
        assert!(options(args(&["--verbose"])).is_err());
    }
}
