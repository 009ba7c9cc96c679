//! Scenario files: a `fetch()` from a page and the responses the server
//! gives, as JSON.
//!
//! ```json
//! {
//!   "id": "put-with-token",
//!   "origin": "https://app.example",
//!   "request": {"url": "https://api.example/items", "method": "PUT",
//!               "headers": [["x-token", "1"]], "credentials": "include",
//!               "read_headers": ["x-request-id"]},
//!   "preflight_response": {"status": 204, "headers": [["access-control-allow-origin", "https://app.example"]]},
//!   "response": {"status": 200, "headers": [["access-control-allow-origin", "https://app.example"]]}
//! }
//! ```
//!
//! A redirect is a `response` with a 3xx status and a `location` header;
//! the responses for the following URLs are listed in `redirects`, in order.

use super::lna::LocalNetwork;
use serde::{Deserialize, Serialize};

/// The credentials mode of a `fetch()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credentials {
    /// Never send cookies or HTTP authentication.
    Omit,
    /// Send them only to the page's own origin (the `fetch()` default).
    #[default]
    SameOrigin,
    /// Always send them; the server must then allow credentials.
    Include,
}

impl Credentials {
    /// The value as written in `fetch()`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Credentials::Omit => "omit",
            Credentials::SameOrigin => "same-origin",
            Credentials::Include => "include",
        }
    }
}

/// The request `fetch()` is asked to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The URL fetched.
    pub url: String,
    /// The method as the script writes it (`"patch"` stays `patch`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Headers the script sets, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The credentials mode.
    #[serde(default)]
    pub credentials: Credentials,
    /// Response headers the script then reads with `response.headers.get()`.
    #[serde(default)]
    pub read_headers: Vec<String>,
    /// Force a preflight, as a streaming body or an upload listener does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_preflight: bool,
}

fn default_method() -> String {
    "GET".to_owned()
}

/// A response the server gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// The status code.
    pub status: u16,
    /// The headers, in order; a name may repeat.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

/// The responses for one URL reached by a redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HopSpec {
    /// The answer to a preflight for this URL, if one is sent.
    #[serde(default)]
    pub preflight_response: Option<ResponseSpec>,
    /// The answer to the request itself.
    pub response: ResponseSpec,
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A name for reports.
    pub id: String,
    /// The page's origin, serialized (`https://app.example`).
    pub origin: String,
    /// What the script fetches.
    pub request: RequestSpec,
    /// The answer to the preflight, if one is sent.
    #[serde(default)]
    pub preflight_response: Option<ResponseSpec>,
    /// The answer to the request.
    #[serde(default)]
    pub response: Option<ResponseSpec>,
    /// Answers for the URLs that redirects lead to, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<HopSpec>,
    /// Local Network Access inputs: address spaces of names, and the
    /// permission (Chromium only; see [`super::lna`]).
    #[serde(default, skip_serializing_if = "LocalNetwork::is_default")]
    pub local_network: LocalNetwork,
}

/// Parses a file holding one case or an array of cases.
pub fn parse_cases(json: &str) -> Result<Vec<Case>, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(json)?;
    if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|case| vec![case])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_case_or_many() {
        let one =
            r#"{"id":"a","origin":"https://a.example","request":{"url":"https://b.example/"}}"#;
        let cases = parse_cases(one).unwrap();
        assert_eq!(cases[0].request.method, "GET");
        assert_eq!(cases[0].request.credentials, Credentials::SameOrigin);
        let many = format!("[{one},{one}]");
        assert_eq!(parse_cases(&many).unwrap().len(), 2);
    }

    #[test]
    fn unknown_fields_are_errors() {
        let bad = r#"{"id":"a","origin":"https://a.example","request":{"url":"https://b.example/","methd":"PUT"}}"#;
        assert!(parse_cases(bad).unwrap_err().to_string().contains("methd"));
    }
}
