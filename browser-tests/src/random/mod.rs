//! Seeded random cases over every dimension the simulator models.
//!
//! Random cases are built "coherent, then mutated": each response starts
//! as one that lets the request through (the right origin, the method and
//! headers listed, credentials allowed) and then, with some probability,
//! one detail is broken. Pure random headers would almost always fail at
//! the first check and leave the later checks untested.

mod hop;
mod request;
mod response;

use corsica::browser::{Case, Credentials, HopSpec, RequestSpec, ResponseSpec};

use self::hop::Hop;
use self::request::{normalized, random_headers, random_reads, METHODS};
use self::response::{final_response, preflight_response, redirect_response};
use crate::rng::Rng;
use crate::scenario::Place;
use crate::server::Ports;

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
pub fn random_follow_ups(rng: &mut Rng, first: &RequestSpec) -> Vec<RequestSpec> {
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
pub fn random_case(rng: &mut Rng, place: &Place<'_>, repeat: bool) -> Case {
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
        local_network: Default::default(),
    }
}
