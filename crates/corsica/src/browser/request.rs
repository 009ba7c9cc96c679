//! What `fetch()` does with a script's method and headers before anything
//! reaches the network: validation (a `TypeError` stops the fetch),
//! normalization, dropping forbidden headers, and Chromium's combining of
//! repeated names.

use super::profile::Profile;
use super::rejection::Thrown;
use super::safelist::{self, Unsafe, MAX_TOTAL_LEN};
use crate::header_names::{
    is_chromium_forbidden_request_header, is_forbidden_request_header, METHOD_OVERRIDE,
};
use crate::method;
use crate::token::is_token;

/// The request after the script's input is validated and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The normalized method.
    pub method: String,
    /// Author headers that will be sent, one entry per name (repeats
    /// combined with `", "`), in order of first appearance, as bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Headers the browser silently dropped (forbidden names).
    pub dropped: Vec<String>,
}

/// A `TypeError` thrown by `fetch()`: Chromium's message, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError(pub String, pub Thrown);

impl From<Thrown> for ScriptError {
    fn from(why: Thrown) -> Self {
        ScriptError(why.message(Profile::Chromium), why)
    }
}

/// Validates and normalizes the script's method and headers.
pub fn prepare(
    method_as_written: &str,
    headers: &[(String, String)],
    profile: Profile,
) -> Result<Prepared, ScriptError> {
    // WebIDL converts the whole `RequestInit` dictionary first, so a name
    // or value that is not a ByteString fails before the method is looked
    // at (observed in Chromium 156: `TRACE` with a value holding U+263A
    // reports the ByteString error).
    let mut bytes = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let (Some(_), Some(value)) = (to_byte_string(name), to_byte_string(value)) else {
            let (index, unit) = [name, value]
                .iter()
                .find_map(|s| s.encode_utf16().enumerate().find(|&(_, u)| u > 0xff))
                .unwrap_or_default();
            return Err(Thrown::NotByteString { index, unit }.into());
        };
        bytes.push((name, value));
    }
    if !is_token(method_as_written.as_bytes()) {
        return Err(Thrown::InvalidMethod(method_as_written.to_owned()).into());
    }
    if method::is_forbidden(method_as_written) {
        return Err(Thrown::ForbiddenMethod(method_as_written.to_owned()).into());
    }
    let method = method::normalize(method_as_written).into_owned();
    let mut combined: Vec<(String, Vec<u8>)> = Vec::new();
    let mut dropped = Vec::new();
    for (name, value) in bytes {
        if !is_token(name.as_bytes()) {
            return Err(Thrown::InvalidName(name.clone()).into());
        }
        let value = normalize_value(&value);
        if value.iter().any(|&b| b == 0 || b == b'\n' || b == b'\r') {
            return Err(Thrown::InvalidValue(name.clone(), value).into());
        }
        if is_forbidden(name, &value, profile) {
            dropped.push(name.to_ascii_lowercase());
            continue;
        }
        let repeated = combined
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .filter(|_| profile.combines_repeated_headers());
        match repeated {
            Some((_, existing)) => {
                existing.extend_from_slice(b", ");
                existing.extend_from_slice(&value);
            }
            None => combined.push((name.clone(), value)),
        }
    }
    // Chromium trims the combined value again: `a` and an empty value make
    // `a,` rather than `a, ` (observed in Chromium 156: 127 bytes plus an
    // empty value stays within the 128-byte limit). WebKit keeps `a, `.
    if profile == Profile::Chromium {
        for (_, value) in &mut combined {
            *value = normalize_value(value);
        }
    }
    Ok(Prepared {
        method,
        headers: combined,
        dropped,
    })
}

