//! [`Cors`]: the service that asks the engine for a decision and carries it out.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::{ArcSwap, Cache};
use corsica::{Decision, Denial, Policy, RequestKind};
use http::{Request, Response};
use tower_service::Service;

use crate::dynamic::{worth_looking_up, DynamicContext};
use crate::extensions::CorsDecision;
use crate::future::ResponseFuture;
use crate::plan::{answer, Plan};
use crate::report;
use crate::shared::Shared;
use crate::source::{OriginQuery, OriginsFuture};
use crate::websocket;

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

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let policy = self.policy.load();
        let debug = shared.debug.load(Ordering::Relaxed);

        // Decide while the request is borrowed; keep only owned results.
        enum Next<B> {
            Respond(Response<B>),
            Forward(Option<Plan>, CorsDecision),
            LookUp(DynamicContext, OriginsFuture),
        }
        let next = {
            let decision = match &shared.stored {
                Some(stored) => policy.decide_stored(req.method(), req.headers(), &stored.load()),
                None => policy.decide(req.method(), req.headers()),
            };
            // Handshakes are held to the static policy alone: the inner
            // service must know whether to refuse one before it runs,
            // which is before any lookup would end.
            let refused_websocket = match decision.denial() {
                Some(denial)
                    if shared.check_websockets && websocket::is_websocket_handshake(&req) =>
                {
                    Some(denial)
                }
                _ => None,
            };
            let source = shared.source.as_ref().filter(|_| {
                refused_websocket.is_none()
                    && matches!(decision.denial(), Some(Denial::OriginNotAllowed(origin)) if worth_looking_up(origin.as_bytes()))
            });
            if shared.report_only {
                report::report(shared, policy, &decision, true);
                if let Some(denial) = refused_websocket {
                    websocket::log_refusal(policy, denial, true);
                }
                let seen = CorsDecision::new(&decision, true, false);
                Next::Forward(Plan::report_only(&decision), seen)
            } else if let Some(source) = source {
                let ctx = DynamicContext::new(policy.clone(), shared.clone(), &req, debug);
                Next::LookUp(ctx, source.origins(OriginQuery::of(&req)))
            } else {
                let reason = report::enforced(shared, policy, &decision, debug);
                if let Some(denial) = refused_websocket {
                    websocket::log_refusal(policy, denial, false);
                }
                let seen = CorsDecision::new(&decision, false, refused_websocket.is_some());
                match decision {
                    Decision::Preflight(preflight) if !shared.forward_preflights => {
                        Next::Respond(answer(preflight, reason))
                    }
                    decision => Next::Forward(Some(Plan::of(&decision, reason)), seen),
                }
            }
        };

        match next {
            Next::Respond(response) => ResponseFuture::ready(response),
            Next::Forward(plan, seen) => {
                if self.shared.every_decision_to_inner || seen.refuses_websocket() {
                    req.extensions_mut().insert(seen);
                }
                ResponseFuture::forward(self.inner.call(req), plan)
            }
            Next::LookUp(ctx, lookup) => {
                let kind = ctx.kind();
                if kind == RequestKind::Preflight && !self.shared.forward_preflights {
                    ResponseFuture::dynamic_preflight(lookup, ctx)
                } else {
                    if self.shared.every_decision_to_inner {
                        req.extensions_mut().insert(CorsDecision::pending(kind));
                    }
                    ResponseFuture::dynamic_forward(lookup, ctx, self.inner.call(req))
                }
            }
        }
    }
}
