//! Which request headers a script may send without a preflight: the Fetch
//! standard's CORS-safelisted request-headers, and Chromium's additions.

use super::profile::Profile;

/// The most bytes a safelisted header value may have.
pub const MAX_VALUE_LEN: usize = 128;
/// The most bytes all safelisted values together may have.
pub const MAX_TOTAL_LEN: usize = 1024;

/// A CORS-unsafe request-header byte (Fetch): controls other than tab,
/// `"():<>?@[\]{}` and DEL.
pub fn is_unsafe_byte(b: u8) -> bool {
    (b < 0x20 && b != 0x09)
        || matches!(
            b,
            b'"' | b'('
                | b')'
                | b':'
                | b'<'
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b'\\'
                | b']'
                | b'{'
                | b'}'
                | 0x7f
        )
}

/// Why a header needs a preflight, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsafe {
    /// The name is not on the safelist.
    Name,
    /// The value is longer than 128 bytes.
    TooLong,
    /// The value breaks the rule for this name.
    Value(&'static str),
}

/// Checks one (combined) header value against the safelist.
pub fn check(name: &str, value: &[u8], profile: Profile) -> Result<(), Unsafe> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Unsafe::TooLong);
    }
    let lower = name.to_ascii_lowercase();
    if profile.non_ascii_is_unsafe()
        && matches!(lower.as_str(), "accept" | "content-type")
        && !value.is_ascii()
    {
        return Err(Unsafe::Value(
            "contains a byte outside ASCII (Firefox counts it as CORS-unsafe)",
        ));
    }
    match lower.as_str() {
        "accept" => rule(
            !value.iter().any(|&b| is_unsafe_byte(b)),
            "contains a CORS-unsafe byte",
        ),
        "accept-language" | "content-language" => rule(
            value.iter().all(|&b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b' ' | b'*' | b',' | b'-' | b'.' | b';' | b'=')
            }),
            "may only contain 0-9 A-Z a-z space * , - . ; =",
        ),
        "content-type" => rule(
            is_safelisted_content_type(value),
            "is not application/x-www-form-urlencoded, multipart/form-data or text/plain",
        ),
        "range" => rule(
            is_simple_range(&range_unit_folded(value, profile)),
            "is not a single range of the form bytes=N- or bytes=N-M",
        ),
        _ if profile == Profile::Chromium => chromium_extra(&lower, value),
        _ => Err(Unsafe::Name),
    }
}

/// WebKit matches the `bytes` unit case-insensitively (`Bytes=0-1` needs
/// no preflight there); Fetch, Chromium and Firefox do not.
fn range_unit_folded(value: &[u8], profile: Profile) -> Vec<u8> {
    let mut out = value.to_vec();
    if profile == Profile::WebKit && out.len() >= 5 && out[..5].eq_ignore_ascii_case(b"bytes") {
        out[..5].copy_from_slice(b"bytes");
    }
    out
}

fn rule(ok: bool, why: &'static str) -> Result<(), Unsafe> {
    if ok {
        Ok(())
    } else {
        Err(Unsafe::Value(why))
    }
}

/// Chromium also safelists `intervention` and some client hints
/// (services/network/public/cpp/cors/cors.cc).
fn chromium_extra(lower: &str, value: &[u8]) -> Result<(), Unsafe> {
    match lower {
        "intervention" => Ok(()),
        "device-memory" | "dpr" | "downlink" => {
            rule(is_decimal(value), "is not a number such as 2 or 0.5")
        }
        "width" | "viewport-width" | "rtt" => rule(
            !value.is_empty() && value.iter().all(u8::is_ascii_digit),
            "is not a whole number",
        ),
        "ect" => rule(
            matches!(value, b"slow-2g" | b"2g" | b"3g" | b"4g"),
            "is not slow-2g, 2g, 3g or 4g",
        ),
        "save-data" => rule(value.eq_ignore_ascii_case(b"on"), "is not \"on\""),
        _ => Err(Unsafe::Name),
    }
}

/// `1*DIGIT [ "." 1*DIGIT ]`.
fn is_decimal(value: &[u8]) -> bool {
    let mut parts = value.splitn(2, |&b| b == b'.');
    let int = parts.next().unwrap_or_default();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    digits(int) && parts.next().is_none_or(digits)
}

/// The content-type rule: no unsafe byte, and a MIME type whose essence is
/// one of the three form types (parameters allowed, case-insensitive).
pub fn is_safelisted_content_type(value: &[u8]) -> bool {
    if value.iter().any(|&b| is_unsafe_byte(b)) {
        return false;
    }
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\t'])
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
    )
}

/// A simple range: `bytes=` (case-sensitive), digits, `-`, optional digits,
/// start present, start <= end, no whitespace (Fetch "simple range header value").
pub fn is_simple_range(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(b"bytes=") else {
        return false;
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return false;
    };
    let (start, end) = (&rest[..dash], &rest[dash + 1..]);
    let number = |s: &[u8]| -> Option<u64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let Some(start) = number(start) else {
        return false;
    };
    if end.is_empty() {
        return true;
    }
    matches!(number(end), Some(end) if start <= end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str, value: &str) -> bool {
        check(name, value.as_bytes(), Profile::Chromium).is_ok()
    }

    #[test]
    fn spec_safelist() {
        assert!(ok("Accept", "application/json, text/*;q=0.9"));
        assert!(!ok("accept", "\"quoted\""));
        assert!(ok("accept-language", "en-US,en;q=0.9"));
        assert!(!ok("content-language", "en@x"));
        assert!(ok("content-type", "Text/Plain; charset=utf-8"));
        assert!(ok("content-type", "multipart/form-data; boundary=x"));
        assert!(!ok("content-type", "application/json"));
        assert!(!ok("content-type", "text/plain; charset=\"utf-8\""));
        assert!(!ok("x-custom", "1"));
        assert!(!ok("accept", &"a".repeat(129)));
        assert!(ok("accept", &"a".repeat(128)));
    }

    #[test]
    fn ranges() {
        assert!(is_simple_range(b"bytes=0-"));
        assert!(is_simple_range(b"bytes=0-1"));
        assert!(!is_simple_range(b"bytes=-500"));
        assert!(!is_simple_range(b"bytes=5-3"));
        assert!(!is_simple_range(b"Bytes=0-1"));
        assert!(!is_simple_range(b"bytes=0-1,2-3"));
        assert!(!is_simple_range(b"bytes= 0-1"));
    }

    #[test]
    fn chromium_extras() {
        assert!(ok("DPR", "2"));
        assert!(ok("dpr", "1.5"));
        assert!(!ok("dpr", "1."));
        assert!(ok("save-data", "On"));
        assert!(ok("intervention", "anything"));
        assert!(ok("ect", "4g"));
        assert!(!ok("ect", "5g"));
        assert!(check("dpr", b"2", Profile::Firefox).is_err());
    }
}
