//! When the gateway stops waiting for an upstream's response head.
//!
//! For a request without a body, `timeouts.upstream_response` after the
//! request was sent. For one with a body, the upload's time is not the
//! upstream's: the wait counts from the upstream's last take of the body
//! while it streams (an upstream that stops reading it times out), and
//! from the body's end afterwards. While the body waits for the client,
//! the upstream is not to blame at all; the body's own timer
//! (`timeouts.body_read`) answers a client that stops sending with 408.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::request_body::BodyProgress;
use crate::clock::coarse_now;

/// The deadline of one request's response head.
#[derive(Debug, Clone)]
pub(crate) struct HeadDeadline {
    at: Instant,
    wait: Duration,
    body: Option<Arc<BodyProgress>>,
}

impl HeadDeadline {
    /// `wait` from now, or, with a request body's `progress`, from the
    /// body's last step.
    pub(crate) fn new(wait: Duration, body: Option<Arc<BodyProgress>>) -> HeadDeadline {
        HeadDeadline {
            // A timeout of seconds needs no finer clock than the coarse one.
            at: coarse_now() + wait,
            wait,
            body,
        }
    }

    /// The deadline of a request without a body (the inline client's).
    pub(crate) fn at(&self) -> Instant {
        self.at
    }

    /// `pending`'s outcome, or `None` once the deadline has passed.
    pub(crate) async fn run<F: Future>(&self, pending: F) -> Option<F::Output> {
        let Some(body) = &self.body else {
            return tokio::time::timeout_at(self.at, pending).await.ok();
        };
        let mut pending = pin!(pending);
        // The client's pause, not the upstream's: the body's timer decides.
        let clients_turn = || !body.is_ended() && body.is_waiting_for_client();
        loop {
            let due = if clients_turn() {
                coarse_now() + self.wait
            } else {
                body.last() + self.wait
            };
            match tokio::time::timeout_at(due, pending.as_mut()).await {
                Ok(outcome) => return Some(outcome),
                // The body moved on since the timer was set: wait from there.
                // (Compared with `due`, not the clock: the coarse clock may
                // lag the timer's, and the same `due` would fire at once,
                // again and again.)
                Err(_) if clients_turn() || body.last() + self.wait > due => continue,
                Err(_) => return None,
            }
        }
    }
}
