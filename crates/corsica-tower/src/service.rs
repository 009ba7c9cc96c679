//! [`Cors`]: the service that asks the engine for a decision and carries it out.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::{ArcSwap, Cache};
use corsica::{Decision, Denial, Policy, RequestKind};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response};
use tower_service::Service;

use crate::future::{DynamicContext, Plan, ResponseFuture};
use crate::layer::Shared;
use crate::observe::{CorsEvent, Outcome};
use crate::source::{OriginQuery, OriginsFuture};

/// The header that carries a refusal's reason in debug mode.
pub const DEBUG_HEADER: HeaderName = HeaderName::from_static("x-corsica-debug");

/// A service wrapped by [`crate::CorsLayer`].
#[derive(Clone)]
pub struct Cors<S> {
    inner: S,
    shared: Arc<Shared>,
    // A per-service view of the shared policy: `call` takes `&mut self`,
    // so reading the current policy is a pointer comparison, not an atomic
    // reference count.
    policy: Cache<Arc<ArcSwap<Policy>>, Arc<Policy>>,
}

impl<S> Cors<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        let policy = Cache::new(shared.policy.clone());
        Cors {
            inner,
            shared,
            policy,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for Cors<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cors")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Cors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let policy = self.policy.load();
        let debug = shared.debug.load(Ordering::Relaxed);

        // Decide while the request is borrowed; keep only owned results.
        enum Next<B> {
            Respond(Response<B>),
            Forward(Option<Plan>, Option<HeaderValue>),
            LookUp(DynamicContext, OriginsFuture),
        }
        let next = {
            let decision = policy.decide(req.method(), req.headers());
            let source = shared.source.as_ref().filter(|_| {
                matches!(decision.denial(), Some(Denial::OriginNotAllowed(origin)) if worth_looking_up(origin.as_bytes()))
            });
            if shared.report_only {
                report(shared, policy, &decision, true);
                Next::Forward(None, None)
            } else if let Some(source) = source {
                let ctx = DynamicContext::new(
                    policy.clone(),
                    shared.clone(),
                    req.method().clone(),
                    snapshot(req.headers()),
                    debug,
                );
                Next::LookUp(ctx, source.origins(query(&req)))
            } else {
                report(shared, policy, &decision, false);
                let reason = debug_reason(debug, policy, &decision);
                match decision {
                    Decision::Preflight(preflight) if shared.forward_preflights => {
                        Next::Forward(Some(Plan::Preflight(preflight.to_plan())), reason)
                    }
                    Decision::Preflight(preflight) => {
                        let mut response = preflight.into_response::<ResBody>();
                        if let Some(reason) = reason {
                            response.headers_mut().insert(DEBUG_HEADER, reason);
                        }
                        Next::Respond(response)
                    }
                    Decision::Forward(forward) => {
                        Next::Forward(Some(Plan::Actual(forward.to_plan())), reason)
                    }
                }
            }
        };

        match next {
            Next::Respond(response) => ResponseFuture::ready(response),
            Next::Forward(plan, reason) => {
                ResponseFuture::forward(self.inner.call(req), plan, reason)
            }
            Next::LookUp(ctx, lookup) => {
                if ctx.is_preflight() && !self.shared.forward_preflights {
                    ResponseFuture::dynamic_preflight(lookup, ctx)
                } else {
                    ResponseFuture::dynamic_forward(lookup, ctx, self.inner.call(req))
                }
            }
        }
    }
}

/// Only well-formed origins are worth a lookup: a source is never asked
/// about `null`, garbage or oversized values.
fn worth_looking_up(origin: &[u8]) -> bool {
    corsica::parse_origin(origin).is_some()
}

fn query<B>(req: &Request<B>) -> OriginQuery {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    OriginQuery { origin, host }
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

/// Tells the observer and `tracing` about a decision.
pub(crate) fn report(shared: &Shared, policy: &Policy, decision: &Decision<'_>, report_only: bool) {
    let kind = decision.kind();
    let outcome = match (kind, decision.denial()) {
        (RequestKind::NonCors, _) => Outcome::NotCors,
        (_, Some(denial)) => Outcome::Denied(denial),
        (_, None) => Outcome::Allowed,
    };
    if let Some(observer) = &shared.observer {
        observer.observe(&CorsEvent {
            kind,
            outcome,
            policy,
            report_only,
        });
    }
    if let Outcome::Denied(denial) = outcome {
        if report_only {
            tracing::warn!(target: "corsica", kind = kind.as_str(), reason = denial.code(), detail = %denial.explain(policy), "CORS request would be denied (report-only)");
        } else if shared.debug.load(Ordering::Relaxed) {
            tracing::info!(target: "corsica", kind = kind.as_str(), reason = denial.code(), detail = %denial.explain(policy), "CORS request denied");
        } else {
            tracing::debug!(target: "corsica", kind = kind.as_str(), reason = denial.code(), "CORS request denied");
        }
    }
}

/// In debug mode, the refusal's reason as a header value.
pub(crate) fn debug_reason(
    debug: bool,
    policy: &Policy,
    decision: &Decision<'_>,
) -> Option<HeaderValue> {
    if !debug {
        return None;
    }
    let denial = decision.denial()?;
    HeaderValue::from_str(&denial.explain(policy)).ok()
}
