//! Browser engines differ in a few CORS details; a profile picks one.
//! Chromium is the default and the one the conformance suite verifies.

use serde::{Deserialize, Serialize};

/// The browser engine to simulate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Chromium (Chrome, Edge, Brave, Opera).
    #[default]
    Chromium,
    /// Firefox (Gecko).
    Firefox,
    /// WebKit (Safari).
    #[serde(rename = "webkit")]
    WebKit,
}

/// How long a preflight result without `Access-Control-Max-Age` is cached.
pub const DEFAULT_MAX_AGE: u64 = 5;

impl Profile {
    /// The longest a preflight result is cached, in seconds.
    pub fn max_age_cap(&self) -> u64 {
        match self {
            Profile::Chromium => 7200,
            Profile::Firefox => 86400,
            Profile::WebKit => 600,
        }
    }

    /// How long a preflight result is cached, given its
    /// `Access-Control-Max-Age` value (already combined and trimmed).
    pub fn cache_seconds(&self, max_age: Option<&[u8]>) -> u64 {
        let Some(value) = max_age else {
            return DEFAULT_MAX_AGE;
        };
        let text = std::str::from_utf8(value).unwrap_or("");
        match self {
            // base::StringToInt64: a failure means the default; a negative
            // value means "do not cache".
            Profile::Chromium | Profile::WebKit => match text.parse::<i64>() {
                Ok(n) if n < 0 => 0,
                Ok(n) => (n as u64).min(self.max_age_cap()),
                Err(_) => DEFAULT_MAX_AGE,
            },
            // Gecko refuses to cache on any non-digit.
            Profile::Firefox => {
                match text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
                    true => text
                        .parse::<u64>()
                        .map_or(self.max_age_cap(), |n| n.min(self.max_age_cap())),
                    false => 0,
                }
            }
        }
    }

    /// Whether scripts setting `User-Agent` are silently ignored (Chromium)
    /// rather than sending a non-safelisted header (Firefox, WebKit).
    pub fn forbids_user_agent(&self) -> bool {
        *self == Profile::Chromium
    }

    /// Whether a name the script sets twice becomes one header whose value
    /// is `a, b` before the CORS checks (Chromium, WebKit), rather than two
    /// header-list entries each checked on its own, as Fetch says
    /// (Firefox: both entries are checked, and both are named in
    /// `Access-Control-Request-Headers`).
    pub fn combines_repeated_headers(&self) -> bool {
        *self != Profile::Firefox
    }

    /// Whether a preflight always carries (and is checked against) the
    /// page's origin, even after a redirect made the request's origin
    /// `null` (Firefox: the preflight is its own request on behalf of the
    /// page; one to the page's own origin gets no CORS check at all).
    pub fn preflight_keeps_page_origin(&self) -> bool {
        *self == Profile::Firefox
    }

    /// Whether a byte at or above 0x80 in `Accept` or `Content-Type` is
    /// CORS-unsafe. Fetch lists no such byte; Gecko's check compares a
    /// signed `char`, so every non-ASCII byte counts as a control byte.
    pub fn non_ascii_is_unsafe(&self) -> bool {
        *self == Profile::Firefox
    }

    /// Whether a redirected preflight is refused before its CORS check
    /// (Chromium: `PreflightDisallowedRedirect` even without
    /// `Access-Control-Allow-Origin`), rather than after it (Firefox: the
    /// redirect response's `Access-Control-Allow-Origin` is checked first).
    pub fn refuses_preflight_redirect_first(&self) -> bool {
        *self != Profile::Firefox
    }

    /// Whether, once a fetch has sent a preflight, every URL it is
    /// redirected to is preflighted too, whatever its method and headers
    /// (Firefox keeps the preflight requirement on the redirected channel;
    /// WebKit starts a new cross-origin request that needs one).
    pub fn preflights_after_preflighted_redirect(&self) -> bool {
        *self != Profile::Chromium
    }

    /// Whether a redirect re-sends the script's original headers: no
    /// `Authorization` removed on a cross-origin redirect, no body headers
    /// removed when the method becomes `GET`, and `Origin` kept (WebKit's
    /// `DocumentThreadableLoader` restores them).
    pub fn restores_headers_on_redirect(&self) -> bool {
        *self == Profile::WebKit
    }

    /// Whether a `DELETE` redirected to another origin becomes a `GET`, as
    /// WebKit's network layer does (any redirect status).
    pub fn redirects_delete_as_get(&self) -> bool {
        *self == Profile::WebKit
    }

    /// The engine's name, lower case.
    pub fn as_str(&self) -> &'static str {
        match self {
            Profile::Chromium => "chromium",
            Profile::Firefox => "firefox",
            Profile::WebKit => "webkit",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_parsing_per_engine() {
        let c = Profile::Chromium;
        assert_eq!(c.cache_seconds(None), 5);
        assert_eq!(c.cache_seconds(Some(b"600")), 600);
        assert_eq!(c.cache_seconds(Some(b"86400")), 7200);
        assert_eq!(c.cache_seconds(Some(b"-1")), 0);
        assert_eq!(c.cache_seconds(Some(b"soon")), 5);
        let f = Profile::Firefox;
        assert_eq!(f.cache_seconds(Some(b"86400")), 86400);
        assert_eq!(f.cache_seconds(Some(b"-1")), 0);
        assert_eq!(Profile::WebKit.cache_seconds(Some(b"7200")), 600);
    }
}
