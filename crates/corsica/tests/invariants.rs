//! Property tests over random policies and hostile requests:
//! - the engine never emits `Access-Control-Allow-Origin` for an origin the
//!   policy does not allow (checked against an independent reference matcher);
//! - it never emits `*` together with `Access-Control-Allow-Credentials`;
//! - it always sends `Vary: Origin` when its answer depends on the origin;
//! - a refused preflight carries no CORS header.

use corsica::{Decision, Policy};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Method;
use proptest::prelude::*;

const LABELS: [&str; 6] = ["app", "api", "example", "evil", "tenant", "a-b"];
const TLDS: [&str; 3] = ["com", "net", "example"];

fn host() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(&LABELS[..]), 1..3),
        prop::sample::select(&TLDS[..]),
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

fn scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["https", "http"][..])
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop::option::weighted(0.3, prop::sample::select(&[3000u16, 8443, 8080][..]))
}

fn with_port(base: String, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{base}:{p}"),
        None => base,
    }
}

/// A valid origin entry.
fn entry() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (scheme(), host(), port()).prop_map(|(s, h, p)| with_port(format!("{s}://{h}"), p)),
        2 => (scheme(), host(), port()).prop_map(|(s, h, p)| with_port(format!("{s}://*.{h}"), p)),
        1 => (scheme(), prop::sample::select(&["localhost", "127.0.0.1", "api.example.com"][..]))
            .prop_map(|(s, h)| format!("{s}://{h}:*")),
        1 => Just("*".to_owned()),
        1 => Just("null".to_owned()),
    ]
}

fn policy() -> impl Strategy<Value = (Vec<String>, bool, Policy)> {
    (
        prop::collection::vec(entry(), 1..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter_map("invalid policy", |(mut origins, credentials, expose)| {
            origins.sort();
            origins.dedup();
            if origins.len() > 1 {
                origins.retain(|o| o != "*");
            }
            let mut b = Policy::builder()
                .origins(&origins)
                .methods(["PUT", "patch"])
                .request_headers(["content-type", "x-token"])
                .credentials(credentials)
                .dangerously_allow_null_origin()
                .dangerously_allow_insecure_origins();
            if expose {
                b = b.expose_headers(["x-id"]);
            }
            b.build().ok().map(|p| (origins, credentials, p))
        })
}

/// Origins a request might carry: some allowed, most hostile.
fn request_origin(allowed: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let concrete: Vec<String> = allowed
        .iter()
        .map(|e| e.replace("*.", "x.").replace(":*", ":1234"))
        .collect();
    let pick = prop::sample::select(if concrete.is_empty() {
        vec!["https://app.com".to_owned()]
    } else {
        concrete
    });
    prop_oneof![
        3 => pick.clone().prop_map(String::into_bytes),
        1 => pick.clone().prop_map(|o| format!("{o}.evil.com").into_bytes()),
        1 => pick.clone().prop_map(|o| format!("{o}/").into_bytes()),
        1 => pick.clone().prop_map(|o| o.replacen("://", "://evil", 1).into_bytes()),
        1 => pick.clone().prop_map(|o| o.to_ascii_uppercase().into_bytes()),
        1 => pick.clone().prop_map(|o| o.replacen("https", "http", 1).into_bytes()),
        1 => pick.prop_map(|o| o.replacen('.', "_", 1).into_bytes()),
        1 => (scheme(), host(), port()).prop_map(|(s, h, p)| with_port(format!("{s}://{h}"), p).into_bytes()),
        1 => Just(b"null".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

/// An independent reading of the origin grammar, written for clarity.
fn reference_allows(entries: &[String], origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    entries.iter().any(|entry| {
        if entry == "*" || entry == origin {
            return true;
        }
        if entry == "null" {
            return false; // exact match handled above
        }
        let Some((scheme, rest)) = entry.split_once("://") else {
            return false;
        };
        let Some(orest) = origin
            .strip_prefix(scheme)
            .and_then(|r| r.strip_prefix("://"))
        else {
            return false;
        };
        if let Some(host) = rest.strip_suffix(":*") {
            let Some(tail) = orest.strip_prefix(host) else {
                return false;
            };
            return tail.is_empty()
                || tail.strip_prefix(':').is_some_and(|p| {
                    !p.starts_with('0')
                        && p.len() <= 5
                        && p.bytes().all(|b| b.is_ascii_digit())
                        && p.parse::<u16>()
                            .is_ok_and(|p| p != if scheme == "https" { 443 } else { 80 })
                });
        }
        if let Some(pattern) = rest.strip_prefix("*.") {
            let (base, port) = match pattern.split_once(':') {
                Some((b, p)) => (b, Some(p)),
                None => (pattern, None),
            };
            let (ohost, oport) = match orest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (orest, None),
            };
            let Some(sub) = ohost.strip_suffix(base).and_then(|s| s.strip_suffix('.')) else {
                return false;
            };
            return port == oport
                && !sub.is_empty()
                && sub.split('.').all(|l| {
                    !l.is_empty()
                        && l.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                        })
                });
        }
        false
    })
}

fn headers(origin: &[u8], extra: &[(&'static str, &'static str)]) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    h.insert(header::ORIGIN, HeaderValue::from_bytes(origin).ok()?);
    for (n, v) in extra {
        h.insert(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    Some(h)
}

fn vary_has_origin(h: &HeaderMap) -> bool {
    h.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("origin"))
    })
}

