//! The trusted origin's own request, judged by the browser simulator in the
//! chosen browser: whether the page the API is meant for can read it, and
//! if not, the console message and `fetch()` rejection that browser shows.

use corsica::browser::{
    Credentials, Incoming, Profile, RequestSpec, ResponseHeaders, Simulation, Step,
};
use serde::Serialize;

use super::judge::Exchange;

/// What the trusted origin's plain `GET` gets in one browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustedOutcome {
    /// The simulated browser (`chromium`, `firefox`, `webkit`).
    pub browser: &'static str,
    /// Whether the page's script can read the response.
    pub allowed: bool,
    /// What that browser prints in the console when it blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_message: Option<String>,
    /// What `fetch()` rejects with in that browser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<String>,
}

/// Judges the trusted origin's `GET` (sent without credentials) in
/// `profile`. `None` when the response redirects: the audit does not
/// follow redirects, so the browser's verdict is not known.
pub fn judge(exchange: &Exchange, origin: &str, profile: Profile) -> Option<TrustedOutcome> {
    let spec = RequestSpec {
        url: exchange.url.clone(),
        method: "GET".to_owned(),
        headers: vec![],
        credentials: Credentials::Omit,
        read_headers: vec![],
        force_preflight: false,
    };
    let mut sim = Simulation::new("trusted", origin, &spec, profile);
    let Step::Send(_) = sim.start() else {
        return None;
    };
    let step = sim.on_response(Incoming {
        status: exchange.response.status,
        headers: ResponseHeaders::new(exchange.response.headers.clone()),
    });
    if !matches!(step, Step::Done) {
        return None;
    }
    let v = sim.finish();
    Some(TrustedOutcome {
        browser: profile.as_str(),
        allowed: v.allowed,
        console_message: v.console_message,
        fetch_error: v.fetch_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::RawResponse;

    fn exchange(headers: &[(&str, &str)]) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: "https://api.example/me".into(),
            headers: vec![],
            response: RawResponse {
                status: 200,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                    .collect(),
            },
        }
    }

    #[test]
    fn a_blocked_trusted_origin_gets_each_browsers_own_text() {
        let e = exchange(&[]);
        let chromium = judge(&e, "https://app.example", Profile::Chromium).unwrap();
        assert!(!chromium.allowed);
        assert_eq!(
            chromium.fetch_error.as_deref(),
            Some("TypeError: Failed to fetch")
        );
        assert!(chromium
            .console_message
            .as_deref()
            .is_some_and(|m| m.contains("No 'Access-Control-Allow-Origin' header")));
        let firefox = judge(&e, "https://app.example", Profile::Firefox).unwrap();
        assert_eq!(
            firefox.fetch_error.as_deref(),
            Some("TypeError: NetworkError when attempting to fetch resource.")
        );
        assert!(firefox
            .console_message
            .as_deref()
            .is_some_and(|m| m.starts_with("Cross-Origin Request Blocked")));
        let webkit = judge(&e, "https://app.example", Profile::WebKit).unwrap();
        assert_eq!(
            webkit.fetch_error.as_deref(),
            Some("TypeError: Load failed")
        );
    }

    #[test]
    fn an_allowed_trusted_origin_has_no_message() {
        let e = exchange(&[("access-control-allow-origin", "https://app.example")]);
        let v = judge(&e, "https://app.example", Profile::WebKit).unwrap();
        assert!(v.allowed && v.console_message.is_none() && v.fetch_error.is_none());
    }
}
