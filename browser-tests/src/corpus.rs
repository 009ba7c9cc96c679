//! The corpus: seeded random cases over every dimension the simulator
//! models, plus hand-written edge cases, as `corsica::browser::Case`s whose
//! URLs point at the harness's three ports.
//!
//! Random cases are built "coherent, then mutated": each response starts
//! as one that lets the request through (the right origin, the method and
//! headers listed, credentials allowed) and then, with some probability,
//! one detail is broken. Pure random headers would almost always fail at
//! the first check and leave the later checks untested.

use corsica::browser::{Case, Credentials, HopSpec, RequestSpec, ResponseSpec};

use crate::rng::Rng;
use crate::scenario::{Place, Scenario};
use crate::server::Ports;

/// The whole corpus for one run.
pub fn corpus(seed: u64, count: usize, ports: Ports, run: &str) -> Vec<Scenario> {
    let mut rng = Rng::new(seed);
    let mut out: Vec<Scenario> = (0..count)
        .map(|index| {
            let place = Place { ports, run, index };
            // Each case gets its own stream, so a case can be regenerated
            // from (seed, index) alone.
            let mut case_rng = Rng::new(rng.next_u64());
            let repeat = case_rng.chance(7);
            let case = random_case(&mut case_rng, &place, repeat);
            let follow_ups = if repeat {
                random_follow_ups(&mut case_rng, &case.request)
            } else {
                Vec::new()
            };
            Scenario { case, follow_ups }
        })
        .collect();
    for (index, build) in (count..).zip(crate::edge::EDGE_CASES) {
        let place = Place { ports, run, index };
        out.push(build(&place));
    }
    out
}

// ---------------------------------------------------------------------
// Requests.

/// Methods as scripts write them, weighted. Lower-case standard methods
/// are normalized by `fetch()`; others keep their case; forbidden and
/// invalid ones make `fetch()` throw.
const METHODS: &[(u32, &str)] = &[
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
fn normalized(method: &str) -> String {
    for m in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if m.eq_ignore_ascii_case(method) {
            return m.to_owned();
        }
    }
    method.to_owned()
}

