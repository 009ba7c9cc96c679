//! The proxy service: one request to the upstream, its response back.
//!
//! This is the service a route's `CorsLayer` wraps. Everything it answers
//! by itself (400, 413, 431, 502, 504, and 403 for a WebSocket handshake
//! from a refused origin) it answers *inside* the layer, so those responses
//! get the route's CORS headers like any other.
//!
//! WebSocket handshakes are proxied (both sides upgraded, bytes copied both
//! ways). Browsers do not apply CORS to WebSockets, so a page from any
//! origin could open one with the user's cookies (cross-site WebSocket
//! hijacking); the route's layer therefore checks the handshake's `Origin`
//! against the route's policy (`CorsLayer::check_websockets`), and the
//! proxy answers 403 to a handshake the layer's decision refuses. A
//! handshake without `Origin` comes from a non-browser client, which no
//! browser policy concerns, and is let through, as a non-CORS request is.
//! Report-only routes log the refusal and let the handshake through.
//!
//! The proxy never asks the engine itself: it reads the layer's decision
//! from the request's extensions ([`CorsDecision`]), and it marks its own
//! answers ([`ReportOnlyHeaders`]) so that a report-only layer gives them
//! the headers an allowed origin would get.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use corsica_tower::{CorsDecision, ReportOnlyHeaders};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use tower_service::Service;

use crate::body::Body;
use crate::client::{ClientInfo, MalformedTarget};
use crate::config::Limits;
use crate::headers::{
    accepts_trailers, head_size, is_valid_host, is_websocket_upgrade, strip_hop_by_hop,
    ForwardedFields,
};
use crate::metrics::{Metrics, UpstreamError};
use crate::reply::Failure;
use crate::upstream::{
    chain, classify, BodyFailure, BodyProgress, ExchangeError, Failed, Outgoing, RequestBody,
    Upstream,
};

/// The future of a proxied request.
pub(crate) type ProxyFuture =
    Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// What a route's proxy needs.
pub(crate) struct RouteProxy {
    /// Where requests go.
    pub(crate) upstream: Upstream,
    /// How long to wait for the upstream's response head.
    pub(crate) upstream_response: Duration,
    /// The longest pause in a client's request body.
    pub(crate) body_read: Duration,
    /// The longest silence of an open WebSocket tunnel.
    pub(crate) idle: Duration,
    /// Header and body limits.
    pub(crate) limits: Limits,
    /// Counters.
    pub(crate) metrics: Arc<Metrics>,
}

impl RouteProxy {
    /// A copy for one connection. Each request clones its `Arc` and the
    /// upstream's URL parts; with a copy per connection those reference
    /// counts are touched by one thread only, where one shared copy would
    /// bounce between cores on every request.
    pub(crate) fn for_connection(&self) -> RouteProxy {
        RouteProxy {
            upstream: self.upstream.deep_copy(),
            upstream_response: self.upstream_response,
            body_read: self.body_read,
            idle: self.idle,
            limits: self.limits,
            metrics: self.metrics.clone(),
        }
    }
}

/// The proxy for one route on one connection.
#[derive(Clone)]
pub(crate) struct Proxy {
    route: Arc<RouteProxy>,
    client: Arc<ClientInfo>,
}

impl Proxy {
    /// A proxy for `route`, serving the connection `client`.
    pub(crate) fn new(route: Arc<RouteProxy>, client: Arc<ClientInfo>) -> Self {
        Proxy { route, client }
    }
}

impl Proxy {
    /// The gateway's own refusal of a request its layer would answer
    /// without calling the proxy (a preflight), when the request breaks a
    /// rule every request is held to: a limit, a malformed target or Host.
    /// Without this check a preflight over `max_header_bytes` got 204 where
    /// the same head on a GET got 431.
    pub(crate) fn refusal(&self, req: &Request<Incoming>) -> Option<ProxyFuture> {
        let failure = check_request(req, &self.route.limits).err()?;
        if !http_body::Body::is_end_stream(req.body()) {
            self.client.conn.left_a_body_unread();
        }
        Some(Box::pin(std::future::ready(Ok(failure.into_response()))))
    }
}

