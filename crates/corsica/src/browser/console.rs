//! The console message each engine prints for a `fetch()` blocked by CORS.
//! Chromium's text comes with its error name ([`CorsError::console_message`]);
//! Firefox and WebKit word the same failures their own way, and name other
//! things (Firefox the HTTP status, never the page's origin).

use super::check::Failure;
use super::error::CorsError;
use super::headers::ResponseHeaders;
use super::profile::Profile;
use super::verdict::Stage;

/// What a console message can mention besides the failure itself.
pub(super) struct Blocked<'a> {
    /// The URL of the request that failed.
    pub url: &'a str,
    /// The first URL, when a redirect happened.
    pub initial: Option<&'a str>,
    /// The page's origin.
    pub page_origin: &'a str,
    /// The status and headers of the response that failed the check, if
    /// one arrived.
    pub response: Option<(u16, &'a ResponseHeaders)>,
    /// Where the fetch was blocked.
    pub at: Stage,
    /// Whether the preflight response was a redirect.
    pub preflight_redirected: bool,
}

/// The console message `profile` prints for `failure`.
pub(super) fn message(profile: Profile, failure: &Failure, at: &Blocked<'_>) -> String {
    match profile {
        Profile::Chromium => {
            failure
                .error
                .console_message(at.url, at.initial, at.page_origin, &failure.hint)
        }
        Profile::Firefox => firefox(failure, at),
        Profile::WebKit => webkit(failure, at),
    }
}

/// Firefox's `security.properties` texts: one line per failure, naming
/// the URL, the reason in parentheses, and for some reasons the HTTP
/// status. A failed preflight is followed by a second line for the request
/// itself (`CORS request did not succeed`, status `(null)`); a redirected
/// preflight by its own lines too (observed, Firefox 153).
fn firefox(failure: &Failure, at: &Blocked<'_>) -> String {
    use CorsError::*;
    // Firefox shows header bytes as UTF-8 text.
    let hint = String::from_utf8_lossy(&failure.hint).into_owned();
    let status = at.response.map(|(s, _)| s).unwrap_or_default();
    let header = |name: &str| {
        at.response
            .and_then(|(_, h)| h.get(name))
            .unwrap_or_default()
    };
    let line = |reason: &str, status: Option<u16>| {
        let mut out = format!("{FIREFOX_PREFIX}{}. (Reason: {reason}).", at.url);
        if let Some(s) = status {
            out.push_str(&format!(" Status code: {s}."));
        }
        out
    };
    let reason = match failure.error {
        WildcardOriginNotAllowed | PreflightWildcardOriginNotAllowed => {
            // The only message that quotes the URL.
            format!("{FIREFOX_PREFIX}‘{}’. (Reason: Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’).", at.url)
        }
        MissingAllowOriginHeader | PreflightMissingAllowOriginHeader => line(
            "CORS header ‘Access-Control-Allow-Origin’ missing",
            Some(status),
        ),
        // Repeated lines arrive joined by ", ", as one value.
        MultipleAllowOriginValues
        | PreflightMultipleAllowOriginValues
        | InvalidAllowOriginValue
        | PreflightInvalidAllowOriginValue
        | AllowOriginMismatch
        | PreflightAllowOriginMismatch => line(
            &format!("CORS header ‘Access-Control-Allow-Origin’ does not match ‘{hint}’"),
            None,
        ),
        InvalidAllowCredentials | PreflightInvalidAllowCredentials => line(
            "expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’",
            None,
        ),
        CorsDisabledScheme => line("CORS request not HTTP", None),
        PreflightInvalidStatus => line("CORS preflight response did not succeed", Some(status)),
        PreflightDisallowedRedirect => format!(
            "{}\n{}",
            line("CORS request external redirect not allowed", None),
            line("CORS preflight response did not succeed", Some(status))
        ),
        InvalidAllowMethodsPreflightResponse => line(
            &format!(
                "invalid token ‘{}’ in CORS header ‘Access-Control-Allow-Methods’",
                first_invalid_token(&header("access-control-allow-methods"))
            ),
            None,
        ),
        InvalidAllowHeadersPreflightResponse => line(
            &format!(
                "invalid token ‘{}’ in CORS header ‘Access-Control-Allow-Headers’",
                first_invalid_token(&header("access-control-allow-headers"))
            ),
            None,
        ),
        MethodDisallowedByPreflightResponse => line(
            "Did not find method in CORS header ‘Access-Control-Allow-Methods’",
            None,
        ),
        HeaderDisallowedByPreflightResponse => line(
            &format!("header ‘{hint}’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response"),
            None,
        ),
        // Only the Chromium profile blocks for Local Network Access.
        DisallowedByMode
        | InvalidResponse
        | RedirectContainsCredentials
        | LocalNetworkAccessPermissionDenied
        | InsecureLocalNetwork => {
            return firefox_did_not_succeed(at.url);
        }
    };
    let mut out = reason;
    // A failed preflight, or a redirect that failed its check, also fails
    // the request itself: one more line.
    if matches!(at.at, Stage::PreflightResponse | Stage::Redirect) {
        let did_not_succeed = firefox_did_not_succeed(at.url);
        // A redirected preflight that failed its CORS check reports the
        // request as failed twice.
        let times = if at.preflight_redirected && failure.error != PreflightDisallowedRedirect {
            2
        } else {
            1
        };
        for _ in 0..times {
            out.push('\n');
            out.push_str(&did_not_succeed);
        }
    }
    out
}

