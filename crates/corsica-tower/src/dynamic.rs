//! [`DynamicContext`]: a decision deferred until an origin source has
//! answered.

use std::sync::Arc;

use corsica::{Decision, OriginSet, Policy, RequestKind};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use crate::plan::{answer, Plan};
use crate::report;
use crate::shared::Shared;
use crate::source::BoxError;

/// Only well-formed origins are worth a lookup: a source is never asked
/// about `null`, garbage or oversized values.
pub(crate) fn worth_looking_up(origin: &[u8]) -> bool {
    corsica::parse_origin(origin).is_some()
}

/// What a decision made after a dynamic lookup needs.
pub(crate) struct DynamicContext {
    policy: Arc<Policy>,
    shared: Arc<Shared>,
    method: Method,
    headers: HeaderMap,
    debug: bool,
}

impl DynamicContext {
    /// The context of `req`, to be decided with `policy`.
    pub(crate) fn new<B>(
        policy: Arc<Policy>,
        shared: Arc<Shared>,
        req: &Request<B>,
        debug: bool,
    ) -> Self {
        DynamicContext {
            policy,
            shared,
            method: req.method().clone(),
            headers: snapshot(req.headers()),
            debug,
        }
    }

    /// Preflight, actual or non-CORS.
    pub(crate) fn kind(&self) -> RequestKind {
        RequestKind::of(&self.method, &self.headers)
    }

    /// The layer's answer to a preflight, once the lookup has ended.
    pub(crate) fn preflight_response<B: Default>(
        self,
        result: Result<Vec<String>, BoxError>,
    ) -> Response<B> {
        let (decision, reason) = self.decide(result);
        match decision {
            Decision::Preflight(preflight) => answer(preflight, reason),
            // Unreachable by construction (the snapshot is a preflight), but
            // answering 403 is the safe response if it ever happens.
            Decision::Forward(_) => {
                let mut response = Response::new(B::default());
                *response.status_mut() = StatusCode::FORBIDDEN;
                if let Some(reason) = reason {
                    response.headers_mut().insert(report::DEBUG_HEADER, reason);
                }
                response
            }
        }
    }

    /// The headers for the inner service's response, once the lookup has
    /// ended.
    pub(crate) fn forward_plan(&self, result: Result<Vec<String>, BoxError>) -> Plan {
        let (decision, reason) = self.decide(result);
        Plan::of(&decision, reason)
    }

    /// Decides with what the source returned, and reports the decision.
    fn decide(&self, result: Result<Vec<String>, BoxError>) -> (Decision<'_>, Option<HeaderValue>) {
        let extra = self.extra_origins(result);
        let decision = self
            .policy
            .decide_with(&self.method, &self.headers, Some(&extra));
        let reason = report::enforced(&self.shared, &self.policy, &decision, self.debug);
        (decision, reason)
    }

    /// Validates what the source returned with the policy's rules.
    fn extra_origins(&self, result: Result<Vec<String>, BoxError>) -> OriginSet {
        match result {
            Ok(entries) => {
                let (set, diagnostics) = self.policy.compile_dynamic_origins(&entries);
                for d in diagnostics {
                    tracing::warn!(target: "corsica", code = d.code, reason = %d.reason, "origin source returned an entry corsica refuses");
                }
                set
            }
            Err(error) => {
                tracing::error!(target: "corsica", %error, "origin source failed; treating the origin as not allowed");
                OriginSet::default()
            }
        }
    }
}

/// The request headers the engine reads, copied for a decision made later.
fn snapshot(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(4);
    for name in [
        header::ORIGIN,
        header::ACCESS_CONTROL_REQUEST_METHOD,
        header::ACCESS_CONTROL_REQUEST_HEADERS,
    ] {
        for value in headers.get_all(&name) {
            copy.append(name.clone(), value.clone());
        }
    }
    copy
}
