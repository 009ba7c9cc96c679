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
//! without a body ([`crate::upstream::h1`]), and hyper client connections for the
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
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use http::uri::Authority;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::body::{BodyError, UpstreamBody};
use crate::clock::coarse_now;
use crate::headers::ForwardedFields;
use crate::upstream::deadline::HeadDeadline;
use crate::upstream::h1;

/// How long an unused connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per worker, over all upstreams. More than the
/// concurrency a worker reaches against one upstream in practice; a burst
/// over it opens connections that are closed after use.
const MAX_IDLE: usize = 512;

/// TCP keepalive probes on upstream connections start after this much
/// silence, so a pooled connection to a vanished host is noticed.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// A worker's HTTP/1.1 connections to plain-HTTP upstreams.
pub(crate) struct H1Pool {
    idle: Mutex<Vec<IdleConn>>,
    connect_timeout: Duration,
    /// Whether the sweeper task runs.
    sweeping: AtomicBool,
}

struct IdleConn {
    authority: Authority,
    conn: Idle,
    since: Instant,
}

/// An idle connection, of either client.
enum Idle {
    /// Driven by hyper's client (requests with a body, WebSockets).
    Hyper(SendRequest<UpstreamBody>),
    /// Driven inline by the gateway's own client (requests without a body).
    Direct(Box<h1::Conn>),
}

impl Idle {
    /// Whether the connection is still open and may be reused.
    fn is_usable(&mut self) -> bool {
        match self {
            Idle::Hyper(sender) => !sender.is_closed(),
            Idle::Direct(conn) => conn.is_idle_usable(),
        }
    }
}