/// What Firefox prints when a cross-origin request failed without a
/// response to blame: the status is `(null)`.
pub(super) fn firefox_did_not_succeed(url: &str) -> String {
    format!("{FIREFOX_PREFIX}{url}. (Reason: CORS request did not succeed). Status code: (null).")
}

/// The start of every Firefox CORS message.
const FIREFOX_PREFIX: &str =
    "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ";

/// The first element of a comma-separated list that is not a token, as
/// Firefox names it (empty elements are skipped).
fn first_invalid_token(value: &[u8]) -> String {
    value
        .split(|&b| b == b',')
        .map(super::headers::trim)
        .filter(|t| !t.is_empty())
        .find(|t| !crate::token::is_token(t))
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default()
}

/// WebKit's text (`Origin … is not allowed by Access-Control-Allow-Origin`
/// and its kin, then `Status code`). Not observed: WebKitWebDriver does
/// not expose the console.
fn webkit(_failure: &Failure, at: &Blocked<'_>) -> String {
    format!(
        "Fetch API cannot load {} due to access control checks.",
        at.url
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(headers: &'a ResponseHeaders, stage: Stage) -> Blocked<'a> {
        Blocked {
            url: "http://b/x",
            initial: None,
            page_origin: "http://a",
            response: Some((403, headers)),
            at: stage,
            preflight_redirected: false,
        }
    }

    #[test]
    fn firefox_names_the_status_and_adds_a_line_for_a_failed_preflight() {
        let h = ResponseHeaders::new(vec![]);
        let failure = Failure::bare(CorsError::PreflightInvalidStatus);
        assert_eq!(
            message(Profile::Firefox, &failure, &at(&h, Stage::PreflightResponse)),
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://b/x. (Reason: CORS preflight response did not succeed). Status code: 403.\nCross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://b/x. (Reason: CORS request did not succeed). Status code: (null)."
        );
        let missing = Failure::bare(CorsError::MissingAllowOriginHeader);
        assert_eq!(
            message(Profile::Firefox, &missing, &at(&h, Stage::Response)),
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://b/x. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 403."
        );
    }

    #[test]
    fn firefox_names_the_first_bad_token() {
        let h = ResponseHeaders::new(vec![(
            "Access-Control-Allow-Methods".into(),
            b"GET, , (bad), P UT".to_vec(),
        )]);
        let failure = Failure::bare(CorsError::InvalidAllowMethodsPreflightResponse);
        let text = message(
            Profile::Firefox,
            &failure,
            &at(&h, Stage::PreflightResponse),
        );
        assert!(
            text.contains(
                "(Reason: invalid token ‘(bad)’ in CORS header ‘Access-Control-Allow-Methods’)."
            ),
            "{text}"
        );
    }

    #[test]
    fn webkit_blames_access_control_checks() {
        let h = ResponseHeaders::new(vec![]);
        let failure = Failure::bare(CorsError::MissingAllowOriginHeader);
        assert_eq!(
            message(Profile::WebKit, &failure, &at(&h, Stage::Response)),
            "Fetch API cannot load http://b/x due to access control checks."
        );
    }
}
