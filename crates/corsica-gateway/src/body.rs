//! The gateway's response bodies, streamed and never buffered whole.
//!
//! [`Body`] is what the gateway answers with: nothing, a small message it
//! wrote itself, or the upstream's body passed through frame by frame,
//! failed when the upstream pauses in it for too long. (The client's
//! request body on its way upstream is `crate::upstream`'s.)

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::upstream::{ResponseBody, StallTimer, Whole};

/// A response body's error, from any upstream client. Named here too, as
/// the error of the gateway's own [`Body`].
pub(crate) use crate::upstream::BodyError;

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
    Full(Whole),
    /// The upstream's body, streamed.
    Upstream(UpstreamResponse),
}

impl Body {
    /// A body holding `bytes`.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
        Body::Full(Whole::new(Some(bytes.into())))
    }

    /// The upstream's `body`, failed when the upstream pauses in it for
    /// longer than `pause`.
    pub(crate) fn upstream(body: ResponseBody, pause: Duration) -> Body {
        Body::Upstream(UpstreamResponse {
            body,
            stall: StallTimer::new(pause),
        })
    }
}

/// The upstream's response body, passed on frame by frame. An upstream
/// that stops sending it midway (a hung backend, a lost peer behind a
/// load balancer that keeps the connection open) would otherwise hold the
/// client's request, and a graceful shutdown, for good: after
/// `timeouts.upstream_response` without a byte, as nginx's
/// `proxy_read_timeout` does, the body fails; the client's response is cut
/// short, and the failure logged and counted as a timeout.
#[derive(Debug)]
pub(crate) struct UpstreamResponse {
    body: ResponseBody,
    stall: StallTimer,
}

/// The upstream sent nothing of its response body for this long.
#[derive(Debug)]
pub(crate) struct UpstreamStalled(pub(crate) Duration);

impl fmt::Display for UpstreamStalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the upstream sent nothing of its response body for {:?} (timeouts.upstream_response)",
            self.0
        )
    }
}

impl std::error::Error for UpstreamStalled {}

impl UpstreamResponse {
    /// The upstream's next frame, or its failure after `pause` without one.
    #[inline]
    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Pending => {
                ready!(self.stall.poll_expired(cx));
                Poll::Ready(Some(Err(Box::new(UpstreamStalled(self.stall.pause())))))
            }
            polled => {
                self.stall.reset();
                polled
            }
        }
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
            Body::Full(data) => data.poll_frame(),
            Body::Upstream(upstream) => upstream.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(data) => data.is_end_stream(),
            Body::Upstream(upstream) => upstream.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(data) => data.size_hint(),
            Body::Upstream(upstream) => upstream.body.size_hint(),
        }
    }
}
