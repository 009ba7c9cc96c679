//! The route table: one `CorsLayer` per route, built from a validated
//! configuration, and swapped whole on reload.
//!
//! A [`Generation`] is everything that one configuration produces: the
//! routes with their layers and proxies, the HTTP server settings and the
//! TLS acceptor. Reloading builds a new generation and swaps it in
//! atomically; a request uses the generation it started on from start to
//! end, so requests in flight finish on the old one and no request ever
//! sees half of each.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use corsica::RequestKind;
use corsica_tower::{Cors, CorsEvent, CorsLayer, ResponseFuture};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use pin_project_lite::pin_project;
use rustls::pki_types::CertificateDer;
use tokio_rustls::TlsAcceptor;
use tower::Layer;
use tower_service::Service;

use crate::body::Body;
use crate::client::ClientInfo;
use crate::config::{GatewayConfig, Mode, RouteCors};
use crate::metrics::Metrics;
use crate::proxy::{Proxy, ProxyFuture, RouteProxy};
use crate::upstream::{Upstream, UpstreamClient};

/// Everything one configuration produces.
pub(crate) struct Generation {
    /// Counts reloads; 0 is the configuration the gateway started with.
    pub(crate) id: u64,
    /// The configuration (its routes are parallel to `routes`).
    pub(crate) config: GatewayConfig,
    /// One entry per `config.routes`.
    routes: Vec<RouteEntry>,
    /// The pooled upstream clients, one per worker thread, kept across
    /// reloads when possible.
    pub(crate) clients: Vec<UpstreamClient>,
    /// The CA certificates `clients` trust beyond the webpki roots: a
    /// reload keeps the clients (and their pooled connections) while these
    /// and the connect timeout stay the same.
    pub(crate) upstream_roots: Vec<CertificateDer<'static>>,
    /// TLS termination, when configured.
    pub(crate) tls: Option<TlsAcceptor>,
    /// Connection settings for new client connections.
    pub(crate) http: auto::Builder<TokioExecutor>,
    /// The origin sets this generation's policies read: held here so that
    /// their sync tasks run while any generation uses them, and a reload
    /// that keeps a set keeps its connection and snapshot.
    _stores: Vec<Arc<corsica_store::StoreSet>>,
}

/// A route's proxy and CORS layer.
struct RouteEntry {
    proxy: Arc<RouteProxy>,
    cors: RouteLayer,
}

enum RouteLayer {
    /// `cors = false`: untouched pass-through.
    Off,
    /// The route's policy (with `forward_preflight`, the layer sends
    /// preflights upstream and writes the policy's answer onto the reply).
    On(CorsLayer),
}

