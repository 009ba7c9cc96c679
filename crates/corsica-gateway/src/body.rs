//! Bodies, streamed both ways and never buffered whole.
//!
//! [`Body`] is what the gateway answers with: nothing, a small message it
//! wrote itself, or the upstream's body passed through frame by frame.
//! [`UpstreamBody`] is the client's request body on its way upstream,
//! counted as it streams so that an oversized chunked upload is cut off at
//! the limit instead of being read to the end.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;

use crate::pool::PooledBody;

/// A response body's error, from either upstream client.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A response body.
///
/// `Default` is required by `corsica_tower::Cors`, which answers preflights
/// with an empty body of the service's own type.
#[derive(Debug, Default)]
pub(crate) enum Body {
    /// No body (preflights, 204s).
    #[default]
    Empty,
    /// A message the gateway wrote (error bodies, the demo API).
    Full(Option<Bytes>),
    /// The upstream's body, streamed.
    Upstream(PooledBody),
}

impl Body {
    /// A body holding `bytes`.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
        Body::Full(Some(bytes.into()))
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Body::Upstream(incoming) => Pin::new(incoming).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(data) => data.is_none(),
            Body::Upstream(incoming) => incoming.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Body::Upstream(incoming) => incoming.size_hint(),
        }
    }
}

/// Why a request body could not be sent upstream.
#[derive(Debug)]
pub(crate) enum RequestBodyError {
    /// The body passed `limits.max_body_bytes` while streaming.
    TooLarge {
        /// The configured limit.
        limit: u64,
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
            RequestBodyError::Client(e) => write!(f, "reading the request body failed: {e}"),
        }
    }
}

impl std::error::Error for RequestBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestBodyError::TooLarge { .. } => None,
            RequestBodyError::Client(e) => Some(e),
        }
    }
}

/// The client's request body, limited to `limit` bytes while it streams.
#[derive(Debug)]
pub(crate) struct UpstreamBody {
    inner: Incoming,
    limit: u64,
    seen: u64,
}

impl UpstreamBody {
    /// Wraps a client body.
    pub(crate) fn new(inner: Incoming, limit: u64) -> Self {
        UpstreamBody {
            inner,
            limit,
            seen: 0,
        }
    }
}

impl HttpBody for UpstreamBody {
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
                        return Poll::Ready(Some(Err(RequestBodyError::TooLarge {
                            limit: this.limit,
                        })));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(RequestBodyError::Client(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
