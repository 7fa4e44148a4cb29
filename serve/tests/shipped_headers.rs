//! The site's headers (`www/_headers`) and the page's `<meta>` policy, which repeats it for hosts
//! that send no headers, say the same.

use std::path::Path;

use movie_genie_serve::HeaderRules;

fn www(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../www")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The one value of `name` that `_headers` gives `path`.
fn shipped(rules: &HeaderRules, path: &str, name: &str) -> String {
    let values: Vec<&str> = rules
        .for_path(path)
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect();
    match values[..] {
        [value] => value.to_string(),
        _ => panic!("www/_headers should give {path} one {name}, got {values:?}"),
    }
}

/// The `content` of index.html's `<meta>` tag whose `attribute` is `value`.
fn meta(page: &str, attribute: &str, value: &str) -> String {
    let tag = format!("<meta {attribute}=\"{value}\" content=\"");
    let start = page
        .find(&tag)
        .unwrap_or_else(|| panic!("www/index.html should have {tag}…\">"))
        + tag.len();
    let len = page[start..].find('"').expect("the content attribute ends");
    page[start..start + len].to_string()
}

fn directives(policy: &str) -> Vec<String> {
    policy
        .split(';')
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|d| !d.is_empty())
        .collect()
}

#[test]
fn every_path_gets_the_policy_nosniff_and_no_referrer() {
    let rules =
        HeaderRules::parse(&www("_headers")).unwrap_or_else(|e| panic!("www/_headers: {e}"));
    for path in [
        "/",
        "/index.html",
        "/worker.js",
        "/sw.js",
        "/pkg/cpu/movie_genie_bg.wasm",
    ] {
        let csp = directives(&shipped(&rules, path, "Content-Security-Policy"));
        for needed in [
            "frame-ancestors 'none'",
            "worker-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "connect-src 'self'",
        ] {
            assert!(
                csp.iter().any(|d| d == needed),
                "{path}: expected {needed} in {csp:?}"
            );
        }
        assert_eq!(
            shipped(&rules, path, "X-Content-Type-Options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            shipped(&rules, path, "Referrer-Policy"),
            "no-referrer",
            "{path}"
        );
    }
}

#[test]
fn the_pages_meta_policy_is_the_header_policy_less_frame_ancestors() {
    let rules =
        HeaderRules::parse(&www("_headers")).unwrap_or_else(|e| panic!("www/_headers: {e}"));
    let page = www("index.html");
    let header: Vec<String> = directives(&shipped(&rules, "/", "Content-Security-Policy"))
        .into_iter()
        .filter(|d| !d.starts_with("frame-ancestors"))
        .collect();
    assert_eq!(
        directives(&meta(&page, "http-equiv", "Content-Security-Policy")),
        header,
        "www/index.html's <meta> CSP against www/_headers' policy (less frame-ancestors, which a \
         meta tag cannot set)"
    );
    assert_eq!(
        meta(&page, "name", "referrer"),
        shipped(&rules, "/", "Referrer-Policy"),
        "www/index.html's <meta name=\"referrer\"> against www/_headers' Referrer-Policy"
    );
}
