//! WebSocket handshakes, to which browsers apply no CORS: a page from any
//! origin may open one with the user's cookies (cross-site WebSocket
//! hijacking). With [`crate::CorsLayer::check_websockets`], the layer holds
//! them to the policy's origin rule.

use corsica::{Denial, Policy};
use http::header::{self, HeaderMap, HeaderName};
use http::{Method, Request, Version};

/// Whether `req` is a WebSocket handshake (RFC 6455 §4.1): an HTTP/1.1
/// `GET` with `Connection: upgrade` and `Upgrade: websocket`, as
/// [`crate::CorsLayer::check_websockets`] judges it. A service that
/// tunnels handshakes should recognise them by this same rule, so that none
/// goes through unchecked.
pub fn is_websocket_handshake<B>(req: &Request<B>) -> bool {
    req.version() == Version::HTTP_11
        && req.method() == Method::GET
        && has_token(req.headers(), header::CONNECTION, b"upgrade")
        && has_token(req.headers(), header::UPGRADE, b"websocket")
}

/// Whether any value of `name` lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &[u8]) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    })
}

/// Logs a handshake from an origin the policy refuses.
pub(crate) fn log_refusal(policy: &Policy, denial: &Denial<'_>, report_only: bool) {
    if report_only {
        tracing::warn!(target: "corsica", reason = denial.code(), detail = %denial.explain(policy), "WebSocket handshake would be refused (report-only)");
    } else {
        tracing::info!(target: "corsica", reason = denial.code(), detail = %denial.explain(policy), "WebSocket handshake refused");
    }
}
