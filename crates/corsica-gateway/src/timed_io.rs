//! Client connection timeouts: `header_read` and `idle`.
//!
//! hyper's own `header_read_timeout` starts whenever a keep-alive
//! connection waits for its next request, so it would also close idle
//! connections after `header_read` and make `idle` meaningless. The gateway
//! therefore measures both itself, in a wrapper around the client's
//! stream, with one timer per connection that is re-armed only when it
//! fires:
//!
//! - **header_read**: a request head must arrive complete within
//!   `header_read` of its first byte (and a new connection must deliver its
//!   first head within `header_read` of being accepted). Slow-drip clients
//!   are cut off with an I/O error.
//! - **idle**: a connection with no request in flight and no bytes read or
//!   written for `idle` is closed (the wrapper reports end-of-stream, which
//!   hyper treats as the client leaving).
//!
//! A request in flight (waiting on a slow upstream, streaming a body) never
//! counts as idle; the upstream timeout bounds that wait instead. For
//! HTTP/2, whose frames after the first request are not request heads,
//! only `idle` applies once a request has been seen.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::clock::coarse_now;
use crate::metrics::Metrics;

/// What a connection's requests share with its stream wrapper.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Requests started on this connection.
    requests: AtomicU64,
    /// Requests whose response has not been fully sent (plus open tunnels).
    in_flight: AtomicUsize,
    /// The gateway's metrics, kept here so a request reaches them without
    /// another reference count.
    pub(crate) metrics: Arc<Metrics>,
    /// Whether the gateway answered a request before reading all of its
    /// body: the client may still be sending it (see `crate::linger`).
    unread_body: AtomicBool,
}

impl ConnState {
    /// The state of a new connection.
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        ConnState {
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            metrics,
            unread_body: AtomicBool::new(false),
        }
    }

    /// Notes that a request was answered before its body was read.
    pub(crate) fn left_a_body_unread(&self) {
        self.unread_body.store(true, Ordering::Relaxed);
    }

    /// Whether a request was answered before its body was read.
    pub(crate) fn has_unread_body(&self) -> bool {
        self.unread_body.load(Ordering::Relaxed)
    }
}

/// Marks a request (or a WebSocket tunnel) in flight until dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<ConnState>);

impl InFlight {
    /// A new request has started.
    pub(crate) fn request(state: &Arc<ConnState>) -> InFlight {
        state.requests.fetch_add(1, Ordering::Relaxed);
        InFlight::hold(state)
    }

    /// Keeps the connection busy without counting a request (a tunnel).
    pub(crate) fn hold(state: &Arc<ConnState>) -> InFlight {
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(state.clone())
    }

    /// The connection's state.
    pub(crate) fn state(&self) -> &ConnState {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    HeaderRead,
    Idle,
}

/// The clock logic, apart from any I/O so that it can be tested with
/// made-up instants.
#[derive(Debug)]
struct Deadlines {
    header_read: Duration,
    idle: Duration,
    last_activity: Instant,
    seen_requests: u64,
    head_started: Option<Instant>,
    first_read: bool,
    http2: bool,
}

impl Deadlines {
    fn new(now: Instant, header_read: Duration, idle: Duration) -> Self {
        Deadlines {
            header_read,
            idle,
            last_activity: now,
            seen_requests: 0,
            // A new connection owes its first request head.
            head_started: Some(now),
            first_read: true,
            http2: false,
        }
    }

    /// A request started since we last looked: its head is complete.
    fn sync(&mut self, requests: u64) {
        if requests != self.seen_requests {
            self.seen_requests = requests;
            self.head_started = None;
        }
    }

    /// Bytes arrived. Returns a deadline the timer must fire by, when
    /// these bytes began a new request head.
    fn on_read(&mut self, now: Instant, data: &[u8], state: &ConnState) -> Option<Instant> {
        if self.first_read {
            self.first_read = false;
            self.http2 = data.starts_with(b"PRI * HTTP/2");
        }
        self.last_activity = now;
        self.sync(state.requests.load(Ordering::Relaxed));
        let idle_connection = state.in_flight.load(Ordering::Relaxed) == 0;
        let heads_expected = !(self.http2 && self.seen_requests > 0);
        if self.head_started.is_none() && idle_connection && heads_expected {
            self.head_started = Some(now);
            return Some(now + self.header_read);
        }
        None
    }