impl Service<Request<Incoming>> for Proxy {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ProxyFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Always ready: the pooled client queues internally.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> ProxyFuture {
        // Everything up to sending is synchronous and done here, so that the
        // boxed future holds only the upstream request and the exchange (it
        // is moved into its box whole: the smaller, the cheaper).
        let has_body = !http_body::Body::is_end_stream(req.body());
        let Prepared {
            upstream_req,
            body,
            client_upgrade,
        } = match prepare(&self.route, &self.client, req) {
            Ok(prepared) => prepared,
            Err(failure) => {
                if has_body {
                    self.client.conn.left_a_body_unread();
                }
                return Box::pin(std::future::ready(Ok(answer(failure))));
            }
        };
        Box::pin(exchange(
            self.route.clone(),
            self.client.clone(),
            upstream_req,
            body,
            client_upgrade,
        ))
    }
}

/// The gateway's own answer to `failure`. It is made inside the route's
/// layer (on routes with a policy), which writes the route's CORS headers
/// onto it as onto any response. The mark asks a report-only layer, which
/// leaves the upstream's responses untouched, to write them too: without
/// them the page could not read why its request failed.
fn answer(failure: Failure) -> Response<Body> {
    let mut response = failure.into_response();
    response.extensions_mut().insert(ReportOnlyHeaders);
    response
}

/// A request checked and rewritten for the upstream.
struct Prepared {
    upstream_req: Outgoing,
    /// The request body's progress, if it has a body.
    body: Option<Arc<BodyProgress>>,
    /// The client side of a WebSocket handshake, to tunnel after a 101.
    client_upgrade: Option<OnUpgrade>,
}

/// Checks a request and rewrites it for the upstream.
fn prepare(
    route: &RouteProxy,
    client: &ClientInfo,
    mut req: Request<Incoming>,
) -> Result<Prepared, Failure> {
    check_request(&req, &route.limits)?;
    let websocket = is_websocket_upgrade(&req);
    if websocket {
        check_websocket_origin(&req)?;
        if route.upstream.is_h2c() {
            tracing::warn!(target: "corsica::gateway", upstream = route.upstream.display(), "WebSocket handshake on a route with upstream_http2 = true: HTTP/2 cannot carry the upgrade; give WebSocket paths a route of their own without upstream_http2");
            return Err(Failure::WebSocketOverHttp2);
        }
    }
    let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
    let (upstream_req, fields) = upstream_request(route, client, req, websocket)?;
    let body = upstream_req.body().progress();
    Ok(Prepared {
        upstream_req: client
            .upstream
            .prepare(&route.upstream, upstream_req, &fields),
        body,
        client_upgrade,
    })
}

/// Sends one request upstream and answers with the upstream's response,
/// or with the gateway's own error. `client_upgrade` is the client side of
/// a WebSocket handshake.
///
/// One block that owns what it needs, not an `async fn` awaited inside
/// another: each of those keeps its own copy of its arguments (the
/// request, 280 bytes), and this future is boxed on every request. Kept
/// under 1 KiB, its box comes from the allocator's per-thread cache.
#[allow(clippy::manual_async_fn)]
fn exchange(
    route: Arc<RouteProxy>,
    client: Arc<ClientInfo>,
    upstream_req: Outgoing,
    body: Option<Arc<BodyProgress>>,
    client_upgrade: Option<OnUpgrade>,
) -> impl Future<Output = Result<Response<Body>, Infallible>> + Send {
    async move {
        let websocket = client_upgrade.is_some();
        let pending = client.upstream.send(
            &route.upstream,
            upstream_req,
            route.upstream_response,
            body.clone(),
        );
        let mut response = match pending.await {
            Ok(response) => response,
            Err(error) => {
                let failure = match body.as_ref().and_then(|b| b.failure()) {
                    Some(raised) => body_failure(raised),
                    None => failed(&route, &error),
                };
                // Answered with the body still on its way: linger on close,
                // so that the client reads this answer (see `crate::linger`).
                if body.as_ref().is_some_and(|b| !b.is_ended()) {
                    client.conn.left_a_body_unread();
                }
                return Ok(answer(failure));
            }
        };
        let upgraded = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        if upgraded && !websocket {
            // Only a handshake may be answered with 101; relayed, it would
            // leave the client's connection in a protocol nobody speaks.
            route.metrics.upstream_error(UpstreamError::Protocol);
            tracing::warn!(target: "corsica::gateway", upstream = route.upstream.display(), "upstream answered 101 Switching Protocols to a request that asked for no upgrade");
            return Ok(answer(Failure::UpstreamProtocol));
        }
        if let (true, Some(client_upgrade)) = (upgraded, client_upgrade) {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            crate::tunnel::open(client_upgrade, upstream_upgrade, &client.conn, route.idle);
        }
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers, upgraded && websocket);
        // The client connection has its own version; hyper frames the answer.
        parts.version = Version::HTTP_11;
        Ok(Response::from_parts(
            parts,
            Body::upstream(body, route.upstream_response),
        ))
    }
}