fn is_safelisted_method(method: &str) -> bool {
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
fn vary_case(rng: &mut Rng, name: &str) -> String {
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

fn random_headers(rng: &mut Rng) -> Vec<(String, String)> {
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
const READS: &[&str] = &[
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

fn random_reads(rng: &mut Rng) -> Vec<String> {
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

// ---------------------------------------------------------------------
// What the generator knows about the request at each hop, to script
// coherent responses.

#[derive(Debug, Clone)]
struct Hop {
    page: u16,
    port: u16,
    method: String,
    header_names: Vec<String>,
    credentials: Credentials,
    tainted: bool,
}

impl Hop {
    fn origin(&self) -> String {
        if self.tainted {
            "null".to_owned()
        } else {
            Ports::origin(self.page)
        }
    }

    fn include(&self) -> bool {
        self.credentials == Credentials::Include
    }
}

fn h(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// `Access-Control-Allow-Origin` lines: usually right, sometimes broken in
/// one of the ways servers break it.
fn allow_origin(rng: &mut Rng, hop: &Hop, ports: Ports) -> Vec<(String, String)> {
    const N: &str = "access-control-allow-origin";
    let expected = hop.origin();
    let right = if hop.include() {
        rng.chance(75)
    } else {
        rng.chance(72)
    };
    if right {
        let wildcard = !hop.include() && rng.chance(40);
        return vec![h(N, if wildcard { "*".to_owned() } else { expected })];
    }
    let page = Ports::origin(ports.page);
    match rng.below(22) {
        0..=2 => vec![],
        3 => vec![h(N, "*")],
        4 => vec![h(N, format!("{expected}/"))],
        5 => vec![h(N, expected.replacen("http://", "HTTP://", 1))],
        6 => vec![h(N, Ports::origin(ports.other))],
        7 => vec![h(N, if hop.tainted { page } else { "null".into() })],
        8 => vec![h(N, "foo")],
        9 => vec![h(N, "")],
        10 => vec![h(N, format!("  {expected}  "))],
        11 => vec![h(N, expected.clone()), h(N, expected)],
        12 => vec![h(N, format!("{expected}, {expected}"))],
        13 => vec![h(N, "*"), h(N, "*")],
        14 => vec![h(N, "http://caf\u{e9}.example")],
        15 => vec![h(N, format!("{expected}/path"))],
        16 => vec![h(N, expected.replacen("http://", "https://", 1))],
        17 => vec![h(N, "http://127.0.0.1")],
        18 => vec![h(N, format!("*, {expected}"))],
        19 => vec![h(N, format!("{expected}\t"))],
        20 => vec![h(N, " * ")],
        _ => vec![h(N, format!("http://localhost:{}", ports.page))],
    }
}

/// `Access-Control-Allow-Credentials`, when the request includes
/// credentials (and now and then when it does not, where it is ignored).
fn allow_credentials(rng: &mut Rng, hop: &Hop) -> Vec<(String, String)> {
    const N: &str = "access-control-allow-credentials";
    if !hop.include() {
        return if rng.chance(15) {
            vec![h(N, *rng.pick(&["true", "false"]))]
        } else {
            vec![]
        };
    }
    if rng.chance(80) {
        return vec![h(N, "true")];
    }
    match rng.below(9) {
        0 | 1 => vec![],
        2 => vec![h(N, "True")],
        3 => vec![h(N, "TRUE")],
        4 => vec![h(N, "false")],
        5 => vec![h(N, " true ")],
        6 => vec![h(N, "true"), h(N, "true")],
        7 => vec![h(N, "1")],
        _ => vec![h(N, "")],
    }
}

fn flip_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// `Access-Control-Allow-Methods`.
fn allow_methods(rng: &mut Rng, hop: &Hop) -> Vec<(String, String)> {
    const N: &str = "access-control-allow-methods";
    let m = hop.method.clone();
    let needed = !is_safelisted_method(&m);
    if needed && rng.chance(75) {
        return match rng.below(5) {
            0 => vec![h(N, m)],
            1 => vec![h(N, format!("GET, {m}, DELETE"))],
            2 => vec![h(N, format!("{m},OPTIONS"))],
            3 => vec![h(N, format!(" {m} "))],
            _ => vec![h(N, "GET"), h(N, m)],
        };
    }
    if !needed && rng.chance(50) {
        return vec![];
    }
    match rng.below(12) {
        0 | 1 => vec![],
        2 => vec![h(N, flip_case(&m))],
        3 => vec![h(N, "*")],
        4 => vec![h(N, "*, GET")],
        5 => vec![h(N, "GET, POST")],
        6 => vec![h(N, format!("{m}, (bad)"))],
        7 => vec![h(N, format!(",,{m},,"))],
        8 => vec![h(N, format!("{m};"))],
        9 => vec![h(N, "P UT")],
        10 => vec![h(N, "")],
        _ => vec![h(N, m.to_ascii_uppercase())],
    }
}

/// `Access-Control-Allow-Headers`.
fn allow_headers(rng: &mut Rng, hop: &Hop) -> Vec<(String, String)> {
    const N: &str = "access-control-allow-headers";
    let mut names = hop.header_names.clone();
    names.dedup();
    if names.is_empty() && rng.chance(60) {
        return vec![];
    }
    if rng.chance(70) {
        let listed: Vec<String> = names
            .iter()
            .map(|n| {
                if rng.chance(20) {
                    n.to_ascii_uppercase()
                } else {
                    n.clone()
                }
            })
            .collect();
        let sep = if rng.chance(50) { ", " } else { "," };
        return if listed.is_empty() {
            vec![h(N, *rng.pick(&["x-unused", "", "*"]))]
        } else {
            vec![h(N, listed.join(sep))]
        };
    }
    match rng.below(9) {
        0 => vec![],
        1 | 2 => {
            // One name missing (the case reports which one).
            let mut rest = names.clone();
            if !rest.is_empty() {
                rest.remove(rng.below(rest.len()));
            }
            vec![h(N, rest.join(", "))]
        }
        3 => vec![h(N, "*")],
        4 => vec![h(N, format!("{}, b@d", names.join(", ")))],
        5 => vec![h(N, format!("*, {}", names.join(",")))],
        6 => names.iter().map(|n| h(N, n.clone())).collect(),
        7 => vec![h(N, format!(",{},", names.join(",,")))],
        _ => vec![h(N, "x-other")],
    }
}

/// The preflight's answer for one hop.
fn preflight_response(rng: &mut Rng, hop: &Hop, place: &Place<'_>, n: usize) -> ResponseSpec {
    let status = *rng.weighted(&[
        (55, 204u16),
        (25, 200),
        (2, 201),
        (2, 206),
        (1, 299),
        (2, 302),
        (1, 307),
        (1, 300),
        (3, 404),
        (2, 405),
        (2, 500),
        (1, 403),
    ]);
    let mut headers = Vec::new();
    if matches!(status, 302 | 307) && rng.chance(80) {
        headers.push(h("location", place.path(n + 1)));
    }
    headers.extend(allow_origin(rng, hop, place.ports));
    headers.extend(allow_credentials(rng, hop));
    headers.extend(allow_methods(rng, hop));
    headers.extend(allow_headers(rng, hop));
    if rng.chance(10) {
        headers.push(h(
            "access-control-max-age",
            *rng.pick(&["0", "5", "600", "-1", "abc", "7200"]),
        ));
    }
    if rng.chance(8) {
        headers.push(h("vary", "Origin"));
    }
    ResponseSpec { status, headers }
}

/// Response headers a script may read.
fn body_headers(rng: &mut Rng) -> Vec<(String, String)> {
    const POOL: &[(&str, &str)] = &[
        ("x-a", "1"),
        ("x-b", "two words"),
        ("x-empty", ""),
        ("x-latin", "caf\u{e9}"),
        ("content-type", "text/plain; charset=utf-8"),
        ("content-language", "en"),
        ("cache-control", "no-cache"),
        ("expires", "0"),
        ("pragma", "no-cache"),
        ("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ("set-cookie", "s=1; Path=/"),
    ];
    let mut out = Vec::new();
    for (n, v) in POOL {
        if rng.chance(35) {
            out.push(h(n, *v));
        }
    }
    if rng.chance(20) {
        out.push(h("x-dup", "1"));
        out.push(h("x-dup", "2"));
    }
    out
}

/// `Access-Control-Expose-Headers`.
fn expose_headers(rng: &mut Rng) -> Vec<(String, String)> {
    const N: &str = "access-control-expose-headers";
    match rng.below(20) {
        0..=6 => vec![],
        7..=9 => {
            let k = rng.range(1, 3);
            let names: Vec<String> = (0..k)
                .map(|_| {
                    let name = *rng.pick(READS);
                    vary_case(rng, name)
                })
                .collect();
            vec![h(N, names.join(if rng.chance(50) { ", " } else { "," }))]
        }
        10 | 11 => vec![h(N, "*")],
        12 => vec![h(N, "*, x-a")],
        13 => vec![h(N, "x-a, (bad)")],
        14 => vec![h(N, "x-a,,x-b")],
        15 => vec![h(N, "set-cookie, x-a, x-dup")],
        16 => vec![h(N, "")],
        17 => vec![h(N, "x-a x-b")],
        18 => vec![h(N, "x-a"), h(N, "x-latin, x-empty")],
        _ => vec![h(
            N,
            "X-A, X-DUP, X-EMPTY, X-LATIN, ACCESS-CONTROL-ALLOW-ORIGIN",
        )],
    }
}

/// The final response of a chain.
fn final_response(rng: &mut Rng, hop: &Hop, place: &Place<'_>, repeat: bool) -> ResponseSpec {
    let mut status = *rng.weighted(&[
        (60, 200u16),
        (5, 201),
        (6, 204),
        (2, 206),
        (4, 400),
        (5, 404),
        (3, 500),
        (1, 503),
        (1, 302), // a 3xx without Location is not a redirect
        (1, 300), // nor is a 300, even with one
    ]);
    if repeat && status == 300 {
        status = 200;
    }
    let mut headers = Vec::new();
    if status == 300 || (status == 200 && rng.chance(2)) {
        headers.push(h("location", place.path(99)));
    }
    headers.extend(allow_origin(rng, hop, place.ports));
    headers.extend(allow_credentials(rng, hop));
    let mut body = body_headers(rng);
    if repeat {
        body.retain(|(n, _)| n != "last-modified" && n != "expires");
    }
    headers.extend(body);
    headers.extend(expose_headers(rng));
    ResponseSpec { status, headers }
}

/// A redirect response to `location`.
fn redirect_response(
    rng: &mut Rng,
    hop: &Hop,
    place: &Place<'_>,
    status: u16,
    location: String,
) -> ResponseSpec {
    let mut headers = vec![h("location", location)];
    headers.extend(allow_origin(rng, hop, place.ports));
    headers.extend(allow_credentials(rng, hop));
    if rng.chance(15) {
        headers.extend(body_headers(rng));
    }
    ResponseSpec { status, headers }
}

/// Names whose values a 303 (or a 301/302 of a POST) drops with the body.
const BODY_HEADERS: [&str; 4] = [
    "content-encoding",
    "content-language",
    "content-location",
    "content-type",
];

/// Later fetches of the same URL, to exercise the preflight cache: the
/// same request again, or one that differs in credentials, method or
/// headers (which the cached result may or may not cover).
fn random_follow_ups(rng: &mut Rng, first: &RequestSpec) -> Vec<RequestSpec> {
    let n = *rng.weighted(&[(75, 1usize), (25, 2)]);
    (0..n)
        .map(|_| {
            let mut r = first.clone();
            match rng.below(6) {
                0 | 1 => {}
                2 => {
                    r.credentials = *rng.pick(&[
                        Credentials::Omit,
                        Credentials::SameOrigin,
                        Credentials::Include,
                    ])
                }
                3 => {
                    r.method =
                        (*rng.pick(&["GET", "PUT", "DELETE", "PATCH", "patch", "POST"])).to_owned()
                }
                4 => r.headers = random_headers(rng),
                _ => {
                    if !r.headers.is_empty() {
                        r.headers.remove(rng.below(r.headers.len()));
                    }
                }
            }
            r
        })
        .collect()
}

/// A random case. `repeat` says the page will fetch its URL again: then no
/// response may be one Chromium's HTTP cache would reuse (a 300, 301 or
/// 308, or one with `Last-Modified`), since the simulator models the
/// preflight cache, not the HTTP cache.
fn random_case(rng: &mut Rng, place: &Place<'_>, repeat: bool) -> Case {
    let ports = place.ports;
    let start = *rng.weighted(&[(86, ports.api), (9, ports.page), (5, ports.other)]);
    let method = (*rng.weighted(METHODS)).to_owned();
    let headers = random_headers(rng);
    let credentials = *rng.weighted(&[
        (30, Credentials::Omit),
        (35, Credentials::SameOrigin),
        (35, Credentials::Include),
    ]);
    let mut url = place.url(start, 0);
    if rng.chance(8) {
        // A query string travels into the console message and the
        // preflight cache key.
        const QUERIES: [&str; 3] = ["?q=1", "?a=b&c=d", "?"];
        let query = *rng.pick(&QUERIES);
        url.push_str(query);
    }
    let request = RequestSpec {
        url,
        method: method.clone(),
        headers: headers.clone(),
        credentials,
        read_headers: random_reads(rng),
        force_preflight: false,
    };
    let mut hop = Hop {
        page: ports.page,
        port: start,
        method: normalized(&method),
        header_names: {
            let mut names: Vec<String> = headers
                .iter()
                .map(|(n, _)| n.to_ascii_lowercase())
                .collect();
            names.sort();
            names.dedup();
            names
        },
        credentials,
        tainted: false,
    };
    let redirects = if rng.chance(20) {
        *rng.weighted(&[(70, 1usize), (22, 2), (8, 3)])
    } else {
        0
    };
    let mut hops: Vec<(ResponseSpec, ResponseSpec)> = Vec::new();
    for n in 0..=redirects {
        let preflight = preflight_response(rng, &hop, place, n);
        if n == redirects {
            hops.push((preflight, final_response(rng, &hop, place, repeat)));
            break;
        }
        let status = if repeat {
            *rng.pick(&[302u16, 303, 307])
        } else {
            *rng.pick(&[301u16, 302, 303, 307, 308])
        };
        let next = *rng.weighted(&[(45, ports.api), (25, ports.page), (30, ports.other)]);
        let location = match rng.below(16) {
            0 => format!("http://user:pass@127.0.0.1:{next}{}", place.path(n + 1)),
            // No redirect at all (an empty Location), or one to a scheme
            // fetch() cannot follow.
            3 => (*rng.pick(&["", "data:,x", "ftp://127.0.0.1/x", "foo:bar", "about:blank"]))
                .to_owned(),
            // A path-absolute reference, and a bare relative one that
            // resolves to the sibling path `/c/<run>/<case>/<n + 1>`.
            1 if next == hop.port => place.path(n + 1),
            2 if next == hop.port => (n + 1).to_string(),
            _ => place.url(next, n + 1),
        };
        hops.push((
            preflight,
            redirect_response(rng, &hop, place, status, location),
        ));
        // What the browser does to the request on the way to the next hop.
        if (status == 303 && !matches!(hop.method.as_str(), "GET" | "HEAD"))
            || (matches!(status, 301 | 302) && hop.method == "POST")
        {
            hop.method = "GET".to_owned();
            hop.header_names
                .retain(|n| !BODY_HEADERS.contains(&n.as_str()));
        }
        if next != hop.port {
            hop.header_names.retain(|n| n != "authorization");
            if hop.port != ports.page {
                hop.tainted = true;
            }
        }
        hop.port = next;
    }
    let mut hops = hops.into_iter();
    let (preflight, response) = hops.next().unwrap_or_else(|| {
        // `hops` always has at least one entry; keep the type total anyway.
        (
            ResponseSpec {
                status: 204,
                headers: vec![],
            },
            ResponseSpec {
                status: 200,
                headers: vec![],
            },
        )
    });
    Case {
        id: format!("gen-{:04}", place.index),
        origin: Ports::origin(ports.page),
        request,
        preflight_response: Some(preflight),
        response: Some(response),
        redirects: hops
            .map(|(p, r)| HopSpec {
                preflight_response: Some(p),
                response: r,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> Ports {
        Ports {
            page: 1001,
            api: 1002,
            other: 1003,
        }
    }

    #[test]
    fn the_corpus_is_a_function_of_the_seed() {
        let a = corpus(5, 50, ports(), "r");
        let b = corpus(5, 50, ports(), "r");
        let c = corpus(6, 50, ports(), "r");
        let json = |s: &[Scenario]| {
            serde_json::to_string(&s.iter().map(|x| &x.case).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c));
    }

    #[test]
    fn every_case_simulates_and_has_a_unique_url() {
        let all = corpus(1, 400, ports(), "r");
        let mut urls = std::collections::HashSet::new();
        for s in &all {
            let path = s
                .case
                .request
                .url
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            assert!(urls.insert(path), "{}", s.case.id);
            corsica::browser::simulate(&s.case, corsica::browser::Profile::Chromium)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn normalization_matches_fetch() {
        assert_eq!(normalized("patch"), "patch");
        assert_eq!(normalized("delete"), "DELETE");
        assert_eq!(normalized("Head"), "HEAD");
    }
}
