use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use super::*;
use crate::policy::Policy;

fn policy(src: &str) -> Policy {
    Policy::from_toml(src).unwrap()
}

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    map
}

fn preflight<'a>(p: &'a Policy, req: &'a HeaderMap) -> Preflight<'a> {
    match p.decide(&Method::OPTIONS, req) {
        Decision::Preflight(pf) => pf,
        other => panic!("expected a preflight, got {other:?}"),
    }
}

fn forward<'a>(p: &'a Policy, method: &Method, req: &'a HeaderMap) -> Forward<'a> {
    match p.decide(method, req) {
        Decision::Forward(f) => f,
        other => panic!("expected forward, got {other:?}"),
    }
}

fn applied(f: &Forward<'_>, app: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in app {
        map.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    f.apply(&mut map);
    map
}

const CRED: &str = "origins = [\"https://app.example\"]\nmethods = [\"PUT\", \"patch\"]\nrequest_headers = [\"content-type\", \"x-token\"]\nexpose_headers = [\"x-id\"]\ncredentials = true\nmax_age = 600";

#[test]
fn classification_follows_fetch() {
    let none = headers(&[]);
    assert_eq!(
        RequestKind::of(&Method::OPTIONS, &none),
        RequestKind::NonCors
    );
    let origin_only = headers(&[("origin", b"https://a.example")]);
    assert_eq!(
        RequestKind::of(&Method::OPTIONS, &origin_only),
        RequestKind::Actual
    );
    assert_eq!(
        RequestKind::of(&Method::GET, &origin_only),
        RequestKind::Actual
    );
    let pf = headers(&[
        ("origin", b"https://a.example"),
        ("access-control-request-method", b"PUT"),
    ]);
    assert_eq!(
        RequestKind::of(&Method::OPTIONS, &pf),
        RequestKind::Preflight
    );
    assert_eq!(RequestKind::of(&Method::GET, &pf), RequestKind::Actual);
}

#[test]
fn an_options_request_without_acrm_goes_to_the_application() {
    let p = policy(CRED);
    let req = headers(&[("origin", b"https://app.example")]);
    let f = forward(&p, &Method::OPTIONS, &req);
    assert!(f.is_allowed());
    assert_eq!(f.kind(), RequestKind::Actual);
}

#[test]
fn allowed_preflight_is_204_with_every_header() {
    let p = policy(CRED);
    let req = headers(&[
        ("origin", b"https://app.example"),
        ("access-control-request-method", b"PUT"),
        ("access-control-request-headers", b"content-type,x-token"),
    ]);
    let pf = preflight(&p, &req);
    assert_eq!(pf.status(), StatusCode::NO_CONTENT);
    let h = pf.headers();
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "PUT, patch");
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_HEADERS],
        "content-type, x-token"
    );
    assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
    assert_eq!(
        h[header::VARY],
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    );
    assert_eq!(
        h.get_all(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .iter()
            .count(),
        1
    );
    assert!(!h.contains_key(header::ACCESS_CONTROL_EXPOSE_HEADERS));
}

#[test]
fn preflight_for_a_safelisted_method_needs_no_listing() {
    let p = policy("origins = [\"https://app.example\"]\nrequest_headers = [\"x-token\"]");
    let req = headers(&[
        ("origin", b"https://app.example"),
        ("access-control-request-method", b"GET"),
        ("access-control-request-headers", b"x-token"),
    ]);
    let pf = preflight(&p, &req);
    assert!(pf.is_allowed());
    let h = pf.headers();
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS));
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_HEADERS], "x-token");
}

#[test]
fn preflight_without_request_headers_sends_no_allow_headers() {
    let p = policy(CRED);
    let req = headers(&[
        ("origin", b"https://app.example"),
        ("access-control-request-method", b"PUT"),
    ]);
    let h = preflight(&p, &req).headers();
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_HEADERS));
}

