//! A strict, bounded, linear check of `Access-Control-Request-Headers`.
//!
//! Browsers send this header as lower-case names, sorted, joined by commas
//! without spaces, each name once. Other clients and intermediaries may add
//! whitespace or empty elements, so a little of that is tolerated, but the
//! work is bounded by the header's length: a value longer than
//! [`MAX_ACRH_LEN`] is refused before it is read, and nothing is allocated.
//! (rs/cors CVE-2025-47908 and go-chi/cors#36 spent megabytes on a header of
//! commas.)

use crate::token::{is_ows, is_tchar};

/// The longest `Access-Control-Request-Headers` value corsica reads. Fifty
/// custom header names of 40 bytes each fit in 2 KiB.
pub const MAX_ACRH_LEN: usize = 4096;

/// How many empty list elements are tolerated (`a,,b`, `a, ,b`). Browsers
/// send none.
pub const MAX_EMPTY_ELEMENTS: usize = 16;

/// Why a request-headers value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcrhError<'a> {
    /// Longer than the 4096 bytes corsica reads (`MAX_ACRH_LEN`).
    TooLong,
    /// More than 16 empty elements (`MAX_EMPTY_ELEMENTS`).
    TooManyEmptyElements,
    /// An element that is not a header name.
    NotAToken,
    /// A header name the policy does not allow.
    NotAllowed(&'a str),
}

/// Checks every name in `value` with `allowed`, which receives each name's
/// bytes as sent (callers compare case-insensitively). Returns the number
/// of names.
pub fn check<'a>(
    value: &'a [u8],
    mut allowed: impl FnMut(&[u8]) -> bool,
) -> Result<usize, AcrhError<'a>> {
    if value.len() > MAX_ACRH_LEN {
        return Err(AcrhError::TooLong);
    }
    let mut names = 0;
    let mut empty = 0;
    let mut i = 0;
    let n = value.len();
    loop {
        // One list element: OWS token OWS, up to the next comma or the end.
        while i < n && is_ows(value[i]) {
            i += 1;
        }
        let start = i;
        while i < n && is_tchar(value[i]) {
            i += 1;
        }
        let end = i;
        while i < n && is_ows(value[i]) {
            i += 1;
        }
        if i < n && value[i] != b',' {
            return Err(AcrhError::NotAToken);
        }
        if start == end {
            empty += 1;
            if empty > MAX_EMPTY_ELEMENTS {
                return Err(AcrhError::TooManyEmptyElements);
            }
        } else {
            let name = &value[start..end];
            if !allowed(name) {
                // Token bytes are ASCII, so this cannot fail.
                let name = std::str::from_utf8(name).map_err(|_| AcrhError::NotAToken)?;
                return Err(AcrhError::NotAllowed(name));
            }
            names += 1;
        }
        if i >= n {
            return Ok(names);
        }
        i += 1; // the comma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(list: &'static [&'static str]) -> impl FnMut(&[u8]) -> bool {
        move |name| list.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(name))
    }

    #[test]
    fn accepts_what_browsers_send() {
        assert_eq!(
            check(
                b"content-type,x-requested-with",
                allow(&["x-requested-with", "content-type"])
            ),
            Ok(2)
        );
        assert_eq!(check(b"", allow(&[])), Ok(0));
    }

    #[test]
    fn tolerates_a_little_whitespace_and_empty_elements() {
        assert_eq!(
            check(
                b" content-type , X-Requested-With,,",
                allow(&["x-requested-with", "content-type"])
            ),
            Ok(2)
        );
    }

    #[test]
    fn refuses_names_not_allowed_and_non_tokens() {
        assert_eq!(
            check(b"content-type,x-evil", allow(&["content-type"])),
            Err(AcrhError::NotAllowed("x-evil"))
        );
        assert_eq!(
            check(b"content type", allow(&["content-type"])),
            Err(AcrhError::NotAToken)
        );
        assert_eq!(check(b"x\xff", allow(&["x"])), Err(AcrhError::NotAToken));
    }

    #[test]
    fn hostile_values_are_refused_early() {
        let commas = vec![b','; 100_000];
        assert_eq!(check(&commas, allow(&[])), Err(AcrhError::TooLong));
        let some_commas = vec![b','; 1000];
        assert_eq!(
            check(&some_commas, allow(&[])),
            Err(AcrhError::TooManyEmptyElements)
        );
        let spaces = vec![b' '; 4000];
        assert_eq!(check(&spaces, allow(&[])), Ok(0));
    }
}
