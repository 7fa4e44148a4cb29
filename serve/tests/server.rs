//! The server over real loopback connections: no client can stall the others, nothing outside
//! the folder is served (links included), and every answer carries the site's security headers,
//! read from the folder's `_headers`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use movie_genie_serve::{Site, Timeouts, serve};

/// How long a test waits for any one answer: far longer than a loopback answer takes, so only a
/// server that never answers reaches it.
const PATIENCE: Duration = Duration::from_secs(10);

/// A file larger than every socket buffer between the server and a client that does not read,
/// so the server cannot finish writing it.
const LARGE: usize = 64 << 20;

/// Starts the server on `root` on a free loopback port, in a thread the test process ends.
fn start(root: &Path) -> SocketAddr {
    start_with(root, Timeouts::default())
}

fn start_with(root: &Path, timeouts: Timeouts) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let addr = listener.local_addr().unwrap();
    let site = Site::open(root).unwrap_or_else(|e| panic!("the test site should open: {e}"));
    std::thread::spawn(move || serve(listener, site, timeouts));
    addr
}

/// The test sites' `index.html`.
const PAGE: &[u8] = b"<p>the page</p>";

/// A site folder with an `index.html` (and whatever the test adds).
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), PAGE).unwrap();
    dir
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    /// The values of every header called `name` (case-insensitive), in order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of header `name`; panics saying what came if there is not exactly one.
    fn header(&self, name: &str) -> &str {
        match self.all(name)[..] {
            [value] => value,
            ref values => panic!(
                "expected one {name} header, got {values:?} (status {}, headers {:?})",
                self.status, self.headers
            ),
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("the server should accept a connection");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Sends `raw` on a new connection and reads the answer until the server closes it.
fn exchange(addr: SocketAddr, raw: &str) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(raw.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    if let Err(e) = stream.read_to_end(&mut bytes) {
        panic!(
            "no complete answer within {PATIENCE:?} to {raw:?} ({e}); got {} bytes: {:?}",
            bytes.len(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        );
    }
    parse(&bytes).unwrap_or_else(|| {
        panic!(
            "expected an HTTP answer to {raw:?}, got {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        )
    })
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

fn parse(bytes: &[u8]) -> Option<Reply> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.to_string(), value.trim().to_string()))
        })
        .collect::<Option<_>>()?;
    Some(Reply {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    })
}

/// A connection that asked for a file too large to fit in the socket buffers and read only the
/// start of the answer: the server is then blocked writing to it.
fn stalled_reader(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut start = [0u8; 12];
    stream
        .read_exact(&mut start)
        .expect("the server should start answering the large file");
    assert_eq!(&start, b"HTTP/1.1 200", "the large file's answer begins");
    stream
}

fn write_large(root: &Path) {
    std::fs::write(root.join("large.bin"), vec![7u8; LARGE]).unwrap();
}

/// Checks that another client gets the page, whole.
fn assert_the_page_is_served(addr: SocketAddr) {
    let reply = get(addr, "/index.html");
    assert_eq!((reply.status, reply.body.as_slice()), (200, PAGE));
}

#[test]
fn a_client_that_stops_reading_does_not_hold_up_another() {
    let dir = site();
    write_large(dir.path());
    let addr = start(dir.path());
    let stalled = stalled_reader(addr);
    assert_the_page_is_served(addr);
    drop(stalled);
}

#[test]
fn a_client_that_sends_half_a_request_does_not_hold_up_another() {
    let dir = site();
    let addr = start(dir.path());
    let mut half = connect(addr);
    half.write_all(b"GET /index.html HTTP/1.1\r\nHost: loc")
        .unwrap();
    assert_the_page_is_served(addr);
    drop(half);
}

#[test]
fn a_request_never_finished_is_cut_off_after_the_request_timeout() {
    let dir = site();
    let timeouts = Timeouts {
        request: Duration::from_millis(200),
        ..Timeouts::default()
    };
    let addr = start_with(dir.path(), timeouts);
    let reply = exchange(addr, "GET /index.html HTTP/1.1\r\nHost: loc");
    assert_eq!(
        reply.status, 408,
        "a request unfinished after the request timeout is answered 408 and closed"
    );
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let dir = site();
    write_large(dir.path());
    let timeouts = Timeouts {
        write: Duration::from_millis(100),
        ..Timeouts::default()
    };
    let addr = start_with(dir.path(), timeouts);
    let mut stalled = stalled_reader(addr);
    // Twenty write timeouts without reading: the server has given up on this client by then.
    std::thread::sleep(Duration::from_secs(2));
    let mut rest = Vec::new();
    // The end of the connection is an EOF or a reset, depending on what the server left unsent.
    let _ = stalled.read_to_end(&mut rest);
    assert!(
        rest.len() < LARGE,
        "expected the server to drop a client that stopped reading, but it sent all {} bytes",
        rest.len()
    );
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_folder_is_not_found_and_one_inside_is_served() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let dir = site();
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/inside.txt"), "inside").unwrap();
    symlink(root.join("sub/inside.txt"), root.join("link-in.txt")).unwrap();
    symlink(root.join("sub"), root.join("dir-in")).unwrap();
    symlink(outside.path().join("secret.txt"), root.join("link-out.txt")).unwrap();
    symlink(outside.path(), root.join("dir-out")).unwrap();
    let addr = start(root);

    for path in ["/link-in.txt", "/dir-in/inside.txt"] {
        let reply = get(addr, path);
        assert_eq!(
            (reply.status, reply.body.as_slice()),
            (200, b"inside".as_slice()),
            "{path} links to a file inside the folder"
        );
    }
    for path in ["/link-out.txt", "/dir-out/secret.txt"] {
        let reply = get(addr, path);
        assert_eq!(
            reply.status,
            404,
            "{path} links out of the folder; got body {:?}",
            String::from_utf8_lossy(&reply.body)
        );
    }
}

