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

use super::h1::{self, IdleState};
use super::request_body::RequestBody;
use crate::clock::coarse_now;
use crate::metrics::Metrics;
use crate::router::Keepalive;

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
    /// Where stray responses are counted.
    metrics: Arc<Metrics>,
    /// Upstreams that sent a stray response lately, and until when their
    /// connections are not reused.
    distrusted: Mutex<Vec<(Authority, Instant)>>,
    /// Whether `distrusted` may hold anything: the common case costs one
    /// atomic load per checkout, not a lock.
    any_distrusted: AtomicBool,
}

/// How long an upstream that sent a stray response gets a new connection
/// for every request. A connection whose stray bytes are seen is closed,
/// but the bytes show only once they arrive: an extra response that comes
/// after the next request was written is taken for its answer, and HTTP/1.1
/// has no way to tell. So after the first one seen, the upstream is not
/// trusted with reuse for a while, and no later request can get another
/// request's answer from it.
const DISTRUST: Duration = Duration::from_secs(60);

struct IdleConn {
    authority: Authority,
    conn: Idle,
    since: Instant,
}

/// An idle connection, of either client.
pub(crate) enum Idle {
    /// Driven by hyper's client (requests with a body, WebSockets).
    Hyper(HyperConn),
    /// Driven inline by the gateway's own client (requests without a body).
    Direct(Box<h1::Conn>),
}

/// A connection of hyper's client, with the requests it has carried.
pub(crate) struct HyperConn {
    /// hyper's handle on the connection.
    pub(crate) sender: SendRequest<RequestBody>,
    /// Requests sent on it so far (`keepalive_requests`).
    pub(crate) served: u32,
}

impl Idle {
    /// What the idle connection's socket holds. hyper's connection task
    /// watches its own socket, and closes it on stray bytes (the task
    /// reports them, see `pool`): here it is open or closed.
    fn state(&mut self) -> IdleState {
        match self {
            Idle::Hyper(conn) if conn.sender.is_closed() => IdleState::Closed,
            Idle::Hyper(_) => IdleState::Silent,
            Idle::Direct(conn) => conn.idle_state(),
        }
    }

    fn served(&self) -> u32 {
        match self {
            Idle::Hyper(conn) => conn.served,
            Idle::Direct(conn) => conn.served(),
        }
    }
}

impl IdleConns {
    /// No idle connection yet.
    pub(crate) fn new(metrics: Arc<Metrics>) -> IdleConns {
        IdleConns {
            idle: Mutex::new(Vec::new()),
            sweeping: AtomicBool::new(false),
            metrics,
            distrusted: Mutex::new(Vec::new()),
            any_distrusted: AtomicBool::new(false),
        }
    }

    /// Whether `authority` sent a stray response in the last [`DISTRUST`].
    fn is_distrusted(&self, authority: &Authority) -> bool {
        if !self.any_distrusted.load(Ordering::Relaxed) {
            return false;
        }
        let now = coarse_now();
        let mut distrusted = self.distrusted.lock().unwrap_or_else(|e| e.into_inner());
        distrusted.retain(|(_, until)| *until > now);
        if distrusted.is_empty() {
            self.any_distrusted.store(false, Ordering::Relaxed);
        }
        distrusted.iter().any(|(a, _)| a == authority)
    }

    /// `authority` sent bytes that no request asked for: a response meant
    /// for nobody, which the next request on that connection would have
    /// taken for its own. The connection is closed (by the caller), and
    /// the event logged and counted, since it means the upstream (or
    /// something between) is broken or hostile.
    ///
    /// The first one from an upstream is a warning, and its connections
    /// are not reused for [`DISTRUST`]; those that come meanwhile are
    /// counted and logged at debug level, so that a broken upstream does
    /// not flood the log.
    pub(crate) fn report_stray(&self, authority: &Authority) {
        self.metrics.stray_response(authority.as_str());
        let until = coarse_now() + DISTRUST;
        let mut distrusted = self.distrusted.lock().unwrap_or_else(|e| e.into_inner());
        match distrusted.iter_mut().find(|(a, _)| a == authority) {
            Some((_, already)) => {
                *already = until;
                tracing::debug!(target: "corsica::gateway", upstream = %authority, "another stray response from the upstream");
            }
            None => {
                distrusted.push((authority.clone(), until));
                self.any_distrusted.store(true, Ordering::Relaxed);
                tracing::warn!(
                    target: "corsica::gateway",
                    upstream = %authority,
                    "the upstream sent bytes no request asked for (an unrequested response?); the connection is closed, and for {} s every request to it gets a new connection, so that no client gets another's answer",
                    DISTRUST.as_secs()
                );
            }
        }
    }

    /// The most recently used idle hyper connection to `authority` that is
    /// still open.
    pub(crate) fn checkout_hyper(&self, authority: &Authority) -> Option<HyperConn> {
        match self.checkout(authority, |idle| matches!(idle, Idle::Hyper(_)))? {
            Idle::Hyper(conn) => Some(conn),
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
        if self.is_distrusted(authority) {
            return None;
        }
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
            let state = if fresh {
                candidate.conn.state()
            } else {
                IdleState::Closed
            };
            let taken = idle.remove(at);
            match state {
                IdleState::Silent => return Some(taken.conn),
                IdleState::StrayBytes => {
                    // The upstream is distrusted from now on: none of its
                    // other idle connections is handed out either.
                    self.report_stray(authority);
                    return None;
                }
                IdleState::Closed => {}
            }
        }
        None
    }

    /// Puts a connection whose exchange is over back on the stack, and
    /// closes the ones idle for too long (the oldest are at the bottom).
    /// A connection that has carried as many requests as `keepalive`
    /// allows, or that holds stray bytes, is closed instead.
    pub(crate) fn checkin(
        self: &Arc<Self>,
        authority: Authority,
        mut conn: Idle,
        keepalive: Keepalive,
    ) {
        if !keepalive.allows_another(conn.served()) {
            return;
        }
        match conn.state() {
            IdleState::Silent if self.is_distrusted(&authority) => return,
            IdleState::Silent => {}
            IdleState::StrayBytes => return self.report_stray(&authority),
            IdleState::Closed => return,
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
                    if now.duration_since(c.since) > IDLE_TIMEOUT {
                        return false;
                    }
                    match c.conn.state() {
                        IdleState::Silent => true,
                        IdleState::StrayBytes => {
                            pool.report_stray(&c.authority);
                            false
                        }
                        IdleState::Closed => false,
                    }
                });
            }
        });
    }
}
