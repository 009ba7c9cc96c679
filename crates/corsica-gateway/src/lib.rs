//! # corsica-gateway
//!
//! The library behind `corsica serve`: a reverse proxy on hyper that puts a
//! validated CORS policy (per route) in front of any HTTP API. CORS is
//! enforced by the `corsica-tower` layer, one per route, which asks the
//! `corsica` engine; the gateway holds no CORS rule of its own.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use corsica_gateway::{config, Gateway, Options};
//!
//! let source = std::fs::read_to_string("corsica.toml")?;
//! let config = config::load_str(&source)?;
//! let options = Options {
//!     config_path: Some("corsica.toml".into()),
//!     watch_config: true,
//!     handle_signals: true,
//!     // One worker thread per core, each with its own runtime and pool.
//!     threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
//!     ..Options::default()
//! };
//! let gateway = Gateway::bind(config, options).await?;
//! println!("listening on {}", gateway.local_addr());
//! gateway.run().await?;
//! # Ok(()) }
//! ```
//!
//! ## What the gateway does with CORS
//!
//! - **Preflights** are answered by the route's layer without touching the
//!   upstream: 204 with the policy's headers, or 403 with none.
//! - **Actual requests** go upstream; the response's own CORS headers are
//!   removed and replaced by the policy's, and `Vary: Origin` is appended.
//! - **Responses the gateway makes itself** (400, 413, 431, 502, 504) are
//!   made inside the service the layer wraps, so an allowed origin's page
//!   can read them: `{"error": "upstream_unavailable", "detail": "..."}`.
//! - **`cors = false`** routes pass requests and responses through untouched.
//! - **`mode = "report-only"`** routes evaluate, log and count every
//!   decision (`report_only="true"` in the metrics) but enforce nothing.
//! - **`forward_preflight = true`** routes send preflights upstream and
//!   still write the policy's answer onto the upstream's response
//!   (`CorsLayer::forward_preflights`): the upstream keeps its status and
//!   body, so it can make a preflight fail, but its own CORS headers are
//!   replaced, so it can never allow more than the policy.
//! - **WebSocket handshakes** from an origin the route's policy refuses get
//!   403 (cross-site WebSocket hijacking); handshakes without `Origin`
//!   (non-browser clients) pass, as non-CORS requests do.
//!
//! ## Threads
//!
//! With [`Options::threads`] set, client connections are served by that
//! many worker threads, each running its own single-threaded runtime with
//! its own upstream connection pool: a request, its upstream exchange and
//! its response stay on one thread, as in nginx's one-process-per-core
//! model, which measured about a third less CPU per proxied request than
//! one multi-threaded runtime. Each worker accepts on its own
//! `SO_REUSEPORT` socket; a worker holding more connections than another
//! hands each new one it accepts to the least-loaded worker (`balance`), so
//! an unlucky hash does not leave one thread with most of the clients.
//! With `threads = 0` (the default, used by tests) everything runs on the
//! caller's runtime.
//!
//! ## Modules
//!
//! `config` (the file: `config::keys`, every unknown key at once;
//! `config::file`, the file as written; `config::validate`, one check per
//! section; `config::settings`, the validated configuration;
//! `config::read`, reading the file without trusting its path) · `router`
//! (which route a request gets, by host and path; public, as `corsica
//! explain` routes with it) · `balance` (connections spread over workers) ·
//! `linger` (closing without losing the last response) · `clock` (cheap
//! time for deadlines) · `server` (listeners, connections, shutdown) ·
//! `options` (what the embedder sets) · `handle` (the state a running
//! gateway shares with its handles and reloader) · `control` (orders to
//! the control loop, reload outcomes, the stop signal; below `server`,
//! `reload`, `watch` and `admin`, which all use it) · `conn` (one client
//! connection's service) · `client` (what a connection hands the proxy) ·
//! `path` (paths in normal form, before routing) · `routes` (the per-route
//! layers, swapped whole on reload) · `proxy` (one request upstream) ·
//! `headers` (hop-by-hop, `X-Forwarded-*`) · `body` (the gateway's response
//! bodies, the upstream's body timer) · `timed_io` (header-read and idle
//! timeouts) · `upstream` (one client for every upstream: `upstream::pool`
//! and `upstream::h1` for `http://`, hyper-util's for `https://` and h2c,
//! the request body's limit and timer, the response head's deadline) ·
//! `reload` (applying a new file, signals) · `watch` (noticing a changed
//! file, symlinks and TLS files included) · `metrics` and `admin`
//! (`/metrics`, `/healthz`) · `tls` (certificates and keys, from their
//! paths) · `reply` (the gateway's own JSON errors) · `tunnel` (WebSocket
//! tunnels and their silence timer) · `demo`.
#![warn(missing_docs)]

mod admin;
mod balance;
mod body;
mod client;
mod clock;
pub mod config;
mod conn;
mod control;
pub mod demo;
mod handle;
mod headers;
mod linger;
mod metrics;
mod options;
mod path;
mod proxy;
mod reload;
mod reply;
pub mod router;
mod routes;
mod server;
mod timed_io;
mod tls;
mod tunnel;
mod upstream;
mod watch;

/// The gateway's own HTTP/1 response parser and body decoder, for the
/// fuzz target that feeds them arbitrary upstream bytes. Not a supported
/// API.
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::upstream::h1::replay::{replay, Ending, Replayed};
}

pub use control::{ReloadOutcome, ReloadStatus};
pub use handle::Handle;
pub use options::Options;
pub use server::{Gateway, ServeError};