#[test]
fn climbing_out_of_the_folder_is_refused() {
    let dir = site();
    let addr = start(dir.path());
    for path in [
        "/../index.html",
        "/sub/../../etc/passwd",
        "/%2e%2e/etc/passwd",
    ] {
        assert_eq!(get(addr, path).status, 404, "{path}");
    }
}

/// Requests of every kind of answer: a file, the folder's index, a missing file, a method the
/// server does not take, and bytes that are not HTTP.
const EVERY_KIND: [(&str, u16); 5] = [
    (
        "GET /index.html HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n",
        200,
    ),
    (
        "GET / HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n",
        200,
    ),
    (
        "GET /missing.js HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n",
        404,
    ),
    (
        "POST /index.html HTTP/1.1\r\nHost: l\r\nContent-Length: 0\r\n\r\n",
        405,
    ),
    ("NOT HTTP AT ALL\r\n\r\n", 400),
];

/// Sends one request of each kind and checks each answer's status, that it forbids MIME
/// sniffing and referrers, and (with `check_csp`) its one Content-Security-Policy.
fn every_answer(root: &Path, check_csp: impl Fn(&str, &str)) {
    let addr = start(root);
    for (raw, status) in EVERY_KIND {
        let reply = exchange(addr, raw);
        assert_eq!(reply.status, status, "the status of the answer to {raw:?}");
        assert_eq!(reply.header("X-Content-Type-Options"), "nosniff", "{raw:?}");
        assert_eq!(reply.header("Referrer-Policy"), "no-referrer", "{raw:?}");
        check_csp(raw, reply.header("Content-Security-Policy"));
    }
}

#[test]
fn every_answer_carries_the_shipped_security_headers() {
    let dir = site();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/_headers");
    std::fs::copy(&shipped, dir.path().join("_headers")).unwrap();
    every_answer(dir.path(), |raw, csp| {
        for directive in [
            "frame-ancestors 'none'",
            "default-src 'self'",
            "worker-src 'self'",
        ] {
            assert!(
                csp.split(';').any(|d| d.trim() == directive),
                "the answer to {raw:?} should have {directive} in its CSP, got {csp:?}"
            );
        }
    });
}

#[test]
fn without_a_headers_file_every_answer_still_forbids_framing_sniffing_and_referrers() {
    let dir = site();
    every_answer(dir.path(), |raw, csp| {
        assert_eq!(csp, "frame-ancestors 'none'", "{raw:?}");
    });
}

#[test]
fn the_folders_headers_file_sets_each_paths_headers() {
    let dir = site();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg/m.wasm"), "wasm").unwrap();
    std::fs::write(
        dir.path().join("_headers"),
        "# test headers\n/*\n  Content-Security-Policy: default-src 'none'\n  X-Everywhere: yes\n\n/pkg/*\n  X-Pkg: module\n",
    )
    .unwrap();
    let addr = start(dir.path());

    let page = get(addr, "/index.html");
    assert_eq!(page.header("Content-Security-Policy"), "default-src 'none'");
    assert_eq!(page.header("X-Everywhere"), "yes");
    assert_eq!(page.all("X-Pkg"), Vec::<&str>::new(), "/pkg/* only");
    assert_eq!(
        page.all("Referrer-Policy"),
        Vec::<&str>::new(),
        "the file's headers replace the defaults"
    );

    let module = get(addr, "/pkg/m.wasm");
    assert_eq!(module.status, 200);
    assert_eq!(module.header("Content-Type"), "application/wasm");
    assert_eq!(module.header("X-Everywhere"), "yes");
    assert_eq!(module.header("X-Pkg"), "module");

    let missing = get(addr, "/pkg/missing.wasm");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("X-Pkg"), "module");
}

#[test]
fn a_kept_alive_connection_answers_requests_in_turn_and_head_has_no_body() {
    let dir = site();
    let addr = start(dir.path());
    let mut stream = connect(addr);
    stream
        .write_all(
            b"GET /index.html HTTP/1.1\r\nHost: l\r\n\r\nHEAD /index.html HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let answers: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(
        answers.len(),
        2,
        "two answers on one connection, got {text:?}"
    );
    assert!(answers[0].starts_with("200") && answers[0].ends_with("<p>the page</p>"));
    assert!(answers[1].starts_with("200") && answers[1].ends_with("\r\n\r\n"));
    assert!(answers[1].contains("Content-Length: 15"), "{text:?}");
}