#[test]
fn disallowed_preflights_are_403_without_cors_headers() {
    let p = policy(CRED);
    let cases: [&[(&str, &[u8])]; 7] = [
        &[
            ("origin", b"https://evil.example"),
            ("access-control-request-method", b"PUT"),
        ],
        &[
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"DELETE"),
        ],
        &[
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"PATCH"),
        ],
        &[
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"TRACE"),
        ],
        &[
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"PUT"),
            ("access-control-request-headers", b"x-evil"),
        ],
        &[
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"P UT"),
        ],
        &[
            ("origin", b"https://app.example"),
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"PUT"),
        ],
    ];
    for case in cases {
        let req = headers(case);
        let pf = preflight(&p, &req);
        assert_eq!(pf.status(), StatusCode::FORBIDDEN, "{case:?}");
        let h = pf.headers();
        for name in crate::policy::CORS_RESPONSE_HEADERS {
            assert!(!h.contains_key(&name), "{case:?} carries {name}");
        }
    }
}

#[test]
fn methods_are_case_sensitive_and_explained() {
    let p = policy(CRED);
    let req = headers(&[
        ("origin", b"https://app.example"),
        ("access-control-request-method", b"PATCH"),
    ]);
    let pf = preflight(&p, &req);
    let why = pf.denial().unwrap().explain(&p);
    assert!(why.contains("case-sensitive"), "{why}");
    let req = headers(&[
        ("origin", b"https://app.example"),
        ("access-control-request-method", b"patch"),
    ]);
    assert!(preflight(&p, &req).is_allowed());
}

#[test]
fn denial_explains_the_nearest_origin() {
    let p = policy(CRED);
    let req = headers(&[
        ("origin", b"https://app.example.evil"),
        ("access-control-request-method", b"PUT"),
    ]);
    let pf = preflight(&p, &req);
    let why = pf.denial().unwrap().explain(&p);
    assert_eq!(why, "origin https://app.example.evil is not in the allowlist; nearest allowed: https://app.example");
}

#[test]
fn actual_requests_get_origin_credentials_and_expose() {
    let p = policy(CRED);
    let req = headers(&[("origin", b"https://app.example")]);
    let f = forward(&p, &Method::GET, &req);
    let h = applied(&f, &[("vary", "Accept-Encoding")]);
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "x-id");
    let vary: Vec<_> = h.get_all(header::VARY).iter().collect();
    assert_eq!(vary, ["Accept-Encoding", "Origin"]);
}

#[test]
fn the_applications_cors_headers_are_replaced() {
    let p = policy(CRED);
    let req = headers(&[("origin", b"https://app.example")]);
    let f = forward(&p, &Method::GET, &req);
    let h = applied(
        &f,
        &[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-origin", "https://x.example"),
            ("access-control-allow-methods", "GET"),
            ("access-control-allow-private-network", "true"),
        ],
    );
    assert_eq!(
        h.get_all(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .iter()
            .collect::<Vec<_>>(),
        ["https://app.example"]
    );
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS));
    assert!(!h.contains_key("access-control-allow-private-network"));
}

#[test]
fn disallowed_actual_requests_pass_through_without_cors_headers() {
    let p = policy(CRED);
    let req = headers(&[("origin", b"https://evil.example")]);
    let f = forward(&p, &Method::POST, &req);
    assert!(!f.is_allowed());
    assert_eq!(f.denial().unwrap().code(), "origin_not_allowed");
    let h = applied(
        &f,
        &[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
        ],
    );
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
    assert_eq!(h[header::VARY], "Origin");
}

#[test]
fn non_cors_responses_vary_when_the_answer_depends_on_origin() {
    let p = policy(CRED);
    let req = headers(&[]);
    let f = forward(&p, &Method::GET, &req);
    let h = applied(&f, &[]);
    assert_eq!(h[header::VARY], "Origin");
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[test]
fn vary_is_not_duplicated() {
    let p = policy(CRED);
    let req = headers(&[("origin", b"https://app.example")]);
    let f = forward(&p, &Method::GET, &req);
    let h = applied(&f, &[("vary", "accept, origin")]);
    assert_eq!(h.get_all(header::VARY).iter().count(), 1);
    let h = applied(&f, &[("vary", "*")]);
    assert_eq!(h.get_all(header::VARY).iter().collect::<Vec<_>>(), ["*"]);
}

#[test]
fn a_public_api_sends_a_wildcard_everywhere_and_never_varies() {
    let p = policy("origins = [\"*\"]\nexpose_headers = [\"*\"]");
    for req in [
        headers(&[]),
        headers(&[("origin", b"https://any.example")]),
        headers(&[("origin", b"null")]),
    ] {
        let f = forward(&p, &Method::GET, &req);
        let h = applied(&f, &[]);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "*");
        assert!(!h.contains_key(header::VARY));
    }
}

