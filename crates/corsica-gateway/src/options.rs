//! [`Options`]: what the embedder sets beyond the configuration file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rustls::pki_types::CertificateDer;

/// What the embedder (the CLI, a test) sets beyond the configuration file.
#[derive(Debug, Clone)]
pub struct Options {
    /// The file the configuration came from. Reloads re-read it; without
    /// it there is nothing to reload (the built-in demo).
    pub config_path: Option<PathBuf>,
    /// Reload when `config_path` changes on disk (debounced).
    pub watch_config: bool,
    /// Shut down gracefully on SIGTERM and Ctrl-C (a second one stops at
    /// once), reload on SIGHUP; the handlers are in place once
    /// [`Gateway::bind`](crate::Gateway::bind) returns.
    pub handle_signals: bool,
    /// Listen here instead of the file's `listen` (the CLI's `--listen`).
    pub listen_override: Option<SocketAddr>,
    /// How long a shutdown waits for requests in flight before it closes
    /// their connections anyway.
    pub drain_timeout: Duration,
    /// CA certificates trusted for `https://` upstreams on top of the
    /// webpki roots (an internal CA; a test's self-signed certificate).
    pub upstream_ca: Vec<CertificateDer<'static>>,
    /// Worker threads serving client connections, each with its own
    /// single-threaded runtime and upstream connection pool, so that a
    /// request and its upstream exchange stay on one thread (no wake-ups
    /// across threads, as in nginx's worker model). 0 serves on the
    /// runtime that calls [`Gateway::run`](crate::Gateway::run) instead.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_path: None,
            watch_config: false,
            handle_signals: false,
            listen_override: None,
            drain_timeout: Duration::from_secs(30),
            upstream_ca: Vec::new(),
            threads: 0,
        }
    }
}
