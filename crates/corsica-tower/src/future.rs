//! The response future: a small state machine with no boxing on the static
//! path. Only a dynamic-origin lookup is boxed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use corsica::{Decision, ForwardPlan, OriginSet, Policy, PreflightPlan};
use http::header::{HeaderMap, HeaderValue};
use http::{Method, Response};
use pin_project_lite::pin_project;

use crate::layer::Shared;
use crate::service::{debug_reason, report, DEBUG_HEADER};
use crate::source::{BoxError, OriginsFuture};

/// The CORS headers to write onto the inner service's response.
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    /// An actual (or non-CORS) request's headers.
    Actual(ForwardPlan),
    /// A preflight the inner service answered (`forward_preflights`).
    Preflight(PreflightPlan),
}

impl Plan {
    fn apply(&self, headers: &mut HeaderMap) {
        match self {
            Plan::Actual(plan) => plan.apply(headers),
            Plan::Preflight(plan) => plan.apply(headers),
        }
    }
}

pin_project! {
    /// The future returned by [`crate::Cors`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // A preflight answered without the inner service.
        Ready { response: Option<Response<B>> },
        // The inner service's response, plus the headers to apply (none in
        // report-only mode).
        Forward {
            #[pin]
            future: F,
            plan: Option<Plan>,
            reason: Option<HeaderValue>,
        },
        // A preflight waiting for a dynamic-origin lookup. The lookup's
        // states are boxed: they are rare, and inline they would double the
        // size of every response future, which is moved several times per
        // request.
        DynamicPreflight {
            lookup: OriginsFuture,
            context: Option<Box<DynamicContext>>,
        },
        // An actual request: the inner service runs while the lookup does.
        DynamicForward {
            #[pin]
            future: F,
            pending: Box<PendingLookup<B>>,
        },
    }
}

/// An actual request's lookup, and whichever of the lookup's plan and the
/// inner service's response is ready first.
struct PendingLookup<B> {
    lookup: Option<OriginsFuture>,
    context: DynamicContext,
    plan: Option<(Plan, Option<HeaderValue>)>,
    response: Option<Response<B>>,
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn ready(response: Response<B>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn forward(future: F, plan: Option<Plan>, reason: Option<HeaderValue>) -> Self {
        ResponseFuture {
            state: State::Forward {
                future,
                plan,
                reason,
            },
        }
    }

    pub(crate) fn dynamic_preflight(lookup: OriginsFuture, context: DynamicContext) -> Self {
        ResponseFuture {
            state: State::DynamicPreflight {
                lookup,
                context: Some(Box::new(context)),
            },
        }
    }

    pub(crate) fn dynamic_forward(
        lookup: OriginsFuture,
        context: DynamicContext,
        future: F,
    ) -> Self {
        ResponseFuture {
            state: State::DynamicForward {
                future,
                pending: Box::new(PendingLookup {
                    lookup: Some(lookup),
                    context,
                    plan: None,
                    response: None,
                }),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
            StateProj::Forward {
                future,
                plan,
                reason,
            } => {
                let mut response = ready!(future.poll(cx))?;
                if let Some(plan) = plan {
                    let headers = response.headers_mut();
                    plan.apply(headers);
                    if let Some(reason) = reason.take() {
                        headers.insert(DEBUG_HEADER, reason);
                    }
                }
                Poll::Ready(Ok(response))
            }
            StateProj::DynamicPreflight { lookup, context } => {
                let result = ready!(lookup.as_mut().poll(cx));
                match context.take() {
                    Some(context) => Poll::Ready(Ok(context.preflight_response(result))),
                    None => Poll::Pending,
                }
            }
            StateProj::DynamicForward { future, pending } => {
                let PendingLookup {
                    lookup,
                    context,
                    plan,
                    response,
                } = &mut **pending;
                if response.is_none() {
                    if let Poll::Ready(result) = future.poll(cx) {
                        *response = Some(result?);
                    }
                }
                if let Some(pending) = lookup {
                    if let Poll::Ready(result) = pending.as_mut().poll(cx) {
                        *plan = Some(context.forward_plan(result));
                        *lookup = None;
                    }
                }
                match (response.take(), plan) {
                    (Some(mut response), Some((plan, reason))) => {
                        plan.apply(response.headers_mut());
                        if let Some(reason) = reason.take() {
                            response.headers_mut().insert(DEBUG_HEADER, reason);
                        }
                        Poll::Ready(Ok(response))
                    }
                    (response_slot, _) => {
                        *response = response_slot;
                        Poll::Pending
                    }
                }
            }
        }
    }
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
    pub(crate) fn new(
        policy: Arc<Policy>,
        shared: Arc<Shared>,
        method: Method,
        headers: HeaderMap,
        debug: bool,
    ) -> Self {
        DynamicContext {
            policy,
            shared,
            method,
            headers,
            debug,
        }
    }

    pub(crate) fn is_preflight(&self) -> bool {
        corsica::RequestKind::of(&self.method, &self.headers) == corsica::RequestKind::Preflight
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

    fn preflight_response<B: Default>(self, result: Result<Vec<String>, BoxError>) -> Response<B> {
        let extra = self.extra_origins(result);
        let decision = self
            .policy
            .decide_with(&self.method, &self.headers, Some(&extra));
        report(&self.shared, &self.policy, &decision, false);
        let reason = debug_reason(self.debug, &self.policy, &decision);
        let mut response = match decision {
            Decision::Preflight(preflight) => preflight.into_response(),
            // Unreachable by construction (the snapshot is a preflight), but
            // answering 403 is the safe response if it ever happens.
            Decision::Forward(_) => {
                let mut r = Response::new(B::default());
                *r.status_mut() = http::StatusCode::FORBIDDEN;
                r
            }
        };
        if let Some(reason) = reason {
            response.headers_mut().insert(DEBUG_HEADER, reason);
        }
        response
    }

    fn forward_plan(&self, result: Result<Vec<String>, BoxError>) -> (Plan, Option<HeaderValue>) {
        let extra = self.extra_origins(result);
        let decision = self
            .policy
            .decide_with(&self.method, &self.headers, Some(&extra));
        report(&self.shared, &self.policy, &decision, false);
        let reason = debug_reason(self.debug, &self.policy, &decision);
        match decision {
            Decision::Forward(forward) => (Plan::Actual(forward.to_plan()), reason),
            // A preflight the inner service answers (`forward_preflights`).
            Decision::Preflight(preflight) => (Plan::Preflight(preflight.to_plan()), reason),
        }
    }
}