#[test]
fn wildcard_policies_echo_method_and_headers() {
    let p = policy("origins = [\"*\"]\nmethods = [\"*\"]\nrequest_headers = [\"*\"]");
    let req = headers(&[
        ("origin", b"https://any.example"),
        ("access-control-request-method", b"PURGE"),
        (
            "access-control-request-headers",
            b"authorization,x-anything",
        ),
    ]);
    let h = preflight(&p, &req).headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "PURGE");
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_HEADERS],
        "authorization,x-anything"
    );
    assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
}

#[test]
fn patterns_match_through_decide() {
    let p = policy("origins = [\"https://*.example.com\", \"http://localhost:*\"]");
    for (origin, ok) in [
        ("https://a.example.com", true),
        ("http://localhost:5173", true),
        ("https://example.com", false),
        ("https://a.example.com.evil.io", false),
        ("https://evilexample.com", false),
    ] {
        let req = headers(&[("origin", origin.as_bytes())]);
        assert_eq!(forward(&p, &Method::GET, &req).is_allowed(), ok, "{origin}");
    }
}

#[test]
fn hostile_origins_are_denied_without_panic() {
    let p = policy("origins = [\"https://*.example.com\"]");
    let big = {
        let mut v = b"https://".to_vec();
        v.extend(std::iter::repeat_n(b'a', 64 * 1024));
        v.extend(b".example.com");
        v
    };
    for origin in [
        &b"https://\xff\xfe.example.com"[..],
        &big,
        b"https://a.example.com/",
        b"",
    ] {
        let req = headers(&[
            ("origin", origin),
            ("access-control-request-method", b"GET"),
        ]);
        let pf = preflight(&p, &req);
        assert_eq!(pf.status(), StatusCode::FORBIDDEN);
        let why = pf.denial().unwrap().explain(&p);
        assert!(why.len() < 600, "explanations stay short");
    }
}

#[test]
fn a_flood_of_commas_in_acrh_is_denied_cheaply() {
    let p = policy("origins = [\"*\"]\nrequest_headers = [\"*\"]");
    let commas = vec![b','; 100_000];
    let req = headers(&[
        ("origin", b"https://a.example"),
        ("access-control-request-method", b"GET"),
        ("access-control-request-headers", &commas),
    ]);
    let pf = preflight(&p, &req);
    assert_eq!(pf.status(), StatusCode::FORBIDDEN);
    assert_eq!(pf.denial().unwrap().code(), "malformed_request_headers");
}

#[test]
fn request_headers_split_over_two_lines_are_read_as_one_list() {
    let p = policy(
        "origins = [\"https://a.example\"]\nrequest_headers = [\"content-type\", \"x-token\"]",
    );
    let split = |second: &'static [u8]| {
        headers(&[
            ("origin", b"https://a.example"),
            ("access-control-request-method", b"GET"),
            ("access-control-request-headers", b"content-type"),
            ("access-control-request-headers", second),
        ])
    };
    let allowed = split(b"x-token");
    assert_eq!(preflight(&p, &allowed).status(), StatusCode::NO_CONTENT);
    // Every line is checked.
    let refused = split(b"x-evil");
    let pf = preflight(&p, &refused);
    assert_eq!(pf.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        pf.denial(),
        Some(&Denial::RequestHeaders(crate::acrh::AcrhError::NotAllowed(
            "x-evil"
        )))
    );
    // The joined list is held to one line's bound.
    let long: &'static [u8] = "x-token,".repeat(520).leak().as_bytes();
    let too_long = split(long);
    assert_eq!(
        preflight(&p, &too_long).denial(),
        Some(&Denial::RequestHeaders(crate::acrh::AcrhError::TooLong))
    );
}