/// A request on its way through the pool (see [`H1Pool::prepare`]).
pub(crate) enum PoolRequest {
    /// Without a body: for the inline client, its head written out.
    Direct(DirectRequest),
    /// With a body, or a handshake: for hyper's client.
    Hyper(Request<UpstreamBody>),
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
        req: Request<UpstreamBody>,
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
    pub(crate) fn new(connect_timeout: Duration) -> H1Pool {
        H1Pool {
            idle: Mutex::new(Vec::new()),
            connect_timeout,
            sweeping: AtomicBool::new(false),
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
        mut req: Request<UpstreamBody>,
        fields: &ForwardedFields<'_>,
    ) -> PoolRequest {
        let for_hyper = !req.body().is_end_stream() || req.headers().contains_key(header::UPGRADE);
        let conn = if for_hyper {
            None
        } else {
            self.checkout_direct(authority)
        };
        // hyper's client reuses its idle connection for this request
        // rather than have a new one opened.
        if for_hyper || (conn.is_none() && self.has_idle_hyper(authority)) {
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
    /// that sends it (see [`crate::upstream::UpstreamClient::send`]).
    pub(crate) fn send<'a>(
        self: &'a Arc<Self>,
        authority: &'a Authority,
        req: PoolRequest,
        deadline: HeadDeadline,
    ) -> impl Future<Output = Result<Response<PooledBody>, SendError>> + Send + 'a {
        match req {
            PoolRequest::Direct(req) => {
                Either::Left(self.send_direct(authority, req, deadline.at()))
            }
            // Boxed: hyper's handshake and send futures are kilobytes, and
            // every request's future (the common, bodiless ones too) would
            // otherwise be as large as they are and be copied whole into
            // its box.
            PoolRequest::Hyper(req) => {
                Either::Right(Box::pin(self.send_hyper_by(authority, req, deadline)))
            }
        }
    }

    /// [`H1Pool::send_hyper`], given up at `deadline`.
    async fn send_hyper_by(
        self: &Arc<Self>,
        authority: &Authority,
        req: Request<UpstreamBody>,
        deadline: HeadDeadline,
    ) -> Result<Response<PooledBody>, SendError> {
        deadline
            .run(self.send_hyper(authority, req))
            .await
            .unwrap_or(Err(SendError::TimedOut))
    }

    /// A request with a body, or a handshake: through hyper's client.
    async fn send_hyper(
        self: &Arc<Self>,
        authority: &Authority,
        mut req: Request<UpstreamBody>,
    ) -> Result<Response<PooledBody>, SendError> {
        loop {
            // An idle connection of the inline client is taken over rather
            // than a new one opened, so that mixed traffic does not double
            // the connections to the upstream.
            let (mut sender, reused) = match self.checkout_hyper(authority) {
                Some(sender) => (sender, true),
                None => match self.checkout_direct(authority) {
                    Some(conn) => (self.handshake((*conn).into_stream()).await?, true),
                    None => (self.connect_hyper(authority).await?, false),
                },
            };
            // A connection is checked in when its response body ended; its
            // task may not yet have turned to the next request.
            if reused && sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(response) => {
                    // After 101 the connection belongs to the tunnel.
                    let checkin =
                        (response.status() != StatusCode::SWITCHING_PROTOCOLS).then(|| Checkin {
                            pool: self.clone(),
                            authority: authority.clone(),
                            sender,
                        });
                    return Ok(response.map(|body| PooledBody::hyper(body, checkin)));
                }
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(SendError::Http(error.into_error())),
                },
            }
        }
    }

    /// A request without a body: written and answered inline (see
    /// [`crate::upstream::h1`]). On a reused connection that the upstream closed
    /// before answering anything (the keep-alive race), an idempotent
    /// request is sent again on a new connection, as nginx does.
    ///
    /// A function returning a block rather than an `async fn`: an async
    /// fn keeps a second copy of its arguments, and this future is part of
    /// every proxied request's boxed future.
    #[allow(clippy::manual_async_fn)]
    fn send_direct<'a>(
        self: &'a Arc<Self>,
        authority: &'a Authority,
        req: DirectRequest,
        deadline: Instant,
    ) -> impl Future<Output = Result<Response<PooledBody>, SendError>> + Send + 'a {
        async move {
            let DirectRequest {
                method,
                head,
                mut headers,
                mut conn,
            } = req;
            loop {
                let (mut conn, reused) =
                    match conn.take().or_else(|| self.checkout_direct(authority)) {
                        Some(conn) => (conn, true),
                        // (Boxed: a connect happens once per connection, and the
                        // common path's future stays small.)
                        None => (
                            h1::Conn::new(Box::pin(self.open_by(authority, deadline)).await?),
                            false,
                        ),
                    };
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
                let body = self.direct_body(authority, conn, framing, keep_alive);
                let mut response = Response::new(body);
                *response.status_mut() = status;
                *response.version_mut() = version;
                *response.headers_mut() = headers;
                return Ok(response);
            }
        }
    }

    /// The body of a direct exchange. When it is already complete (no
    /// body, or all of it read with the head), the connection goes back to
    /// the pool at once, before the response is even written to the client.
    fn direct_body(
        self: &Arc<Self>,
        authority: &Authority,
        mut conn: Box<h1::Conn>,
        framing: h1::Framing,
        keep_alive: bool,
    ) -> PooledBody {
        let whole = match framing {
            h1::Framing::Empty => Some(None),
            h1::Framing::Length(length) => conn.take_buffered(length).map(Some),
            h1::Framing::Chunked | h1::Framing::UntilClose => None,
        };
        if let Some(data) = whole {
            if keep_alive && conn.is_clean() {
                self.checkin(authority.clone(), Idle::Direct(conn));
            }
            return PooledBody::buffered(data);
        }
        PooledBody::direct(DirectBody {
            conn: Some(conn),
            decoder: h1::Decoder::new(framing),
            keep_alive,
            pool: self.clone(),
            authority: authority.clone(),
        })
    }

    /// The most recently used idle hyper connection to `authority` that is
    /// still open.
    fn checkout_hyper(&self, authority: &Authority) -> Option<SendRequest<UpstreamBody>> {
        match self.checkout(authority, |idle| matches!(idle, Idle::Hyper(_)))? {
            Idle::Hyper(sender) => Some(sender),
            Idle::Direct(_) => None,
        }
    }

    /// The most recently used idle direct connection to `authority` that
    /// is still open.
    fn checkout_direct(&self, authority: &Authority) -> Option<Box<h1::Conn>> {
        match self.checkout(authority, |idle| matches!(idle, Idle::Direct(_)))? {
            Idle::Direct(conn) => Some(conn),
            Idle::Hyper(_) => None,
        }
    }

    /// Whether an idle hyper connection to `authority` waits in the pool.
    fn has_idle_hyper(&self, authority: &Authority) -> bool {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.iter()
            .any(|c| c.authority == *authority && matches!(c.conn, Idle::Hyper(_)))
    }

    /// Takes the most recent idle connection to `authority` of the kind
    /// `wanted` picks, closing the expired or closed ones met on the way.
    fn checkout(&self, authority: &Authority, wanted: fn(&Idle) -> bool) -> Option<Idle> {
        let now = coarse_now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = idle.len();
        while at > 0 {
            at -= 1;
            let candidate = &mut idle[at];
            if candidate.authority != *authority || !wanted(&candidate.conn) {
                continue;
            }
            let fresh = now.duration_since(candidate.since) <= IDLE_TIMEOUT;
            let usable = fresh && candidate.conn.is_usable();
            let taken = idle.remove(at);
            if usable {
                return Some(taken.conn);
            }
        }
        None
    }

    /// Puts a connection whose exchange is over back on the stack, and
    /// closes the ones idle for too long (the oldest are at the bottom).
    fn checkin(self: &Arc<Self>, authority: Authority, mut conn: Idle) {
        if !conn.is_usable() {
            return;
        }
        self.start_sweeper();
        let now = coarse_now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let expired = idle
            .iter()
            .take_while(|c| now.duration_since(c.since) > IDLE_TIMEOUT)
            .count();
        let over = (idle.len() - expired + 1).saturating_sub(MAX_IDLE);
        idle.drain(..expired + over);
        idle.push(IdleConn {
            authority,
            conn,
            since: now,
        });
    }

    /// Starts, once, the task that closes connections idle for too long
    /// when no traffic comes to do it in `checkin`. It holds the pool
    /// weakly and ends with it.
    fn start_sweeper(self: &Arc<Self>) {
        if self.sweeping.swap(true, Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.sweeping.store(false, Ordering::Relaxed);
            return;
        };
        let pool: Weak<H1Pool> = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(IDLE_TIMEOUT / 2).await;
                let Some(pool) = pool.upgrade() else { return };
                let now = coarse_now();
                let mut idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.retain_mut(|c| {
                    now.duration_since(c.since) <= IDLE_TIMEOUT && c.conn.is_usable()
                });
            }
        });
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
    ) -> Result<SendRequest<UpstreamBody>, SendError> {
        self.handshake(self.open(authority).await?).await
    }

    /// Hands a connected socket to hyper's client and starts its task.
    async fn handshake(&self, stream: TcpStream) -> Result<SendRequest<UpstreamBody>, SendError> {
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(SendError::Http)?;
        tokio::spawn(async move {
            if let Err(error) = conn.with_upgrades().await {
                tracing::debug!(target: "corsica::gateway", %error, "upstream connection ended with an error");
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

/// Returns a connection to its pool.
struct Checkin {
    pool: Arc<H1Pool>,
    authority: Authority,
    sender: SendRequest<UpstreamBody>,
}

/// An upstream response body. When it has been read to the end, the
/// connection it came on goes back to the pool; one dropped before its end
/// is closed with its connection, since the rest of the body is still on
/// the wire.
pub(crate) struct PooledBody {
    inner: Inner,
}

enum Inner {
    /// From hyper's client.
    Hyper {
        body: Incoming,
        checkin: Option<Checkin>,
    },
    /// All of it, read with the head; its connection is already back.
    Buffered(Option<Bytes>),
    /// Streamed from a direct connection.
    Direct(DirectBody),
}

/// A body still arriving on a direct connection.
pub(crate) struct DirectBody {
    conn: Option<Box<h1::Conn>>,
    decoder: h1::Decoder,
    keep_alive: bool,
    pool: Arc<H1Pool>,
    authority: Authority,
}

impl DirectBody {
    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = conn.poll_frame(&mut self.decoder, cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) | Poll::Ready(None) if self.decoder.is_done() => {
                self.release()
            }
            // A broken body leaves the connection unusable.
            Poll::Ready(Some(Err(_))) => self.conn = None,
            _ => {}
        }
        polled.map(|frame| frame.map(|result| result.map_err(BodyError::from)))
    }

    fn release(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.keep_alive && conn.is_clean() {
            self.pool
                .checkin(self.authority.clone(), Idle::Direct(conn));
        }
    }
}

impl fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Hyper { body, checkin } => f
                .debug_struct("PooledBody")
                .field("body", body)
                .field("pooled", &checkin.is_some())
                .finish(),
            Inner::Buffered(data) => f
                .debug_struct("PooledBody")
                .field("buffered", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
            Inner::Direct(direct) => f
                .debug_struct("PooledBody")
                .field("conn", &direct.conn)
                .field("decoder", &direct.decoder)
                .finish(),
        }
    }
}

