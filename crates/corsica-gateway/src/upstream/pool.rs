//! A worker's own pool of HTTP/1.1 connections to `http://` upstreams.
//!
//! hyper-util's pooled client serves every upstream well but does a lot
//! per request that a worker thread talking to a plain HTTP/1.1 upstream
//! does not need: it hashes a pool key, wraps the connection in lazy
//! connect-or-checkout futures, clones its connector, and spawns a task per
//! request to put the connection back once it is idle. Profiled, that was
//! about a tenth of the gateway's user-space time per proxied request. This
//! pool keeps, per worker, a stack of idle connections (most recently used
//! first) of two kinds: the gateway's own inline connections for requests
//! without a body ([`super::h1`]), and hyper client connections for the
//! rest. A connection goes back on the stack when its response body has
//! been read to the end and it can take the next request (for hyper, when
//! the request body is done uploading too: it may still be after an early
//! response). Idle connections are closed after a minute, by a sweeper
//! task per pool. `https://` upstreams (TLS, ALPN, HTTP/2) stay on the
//! pooled client.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use http::uri::Authority;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::deadline::HeadDeadline;
use super::h1;
use super::idle::{HyperConn, IdleConns};
use super::request_body::RequestBody;
use super::response_body::{Checkin, ResponseBody};
use crate::headers::ForwardedFields;
use crate::metrics::Metrics;
use crate::router::Keepalive;

/// TCP keepalive probes on upstream connections start after this much
/// silence, so a pooled connection to a vanished host is noticed.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// A worker's HTTP/1.1 connections to plain-HTTP upstreams.
#[derive(Clone)]
pub(crate) struct H1Pool {
    /// Shared with the response bodies, which return their connections.
    idle: Arc<IdleConns>,
    connect_timeout: Duration,
}

/// A request on its way through the pool (see [`H1Pool::prepare`]).
pub(crate) enum PoolRequest {
    /// Without a body: for the inline client, its head written out.
    Direct(DirectRequest),
    /// With a body, or a handshake: for hyper's client.
    Hyper(Request<RequestBody>),
}

/// A request without a body, its head serialized as soon as it is
/// prepared, and the rest of it dropped.
///
/// The request's URI and header values are slices of hyper's read buffer
/// for the client connection. While a request is in flight, hyper reads
/// that connection again (to notice the client leaving), and first makes
/// room in the buffer: if any slice of it is still alive, it cannot reuse
/// it and allocates a new one, 8 KiB, then frees the old one when the
/// request ends: some 500 instructions per proxied request, 2 % of the
/// gateway's user-space work (bench/instructions.sh). hyper reads again right
/// after handing the request over, before its future is first polled, so
/// the head is written out here, in the service's `call`.
pub(crate) struct DirectRequest {
    method: Method,
    /// `method target HTTP/1.1`, the header fields and the blank line.
    head: Vec<u8>,
    /// Emptied: the storage of the response's header map.
    headers: HeaderMap,
    /// The idle connection taken for the request, if there was one.
    conn: Option<Box<h1::Conn>>,
}

impl DirectRequest {
    /// Serializes `req`'s head with the gateway's `fields`, into `conn`'s
    /// buffer if there is one.
    fn new(
        req: Request<RequestBody>,
        fields: &ForwardedFields<'_>,
        mut conn: Option<Box<h1::Conn>>,
    ) -> DirectRequest {
        let (parts, _empty) = req.into_parts();
        let http::request::Parts {
            method,
            uri,
            mut headers,
            ..
        } = parts;
        let mut head = conn
            .as_mut()
            .map_or_else(|| Vec::with_capacity(512), |conn| conn.lend_head_buffer());
        let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
        h1::write_request_head(&mut head, &method, target, |field| {
            fields.for_each(&headers, field)
        });
        headers.clear();
        DirectRequest {
            method,
            head,
            headers,
            conn,
        }
    }
}

/// Why an exchange through the pool failed.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No connection could be made (refused, unreachable, DNS).
    Connect(io::Error),
    /// The connect timeout passed.
    ConnectTimeout(Duration),
    /// The HTTP exchange failed (reset, garbage, the request body's error).
    Http(hyper::Error),
    /// The gateway's own exchange failed (reset, garbage).
    Direct(h1::ExchangeError),
    /// The response head did not come by the deadline.
    TimedOut,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Connect(_) => f.write_str("could not connect to the upstream"),
            SendError::ConnectTimeout(after) => {
                write!(f, "could not connect to the upstream within {after:?}")
            }
            SendError::Http(_) | SendError::Direct(_) => {
                f.write_str("the upstream exchange failed")
            }
            SendError::TimedOut => f.write_str("the upstream did not answer in time"),
        }
    }
}

impl StdError for SendError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            SendError::Connect(e) => Some(e),
            SendError::ConnectTimeout(_) | SendError::TimedOut => None,
            SendError::Http(e) => Some(e),
            SendError::Direct(e) => Some(e),
        }
    }
}

