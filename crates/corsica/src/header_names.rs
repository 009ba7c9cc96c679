//! Header-name classes from the Fetch standard, shared by the policy
//! validator and the browser simulator. All names are compared
//! ASCII-case-insensitively, as header names are.

/// Request headers that only the user agent may set (Fetch "forbidden
/// request-header"), excluding the `proxy-` and `sec-` prefixes and the
/// method-override headers, which [`is_forbidden_request_header`] handles.
const FORBIDDEN_REQUEST: [&str; 21] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// Headers whose value may name a method; they are forbidden when it names a
/// forbidden method.
pub const METHOD_OVERRIDE: [&str; 3] = [
    "x-http-method",
    "x-http-method-override",
    "x-method-override",
];

/// Whether `name` is a forbidden request-header name regardless of its value
/// (the fixed list plus the `proxy-` and `sec-` prefixes).
pub fn is_forbidden_request_header(name: &str) -> bool {
    FORBIDDEN_REQUEST
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
        || starts_with_ignore_case(name, "proxy-")
        || starts_with_ignore_case(name, "sec-")
}

/// Chromium forbids two more request headers than the standard does:
/// `User-Agent` (crbug.com/571722) and the legacy Private Network Access
/// request header. Scripts that set them are silently ignored.
pub fn is_chromium_forbidden_request_header(name: &str) -> bool {
    is_forbidden_request_header(name)
        || name.eq_ignore_ascii_case("user-agent")
        || name.eq_ignore_ascii_case("access-control-request-private-network")
}

/// Response headers that scripts can never read (`Set-Cookie`, `Set-Cookie2`).
pub fn is_forbidden_response_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("set-cookie") || name.eq_ignore_ascii_case("set-cookie2")
}

/// Response headers every CORS response exposes without
/// `Access-Control-Expose-Headers` (Fetch "CORS-safelisted response-header
/// name").
pub const SAFELISTED_RESPONSE: [&str; 7] = [
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
];

/// Whether `name` is a CORS-safelisted response-header name.
pub fn is_safelisted_response_header(name: &str) -> bool {
    SAFELISTED_RESPONSE
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_request_headers_include_prefixes() {
        for name in [
            "Cookie",
            "HOST",
            "sec-fetch-mode",
            "Proxy-Authorization",
            "origin",
        ] {
            assert!(is_forbidden_request_header(name), "{name}");
        }
        for name in [
            "authorization",
            "x-requested-with",
            "content-type",
            "user-agent",
            "secret",
        ] {
            assert!(!is_forbidden_request_header(name), "{name}");
        }
    }

    #[test]
    fn chromium_also_forbids_user_agent() {
        assert!(is_chromium_forbidden_request_header("User-Agent"));
        assert!(!is_chromium_forbidden_request_header("x-user-agent"));
    }

    #[test]
    fn response_classes() {
        assert!(is_forbidden_response_header("Set-Cookie"));
        assert!(is_forbidden_response_header("set-cookie2"));
        assert!(is_safelisted_response_header("Content-Type"));
        assert!(!is_safelisted_response_header("x-request-id"));
    }
}
