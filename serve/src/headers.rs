//! The headers each path is answered with, read from the site's `_headers` file: the format
//! static hosts read (Netlify, Cloudflare Pages), so this server and a real host apply one
//! definition. A path line (`/*`, `/pkg/*`, `/index.html`) starts a rule; the indented
//! `Name: value` lines under it are that rule's headers; `#` starts a comment line.

/// What every answer carries where the folder has no `_headers`: no framing, no MIME sniffing,
/// no referrer. (The site's full policy lives in its `_headers`.)
pub const DEFAULTS: &str = "/*
  Content-Security-Policy: frame-ancestors 'none'
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
";

/// Headers that frame the answer itself: the server sets them, a rule may not.
const FRAMING: [&str; 4] = [
    "Connection",
    "Content-Length",
    "Keep-Alive",
    "Transfer-Encoding",
];

/// The rules of one `_headers` file, in file order.
#[derive(Debug, PartialEq)]
pub struct HeaderRules {
    rules: Vec<Rule>,
}

#[derive(Debug, PartialEq)]
struct Rule {
    /// A path, or a path prefix followed by `*`.
    pattern: String,
    headers: Vec<(String, String)>,
}

impl HeaderRules {
    /// Parses a `_headers` file. Errors name the line, what was expected and what was found.
    /// Only exact paths and a trailing `*` are taken: a pattern this server would match
    /// differently from a host (`:placeholder`, a `*` inside, a full URL) is refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rules: Vec<Rule> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let n = index + 1;
            let content = line.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if !line.starts_with([' ', '\t']) {
                rules.push(Rule {
                    pattern: pattern(content).map_err(|e| format!("line {n}: {e}"))?,
                    headers: Vec::new(),
                });
                continue;
            }
            let rule = rules.last_mut().ok_or_else(|| {
                format!("line {n}: expected a path line (such as /*) before the header {content:?}")
            })?;
            rule.headers
                .push(header(content).map_err(|e| format!("line {n}: {e}"))?);
        }
        Ok(Self { rules })
    }

    /// [`DEFAULTS`], parsed.
    pub fn defaults() -> Self {
        Self::parse(DEFAULTS).expect("the default headers should parse")
    }

    /// The headers of every rule whose pattern matches the request path `path` (without its
    /// query), in file order.
    pub fn for_path<'a>(&'a self, path: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.rules
            .iter()
            .filter(move |rule| match rule.pattern.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == rule.pattern,
            })
            .flat_map(|rule| rule.headers.iter())
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

fn pattern(text: &str) -> Result<String, String> {
    let body = text.strip_suffix('*').unwrap_or(text);
    if !text.starts_with('/') || body.contains(['*', ':', ' ', '\t']) {
        return Err(format!(
            "expected a path starting with / and at most a trailing * (such as /* or /pkg/*), got {text:?}"
        ));
    }
    Ok(text.to_string())
}

fn header(text: &str) -> Result<(String, String), String> {
    let expected = || format!("expected an indented `Name: value` header, got {text:?}");
    let (name, value) = text.split_once(':').ok_or_else(expected)?;
    let (name, value) = (name.trim(), value.trim());
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) || value.is_empty() {
        return Err(expected());
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "the value of {name} has a control character: {value:?}"
        ));
    }
    if FRAMING.iter().any(|f| f.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "{name} frames the answer and is set by the server; expected any other header"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(rules: &'a HeaderRules, path: &'a str) -> Vec<(&'a str, &'a str)> {
        rules.for_path(path).collect()
    }

    #[test]
    fn rules_apply_to_their_paths_in_file_order() {
        let rules = HeaderRules::parse(
            "# site\n/*\n  A: 1\n\t B :  two words \n/pkg/*\n  C: 3\n/index.html\n  D: 4\n",
        )
        .unwrap();
        assert_eq!(at(&rules, "/"), [("A", "1"), ("B", "two words")]);
        assert_eq!(
            at(&rules, "/pkg/m.wasm"),
            [("A", "1"), ("B", "two words"), ("C", "3")]
        );
        assert_eq!(
            at(&rules, "/index.html"),
            [("A", "1"), ("B", "two words"), ("D", "4")]
        );
        assert_eq!(
            at(&rules, "/index.html.bak"),
            [("A", "1"), ("B", "two words")]
        );
    }

    #[test]
    fn defaults_forbid_framing_sniffing_and_referrers_everywhere() {
        assert_eq!(
            at(&HeaderRules::defaults(), "/any/path"),
            [
                ("Content-Security-Policy", "frame-ancestors 'none'"),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
            ]
        );
    }

    #[test]
    fn a_malformed_file_is_refused_saying_which_line_and_why() {
        let error = |text: &str| HeaderRules::parse(text).unwrap_err();
        assert_eq!(
            error("  A: 1\n"),
            "line 1: expected a path line (such as /*) before the header \"A: 1\""
        );
        assert!(
            error("/*\n  no colon\n").starts_with("line 2: expected an indented `Name: value`")
        );
        assert!(error("/*\n  : empty name\n").contains("got \": empty name\""));
        assert!(error("/*\n  Empty:\n").contains("got \"Empty:\""));
        assert!(error("/*\n  Content-Length: 3\n").contains("set by the server"));
        for bad in ["pkg/*", "/:lang/*", "/a*/b", "https://example.org/*"] {
            assert!(
                error(&format!("{bad}\n  A: 1\n")).contains(&format!("got {bad:?}")),
                "{bad}"
            );
        }
    }
}
