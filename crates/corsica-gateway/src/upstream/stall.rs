//! The timer for pauses in a streamed body: how long the gateway waits for
//! a body's next frame, from the client (`timeouts.body_read`) or from the
//! upstream (`timeouts.upstream_response`), before it fails the body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

use crate::clock::coarse_now;

/// A body's pause timer: armed on the body's first wait, pushed back
/// whenever a frame comes, expired after `pause` without one.
#[derive(Debug)]
pub(crate) struct StallTimer {
    pause: Duration,
    /// Made on the first wait; a body that comes whole never waits, and
    /// never registers a timer with the runtime.
    timer: Option<Pin<Box<Sleep>>>,
}

impl StallTimer {
    /// A timer that expires after `pause` without a frame.
    #[inline]
    pub(crate) fn new(pause: Duration) -> StallTimer {
        StallTimer { pause, timer: None }
    }

    /// The longest pause allowed.
    #[inline]
    pub(crate) fn pause(&self) -> Duration {
        self.pause
    }

    /// A frame came: the next pause counts from now. A timer not yet made
    /// is left unmade: it starts from the wait that makes it.
    #[inline]
    pub(crate) fn reset(&mut self) {
        if let Some(timer) = &mut self.timer {
            timer.as_mut().reset(coarse_now() + self.pause);
        }
    }

    /// The body is waiting: `Ready` once it has waited for `pause` since
    /// its last frame (or since this first wait).
    #[inline]
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let pause = self.pause;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(coarse_now() + pause)));
        timer.as_mut().poll(cx)
    }
}