    fn on_write(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// Whether a deadline passed; if not, when to look again.
    fn check(&mut self, now: Instant, state: &ConnState) -> Result<Instant, Expiry> {
        self.sync(state.requests.load(Ordering::Relaxed));
        if state.in_flight.load(Ordering::Relaxed) > 0 {
            // Busy: look again later; the request's end is a write, which
            // moves `last_activity`, so idleness is measured from it.
            return Ok(now + self.idle.min(self.header_read));
        }
        let mut next = self.last_activity + self.idle;
        if let Some(started) = self.head_started {
            let deadline = started + self.header_read;
            if now >= deadline {
                return Err(Expiry::HeaderRead);
            }
            next = next.min(deadline);
        }
        if now >= self.last_activity + self.idle {
            return Err(Expiry::Idle);
        }
        Ok(next)
    }
}

/// A client stream with the `header_read` and `idle` deadlines.
pub(crate) struct TimedIo<S> {
    io: S,
    state: Arc<ConnState>,
    deadlines: Deadlines,
    timer: Pin<Box<Sleep>>,
}

impl<S> TimedIo<S> {
    /// Wraps a freshly accepted (or TLS-terminated) stream.
    pub(crate) fn new(io: S, state: Arc<ConnState>, header_read: Duration, idle: Duration) -> Self {
        let now = coarse_now();
        let deadlines = Deadlines::new(now, header_read, idle);
        let timer = Box::pin(tokio::time::sleep_until(now + header_read.min(idle)));
        TimedIo {
            io,
            state,
            deadlines,
            timer,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let data = &buf.filled()[before..];
                if !data.is_empty() {
                    let now = coarse_now();
                    if let Some(by) = this.deadlines.on_read(now, data, &this.state) {
                        if by < this.timer.deadline() {
                            this.timer.as_mut().reset(by);
                        }
                    }
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {}
        }
        // Nothing to read: the moment to see whether a deadline passed.
        loop {
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The fine clock here: the timer fired by it, and the coarse one
            // may lag it by a tick, which would find the deadline not yet
            // passed and re-arm the timer for a moment already past, over
            // and over until the tick. This runs once per timer firing.
            match this.deadlines.check(Instant::now(), &this.state) {
                Ok(next) => this.timer.as_mut().reset(next),
                Err(Expiry::HeaderRead) => {
                    tracing::debug!(target: "corsica::gateway", "closing a connection: request head not received within header_read");
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head not received within the header_read timeout",
                    )));
                }
                // End of stream: hyper closes the connection as if the
                // client had.
                Err(Expiry::Idle) => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.deadlines.on_write(coarse_now());
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.deadlines.on_write(coarse_now());
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(90);

    fn state() -> Arc<ConnState> {
        Arc::new(ConnState::new(Arc::new(Metrics::new())))
    }

    #[tokio::test]
    async fn a_new_connection_owes_its_first_head() {
        let t0 = Instant::now();
        let s = state();
        let mut d = Deadlines::new(t0, HEAD, IDLE);
        assert_eq!(d.check(t0, &s), Ok(t0 + HEAD));
        assert_eq!(d.check(t0 + HEAD, &s), Err(Expiry::HeaderRead));
    }

    #[tokio::test]
    async fn keep_alive_waits_are_idle_not_header_reads() {
        let t0 = Instant::now();
        let s = state();
        let mut d = Deadlines::new(t0, HEAD, IDLE);
        d.on_read(t0, b"GET / HTTP/1.1\r\n\r\n", &s);
        let request = InFlight::request(&s);
        d.on_write(t0 + Duration::from_secs(1));
        drop(request);
        // The head deadline is gone with the request; only idle is left.
        let later = t0 + Duration::from_secs(30);
        assert_eq!(d.check(later, &s), Ok(t0 + Duration::from_secs(1) + IDLE));
        assert_eq!(d.check(t0 + Duration::from_secs(91), &s), Err(Expiry::Idle));
    }

    #[tokio::test]
    async fn a_slow_drip_head_times_out() {
        let t0 = Instant::now();
        let s = state();
        let mut d = Deadlines::new(t0, HEAD, IDLE);
        d.on_read(t0, b"GET / HTTP/1.1\r\n\r\n", &s);
        drop(InFlight::request(&s));
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(d.on_read(t1, b"GE", &s), Some(t1 + HEAD));
        assert_eq!(d.on_read(t1 + Duration::from_secs(5), b"T /", &s), None);
        assert_eq!(d.check(t1 + HEAD, &s), Err(Expiry::HeaderRead));
    }

    #[tokio::test]
    async fn a_request_in_flight_is_never_idle() {
        let t0 = Instant::now();
        let s = state();
        let mut d = Deadlines::new(t0, HEAD, IDLE);
        d.on_read(t0, b"GET / HTTP/1.1\r\n\r\n", &s);
        let _request = InFlight::request(&s);
        let much_later = t0 + Duration::from_secs(1000);
        assert!(d.check(much_later, &s).is_ok());
    }

    #[tokio::test]
    async fn http2_frames_after_a_request_are_not_heads() {
        let t0 = Instant::now();
        let s = state();
        let mut d = Deadlines::new(t0, HEAD, IDLE);
        d.on_read(t0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &s);
        drop(InFlight::request(&s));
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(d.on_read(t1, b"\0\0\x04\x08", &s), None);
        assert_eq!(d.check(t1 + HEAD, &s), Ok(t1 + IDLE));
    }
}
