//! RFC 9110 tokens and the comma-separated lists built from them.
//!
//! Method names and header field names are both `token`s; the CORS response
//! headers that list them (`Access-Control-Allow-Methods`, `-Allow-Headers`,
//! `-Expose-Headers`) are `#token` lists. Every parser in corsica that reads
//! such a list goes through here so the grammar lives in one place.

/// A lookup table for `tchar` (RFC 9110 §5.6.2), indexed by byte.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// Whether `b` may appear in an RFC 9110 token.
#[inline]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// Whether `s` is a non-empty RFC 9110 token.
#[inline]
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Whether `b` is optional whitespace (SP or HTAB).
#[inline]
pub fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims leading and trailing optional whitespace.
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// The outcome of splitting a `#token` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    /// An element is not a token; carries the offending element.
    NotAToken(Vec<u8>),
}

/// Splits a `#token` list the way Chromium does: on commas, trimming
/// optional whitespace and skipping empty elements. Every remaining element
/// must be a token, or the whole list fails.
pub fn split_token_list(value: &[u8]) -> Result<Vec<&[u8]>, ListError> {
    let mut out = Vec::new();
    for raw in value.split(|&b| b == b',') {
        let item = trim_ows(raw);
        if item.is_empty() {
            continue;
        }
        if !is_token(item) {
            return Err(ListError::NotAToken(item.to_vec()));
        }
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_rfc_9110() {
        assert!(is_token(b"X-Custom_Header"));
        assert!(is_token(b"*"));
        assert!(is_token(b"patch"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert!(!is_token(b"caf\xc3\xa9"));
        assert!(!is_token(b"x(y)"));
    }

    #[test]
    fn trims_only_ows() {
        assert_eq!(trim_ows(b" \tabc\t "), b"abc");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b"\nabc"), b"\nabc");
    }

    #[test]
    fn lists_skip_empty_elements_and_reject_non_tokens() {
        assert_eq!(
            split_token_list(b"GET, ,PUT,,").unwrap(),
            vec![&b"GET"[..], &b"PUT"[..]]
        );
        assert_eq!(split_token_list(b"").unwrap(), Vec::<&[u8]>::new());
        assert_eq!(
            split_token_list(b"GET, P UT"),
            Err(ListError::NotAToken(b"P UT".to_vec()))
        );
    }
}