/// A JavaScript string as a `ByteString`: every character must be at most
/// U+00FF and becomes one byte.
fn to_byte_string(value: &str) -> Option<Vec<u8>> {
    value
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// Strips leading and trailing HTTP whitespace (tab, LF, CR, space).
fn normalize_value(value: &[u8]) -> Vec<u8> {
    let ws = |b: &u8| matches!(b, b'\t' | b'\n' | b'\r' | b' ');
    let start = value.iter().position(|b| !ws(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    value[start..end].to_vec()
}

fn is_forbidden(name: &str, value: &[u8], profile: Profile) -> bool {
    let forbidden_name = if profile.forbids_user_agent() {
        is_chromium_forbidden_request_header(name)
    } else {
        is_forbidden_request_header(name)
    };
    forbidden_name
        || (METHOD_OVERRIDE.iter().any(|m| m.eq_ignore_ascii_case(name))
            && value.split(|&b| b == b',').any(|m| {
                method::is_forbidden(std::str::from_utf8(crate::token::trim_ows(m)).unwrap_or(""))
            }))
}

/// A header that makes the request need a preflight, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeHeader {
    /// The name, lower case.
    pub name: String,
    /// Why it is not safelisted.
    pub reason: Unsafe,
}

/// The CORS-unsafe request-header names, in Chromium's order: non-safelisted
/// headers in request order, then, when the safelisted values together
/// exceed 1,024 bytes, the safelisted ones too.
pub fn unsafe_headers(headers: &[(String, Vec<u8>)], profile: Profile) -> Vec<UnsafeHeader> {
    let mut unsafe_names = Vec::new();
    let mut safelisted = Vec::new();
    let mut total = 0;
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        match safelist::check(name, value, profile) {
            Ok(()) => {
                total += value.len();
                safelisted.push(lower);
            }
            Err(reason) => unsafe_names.push(UnsafeHeader {
                name: lower,
                reason,
            }),
        }
    }
    if total > MAX_TOTAL_LEN {
        unsafe_names.extend(safelisted.into_iter().map(|name| UnsafeHeader {
            name,
            reason: Unsafe::Value("pushes the safelisted headers past 1,024 bytes in total"),
        }));
    }
    if !profile.combines_repeated_headers() {
        // Firefox keeps Fetch's sorted list of names, and checks the
        // preflight response in that order.
        unsafe_names.sort_by(|a, b| a.name.cmp(&b.name));
    }
    unsafe_names
}

/// The `Access-Control-Request-Headers` value: the unsafe names, lower
/// case, sorted, de-duplicated, joined by `,` without spaces.
/// Firefox, which keeps a header set twice as two entries, names each.
pub fn request_headers_value(unsafe_names: &[UnsafeHeader], profile: Profile) -> Option<String> {
    let mut names: Vec<&str> = unsafe_names.iter().map(|u| u.name.as_str()).collect();
    names.sort_unstable();
    if profile.combines_repeated_headers() {
        names.dedup();
    }
    (!names.is_empty()).then(|| names.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn methods_are_validated_and_normalized() {
        assert_eq!(
            prepare("delete", &[], Profile::Chromium).unwrap().method,
            "DELETE"
        );
        assert_eq!(
            prepare("patch", &[], Profile::Chromium).unwrap().method,
            "patch"
        );
        assert_eq!(
            prepare("TRACE", &[], Profile::Chromium).unwrap_err().0,
            "Failed to execute 'fetch' on 'Window': 'TRACE' HTTP method is unsupported."
        );
        assert!(prepare("P UT", &[], Profile::Chromium)
            .unwrap_err()
            .0
            .contains("is not a valid HTTP method"));
    }

    #[test]
    fn forbidden_headers_are_dropped_and_repeats_combined() {
        let p = prepare(
            "GET",
            &h(&[
                ("Cookie", "a=1"),
                ("User-Agent", "x"),
                ("accept", "a"),
                ("Accept", "b"),
                ("x-http-method-override", "TRACE"),
            ]),
            Profile::Chromium,
        )
        .unwrap();
        assert_eq!(p.headers, vec![("accept".to_string(), b"a, b".to_vec())]);
        assert_eq!(
            p.dropped,
            ["cookie", "user-agent", "x-http-method-override"]
        );
        let ff = prepare("GET", &h(&[("User-Agent", "x")]), Profile::Firefox).unwrap();
        assert_eq!(ff.headers.len(), 1);
    }

    #[test]
    fn values_are_trimmed_and_checked() {
        let p = prepare("GET", &h(&[("x-a", "  1 \t")]), Profile::Chromium).unwrap();
        assert_eq!(p.headers[0].1, b"1");
        assert_eq!(
            prepare("GET", &h(&[("x-a", "a\nb")]), Profile::Chromium)
                .unwrap_err()
                .0,
            "Failed to execute 'fetch' on 'Window': Invalid value"
        );
        assert!(prepare("GET", &h(&[("x-a", "\u{263a}")]), Profile::Chromium).is_err());
        // The ByteString conversion comes before the method check.
        assert!(
            prepare("TRACE", &h(&[("x-a", "\u{263a}")]), Profile::Chromium)
                .unwrap_err()
                .0
                .contains("non ISO-8859-1")
        );
        assert_eq!(
            prepare("GET", &h(&[("x-a", "caf\u{e9}")]), Profile::Chromium)
                .unwrap()
                .headers[0]
                .1,
            b"caf\xe9"
        );
    }

    #[test]
    fn unsafe_names_and_the_request_header_value() {
        let p = prepare(
            "GET",
            &h(&[("X-B", "1"), ("content-type", "text/plain"), ("x-a", "1")]),
            Profile::Chromium,
        )
        .unwrap();
        let unsafe_names = unsafe_headers(&p.headers, Profile::Chromium);
        assert_eq!(
            unsafe_names
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>(),
            ["x-b", "x-a"]
        );
        assert_eq!(
            request_headers_value(&unsafe_names, Profile::Chromium).unwrap(),
            "x-a,x-b"
        );
        let big = "a".repeat(120);
        let many: Vec<(String, String)> =
            (0..9).map(|_| ("accept".to_owned(), big.clone())).collect();
        let p = prepare("GET", &many, Profile::Chromium).unwrap();
        // Nine values of one name combine into one value over 128 bytes.
        assert_eq!(
            unsafe_headers(&p.headers, Profile::Chromium)[0].reason,
            Unsafe::TooLong
        );
    }

    #[test]
    fn the_1024_byte_budget_counts_only_safelisted_values() {
        let v = "a".repeat(128);
        let p = prepare(
            "GET",
            &h(&[
                ("accept", &v),
                ("accept-language", &v),
                ("content-language", &v),
                ("x-a", &"b".repeat(1000)),
            ]),
            Profile::Chromium,
        )
        .unwrap();
        assert_eq!(unsafe_headers(&p.headers, Profile::Chromium).len(), 1);
        let long: Vec<(String, String)> = (0..9)
            .map(|i| {
                (
                    ["accept", "accept-language", "content-language"][i % 3].to_string(),
                    "a".repeat(40),
                )
            })
            .collect();
        let p = prepare("GET", &long, Profile::Chromium).unwrap();
        assert!(unsafe_headers(&p.headers, Profile::Chromium).is_empty());
    }
}
