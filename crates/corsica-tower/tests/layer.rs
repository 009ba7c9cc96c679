//! The layer, driven through tower as axum and hyper drive it.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use corsica::Policy;
use corsica_tower::{BoxError, CorsEvent, CorsLayer, OriginQuery, Outcome, DEBUG_HEADER};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, Layer, Service, ServiceExt};

type Body = Full<Bytes>;

const POLICY: &str = r#"
origins = ["https://app.example", "https://*.tenant.example"]
methods = ["PUT", "DELETE"]
request_headers = ["content-type", "x-token"]
expose_headers = ["x-request-id"]
credentials = true
max_age = 600
"#;

/// An application that counts its calls and sets its own (wrong) CORS
/// headers, a `Vary` and a request id.
fn app(
    calls: Arc<AtomicUsize>,
) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone {
    service_fn(move |_req: Request<Body>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut res = Response::new(Body::from("hello"));
            res.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            res.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            res.headers_mut()
                .insert("x-request-id", HeaderValue::from_static("42"));
            Ok::<_, Infallible>(res)
        }
    })
}

fn request(method: Method, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri("http://api.example/items");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Body::default()).unwrap()
}

fn layer() -> CorsLayer {
    CorsLayer::new(Policy::from_toml(POLICY).unwrap())
}

