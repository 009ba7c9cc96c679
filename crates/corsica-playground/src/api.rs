//! The API origin and the redirect origin (and the page origin for a
//! redirect that leads back to it): each answers a run's requests
//! exactly as composed (the scripted status and headers, or the decision
//! of the run's policy) and records what reached it.

use std::sync::Arc;

use bytes::Bytes;
use corsica::browser::{latin1, Incoming, Leg, Outgoing, ResponseSpec, SentRequest};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;

use crate::compose::parse_run_path;
use crate::engine::policy_answer;
use crate::reply::{self, Body};
use crate::runs::{Arrival, Run, Runs};

/// Answers one request that reached the origin named `at` (`api`,
/// `redirect`, or `page` after a redirect back to the page's origin).
pub fn answer<B>(runs: &Arc<Runs>, at: &'static str, request: &Request<B>) -> Response<Body> {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let Some((id, hop)) = parse_run_path(&path) else {
        return reply::error(StatusCode::NOT_FOUND, "not a run URL: /run/<id>/<hop>/...");
    };
    let Some(run) = runs.get(id) else {
        return reply::error(StatusCode::NOT_FOUND, format!("no run {id}"));
    };
    let method = request.method().as_str().to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), latin1(v.as_bytes())))
        .collect();
    let preflight = method == "OPTIONS"
        && request
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
    let (status, answer) = composed(&run, hop, preflight, &method, &path, request);
    let mut problems = Vec::new();
    let response = build(status, &answer, &mut problems);
    let arrival = Arrival {
        at,
        hop,
        preflight,
        method,
        path,
        headers,
        status: response.status().as_u16(),
        response_headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), latin1(v.as_bytes())))
            .collect(),
    };
    runs.record(id, arrival, problems);
    response
}

/// The status and headers composed for this request.
fn composed<B>(
    run: &Run,
    hop: usize,
    preflight: bool,
    method: &str,
    path: &str,
    request: &Request<B>,
) -> (u16, Vec<(String, Vec<u8>)>) {
    if let Some(policy) = &run.policy {
        let out = Outgoing {
            request: SentRequest {
                leg: if preflight {
                    Leg::Preflight
                } else {
                    Leg::Actual
                },
                method: method.to_owned(),
                url: path.to_owned(),
                origin: header_text(request, "origin"),
                request_method: header_text(request, "access-control-request-method"),
                request_headers: header_text(request, "access-control-request-headers"),
                credentials: false,
            },
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
        };
        let Incoming { status, headers } = policy_answer(policy, &run.case, hop, &out);
        let list = headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect();
        return (status, list);
    }
    let (preflight_spec, response_spec): (Option<&ResponseSpec>, Option<&ResponseSpec>) = match hop
    {
        0 => (
            run.case.preflight_response.as_ref(),
            run.case.response.as_ref(),
        ),
        n => match run.case.redirects.get(n - 1) {
            Some(h) => (h.preflight_response.as_ref(), Some(&h.response)),
            None => (None, None),
        },
    };
    let spec = if preflight {
        preflight_spec
    } else {
        response_spec
    };
    match spec {
        // The simulator reads a case's header text as UTF-8 bytes; so do we.
        Some(spec) => (
            spec.status,
            spec.headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
                .collect(),
        ),
        // Nothing was composed for this request: say so, with no CORS
        // header, so the browser blocks it and the page shows why.
        None => (
            501,
            vec![(
                "x-playground".to_owned(),
                b"no response composed for this request".to_vec(),
            )],
        ),
    }
}

fn header_text<B>(request: &Request<B>, name: &str) -> Option<String> {
    request.headers().get(name).map(|v| latin1(v.as_bytes()))
}

/// The response as composed; what cannot be sent as written is left out
/// and reported.
fn build(status: u16, headers: &[(String, Vec<u8>)], problems: &mut Vec<String>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = match StatusCode::from_u16(status) {
        Ok(s) if s.as_u16() >= 200 => s,
        _ => {
            problems.push(format!("status {status} cannot be sent; sent 500 instead"));
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    for (name, value) in headers {
        // The body is empty and hyper frames it: a composed length or
        // transfer coding would contradict what is sent, and hang the fetch.
        if ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f))
        {
            problems.push(format!(
                "header {name:?} is the server's own framing; left out"
            ));
            continue;
        }
        let parsed = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        );
        match parsed {
            (Ok(n), Ok(v)) => {
                response.headers_mut().append(n, v);
            }
            _ => problems.push(format!(
                "header {name:?}: {:?} cannot be sent; left out",
                latin1(value)
            )),
        }
    }
    response
}
