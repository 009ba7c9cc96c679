//! A body held whole in memory: one data frame, then its end. The
//! gateway's own messages are such bodies, and so is an upstream's body
//! read entirely with its head.

use std::task::Poll;

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// A body held whole (`None`: no body, or already sent).
#[derive(Debug, Default)]
pub(crate) struct Whole(Option<Bytes>);

impl Whole {
    /// The body `data`, sent as one frame even when empty.
    #[inline]
    pub(crate) fn new(data: Option<Bytes>) -> Whole {
        Whole(data)
    }

    /// The one frame, then the end; never an error of any type `E`.
    #[inline]
    pub(crate) fn poll_frame<E>(&mut self) -> Poll<Option<Result<Frame<Bytes>, E>>> {
        Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
    }

    /// Whether the frame has been sent (or there was none).
    #[inline]
    pub(crate) fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    /// The exact size of what is left.
    #[inline]
    pub(crate) fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |data| data.len() as u64))
    }
}
