//! The response future: a small state machine with no boxing on the static
//! path. Only a dynamic-origin lookup is boxed.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::dynamic::DynamicContext;
use crate::plan::Plan;
use crate::source::OriginsFuture;

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
        // report-only mode, unless the response asks for them).
        Forward {
            #[pin]
            future: F,
            plan: Option<Plan>,
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
    plan: Option<Plan>,
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

    pub(crate) fn forward(future: F, plan: Option<Plan>) -> Self {
        ResponseFuture {
            state: State::Forward { future, plan },
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
            StateProj::Forward { future, plan } => {
                let mut response = ready!(future.poll(cx))?;
                if let Some(plan) = plan {
                    plan.apply(&mut response);
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
                    (Some(mut response), Some(plan)) => {
                        plan.apply(&mut response);
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
