//! The gateway file as written: the serde structs that TOML is read into,
//! every value [`Located`] so that each problem is reported at its place.

use corsica::policy::Located;
use corsica::PolicyConfig;
use serde::Deserialize;

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    /// Address the gateway listens on, e.g. `"127.0.0.1:8080"`.
    pub listen: Option<Located<String>>,
    /// The API behind the gateway, e.g. `"http://127.0.0.1:3000"`.
    pub upstream: Option<Located<String>>,
    /// Speak HTTP/2 with prior knowledge (h2c) to an `http://` upstream.
    pub upstream_http2: Option<Located<bool>>,
    /// Reuse connections to the upstream (default `true`).
    pub keepalive: Option<Located<bool>>,
    /// The most requests one upstream connection carries (default 1000).
    pub keepalive_requests: Option<Located<i64>>,
    /// PEM file of CA certificates trusted for `https://` upstreams, on top
    /// of the webpki roots (an internal CA).
    pub upstream_ca: Option<Located<String>>,
    /// Address of the admin listener (`/healthz`, `/metrics`).
    pub admin_listen: Option<Located<String>>,
    /// TLS termination.
    pub tls: Option<Located<TlsFile>>,
    /// The default policy.
    pub policy: Option<Located<PolicyConfig>>,
    /// Per-route settings; the most specific match wins.
    #[serde(default)]
    pub routes: Vec<Located<RouteFile>>,
    /// Timeouts.
    pub timeouts: Option<Located<TimeoutsFile>>,
    /// Size limits.
    pub limits: Option<Located<LimitsFile>>,
    /// Logging and debug output.
    pub log: Option<Located<LogFile>>,
}

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// PEM certificate chain.
    pub cert: Located<String>,
    /// PEM private key.
    pub key: Located<String>,
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// The path prefix this route covers; must start with `/`. Optional
    /// here so that a route without one is reported with the rest of the
    /// file's problems rather than alone.
    pub path_prefix: Option<Located<String>>,
    /// Only requests for this `Host` (without port).
    pub host: Option<Located<String>>,
    /// This route's own policy.
    pub policy: Option<Located<PolicyConfig>>,
    /// `cors = false` passes requests through untouched.
    pub cors: Option<Located<bool>>,
    /// Send preflights to the upstream instead of answering them.
    pub forward_preflight: Option<Located<bool>>,
    /// `"enforce"` (default) or `"report-only"`.
    pub mode: Option<Located<String>>,
    /// A different upstream for this route.
    pub upstream: Option<Located<String>>,
    /// Speak HTTP/2 with prior knowledge (h2c) to this route's upstream.
    pub upstream_http2: Option<Located<bool>>,
    /// Reuse connections to this route's upstream.
    pub keepalive: Option<Located<bool>>,
    /// The most requests one connection to this route's upstream carries.
    pub keepalive_requests: Option<Located<i64>>,
}

/// `[timeouts]`: durations such as `"5s"` or `"250ms"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    /// Connecting to the upstream.
    pub connect: Option<Located<String>>,
    /// Reading a client's request head.
    pub header_read: Option<Located<String>>,
    /// Waiting for the upstream's response head, once the request is sent.
    pub upstream_response: Option<Located<String>>,
    /// A pause in a client's request body.
    pub body_read: Option<Located<String>>,
    /// Closing idle client connections.
    pub idle: Option<Located<String>>,
    /// How long a shutdown waits for requests in flight.
    pub drain: Option<Located<String>>,
}

/// `[limits]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Largest request head a client may send.
    pub max_header_bytes: Option<Located<i64>>,
    /// Largest request body a client may send.
    pub max_body_bytes: Option<Located<i64>>,
    /// Most header fields a request head may carry.
    pub max_header_count: Option<Located<i64>>,
}

/// `[log]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// `"text"` or `"json"`.
    pub format: Option<Located<String>>,
    /// Debug mode: refused requests carry `x-corsica-debug` with the reason.
    pub debug: Option<Located<bool>>,
}
