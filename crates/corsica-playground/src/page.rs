//! The page origin: the embedded page and the JSON endpoints it calls.
//!
//! - `POST /runs` `{origin, case, policy?}`: makes the case concrete for a
//!   new run and answers `{id, case}`; the page then fetches `case.request.url`.
//! - `GET /runs/<id>`: what reached the API and redirect origins.
//! - `POST /simulate` `{case, profile, policy?, repeat_after?}`: the
//!   simulator's verdict, in the JSON form of `corsica explain --format
//!   json` (with `repeat_after`, of a second fetch that many seconds later).
//! - `POST /lint` (the policy's TOML): `corsica lint --format json`'s report.
//! - `GET /gallery.json`: the ready-made scenarios.
//! - `/run/<id>/<hop>/...`: a run's URL reached by a redirect back to the
//!   page's origin, answered as the API origin answers.

use std::sync::Arc;

use corsica::browser::{Case, Profile};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;

use crate::compose::{concretize, Ports};
use crate::engine::{lint, load_policy, predict, predict_repeat};
use crate::gallery::gallery;
use crate::reply::{self, Body};
use crate::runs::{Run, Runs};
use crate::{api, assets};

/// The largest request body the endpoints read.
const MAX_BODY: usize = 1 << 20;

/// `POST /runs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRun {
    /// The page's origin, as the page sees it (`location.origin`).
    origin: String,
    /// The playground case.
    case: Case,
    /// A policy that answers instead of the scripted headers.
    #[serde(default)]
    policy: Option<String>,
}

/// `POST /simulate`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateRequest {
    /// A concrete case.
    case: Case,
    /// The browser engine.
    #[serde(default)]
    profile: Profile,
    /// A policy that answers instead of the scripted headers.
    #[serde(default)]
    policy: Option<String>,
    /// Set for the second fetch of the case, made this many seconds after
    /// the first (the preflight cache then matters).
    #[serde(default)]
    repeat_after: Option<u64>,
}

/// Answers one request to the page origin.
pub async fn answer(
    runs: Arc<Runs>,
    ports: Ports,
    request: http::Request<hyper::body::Incoming>,
) -> http::Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // A redirect may lead back to the page's own origin.
    if path.starts_with("/run/") {
        return api::answer(&runs, "page", &request);
    }
    if method == Method::GET || method == Method::HEAD {
        if let Some(asset) = assets::get(&path) {
            return reply::with_type(StatusCode::OK, asset.content_type, asset.body);
        }
        if path == "/gallery.json" {
            return reply::json(
                StatusCode::OK,
                &serde_json::to_value(gallery()).unwrap_or_default(),
            );
        }
        if let Some(id) = path.strip_prefix("/runs/") {
            return run_report(&runs, id);
        }
        return reply::error(StatusCode::NOT_FOUND, format!("nothing at {path}"));
    }
    if method != Method::POST {
        return reply::error(StatusCode::METHOD_NOT_ALLOWED, "GET or POST");
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            )
        }
    };
    match path.as_str() {
        "/runs" => new_run(&runs, ports, &body),
        "/simulate" => simulate(&body),
        "/lint" => match std::str::from_utf8(&body) {
            Ok(text) => reply::json(StatusCode::OK, &lint(text)),
            Err(_) => reply::error(StatusCode::BAD_REQUEST, "the policy is not UTF-8"),
        },
        _ => reply::error(StatusCode::NOT_FOUND, format!("nothing at {path}")),
    }
}

fn new_run(runs: &Runs, ports: Ports, body: &[u8]) -> http::Response<Body> {
    let new: NewRun = match serde_json::from_slice(body) {
        Ok(n) => n,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, format!("not a run: {e}")),
    };
    let policy = match new.policy.as_deref().map(load_policy).transpose() {
        Ok(p) => p.map(Arc::new),
        Err(e) => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                format!("the policy is invalid:\n{e}"),
            )
        }
    };
    let id = runs.next_id();
    let case = concretize(&new.case, &new.origin, ports, id);
    runs.insert(
        id,
        Run {
            case: case.clone(),
            policy,
            arrivals: Vec::new(),
            problems: Vec::new(),
        },
    );
    reply::json(StatusCode::OK, &serde_json::json!({"id": id, "case": case}))
}

fn run_report(runs: &Runs, id: &str) -> http::Response<Body> {
    let Some(run) = id.parse().ok().and_then(|id| runs.get(id)) else {
        return reply::error(StatusCode::NOT_FOUND, format!("no run {id}"));
    };
    reply::json(
        StatusCode::OK,
        &serde_json::json!({"arrivals": run.arrivals, "problems": run.problems}),
    )
}

fn simulate(body: &[u8]) -> http::Response<Body> {
    let request: SimulateRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, format!("not a simulation: {e}")),
    };
    let policy = match request.policy.as_deref().map(load_policy).transpose() {
        Ok(p) => p,
        Err(e) => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                format!("the policy is invalid:\n{e}"),
            )
        }
    };
    let verdict = match request.repeat_after {
        None => predict(&request.case, request.profile, policy.as_ref()),
        Some(after) => predict_repeat(&request.case, request.profile, policy.as_ref(), after),
    };
    match verdict {
        Ok(verdict) => reply::json(
            StatusCode::OK,
            &serde_json::to_value(verdict).unwrap_or_default(),
        ),
        Err(e) => reply::error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}