impl Generation {
    /// Builds the routes for `config`. Fails only if a validated upstream
    /// URL lacks its scheme or host, which validation rules out.
    pub(crate) fn build(
        id: u64,
        config: GatewayConfig,
        (clients, upstream_roots): (Vec<UpstreamClient>, Vec<CertificateDer<'static>>),
        tls: Option<TlsAcceptor>,
        metrics: &Arc<Metrics>,
        origin_stores: &corsica_store::OriginStores,
    ) -> Result<Generation, String> {
        if clients.is_empty() {
            return Err("no upstream client".into());
        }
        let mut routes = Vec::with_capacity(config.routes.len());
        let mut stores = Vec::new();
        for route in &config.routes {
            let upstream = Upstream::new(&route.upstream, route.upstream_http2)
                .ok_or_else(|| format!("upstream {} has no scheme or host", route.upstream))?
                .with_keepalive(route.keepalive);
            let cors = match &route.cors {
                RouteCors::Off => RouteLayer::Off,
                RouteCors::Policy {
                    policy,
                    mode,
                    forward_preflight,
                } => {
                    let counter = metrics.clone();
                    let layer = CorsLayer::new((**policy).clone())
                        .debug(config.debug)
                        .report_only(*mode == Mode::ReportOnly)
                        // Report-only already sends preflights upstream untouched.
                        .forward_preflights(*forward_preflight && *mode == Mode::Enforce)
                        // Browsers apply no CORS to WebSockets; the proxy
                        // refuses the handshakes the layer's decision refuses.
                        .check_websockets(true)
                        // The proxy reads only those refusals: the other
                        // decisions would cost an extensions map a request.
                        .every_decision_to_inner(false)
                        .with_observer(move |event: &CorsEvent<'_>| counter.observe(event));
                    let layer = match policy.origin_store() {
                        Some(store) => {
                            let set = origin_stores.get(store, policy.origin_rules());
                            let layer = layer.with_store(set.live().clone());
                            stores.push(set);
                            layer
                        }
                        None => layer,
                    };
                    RouteLayer::On(layer)
                }
            };
            let proxy = Arc::new(RouteProxy {
                upstream,
                upstream_response: config.timeouts.upstream_response,
                body_read: config.timeouts.body_read,
                idle: config.timeouts.idle,
                limits: config.limits,
                metrics: metrics.clone(),
            });
            routes.push(RouteEntry { proxy, cors });
        }
        let http = http_builder(&config);
        Ok(Generation {
            id,
            config,
            routes,
            clients,
            upstream_roots,
            tls,
            http,
            _stores: stores,
        })
    }

    /// The upstream client for a worker thread.
    pub(crate) fn upstream_client(&self, worker: usize) -> UpstreamClient {
        // `build` refuses an empty list, so the modulo is well defined.
        self.clients[worker % self.clients.len()].clone()
    }

    /// The index of the route for a host (without port) and path.
    pub(crate) fn route_index(&self, host: Option<&str>, path: &str) -> Option<usize> {
        crate::router::route_index(&self.config.routes, host, path)
    }

    /// The route services for one client connection, parallel to the routes.
    pub(crate) fn services(&self, client: &Arc<ClientInfo>) -> Vec<RouteService> {
        self.routes
            .iter()
            .map(|entry| {
                let proxy = Proxy::new(Arc::new(entry.proxy.for_connection()), client.clone());
                match &entry.cors {
                    RouteLayer::Off => RouteService::Plain(proxy),
                    RouteLayer::On(layer) => RouteService::Cors {
                        checks: proxy.clone(),
                        layer: layer.layer(proxy),
                    },
                }
            })
            .collect()
    }
}

/// The HTTP/1.1 and HTTP/2 server settings for client connections.
fn http_builder(config: &GatewayConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's read buffer bounds a request head in memory; it cannot be
    // smaller than 8 KiB. The configured limit is checked per request, by
    // the proxy, whose 431 carries the route's CORS headers; hyper's own,
    // bare 431 is kept for heads over twice the limit, which no client
    // that only went a little over it sends.
    let head_room = config.limits.max_header_bytes.saturating_mul(2);
    let buffer = head_room.saturating_add(8 * 1024);
    builder
        .http1()
        .timer(TokioTimer::new())
        // Header-read and idle timeouts are measured by `TimedIo`: hyper's
        // would also close idle keep-alive connections after `header_read`.
        .header_read_timeout(None)
        .max_buf_size(buffer)
        .keep_alive(true);
    if config.limits.max_header_count != crate::config::DEFAULT_MAX_HEADER_COUNT {
        // hyper parses a head on the stack up to 100 fields, on the heap past.
        builder.http1().max_headers(config.limits.max_header_count);
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(head_room).unwrap_or(u32::MAX));
    builder
}

/// A route's service on one connection.
pub(crate) enum RouteService {
    /// `cors = false`.
    Plain(Proxy),
    /// The route's layer around the proxy.
    Cors {
        /// The proxy again, for the checks every request must pass, which
        /// a preflight the layer answers would otherwise skip.
        checks: Proxy,
        /// The layer around the proxy.
        layer: Cors<Proxy>,
    },
}

impl RouteService {
    /// Handles one request. The services are always ready (`Proxy` is, and
    /// `Cors` is when its inner service is), so `poll_ready` is not needed.
    pub(crate) fn call(&mut self, req: Request<Incoming>) -> RouteFuture {
        match self {
            RouteService::Plain(proxy) => RouteFuture::Proxy {
                inner: proxy.call(req),
            },
            RouteService::Cors { checks, layer } => {
                // A preflight is answered by the layer, so the proxy's
                // checks run here first: every request over a limit gets
                // the gateway's own answer, whichever part would have
                // answered it. The answer carries no CORS headers; a
                // preflight fails on any status that is not 2xx anyway.
                if RequestKind::of(req.method(), req.headers()) == RequestKind::Preflight {
                    if let Some(refusal) = checks.refusal(&req) {
                        return RouteFuture::Proxy { inner: refusal };
                    }
                }
                RouteFuture::Cors {
                    inner: layer.call(req),
                }
            }
        }
    }
}

pin_project! {
    /// The response future of a [`RouteService`].
    #[project = RouteFutureProj]
    pub(crate) enum RouteFuture {
        /// Through a `CorsLayer`.
        Cors { #[pin] inner: ResponseFuture<ProxyFuture, Body> },
        /// Straight from the proxy.
        Proxy { #[pin] inner: ProxyFuture },
    }
}

impl Future for RouteFuture {
    type Output = Result<Response<Body>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RouteFutureProj::Cors { inner } => inner.poll(cx),
            RouteFutureProj::Proxy { inner } => inner.poll(cx),
        }
    }
}
