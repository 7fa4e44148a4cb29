//! One connection: reads requests (GET and HEAD; heads parsed by httparse) and writes answers,
//! each within the deadlines of [`Timeouts`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use crate::{Site, Timeouts, content_type};

/// The most a request head may take; browsers send a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// What the server needs of a request.
struct Request {
    method: String,
    /// The request target less its query and fragment.
    path: String,
    keep_alive: bool,
}

/// Why no request could be read; each but `Closed` is answered with its status.
enum Failure {
    /// The client closed the connection, or left it idle past the request timeout.
    Closed,
    Status(u16),
}

/// Answers the requests of one connection in turn until the client closes it, asks to close
/// it, or misses a deadline.
pub(crate) fn connection(mut stream: TcpStream, site: &Site, timeouts: Timeouts) {
    // Answers go out as soon as written: the head and the body are separate writes.
    if stream.set_nodelay(true).is_err() || stream.set_write_timeout(Some(timeouts.write)).is_err()
    {
        return;
    }
    // Bytes read past the end of one request's head: the start of the next.
    let mut pending = Vec::new();
    loop {
        match read_request(&mut stream, &mut pending, timeouts) {
            Ok(request) => {
                if answer(&mut stream, site, &request).is_err() || !request.keep_alive {
                    return;
                }
            }
            Err(Failure::Closed) => return,
            Err(Failure::Status(status)) => {
                let _ = write(&mut stream, site, "/", Answer::status(status), false);
                return;
            }
        }
    }
}

/// Reads one request head within the request timeout.
fn read_request(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    timeouts: Timeouts,
) -> Result<Request, Failure> {
    let deadline = Instant::now() + timeouts.request;
    loop {
        if !pending.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut headers);
            match parsed.parse(pending) {
                Ok(httparse::Status::Complete(len)) => {
                    let request = Request::from(&parsed);
                    pending.drain(..len);
                    return Ok(request);
                }
                Ok(httparse::Status::Partial) if pending.len() < MAX_HEAD => {}
                Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                    return Err(Failure::Status(431));
                }
                Err(_) => return Err(Failure::Status(400)),
            }
        }
        // A request begun but unfinished is answered; an idle connection is just closed.
        let timed_out = if pending.is_empty() {
            Failure::Closed
        } else {
            Failure::Status(408)
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out);
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| Failure::Closed)?;
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return Err(Failure::Closed),
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Failure::Closed),
        }
    }
}

impl Request {
    fn from(parsed: &httparse::Request) -> Self {
        let header = |name: &'static str| {
            parsed
                .headers
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
        };
        let closes = header("Connection").any(|v| v.split(',').any(|t| t.trim() == "close"));
        // A body this server does not read would be taken for the next request: answer, then
        // close.
        let has_body = header("Transfer-Encoding").next().is_some()
            || header("Content-Length").any(|v| v.trim() != "0");
        let method = parsed.method.unwrap_or_default().to_string();
        let serves = matches!(method.as_str(), "GET" | "HEAD");
        let target = parsed.path.unwrap_or("/");
        Self {
            path: target.split(['?', '#']).next().unwrap_or("/").to_string(),
            keep_alive: parsed.version == Some(1) && !closes && !has_body && serves,
            method,
        }
    }
}

/// An answer's body.
enum Body {
    /// A file and its length.
    File(File, u64),
    /// A short text/plain message.
    Text(&'static str),
}

/// An answer to write.
struct Answer {
    status: u16,
    content_type: String,
    body: Body,
    /// HEAD: the head a GET would get, without the body.
    head_only: bool,
}

impl Answer {
    /// A status answer with its text body.
    fn status(status: u16) -> Self {
        let text = match status {
            400 => "bad request\n",
            404 => "not found\n",
            405 => "only GET and HEAD\n",
            408 => "request timeout\n",
            431 => "request head too large\n",
            _ => "unreadable\n",
        };
        Self {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            body: Body::Text(text),
            head_only: false,
        }
    }

    /// The answer to a GET or HEAD of `path`.
    fn file(site: &Site, path: &str, head_only: bool) -> Self {
        let Some(file) = site.file(path) else {
            return Self {
                head_only,
                ..Self::status(404)
            };
        };
        match File::open(&file).and_then(|f| Ok((f.metadata()?.len(), f))) {
            Ok((len, opened)) => Self {
                status: 200,
                content_type: content_type(&file),
                body: Body::File(opened, len),
                head_only,
            },
            Err(_) => Self {
                head_only,
                ..Self::status(500)
            },
        }
    }
}

fn answer(stream: &mut TcpStream, site: &Site, request: &Request) -> io::Result<()> {
    let answer = match request.method.as_str() {
        "GET" => Answer::file(site, &request.path, false),
        "HEAD" => Answer::file(site, &request.path, true),
        _ => Answer::status(405),
    };
    write(stream, site, &request.path, answer, request.keep_alive)
}

/// Writes an answer: the status line, the server's headers (Content-Type and Cache-Control,
/// each unless a rule of `_headers` sets it, and the framing), every header `_headers` sets
/// for `path`, and the body.
fn write(
    stream: &mut TcpStream,
    site: &Site,
    path: &str,
    answer: Answer,
    keep_alive: bool,
) -> io::Result<()> {
    let status = answer.status;
    let len = match &answer.body {
        Body::File(_, len) => *len,
        Body::Text(text) => text.len() as u64,
    };
    let rules: Vec<(&str, &str)> = site.headers.for_path(path).collect();
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    let own = [
        ("Content-Type", answer.content_type.as_str()),
        ("Cache-Control", "no-cache"),
    ];
    for (name, value) in own {
        if !rules.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    for (name, value) in &rules {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if status == 405 {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    head.push_str(&format!(
        "Content-Length: {len}\r\nConnection: {connection}\r\n\r\n"
    ));
    stream.write_all(head.as_bytes())?;
    match answer.body {
        _ if answer.head_only => {}
        Body::Text(text) => stream.write_all(text.as_bytes())?,
        Body::File(file, len) => {
            // A file cut short while being sent would leave the client waiting for the rest.
            if io::copy(&mut file.take(len), stream)? < len {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}
