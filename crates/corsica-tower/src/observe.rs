//! A hook for metrics and audit logs: every decision the layer makes.

use corsica::{Denial, Policy, RequestKind};

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Not a CORS request (no `Origin`).
    NotCors,
    /// The origin (and, for a preflight, the method and headers) is allowed.
    Allowed,
    /// Refused, with the engine's reason.
    Denied(&'a Denial<'a>),
}

/// One decision, as seen by an observer.
#[derive(Debug, Clone, Copy)]
pub struct CorsEvent<'a> {
    /// Preflight, actual or non-CORS.
    pub kind: RequestKind,
    /// What the policy decided.
    pub outcome: Outcome<'a>,
    /// The policy that decided.
    pub policy: &'a Policy,
    /// Whether the layer only reports (the decision was not enforced).
    pub report_only: bool,
}

/// Receives every decision the layer makes, synchronously, on the request
/// path: keep it cheap (count, don't format).
pub trait CorsObserver: Send + Sync + 'static {
    /// Called once per request, after the decision.
    fn observe(&self, event: &CorsEvent<'_>);
}

impl<F> CorsObserver for F
where
    F: Fn(&CorsEvent<'_>) + Send + Sync + 'static,
{
    fn observe(&self, event: &CorsEvent<'_>) {
        self(event)
    }
}
