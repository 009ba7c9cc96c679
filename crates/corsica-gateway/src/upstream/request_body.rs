//! The client's request body on its way upstream: counted as it streams,
//! so that an oversized chunked upload is cut off at the limit instead of
//! being read to the end, and timed, so that a client that stops sending
//! its body gets 408 rather than holding an upstream connection (and the
//! gateway's blame) for good. Its [`BodyProgress`] tells the response
//! head's deadline whose turn it is.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Instant;

use super::stall::StallTimer;
use crate::clock::{self, coarse_now};

/// Why a request body could not be sent upstream.
#[derive(Debug)]
pub(crate) enum RequestBodyError {
    /// The body passed `limits.max_body_bytes` while streaming.
    TooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// The client sent nothing more of its body for `timeouts.body_read`.
    Stalled {
        /// The configured pause.
        after: Duration,
    },
    /// Reading the client's body failed (the client went away, or sent a
    /// malformed chunk).
    Client(hyper::Error),
}

impl fmt::Display for RequestBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestBodyError::TooLarge { limit } => {
                write!(f, "the request body is larger than {limit} bytes")
            }
            RequestBodyError::Stalled { after } => {
                write!(
                    f,
                    "the client sent nothing more of its request body for {after:?}"
                )
            }
            RequestBodyError::Client(e) => write!(f, "reading the request body failed: {e}"),
        }
    }
}

impl std::error::Error for RequestBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestBodyError::TooLarge { .. } | RequestBodyError::Stalled { .. } => None,
            RequestBodyError::Client(e) => Some(e),
        }
    }
}

/// How far a request body has got on its way upstream, shared between the
/// body (polled by the upstream connection) and the request waiting for
/// the response head, so that the wait for the head starts once the body
/// has been sent: an upload longer than `timeouts.upstream_response` is
/// not a slow upstream.
#[derive(Debug, Default)]
pub(crate) struct BodyProgress {
    /// When the upstream last took a part of the body (or the body
    /// started), as [`clock::stamp`]s.
    last: AtomicU64,
    /// Whether the whole body has been taken.
    ended: AtomicBool,
    /// Whether the body is waiting for the client (rather than for the
    /// upstream to take more): a pause then is the client's, and the
    /// body's own timer deals with it.
    waiting_for_client: AtomicBool,
    /// Why the body failed, when the gateway failed it. hyper's HTTP/2
    /// client sends the body from a task of its own and reports only a
    /// reset stream, so the error's own chain cannot say.
    failure: OnceLock<BodyFailure>,
}

/// A request body failure the gateway raised itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFailure {
    /// Over `limits.max_body_bytes`.
    TooLarge(u64),
    /// The client paused for longer than `timeouts.body_read`.
    Stalled(Duration),
}

impl BodyProgress {
    fn started() -> Arc<BodyProgress> {
        let progress = BodyProgress::default();
        progress.touch();
        Arc::new(progress)
    }

    fn touch(&self) {
        self.last
            .store(clock::stamp(coarse_now()), Ordering::Relaxed);
    }

    /// The last time the upstream took a part of the body.
    pub(crate) fn last(&self) -> Instant {
        clock::from_stamp(self.last.load(Ordering::Relaxed))
    }

    /// Whether the whole body has been sent.
    pub(crate) fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    /// Whether the body is waiting for the client to send more.
    pub(crate) fn is_waiting_for_client(&self) -> bool {
        self.waiting_for_client.load(Ordering::Relaxed)
    }

    fn wait_for_client(&self, waiting: bool) {
        self.waiting_for_client.store(waiting, Ordering::Relaxed);
    }

    /// Why the gateway failed the body, if it did.
    pub(crate) fn failure(&self) -> Option<BodyFailure> {
        self.failure.get().copied()
    }
}

/// The client's request body, limited to `limit` bytes while it streams,
/// and refused when the client pauses for longer than `stall`.
#[derive(Debug)]
pub(crate) struct RequestBody {
    inner: Incoming,
    limit: u64,
    seen: u64,
    /// Armed while the body waits for the client.
    stall: StallTimer,
    /// `None` for a body that was empty from the start.
    progress: Option<Arc<BodyProgress>>,
}

impl RequestBody {
    /// Wraps a client body.
    pub(crate) fn new(inner: Incoming, limit: u64, stall: Duration) -> Self {
        let progress = (!inner.is_end_stream()).then(BodyProgress::started);
        RequestBody {
            inner,
            limit,
            seen: 0,
            stall: StallTimer::new(stall),
            progress,
        }
    }

    /// The body's progress, for a body that has one to make.
    pub(crate) fn progress(&self) -> Option<Arc<BodyProgress>> {
        self.progress.clone()
    }

    fn failed(&self, failure: BodyFailure) {
        if let Some(progress) = &self.progress {
            let _ = progress.failure.set(failure);
        }
    }

    fn finish(&self) {
        if let Some(progress) = &self.progress {
            progress.touch();
            progress.ended.store(true, Ordering::Relaxed);
        }
    }
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = RequestBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestBodyError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.limit {
                        // Failing the body makes hyper abort the upstream
                        // request; the proxy turns this error into a 413.
                        this.failed(BodyFailure::TooLarge(this.limit));
                        return Poll::Ready(Some(Err(RequestBodyError::TooLarge {
                            limit: this.limit,
                        })));
                    }
                }
                if let Some(progress) = &this.progress {
                    progress.touch();
                    progress.wait_for_client(false);
                }
                this.stall.reset();
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(RequestBodyError::Client(e)))),
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Pending => {
                // Waiting for the client: it may pause, not stop.
                if let Some(progress) = &this.progress {
                    progress.wait_for_client(true);
                }
                ready!(this.stall.poll_expired(cx));
                let after = this.stall.pause();
                this.failed(BodyFailure::Stalled(after));
                Poll::Ready(Some(Err(RequestBodyError::Stalled { after })))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
