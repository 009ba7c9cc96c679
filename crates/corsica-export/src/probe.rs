//! What the engine answers, read off the engine itself: the export asks
//! [`Policy::decide`] about a few representative requests and records the
//! headers it writes, so no target re-derives which header goes on which
//! response, or its value.

use corsica::{Decision, OriginEntry, Policy};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Method;

/// A response header value, as a proxy must produce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Always this text.
    Static(String),
    /// The request's `Origin`, byte for byte.
    EchoOrigin,
    /// The request's `Access-Control-Request-Method`.
    EchoMethod,
    /// The request's `Access-Control-Request-Headers`.
    EchoRequestHeaders,
}

/// The headers of one kind of response: names lower case, in the engine's order.
pub type Headers = Vec<(HeaderName, Value)>;

/// Every answer of a policy that a proxy has to reproduce.
#[derive(Debug, Clone)]
pub struct Answers {
    /// Status of an allowed preflight (answered by the proxy).
    pub preflight_ok_status: u16,
    /// Its headers, without `Access-Control-Allow-Headers`.
    pub preflight_ok: Headers,
    /// `Access-Control-Allow-Headers` of an allowed preflight, sent only
    /// when the request names at least one header.
    pub preflight_allow_headers: Option<Value>,
    /// Status of a refused preflight.
    pub preflight_denied_status: u16,
    /// Its headers.
    pub preflight_denied: Headers,
    /// Headers added to the upstream's response to an allowed actual request.
    pub actual_ok: Headers,
    /// … to an actual request from an origin not allowed.
    pub actual_denied: Headers,
    /// … to a request without `Origin`.
    pub non_cors: Headers,
}

/// An origin the policy allows, built from its first entry: the probe
/// whose echo is recognised in the answers.
fn allowed_origin(policy: &Policy) -> String {
    match policy.parsed_origins().first() {
        Some(OriginEntry::Exact { origin, .. }) => origin.clone(),
        Some(OriginEntry::Subdomain { scheme, base, port }) => match port {
            Some(p) => format!("{scheme}://corsica-probe.{base}:{p}"),
            None => format!("{scheme}://corsica-probe.{base}"),
        },
        Some(OriginEntry::AnyPort { scheme, host }) => format!("{scheme}://{host}:1"),
        Some(OriginEntry::Null) => "null".to_owned(),
        Some(OriginEntry::Any) | None => "https://corsica-probe.invalid".to_owned(),
    }
}

/// Records `headers`, recognising echoes of the probe's values. `method`
/// and `requested` are given only for `*` lists, the only ones the engine
/// echoes: a one-item list renders the same text as its probe.
fn record(
    headers: &HeaderMap,
    origin: &str,
    method: Option<&str>,
    requested: Option<&str>,
) -> Headers {
    let mut out = Headers::new();
    for (name, value) in headers {
        let text = value.to_str().unwrap_or_default();
        let v = if *name == header::ACCESS_CONTROL_ALLOW_ORIGIN && text == origin {
            Value::EchoOrigin
        } else if *name == header::ACCESS_CONTROL_ALLOW_METHODS && Some(text) == method {
            Value::EchoMethod
        } else if *name == header::ACCESS_CONTROL_ALLOW_HEADERS && Some(text) == requested {
            Value::EchoRequestHeaders
        } else {
            Value::Static(text.to_owned())
        };
        out.push((name.clone(), v));
    }
    out
}

