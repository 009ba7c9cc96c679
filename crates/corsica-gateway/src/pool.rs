//! A worker's own pool of HTTP/1.1 connections to `http://` upstreams.
//!
//! hyper-util's pooled client serves every upstream well but does a lot
//! per request that a worker thread talking to a plain HTTP/1.1 upstream
//! does not need: it hashes a pool key, wraps the connection in lazy
//! connect-or-checkout futures, clones its connector, and spawns a task per
//! request to put the connection back once it is idle. Profiled, that was
//! about a tenth of the gateway's user-space time per proxied request. This
//! pool keeps, per worker, a stack of idle connections (most recently used
//! first), and a connection goes back on it when its response body has been
//! read to the end and hyper is ready to send the next request on it (a
//! request body may still be uploading after an early response). Idle
//! connections are closed after a minute, by a sweeper task per pool.
//! `https://` upstreams (TLS, ALPN, HTTP/2) stay on the pooled client.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::Authority;
use http::{Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::UpstreamBody;

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
    sender: SendRequest<UpstreamBody>,
    since: Instant,
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
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Connect(_) => f.write_str("could not connect to the upstream"),
            SendError::ConnectTimeout(after) => {
                write!(f, "could not connect to the upstream within {after:?}")
            }
            SendError::Http(_) => f.write_str("the upstream exchange failed"),
        }
    }
}

impl StdError for SendError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            SendError::Connect(e) => Some(e),
            SendError::ConnectTimeout(_) => None,
            SendError::Http(e) => Some(e),
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

    /// Sends `req` (its URI in origin form) to `authority` over an idle
    /// connection, or a new one. A request that a reused connection could
    /// not take (the upstream closed it while it was idle) is retried on
    /// another, as it was never sent.
    pub(crate) async fn send(
        self: &Arc<Self>,
        authority: &Authority,
        mut req: Request<UpstreamBody>,
    ) -> Result<Response<PooledBody>, SendError> {
        loop {
            let (mut sender, reused) = match self.checkout(authority) {
                Some(sender) => (sender, true),
                None => (self.connect(authority).await?, false),
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
                    return Ok(response.map(|body| PooledBody::new(body, checkin)));
                }
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(SendError::Http(error.into_error())),
                },
            }
        }
    }

    /// The most recently used idle connection to `authority` that is still open.
    fn checkout(&self, authority: &Authority) -> Option<SendRequest<UpstreamBody>> {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(at) = idle.iter().rposition(|c| c.authority == *authority) {
            let conn = idle.remove(at);
            if !conn.sender.is_closed() && now.duration_since(conn.since) <= IDLE_TIMEOUT {
                return Some(conn.sender);
            }
        }
        None
    }

    /// Puts a connection whose exchange is over back on the stack, and
    /// closes the ones idle for too long (the oldest are at the bottom).
    fn checkin(self: &Arc<Self>, authority: Authority, sender: SendRequest<UpstreamBody>) {
        if sender.is_closed() {
            return;
        }
        self.start_sweeper();
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let expired = idle
            .iter()
            .take_while(|c| now.duration_since(c.since) > IDLE_TIMEOUT)
            .count();
        let over = (idle.len() - expired + 1).saturating_sub(MAX_IDLE);
        idle.drain(..expired + over);
        idle.push(IdleConn {
            authority,
            sender,
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
                let now = Instant::now();
                let mut idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.retain(|c| {
                    !c.sender.is_closed() && now.duration_since(c.since) <= IDLE_TIMEOUT
                });
            }
        });
    }

    /// Opens a connection and starts its task.
    async fn connect(&self, authority: &Authority) -> Result<SendRequest<UpstreamBody>, SendError> {
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
    body: Incoming,
    checkin: Option<Checkin>,
}

impl fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBody")
            .field("body", &self.body)
            .field("pooled", &self.checkin.is_some())
            .finish()
    }
}

impl PooledBody {
    /// A body that returns its connection through `checkin` at its end
    /// (`None`: the connection is not pooled here).
    fn new(body: Incoming, checkin: Option<Checkin>) -> PooledBody {
        PooledBody { body, checkin }
    }

    /// A body from a connection pooled elsewhere.
    pub(crate) fn unpooled(body: Incoming) -> PooledBody {
        PooledBody::new(body, None)
    }

    fn release(&mut self) {
        let Some(Checkin {
            pool,
            authority,
            mut sender,
        }) = self.checkin.take()
        else {
            return;
        };
        // Usually hyper is ready for the next request by the time the body's
        // last frame is read. It is not while the request body is still
        // uploading (the upstream answered early): pooling the connection
        // then would make the next request wait behind that upload.
        if sender.is_ready() {
            pool.checkin(authority, sender);
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if sender.ready().await.is_ok() {
                    pool.checkin(authority, sender);
                }
            });
        }
    }
}

impl HttpBody for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.body.is_end_stream() => this.release(),
            // A broken body leaves the connection unusable.
            Poll::Ready(Some(Err(_))) => this.checkin = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // hyper stops polling a body that says it has ended, and never
        // polls an empty one (204, 304, HEAD): those are done too.
        if self.body.is_end_stream() {
            self.release();
        }
    }
}
