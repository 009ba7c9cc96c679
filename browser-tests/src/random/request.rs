//! The request side of a random case: the method, the headers a script
//! sets (weighted towards the values that sit on the safelist's edges) and
//! the response headers it reads.

use crate::rng::Rng;

/// Methods as scripts write them, weighted. Lower-case standard methods
/// are normalized by `fetch()`; others keep their case; forbidden and
/// invalid ones make `fetch()` throw.
pub(super) const METHODS: &[(u32, &str)] = &[
    (22, "GET"),
    (14, "POST"),
    (5, "HEAD"),
    (12, "PUT"),
    (7, "DELETE"),
    (6, "PATCH"),
    (4, "patch"),
    (3, "get"),
    (2, "post"),
    (3, "put"),
    (2, "delete"),
    (1, "Head"),
    (2, "OPTIONS"),
    (2, "options"),
    (2, "FOO"),
    (1, "m-search"),
    (1, "PaTcH"),
    (1, "TRACE"),
    (1, "trace"),
    (1, "CONNECT"),
    (1, "Track"),
    (1, "P UT"),
];

/// The method as it goes on the wire: Fetch upper-cases the six standard
/// methods and leaves every other method alone. (Written here, not taken
/// from the engine, so the corpus does not share the simulator's code.)
pub(super) fn normalized(method: &str) -> String {
    for m in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if m.eq_ignore_ascii_case(method) {
            return m.to_owned();
        }
    }
    method.to_owned()
}

pub(super) fn is_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// A header the script sets.
fn random_header(rng: &mut Rng) -> (String, String) {
    let kind = *rng.weighted(&[
        (16, 0u8), // safelisted name, safelisted value
        (11, 1),   // safelisted name, unsafe value
        (9, 2),    // Chromium's extra safelisted names
        (15, 3),   // a custom header
        (4, 4),    // authorization
        (7, 5),    // forbidden (silently dropped)
        (4, 6),    // values around the 128-byte limit
        (2, 7),    // whitespace that fetch() trims
        (1, 8),    // values and names that make fetch() throw
    ]);
    let (name, value): (&str, String) = match kind {
        0 => {
            let (n, v) = *rng.pick(&[
                ("accept", "*/*"),
                ("accept", "application/json"),
                (
                    "accept",
                    "text/html, application/xhtml+xml;q=0.9, */*;q=0.8",
                ),
                ("accept", "caf\u{e9}/*"),
                ("accept", ""),
                ("accept-language", "en-US,en;q=0.9"),
                ("accept-language", "*"),
                ("content-language", "de-DE"),
                ("content-language", "en, mi"),
                ("content-type", "text/plain"),
                ("content-type", "text/plain;charset=UTF-8"),
                ("content-type", "Text/Plain"),
                ("content-type", "application/x-www-form-urlencoded"),
                ("content-type", "multipart/form-data; boundary=xyz"),
                ("content-type", "TEXT/PLAIN ; charset=utf-8"),
                ("content-type", "text/plain;"),
                ("range", "bytes=0-"),
                ("range", "bytes=0-1"),
                ("range", "bytes=10-20"),
                ("range", "bytes=5-5"),
            ]);
            (n, v.to_owned())
        }
        1 => {
            let (n, v) = *rng.pick(&[
                ("accept", "\"quoted\""),
                ("accept", "text/(x)"),
                ("accept", "a:b"),
                ("accept", "<x>"),
                ("accept", "a?b"),
                ("accept", "x@y"),
                ("accept", "[x]"),
                ("accept", "a\\b"),
                ("accept", "{x}"),
                ("accept-language", "en@x"),
                ("accept-language", "en_US"),
                ("accept-language", "caf\u{e9}"),
                ("content-language", "de/DE"),
                ("content-language", "en\tUS"),
                ("content-type", "application/json"),
                ("content-type", "text/html"),
                ("content-type", "text/plain; charset=\"utf-8\""),
                ("content-type", "text/plain, application/json"),
                ("content-type", "text"),
                ("content-type", "text/plain/x"),
                ("content-type", "application/x-www-form-urlencoded@"),
                ("content-type", "multipart/form-data; boundary=a:b"),
                ("content-type", ""),
                ("range", "Bytes=0-1"),
                ("range", "bytes=-5"),
                ("range", "bytes=5-3"),
                ("range", "bytes=0-1,2-3"),
                ("range", "bytes= 0-1"),
                ("range", "bytes=0 -1"),
                ("range", "bytes=a-b"),
                ("range", "items=0-1"),
                ("range", "bytes=-"),
                ("range", ""),
            ]);
            (n, v.to_owned())
        }
        2 => {
            let (n, v) = *rng.pick(&[
                ("dpr", "2"),
                ("dpr", "1.5"),
                ("dpr", "1."),
                ("dpr", ".5"),
                ("dpr", "2x"),
                ("dpr", ""),
                ("device-memory", "8"),
                ("device-memory", "0.25"),
                ("device-memory", "lots"),
                ("width", "1280"),
                ("width", "12.5"),
                ("width", "-1"),
                ("viewport-width", "800"),
                ("viewport-width", "wide"),
                ("rtt", "100"),
                ("rtt", "1e2"),
                ("downlink", "10"),
                ("downlink", "1.5"),
                ("downlink", "fast"),
                ("ect", "4g"),
                ("ect", "3g"),
                ("ect", "slow-2g"),
                ("ect", "5g"),
                ("ect", "4G"),
                ("save-data", "on"),
                ("save-data", "On"),
                ("save-data", "off"),
                ("intervention", "<https://example.org/>; level=\"warning\""),
                ("intervention", "x"),
            ]);
            (n, v.to_owned())
        }
        3 => {
            let n = *rng.pick(&[
                "x-a",
                "x-b",
                "x-c",
                "x-request-id",
                "X-Requested-With",
                "cache-control",
                "if-none-match",
                "pragma",
                "x-z",
                "content-encoding",
                "x-user-agent",
                "if-modified-since",
                "if-match",
                "if-range",
            ]);
            let v = rng.pick(&["1", "yes", "a, b", "caf\u{e9}", ""]);
            (n, (*v).to_owned())
        }
        4 => (
            "authorization",
            (*rng.pick(&["Bearer t0k3n", "Basic dTpw"])).to_owned(),
        ),
        5 => {
            let (n, v) = *rng.pick(&[
                ("cookie", "a=1"),
                ("host", "evil.example"),
                ("origin", "http://evil.example"),
                ("referer", "http://evil.example/"),
                ("sec-fetch-mode", "navigate"),
                ("proxy-authorization", "Basic x"),
                ("user-agent", "corsica/1"),
                ("accept-encoding", "identity"),
                ("connection", "close"),
                ("dnt", "1"),
                ("content-length", "5"),
                ("access-control-request-method", "PUT"),
                ("x-http-method-override", "TRACE"),
                ("x-http-method-override", "PUT"),
                ("x-method-override", "connect"),
                ("x-http-method", "GET, track"),
            ]);
            (n, v.to_owned())
        }
        6 => {
            let n = *rng.pick(&["accept", "accept-language", "content-language", "x-long"]);
            let len = rng.range(126, 130);
            (n, "a".repeat(len))
        }
        7 => {
            let (n, v) = *rng.pick(&[
                ("accept", "  text/plain  "),
                ("content-type", "\ttext/plain\t"),
                ("x-a", " padded "),
                ("range", "bytes=0-1 "),
            ]);
            (n, v.to_owned())
        }
        _ => {
            let (n, v) = *rng.pick(&[
                ("x-a", "line\nbreak"),
                ("x-a", "smile \u{263a}"),
                ("bad name", "1"),
                ("x-a", "nul\u{0}byte"),
            ]);
            (n, v.to_owned())
        }
    };
    (vary_case(rng, name), value)
}

