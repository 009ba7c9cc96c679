//! What the gateway's control loop, its reloader, the file watch, the
//! signal handler and the admin listener tell each other: the orders sent
//! to the control loop, how reloads went, and the stop signal. It depends
//! on nothing of the gateway, so each of them can use it without using
//! the others.

use tokio::sync::watch;

/// Messages to the gateway's control loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Re-read the configuration file (SIGHUP, a change on disk, a handle).
    Reload,
    /// Stop accepting and drain requests in flight (SIGTERM, Ctrl-C).
    Shutdown,
    /// A second shutdown signal: stop waiting for requests in flight.
    Abort,
}

/// The result of one reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new configuration is serving. `warnings` lists what it could not
    /// change without a restart, and the configuration's own warnings.
    Applied {
        /// The generation now serving.
        generation: u64,
        /// Settings that need a restart, and validation warnings.
        warnings: Vec<String>,
    },
    /// The file was refused; the previous configuration keeps serving.
    Rejected {
        /// Every problem, rendered with file:line:col.
        errors: String,
    },
}

/// How many reloads were attempted, and how the last one went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReloadStatus {
    /// Reloads attempted so far.
    pub attempts: u64,
    /// The last reload's outcome.
    pub last: Option<ReloadOutcome>,
}

/// Resolves once `stop` turns true (or its sender is gone). It returns
/// nothing, so no borrow of the channel outlives it inside a `select!`.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
