//! Closing a client connection without losing the last response.
//!
//! When the gateway answers before it has read the whole request (a 413
//! for an upload over the limit, say) and then closes, the client's next
//! bytes reach a socket that is gone, and the kernel answers them with a
//! reset, which can arrive before the client has read the answer: the
//! client then sees "connection reset" or "broken pipe" instead of the 413
//! (over TLS, 4 uploads in 10 in the acceptance review). So, as nginx does
//! (`lingering_close`), a connection closed while the client still has
//! data on its way is first half-closed, and what the client sends is read
//! and thrown away for a moment, until the client closes too.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::timed_io::ConnState;

/// How long a closing connection's input is drained at most.
const LINGER: Duration = Duration::from_secs(2);

/// The most connections lingering at once, over all workers; past it,
/// connections close at once (any client can make one linger, by closing
/// with a byte still unread).
const MAX_LINGERING: usize = 1024;

/// How many connections linger now.
static LINGERING: AtomicUsize = AtomicUsize::new(0);

/// A client socket that lingers on close when the client may still be
/// sending: a request was answered before its body was read, or unread
/// data is waiting.
#[derive(Debug)]
pub(crate) struct Lingering {
    /// Always `Some` until dropped.
    stream: Option<TcpStream>,
    state: Arc<ConnState>,
}

impl Lingering {
    /// Wraps an accepted client socket.
    pub(crate) fn new(stream: TcpStream, state: Arc<ConnState>) -> Self {
        Lingering {
            stream: Some(stream),
            state,
        }
    }

    /// The socket; only `Drop` takes it, so this is always `Ok`.
    fn stream(self: Pin<&mut Self>) -> io::Result<Pin<&mut TcpStream>> {
        match &mut self.get_mut().stream {
            Some(stream) => Ok(Pin::new(stream)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(stream) = self.stream.take() else {
            return;
        };
        // The usual case, a keep-alive connection closed between requests
        // or a client that closed first, closes at once. (The part of an
        // upload in flight may not have arrived yet: an empty buffer does
        // not mean the client is done, hence the state's note.)
        let mut probe = [0u8; 1];
        let waiting = matches!(stream.try_read(&mut probe), Ok(n) if n > 0);
        if !waiting && !self.state.has_unread_body() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(slot) = LingerSlot::take() else {
            return;
        };
        runtime.spawn(drain(stream, slot));
    }
}

/// One of the [`MAX_LINGERING`] places, given back when dropped (also
/// when a shutting-down runtime drops the drain unfinished).
struct LingerSlot;

impl LingerSlot {
    fn take() -> Option<LingerSlot> {
        if LINGERING.fetch_add(1, Ordering::Relaxed) >= MAX_LINGERING {
            LINGERING.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(LingerSlot)
    }
}

impl Drop for LingerSlot {
    fn drop(&mut self) {
        LINGERING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Half-closes `stream` and reads what comes until the client closes, an
/// error, or [`LINGER`].
async fn drain(mut stream: TcpStream, _slot: LingerSlot) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.stream()?.poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream()?.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream()?.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_shutdown(cx)
    }
}