impl PooledBody {
    /// A body from hyper's client that returns its connection through
    /// `checkin` at its end (`None`: the connection is not pooled here).
    fn hyper(body: Incoming, checkin: Option<Checkin>) -> PooledBody {
        PooledBody {
            inner: Inner::Hyper { body, checkin },
        }
    }

    /// A body read whole with its head (`None`: no body).
    fn buffered(data: Option<Bytes>) -> PooledBody {
        PooledBody {
            inner: Inner::Buffered(data.filter(|d| !d.is_empty())),
        }
    }

    /// A body streamed from a direct connection.
    fn direct(body: DirectBody) -> PooledBody {
        PooledBody {
            inner: Inner::Direct(body),
        }
    }

    /// A body from a connection pooled elsewhere.
    pub(crate) fn unpooled(body: Incoming) -> PooledBody {
        PooledBody::hyper(body, None)
    }
}

/// Gives a hyper connection back to the pool once hyper can take the next
/// request on it.
fn release_hyper(checkin: &mut Option<Checkin>) {
    let Some(Checkin {
        pool,
        authority,
        mut sender,
    }) = checkin.take()
    else {
        return;
    };
    // Usually hyper is ready for the next request by the time the body's
    // last frame is read. It is not while the request body is still
    // uploading (the upstream answered early): pooling the connection
    // then would make the next request wait behind that upload.
    if sender.is_ready() {
        pool.checkin(authority, Idle::Hyper(sender));
    } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            if sender.ready().await.is_ok() {
                pool.checkin(authority, Idle::Hyper(sender));
            }
        });
    }
}

