//! [`Handle`], and the state a running gateway's accept loops, reloader
//! and handles share.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::{mpsc, watch};

use crate::config::LogFormat;
use crate::control::{Control, ReloadStatus};
use crate::metrics::Metrics;
use crate::options::Options;
use crate::routes::Generation;

/// What the accept loops, the reloader and the handles share.
pub(crate) struct Inner {
    pub(crate) current: Arc<ArcSwap<Generation>>,
    pub(crate) metrics: Arc<Metrics>,
    /// The origin sets that policies read with `origins_from`, kept in
    /// sync across reloads.
    pub(crate) stores: Arc<corsica_store::OriginStores>,
    pub(crate) options: Options,
    pub(crate) control: mpsc::UnboundedSender<Control>,
    pub(crate) status: watch::Sender<ReloadStatus>,
    /// What was bound at start, which a reload cannot change.
    pub(crate) started: Started,
}

/// The settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    pub(crate) listen: SocketAddr,
    pub(crate) admin_listen: Option<SocketAddr>,
    pub(crate) tls: bool,
    pub(crate) log_format: LogFormat,
}

/// Controls a running gateway from another task.
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// A handle on the gateway whose shared state is `inner`.
    pub(crate) fn new(inner: Arc<Inner>) -> Handle {
        Handle { inner }
    }

    /// Re-reads the configuration file, as SIGHUP does.
    pub fn reload(&self) {
        let _ = self.inner.control.send(Control::Reload);
    }

    /// Starts a graceful shutdown, as SIGTERM does: stop accepting, let
    /// requests in flight finish, then [`Gateway::run`](crate::Gateway::run) returns.
    pub fn shutdown(&self) {
        let _ = self.inner.control.send(Control::Shutdown);
    }

    /// Reload outcomes, to wait on (`changed().await`).
    pub fn reload_status(&self) -> watch::Receiver<ReloadStatus> {
        self.inner.status.subscribe()
    }

    /// The generation serving now (0 until the first successful reload).
    pub fn generation(&self) -> u64 {
        self.inner.current.load().id
    }

    /// The metrics, as `/metrics` shows them.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.encode()
    }
}
