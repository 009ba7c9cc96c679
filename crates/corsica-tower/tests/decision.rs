//! The layer→service contract: the decision in the request's extensions,
//! WebSocket handshakes, and headers a report-only layer writes on request.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use corsica::{Policy, RequestKind};
use corsica_tower::{BoxError, CorsDecision, CorsLayer, OriginQuery, ReportOnlyHeaders, Verdict};
use http::header;
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use tower::{service_fn, Layer, ServiceExt};

type Body = Full<Bytes>;

const POLICY: &str = r#"
origins = ["https://app.example"]
methods = ["PUT"]
"#;

fn layer() -> CorsLayer {
    CorsLayer::new(Policy::from_toml(POLICY).unwrap())
}

fn request(method: Method, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .version(Version::HTTP_11)
        .uri("http://api.example/chat");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Body::default()).unwrap()
}

const HANDSHAKE: [(&str, &str); 2] = [("connection", "Upgrade"), ("upgrade", "websocket")];

/// Sends `req` through `layer` to an application that records the decision
/// it was given and answers 403 to a refused handshake, marking its
/// answers for a report-only layer when `mark` is set.
async fn decided(
    layer: CorsLayer,
    req: Request<Body>,
    mark: bool,
) -> (Option<CorsDecision>, Response<Body>) {
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let app = service_fn(move |req: Request<Body>| {
        let decision = req.extensions().get::<CorsDecision>().copied();
        *record.lock().unwrap() = decision;
        async move {
            let mut res = Response::new(Body::default());
            if decision.is_some_and(|d| d.refuses_websocket()) {
                *res.status_mut() = StatusCode::FORBIDDEN;
            }
            if mark {
                res.extensions_mut().insert(ReportOnlyHeaders);
            }
            Ok::<_, Infallible>(res)
        }
    });
    let res = layer.layer(app).oneshot(req).await.unwrap();
    let decision = *seen.lock().unwrap();
    (decision, res)
}

#[tokio::test]
async fn the_inner_service_sees_the_layers_decision() {
    let (d, _) = decided(layer(), request(Method::GET, &[]), false).await;
    let d = d.expect("every forwarded request carries a decision");
    assert_eq!(
        (d.kind(), d.verdict()),
        (RequestKind::NonCors, Verdict::NotCors)
    );
    assert!(!d.is_report_only() && !d.refuses_websocket());

    let (d, _) = decided(
        layer(),
        request(Method::GET, &[("origin", "https://app.example")]),
        false,
    )
    .await;
    assert_eq!(d.unwrap().verdict(), Verdict::Allowed);

    let (d, _) = decided(
        layer(),
        request(Method::GET, &[("origin", "https://evil.example")]),
        false,
    )
    .await;
    let d = d.unwrap();
    assert_eq!(
        (d.kind(), d.verdict()),
        (RequestKind::Actual, Verdict::Denied("origin_not_allowed"))
    );
}

#[tokio::test]
async fn a_forwarded_preflight_carries_its_decision() {
    let preflight = request(
        Method::OPTIONS,
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "PATCH"),
        ],
    );
    let (d, _) = decided(layer().forward_preflights(true), preflight, false).await;
    let d = d.unwrap();
    assert_eq!(
        (d.kind(), d.verdict()),
        (
            RequestKind::Preflight,
            Verdict::Denied("method_not_allowed")
        )
    );
}

#[tokio::test]
async fn a_lookup_under_way_is_pending() {
    let source =
        |_: OriginQuery| async { Ok::<_, BoxError>(vec!["https://tenant.example".to_owned()]) };
    let req = request(Method::GET, &[("origin", "https://tenant.example")]);
    let (d, res) = decided(layer().with_origin_source(source), req, false).await;
    assert_eq!(d.unwrap().verdict(), Verdict::Pending);
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://tenant.example"
    );
}

#[tokio::test]
async fn report_only_decisions_say_so() {
    let req = request(Method::GET, &[("origin", "https://evil.example")]);
    let (d, _) = decided(layer().report_only(true), req, false).await;
    let d = d.unwrap();
    assert!(d.is_report_only());
    assert_eq!(d.verdict(), Verdict::Denied("origin_not_allowed"));
}

#[tokio::test]
async fn handshakes_from_refused_origins_are_refused_when_checked() {
    let evil = [
        HANDSHAKE[0],
        HANDSHAKE[1],
        ("origin", "https://evil.example"),
    ];
    let (d, res) = decided(
        layer().check_websockets(true),
        request(Method::GET, &evil),
        false,
    )
    .await;
    assert!(d.unwrap().refuses_websocket());
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.headers()[header::VARY],
        "Origin",
        "the refusal gets the policy's headers"
    );

    // Not checked, or report-only: let through.
    let (d, _) = decided(layer(), request(Method::GET, &evil), false).await;
    assert!(!d.unwrap().refuses_websocket());
    let (d, _) = decided(
        layer().check_websockets(true).report_only(true),
        request(Method::GET, &evil),
        false,
    )
    .await;
    assert!(!d.unwrap().refuses_websocket());

    // Allowed origins, and clients without `Origin`, pass.
    let app = [
        HANDSHAKE[0],
        HANDSHAKE[1],
        ("origin", "https://app.example"),
    ];
    let (d, _) = decided(
        layer().check_websockets(true),
        request(Method::GET, &app),
        false,
    )
    .await;
    assert!(!d.unwrap().refuses_websocket());
    let (d, _) = decided(
        layer().check_websockets(true),
        request(Method::GET, &HANDSHAKE),
        false,
    )
    .await;
    assert!(!d.unwrap().refuses_websocket());

    // A refused origin on a request that is no handshake is the CORS rules' business.
    let plain = request(Method::GET, &[("origin", "https://evil.example")]);
    let (d, _) = decided(layer().check_websockets(true), plain, false).await;
    assert!(!d.unwrap().refuses_websocket());
}

#[tokio::test]
async fn handshakes_are_judged_by_the_static_policy_alone() {
    let source =
        |_: OriginQuery| async { Ok::<_, BoxError>(vec!["https://tenant.example".to_owned()]) };
    let req = request(
        Method::GET,
        &[
            HANDSHAKE[0],
            HANDSHAKE[1],
            ("origin", "https://tenant.example"),
        ],
    );
    let (d, res) = decided(
        layer().check_websockets(true).with_origin_source(source),
        req,
        false,
    )
    .await;
    let d = d.unwrap();
    assert!(d.refuses_websocket());
    assert_eq!(d.verdict(), Verdict::Denied("origin_not_allowed"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
}

#[tokio::test]
async fn report_only_writes_headers_on_marked_responses_of_allowed_origins() {
    let allowed = || request(Method::GET, &[("origin", "https://app.example")]);
    let (_, res) = decided(layer().report_only(true), allowed(), true).await;
    assert_eq!(
        res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    assert_eq!(res.headers()[header::VARY], "Origin");

    // Unmarked responses are left untouched.
    let (_, res) = decided(layer().report_only(true), allowed(), false).await;
    assert!(res.headers().is_empty());

    // Refused origins, and preflights, get nothing even when marked.
    let evil = request(Method::GET, &[("origin", "https://evil.example")]);
    let (_, res) = decided(layer().report_only(true), evil, true).await;
    assert!(res.headers().is_empty());
    let preflight = request(
        Method::OPTIONS,
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "PUT"),
        ],
    );
    let (_, res) = decided(layer().report_only(true), preflight, true).await;
    assert!(res.headers().is_empty());
}
