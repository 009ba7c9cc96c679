//! The response side of a random case: preflight answers, redirects and
//! final responses, each coherent with the request at its hop and then,
//! now and then, broken in one of the ways servers break them.

use corsica::browser::ResponseSpec;

use super::hop::Hop;
use super::request::{is_safelisted_method, vary_case, READS};
use crate::rng::Rng;
use crate::scenario::Place;
use crate::server::Ports;

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
pub(super) fn preflight_response(
    rng: &mut Rng,
    hop: &Hop,
    place: &Place<'_>,
    n: usize,
) -> ResponseSpec {
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
pub(super) fn final_response(
    rng: &mut Rng,
    hop: &Hop,
    place: &Place<'_>,
    repeat: bool,
) -> ResponseSpec {
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
pub(super) fn redirect_response(
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
