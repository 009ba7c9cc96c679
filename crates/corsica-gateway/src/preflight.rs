//! `forward_preflight = true`: preflights reach the upstream, and the
//! policy still writes their CORS headers.
//!
//! The behaviour chosen, as the least surprising one:
//!
//! - every preflight on the route is sent to the upstream (allowed or not:
//!   the point of the setting is that the upstream sees them);
//! - the upstream's answer keeps its status, body and other headers, but
//!   its own CORS headers are removed and the policy's answer for that
//!   preflight is written instead: the full preflight set when the policy
//!   allows it, nothing but `Vary` when it refuses.
//!
//! So the policy stays the one source of truth for CORS: the upstream can
//! make a preflight fail (any non-2xx status fails it in the browser), but
//! it can never allow what the policy refuses, nor change what is allowed.
//! Actual requests on such a route go through the route's `CorsLayer` as
//! usual. Decisions are counted and logged as the layer counts them.
//!
//! `corsica-tower` has no "forward preflights" switch, so this module asks
//! the engine directly ([`corsica::Policy::decide`] and
//! [`corsica::Preflight::headers`]); it holds no CORS rule of its own.

use corsica::{Decision, Policy, RequestKind};
use corsica_tower::{CorsEvent, CorsLayer, Outcome, DEBUG_HEADER};
use http::header::{self, HeaderMap, HeaderValue};
use http::Request;
use hyper::body::Incoming;
use tower_service::Service;

use crate::metrics::Metrics;
use crate::proxy::{Proxy, ProxyFuture};

/// Forwards a preflight, then writes the policy's answer onto the
/// upstream's response.
pub(crate) fn forward(
    layer: &CorsLayer,
    debug: bool,
    metrics: &Metrics,
    proxy: &mut Proxy,
    req: Request<Incoming>,
) -> ProxyFuture {
    let policy = layer.policy();
    let answer = decide(&policy, debug, metrics, &req);
    let upstream = proxy.call(req);
    Box::pin(async move {
        let mut response = upstream.await?;
        answer.apply(response.headers_mut());
        Ok(response)
    })
}

/// The policy's answer to one preflight, owned.
struct Answer {
    headers: HeaderMap,
    reason: Option<HeaderValue>,
}

impl Answer {
    /// Replaces the upstream's CORS headers with the policy's.
    fn apply(self, headers: &mut HeaderMap) {
        corsica::server::strip_cors_headers(headers);
        for (name, value) in &self.headers {
            if name == header::VARY {
                // The upstream's `Vary` is kept, and ours added to it.
                let star = headers.get_all(header::VARY).iter().any(|v| v == "*");
                if !star {
                    headers.append(header::VARY, value.clone());
                }
            } else {
                headers.insert(name.clone(), value.clone());
            }
        }
        if let Some(reason) = self.reason {
            headers.insert(DEBUG_HEADER, reason);
        }
    }
}

/// Decides, reports the decision as the layer would, and keeps the answer.
fn decide(policy: &Policy, debug: bool, metrics: &Metrics, req: &Request<Incoming>) -> Answer {
    let decision = policy.decide(req.method(), req.headers());
    let outcome = match decision.denial() {
        Some(denial) => Outcome::Denied(denial),
        None => Outcome::Allowed,
    };
    metrics.observe(&CorsEvent {
        kind: RequestKind::Preflight,
        outcome,
        policy,
        report_only: false,
    });
    let reason = decision.denial().and_then(|denial| {
        if debug {
            tracing::info!(target: "corsica", kind = "preflight", reason = denial.code(), detail = %denial.explain(policy), "CORS request denied");
            HeaderValue::from_str(&denial.explain(policy)).ok()
        } else {
            tracing::debug!(target: "corsica", kind = "preflight", reason = denial.code(), "CORS request denied");
            None
        }
    });
    let headers = match &decision {
        Decision::Preflight(preflight) => preflight.headers(),
        // Unreachable: the caller routes only preflights here. Refusing
        // (no CORS header at all) is the safe answer if it ever happens.
        Decision::Forward(_) => HeaderMap::new(),
    };
    Answer { headers, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_replaces_the_upstream_answer() {
        let policy = Policy::from_toml(
            "origins = [\"https://app.example\"]\nmethods = [\"PUT\"]\nmax_age = 60",
        )
        .unwrap();
        let mut req = HeaderMap::new();
        req.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://app.example"),
        );
        req.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("PUT"),
        );
        let Decision::Preflight(p) = policy.decide(&http::Method::OPTIONS, &req) else {
            panic!("a preflight")
        };
        let answer = Answer {
            headers: p.headers(),
            reason: None,
        };
        let mut upstream = HeaderMap::new();
        upstream.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        upstream.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        upstream.insert(header::ALLOW, HeaderValue::from_static("GET, PUT"));
        answer.apply(&mut upstream);
        assert_eq!(
            upstream[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
        assert_eq!(upstream[header::ACCESS_CONTROL_ALLOW_METHODS], "PUT");
        assert_eq!(upstream[header::ACCESS_CONTROL_MAX_AGE], "60");
        assert_eq!(upstream[header::ALLOW], "GET, PUT");
        let vary: Vec<_> = upstream.get_all(header::VARY).iter().collect();
        assert_eq!(vary.len(), 2);
        assert_eq!(vary[0], "Accept-Encoding");
    }
}
