//! A worker's idle upstream connections: a stack, most recently used on
//! top, shared by the pool that takes connections out and the response
//! bodies that put them back at their end. Connections idle for longer
//! than a minute are closed, on the way or by a sweeper task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use http::uri::Authority;
use hyper::client::conn::http1::SendRequest;
use tokio::time::Instant;

use super::h1;
use super::request_body::RequestBody;
use crate::clock::coarse_now;

/// How long an unused connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per worker, over all upstreams. More than the
/// concurrency a worker reaches against one upstream in practice; a burst
/// over it opens connections that are closed after use.
const MAX_IDLE: usize = 512;

/// A worker's idle connections to plain-HTTP upstreams.
pub(crate) struct IdleConns {
    idle: Mutex<Vec<IdleConn>>,
    /// Whether the sweeper task runs.
    sweeping: AtomicBool,
}

struct IdleConn {
    authority: Authority,
    conn: Idle,
    since: Instant,
}

/// An idle connection, of either client.
pub(crate) enum Idle {
    /// Driven by hyper's client (requests with a body, WebSockets).
    Hyper(SendRequest<RequestBody>),
    /// Driven inline by the gateway's own client (requests without a body).
    Direct(Box<h1::Conn>),
}

impl Idle {
    /// Whether the connection is still open and may be reused.
    fn is_usable(&mut self) -> bool {
        match self {
            Idle::Hyper(sender) => !sender.is_closed(),
            Idle::Direct(conn) => conn.is_idle_usable(),
        }
    }
}

impl IdleConns {
    /// No idle connection yet.
    pub(crate) fn new() -> IdleConns {
        IdleConns {
            idle: Mutex::new(Vec::new()),
            sweeping: AtomicBool::new(false),
        }
    }

    /// The most recently used idle hyper connection to `authority` that is
    /// still open.
    pub(crate) fn checkout_hyper(&self, authority: &Authority) -> Option<SendRequest<RequestBody>> {
        match self.checkout(authority, |idle| matches!(idle, Idle::Hyper(_)))? {
            Idle::Hyper(sender) => Some(sender),
            Idle::Direct(_) => None,
        }
    }

    /// The most recently used idle direct connection to `authority` that
    /// is still open.
    pub(crate) fn checkout_direct(&self, authority: &Authority) -> Option<Box<h1::Conn>> {
        match self.checkout(authority, |idle| matches!(idle, Idle::Direct(_)))? {
            Idle::Direct(conn) => Some(conn),
            Idle::Hyper(_) => None,
        }
    }

    /// Whether an idle hyper connection to `authority` waits in the pool.
    pub(crate) fn has_idle_hyper(&self, authority: &Authority) -> bool {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.iter()
            .any(|c| c.authority == *authority && matches!(c.conn, Idle::Hyper(_)))
    }

    /// Takes the most recent idle connection to `authority` of the kind
    /// `wanted` picks, closing the expired or closed ones met on the way.
    fn checkout(&self, authority: &Authority, wanted: fn(&Idle) -> bool) -> Option<Idle> {
        let now = coarse_now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = idle.len();
        while at > 0 {
            at -= 1;
            let candidate = &mut idle[at];
            if candidate.authority != *authority || !wanted(&candidate.conn) {
                continue;
            }
            let fresh = now.duration_since(candidate.since) <= IDLE_TIMEOUT;
            let usable = fresh && candidate.conn.is_usable();
            let taken = idle.remove(at);
            if usable {
                return Some(taken.conn);
            }
        }
        None
    }

    /// Puts a connection whose exchange is over back on the stack, and
    /// closes the ones idle for too long (the oldest are at the bottom).
    pub(crate) fn checkin(self: &Arc<Self>, authority: Authority, mut conn: Idle) {
        if !conn.is_usable() {
            return;
        }
        self.start_sweeper();
        let now = coarse_now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let expired = idle
            .iter()
            .take_while(|c| now.duration_since(c.since) > IDLE_TIMEOUT)
            .count();
        let over = (idle.len() - expired + 1).saturating_sub(MAX_IDLE);
        idle.drain(..expired + over);
        idle.push(IdleConn {
            authority,
            conn,
            since: now,
        });
    }

    /// Starts, once, the task that closes connections idle for too long
    /// when no traffic comes to do it in `checkin`. It holds the stack
    /// weakly and ends with it.
    fn start_sweeper(self: &Arc<Self>) {
        if self.sweeping.swap(true, Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.sweeping.store(false, Ordering::Relaxed);
            return;
        };
        let pool: Weak<IdleConns> = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(IDLE_TIMEOUT / 2).await;
                let Some(pool) = pool.upgrade() else { return };
                let now = coarse_now();
                let mut idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.retain_mut(|c| {
                    now.duration_since(c.since) <= IDLE_TIMEOUT && c.conn.is_usable()
                });
            }
        });
    }
}
