//! The validated configuration: what the gateway runs with, defaults
//! filled in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use corsica::Diagnostic;
use http::Uri;

use crate::router::{self, Route};

/// Timeouts, with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting to the upstream (default 5 s).
    pub connect: Duration,
    /// Reading a request head (default 10 s).
    pub header_read: Duration,
    /// Waiting for the upstream's response head once the request has been
    /// sent, and, while a request body streams, for the upstream to take
    /// its next part (default 60 s).
    pub upstream_response: Duration,
    /// The longest pause in a client's request body before the gateway
    /// answers 408 (default 60 s).
    pub body_read: Duration,
    /// Idle client connections (default 90 s).
    pub idle: Duration,
    /// How long a shutdown waits for requests in flight before it closes
    /// their connections; `None`: [`crate::Options::drain_timeout`] (30 s).
    pub drain: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            header_read: Duration::from_secs(10),
            upstream_response: Duration::from_secs(60),
            body_read: Duration::from_secs(60),
            idle: Duration::from_secs(90),
            drain: None,
        }
    }
}

/// Size limits, with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (default 64 KiB).
    pub max_header_bytes: usize,
    /// Largest request body (default 10 MiB).
    pub max_body_bytes: u64,
    /// Most header fields in a request head (default 100, as hyper's and
    /// Envoy's). Over it, the HTTP parser answers a bare 431 before the
    /// request is routed; over 100, each request head is parsed into a
    /// heap buffer instead of the stack.
    pub max_header_count: usize,
}

/// hyper's own limit of header fields, kept on the stack.
pub const DEFAULT_MAX_HEADER_COUNT: usize = 100;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_body_bytes: 10 * 1024 * 1024,
            max_header_count: DEFAULT_MAX_HEADER_COUNT,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// TLS files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// A validated gateway configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The default upstream.
    pub upstream: Uri,
    /// Whether the default upstream is spoken to in HTTP/2 with prior knowledge.
    pub upstream_http2: bool,
    /// A PEM file of CA certificates trusted for `https://` upstreams on
    /// top of the webpki roots.
    pub upstream_ca: Option<PathBuf>,
    /// The admin listener, if any.
    pub admin_listen: Option<SocketAddr>,
    /// TLS termination, if any.
    pub tls: Option<Tls>,
    /// Routes, most specific first; the last one is the default.
    pub routes: Vec<Route>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Limits.
    pub limits: Limits,
    /// Log format.
    pub log_format: LogFormat,
    /// Debug mode.
    pub debug: bool,
    /// Warnings found while validating.
    pub warnings: Vec<Diagnostic>,
}

impl GatewayConfig {
    /// The route for a request's host and path: the most specific match
    /// ([`router::route_for`]).
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&Route> {
        router::route_for(&self.routes, host, path)
    }

    /// The route the gateway would give a request for `uri`, routed as the
    /// gateway routes it ([`router::route_for_uri`]). `Err` with the reason
    /// the gateway would give its 400, for a path it refuses.
    pub fn route_for_uri(&self, uri: &Uri) -> Result<Option<&Route>, String> {
        router::route_for_uri(&self.routes, uri)
    }
}