impl H1Pool {
    /// An empty pool whose new connections give up after `connect_timeout`.
    pub(crate) fn new(connect_timeout: Duration, metrics: Arc<Metrics>) -> H1Pool {
        H1Pool {
            idle: Arc::new(IdleConns::new(metrics)),
            connect_timeout,
        }
    }

    /// Gets `req` (its URI in origin form) ready to send to `authority`,
    /// at once, before the request's future is first polled: a request
    /// without a body takes an idle connection of the inline client and
    /// has its head serialized now (see [`DirectRequest`]).
    /// The gateway's own `fields` go on it either way.
    pub(crate) fn prepare(
        &self,
        authority: &Authority,
        mut req: Request<RequestBody>,
        fields: &ForwardedFields<'_>,
        keepalive: Keepalive,
    ) -> PoolRequest {
        let for_hyper = !req.body().is_end_stream() || req.headers().contains_key(header::UPGRADE);
        let conn = if for_hyper || !keepalive.enabled {
            None
        } else {
            self.idle.checkout_direct(authority)
        };
        // hyper's client reuses its idle connection for this request
        // rather than have a new one opened.
        if for_hyper || (conn.is_none() && keepalive.enabled && self.idle.has_idle_hyper(authority))
        {
            fields.apply(req.headers_mut());
            return PoolRequest::Hyper(req);
        }
        PoolRequest::Direct(DirectRequest::new(req, fields, conn))
    }