/// Refuses requests the gateway cannot or must not forward.
fn check_request(req: &Request<Incoming>, limits: &Limits) -> Result<(), Failure> {
    if req.method() == Method::CONNECT {
        return Err(Failure::BadRequest(
            "CONNECT is not supported: the gateway is a reverse proxy, not a tunnel",
        ));
    }
    if !req.uri().path().starts_with('/') {
        return Err(Failure::BadRequest(
            "the request target must be a path such as /items",
        ));
    }
    if let Some(MalformedTarget(error)) = req.extensions().get::<MalformedTarget>() {
        return Err(Failure::BadRequest(error.reason()));
    }
    if req
        .uri()
        .authority()
        .is_some_and(|a| a.as_str().contains('@'))
    {
        // RFC 9110 §4.2.4: userinfo in an http(s) URI is an error.
        return Err(Failure::BadRequest(
            "the request target has userinfo (user@host), which HTTP does not allow",
        ));
    }
    if let Some(authority) = req.uri().authority() {
        if !is_valid_host(authority.as_str().as_bytes()) {
            return Err(Failure::BadRequest(
                "the request target's host is not a valid host[:port]",
            ));
        }
    }
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => {
            return Err(Failure::BadRequest(
                "the request has more than one Host header",
            ))
        }
        (Some(host), None) => {
            if !is_valid_host(host.as_bytes()) {
                return Err(Failure::BadRequest(
                    "the Host header is not a valid host[:port]",
                ));
            }
            // RFC 9113 §8.3.1: an HTTP/2 request whose Host names another
            // entity than its :authority is malformed. Routing follows
            // :authority, an upstream may follow Host: refusing the pair
            // keeps the two from disagreeing, as two Host fields are refused.
            if req.version() == Version::HTTP_2 {
                if let Some(authority) = req.uri().authority() {
                    if !host
                        .as_bytes()
                        .eq_ignore_ascii_case(authority.as_str().as_bytes())
                    {
                        return Err(Failure::BadRequest(
                            "the Host header differs from the :authority of this HTTP/2 request",
                        ));
                    }
                }
            }
        }
        (None, _) => {
            if req.version() == Version::HTTP_11 && req.uri().authority().is_none() {
                return Err(Failure::BadRequest("the request has no Host header"));
            }
        }
    }
    if head_size(req) > limits.max_header_bytes {
        return Err(Failure::HeadersTooLarge);
    }
    // A declared length over the limit is refused before reading a byte.
    if http_body::Body::size_hint(req.body()).lower() > limits.max_body_bytes {
        return Err(Failure::BodyTooLarge {
            limit: limits.max_body_bytes,
        });
    }
    Ok(())
}

/// Refuses a WebSocket handshake from an origin the route's policy
/// refuses, as the route's layer judged (and logged) it.
fn check_websocket_origin(req: &Request<Incoming>) -> Result<(), Failure> {
    match req.extensions().get::<CorsDecision>() {
        Some(decision) if decision.refuses_websocket() => Err(Failure::WebSocketOrigin),
        _ => Ok(()),
    }
}

