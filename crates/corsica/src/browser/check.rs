//! The CORS check (Fetch §4.9), in Chromium's order and with its error
//! classification (`network::cors::CheckAccess`).

use super::case::Credentials;
use super::error::CorsError;
use super::headers::ResponseHeaders;

/// A failed check: the error and the failed parameter (header bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed.
    pub error: CorsError,
    /// The offending value, as sent.
    pub hint: Vec<u8>,
}

impl Failure {
    /// A failure without a parameter.
    pub fn bare(error: CorsError) -> Self {
        Failure {
            error,
            hint: Vec::new(),
        }
    }

    /// A failure naming the offending value.
    pub fn with(error: CorsError, hint: impl Into<Vec<u8>>) -> Self {
        Failure {
            error,
            hint: hint.into(),
        }
    }
}

/// Checks a response's `Access-Control-Allow-Origin` and
/// `-Allow-Credentials` against the request's serialized origin (`null` when
/// tainted by a redirect) and credentials mode.
pub fn cors_check(
    headers: &ResponseHeaders,
    origin: &str,
    credentials: Credentials,
) -> Result<(), Failure> {
    let allow_origin = headers.get("access-control-allow-origin");
    let include = credentials == Credentials::Include;
    match allow_origin.as_deref() {
        Some(b"*") => {
            if include {
                return Err(Failure::bare(CorsError::WildcardOriginNotAllowed));
            }
            return Ok(());
        }
        None => return Err(Failure::bare(CorsError::MissingAllowOriginHeader)),
        Some(value) if value != origin.as_bytes() => {
            let error = if value.iter().any(|&b| b == b' ' || b == b',') {
                CorsError::MultipleAllowOriginValues
            } else if value == b"null" {
                CorsError::AllowOriginMismatch
            } else if !is_valid_url(value) {
                CorsError::InvalidAllowOriginValue
            } else {
                CorsError::AllowOriginMismatch
            };
            return Err(Failure::with(error, value));
        }
        Some(_) => {}
    }
    if include {
        let allow_credentials = headers.get("access-control-allow-credentials");
        if allow_credentials.as_deref() != Some(b"true") {
            return Err(Failure::with(
                CorsError::InvalidAllowCredentials,
                allow_credentials.unwrap_or_default(),
            ));
        }
    }
    Ok(())
}

/// Whether Chromium's `GURL` would accept the value as a URL. Header bytes
/// that are not UTF-8 never are; otherwise the WHATWG parser is a close
/// stand-in.
fn is_valid_url(value: &[u8]) -> bool {
    std::str::from_utf8(value).is_ok_and(|text| url::Url::parse(text).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(&str, &str)], credentials: Credentials) -> Result<(), Failure> {
        let list: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        cors_check(
            &ResponseHeaders::from_text(&list),
            "https://a.example",
            credentials,
        )
    }

    fn error(pairs: &[(&str, &str)], credentials: Credentials) -> CorsError {
        check(pairs, credentials).unwrap_err().error
    }

    #[test]
    fn exact_match_and_wildcard() {
        assert!(check(
            &[("access-control-allow-origin", "https://a.example")],
            Credentials::SameOrigin
        )
        .is_ok());
        assert!(check(&[("access-control-allow-origin", " * ")], Credentials::Omit).is_ok());
        assert_eq!(
            error(
                &[("access-control-allow-origin", "*")],
                Credentials::Include
            ),
            CorsError::WildcardOriginNotAllowed
        );
    }

    #[test]
    fn classification_follows_chromium() {
        use CorsError::*;
        let same = Credentials::SameOrigin;
        assert_eq!(error(&[], same), MissingAllowOriginHeader);
        assert_eq!(
            error(
                &[
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-origin", "*")
                ],
                same
            ),
            MultipleAllowOriginValues
        );
        assert_eq!(
            error(
                &[(
                    "access-control-allow-origin",
                    "https://a.example, https://b.example"
                )],
                same
            ),
            MultipleAllowOriginValues
        );
        assert_eq!(
            error(&[("access-control-allow-origin", "null")], same),
            AllowOriginMismatch
        );
        assert_eq!(
            error(&[("access-control-allow-origin", "foo")], same),
            InvalidAllowOriginValue
        );
        assert_eq!(
            error(
                &[("access-control-allow-origin", "https://a.example/")],
                same
            ),
            AllowOriginMismatch
        );
        assert_eq!(
            error(
                &[("access-control-allow-origin", "HTTPS://a.example")],
                same
            ),
            AllowOriginMismatch
        );
    }

    #[test]
    fn credentials_need_exactly_true() {
        let ok = [
            ("access-control-allow-origin", "https://a.example"),
            ("access-control-allow-credentials", "true"),
        ];
        assert!(check(&ok, Credentials::Include).is_ok());
        let f = check(
            &[
                ("access-control-allow-origin", "https://a.example"),
                ("access-control-allow-credentials", "True"),
            ],
            Credentials::Include,
        )
        .unwrap_err();
        assert_eq!(
            (f.error, f.hint),
            (CorsError::InvalidAllowCredentials, b"True".to_vec())
        );
        let f = check(
            &[("access-control-allow-origin", "https://a.example")],
            Credentials::Include,
        )
        .unwrap_err();
        assert_eq!(f.hint, b"");
        assert!(check(
            &[("access-control-allow-origin", "https://a.example")],
            Credentials::Omit
        )
        .is_ok());
    }
}
