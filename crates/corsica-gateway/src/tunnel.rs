//! WebSocket tunnels: bytes copied both ways once both sides of a
//! handshake have switched protocols, until either side closes, or until
//! neither has sent a byte for `timeouts.idle`. Without that bound, a peer
//! that vanished without closing (a laptop put to sleep, a NAT that forgot
//! the flow) would hold its tunnel, an upstream connection and a graceful
//! shutdown for good; nginx's `proxy_read_timeout` bounds its tunnels the
//! same way. Applications that keep quiet connections open send pings.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::clock::{coarse_now, from_stamp, stamp};
use crate::timed_io::{ConnState, InFlight};

/// Copies bytes both ways once both sides have switched protocols. The
/// tunnel keeps the client connection busy, so it is never closed as idle
/// by the connection's own timer; its own silence timer closes it.
pub(crate) fn open(client: OnUpgrade, upstream: OnUpgrade, conn: &Arc<ConnState>, idle: Duration) {
    let busy = InFlight::hold(conn);
    tokio::spawn(async move {
        let _busy = busy;
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(both) => both,
            Err(error) => {
                tracing::debug!(target: "corsica::gateway", %error, "WebSocket upgrade failed");
                return;
            }
        };
        let last = Arc::new(AtomicU64::new(stamp(coarse_now())));
        let mut client = Active::new(TokioIo::new(client), &last);
        let mut upstream = Active::new(TokioIo::new(upstream), &last);
        tokio::select! {
            copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Err(error) = copied {
                    tracing::debug!(target: "corsica::gateway", %error, "WebSocket tunnel closed");
                }
            }
            () = silence(&last, idle) => {
                tracing::info!(target: "corsica::gateway", ?idle, "WebSocket tunnel silent for timeouts.idle; closing it");
            }
        }
    });
}

/// Resolves once nothing has moved for `idle` since the time in `last`.
async fn silence(last: &AtomicU64, idle: Duration) {
    loop {
        let due = from_stamp(last.load(Ordering::Relaxed)) + idle;
        tokio::time::sleep_until(due).await;
        // Compared with the timer's clock, not the coarse one, which may
        // lag it by a tick and would have this loop spin until it catches up.
        if from_stamp(last.load(Ordering::Relaxed)) + idle <= tokio::time::Instant::now() {
            return;
        }
    }
}

/// One side of a tunnel, stamping `last` whenever bytes move through it.
struct Active<T> {
    inner: T,
    last: Arc<AtomicU64>,
}

impl<T> Active<T> {
    fn new(inner: T, last: &Arc<AtomicU64>) -> Self {
        Active {
            inner,
            last: last.clone(),
        }
    }

    fn touch(&self) {
        self.last.store(stamp(coarse_now()), Ordering::Relaxed);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Active<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Active<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
