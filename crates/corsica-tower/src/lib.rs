//! # corsica-tower
//!
//! A tower [`Layer`](tower_layer::Layer) that enforces a validated
//! [`corsica::Policy`] for axum, hyper and tonic services.
//!
//! - Preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//!   are answered here: 204 with the CORS headers when allowed, 403 with none
//!   when refused. The inner service never sees them.
//! - Every other request goes to the inner service; its response gets the
//!   policy's CORS headers (its own CORS headers are replaced) and
//!   `Vary: Origin` appended whenever the answer depends on the origin.
//! - [`CorsLayer::reconfigure`] swaps the policy atomically while serving.
//! - [`CorsLayer::with_origin_source`] consults an async allowlist.
//! - [`CorsLayer::debug`] explains refusals in an `x-corsica-debug` header.
//! - The inner service finds the layer's decision in each request's
//!   extensions, as a [`CorsDecision`]; it never needs to decide again.
//!
//! The layer holds no CORS rules of its own: every decision is
//! [`corsica::Policy::decide`].
#![warn(missing_docs)]

mod dynamic;
mod extensions;
mod future;
mod layer;
mod observe;
mod plan;
mod report;
mod service;
mod shared;
mod source;
mod websocket;

pub use extensions::{CorsDecision, ReportOnlyHeaders, Verdict};
pub use future::ResponseFuture;
pub use layer::CorsLayer;
pub use observe::{CorsEvent, CorsObserver, Outcome};
pub use report::DEBUG_HEADER;
pub use service::Cors;
pub use source::{BoxError, OriginQuery, OriginSource, OriginsFuture};
pub use websocket::is_websocket_handshake;
