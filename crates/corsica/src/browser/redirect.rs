//! What a redirect carries over, as each browser does it: the `Location`
//! it follows, and the request headers it drops.

use super::headers::{trim, ResponseHeaders};
use super::profile::Profile;

/// The `Location` to follow: the first non-empty value, or in Firefox the
/// first value, empty or not.
pub(super) fn redirect_location(headers: &ResponseHeaders, profile: Profile) -> Option<Vec<u8>> {
    if profile == Profile::Firefox {
        return first_location(headers).map(<[u8]>::to_vec);
    }
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("location"))
        .map(|(_, v)| trim(v))
        .find(|v| !v.is_empty())
        .map(<[u8]>::to_vec)
}

/// The first `Location` value, trimmed.
pub(super) fn first_location(headers: &ResponseHeaders) -> Option<&[u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("location"))
        .map(|(_, v)| trim(v))
}

/// Whether a response carries `Location` twice with different values,
/// which Chromium's HTTP parser rejects outright.
pub(super) fn conflicting_locations(headers: &ResponseHeaders) -> bool {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("location"))
        .map(|(_, v)| trim(v));
    match values.next() {
        Some(first) => values.any(|v| v != first),
        None => false,
    }
}

/// The request-body headers a redirect to `GET` removes.
pub(super) const BODY_HEADERS: [&str; 4] = [
    "content-encoding",
    "content-language",
    "content-location",
    "content-type",
];

/// Request headers that make a fetch conditional.
pub(super) const CONDITIONAL_HEADERS: [&str; 5] = [
    "if-modified-since",
    "if-none-match",
    "if-unmodified-since",
    "if-match",
    "if-range",
];

/// Client-hint request headers that Chromium removes on a redirect
/// (observed; `Save-Data` and `Intervention` stay).
const CLIENT_HINT_HEADERS: [&str; 7] = [
    "device-memory",
    "dpr",
    "width",
    "viewport-width",
    "rtt",
    "downlink",
    "ect",
];

pub(super) fn is_client_hint(name: &str) -> bool {
    CLIENT_HINT_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}
