//! Every CORS rule, checked through the gateway over real TCP against a
//! real upstream.

mod common;

use common::*;
use http::{Method, StatusCode};

#[tokio::test]
async fn an_allowed_preflight_is_answered_without_the_upstream() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = preflight(
        &gw.url("/items/1"),
        APP,
        "PUT",
        Some("content-type, x-token"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some("PUT, DELETE")
    );
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some("content-type, x-token")
    );
    assert_eq!(reply.header("access-control-max-age"), Some("600"));
    assert!(reply
        .joined("vary")
        .contains("Access-Control-Request-Method"));
    assert_eq!(
        calls.get(),
        0,
        "the upstream never sees an answered preflight"
    );
}

#[tokio::test]
async fn a_refused_preflight_is_403_with_no_cors_header_and_no_upstream_call() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    for reply in [
        preflight(&gw.url("/items"), EVIL, "PUT", None).await,
        preflight(&gw.url("/items"), APP, "PATCH", None).await,
        preflight(&gw.url("/items"), APP, "PUT", Some("x-secret")).await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert!(!reply.has_cors_headers(), "{:?}", reply.headers);
        assert!(reply.header("x-corsica-debug").is_none(), "debug is off");
    }
    assert_eq!(calls.get(), 0);
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_cors_denied_total{kind=\"preflight\",reason=\"origin_not_allowed\",report_only=\"false\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "corsica_cors_denied_total{kind=\"preflight\",reason=\"method_not_allowed\",report_only=\"false\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "corsica_cors_denied_total{kind=\"preflight\",reason=\"header_not_allowed\",report_only=\"false\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "corsica_requests_total{kind=\"preflight\"}"),
        3.0
    );
}

#[tokio::test]
async fn an_allowed_actual_request_gets_the_policys_headers_instead_of_the_upstreams() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = get(&gw.url("/items?page=2"), &[("origin", APP)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
    // The upstream said `*` and `GET`; the policy's answer replaces both.
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        reply.header("access-control-expose-headers"),
        Some("x-upstream")
    );
    assert!(reply.header("access-control-allow-methods").is_none());
    // `Vary: Origin` is appended to the upstream's own `Vary`.
    let vary = reply.joined("vary");
    assert!(
        vary.contains("Accept-Encoding") && vary.contains("Origin"),
        "{vary}"
    );
    assert_eq!(reply.header("x-upstream"), Some("yes"));
    assert_eq!(reply.json()["uri"], "/items?page=2");
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_cors_decisions_total{kind=\"actual\",outcome=\"allowed\",report_only=\"false\"}"),
        1.0
    );
}

