//! A policy answering the simulated browser, with no network in between:
//! the server side's decision rendered as the response the browser reads.
//!
//! `corsica explain --policy` uses it to predict what a browser does in
//! front of a corsica policy, and the property tests use it to hold the two
//! halves of the engine to each other.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;

use super::headers::ResponseHeaders;
use super::sim::{Incoming, Outgoing};
use crate::policy::Policy;
use crate::server::Decision;

/// What the application behind the policy answers to a request the policy
/// forwards to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppResponse {
    /// Status code.
    pub status: u16,
    /// Headers the application sets itself.
    pub headers: Vec<(String, String)>,
}

impl Default for AppResponse {
    fn default() -> Self {
        AppResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
        }
    }
}

/// The response a server enforcing `policy` gives to `request`. A request
/// that cannot be represented as HTTP (an invalid header) gets a 400.
pub fn respond(policy: &Policy, request: &Outgoing, app: &AppResponse) -> Incoming {
    let Some((method, headers)) = to_http(request) else {
        return Incoming {
            status: 400,
            headers: ResponseHeaders::default(),
        };
    };
    match policy.decide(&method, &headers) {
        Decision::Preflight(preflight) => Incoming {
            status: preflight.status().as_u16(),
            headers: from_map(&preflight.headers()),
        },
        Decision::Forward(forward) => {
            let mut out = HeaderMap::new();
            for (n, v) in &app.headers {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(n.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    out.append(n, v);
                }
            }
            forward.apply(&mut out);
            Incoming {
                status: app.status,
                headers: from_map(&out),
            }
        }
    }
}

fn to_http(request: &Outgoing) -> Option<(Method, HeaderMap)> {
    let method = Method::from_bytes(request.request.method.as_bytes()).ok()?;
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_bytes(value).ok()?,
        );
    }
    Some((method, headers))
}

fn from_map(map: &HeaderMap) -> ResponseHeaders {
    ResponseHeaders::new(
        map.iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
    )
}