#[test]
fn a_wildcard_policy_echoes_each_line_of_a_split_list() {
    let p = policy("origins = [\"*\"]\nrequest_headers = [\"*\"]");
    let req = headers(&[
        ("origin", b"https://a.example"),
        ("access-control-request-method", b"GET"),
        ("access-control-request-headers", b"x-a"),
        ("access-control-request-headers", b"x-b,x-c"),
    ]);
    let pf = preflight(&p, &req);
    assert_eq!(pf.status(), StatusCode::NO_CONTENT);
    let answer = pf.headers();
    let echoed: Vec<&[u8]> = answer
        .get_all(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    assert_eq!(echoed, [&b"x-a"[..], &b"x-b,x-c"[..]]);
}

#[test]
fn dynamic_origins_extend_the_allowlist() {
    let p = policy(CRED);
    let (extra, _) = p.compile_dynamic_origins(&["https://tenant.example"]);
    let req = headers(&[("origin", b"https://tenant.example")]);
    let Decision::Forward(f) = p.decide_with(&Method::GET, &req, Some(&extra)) else {
        panic!()
    };
    assert!(f.is_allowed());
}

#[test]
fn into_response_builds_a_complete_preflight() {
    let p = policy(CRED);
    let req = headers(&[
        ("origin", b"https://app.example"),
        ("access-control-request-method", b"PUT"),
    ]);
    let resp: http::Response<()> = preflight(&p, &req).into_response();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
}

#[test]
fn a_preflight_plan_replaces_the_applications_cors_headers() {
    let p = policy(CRED);
    let req = headers(&[
        ("origin", b"https://app.example"),
        ("access-control-request-method", b"PUT"),
    ]);
    let plan = preflight(&p, &req).to_plan();
    let mut upstream = HeaderMap::new();
    upstream.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    upstream.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Origin"),
    );
    upstream.insert(header::ALLOW, HeaderValue::from_static("GET, PUT"));
    upstream.insert(
        "access-control-allow-private-network",
        HeaderValue::from_static("true"),
    );
    plan.apply(&mut upstream);
    assert!(!upstream.contains_key("access-control-allow-private-network"));
    assert_eq!(
        upstream[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    assert_eq!(upstream[header::ACCESS_CONTROL_ALLOW_METHODS], "PUT, patch");
    assert_eq!(upstream[header::ALLOW], "GET, PUT");
    let vary: Vec<_> = upstream.get_all(header::VARY).iter().collect();
    assert_eq!(
        vary,
        [
            "Accept-Encoding, Origin",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers"
        ]
    );

    let denied = headers(&[
        ("origin", b"https://evil.example"),
        ("access-control-request-method", b"PUT"),
    ]);
    let plan = preflight(&p, &denied).to_plan();
    let mut upstream = HeaderMap::new();
    upstream.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    plan.apply(&mut upstream);
    assert!(!plan.is_allowed());
    assert!(!upstream.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[test]
fn stored_origins_are_echoed_only_under_the_rules_that_accepted_them() {
    use crate::StoredOrigins;
    let p = Policy::from_toml(
        "origins = [\"https://static.example\"]\ncredentials = true\norigins_from = \"redis://127.0.0.1:6379/0\"",
    )
    .unwrap();
    let (stored, _) = StoredOrigins::build(p.origin_rules(), ["https://tenant.example"]);
    let mut headers = HeaderMap::new();
    headers.insert(header::ORIGIN, "https://tenant.example".parse().unwrap());
    let allowed = |d: &Decision<'_>| d.denial().is_none();
    assert!(allowed(&p.decide_stored(&Method::GET, &headers, &stored)));
    assert!(!allowed(&p.decide(&Method::GET, &headers)));
    // A set validated under other rules (no credentials) is not used.
    let other = Policy::from_toml("origins = [\"https://static.example\"]").unwrap();
    let (foreign, _) = StoredOrigins::build(other.origin_rules(), ["https://tenant.example"]);
    assert!(!allowed(&p.decide_stored(&Method::GET, &headers, &foreign)));
    headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    assert!(!allowed(&p.decide_stored(&Method::GET, &headers, &stored)));
}
