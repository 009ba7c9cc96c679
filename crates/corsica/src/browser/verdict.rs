//! What the browser did, step by step, and what it decided.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::CorsError;

/// The outcome of one simulated `fetch()`. Built by the simulator only,
/// so fields can be added without breaking callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Verdict {
    /// The scenario's id.
    pub id: String,
    /// Whether a preflight was sent (for any URL of a redirect chain).
    pub preflight: bool,
    /// Whether the request itself reached the server.
    pub actual_sent: bool,
    /// Whether the script gets the response.
    pub allowed: bool,
    /// Chromium's error name, when blocked by CORS.
    pub cors_error: Option<CorsError>,
    /// The value that failed the check (empty when Chromium names none).
    pub failed_parameter: Option<String>,
    /// The message the simulated browser prints in the console.
    pub console_message: Option<String>,
    /// What the `fetch()` promise rejects with, exactly as the page's
    /// script sees it (`String(error)`), in the simulated browser: e.g.
    /// `TypeError: Failed to fetch` (Chromium). `None` when it resolves.
    pub fetch_error: Option<String>,
    /// What `response.headers.get(name)` returns for each name read.
    pub readable_headers: BTreeMap<String, Option<String>>,
    /// What to change on the server, and the corsica policy that does it.
    pub fix: Fix,
    /// The `TypeError` `fetch()` throws before sending anything.
    pub js_error: Option<String>,
    /// A network error that is not a CORS error (e.g. too many redirects).
    pub network_error: Option<String>,
    /// Set when the fetch was stopped before the request itself, by the
    /// caller's choice ([`Simulation::skip_actual`](super::Simulation::skip_actual),
    /// `check --preflight-only`), with what had cleared the request:
    /// `allowed` is then false because no response reached the script,
    /// not because CORS blocked one.
    pub skipped_actual: Option<Skipped>,
    /// The requests that reached the server, in order.
    pub requests: Vec<SentRequest>,
    /// The step-by-step reasoning.
    pub trace: Vec<TraceEvent>,
}

// Built in fix.rs, but declared here with the verdict that carries it, so
// that the types of an outcome depend on nothing that computes one.
/// What to change on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// One or two sentences saying what is wrong and what to do.
    pub summary: String,
    /// Headers the preflight (`OPTIONS`) response must carry.
    pub preflight_headers: Vec<(String, String)>,
    /// Headers the actual response must carry.
    pub response_headers: Vec<(String, String)>,
    /// A corsica policy (TOML) that sends exactly these headers.
    pub policy: String,
}

/// What had cleared the request itself when the fetch was stopped before
/// sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skipped {
    /// The preflight was sent and passed.
    PreflightPassed,
    /// A cached preflight result covered the request.
    CachedPreflight,
    /// The URL is same-origin with the page: CORS does not apply.
    SameOrigin,
    /// A cross-origin request that needs no preflight: nothing was checked.
    NoPreflight,
}

/// Whether a request was the preflight or the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Leg {
    /// The `OPTIONS` preflight.
    Preflight,
    /// The request the script made.
    Actual,
}

/// A request as it reached the server (the CORS-relevant parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentRequest {
    /// Preflight or actual.
    pub leg: Leg,
    /// The method on the wire.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The `Origin` header, if sent.
    pub origin: Option<String>,
    /// `Access-Control-Request-Method` (preflights).
    pub request_method: Option<String>,
    /// `Access-Control-Request-Headers` (preflights).
    pub request_headers: Option<String>,
    /// Whether cookies and HTTP authentication would be attached.
    pub credentials: bool,
}

/// The stage of a trace event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The script's call.
    Request,
    /// Same-origin or CORS, preflight or not.
    Classify,
    /// The preflight cache.
    Cache,
    /// The preflight request.
    Preflight,
    /// The preflight response and its checks.
    PreflightResponse,
    /// The request itself.
    Actual,
    /// The response and its checks.
    Response,
    /// A redirect.
    Redirect,
    /// The outcome.
    Verdict,
}

/// One line of reasoning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Where in the fetch this happened.
    pub stage: Stage,
    /// `Some(true)` for a passed check, `Some(false)` for a failed one.
    pub ok: Option<bool>,
    /// What happened.
    pub text: String,
}
