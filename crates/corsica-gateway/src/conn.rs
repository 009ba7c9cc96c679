//! The service hyper drives for one client connection: counts the request,
//! picks its route in the current generation, and keeps the connection
//! marked busy until the response body is sent.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use corsica::RequestKind;
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

use crate::body::{Body, BodyError, UpstreamStalled};
use crate::client::{ClientInfo, MalformedTarget};
use crate::headers::routing_host;
use crate::metrics::UpstreamError;
use crate::path::PathError;
use crate::reply::Failure;
use crate::routes::{Generation, RouteFuture, RouteService};
use crate::timed_io::{ConnState, InFlight};

/// The route services of one connection, for one generation.
struct ConnRoutes {
    generation: Arc<Generation>,
    services: Vec<RouteService>,
}

/// What is known about a client connection when it is accepted.
pub(crate) struct Peer {
    /// The client's IP address, for `X-Forwarded-For`.
    pub(crate) ip: HeaderValue,
    /// `http` or `https`.
    pub(crate) proto: HeaderValue,
    /// The connection's state.
    pub(crate) conn: Arc<ConnState>,
    /// The worker thread serving it.
    pub(crate) worker: usize,
}

/// The per-connection service.
pub(crate) struct ConnService {
    current: Arc<ArcSwap<Generation>>,
    peer: Peer,
    // Built on the first request and rebuilt when the generation changes.
    // hyper calls the service from the connection's own task, one call at
    // a time, so a RefCell (no atomics) is enough.
    routes: RefCell<Option<ConnRoutes>>,
}

impl ConnService {
    /// A service for a new connection.
    pub(crate) fn new(current: Arc<ArcSwap<Generation>>, peer: Peer) -> Self {
        ConnService {
            current,
            peer,
            routes: RefCell::new(None),
        }
    }

    fn route(&self, mut req: Request<Incoming>) -> RouteFuture {
        let current = self.current.load();
        // `call` is never re-entered, so the cache is always free; were it
        // not, this request would build its own services instead of panicking.
        let mut own = None;
        let mut cached = self.routes.try_borrow_mut();
        let slot = match &mut cached {
            Ok(slot) => &mut **slot,
            Err(_) => &mut own,
        };
        let stale = match &*slot {
            Some(routes) => !Arc::ptr_eq(&routes.generation, &current),
            None => true,
        };
        if stale {
            let client = Arc::new(ClientInfo {
                ip: self.peer.ip.clone(),
                proto: self.peer.proto.clone(),
                conn: self.peer.conn.clone(),
                upstream: current.upstream_client(self.peer.worker),
            });
            *slot = Some(ConnRoutes {
                generation: Arc::clone(&current),
                services: current.services(&client),
            });
        }
        let Some(routes) = slot.as_mut() else {
            return no_route();
        };
        // Routed on the path in normal form, which is also what the
        // upstream is sent (see `crate::path`).
        let refused = normalize_target(&mut req).err();
        let malformed = refused.is_some();
        if let Some(error) = refused {
            req.extensions_mut().insert(MalformedTarget(error));
        }
        let host = routing_host(&req);
        // A target that is not a path (`CONNECT host:port`, `OPTIONS *`),
        // or a malformed one, goes to the catch-all route, whose proxy
        // refuses it with a 400 that carries that route's CORS headers.
        let path = Some(req.uri().path())
            .filter(|p| p.starts_with('/') && !malformed)
            .unwrap_or("/");
        match routes.generation.route_index(host, path) {
            Some(i) => match routes.services.get_mut(i) {
                Some(service) => service.call(req),
                None => no_route(),
            },
            None => no_route(),
        }
    }
}

/// Puts the request's path in normal form before it is routed; the query
/// is kept as it is.
fn normalize_target(req: &mut Request<Incoming>) -> Result<(), PathError> {
    let path = req.uri().path();
    if !path.starts_with('/') {
        return Ok(());
    }
    let Some(normal) = crate::path::normalize(path)? else {
        return Ok(());
    };
    let target = match req.uri().query() {
        Some(query) => format!("{normal}?{query}"),
        None => normal,
    };
    let mut parts = req.uri().clone().into_parts();
    // The normal form is made of the original's characters, so it parses.
    parts.path_and_query = Some(PathAndQuery::try_from(target).map_err(|_| PathError::Malformed)?);
    *req.uri_mut() = Uri::from_parts(parts).map_err(|_| PathError::Malformed)?;
    Ok(())
}

fn no_route() -> RouteFuture {
    RouteFuture::Proxy {
        inner: Box::pin(async { Ok(Failure::NoRoute.into_response()) }),
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<GuardedBody>;
    type Error = Infallible;
    type Future = ConnFuture;

    fn call(&self, req: Request<Incoming>) -> ConnFuture {
        let start = Instant::now();
        let guard = InFlight::request(&self.peer.conn);
        guard
            .state()
            .metrics
            .request(RequestKind::of(req.method(), req.headers()));
        ConnFuture {
            inner: self.route(req),
            start,
            guard: Some(guard),
        }
    }
}

pin_project! {
    /// A request's response future: times it and attaches the busy guard
    /// to the response body.
    pub(crate) struct ConnFuture {
        #[pin]
        inner: RouteFuture,
        start: Instant,
        guard: Option<InFlight>,
    }
}

impl Future for ConnFuture {
    type Output = Result<Response<GuardedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match ready!(this.inner.poll(cx)) {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let guard = this.guard.take();
        if let Some(guard) = &guard {
            guard
                .state()
                .metrics
                .duration(this.start.elapsed().as_secs_f64());
        }
        Poll::Ready(Ok(response.map(|body| GuardedBody { inner: body, guard })))
    }
}

/// A response body that keeps its connection marked busy until it is
/// sent (or dropped), so a long download is never taken for idleness.
#[derive(Debug)]
pub(crate) struct GuardedBody {
    inner: Body,
    guard: Option<InFlight>,
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let (Poll::Ready(Some(Err(error))), Some(guard)) = (&polled, &this.guard) {
            // Only an upstream's body fails, once its head has been passed
            // on: hyper then cuts the client's response short (or sends
            // nothing, if the head was not written yet) and closes the
            // connection, and says nothing. Say it here, and count it.
            let stalled = error.downcast_ref::<UpstreamStalled>().is_some();
            guard.state().metrics.upstream_error(if stalled {
                UpstreamError::Timeout
            } else {
                UpstreamError::Protocol
            });
            tracing::warn!(target: "corsica::gateway", %error, "the upstream's response body failed midway; the client's response is cut short");
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