/// Header names are case-insensitive; scripts write them every which way.
pub(super) fn vary_case(rng: &mut Rng, name: &str) -> String {
    match rng.below(10) {
        0 => name.to_ascii_uppercase(),
        1 | 2 => name
            .split('-')
            .map(|part| {
                let mut c = part.chars();
                match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-"),
        _ => name.to_owned(),
    }
}

pub(super) fn random_headers(rng: &mut Rng) -> Vec<(String, String)> {
    let n = *rng.weighted(&[(28, 0usize), (30, 1), (22, 2), (13, 3), (7, 4)]);
    let mut headers: Vec<(String, String)> = (0..n).map(|_| random_header(rng)).collect();
    if !headers.is_empty() && rng.chance(10) {
        // A repeated name: fetch() combines the values into one "a, b".
        let (name, _) = headers[rng.below(headers.len())].clone();
        let value = if rng.chance(50) {
            "a".repeat(rng.range(40, 70))
        } else {
            (*rng.pick(&["text/plain", "en", "1", "x", ""])).to_owned()
        };
        headers.push((vary_case(rng, &name), value));
    }
    headers
}

/// Names scripts read with `response.headers.get()`.
pub(super) const READS: &[&str] = &[
    "x-a",
    "X-A",
    "x-b",
    "x-dup",
    "x-empty",
    "x-latin",
    "x-missing",
    "content-type",
    "content-language",
    "cache-control",
    "expires",
    "pragma",
    "last-modified",
    "set-cookie",
    "access-control-allow-origin",
];

pub(super) fn random_reads(rng: &mut Rng) -> Vec<String> {
    let n = *rng.weighted(&[(30, 0usize), (30, 1), (25, 2), (15, 3)]);
    let mut out: Vec<String> = Vec::new();
    for _ in 0..n {
        let name = (*rng.pick(READS)).to_owned();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_matches_fetch() {
        assert_eq!(normalized("patch"), "patch");
        assert_eq!(normalized("delete"), "DELETE");
        assert_eq!(normalized("Head"), "HEAD");
    }
}
