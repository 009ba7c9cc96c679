//! Which response headers a script can read (the CORS filtered response).

use std::collections::{BTreeMap, BTreeSet};

use super::case::Credentials;
use super::headers::{latin1, ResponseHeaders};
use crate::header_names::{is_forbidden_response_header, is_safelisted_response_header};
use crate::token::split_token_list;

/// The names `Access-Control-Expose-Headers` exposes, lower case. Blink
/// reads the list leniently but drops it whole if any element is not a
/// token. `None` means "every header" (`*` without credentials).
pub fn exposed_names(
    headers: &ResponseHeaders,
    credentials: Credentials,
) -> Option<BTreeSet<String>> {
    let Some(value) = headers.get("access-control-expose-headers") else {
        return Some(BTreeSet::new());
    };
    let Ok(items) = split_token_list(&value) else {
        return Some(BTreeSet::new());
    };
    let names: BTreeSet<String> = items
        .iter()
        .map(|t| String::from_utf8_lossy(t).to_ascii_lowercase())
        .collect();
    if credentials != Credentials::Include && names.contains("*") {
        return None;
    }
    Some(names)
}

/// What `response.headers.get(name)` returns for each name the script
/// reads: the joined value, or `None` when the header is absent or hidden.
/// `cors` is false for same-origin responses, which hide only `Set-Cookie`.
pub fn readable_headers(
    read: &[String],
    headers: &ResponseHeaders,
    credentials: Credentials,
    cors: bool,
) -> BTreeMap<String, Option<String>> {
    let exposed = if cors {
        exposed_names(headers, credentials)
    } else {
        None
    };
    read.iter()
        .map(|name| {
            let lower = name.to_ascii_lowercase();
            let visible = !is_forbidden_response_header(&lower)
                && (is_safelisted_response_header(&lower)
                    || exposed.as_ref().is_none_or(|set| set.contains(&lower)));
            let value = if visible {
                headers.get(&lower).map(|v| latin1(&v))
            } else {
                None
            };
            (name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> ResponseHeaders {
        let list: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        ResponseHeaders::from_text(&list)
    }

    fn read(h: &ResponseHeaders, names: &[&str], credentials: Credentials) -> Vec<Option<String>> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        readable_headers(&names, h, credentials, true)
            .into_values()
            .collect()
    }

    #[test]
    fn safelisted_listed_star_and_set_cookie() {
        let h = headers(&[
            ("content-type", "text/plain"),
            ("x-a", "1"),
            ("x-b", "2"),
            ("set-cookie", "s=1"),
            ("access-control-expose-headers", "X-A, set-cookie"),
        ]);
        assert_eq!(
            read(
                &h,
                &["content-type", "set-cookie", "x-a", "x-b"],
                Credentials::Omit
            ),
            [Some("text/plain".into()), None, Some("1".into()), None]
        );
        let star = headers(&[
            ("x-a", "1"),
            ("set-cookie", "s=1"),
            ("access-control-expose-headers", "*"),
        ]);
        assert_eq!(
            read(&star, &["set-cookie", "x-a"], Credentials::Omit),
            [None, Some("1".into())]
        );
        assert_eq!(
            read(&star, &["set-cookie", "x-a"], Credentials::Include),
            [None, None]
        );
    }

    #[test]
    fn one_bad_element_drops_the_whole_list() {
        let h = headers(&[
            ("x-a", "1"),
            ("access-control-expose-headers", "x-a, (bad)"),
        ]);
        assert_eq!(read(&h, &["x-a"], Credentials::Omit), [None]);
    }
}
