//! The preflight's verdict: parsing `Access-Control-Allow-Methods` and
//! `-Allow-Headers`, and checking the actual request against them
//! (Chromium's `PreflightResult`).

use std::collections::BTreeSet;

use super::case::Credentials;
use super::check::Failure;
use super::error::CorsError;
use super::headers::ResponseHeaders;
use super::profile::Profile;
use super::request::UnsafeHeader;
use crate::token::split_token_list;

/// What a successful preflight allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightResult {
    /// Allowed methods, case preserved.
    pub methods: BTreeSet<String>,
    /// Allowed header names, lower case.
    pub headers: BTreeSet<String>,
    /// Whether the preflight was for a credentialed request.
    pub credentials: bool,
    /// Seconds the result may be cached.
    pub max_age: u64,
}

impl PreflightResult {
    /// Parses the allow lists; a list that is not a list of tokens fails the
    /// whole preflight, even when the request would not need it.
    pub fn parse(
        headers: &ResponseHeaders,
        credentials: Credentials,
        max_age: u64,
    ) -> Result<PreflightResult, Failure> {
        let list =
            |name: &str, error: CorsError, lower: bool| -> Result<BTreeSet<String>, Failure> {
                let Some(value) = headers.get(name) else {
                    return Ok(BTreeSet::new());
                };
                let items = split_token_list(&value).map_err(|_| Failure::bare(error))?;
                Ok(items
                    .into_iter()
                    .map(|t| {
                        let s = String::from_utf8_lossy(t).into_owned();
                        if lower {
                            s.to_ascii_lowercase()
                        } else {
                            s
                        }
                    })
                    .collect())
            };
        let methods = list(
            "access-control-allow-methods",
            CorsError::InvalidAllowMethodsPreflightResponse,
            false,
        )?;
        let allowed_headers = list(
            "access-control-allow-headers",
            CorsError::InvalidAllowHeadersPreflightResponse,
            true,
        )?;
        Ok(PreflightResult {
            methods,
            headers: allowed_headers,
            credentials: credentials == Credentials::Include,
            max_age,
        })
    }

    /// Whether `method` is allowed: listed (case-sensitively), safelisted,
    /// or covered by `*` for a request without credentials.
    pub fn check_method(&self, method: &str) -> Result<(), Failure> {
        let safelisted = crate::method::is_safelisted(&method.to_ascii_uppercase());
        if self.methods.contains(method)
            || safelisted
            || (!self.credentials && self.methods.contains("*"))
        {
            Ok(())
        } else {
            Err(Failure::with(
                CorsError::MethodDisallowedByPreflightResponse,
                method.as_bytes(),
            ))
        }
    }

    /// Whether every unsafe header is allowed. `*` covers every header
    /// (including `Authorization`, as Chromium ships today) for a request
    /// without credentials. Chromium reports one missing header: the first
    /// in `unsafe_headers`, which callers give in Chromium's header order
    /// (see [`super::order`]).
    pub fn check_headers(&self, unsafe_headers: &[UnsafeHeader]) -> Result<(), Failure> {
        if !self.credentials && self.headers.contains("*") {
            return Ok(());
        }
        match unsafe_headers
            .iter()
            .map(|u| u.name.as_str())
            .find(|n| !self.headers.contains(*n))
        {
            Some(missing) => Err(Failure::with(
                CorsError::HeaderDisallowedByPreflightResponse,
                missing.as_bytes(),
            )),
            None => Ok(()),
        }
    }

