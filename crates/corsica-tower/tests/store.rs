//! `CorsLayer::with_store`: a store's set, swapped while serving.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use corsica::{LiveOrigins, Policy, StoredOrigins};
use corsica_tower::CorsLayer;
use http::header;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, Layer, ServiceExt};

type Body = Full<Bytes>;

async fn ask(layer: &CorsLayer, method: Method, origin: &str) -> Response<Body> {
    let svc = layer.layer(service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::from("ok")))
    }));
    let mut req = Request::builder()
        .method(method.clone())
        .uri("/")
        .header(header::ORIGIN, origin);
    if method == Method::OPTIONS {
        req = req.header(header::ACCESS_CONTROL_REQUEST_METHOD, "PUT");
    }
    svc.oneshot(req.body(Body::default()).unwrap())
        .await
        .unwrap()
}

fn allow_origin(res: &Response<Body>) -> Option<&str> {
    res.headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn stored_members_are_allowed_and_swaps_take_effect_at_once() {
    let policy = Policy::builder()
        .origins(["https://static.example"])
        .origins_from("redis://127.0.0.1:6379/0")
        .methods(["PUT"])
        .credentials(true)
        .build()
        .unwrap();
    let rules = policy.origin_rules();
    let live = Arc::new(LiveOrigins::new(rules));
    let layer = CorsLayer::new(policy).with_store(live.clone());
    let tenant = "https://shop.customer.example";

    assert_eq!(allow_origin(&ask(&layer, Method::GET, tenant).await), None);
    let (set, refused) = StoredOrigins::build(rules, [tenant, "http://plain.example"]);
    assert_eq!(refused.len(), 1, "plain http is refused with credentials");
    live.store(set);
    assert_eq!(
        allow_origin(&ask(&layer, Method::GET, tenant).await),
        Some(tenant)
    );
    let preflight = ask(&layer, Method::OPTIONS, tenant).await;
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(allow_origin(&preflight), Some(tenant));
    assert_eq!(
        allow_origin(&ask(&layer, Method::GET, "http://plain.example").await),
        None
    );
    assert_eq!(
        allow_origin(&ask(&layer, Method::GET, "https://static.example").await),
        Some("https://static.example")
    );

    let (next, _) = live.load().with_changes::<&str, _>(&[], &[tenant]);
    live.store(next);
    assert_eq!(allow_origin(&ask(&layer, Method::GET, tenant).await), None);
    let preflight = ask(&layer, Method::OPTIONS, tenant).await;
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_set_validated_under_other_rules_allows_nothing() {
    let open = Policy::builder()
        .origins(["https://static.example"])
        .build()
        .unwrap();
    let live = Arc::new(LiveOrigins::new(open.origin_rules()));
    let (set, _) = StoredOrigins::build(open.origin_rules(), ["http://plain.example"]);
    live.store(set);
    let layer = CorsLayer::new(open).with_store(live);
    let origin = "http://plain.example";
    assert_eq!(
        allow_origin(&ask(&layer, Method::GET, origin).await),
        Some(origin)
    );
    // Credentials now on: plain http would be refused, so the old set must not count.
    layer.reconfigure(
        Policy::builder()
            .origins(["https://static.example"])
            .credentials(true)
            .build()
            .unwrap(),
    );
    assert_eq!(allow_origin(&ask(&layer, Method::GET, origin).await), None);
}