fn check_response(
    entries: &[String],
    credentials: bool,
    policy: &Policy,
    origin: &[u8],
    out: &HeaderMap,
) -> Result<(), TestCaseError> {
    let acao: Vec<_> = out
        .get_all(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .iter()
        .collect();
    prop_assert!(acao.len() <= 1, "never two ACAO");
    if let Some(acao) = acao.first() {
        if acao.as_bytes() == b"*" {
            prop_assert!(entries.iter().any(|e| e == "*") && !credentials);
        } else {
            prop_assert_eq!(acao.as_bytes(), origin, "ACAO echoes the origin exactly");
            prop_assert!(
                reference_allows(entries, origin),
                "ACAO for an origin the policy does not allow: {:?}",
                String::from_utf8_lossy(origin)
            );
        }
        prop_assert!(
            !(acao.as_bytes() == b"*"
                && out.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS))
        );
    } else {
        prop_assert!(!out.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
    }
    if policy.varies_on_origin() {
        prop_assert!(vary_has_origin(out), "missing Vary: Origin");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn actual_requests_obey_the_invariants(
        ((entries, credentials, policy), origins) in policy().prop_flat_map(|p| {
            let origins = prop::collection::vec(request_origin(p.0.clone()), 8);
            (Just(p), origins)
        })
    ) {
        for origin in origins {
            let Some(req) = headers(&origin, &[]) else { continue };
            let Decision::Forward(f) = policy.decide(&Method::GET, &req) else { panic!("GET is never a preflight") };
            prop_assert_eq!(f.is_allowed(), reference_allows(&entries, &origin) || entries.iter().any(|e| e == "*"));
            let mut out = HeaderMap::new();
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            f.apply(&mut out);
            check_response(&entries, credentials, &policy, &origin, &out)?;
        }
        // A non-CORS request on an origin-dependent policy still varies.
        let no_origin = HeaderMap::new();
        let Decision::Forward(f) = policy.decide(&Method::GET, &no_origin) else { panic!() };
        let mut out = HeaderMap::new();
        f.apply(&mut out);
        prop_assert_eq!(policy.varies_on_origin(), vary_has_origin(&out));
    }

    #[test]
    fn preflights_obey_the_invariants(
        (entries, credentials, policy) in policy(),
        origin_pick in any::<prop::sample::Index>(),
        method in prop::sample::select(&["GET", "PUT", "patch", "PATCH", "DELETE", "TRACE", "P UT"][..]),
        acrh in prop::sample::select(&["", "content-type", "content-type,x-token", "x-evil", "authorization", ",,,", "content-type , x-token"][..]),
    ) {
        let concrete: Vec<String> = entries.iter().map(|e| e.replace("*.", "x.").replace(":*", ":1234")).collect();
        let origin = concrete[origin_pick.index(concrete.len())].clone().into_bytes();
        let mut extra = vec![("access-control-request-method", method)];
        if !acrh.is_empty() {
            extra.push(("access-control-request-headers", acrh));
        }
        let Some(req) = headers(&origin, &extra) else { return Ok(()) };
        let Decision::Preflight(p) = policy.decide(&Method::OPTIONS, &req) else { panic!("OPTIONS + ACRM is a preflight") };
        let out = p.headers();
        if p.is_allowed() {
            prop_assert_eq!(p.status(), 204);
            check_response(&entries, credentials, &policy, &origin, &out)?;
            prop_assert!(vary_has_origin(&out));
            let method_ok = ["GET", "PUT", "patch"].contains(&method);
            prop_assert!(method_ok, "allowed a method the policy does not list: {}", method);
        } else {
            prop_assert_eq!(p.status(), 403);
            for name in corsica::policy::CORS_RESPONSE_HEADERS {
                prop_assert!(!out.contains_key(&name));
            }
        }
    }
}