#[tokio::test]
async fn a_refused_actual_request_reaches_the_upstream_but_gets_no_cors_header() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = get(&gw.url("/items"), &[("origin", EVIL)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
    assert!(!reply.has_cors_headers(), "{:?}", reply.headers);
    assert!(reply.joined("vary").contains("Origin"));
}

#[tokio::test]
async fn a_request_without_origin_is_forwarded_with_vary() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = get(&gw.url("/items"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
    assert!(!reply.has_cors_headers());
    assert!(reply.joined("vary").contains("Origin"));
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_requests_total{kind=\"non_cors\"}"),
        1.0
    );
}

#[tokio::test]
async fn each_route_has_its_own_policy() {
    let (upstream, _) = echo_upstream().await;
    let routes = r#"
[[routes]]
path_prefix = "/public"
[routes.policy]
origins = ["*"]

[[routes]]
path_prefix = "/partner"
host = "partner.example"
[routes.policy]
origins = ["https://partner.example"]
"#;
    let gw = gateway(&config_text(upstream, routes)).await;
    let public = get(&gw.url("/public/items"), &[("origin", EVIL)]).await;
    assert_eq!(public.header("access-control-allow-origin"), Some("*"));
    // A path that only starts like the prefix is not in the route.
    let default = get(&gw.url("/publicity"), &[("origin", EVIL)]).await;
    assert!(!default.has_cors_headers());
    // The host route applies only to its host.
    let partner = get(
        &gw.url("/partner/x"),
        &[
            ("origin", "https://partner.example"),
            ("host", "partner.example:8080"),
        ],
    )
    .await;
    assert_eq!(
        partner.header("access-control-allow-origin"),
        Some("https://partner.example")
    );
    let other_host = get(
        &gw.url("/partner/x"),
        &[("origin", "https://partner.example")],
    )
    .await;
    assert!(!other_host.has_cors_headers());
}

#[tokio::test]
async fn cors_false_passes_everything_through_untouched() {
    let (upstream, calls) = echo_upstream().await;
    let routes = "[[routes]]\npath_prefix = \"/raw\"\ncors = false\n";
    let gw = gateway(&config_text(upstream, routes)).await;
    let reply = get(&gw.url("/raw/x"), &[("origin", EVIL)]).await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("vary"), Some("Accept-Encoding"));
    let pre = preflight(&gw.url("/raw/x"), EVIL, "PUT", None).await;
    assert_eq!(
        pre.status,
        StatusCode::OK,
        "the upstream answered the preflight"
    );
    assert_eq!(pre.header("access-control-allow-methods"), Some("GET"));
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn forward_preflight_sends_preflights_upstream_with_the_policys_answer() {
    let (upstream, calls) = echo_upstream().await;
    let routes = "[[routes]]\npath_prefix = \"/fwd\"\nforward_preflight = true\n";
    let gw = gateway(&config_text(upstream, routes)).await;
    let allowed = preflight(&gw.url("/fwd/x"), APP, "DELETE", None).await;
    assert_eq!(calls.get(), 1, "the upstream saw the preflight");
    assert_eq!(
        allowed.status,
        StatusCode::OK,
        "the upstream's status is kept"
    );
    assert_eq!(allowed.json()["method"], "OPTIONS");
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        allowed.header("access-control-allow-methods"),
        Some("PUT, DELETE"),
        "the policy's methods, not the upstream's"
    );
    let refused = preflight(&gw.url("/fwd/x"), EVIL, "DELETE", None).await;
    assert_eq!(calls.get(), 2);
    assert!(!refused.has_cors_headers(), "{:?}", refused.headers);
    // Actual requests on the route still go through the layer.
    let actual = get(&gw.url("/fwd/x"), &[("origin", APP)]).await;
    assert_eq!(actual.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn report_only_counts_refusals_but_enforces_nothing() {
    let (upstream, calls) = echo_upstream().await;
    let routes = "[[routes]]\npath_prefix = \"/legacy\"\nmode = \"report-only\"\n";
    let gw = gateway(&config_text(upstream, routes)).await;
    let actual = get(&gw.url("/legacy/x"), &[("origin", EVIL)]).await;
    assert_eq!(
        actual.header("access-control-allow-origin"),
        Some("*"),
        "untouched"
    );
    let pre = preflight(&gw.url("/legacy/x"), EVIL, "PUT", None).await;
    assert_eq!(pre.status, StatusCode::OK, "the preflight went upstream");
    assert_eq!(calls.get(), 2);
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_cors_denied_total{kind=\"actual\",reason=\"origin_not_allowed\",report_only=\"true\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "corsica_cors_decisions_total{kind=\"preflight\",outcome=\"denied\",report_only=\"true\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "corsica_cors_decisions_total{kind=\"actual\",outcome=\"denied\",report_only=\"false\"}"),
        0.0
    );
}

#[tokio::test]
async fn debug_mode_explains_refusals() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "[log]\ndebug = true\n")).await;
    let reply = preflight(&gw.url("/x"), "https://app.example.co", "PUT", None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let why = reply.header("x-corsica-debug").expect("a reason");
    assert!(
        why.contains("not in the allowlist") && why.contains(APP),
        "{why}"
    );
}

#[tokio::test]
async fn forwarded_headers_are_added_and_hop_by_hop_headers_removed() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = get(
        &gw.url("/x"),
        &[
            ("host", "api.example:8080"),
            ("connection", "x-private"),
            ("x-private", "secret"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-host", "evil.example"),
            ("proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("te", "trailers"),
            ("x-kept", "1"),
        ],
    )
    .await;
    let echo = reply.json();
    let h = &echo["headers"];
    assert_eq!(h["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "api.example:8080");
    assert_eq!(h["host"], upstream.to_string(), "Host names the upstream");
    assert_eq!(h["x-kept"], "1");
    for gone in ["x-private", "proxy-authorization", "te", "upgrade"] {
        assert!(h.get(gone).is_none(), "{gone} was forwarded: {h}");
    }
    // The upstream's own hop-by-hop headers do not reach the client either.
    assert!(reply.header("keep-alive").is_none());
}

#[tokio::test]
async fn request_bodies_are_streamed_to_the_upstream() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    static BODY: [u8; 300_000] = [b'x'; 300_000];
    let reply = send(
        &client(),
        Method::POST,
        &gw.url("/upload"),
        &[("origin", APP), ("content-type", "text/plain")],
        &BODY,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["body_len"], 300_000);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn the_admin_listener_serves_health_and_metrics() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let admin = gw.admin.unwrap();
    let health = get(&format!("http://{admin}/healthz"), &[]).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(&health.body[..], b"ok");
    let _ = get(&gw.url("/x"), &[("origin", APP)]).await;
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_requests_total{kind=\"actual\"}"),
        1.0
    );
    assert!(metric(&text, "corsica_request_duration_seconds_count") >= 1.0);
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"connect\"}"),
        0.0
    );
}

