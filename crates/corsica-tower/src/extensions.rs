//! What the layer and the service it wraps tell each other through
//! extensions: the layer's decision travels down in the request's, and a
//! mark asking for CORS headers in report-only mode travels back up in the
//! response's.

use corsica::{Decision, RequestKind};

/// The layer's decision on a request, as the inner service sees it.
///
/// The layer inserts one into the extensions of every request it passes to
/// the inner service, so that the service can act on the decision without
/// asking the engine again: it is the same decision the layer reported to
/// its observer and carries out on the response.
///
/// ```
/// use corsica_tower::{CorsDecision, Verdict};
/// # fn handler(req: http::Request<()>) {
/// match req.extensions().get::<CorsDecision>().map(CorsDecision::verdict) {
///     Some(Verdict::Denied(code)) => eprintln!("refused: {code}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorsDecision {
    kind: RequestKind,
    verdict: Verdict,
    report_only: bool,
    refuses_websocket: bool,
}

/// What the policy made of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Not a CORS request (no `Origin`).
    NotCors,
    /// The origin (and, for a forwarded preflight, the method and headers)
    /// is allowed.
    Allowed,
    /// Refused, with the engine's reason code ([`corsica::Denial::code`]).
    Denied(&'static str),
    /// The static policy does not allow the origin and an origin source is
    /// being asked: the decision is made when the lookup ends, while the
    /// inner service runs (see [`crate::CorsLayer::with_origin_source`]).
    Pending,
}

impl CorsDecision {
    /// The decision as the layer made it; `refuses_websocket` says the
    /// layer holds the request to be a WebSocket handshake it refuses.
    pub(crate) fn new(decision: &Decision<'_>, report_only: bool, refuses_websocket: bool) -> Self {
        let kind = decision.kind();
        let verdict = match (kind, decision.denial()) {
            (RequestKind::NonCors, _) => Verdict::NotCors,
            (_, Some(denial)) => Verdict::Denied(denial.code()),
            (_, None) => Verdict::Allowed,
        };
        CorsDecision {
            kind,
            verdict,
            report_only,
            refuses_websocket,
        }
    }

    /// The decision of a request whose origin an origin source is asked about.
    pub(crate) fn pending(kind: RequestKind) -> Self {
        CorsDecision {
            kind,
            verdict: Verdict::Pending,
            report_only: false,
            refuses_websocket: false,
        }
    }

    /// Preflight, actual or non-CORS.
    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// What the policy made of the request.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Whether the layer only reports ([`crate::CorsLayer::report_only`]):
    /// a [`Verdict::Denied`] request is then let through all the same.
    pub fn is_report_only(&self) -> bool {
        self.report_only
    }

    /// Whether the request is a WebSocket handshake from an origin the
    /// policy refuses, which the inner service is to answer with 403 (see
    /// [`crate::CorsLayer::check_websockets`]). Never true in report-only
    /// mode, nor when the layer does not check handshakes.
    pub fn refuses_websocket(&self) -> bool {
        self.refuses_websocket
    }
}

/// A mark the inner service puts into the extensions of a response it
/// makes itself (an error page of its own, say) to have a report-only layer
/// write the CORS headers the policy gives an allowed origin.
///
/// In report-only mode the layer leaves responses untouched, so such an
/// answer would reach the page without `Access-Control-Allow-Origin`, and
/// the page could not read why its request failed. With this mark, an
/// actual request from an origin the policy allows gets the headers the
/// policy would have written; other requests get none, as before. An
/// enforcing layer writes the policy's headers onto every response and
/// ignores the mark.
///
/// ```
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(corsica_tower::ReportOnlyHeaders);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportOnlyHeaders;