fn request(pairs: &[(HeaderName, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(value) {
            map.append(name.clone(), v);
        }
    }
    map
}

/// Headers that the engine's forward decision writes onto an empty response.
fn forward(policy: &Policy, method: &Method, req: &HeaderMap, origin: &str) -> Headers {
    let mut headers = HeaderMap::new();
    if let Decision::Forward(f) = policy.decide(method, req) {
        f.apply(&mut headers);
    }
    record(&headers, origin, None, None)
}

/// Asks the engine for every kind of answer of `policy`.
pub fn answers(policy: &Policy) -> Answers {
    let origin = allowed_origin(policy);
    // Probe values that only an echo would reproduce: a method that only
    // `*` allows, and a header name that only `*` allows.
    let method = if policy.methods().any {
        "CORSICA-PROBE"
    } else {
        "GET"
    };
    let requested = if policy.request_headers().any {
        Some("x-corsica-probe".to_owned())
    } else {
        policy.request_headers().items.first().cloned()
    };
    let base = [
        (header::ORIGIN, origin.as_str()),
        (header::ACCESS_CONTROL_REQUEST_METHOD, method),
    ];
    let (mut ok_status, mut ok) = (204, Headers::new());
    if let Decision::Preflight(p) = policy.decide(&Method::OPTIONS, &request(&base)) {
        ok_status = p.status().as_u16();
        let echo = policy.methods().any.then_some(method);
        ok = record(&p.headers(), &origin, echo, None);
    }
    let mut allow_headers = None;
    if let Some(req) = &requested {
        let mut pairs = base.to_vec();
        pairs.push((header::ACCESS_CONTROL_REQUEST_HEADERS, req.as_str()));
        if let Decision::Preflight(p) = policy.decide(&Method::OPTIONS, &request(&pairs)) {
            let echo = policy.request_headers().any.then_some(req.as_str());
            let with = record(&p.headers(), &origin, None, echo);
            allow_headers = with
                .into_iter()
                .find(|(n, _)| *n == header::ACCESS_CONTROL_ALLOW_HEADERS)
                .map(|(_, v)| v);
        }
    }
    // A refusal: a method no policy allows (a forbidden one).
    let denied = [
        (header::ORIGIN, origin.as_str()),
        (header::ACCESS_CONTROL_REQUEST_METHOD, "CONNECT"),
    ];
    let (mut denied_status, mut denied_headers) = (403, Headers::new());
    if let Decision::Preflight(p) = policy.decide(&Method::OPTIONS, &request(&denied)) {
        denied_status = p.status().as_u16();
        denied_headers = record(&p.headers(), &origin, None, None);
    }
    // A refused actual request: `Origin` on two lines, which the engine
    // refuses under every policy, `*` included (an origin the policy does
    // not list would be allowed by `*`).
    let refused_origin = request(&[
        (header::ORIGIN, origin.as_str()),
        (header::ORIGIN, origin.as_str()),
    ]);
    Answers {
        preflight_ok_status: ok_status,
        preflight_ok: ok,
        preflight_allow_headers: allow_headers,
        preflight_denied_status: denied_status,
        preflight_denied: denied_headers,
        actual_ok: forward(
            policy,
            &Method::GET,
            &request(&[(header::ORIGIN, origin.as_str())]),
            &origin,
        ),
        actual_denied: forward(policy, &Method::GET, &refused_origin, &origin),
        non_cors: forward(policy, &Method::GET, &HeaderMap::new(), &origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credentialed_policy_echoes_the_origin_and_lists_its_headers() {
        let policy = Policy::builder()
            .origins(["https://*.example.com"])
            .methods(["PUT"])
            .request_headers(["x-req"])
            .credentials(true)
            .max_age(600)
            .build()
            .unwrap();
        let a = answers(&policy);
        assert_eq!(a.preflight_ok_status, 204);
        assert!(a
            .preflight_ok
            .contains(&(header::ACCESS_CONTROL_ALLOW_ORIGIN, Value::EchoOrigin)));
        assert!(a.preflight_ok.contains(&(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            Value::Static("true".into())
        )));
        assert_eq!(
            a.preflight_allow_headers,
            Some(Value::Static("x-req".into()))
        );
        assert_eq!(a.preflight_denied_status, 403);
        assert!(a.preflight_denied.is_empty());
        assert!(a
            .actual_denied
            .iter()
            .all(|(n, _)| !n.as_str().starts_with("access-control-")));
    }

    #[test]
    fn a_wildcard_policy_echoes_method_and_headers() {
        let policy = Policy::builder()
            .origins(["*"])
            .methods(["*"])
            .request_headers(["*"])
            .build()
            .unwrap();
        let a = answers(&policy);
        assert!(a
            .preflight_ok
            .contains(&(header::ACCESS_CONTROL_ALLOW_METHODS, Value::EchoMethod)));
        assert_eq!(a.preflight_allow_headers, Some(Value::EchoRequestHeaders));
        assert!(a.non_cors.contains(&(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            Value::Static("*".into())
        )));
    }
}
