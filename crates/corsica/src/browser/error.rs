//! Chromium's `CorsError` and the console message it prints for each.
//!
//! Names are the DevTools protocol's `Network.CorsError` values; messages
//! follow `cors_error_string.cc` as shipped in the Chromium the conformance
//! suite runs against (see `docs/browser-differences.md`).

use std::fmt::Write;

use serde::{Serialize, Serializer};

/// Declares [`CorsError`] from one list of its variants: the enum, its
/// DevTools names (each variant is named as Chromium names it, so the name
/// is the variant's own) and [`ALL`], so that a variant is written once.
macro_rules! cors_errors {
    ($($variant:ident,)*) => {
        /// A CORS failure as Chromium names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)] // The variant names are Chromium's own.
        pub enum CorsError {
            $($variant,)*
        }

        /// Every error, for lookups.
        pub const ALL: &[CorsError] = &[$(CorsError::$variant,)*];

        impl CorsError {
            /// The name DevTools reports (`corsErrorStatus.corsError`).
            pub fn name(&self) -> &'static str {
                match self {
                    $(CorsError::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

cors_errors! {
    DisallowedByMode,
    InvalidResponse,
    WildcardOriginNotAllowed,
    MissingAllowOriginHeader,
    MultipleAllowOriginValues,
    InvalidAllowOriginValue,
    AllowOriginMismatch,
    InvalidAllowCredentials,
    CorsDisabledScheme,
    PreflightInvalidStatus,
    PreflightDisallowedRedirect,
    PreflightWildcardOriginNotAllowed,
    PreflightMissingAllowOriginHeader,
    PreflightMultipleAllowOriginValues,
    PreflightInvalidAllowOriginValue,
    PreflightAllowOriginMismatch,
    PreflightInvalidAllowCredentials,
    InvalidAllowMethodsPreflightResponse,
    InvalidAllowHeadersPreflightResponse,
    MethodDisallowedByPreflightResponse,
    HeaderDisallowedByPreflightResponse,
    RedirectContainsCredentials,
    LocalNetworkAccessPermissionDenied,
    InsecureLocalNetwork,
}

impl CorsError {
    /// Parses a DevTools name.
    pub fn from_name(name: &str) -> Option<CorsError> {
        ALL.iter().copied().find(|e| e.name() == name)
    }

    /// The preflight counterpart of an access-check error (Chromium reports
    /// a failed CORS check on a preflight response under its own name).
    pub fn for_preflight(self) -> CorsError {
        use CorsError::*;
        match self {
            WildcardOriginNotAllowed => PreflightWildcardOriginNotAllowed,
            MissingAllowOriginHeader => PreflightMissingAllowOriginHeader,
            MultipleAllowOriginValues => PreflightMultipleAllowOriginValues,
            InvalidAllowOriginValue => PreflightInvalidAllowOriginValue,
            AllowOriginMismatch => PreflightAllowOriginMismatch,
            InvalidAllowCredentials => PreflightInvalidAllowCredentials,
            other => other,
        }
    }

    /// Whether this is a Local Network Access failure (a permission, not a
    /// CORS header, decides it).
    pub fn is_local_network_access(&self) -> bool {
        matches!(
            self,
            CorsError::LocalNetworkAccessPermissionDenied | CorsError::InsecureLocalNetwork
        )
    }

    /// Whether Chromium prefixes the message with "Response to preflight
    /// request doesn't pass access control check".
    fn has_preflight_prefix(&self) -> bool {
        use CorsError::*;
        matches!(
            self,
            PreflightWildcardOriginNotAllowed
                | PreflightMissingAllowOriginHeader
                | PreflightMultipleAllowOriginValues
                | PreflightInvalidAllowOriginValue
                | PreflightAllowOriginMismatch
                | PreflightInvalidAllowCredentials
                | PreflightInvalidStatus
                | PreflightDisallowedRedirect
        )
    }

    /// The detail sentence of the console message. `hint` is the failed
    /// parameter, already escaped for display.
    pub fn detail(&self, hint: &str) -> String {
        use CorsError::*;
        const VALID: &str = " Have the server send the header with a valid value.";
        match self {
            DisallowedByMode => "Cross origin requests are not allowed by request mode.".into(),
            InvalidResponse => "The response is invalid.".into(),
            WildcardOriginNotAllowed | PreflightWildcardOriginNotAllowed => {
                "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.".into()
            }
            MissingAllowOriginHeader | PreflightMissingAllowOriginHeader => {
                "No 'Access-Control-Allow-Origin' header is present on the requested resource.".into()
            }
            MultipleAllowOriginValues | PreflightMultipleAllowOriginValues => format!(
                "The 'Access-Control-Allow-Origin' header contains multiple values '{hint}', but only one is allowed.{VALID}"
            ),
            InvalidAllowOriginValue | PreflightInvalidAllowOriginValue => {
                format!("The 'Access-Control-Allow-Origin' header contains the invalid value '{hint}'.{VALID}")
            }
            AllowOriginMismatch | PreflightAllowOriginMismatch => format!(
                "The 'Access-Control-Allow-Origin' header has a value '{hint}' that is not equal to the supplied origin.{VALID}"
            ),
            InvalidAllowCredentials | PreflightInvalidAllowCredentials => format!(
                "The value of the 'Access-Control-Allow-Credentials' header in the response is '{hint}' which must be 'true' when the request's credentials mode is 'include'."
            ),
            CorsDisabledScheme => format!("Cross origin requests are only supported for protocol schemes: {hint}."),
            PreflightInvalidStatus => "It does not have HTTP ok status.".into(),
            PreflightDisallowedRedirect => "Redirect is not allowed for a preflight request.".into(),
            InvalidAllowMethodsPreflightResponse => {
                "Cannot parse Access-Control-Allow-Methods response header field in preflight response.".into()
            }
            InvalidAllowHeadersPreflightResponse => {
                "Cannot parse Access-Control-Allow-Headers response header field in preflight response.".into()
            }
            MethodDisallowedByPreflightResponse => {
                format!("Method {hint} is not allowed by Access-Control-Allow-Methods in preflight response.")
            }
            HeaderDisallowedByPreflightResponse => {
                format!("Request header field {hint} is not allowed by Access-Control-Allow-Headers in preflight response.")
            }
            RedirectContainsCredentials => format!(
                "Redirect location '{hint}' contains a username and password, which is disallowed for cross-origin requests."
            ),
            LocalNetworkAccessPermissionDenied => format!(
                "Permission was denied for this request to access the `{hint}` address space."
            ),
            InsecureLocalNetwork => format!(
                "The request client is not a secure context and the resource is in more-private address space `{hint}`."
            ),
        }
    }

    /// The console message Chromium prints for a `fetch()` blocked with this
    /// error. `url` is the last URL requested and `initial` the first, when a
    /// redirect happened.
    pub fn console_message(
        &self,
        url: &str,
        initial: Option<&str>,
        origin: &str,
        hint: &[u8],
    ) -> String {
        let mut out = format!("Access to fetch at '{url}' ");
        if let Some(initial) = initial {
            let _ = write!(out, "(redirected from '{initial}') ");
        }
        let _ = write!(
            out,
            "from origin '{origin}' has been blocked by CORS policy: "
        );
        if self.has_preflight_prefix() {
            out.push_str("Response to preflight request doesn't pass access control check: ");
        }
        out.push_str(&self.detail(&escape_hint(hint)));
        out
    }
}

impl std::fmt::Display for CorsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for CorsError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Renders header bytes as Chromium does in console messages: header bytes
/// are Latin-1, and anything outside printable ASCII becomes `\uXXXX`.
pub fn escape_hint(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7f).contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\u{:04X}", b);
        }
    }
    out
}

/// The failed parameter as DevTools reports it: the bytes as text when they
/// are valid UTF-8, and empty otherwise.
pub fn failed_parameter(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &e in ALL {
            assert_eq!(CorsError::from_name(e.name()), Some(e));
        }
    }

    #[test]
    fn messages_match_chromium() {
        assert_eq!(
            CorsError::PreflightMissingAllowOriginHeader.console_message("http://b/x", None, "http://a", b""),
            "Access to fetch at 'http://b/x' from origin 'http://a' has been blocked by CORS policy: Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin' header is present on the requested resource."
        );
        assert_eq!(
            CorsError::AllowOriginMismatch.console_message("http://c/y", Some("http://b/x"), "null", b"http://a"),
            "Access to fetch at 'http://c/y' (redirected from 'http://b/x') from origin 'null' has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value 'http://a' that is not equal to the supplied origin. Have the server send the header with a valid value."
        );
    }

    #[test]
    fn hints_escape_non_ascii_as_latin_1() {
        assert_eq!(
            escape_hint(b"http://caf\xe9.example"),
            "http://caf\\u00E9.example"
        );
        assert_eq!(failed_parameter(b"caf\xe9"), "");
        assert_eq!(failed_parameter("café".as_bytes()), "café");
    }
}
