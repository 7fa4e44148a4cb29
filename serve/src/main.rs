//! `movie-genie-serve`: serves the built site folder (`dist/`) on loopback, as any static host
//! would (the server itself is the library, `src/lib.rs`). A crate of its own, so serving the
//! site never waits for the ML stack to compile.
//!
//! `cargo run -p movie-genie-serve -- [--dir dist] [--port 8080]`

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use movie_genie_serve::{DEFAULTS, Site, Timeouts, serve};

/// Serves `root` on `127.0.0.1:port` until the process ends.
fn run(root: &Path, port: u16) -> Result<(), String> {
    if !root.join("index.html").is_file() {
        return Err(format!(
            "{} has no index.html: build the site first (./build.sh)",
            root.display()
        ));
    }
    let site = Site::open(root)?;
    if !site.has_headers_file() {
        eprintln!(
            "movie-genie-serve: warning: {} has no _headers (www/_headers, copied by build.sh); \
             every answer carries only these defaults, no Content-Security-Policy for scripts:\n{DEFAULTS}",
            root.display()
        );
    }
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    println!(
        "Movie Genie: http://127.0.0.1:{port}/ (serving {}; Ctrl-C stops)",
        root.display()
    );
    serve(listener, site, Timeouts::default());
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
    let result = options(std::env::args().skip(1)).and_then(|(dir, port)| run(&dir, port));
    if let Err(message) = result {
        eprintln!("movie-genie-serve: {message}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