#[tokio::test]
async fn routes_match_the_normal_form_of_the_path_which_is_what_the_upstream_is_sent() {
    let (upstream, _) = echo_upstream().await;
    let routes = r#"
[[routes]]
path_prefix = "/api/v1"
[routes.policy]
origins = ["https://v1.example"]
"#;
    let gw = gateway(&config_text(upstream, routes)).await;
    // Each of these is /api/v1/secret to most servers: it must get the
    // /api/v1 route's policy, not the default one.
    for path in [
        "//api/v1/secret",
        "///api//v1/secret",
        "/api/./v1/secret",
        "/api/x/../v1/secret",
        "/api/%76%31/secret",
        "/api/v1/%2e/secret",
    ] {
        let reply = get(&gw.url(path), &[("origin", APP)]).await;
        assert!(!reply.has_cors_headers(), "{path}: {:?}", reply.headers);
        assert_eq!(reply.json()["uri"], "/api/v1/secret", "{path}");
        let v1 = get(&gw.url(path), &[("origin", "https://v1.example")]).await;
        assert_eq!(
            v1.header("access-control-allow-origin"),
            Some("https://v1.example"),
            "{path}"
        );
        let pre = preflight(&gw.url(path), APP, "PUT", None).await;
        assert_eq!(pre.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Java servers read `;` as the end of a segment's name, so the route
    // with the prefix applies to `/api/v1;x/secret`.
    let reply = get(&gw.url("/api/v1;jsessionid=1/secret"), &[("origin", APP)]).await;
    assert!(!reply.has_cors_headers(), "{:?}", reply.headers);
    // Paths servers resolve in different ways are refused.
    for path in [
        "/public/..;/api/v1/secret",
        "/x/..%2Fapi/v1/secret",
        "/api\\v1/secret",
    ] {
        let reply = get(&gw.url(path), &[("origin", APP)]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.json()["error"], "bad_request", "{path}");
    }
    // The query is passed on as written; an encoded slash stays encoded.
    let reply = get(&gw.url("//api/v1/x?a=%2e%2e&b=//"), &[]).await;
    assert_eq!(reply.json()["uri"], "/api/v1/x?a=%2e%2e&b=//");
    let reply = get(&gw.url("/api%2Fv1/x"), &[("origin", APP)]).await;
    assert_eq!(reply.json()["uri"], "/api%2Fv1/x");
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn host_patterns_route_every_subdomain() {
    let (upstream, _) = echo_upstream().await;
    let routes = r#"
[[routes]]
path_prefix = "/"
host = "*.tenant.example"
[routes.policy]
origins = ["https://*.tenant.example"]
"#;
    let gw = gateway(&config_text(upstream, routes)).await;
    let tenant = get(
        &gw.url("/x"),
        &[
            ("origin", "https://a.tenant.example"),
            ("host", "a.tenant.example:8443"),
        ],
    )
    .await;
    assert_eq!(
        tenant.header("access-control-allow-origin"),
        Some("https://a.tenant.example")
    );
    let apex = get(
        &gw.url("/x"),
        &[
            ("origin", "https://a.tenant.example"),
            ("host", "tenant.example"),
        ],
    )
    .await;
    assert!(!apex.has_cors_headers(), "the apex is not a subdomain");
}

/// A host route cannot be sidestepped: not by the trailing dot of a fully
/// qualified name, nor by a `Host` that differs from an absolute-form
/// target's authority (which RFC 9112 §3.2.2 says wins).
#[tokio::test]
async fn host_routes_hold_for_final_dots_and_absolute_form_targets() {
    let (upstream, _) = echo_upstream().await;
    let routes = r#"
[[routes]]
path_prefix = "/"
host = "secure.example.com"
[routes.policy]
origins = ["https://app.example.com"]
"#;
    // The default policy allows any origin; the host route does not.
    let config = format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n[policy]\norigins = [\"*\"]\n{routes}"
    );
    let gw = gateway(&config).await;
    for host in [
        "secure.example.com",
        "SECURE.example.com.",
        "secure.example.com.:80",
    ] {
        let reply = get(&gw.url("/x"), &[("origin", EVIL), ("host", host)]).await;
        assert!(!reply.has_cors_headers(), "Host: {host} took another route");
    }
    let absolute = raw(
        gw.addr,
        format!(
            "GET http://secure.example.com/x HTTP/1.1\r\nHost: other.test\r\nOrigin: {EVIL}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert!(absolute.starts_with("HTTP/1.1 200"), "{absolute}");
    assert!(
        !absolute
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{absolute}"
    );
    let userinfo = raw(
        gw.addr,
        b"GET http://user:pw@secure.example.com/x HTTP/1.1\r\nHost: secure.example.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(userinfo.starts_with("HTTP/1.1 400"), "{userinfo}");
}

/// hyper's client drops a GET's body of unknown length unless told it is
/// chunked; the gateway must forward it as the client sent it.
#[tokio::test]
async fn a_chunked_get_body_reaches_the_upstream() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    for method in ["GET", "DELETE"] {
        let reply = raw(
            gw.addr,
            format!(
                "{method} /search HTTP/1.1\r\nHost: api.example\r\nOrigin: {APP}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("\"body_len\":7"), "{method}: {reply}");
        assert!(
            reply.contains(&format!("\"method\":\"{method}\"")),
            "{reply}"
        );
    }
    // A bodiless GET still goes without a body or framing field.
    let plain = get(&gw.url("/search"), &[("origin", APP)]).await;
    assert_eq!(plain.json()["body_len"], 0);
    assert!(plain.json()["headers"].get("transfer-encoding").is_none());
}
