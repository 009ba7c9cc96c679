//! Responses the gateway makes itself: small JSON errors.
//!
//! They are built inside the service that the route's `CorsLayer` wraps,
//! so an allowed origin gets its CORS headers on a 502 exactly as on a 200:
//! the page's JavaScript can then read why its request failed instead of
//! seeing an opaque network error.

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use crate::body::Body;

/// What went wrong, as the client is told.
///
/// Details are written for the client and never carry upstream addresses
/// or internal error text: those go to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request is malformed (400).
    BadRequest(&'static str),
    /// The request head is over `limits.max_header_bytes` (431).
    HeadersTooLarge,
    /// The request body is over `limits.max_body_bytes` (413).
    BodyTooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// The client stopped sending its request body (408).
    BodyTimeout {
        /// How long the gateway waited for more.
        after: std::time::Duration,
    },
    /// The upstream refused or reset the connection (502).
    UpstreamUnavailable,
    /// The upstream answered with something that is not HTTP, or broke off (502).
    UpstreamProtocol,
    /// The upstream did not answer in time (504).
    UpstreamTimeout,
    /// A WebSocket handshake from an origin the policy does not allow (403).
    WebSocketOrigin,
    /// A WebSocket handshake on a route whose upstream speaks HTTP/2 with
    /// prior knowledge, which cannot carry the upgrade (502).
    WebSocketOverHttp2,
    /// The gateway is misconfigured: no route matches (404).
    NoRoute,
}

impl Failure {
    /// The status code.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Failure::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Failure::UpstreamUnavailable
            | Failure::UpstreamProtocol
            | Failure::WebSocketOverHttp2 => StatusCode::BAD_GATEWAY,
            Failure::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Failure::WebSocketOrigin => StatusCode::FORBIDDEN,
            Failure::NoRoute => StatusCode::NOT_FOUND,
        }
    }

    /// A stable machine-readable code, the `error` field of the body.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Failure::BadRequest(_) => "bad_request",
            Failure::HeadersTooLarge => "headers_too_large",
            Failure::BodyTooLarge { .. } => "body_too_large",
            Failure::BodyTimeout { .. } => "body_timeout",
            Failure::UpstreamUnavailable => "upstream_unavailable",
            Failure::UpstreamProtocol => "upstream_protocol_error",
            Failure::UpstreamTimeout => "upstream_timeout",
            Failure::WebSocketOrigin => "websocket_origin_not_allowed",
            Failure::WebSocketOverHttp2 => "websocket_needs_http1_upstream",
            Failure::NoRoute => "no_route",
        }
    }

    /// A sentence for a developer reading the response.
    pub(crate) fn detail(&self) -> String {
        match self {
            Failure::BadRequest(why) => (*why).to_owned(),
            Failure::HeadersTooLarge => "the request headers are larger than the gateway allows".into(),
            Failure::BodyTooLarge { limit } => {
                format!("the request body is larger than the gateway's limit of {limit} bytes")
            }
            Failure::BodyTimeout { after } => {
                format!("the request body stopped arriving: nothing more came for {} s", after.as_secs_f64())
            }
            Failure::UpstreamUnavailable => "the gateway could not connect to the upstream API".into(),
            Failure::UpstreamProtocol => {
                "the upstream API closed the connection or answered with something that is not valid HTTP".into()
            }
            Failure::UpstreamTimeout => "the upstream API did not answer in time".into(),
            Failure::WebSocketOrigin => {
                "this page's origin may not open a WebSocket to this API".into()
            }
            Failure::WebSocketOverHttp2 => {
                "the gateway speaks HTTP/2 to this route's upstream (upstream_http2), which cannot carry a WebSocket upgrade".into()
            }
            Failure::NoRoute => "no route of the gateway matches this request".into(),
        }
    }

    /// The response: `{"error": code, "detail": sentence}`.
    pub(crate) fn into_response(self) -> Response<Body> {
        let body = serde_json::json!({ "error": self.code(), "detail": self.detail() });
        json_response(self.status(), &body)
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut text = value.to_string();
    text.push('\n');
    let mut response = Response::new(Body::full(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn failures_are_small_json_documents() {
        let response = Failure::UpstreamTimeout.into_response();
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["error"], "upstream_timeout");
        assert!(value["detail"].as_str().unwrap().contains("in time"));
    }
}