#[tokio::test]
async fn allowed_preflight_is_answered_without_the_application() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = layer().layer(app(calls.clone()));
    let res = svc
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
        "PUT, DELETE"
    );
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS],
        "content-type, x-token"
    );
    assert_eq!(res.headers()[header::ACCESS_CONTROL_MAX_AGE], "600");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn denied_preflight_is_403_and_never_reaches_the_application() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = layer().layer(app(calls.clone()));
    let res = svc
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!res
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert!(
        !res.headers().contains_key(DEBUG_HEADER),
        "debug mode is off by default"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn plain_options_goes_to_the_application() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = layer().layer(app(calls.clone()));
    let res = svc.oneshot(request(Method::OPTIONS, &[])).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn actual_response_gets_the_policy_headers_and_keeps_vary() {
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = layer().layer(app(calls.clone()));
    let res = svc
        .oneshot(request(Method::GET, &[("origin", "https://app.example")]))
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(
        h.get_all(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .iter()
            .collect::<Vec<_>>(),
        ["https://app.example"]
    );
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "x-request-id");
    assert_eq!(
        h.get_all(header::VARY).iter().collect::<Vec<_>>(),
        ["Accept-Encoding", "Origin"]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn foreign_origin_gets_no_cors_headers_even_if_the_application_sets_some() {
    let svc = layer().layer(app(Arc::default()));
    let res = svc
        .oneshot(request(Method::GET, &[("origin", "https://evil.example")]))
        .await
        .unwrap();
    assert!(!res
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the request still reaches the application"
    );
}

#[tokio::test]
async fn debug_mode_explains_refusals() {
    let svc = layer().debug(true).layer(app(Arc::default()));
    let res = svc
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://app.example.org"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(
        res.headers()[DEBUG_HEADER],
        "origin https://app.example.org is not in the allowlist; nearest allowed: https://app.example"
    );
}

#[tokio::test]
async fn reconfigure_swaps_the_policy_while_serving() {
    let layer = layer();
    let mut svc = layer.layer(app(Arc::default()));
    let before = svc
        .ready()
        .await
        .unwrap()
        .call(request(Method::GET, &[("origin", "https://new.example")]))
        .await
        .unwrap();
    assert!(!before
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    layer.reconfigure(Policy::from_toml("origins = [\"https://new.example\"]").unwrap());
    let after = svc
        .ready()
        .await
        .unwrap()
        .call(request(Method::GET, &[("origin", "https://new.example")]))
        .await
        .unwrap();
    assert_eq!(
        after.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://new.example"
    );
}

fn tenants() -> impl Fn(OriginQuery) -> std::future::Ready<Result<Vec<String>, BoxError>> + Clone {
    |query: OriginQuery| {
        let entries = match query.origin.as_str() {
            "https://acme.example" => vec!["https://acme.example".to_owned()],
            // A broken row: validation must drop it, not trust it.
            "https://sloppy.example" => vec!["*".to_owned(), "https://sloppy.example/".to_owned()],
            _ => vec![],
        };
        std::future::ready(Ok(entries))
    }
}

#[tokio::test]
async fn dynamic_origins_are_looked_up_and_validated() {
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = layer().with_origin_source(tenants());
    let preflight = layer
        .layer(app(calls.clone()))
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://acme.example"),
                ("access-control-request-method", "DELETE"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://acme.example"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let actual = layer
        .layer(app(calls.clone()))
        .oneshot(request(Method::GET, &[("origin", "https://acme.example")]))
        .await
        .unwrap();
    assert_eq!(
        actual.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://acme.example"
    );
    assert_eq!(actual.headers()[header::VARY], "Accept-Encoding");
    assert_eq!(actual.headers().get_all(header::VARY).iter().count(), 2);

    let sloppy = layer
        .layer(app(calls.clone()))
        .oneshot(request(
            Method::GET,
            &[("origin", "https://sloppy.example")],
        ))
        .await
        .unwrap();
    assert!(!sloppy
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn failing_sources_deny() {
    let source = |_: OriginQuery| async { Err::<Vec<String>, BoxError>("database down".into()) };
    let res = layer()
        .with_origin_source(source)
        .layer(app(Arc::default()))
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://acme.example"),
                ("access-control-request-method", "GET"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn report_only_enforces_nothing_but_reports_everything() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let observer = move |e: &CorsEvent<'_>| {
        let label = match e.outcome {
            Outcome::Denied(d) => d.code(),
            Outcome::Allowed => "allowed",
            Outcome::NotCors => "not_cors",
        };
        log.lock()
            .unwrap()
            .push((e.kind.as_str(), label, e.report_only));
    };
    let svc = layer()
        .report_only(true)
        .with_observer(observer)
        .layer(app(calls.clone()));
    let res = svc
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the application answered");
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "*",
        "the application's headers are untouched"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        *seen.lock().unwrap(),
        [("preflight", "origin_not_allowed", true)]
    );
}

#[tokio::test]
async fn observer_sees_every_kind() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let layer = layer().with_observer(move |e: &CorsEvent<'_>| {
        log.lock()
            .unwrap()
            .push((e.kind.as_str(), matches!(e.outcome, Outcome::Allowed)))
    });
    for req in [
        request(Method::GET, &[]),
        request(Method::GET, &[("origin", "https://app.example")]),
        request(
            Method::OPTIONS,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "PATCH"),
            ],
        ),
    ] {
        layer.layer(app(Arc::default())).oneshot(req).await.unwrap();
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [("non_cors", false), ("actual", true), ("preflight", false)]
    );
}

#[tokio::test]
async fn hostile_requests_are_refused_without_panic() {
    let calls = Arc::new(AtomicUsize::new(0));
    let huge_origin = format!("https://{}.tenant.example", "a".repeat(64 * 1024));
    let commas = ",".repeat(100_000);
    let cases: Vec<Vec<(&str, &[u8])>> = vec![
        vec![
            ("origin", b"https://\xff\xfe.tenant.example"),
            ("access-control-request-method", b"PUT"),
        ],
        vec![
            ("origin", huge_origin.as_bytes()),
            ("access-control-request-method", b"PUT"),
        ],
        vec![
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"PUT"),
            ("access-control-request-headers", commas.as_bytes()),
        ],
        vec![
            ("origin", b"https://app.example"),
            ("access-control-request-method", b"\x80\x81"),
        ],
    ];
    for case in cases {
        let mut req = Request::builder().method(Method::OPTIONS).uri("/x");
        for (name, value) in &case {
            req = req.header(*name, HeaderValue::from_bytes(value).unwrap());
        }
        let res = layer()
            .debug(true)
            .layer(app(calls.clone()))
            .oneshot(req.body(Body::default()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(!res
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        let reason = res.headers()[DEBUG_HEADER].to_str().unwrap_or("");
        assert!(reason.len() < 1000, "debug reasons stay bounded");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn forwarded_preflights_reach_the_application_and_get_the_policys_answer() {
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = layer().forward_preflights(true);
    let allowed = layer
        .layer(app(calls.clone()))
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the application saw the preflight"
    );
    assert_eq!(
        allowed.status(),
        StatusCode::OK,
        "the application's status is kept"
    );
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example",
        "its `*` is replaced"
    );
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
        "PUT, DELETE"
    );
    let refused = layer
        .layer(app(calls.clone()))
        .oneshot(request(
            Method::OPTIONS,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        !refused
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "the application's `*` cannot allow what the policy refuses"
    );
}
