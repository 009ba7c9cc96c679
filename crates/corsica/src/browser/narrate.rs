//! The sentences of a simulation's trace that describe the call and the
//! responses, apart from the state machine that decides.

use super::case::{Credentials, RequestSpec};
use super::headers::{latin1, ResponseHeaders};

/// The fetch call the trace starts with, as the page's script wrote it.
pub(super) fn describe_call(spec: &RequestSpec, origin: &str) -> String {
    let mut init = vec![format!("method: '{}'", spec.method)];
    if !spec.headers.is_empty() {
        let h: Vec<String> = spec
            .headers
            .iter()
            .map(|(n, v)| format!("'{n}': '{v}'"))
            .collect();
        init.push(format!("headers: {{{}}}", h.join(", ")));
    }
    init.push(format!("credentials: '{}'", spec.credentials.as_str()));
    format!(
        "a page on {origin} calls fetch('{}', {{{}}})",
        spec.url,
        init.join(", ")
    )
}

/// A response as the trace shows it: its status and the fields CORS reads.
pub(super) fn describe_response(status: u16, headers: &ResponseHeaders, preflight: bool) -> String {
    let mut text = format!(
        "{} {}",
        if preflight {
            "preflight response"
        } else {
            "response"
        },
        status
    );
    for (n, v) in headers.iter() {
        let lower = n.to_ascii_lowercase();
        if lower.starts_with("access-control-") || lower == "location" || lower == "vary" {
            text.push_str(&format!("\n  {n}: {}", latin1(v)));
        }
    }
    text
}

/// What the trace says when the origin check passed.
pub(super) fn allow_origin_passed(
    h: &ResponseHeaders,
    origin: &str,
    credentials: Credentials,
) -> String {
    let value = h
        .get("access-control-allow-origin")
        .map(|v| latin1(&v))
        .unwrap_or_default();
    let mut text = format!("Access-Control-Allow-Origin: {value} matches {origin}");
    if credentials == Credentials::Include {
        text.push_str(", and Access-Control-Allow-Credentials is true");
    }
    text
}
