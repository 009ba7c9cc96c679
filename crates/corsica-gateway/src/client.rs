//! What the connection service hands the proxy: the client's details, and
//! the marks it puts on a request before routing it.

use std::sync::Arc;

use http::HeaderValue;

use crate::path::PathError;
use crate::timed_io::ConnState;
use crate::upstream::UpstreamClient;

/// What the proxy knows about the client connection.
pub(crate) struct ClientInfo {
    /// The client's IP address, for `X-Forwarded-For`.
    pub(crate) ip: HeaderValue,
    /// `http` or `https`, for `X-Forwarded-Proto`.
    pub(crate) proto: HeaderValue,
    /// The connection's state, held busy while a WebSocket tunnel is open.
    pub(crate) conn: Arc<ConnState>,
    /// The pooled upstream client of the worker thread serving the
    /// connection: its upstream connections live on the same thread.
    pub(crate) upstream: UpstreamClient,
}

/// Marks a request whose path is malformed or ambiguous (see
/// `crate::path`); the proxy refuses it with the reason.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MalformedTarget(pub(crate) PathError);