impl HttpBody for PooledBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.get_mut().inner {
            Inner::Hyper { body, checkin } => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                match &polled {
                    Poll::Ready(None) => release_hyper(checkin),
                    Poll::Ready(Some(Ok(_))) if body.is_end_stream() => release_hyper(checkin),
                    // A broken body leaves the connection unusable.
                    Poll::Ready(Some(Err(_))) => *checkin = None,
                    _ => {}
                }
                polled.map(|frame| frame.map(|result| result.map_err(BodyError::from)))
            }
            Inner::Buffered(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Inner::Direct(direct) => direct.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Hyper { body, .. } => body.is_end_stream(),
            Inner::Buffered(data) => data.is_none(),
            Inner::Direct(direct) => direct.conn.is_none() || direct.decoder.is_done(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Hyper { body, .. } => body.size_hint(),
            Inner::Buffered(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Inner::Direct(direct) => match direct.decoder.remaining() {
                Some(left) => SizeHint::with_exact(left),
                None => SizeHint::default(),
            },
        }
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        match &mut self.inner {
            // hyper stops polling a body that says it has ended, and never
            // polls an empty one (204, 304, HEAD): those are done too.
            Inner::Hyper { body, checkin } if body.is_end_stream() => release_hyper(checkin),
            Inner::Direct(direct) if direct.decoder.is_done() => direct.release(),
            _ => {}
        }
    }
}
