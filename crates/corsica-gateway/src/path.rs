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
//! - the hexadecimal digits of the percent-encodings kept are upper case
//!   (RFC 3986 §6.2.2.1: `%c3%a9` is `%C3%A9`).
//!
//! Some paths are refused outright (400), because servers disagree about
//! what they mean and no normal form would match them all:
//!
//! - a `%` not followed by two hexadecimal digits (RFC 3986 §2.1);
//! - a backslash, raw or `%5C`, which IIS and others read as `/` (and
//!   browsers never send: they turn it into `/` themselves);
//! - a `.` or `..` segment with `;` parameters (`/public/..;/admin` is
//!   `/admin` to Tomcat, Jetty and Spring);
//! - a `.` or `..` next to an encoded slash (`/api/..%2Fadmin` is `/admin`
//!   to servers that decode `%2F` before resolving dots, nginx among them).
//!
//! The query is left untouched. Paths already in normal form, nearly all
//! of them, are recognised in one scan and not copied.

/// Why a path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// A `%` not followed by two hexadecimal digits.
    Malformed,
    /// A path servers read in different ways; the reason, for the client.
    Ambiguous(&'static str),
}

impl PathError {
    /// The reason, for the client and the log.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            PathError::Malformed => {
                "the request path has a % that is not followed by two hexadecimal digits"
            }
            PathError::Ambiguous(why) => why,
        }
    }
}

/// The normal form of `path` (which starts with `/`), or `None` when it
/// already is in normal form.
pub(crate) fn normalize(path: &str) -> Result<Option<String>, PathError> {
    if is_normal(path.as_bytes()) {
        return Ok(None);
    }
    if path.contains('\\') {
        return Err(PathError::Ambiguous(
            "the request path has a backslash, which some servers read as a slash",
        ));
    }
    let decoded = decode_unreserved(path)?;
    refuse_ambiguous_dots(&decoded)?;
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
/// segment (with or without `;` parameters), no backslash and no
/// percent-encoding. A path with a `%` is not judged here:
/// whether it decodes to something else takes the full pass. One scan, as
/// this runs on every request.
fn is_normal(path: &[u8]) -> bool {
    let mut after_slash = false;
    for (i, &b) in path.iter().enumerate() {
        match b {
            b'%' | b'\\' => return false,
            b'/' if after_slash => return false,
            b'.' if after_slash => {
                let rest = &path[i + 1..];
                if matches!(
                    rest,
                    [] | [b'/' | b';', ..] | [b'.'] | [b'.', b'/' | b';', ..]
                ) {
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
/// digits, `-`, `.`, `_`, `~`); other triplets stay, with upper-case
/// digits. The decoded characters are never `%`, so decoding once is
/// enough. `%5C` (a backslash) is refused.
fn decode_unreserved(path: &str) -> Result<std::borrow::Cow<'_, str>, PathError> {
    let bytes = path.as_bytes();
    if !bytes.contains(&b'%') {
        return Ok(path.into());
    }
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let triplet = rest.get(at..at + 3).ok_or(PathError::Malformed)?;
        let [_, high, low] = triplet.as_bytes() else {
            return Err(PathError::Malformed);
        };
        let c = hex(*high)
            .zip(hex(*low))
            .map(|(h, l)| h << 4 | l)
            .ok_or(PathError::Malformed)?;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(c));
        } else if c == b'\\' {
            return Err(PathError::Ambiguous(
                "the request path has an encoded backslash (%5C), which some servers read as a slash",
            ));
        } else {
            out.push('%');
            out.push(char::from(high.to_ascii_uppercase()));
            out.push(char::from(low.to_ascii_uppercase()));
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out.into())
}

/// Refuses the dot segments servers resolve differently: with `;`
/// parameters, or beside an encoded slash (`%2F`, upper case by now).
fn refuse_ambiguous_dots(decoded: &str) -> Result<(), PathError> {
    for segment in decoded.split('/') {
        let bare = segment.split(';').next().unwrap_or(segment);
        if bare != segment && matches!(bare, "." | "..") {
            return Err(PathError::Ambiguous(
                "the request path has a . or .. segment with ; parameters, which Java servers resolve",
            ));
        }
        if segment.contains("%2F") && segment.split("%2F").any(|part| matches!(part, "." | "..")) {
            return Err(PathError::Ambiguous(
                "the request path has a . or .. beside an encoded slash (%2F), which some servers resolve",
            ));
        }
    }
    Ok(())
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
            "/a%2Fb",
            "/a;b/c",
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
            ("/caf%c3%a9/x", "/caf%C3%A9/x"),
            ("/a%2fb", "/a%2Fb"),
        ] {
            assert_eq!(normal(path), expected, "{path}");
        }
    }

    #[test]
    fn paths_servers_read_differently_are_refused() {
        for path in [
            "/a\\b",
            "/a%5Cb",
            "/a%5cb",
            "/public/..;/admin",
            "/public/.;x/admin",
            "/api/..%2Fadmin",
            "/api/..%2fadmin",
            "/api/x%2F..%2F",
            "/api/%2E%2E%2Fadmin",
        ] {
            assert!(
                matches!(normalize(path), Err(PathError::Ambiguous(_))),
                "{path}: {:?}",
                normalize(path)
            );
        }
        // Parameters on other segments, and dots inside names, are fine.
        for path in ["/a;jsessionid=1/b", "/a/..b;c", "/a/b%2Fc.d"] {
            assert!(normalize(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn a_percent_without_two_hex_digits_is_malformed() {
        for path in ["/a/%zz", "/a/%4", "/%", "/%%34%31", "/a%g0/b"] {
            assert_eq!(normalize(path), Err(PathError::Malformed), "{path}");
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
