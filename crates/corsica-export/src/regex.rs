//! Regular expressions that accept exactly what the engine accepts, in the
//! subset of syntax that PCRE (nginx, HAProxy) and RE2 (Envoy, Caddy) share:
//! no look-around, no back-references. Every expression is anchored by the
//! caller's `^…$`, so an expression here is never a search.

use corsica::OriginEntry;

/// Escapes `text` so that a regular expression matches it literally.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$/-".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One label of a host as the engine's origin parser accepts it: lower-case
/// letters, digits, `-` and `_`, 1 to 63 bytes. Upper case never matches,
/// because browsers serialize hosts in lower case and the engine compares
/// bytes.
const LABEL: &str = "[a-z0-9_-]{1,63}";

/// A port as a URL serializer writes it (no leading zero), `0..=65535`,
/// except `default`, which a serialized origin never spells out.
pub fn port_except(default: Option<u16>) -> String {
    let ranges: Vec<(u32, u32)> = match default {
        None => vec![(0, 65535)],
        Some(d) => {
            let d = u32::from(d);
            let mut r = Vec::new();
            if d > 0 {
                r.push((0, d - 1));
            }
            if d < 65535 {
                r.push((d + 1, 65535));
            }
            r
        }
    };
    let mut parts = Vec::new();
    for (lo, hi) in ranges {
        range_parts(lo, hi, &mut parts);
    }
    format!("(?:{})", parts.join("|"))
}

/// Appends alternatives that match the decimal numbers `lo..=hi`, written
/// without leading zeros.
fn range_parts(lo: u32, hi: u32, out: &mut Vec<String>) {
    // Split by digit count, so that every piece has numbers of one length.
    let mut start = lo;
    while start <= hi {
        let digits = start.to_string().len() as u32;
        let top = (10u32.pow(digits) - 1).min(hi);
        same_length(&start.to_string(), &top.to_string(), out);
        start = top + 1;
    }
}

/// Alternatives for `lo..=hi`, both of the same number of digits.
fn same_length(lo: &str, hi: &str, out: &mut Vec<String>) {
    if lo == hi {
        out.push(lo.to_owned());
        return;
    }
    let (l, h) = (lo.as_bytes(), hi.as_bytes());
    // A shared leading digit: fix it and recurse on the rest.
    if l[0] == h[0] {
        let mut inner = Vec::new();
        same_length(&lo[1..], &hi[1..], &mut inner);
        for part in inner {
            out.push(format!("{}{part}", l[0] as char));
        }
        return;
    }
    let rest = lo.len() - 1;
    let all_zero = lo[1..].bytes().all(|b| b == b'0');
    let all_nine = hi[1..].bytes().all(|b| b == b'9');
    let mut first = l[0];
    let mut last = h[0];
    if !all_zero {
        // lo's leading digit with the rest from lo up to 9…9.
        let mut inner = Vec::new();
        same_length(&lo[1..], &"9".repeat(rest), &mut inner);
        for part in inner {
            out.push(format!("{}{part}", l[0] as char));
        }
        first += 1;
    }
    let tail_last = !all_nine;
    if tail_last {
        last -= 1;
    }
    if first <= last {
        let class = if first == last {
            (first as char).to_string()
        } else {
            format!("[{}-{}]", first as char, last as char)
        };
        out.push(format!("{class}{}", "[0-9]".repeat(rest)));
    }
    if tail_last {
        let mut inner = Vec::new();
        same_length(&"0".repeat(rest), &hi[1..], &mut inner);
        for part in inner {
            out.push(format!("{}{part}", h[0] as char));
        }
    }
}

/// The default port of a scheme, as the engine knows it (a serialized
/// origin never spells it out). Derived by asking the engine's parser
/// rather than keeping a second table.
fn default_port(scheme: &str) -> Option<u16> {
    // Ports that are some scheme's default; the parser refuses the one that
    // is this scheme's.
    [80u16, 443, 21]
        .into_iter()
        .find(|p| corsica::parse_origin(format!("{scheme}://a:{p}").as_bytes()).is_none())
}

/// The expression, without anchors, that matches exactly the `Origin`
/// values the entry allows. `None` for `*`, which needs no matcher.
pub fn origin_entry(entry: &OriginEntry) -> Option<String> {
    Some(match entry {
        OriginEntry::Any => return None,
        OriginEntry::Null => "null".to_owned(),
        OriginEntry::Exact { origin, .. } => escape(origin),
        OriginEntry::Subdomain { scheme, base, port } => {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://(?:{LABEL}\\.)+{}{port}", escape(scheme), escape(base))
        }
        OriginEntry::AnyPort { scheme, host } => format!(
            "{}://{}(?::{})?",
            escape(scheme),
            escape(host),
            port_except(default_port(scheme))
        ),
    })
}

/// An expression that matches, from the start of an `Origin` value, one
/// whose host is longer than the engine's [`corsica::MAX_HOST_LEN`]: a
/// `*.` pattern's labels could otherwise add up past what DNS (and the
/// engine) allows. POSIX ERE, PCRE and RE2 all read it the same way.
pub fn host_too_long() -> String {
    format!("[^:]*://[^:]{{{}}}", corsica::MAX_HOST_LEN + 1)
}

/// A header name (an RFC 9110 token).
pub const TOKEN: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";

/// The expression, without anchors and meant to be matched without regard
/// to case, for an `Access-Control-Request-Headers` value whose every name
/// is in `names` (any token, for `None`). Empty elements are refused, which
/// the engine tolerates up to 16 of, and browsers never send: the export
/// may refuse a little more than the policy, never allow more. A value of
/// whitespace only is accepted, as the engine accepts it.
pub fn request_headers(names: Option<&[String]>) -> String {
    request_headers_with(names, "")
}

