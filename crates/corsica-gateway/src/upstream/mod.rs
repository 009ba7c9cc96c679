//! The upstream side: one way for the rest of the gateway to reach any
//! upstream ([`UpstreamClient`]), where requests go ([`Upstream`]), their
//! bodies both ways, and what a failure means ([`classify`]).
//!
//! Each worker thread has one [`UpstreamClient`] for every route:
//! `http://` upstreams speak HTTP/1.1 over the worker's own pool (`pool`:
//! the gateway's own client in `h1` for requests without a body, hyper's
//! HTTP/1.1 connections for the rest), or HTTP/2 with prior knowledge
//! (h2c) with `upstream_http2 = true`; `https://` upstreams go through
//! hyper-util's pooled clients (`hyper_client`). Connections are pooled and
//! reused across requests and reloads. Whatever the client, a request is
//! [`UpstreamClient::prepare`]d, then [`UpstreamClient::send`]: the response
//! head is awaited within `timeouts.upstream_response` (`deadline`), and the
//! [`ResponseBody`] returns its connection to the pool at its end.
//!
//! WebSocket handshakes take the same way; after a 101 the upgrade is
//! taken off the response with `hyper::upgrade::on`, and the connection
//! belongs to the tunnel (it is never pooled again).
//!
//! Inside, each module uses only those listed after it: `error` (what a
//! failure means) · `pool` (the worker's HTTP/1.1 pool) · `response_body`
//! (bodies that return their connection) · `idle` (the idle connections) ·
//! `hyper_client` (https, h2c) · `deadline` (the response head's) ·
//! `request_body` (limits, pauses, progress) · `stall` (a body's pause
//! timer) · `whole` (a body in one piece) · `h1` (the gateway's own client)
//! · `target` (where requests go).

mod deadline;
mod error;
pub(crate) mod h1;
mod hyper_client;
mod idle;
mod pool;
mod request_body;
mod response_body;
mod stall;
mod target;
mod whole;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use futures_util::TryFutureExt;
use http::{Request, Response};
use rustls::pki_types::CertificateDer;

use crate::headers::ForwardedFields;
use crate::metrics::Metrics;
use deadline::HeadDeadline;
use hyper_client::HyperClients;
use pool::{H1Pool, PoolRequest};

pub(crate) use error::{chain, classify, ExchangeError, Failed};
pub(crate) use request_body::{BodyFailure, BodyProgress, RequestBody};
pub(crate) use response_body::{BodyError, ResponseBody};
pub(crate) use stall::StallTimer;
pub(crate) use target::Upstream;
pub(crate) use whole::Whole;

/// A worker's way to every upstream.
#[derive(Clone)]
pub(crate) struct UpstreamClient {
    /// For `https://` and h2c upstreams.
    hyper: HyperClients,
    /// For plain `http://` upstreams.
    plain: H1Pool,
}

/// A request ready for its upstream ([`UpstreamClient::prepare`]).
pub(crate) enum Outgoing {
    /// For the worker's own HTTP/1.1 pool.
    Plain(PoolRequest),
    /// For a hyper-util pooled client (https, h2c).
    Pooled(Request<RequestBody>),
}

impl UpstreamClient {
    /// Gets a request whose URI is [`Upstream::request_target`] ready to
    /// send to `upstream`. Called as soon as the request is rewritten,
    /// before hyper reads the client connection again: the worker's pool
    /// serializes a bodiless request's head here (see `DirectRequest` in
    /// `pool`). The gateway's own `fields` go on it.
    #[inline]
    pub(crate) fn prepare(
        &self,
        upstream: &Upstream,
        mut req: Request<RequestBody>,
        fields: &ForwardedFields<'_>,
    ) -> Outgoing {
        if upstream.uses_own_pool() {
            Outgoing::Plain(self.plain.prepare(
                upstream.authority(),
                req,
                fields,
                upstream.keepalive(),
            ))
        } else {
            fields.apply(req.headers_mut());
            Outgoing::Pooled(req)
        }
    }

    /// Sends a prepared request to `upstream`, and gives up on its
    /// response head after `wait` (`timeouts.upstream_response`): from
    /// now, or with the request body's `progress`, from its last step (see
    /// `deadline`).
    ///
    /// Not an `async fn`: that would keep its own copy of `req` beside the
    /// one the pool's future holds, and every proxied request's future
    /// would carry both (it is moved into its box whole; see `H1Pool::send`).
    pub(crate) fn send<'a>(
        &'a self,
        upstream: &'a Upstream,
        req: Outgoing,
        wait: Duration,
        progress: Option<Arc<BodyProgress>>,
    ) -> impl Future<Output = Result<Response<ResponseBody>, ExchangeError>> + Send + 'a {
        let deadline = HeadDeadline::new(wait, progress);
        let req = match req {
            Outgoing::Plain(req) => {
                return Either::Left(
                    self.plain
                        .send(upstream.authority(), req, deadline, upstream.keepalive())
                        .map_err(ExchangeError::Plain),
                )
            }
            Outgoing::Pooled(req) => req,
        };
        // Boxed, so that the own pool's requests do not carry the size of
        // hyper-util's futures.
        let pending = self.hyper.request(req, upstream.is_h2c());
        Either::Right(Box::pin(async move {
            match deadline.run(pending).await {
                Some(Ok(response)) => Ok(response.map(ResponseBody::unpooled)),
                Some(Err(error)) => Err(ExchangeError::Pooled(error)),
                None => Err(ExchangeError::TimedOut),
            }
        }))
    }
}

/// One client per worker thread (see [`crate::Options::threads`]).
pub(crate) fn clients(
    connect_timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
    count: usize,
    metrics: &Arc<Metrics>,
) -> Result<Vec<UpstreamClient>, rustls::Error> {
    (0..count.max(1))
        .map(|_| {
            Ok(UpstreamClient {
                hyper: HyperClients::new(connect_timeout, extra_roots)?,
                plain: H1Pool::new(connect_timeout, metrics.clone()),
            })
        })
        .collect()
}