    /// Sends a prepared request over its connection, an idle one or a new
    /// one, and gives up on its response head at `deadline`. A request
    /// that a reused connection could not take (the upstream closed it
    /// while it was idle) is retried on another, as it was never sent.
    ///
    /// Not an `async fn`, so that the request is held once, by the future
    /// that sends it (see `UpstreamClient::send`).
    pub(crate) fn send<'a>(
        &'a self,
        authority: &'a Authority,
        req: PoolRequest,
        deadline: HeadDeadline,
        keepalive: Keepalive,
    ) -> impl Future<Output = Result<Response<ResponseBody>, SendError>> + Send + 'a {
        match req {
            PoolRequest::Direct(req) => {
                Either::Left(self.send_direct(authority, req, deadline.at(), keepalive))
            }
            // Boxed: hyper's handshake and send futures are kilobytes, and
            // every request's future (the common, bodiless ones too) would
            // otherwise be as large as they are and be copied whole into
            // its box.
            PoolRequest::Hyper(req) => Either::Right(Box::pin(
                self.send_hyper_by(authority, req, deadline, keepalive),
            )),
        }
    }

    /// [`H1Pool::send_hyper`], given up at `deadline`.
    async fn send_hyper_by(
        &self,
        authority: &Authority,
        req: Request<RequestBody>,
        deadline: HeadDeadline,
        keepalive: Keepalive,
    ) -> Result<Response<ResponseBody>, SendError> {
        deadline
            .run(self.send_hyper(authority, req, keepalive))
            .await
            .unwrap_or(Err(SendError::TimedOut))
    }

    /// A request with a body, or a handshake: through hyper's client.
    async fn send_hyper(
        &self,
        authority: &Authority,
        mut req: Request<RequestBody>,
        keepalive: Keepalive,
    ) -> Result<Response<ResponseBody>, SendError> {
        loop {
            // An idle connection of the inline client is taken over rather
            // than a new one opened, so that mixed traffic does not double
            // the connections to the upstream.
            // `keepalive = false`: always a new connection.
            let idle_hyper = keepalive
                .enabled
                .then(|| self.idle.checkout_hyper(authority))
                .flatten();
            let idle_direct = || {
                keepalive
                    .enabled
                    .then(|| self.idle.checkout_direct(authority))
                    .flatten()
            };
            let (mut conn, reused) = match idle_hyper {
                Some(conn) => (conn, true),
                None => match idle_direct() {
                    Some(conn) => {
                        let served = conn.served();
                        let sender = self.handshake(authority, (*conn).into_stream()).await?;
                        (HyperConn { sender, served }, true)
                    }
                    None => {
                        let sender = self.connect_hyper(authority).await?;
                        (HyperConn { sender, served: 0 }, false)
                    }
                },
            };
            // A connection is checked in when its response body ended; its
            // task may not yet have turned to the next request.
            if reused && conn.sender.ready().await.is_err() {
                continue;
            }
            conn.served = conn.served.saturating_add(1);
            match conn.sender.try_send_request(req).await {
                Ok(response) => {
                    // After 101 the connection belongs to the tunnel.
                    let checkin =
                        (response.status() != StatusCode::SWITCHING_PROTOCOLS).then(|| {
                            Checkin::new(self.idle.clone(), authority.clone(), conn, keepalive)
                        });
                    return Ok(response.map(|body| ResponseBody::hyper(body, checkin)));
                }
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(SendError::Http(error.into_error())),
                },
            }
        }
    }

    /// A request without a body: written and answered inline (see
    /// [`super::h1`]). On a reused connection that the upstream closed
    /// before answering anything (the keep-alive race), an idempotent
    /// request is sent again on a new connection, as nginx does.
    ///
    /// A function returning a block rather than an `async fn`: an async
    /// fn keeps a second copy of its arguments, and this future is part of
    /// every proxied request's boxed future.
    #[allow(clippy::manual_async_fn)]
    fn send_direct<'a>(
        &'a self,
        authority: &'a Authority,
        req: DirectRequest,
        deadline: Instant,
        keepalive: Keepalive,
    ) -> impl Future<Output = Result<Response<ResponseBody>, SendError>> + Send + 'a {
        async move {
            let DirectRequest {
                method,
                head,
                mut headers,
                mut conn,
            } = req;
            loop {
                let reusable = conn.take().or_else(|| {
                    keepalive
                        .enabled
                        .then(|| self.idle.checkout_direct(authority))
                        .flatten()
                });
                let (mut conn, reused) = match reusable {
                    Some(conn) => (conn, true),
                    // (Boxed: a connect happens once per connection, and the
                    // common path's future stays small.)
                    None => (
                        h1::Conn::new(Box::pin(self.open_by(authority, deadline)).await?),
                        false,
                    ),
                };
                if reused {
                    // Checked out a moment ago, when the request was
                    // prepared: bytes that came since answer no request of
                    // ours, and this one is not written yet, so it goes on
                    // another connection.
                    match conn.idle_state() {
                        h1::IdleState::Silent => {}
                        h1::IdleState::StrayBytes => {
                            self.idle.report_stray(authority);
                            continue;
                        }
                        h1::IdleState::Closed => continue,
                    }
                }
                let exchange = conn.exchange(&method, &head, &mut headers, deadline);
                let head_of_response = match exchange.await {
                    Ok(response) => response,
                    Err(failed) if reused && failed.unanswered && method.is_idempotent() => {
                        continue
                    }
                    Err(h1::Failed {
                        error: h1::ExchangeError::TimedOut,
                        ..
                    }) => return Err(SendError::TimedOut),
                    Err(failed) if matches!(failed.error, h1::ExchangeError::EarlyResponse) => {
                        self.idle.report_stray(authority);
                        return Err(SendError::Direct(failed.error));
                    }
                    Err(failed) => return Err(SendError::Direct(failed.error)),
                };
                conn.return_head_buffer(head);
                let h1::ResponseHead {
                    status,
                    version,
                    headers,
                    framing,
                    keep_alive,
                } = head_of_response;
                let body = ResponseBody::direct(
                    &self.idle, authority, conn, framing, keep_alive, keepalive,
                );
                let mut response = Response::new(body);
                *response.status_mut() = status;
                *response.version_mut() = version;
                *response.headers_mut() = headers;
                return Ok(response);
            }
        }
    }

    /// [`H1Pool::open`], given up at `deadline` if that comes before the
    /// connect timeout.
    async fn open_by(
        &self,
        authority: &Authority,
        deadline: Instant,
    ) -> Result<TcpStream, SendError> {
        by_deadline(deadline, self.open(authority)).await
    }

    /// Opens a TCP connection to `authority`.
    async fn open(&self, authority: &Authority) -> Result<TcpStream, SendError> {
        // `[::1]` is how a URL writes an IPv6 host; the resolver wants `::1`.
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let stream = match tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((host, port)),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(SendError::Connect(error)),
            Err(_) => return Err(SendError::ConnectTimeout(self.connect_timeout)),
        };
        // Small request/response exchanges: Nagle's delay would only add latency.
        let _ = stream.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE);
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
        Ok(stream)
    }

    /// Opens a connection for hyper's client and starts its task.
    async fn connect_hyper(
        &self,
        authority: &Authority,
    ) -> Result<SendRequest<RequestBody>, SendError> {
        self.handshake(authority, self.open(authority).await?).await
    }

    /// Hands a connected socket to hyper's client and starts its task.
    async fn handshake(
        &self,
        authority: &Authority,
        stream: TcpStream,
    ) -> Result<SendRequest<RequestBody>, SendError> {
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(SendError::Http)?;
        let idle = self.idle.clone();
        let authority = authority.clone();
        tokio::spawn(async move {
            if let Err(error) = conn.with_upgrades().await {
                // hyper closes a connection that receives a message while
                // no request waits on it, with an error it offers no
                // predicate for, only this text (hyper 1's UnexpectedMessage).
                if error.to_string().contains("unexpected message") {
                    idle.report_stray(&authority);
                } else {
                    tracing::debug!(target: "corsica::gateway", %error, "upstream connection ended with an error");
                }
            }
        });
        Ok(sender)
    }
}

/// `pending`'s outcome, or [`SendError::TimedOut`] once `deadline` passes.
async fn by_deadline<T>(
    deadline: Instant,
    pending: impl std::future::Future<Output = Result<T, SendError>>,
) -> Result<T, SendError> {
    tokio::time::timeout_at(deadline, pending)
        .await
        .unwrap_or(Err(SendError::TimedOut))
}