    /// Whether this cached result serves a request (Chromium
    /// `EnsureAllowedRequest`): a result for a request without credentials
    /// never serves one with, and `Authorization` must be listed by name.
    /// WebKit lets a cached `*` serve `Authorization` as the preflight
    /// itself did (observed).
    pub fn allows(
        &self,
        profile: Profile,
        method: &str,
        unsafe_headers: &[UnsafeHeader],
        credentials: Credentials,
    ) -> bool {
        if !self.credentials && credentials == Credentials::Include {
            return false;
        }
        if profile == Profile::Firefox {
            // Firefox's cache holds the names the response listed, one
            // entry each: `*` serves nothing later, and only GET and POST
            // skip the method lookup (HEAD does not). Observed, Firefox
            // 153; the lookup code is `nsPreflightCache::CacheEntry::CheckRequest`.
            let method_ok = matches!(method.to_ascii_uppercase().as_str(), "GET" | "POST")
                || self.methods.contains(method);
            let headers_ok = unsafe_headers
                .iter()
                .all(|u| u.name != "*" && self.headers.contains(u.name.as_str()));
            return method_ok && headers_ok;
        }
        if profile == Profile::WebKit {
            return self.check_method(method).is_ok() && self.check_headers(unsafe_headers).is_ok();
        }
        // Chromium checks a cached result with `Authorization` as a
        // non-wildcard name: `*` lets a preflight allow it, but a cached
        // `*` does not serve a later request carrying it (observed in
        // Chromium 156: that request is preflighted again).
        let wildcard_only_authorization = !self.headers.contains("authorization")
            && unsafe_headers.iter().any(|u| u.name == "authorization");
        !wildcard_only_authorization
            && self.check_method(method).is_ok()
            && self.check_headers(unsafe_headers).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::safelist::Unsafe;

    fn result(
        pairs: &[(&str, &str)],
        credentials: Credentials,
    ) -> Result<PreflightResult, Failure> {
        let list: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        PreflightResult::parse(&ResponseHeaders::from_text(&list), credentials, 5)
    }

    fn unsafe_named(names: &[&str]) -> Vec<UnsafeHeader> {
        names
            .iter()
            .map(|n| UnsafeHeader {
                name: n.to_string(),
                reason: Unsafe::Name,
            })
            .collect()
    }

    #[test]
    fn unparsable_lists_fail_the_preflight() {
        assert_eq!(
            result(
                &[("access-control-allow-methods", "PUT, (bad)")],
                Credentials::Omit
            )
            .unwrap_err()
            .error,
            CorsError::InvalidAllowMethodsPreflightResponse
        );
        assert_eq!(
            result(
                &[("access-control-allow-headers", "x-a, b@d")],
                Credentials::Omit
            )
            .unwrap_err()
            .error,
            CorsError::InvalidAllowHeadersPreflightResponse
        );
        assert!(result(
            &[("access-control-allow-methods", "PUT,, ,DELETE")],
            Credentials::Omit
        )
        .is_ok());
    }

    #[test]
    fn methods_are_case_sensitive_and_star_needs_no_credentials() {
        let r = result(
            &[("access-control-allow-methods", "PATCH")],
            Credentials::Omit,
        )
        .unwrap();
        assert!(r.check_method("PATCH").is_ok());
        assert!(r.check_method("patch").is_err());
        assert!(r.check_method("GET").is_ok());
        let star = result(
            &[("access-control-allow-methods", "*")],
            Credentials::Include,
        )
        .unwrap();
        assert!(star.check_method("PUT").is_err());
        let star = result(&[("access-control-allow-methods", "*")], Credentials::Omit).unwrap();
        assert!(star.check_method("PUT").is_ok());
    }

    #[test]
    fn headers_are_case_insensitive_and_star_covers_authorization() {
        let r = result(
            &[("access-control-allow-headers", "X-Token")],
            Credentials::Omit,
        )
        .unwrap();
        assert!(r.check_headers(&unsafe_named(&["x-token"])).is_ok());
        let f = r
            .check_headers(&unsafe_named(&["x-b", "x-token", "x-c", "x-a"]))
            .unwrap_err();
        assert_eq!(f.hint, b"x-b", "the first missing name, in the order given");
        let star = result(&[("access-control-allow-headers", "*")], Credentials::Omit).unwrap();
        assert!(star
            .check_headers(&unsafe_named(&["authorization"]))
            .is_ok());
        let star = result(
            &[("access-control-allow-headers", "*")],
            Credentials::Include,
        )
        .unwrap();
        assert!(star.check_headers(&unsafe_named(&["x-a"])).is_err());
    }
}
