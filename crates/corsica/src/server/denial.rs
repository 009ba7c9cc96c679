//! Why a request was refused, in words a developer can act on.

use std::fmt::Write;

use http::HeaderValue;

use crate::acrh::{AcrhError, MAX_ACRH_LEN, MAX_EMPTY_ELEMENTS};
use crate::method;
use crate::policy::Policy;

/// The reason the engine refused a CORS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial<'a> {
    /// The `Origin` is not in the allowlist (or is malformed, oversized or
    /// not UTF-8, which no allowlist entry can match).
    OriginNotAllowed(&'a HeaderValue),
    /// The request carried several `Origin` headers.
    MultipleOrigins,
    /// The `Origin` header was missing where one was required.
    MalformedOrigin,
    /// `Access-Control-Request-Method` is missing, repeated or not a token.
    MalformedMethod,
    /// The requested method is not allowed (or is forbidden).
    MethodNotAllowed(&'a str),
    /// `Access-Control-Request-Headers` is malformed, too long, or names a
    /// header that is not allowed.
    RequestHeaders(AcrhError<'a>),
}

impl Denial<'_> {
    /// A stable identifier, used as a metrics label and in debug output.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::OriginNotAllowed(_) => "origin_not_allowed",
            Denial::MultipleOrigins => "multiple_origins",
            Denial::MalformedOrigin => "malformed_origin",
            Denial::MalformedMethod => "malformed_method",
            Denial::MethodNotAllowed(_) => "method_not_allowed",
            Denial::RequestHeaders(AcrhError::NotAllowed(_)) => "header_not_allowed",
            Denial::RequestHeaders(_) => "malformed_request_headers",
        }
    }

    /// A one-line explanation that names the closest allowed alternative.
    /// Meant for debug mode and logs; it may echo request data, escaped.
    pub fn explain(&self, policy: &Policy) -> String {
        match self {
            Denial::OriginNotAllowed(origin) => {
                let shown = escape(origin.as_bytes());
                let mut out = format!("origin {shown} is not in the allowlist");
                if let Some(nearest) = std::str::from_utf8(origin.as_bytes())
                    .ok()
                    .and_then(|o| policy.nearest_origin(o))
                {
                    let _ = write!(out, "; nearest allowed: {nearest}");
                }
                if origin.as_bytes().ends_with(b"/") {
                    out.push_str(
                        " (browsers never send a trailing slash; this client is not a browser)",
                    );
                }
                out
            }
            Denial::MultipleOrigins => "the request has more than one Origin header".into(),
            Denial::MalformedOrigin => "the request has no usable Origin header".into(),
            Denial::MalformedMethod => {
                "Access-Control-Request-Method is missing, repeated or not a valid method name"
                    .into()
            }
            Denial::MethodNotAllowed(m) => {
                let mut out = if method::is_forbidden(m) {
                    format!("method {m} is forbidden and is never allowed")
                } else {
                    format!("method {m} is not allowed")
                };
                let allowed = allowed_methods(policy);
                let _ = write!(out, "; allowed: {allowed}");
                if let Some(case_twin) = policy
                    .methods
                    .items
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(m))
                {
                    let _ = write!(
                        out,
                        " (methods are case-sensitive: the policy has {case_twin}, the page sent {m}; browsers upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT)"
                    );
                }
                out
            }
            Denial::RequestHeaders(AcrhError::NotAllowed(name)) => {
                let allowed = if policy.request_headers.items.is_empty() {
                    "none".to_owned()
                } else {
                    policy.request_headers.items.join(", ")
                };
                format!("request header {name} is not allowed; allowed: {allowed}")
            }
            Denial::RequestHeaders(AcrhError::TooLong) => {
                format!("Access-Control-Request-Headers is longer than {MAX_ACRH_LEN} bytes")
            }
            Denial::RequestHeaders(AcrhError::TooManyEmptyElements) => format!(
                "Access-Control-Request-Headers has more than {MAX_EMPTY_ELEMENTS} empty elements"
            ),
            Denial::RequestHeaders(AcrhError::NotAToken) => {
                "Access-Control-Request-Headers is not a comma-separated list of header names"
                    .into()
            }
        }
    }
}

fn allowed_methods(policy: &Policy) -> String {
    if policy.methods.any {
        return "any".into();
    }
    let mut all = vec!["GET", "HEAD", "POST"];
    all.extend(
        policy
            .methods
            .items
            .iter()
            .map(String::as_str)
            .filter(|m| !method::is_safelisted(m)),
    );
    all.join(", ")
}

/// Renders request bytes printable: visible ASCII as is, the rest as `\xNN`,
/// and at most 200 bytes.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(200) {
        if b.is_ascii_graphic() || b == b' ' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    if bytes.len() > 200 {
        let _ = write!(out, "… ({} bytes)", bytes.len());
    }
    out
}
