//! [`Plan`]: what a decision writes onto the inner service's response, kept
//! owned while the inner service runs.

use corsica::{Decision, ForwardPlan, Preflight, PreflightPlan};
use http::header::HeaderValue;
use http::Response;

use crate::extensions::ReportOnlyHeaders;
use crate::report::DEBUG_HEADER;

/// The CORS headers for the inner service's response, and in debug mode
/// the refusal's reason.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    headers: Headers,
    reason: Option<HeaderValue>,
}

#[derive(Debug, Clone)]
enum Headers {
    /// An actual (or non-CORS) request's headers.
    Actual(ForwardPlan),
    /// A preflight the inner service answered (`forward_preflights`).
    Preflight(PreflightPlan),
    /// Report-only mode: an allowed actual request's headers, written only
    /// onto a response marked [`ReportOnlyHeaders`].
    ReportOnly(ForwardPlan),
}

impl Plan {
    /// What an enforced decision writes onto the response.
    pub(crate) fn of(decision: &Decision<'_>, reason: Option<HeaderValue>) -> Plan {
        let headers = match decision {
            Decision::Forward(forward) => Headers::Actual(forward.to_plan()),
            Decision::Preflight(preflight) => Headers::Preflight(preflight.to_plan()),
        };
        Plan { headers, reason }
    }

    /// What a report-only decision writes: nothing, unless the inner
    /// service asks for the headers of an allowed actual request.
    pub(crate) fn report_only(decision: &Decision<'_>) -> Option<Plan> {
        match decision {
            Decision::Forward(forward) if forward.is_allowed() => Some(Plan {
                headers: Headers::ReportOnly(forward.to_plan()),
                reason: None,
            }),
            _ => None,
        }
    }

    /// Writes the plan onto the inner service's response.
    pub(crate) fn apply<B>(&mut self, response: &mut Response<B>) {
        match &self.headers {
            Headers::Actual(plan) => plan.apply(response.headers_mut()),
            Headers::Preflight(plan) => plan.apply(response.headers_mut()),
            Headers::ReportOnly(plan) => {
                if response.extensions().get::<ReportOnlyHeaders>().is_some() {
                    plan.apply(response.headers_mut());
                }
            }
        }
        if let Some(reason) = self.reason.take() {
            response.headers_mut().insert(DEBUG_HEADER, reason);
        }
    }
}

/// The layer's own answer to a preflight.
pub(crate) fn answer<B: Default>(
    preflight: Preflight<'_>,
    reason: Option<HeaderValue>,
) -> Response<B> {
    let mut response = preflight.into_response::<B>();
    if let Some(reason) = reason {
        response.headers_mut().insert(DEBUG_HEADER, reason);
    }
    response
}