/// [`request_headers`] with possessive quantifiers, for PCRE only. A
/// backtracking JIT (HAProxy's) keeps a frame per repetition and runs out
/// of stack on a list of some 4,000 bytes; names, blanks and commas are
/// disjoint, so no match ever needs to give a character back.
pub fn request_headers_possessive(names: Option<&[String]>) -> String {
    request_headers_with(names, "+")
}

fn request_headers_with(names: Option<&[String]>, possessive: &str) -> String {
    let p = possessive;
    let name = match names {
        None => format!("{TOKEN}{p}"),
        Some([]) => return format!("[\\t ]*{p}"),
        Some(list) => format!(
            "(?:{})",
            list.iter().map(|n| escape(n)).collect::<Vec<_>>().join("|")
        ),
    };
    format!("[\\t ]*{p}(?:{name}[\\t ]*{p}(?:,[\\t ]*{p}{name}[\\t ]*{p})*{p})?{p}")
}

/// Like [`request_headers`], for a value that names at least one header:
/// `None` when the policy allows no header at all.
pub fn named_request_headers(names: Option<&[String]>) -> Option<String> {
    let name = match names {
        None => TOKEN.to_owned(),
        Some([]) => return None,
        Some(list) => format!(
            "(?:{})",
            list.iter().map(|n| escape(n)).collect::<Vec<_>>().join("|")
        ),
    };
    Some(format!("[\\t ]*{name}[\\t ]*(?:,[\\t ]*{name}[\\t ]*)*"))
}

/// The expression, without anchors and case-sensitive, for an
/// `Access-Control-Request-Method` the policy allows: the safelisted three
/// and the policy's list, or any token but the forbidden methods.
pub fn methods(items: &[String], any: bool) -> String {
    if any {
        // Without look-around, "any token but CONNECT, TRACE, TRACK in any
        // case" is the tokens that differ from each in some position or
        // length. The export keeps it simple and exact: the engine's `*`
        // is rendered by the target as a token check plus a refusal of the
        // forbidden names (see `forbidden_methods`).
        return TOKEN.to_owned();
    }
    let mut all: Vec<String> = ["GET", "HEAD", "POST"].map(String::from).to_vec();
    all.extend(
        items
            .iter()
            .filter(|m| !all.contains(m))
            .cloned()
            .collect::<Vec<_>>(),
    );
    format!(
        "(?:{})",
        all.iter().map(|m| escape(m)).collect::<Vec<_>>().join("|")
    )
}

/// The expression, meant to be matched without regard to case, for the
/// methods that a `*` policy still refuses.
pub fn forbidden_methods() -> String {
    format!("(?:{})", corsica::FORBIDDEN_METHODS.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(re: &str) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{re})$")).unwrap()
    }

    #[test]
    fn ports_cover_every_number_but_the_default() {
        let re = full(&port_except(Some(443)));
        for p in 0..=65535u32 {
            assert_eq!(re.is_match(&p.to_string()), p != 443, "port {p}");
        }
        for bad in ["", "00", "0443", "65536", "99999", "1a"] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }

    #[test]
    fn origin_expressions_agree_with_the_engine() {
        let policy = corsica::Policy::builder()
            .origins([
                "https://app.example.com",
                "https://*.example.org",
                "http://localhost:*",
            ])
            .build()
            .unwrap();
        let exprs: Vec<String> = policy
            .parsed_origins()
            .iter()
            .filter_map(origin_entry)
            .collect();
        let re = full(&exprs.join("|"));
        for origin in [
            "https://app.example.com",
            "https://APP.example.com",
            "https://app.example.com.evil.net",
            "https://evilapp.example.com",
            "http://app.example.com",
            "https://app.example.com:443",
            "https://a.example.org",
            "https://a.b.example.org",
            "https://example.org",
            "https://evilexample.org",
            "https://a.example.org:8443",
            "https://a_b.example.org",
            "https://-.example.org",
            "http://localhost",
            "http://localhost:80",
            "http://localhost:0",
            "http://localhost:3000",
            "http://localhost:65536",
            "http://localhost:03000",
            "http://localhostx:1",
            "https://localhost:1",
            "null",
        ] {
            assert_eq!(
                re.is_match(origin),
                policy.allows_origin(origin.as_bytes()),
                "{origin}"
            );
        }
    }

    #[test]
    fn request_header_lists_are_whole_and_case_blind() {
        let names = ["content-type".to_owned(), "x-req".to_owned()];
        let re =
            regex::Regex::new(&format!("(?i)^(?:{})$", request_headers(Some(&names)))).unwrap();
        assert!(re.is_match("content-type,x-req"));
        assert!(re.is_match(" Content-Type , X-REQ "));
        assert!(re.is_match(""));
        assert!(!re.is_match("content-type,x-evil"));
        assert!(!re.is_match("x-request"));
        assert!(!re.is_match("content-type x-req"));
    }

    /// The possessive form (PCRE only) is the plain one with each
    /// quantifier made possessive; HAProxy runs it in the conformance suite.
    #[test]
    fn possessive_request_headers_read_as_the_plain_ones() {
        let names = ["content-type".to_owned(), "x-req".to_owned()];
        for list in [Some(&names[..]), Some(&[][..]), None] {
            let plain = request_headers(list);
            let possessive = request_headers_possessive(list);
            // Each quantifier follows a class or a group, never a name.
            let undone = possessive
                .replace("]*+", "]*")
                .replace("]++", "]+")
                .replace(")*+", ")*")
                .replace(")?+", ")?");
            assert_eq!(undone, plain);
            assert_ne!(possessive, plain);
        }
    }
}
