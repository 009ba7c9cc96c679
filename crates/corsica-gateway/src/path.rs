//! Request paths in normal form, so that the path a request is routed on
//! is the path the upstream is sent.
//!
//! Routes match path prefixes, and each route may have its own policy. A
//! request for `//api/v1/secret`, `/api/./v1/secret` or
//! `/api/%76%31/secret` does not start with `/api/v1` as written, but
//! most servers resolve it to `/api/v1/secret`: matched as written, it
//! would get the policy of another route than the one its resource sits
//! under. So before routing, the gateway puts the path in normal form and
//! sends that form upstream (as Envoy does with `normalize_path` and
//! `merge_slashes`):
//!
//! - percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2:
//!   `%76` is `v`, `%2E` is `.`); other percent-encodings are kept as
//!   they are, so `%2F` stays a character of a segment and never becomes
//!   a separator;
//! - runs of slashes are merged into one;
//! - `.` and `..` segments are removed (RFC 3986 §5.2.4), and `..` never
//!   climbs above the root.
//!
//! A `%` that is not followed by two hexadecimal digits makes the path
//! malformed (RFC 3986 §2.1), and the request is refused: servers read such
//! paths in different ways. The query is left untouched. Paths already in
//! normal form, nearly all of them, are recognised in one scan and not
//! copied.

/// A `%` not followed by two hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedPath;

/// The normal form of `path` (which starts with `/`), or `None` when it
/// already is in normal form.
pub(crate) fn normalize(path: &str) -> Result<Option<String>, MalformedPath> {
    if is_normal(path.as_bytes()) {
        return Ok(None);
    }
    let decoded = decode_unreserved(path)?;
    let mut segments: Vec<&str> = Vec::new();
    // Whether the path ends with a slash: after an empty, `.` or `..`
    // segment (`/a/`, `/a/.`, `/a/b/..` all end in a directory).
    let mut ends_in_slash = false;
    for segment in decoded.strip_prefix('/').unwrap_or(&decoded).split('/') {
        ends_in_slash = true;
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            name => {
                segments.push(name);
                ends_in_slash = false;
            }
        }
    }
    let mut normal = String::with_capacity(decoded.len());
    for segment in &segments {
        normal.push('/');
        normal.push_str(segment);
    }
    if ends_in_slash || segments.is_empty() {
        normal.push('/');
    }
    Ok((normal != path).then_some(normal))
}

/// Whether a path has no empty segment (but a last one), no `.` or `..`
/// segment and no percent-encoding. A path with a `%` is not judged here:
/// whether it decodes to something else takes the full pass. One scan, as
/// this runs on every request.
fn is_normal(path: &[u8]) -> bool {
    let mut after_slash = false;
    for (i, &b) in path.iter().enumerate() {
        match b {
            b'%' => return false,
            b'/' if after_slash => return false,
            b'.' if after_slash => {
                let rest = &path[i + 1..];
                if matches!(rest, [] | [b'/', ..] | [b'.'] | [b'.', b'/', ..]) {
                    return false;
                }
            }
            _ => {}
        }
        after_slash = b == b'/';
    }
    true
}

/// Decodes `%XX` where it stands for an unreserved character (letters,
/// digits, `-`, `.`, `_`, `~`); other triplets stay as written. The
/// decoded characters are never `%`, so decoding once is enough.
fn decode_unreserved(path: &str) -> Result<std::borrow::Cow<'_, str>, MalformedPath> {
    let bytes = path.as_bytes();
    if !bytes.contains(&b'%') {
        return Ok(path.into());
    }
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let triplet = rest.get(at..at + 3).ok_or(MalformedPath)?;
        let [_, high, low] = triplet.as_bytes() else {
            return Err(MalformedPath);
        };
        let c = hex(*high)
            .zip(hex(*low))
            .map(|(h, l)| h << 4 | l)
            .ok_or(MalformedPath)?;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(c));
        } else {
            out.push_str(triplet);
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out.into())
}

/// The value of one hexadecimal digit.
fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn normal(path: &str) -> String {
        normalize(path)
            .expect("well-formed")
            .unwrap_or_else(|| path.to_owned())
    }

    #[test]
    fn paths_in_normal_form_are_left_alone() {
        for path in [
            "/",
            "/api/v1/items",
            "/a/b/",
            "/a.b/..c/.d",
            "/%2F",
            "/a%2fb",
        ] {
            assert_eq!(normal(path), path, "{path}");
        }
        for path in ["/", "/api/v1/items", "/a/b/", "/a.b/..c/.d/...", "/%2F"] {
            assert_eq!(normalize(path), Ok(None), "{path} needs no copy");
        }
    }

    #[test]
    fn slashes_dots_and_encoded_unreserved_characters_are_resolved() {
        for (path, expected) in [
            ("//api/v1/secret", "/api/v1/secret"),
            ("///api//v1///secret", "/api/v1/secret"),
            ("/api/./v1/secret", "/api/v1/secret"),
            ("/api/x/../v1/secret", "/api/v1/secret"),
            ("/../../api/v1", "/api/v1"),
            ("/api/v1/.", "/api/v1/"),
            ("/api/v1/x/..", "/api/v1/"),
            ("/api/..", "/"),
            ("/..", "/"),
            ("//", "/"),
            ("/api/%76%31/secret", "/api/v1/secret"),
            ("/api/%2e%2E/v1", "/v1"),
            ("/api/%2E/v1", "/api/v1"),
            ("/api%2Fv1/x", "/api%2Fv1/x"),
            ("/%7euser/%7E", "/~user/~"),
            ("/caf%C3%A9/./x", "/caf%C3%A9/x"),
        ] {
            assert_eq!(normal(path), expected, "{path}");
        }
    }

    #[test]
    fn a_percent_without_two_hex_digits_is_malformed() {
        for path in ["/a/%zz", "/a/%4", "/%", "/%%34%31", "/a%g0/b"] {
            assert_eq!(normalize(path), Err(MalformedPath), "{path}");
        }
    }

    proptest! {
        /// The normal form is normal: no empty, `.` or `..` segment, no
        /// encoded unreserved character, and normalizing again changes nothing.
        #[test]
        fn the_normal_form_is_a_fixed_point(path in "/[a-z./%2eE5fF]{0,24}") {
            if let Ok(result) = normalize(&path) {
                let once = result.unwrap_or_else(|| path.clone());
                prop_assert!(once.starts_with('/'));
                prop_assert_eq!(normalize(&once), Ok(None), "{} -> {}", path, once);
                prop_assert!(!once.contains("//"), "{} -> {}", path, once);
                for segment in once.split('/') {
                    prop_assert!(segment != "." && segment != "..", "{} -> {}", path, once);
                }
            }
        }
    }
}
