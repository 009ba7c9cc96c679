//! Telling about a decision: the observer, `tracing`, and in debug mode the
//! `x-corsica-debug` header.

use std::sync::atomic::Ordering;

use corsica::{Decision, Policy, RequestKind};
use http::header::{HeaderName, HeaderValue};

use crate::observe::{CorsEvent, Outcome};
use crate::shared::Shared;

/// The header that carries a refusal's reason in debug mode.
pub const DEBUG_HEADER: HeaderName = HeaderName::from_static("x-corsica-debug");

/// Reports a decision the layer enforces and, in debug mode, gives its
/// refusal's reason as a header value.
pub(crate) fn enforced(
    shared: &Shared,
    policy: &Policy,
    decision: &Decision<'_>,
    debug: bool,
) -> Option<HeaderValue> {
    report(shared, policy, decision, false);
    debug_reason(debug, policy, decision)
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
fn debug_reason(debug: bool, policy: &Policy, decision: &Decision<'_>) -> Option<HeaderValue> {
    if !debug {
        return None;
    }
    let denial = decision.denial()?;
    HeaderValue::from_str(&denial.explain(policy)).ok()
}