/// Rewrites the client's request for the upstream, but for the gateway's
/// own fields, which go on it as it is prepared for its client (see
/// [`ForwardedFields`]).
fn upstream_request<'a>(
    route: &'a RouteProxy,
    client: &'a ClientInfo,
    req: Request<Incoming>,
    websocket: bool,
) -> Result<(Request<RequestBody>, ForwardedFields<'a>), Failure> {
    let (mut parts, body) = req.into_parts();
    // The host the request was routed by (see `crate::headers::routing_host`).
    let client_host = match parts.uri.authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => parts.headers.get(header::HOST).cloned(),
    };
    // gRPC servers refuse calls without `te: trailers`, the one TE value
    // HTTP/2 allows; the gateway relays trailers, so it may pass it on.
    let te_trailers = route.upstream.may_use_http2() && accepts_trailers(&parts.headers);
    strip_hop_by_hop(&mut parts.headers, websocket);
    if needs_explicit_chunking(&parts, &body) {
        parts.headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
    }
    if te_trailers {
        parts
            .headers
            .insert(header::TE, HeaderValue::from_static("trailers"));
    }
    parts.uri = route
        .upstream
        .request_target(parts.uri.path_and_query())
        .map_err(|_| Failure::BadRequest("the request path cannot be forwarded"))?;
    // The pooled client picks HTTP/1.1 or HTTP/2 per upstream connection.
    parts.version = Version::HTTP_11;
    let fields = ForwardedFields {
        // Rendered once per route, it spares the pooled client formatting
        // it per request.
        upstream_host: route.upstream.host(),
        client_ip: &client.ip,
        proto: &client.proto,
        client_host,
    };
    let req = Request::from_parts(
        parts,
        RequestBody::new(body, route.limits.max_body_bytes, route.body_read),
    );
    Ok((req, fields))
}

/// Whether a request's body must be declared chunked for hyper's HTTP/1.1
/// client to send it. Given a body of unknown length (chunked from the
/// client, or HTTP/2 DATA frames without `content-length`), hyper sends it
/// chunked, except on GET and HEAD, whose bodies it assumes empty and drops
/// unless `Transfer-Encoding` says otherwise; the client's own field went
/// with the other hop-by-hop ones. (HTTP/2 upstreams strip it again.)
fn needs_explicit_chunking(parts: &http::request::Parts, body: &Incoming) -> bool {
    matches!(parts.method, Method::GET | Method::HEAD)
        && !http_body::Body::is_end_stream(body)
        && http_body::Body::size_hint(body).exact().is_none()
        && !parts.headers.contains_key(header::CONTENT_LENGTH)
}

/// The answer to a request body failure the gateway raised itself, which
/// the error of an HTTP/2 upstream exchange does not carry.
fn body_failure(raised: BodyFailure) -> Failure {
    match raised {
        BodyFailure::TooLarge(limit) => Failure::BodyTooLarge { limit },
        BodyFailure::Stalled(after) => {
            tracing::info!(target: "corsica::gateway", ?after, "the client stopped sending its request body");
            Failure::BodyTimeout { after }
        }
    }
}

/// Turns a client error into the client's answer, counting upstream faults.
fn failed(route: &RouteProxy, error: &ExchangeError) -> Failure {
    match classify(error) {
        Failed::BodyTooLarge(limit) => Failure::BodyTooLarge { limit },
        Failed::ClientBody => Failure::BadRequest("the request body could not be read"),
        Failed::ClientBodyStalled(after) => {
            tracing::info!(target: "corsica::gateway", ?after, "the client stopped sending its request body");
            Failure::BodyTimeout { after }
        }
        Failed::Upstream(kind) => {
            route.metrics.upstream_error(kind);
            if error.is_late() {
                tracing::warn!(target: "corsica::gateway", upstream = route.upstream.display(), timeout = ?route.upstream_response, error = %chain(error), "upstream did not answer in time");
            } else {
                tracing::warn!(target: "corsica::gateway", upstream = route.upstream.display(), error = %chain(error), "upstream request failed");
            }
            match kind {
                UpstreamError::Connect => Failure::UpstreamUnavailable,
                UpstreamError::Timeout => Failure::UpstreamTimeout,
                UpstreamError::Protocol => Failure::UpstreamProtocol,
            }
        }
    }
}
