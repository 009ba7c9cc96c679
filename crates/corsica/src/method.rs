//! HTTP method classes from the Fetch standard (§2.2.1 "Methods").

use std::borrow::Cow;

/// Whether `method` is a CORS-safelisted method: `GET`, `HEAD` or `POST`,
/// compared byte-for-byte (after normalization).
pub fn is_safelisted(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// The methods Fetch forbids, matched without regard to case; a policy
/// with `methods = ["*"]` still refuses them.
pub const FORBIDDEN_METHODS: [&str; 3] = ["CONNECT", "TRACE", "TRACK"];

/// Whether `method` is forbidden (`CONNECT`, `TRACE`, `TRACK`, any case).
/// Browsers refuse to send these, so a policy listing them is a mistake.
pub fn is_forbidden(method: &str) -> bool {
    FORBIDDEN_METHODS
        .iter()
        .any(|f| f.eq_ignore_ascii_case(method))
}

/// The six methods that Fetch's "normalize a method" upper-cases.
const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

/// Normalizes a method as Fetch does: `DELETE`, `GET`, `HEAD`, `OPTIONS`,
/// `POST` and `PUT` are upper-cased when they match case-insensitively;
/// every other method keeps its case, so `patch` stays `patch`.
pub fn normalize(method: &str) -> Cow<'_, str> {
    match NORMALIZED.iter().find(|m| m.eq_ignore_ascii_case(method)) {
        Some(upper) if *upper != method => Cow::Borrowed(upper),
        _ => Cow::Borrowed(method),
    }
}

/// Whether a browser could ever send `method` byte-for-byte as written:
/// a lower-case `delete` cannot, because browsers upper-case it first.
pub fn survives_normalization(method: &str) -> bool {
    normalize(method) == method
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_upper_cases_only_six_methods() {
        assert_eq!(normalize("delete"), "DELETE");
        assert_eq!(normalize("Get"), "GET");
        assert_eq!(normalize("options"), "OPTIONS");
        assert_eq!(normalize("patch"), "patch");
        assert_eq!(normalize("PaTcH"), "PaTcH");
        assert_eq!(normalize("PATCH"), "PATCH");
    }

    #[test]
    fn forbidden_methods_match_any_case() {
        assert!(is_forbidden("trace"));
        assert!(is_forbidden("Connect"));
        assert!(is_forbidden("TRACK"));
        assert!(!is_forbidden("PATCH"));
    }

    #[test]
    fn safelisted_methods_are_case_sensitive() {
        assert!(is_safelisted("GET"));
        assert!(!is_safelisted("get"));
        assert!(!is_safelisted("PUT"));
    }

    #[test]
    fn lower_case_standard_methods_do_not_survive() {
        assert!(!survives_normalization("delete"));
        assert!(survives_normalization("DELETE"));
        assert!(survives_normalization("patch"));
    }
}
