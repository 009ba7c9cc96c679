//! The CORS-preflight cache, as Chromium keeps it: one result per
//! (origin, URL), replaced whole by each successful preflight, expiring
//! after its max-age (capped per engine).

use std::collections::HashMap;

use super::case::Credentials;
use super::preflight::PreflightResult;
use super::profile::Profile;
use super::request::UnsafeHeader;

/// Cached preflight results, with a clock in seconds supplied by the caller.
/// Callers carry one from fetch to fetch ([`simulate_with_cache`](super::simulate_with_cache),
/// [`Simulation::with_cache`](super::Simulation::with_cache)); the simulator
/// alone fills and reads it.
#[derive(Debug, Clone, Default)]
pub struct PreflightCache {
    entries: HashMap<(String, String), (PreflightResult, u64)>,
}

/// The request a cache lookup is for.
pub(crate) struct Lookup<'a> {
    /// Its method.
    pub method: &'a str,
    /// Its CORS-unsafe headers.
    pub unsafe_headers: &'a [UnsafeHeader],
    /// Its credentials mode.
    pub credentials: Credentials,
}

impl PreflightCache {
    /// An empty cache.
    pub fn new() -> Self {
        PreflightCache::default()
    }

    /// Stores a result for `origin` and `url` at time `now`. A max-age of 0
    /// is not stored.
    pub(crate) fn store(&mut self, origin: &str, url: &str, result: PreflightResult, now: u64) {
        let key = (origin.to_owned(), url.to_owned());
        if result.max_age == 0 {
            self.entries.remove(&key);
            return;
        }
        let expires = now + result.max_age;
        self.entries.insert(key, (result, expires));
    }

    /// Whether a fresh cached result allows this request, in Chromium. An
    /// expired or insufficient entry is evicted, as Chromium does.
    #[cfg(test)]
    pub(crate) fn allows(
        &mut self,
        origin: &str,
        url: &str,
        method: &str,
        unsafe_headers: &[UnsafeHeader],
        credentials: Credentials,
        now: u64,
    ) -> bool {
        let request = Lookup {
            method,
            unsafe_headers,
            credentials,
        };
        self.allows_in(Profile::Chromium, origin, url, &request, now)
    }

    /// Whether a fresh cached result allows this request in `profile`. An
    /// expired entry is evicted; an insufficient one too in Chromium, while
    /// WebKit keeps it for the requests it does cover (observed: a failed
    /// `patch` preflight between two `PUT`s leaves the `PUT` result).
    pub(crate) fn allows_in(
        &mut self,
        profile: Profile,
        origin: &str,
        url: &str,
        request: &Lookup<'_>,
        now: u64,
    ) -> bool {
        let key = (origin.to_owned(), url.to_owned());
        let (expired, covers) = match self.entries.get(&key) {
            Some((result, expires)) => (
                now >= *expires,
                result.allows(
                    profile,
                    request.method,
                    request.unsafe_headers,
                    request.credentials,
                ),
            ),
            None => return false,
        };
        if expired || (!covers && profile != Profile::WebKit) {
            self.entries.remove(&key);
        }
        !expired && covers
    }

    /// Drops every entry for an origin and URL (after a failed CORS fetch).
    pub fn clear(&mut self, origin: &str, url: &str) {
        self.entries.remove(&(origin.to_owned(), url.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn result(methods: &[&str], max_age: u64, credentials: bool) -> PreflightResult {
        PreflightResult {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            headers: BTreeSet::new(),
            credentials,
            max_age,
        }
    }

    #[test]
    fn entries_expire_and_are_replaced_whole() {
        let mut cache = PreflightCache::new();
        cache.store("https://a", "https://b/x", result(&["PUT"], 5, false), 100);
        assert!(cache.allows(
            "https://a",
            "https://b/x",
            "PUT",
            &[],
            Credentials::Omit,
            104
        ));
        assert!(!cache.allows(
            "https://a",
            "https://b/x",
            "PUT",
            &[],
            Credentials::Omit,
            105
        ));
        cache.store(
            "https://a",
            "https://b/x",
            result(&["PUT"], 600, false),
            200,
        );
        cache.store(
            "https://a",
            "https://b/x",
            result(&["DELETE"], 600, false),
            201,
        );
        assert!(
            !cache.allows(
                "https://a",
                "https://b/x",
                "PUT",
                &[],
                Credentials::Omit,
                202
            ),
            "replaced, not merged"
        );
    }

    #[test]
    fn an_uncredentialed_result_never_serves_a_credentialed_request() {
        let mut cache = PreflightCache::new();
        cache.store("https://a", "https://b/x", result(&["PUT"], 60, false), 0);
        assert!(!cache.allows(
            "https://a",
            "https://b/x",
            "PUT",
            &[],
            Credentials::Include,
            1
        ));
        cache.store("https://a", "https://b/x", result(&["PUT"], 60, true), 0);
        assert!(cache.allows("https://a", "https://b/x", "PUT", &[], Credentials::Omit, 1));
    }

    #[test]
    fn zero_max_age_is_not_cached() {
        let mut cache = PreflightCache::new();
        cache.store("https://a", "https://b/x", result(&["PUT"], 0, false), 0);
        assert!(!cache.allows("https://a", "https://b/x", "PUT", &[], Credentials::Omit, 0));
    }
}
