//! The two halves of the engine, held to each other. For random valid
//! policies and random requests, the server side answers the simulated
//! browser: a request the policy allows must be accepted by the browser,
//! and a request it forbids must be blocked, for the reason the policy
//! gives.

use corsica::__private::{check_safelisted_request_header, is_safelisted_method, normalize_method};
use corsica::browser::{respond, AppResponse};
use corsica::browser::{CorsError, Credentials, RequestSpec, Simulation, Step, Verdict};
use corsica::Policy;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use proptest::prelude::*;

const API: &str = "https://api.example.net/items";
const ALLOWED_ORIGINS: [&str; 3] = [
    "https://app.example.com",
    "https://a.tenant.example.org",
    "http://localhost:5173",
];
const OTHER_ORIGINS: [&str; 4] = [
    "https://evil.example.com",
    "https://app.example.com.evil.io",
    "https://tenant.example.org",
    "null",
];
const METHODS: [&str; 8] = [
    "GET", "POST", "HEAD", "PUT", "patch", "PATCH", "DELETE", "OPTIONS",
];
const HEADERS: [(&str, &str); 6] = [
    ("content-type", "application/json"),
    ("content-type", "text/plain"),
    ("x-token", "1"),
    ("authorization", "Bearer x"),
    ("accept", "*/*"),
    ("x-other", "2"),
];

#[derive(Debug, Clone)]
struct PolicySpec {
    any_origin: bool,
    methods: Vec<&'static str>,
    any_method: bool,
    request_headers: Vec<&'static str>,
    any_header: bool,
    credentials: bool,
}

impl PolicySpec {
    fn build(&self) -> Option<Policy> {
        let origins: Vec<&str> = if self.any_origin {
            vec!["*"]
        } else {
            vec![
                "https://app.example.com",
                "https://*.tenant.example.org",
                "http://localhost:*",
            ]
        };
        let mut methods = self.methods.clone();
        if self.any_method {
            methods = vec!["*"];
        }
        let mut headers = self.request_headers.clone();
        if self.any_header {
            headers = vec!["*"];
        }
        Policy::builder()
            .origins(origins)
            .methods(methods)
            .request_headers(headers)
            .credentials(self.credentials)
            .build()
            .ok()
    }
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    (
        any::<bool>(),
        prop::sample::subsequence(vec!["PUT", "patch", "PATCH", "DELETE"], 0..=4),
        any::<bool>(),
        prop::sample::subsequence(vec!["content-type", "x-token", "authorization"], 0..=3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(any_origin, methods, any_method, request_headers, any_header, credentials)| {
                PolicySpec {
                    any_origin,
                    methods,
                    any_method,
                    request_headers,
                    any_header,
                    credentials,
                }
            },
        )
}

fn request() -> impl Strategy<Value = (String, RequestSpec)> {
    let origin = prop_oneof![
        prop::sample::select(&ALLOWED_ORIGINS[..]),
        prop::sample::select(&OTHER_ORIGINS[..])
    ];
    let credentials = prop::sample::select(
        &[
            Credentials::Omit,
            Credentials::SameOrigin,
            Credentials::Include,
        ][..],
    );
    (
        origin,
        prop::sample::select(&METHODS[..]),
        prop::sample::subsequence(HEADERS.to_vec(), 0..=3),
        credentials,
    )
        .prop_map(|(origin, method, headers, credentials)| {
            let spec = RequestSpec {
                url: API.to_owned(),
                method: method.to_owned(),
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                credentials,
                read_headers: vec![],
                force_preflight: false,
            };
            (origin.to_owned(), spec)
        })
}

fn run(policy: &Policy, origin: &str, spec: &RequestSpec) -> Verdict {
    let mut sim = Simulation::new("prop", origin, spec, corsica::browser::Profile::Chromium);
    let mut step = sim.start();
    while let Step::Send(out) = step {
        step = sim.on_response(respond(policy, &out, &AppResponse::default()));
    }
    sim.finish()
}

/// The reason the policy gives for a request, asked of the server side
/// directly (what a preflight or actual request gets from `decide`).
fn policy_denial(
    policy: &Policy,
    origin: &str,
    method: &str,
    unsafe_names: &[String],
    preflight: bool,
) -> Option<&'static str> {
    let mut h = HeaderMap::new();
    h.insert(http::header::ORIGIN, HeaderValue::from_str(origin).ok()?);
    let m = if preflight {
        h.insert(
            http::header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_str(method).ok()?,
        );
        if !unsafe_names.is_empty() {
            h.insert(
                HeaderName::from_static("access-control-request-headers"),
                HeaderValue::from_str(&unsafe_names.join(",")).ok()?,
            );
        }
        Method::OPTIONS
    } else {
        Method::from_bytes(method.as_bytes()).ok()?
    };
    policy.decide(&m, &h).denial().map(|d| d.code())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn the_browser_accepts_exactly_what_the_policy_allows(spec in policy_spec(), (origin, request) in request()) {
        let Some(policy) = spec.build() else { return Ok(()) };
        let normalized = normalize_method(&request.method).into_owned();
        let unsafe_names: Vec<String> = {
            let mut n: Vec<String> = request.headers.iter()
                .filter(|(name, value)| check_safelisted_request_header(name, value.as_bytes(), corsica::browser::Profile::Chromium).is_err())
                .map(|(name, _)| name.to_ascii_lowercase())
                .collect();
            n.sort();
            n.dedup();
            n
        };
        let needs_preflight = !is_safelisted_method(&normalized) || !unsafe_names.is_empty();
        let origin_ok = policy.allows_any_origin() || policy.allows_origin(origin.as_bytes());
        let method_ok = is_safelisted_method(&normalized) || spec.any_method || spec.methods.contains(&normalized.as_str());
        let headers_ok = spec.any_header || unsafe_names.iter().all(|h| spec.request_headers.contains(&h.as_str()));
        let credentials_ok = request.credentials != Credentials::Include || spec.credentials;

        let verdict = run(&policy, &origin, &request);
        let denial = policy_denial(&policy, &origin, &normalized, &unsafe_names, needs_preflight);

        let expected_error = if !origin_ok {
            prop_assert_eq!(denial, Some("origin_not_allowed"));
            Some(if needs_preflight { CorsError::PreflightMissingAllowOriginHeader } else { CorsError::MissingAllowOriginHeader })
        } else if needs_preflight && !(method_ok && headers_ok) {
            prop_assert_eq!(denial, Some(if method_ok { "header_not_allowed" } else { "method_not_allowed" }));
            Some(CorsError::PreflightMissingAllowOriginHeader)
        } else if !credentials_ok {
            prop_assert_eq!(denial, None);
            let error = if spec.any_origin { CorsError::WildcardOriginNotAllowed } else { CorsError::InvalidAllowCredentials };
            Some(if needs_preflight { error.for_preflight() } else { error })
        } else {
            prop_assert_eq!(denial, None);
            None
        };
        prop_assert_eq!(verdict.allowed, expected_error.is_none(), "{:?}", verdict.trace);
        prop_assert_eq!(verdict.cors_error, expected_error, "{:?}", verdict.trace);
        prop_assert_eq!(verdict.preflight, needs_preflight);
    }
}
