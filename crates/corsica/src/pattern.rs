//! The grammar of origin entries in a policy.
//!
//! An entry is one of:
//! - `*`: any origin (never together with credentials);
//! - `null`: the opaque origin (only with an explicit opt-in);
//! - an exact serialized origin, `https://app.example` or `http://localhost:3000`;
//! - a subdomain pattern, `https://*.example.com`, matching one or more
//!   labels in front of `example.com` (never `example.com` itself);
//! - a port pattern, `http://localhost:*`, matching every port of one host.
//!
//! Nothing else is accepted: no regular expressions and no free prefixes or
//! suffixes, because those are how real CORS bypasses happen (`endswith`
//! without a dot, unanchored regexes, unescaped dots).

use crate::origin::{
    default_port, is_canonical_host, is_domain, is_scheme, looks_like_ipv4, parse_ipv4, parse_port,
    serialize_ipv6,
};

/// A parsed, well-formed origin entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OriginEntry {
    /// `*`: every origin.
    Any,
    /// `null`: the opaque origin of sandboxed iframes, `data:` and `file:` pages.
    Null,
    /// One serialized origin, byte-for-byte as browsers send it.
    Exact {
        /// The serialized origin.
        origin: String,
        /// Its scheme.
        scheme: String,
        /// Its host.
        host: String,
    },
    /// `scheme://*.base[:port]`: any host with at least one more label in
    /// front of `base`.
    Subdomain {
        /// The scheme that must match exactly.
        scheme: String,
        /// The registrable base, without the leading dot.
        base: String,
        /// The explicit port that must match, or `None` for the default port.
        port: Option<u16>,
    },
    /// `scheme://host:*`: one host on any port, the default port included.
    AnyPort {
        /// The scheme that must match exactly.
        scheme: String,
        /// The host that must match exactly.
        host: String,
    },
}

impl OriginEntry {
    /// The scheme this entry is restricted to, if any.
    pub fn scheme(&self) -> Option<&str> {
        match self {
            OriginEntry::Any | OriginEntry::Null => None,
            OriginEntry::Exact { scheme, .. }
            | OriginEntry::Subdomain { scheme, .. }
            | OriginEntry::AnyPort { scheme, .. } => Some(scheme),
        }
    }

    /// The host (or, for a subdomain pattern, the base) this entry names.
    pub fn host(&self) -> Option<&str> {
        match self {
            OriginEntry::Any | OriginEntry::Null => None,
            OriginEntry::Exact { host, .. } | OriginEntry::AnyPort { host, .. } => Some(host),
            OriginEntry::Subdomain { base, .. } => Some(base),
        }
    }
}

/// Why an origin entry is malformed. Each kind has a stable code, a reason
/// and a fix, rendered by [`OriginEntryError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MalformedOrigin {
    /// The entry is empty.
    Empty,
    /// `file://` pages have opaque origins; browsers send `null`.
    FileScheme,
    /// The entry has no `scheme://`.
    MissingScheme,
    /// The scheme is not a valid, lower-case URL scheme.
    BadScheme,
    /// The scheme is one no page can have as its origin (`ws`, `ftp`, `data`…).
    NotAPageScheme,
    /// The scheme or host has upper-case letters.
    UpperCase,
    /// `/` after the host.
    TrailingSlash,
    /// A path after the host.
    Path,
    /// A `?query` after the host.
    Query,
    /// A `#fragment` after the host.
    Fragment,
    /// `user:pass@` before the host.
    Userinfo,
    /// `:443` on https, `:80` on http: browsers omit the default port.
    DefaultPort,
    /// A port that is not 1 to 5 digits up to 65535, or has leading zeros.
    BadPort,
    /// A host with non-ASCII characters; browsers send the punycode form.
    NonAsciiHost,
    /// A host with a trailing dot, which is a different origin.
    TrailingDot,
    /// An IP address not in the form browsers serialize.
    NonCanonicalIp,
    /// A host with characters or empty labels that no origin has.
    BadHost,
    /// Regular-expression syntax: corsica matches origins with a fixed grammar.
    Regex,
    /// A `*` anywhere other than a whole leading label or the whole port.
    MisplacedWildcard,
    /// Both a subdomain wildcard and a port wildcard.
    DoubleWildcard,
    /// `https://*`, `*.com`, `https://*.com`: a pattern that matches
    /// (nearly) everyone.
    TooBroad,
    /// `NULL`, `Null`: browsers send `null` in lower case.
    NullCase,
}

/// A malformed origin entry: what is wrong and the nearest correct entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginEntryError {
    /// What is wrong.
    pub kind: MalformedOrigin,
    /// The entry as written.
    pub input: String,
    /// The corrected entry, when one can be derived.
    pub suggestion: Option<String>,
}

impl OriginEntryError {
    /// A stable, kebab-case identifier for tools.
    pub fn code(&self) -> &'static str {
        use MalformedOrigin::*;
        match self.kind {
            Empty => "origin-empty",
            FileScheme => "origin-file-scheme",
            MissingScheme => "origin-missing-scheme",
            BadScheme => "origin-bad-scheme",
            NotAPageScheme => "origin-not-a-page-scheme",
            UpperCase => "origin-upper-case",
            TrailingSlash => "origin-trailing-slash",
            Path => "origin-has-path",
            Query => "origin-has-query",
            Fragment => "origin-has-fragment",
            Userinfo => "origin-has-userinfo",
            DefaultPort => "origin-default-port",
            BadPort => "origin-bad-port",
            NonAsciiHost => "origin-non-ascii-host",
            TrailingDot => "origin-trailing-dot",
            NonCanonicalIp => "origin-non-canonical-ip",
            BadHost => "origin-bad-host",
            Regex => "origin-regex",
            MisplacedWildcard => "origin-misplaced-wildcard",
            DoubleWildcard => "origin-double-wildcard",
            TooBroad => "origin-pattern-too-broad",
            NullCase => "origin-null-case",
        }
    }

    /// Why the entry is refused.
    pub fn reason(&self) -> String {
        use MalformedOrigin::*;
        let input = &self.input;
        match self.kind {
            Empty => "an empty origin can never match".into(),
            FileScheme => format!(
                "\"{input}\" can never match: pages loaded from file:// have an opaque origin, and browsers send `Origin: null` for them"
            ),
            MissingScheme => format!(
                "\"{input}\" has no scheme; an origin is scheme://host[:port] and browsers compare all of it"
            ),
            BadScheme => format!("\"{input}\" does not start with a valid URL scheme"),
            NotAPageScheme => format!(
                "\"{input}\" can never match: no web page has an origin with this scheme"
            ),
            UpperCase => format!(
                "\"{input}\" has upper-case letters; browsers send the scheme and host in lower case and compare origins byte for byte"
            ),
            TrailingSlash => format!(
                "\"{input}\" ends with a slash; browsers send origins without one, so this entry can never match"
            ),
            Path => format!(
                "\"{input}\" has a path; an origin is only scheme://host[:port], so this entry can never match"
            ),
            Query => format!("\"{input}\" has a query string; an origin never does"),
            Fragment => format!("\"{input}\" has a fragment; an origin never does"),
            Userinfo => format!(
                "\"{input}\" has a user name or password; an origin never does"
            ),
            DefaultPort => format!(
                "\"{input}\" names the scheme's default port; browsers omit it from the Origin header, so this entry can never match"
            ),
            BadPort => format!("\"{input}\" has an invalid port; a port is 1 to 65535 with no leading zeros"),
            NonAsciiHost => format!(
                "\"{input}\" has a non-ASCII host; browsers send internationalized hosts in their punycode (xn--) form"
            ),
            TrailingDot => format!(
                "\"{input}\" ends with a dot; \"example.com.\" and \"example.com\" are different origins and pages almost never use the first"
            ),
            NonCanonicalIp => format!(
                "\"{input}\" writes an IP address in a form browsers never send"
            ),
            BadHost => format!(
                "\"{input}\" has a host that is not a valid domain name (empty labels or characters other than a-z, 0-9, '-' and '_')"
            ),
            Regex => format!(
                "\"{input}\" looks like a regular expression; corsica matches origins with a fixed grammar, because hand-written regexes are the most common CORS bypass"
            ),
            MisplacedWildcard => format!(
                "\"{input}\" puts '*' somewhere other than a whole leading label (https://*.example.com) or the whole port (http://localhost:*)"
            ),
            DoubleWildcard => format!(
                "\"{input}\" combines a subdomain wildcard with a port wildcard; corsica allows one or the other"
            ),
            TooBroad => format!(
                "\"{input}\" would match nearly every origin on the web"
            ),
            NullCase => format!(
                "\"{input}\" is not how browsers write the opaque origin; they send `null` in lower case"
            ),
        }
    }

    /// How to fix the entry.
    pub fn fix(&self) -> String {
        use MalformedOrigin::*;
        match (&self.kind, &self.suggestion) {
            (FileScheme, _) | (NullCase, _) => {
                "to allow opaque origins, list \"null\" and set dangerously_allow_null_origin = true (any sandboxed iframe can then use your API)".into()
            }
            (TooBroad, _) => {
                "list the exact origins, or a pattern under a domain you control, such as \"https://*.example.com\"; use \"*\" alone for a public API without credentials".into()
            }
            (Regex, _) | (MisplacedWildcard, _) => {
                "use an exact origin, \"https://*.example.com\" for subdomains, or \"http://localhost:*\" for any port".into()
            }
            (DoubleWildcard, _) => {
                "list the subdomain pattern and the port pattern as two entries".into()
            }
            (_, Some(s)) => format!("write \"{s}\""),
            (MissingScheme, None) => "prefix the host with https:// (or http:// for local development)".into(),
            _ => "write the origin as scheme://host[:port], e.g. \"https://app.example.com\"".into(),
        }
    }
}

impl std::fmt::Display for OriginEntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.reason(), self.fix())
    }
}

impl std::error::Error for OriginEntryError {}

const NOT_A_PAGE_SCHEME: [&str; 9] = [
    "ws",
    "wss",
    "ftp",
    "data",
    "blob",
    "javascript",
    "about",
    "mailto",
    "file",
];

/// Parses one origin entry from a policy.
pub fn parse_entry(input: &str) -> Result<OriginEntry, OriginEntryError> {
    let fail = |kind: MalformedOrigin| OriginEntryError {
        kind,
        input: input.to_owned(),
        suggestion: suggest(input),
    };
    match input {
        "" => return Err(fail(MalformedOrigin::Empty)),
        "*" => return Ok(OriginEntry::Any),
        "null" => return Ok(OriginEntry::Null),
        _ if input.eq_ignore_ascii_case("null") => return Err(fail(MalformedOrigin::NullCase)),
        _ => {}
    }
    if input.bytes().any(|b| {
        matches!(
            b,
            b'^' | b'$' | b'\\' | b'(' | b')' | b'|' | b'+' | b'{' | b'}'
        )
    }) || looks_like_regex_any(input)
    {
        return Err(fail(MalformedOrigin::Regex));
    }
    let Some((scheme, rest)) = input.split_once("://") else {
        if input.starts_with("*.") || input == "*.*" {
            return Err(fail(MalformedOrigin::TooBroad).with_suggestion(None));
        }
        return Err(fail(MalformedOrigin::MissingScheme));
    };
    if scheme.eq_ignore_ascii_case("file") {
        return Err(fail(MalformedOrigin::FileScheme));
    }
    if scheme.contains('*') {
        return Err(fail(MalformedOrigin::MisplacedWildcard));
    }
    if !is_scheme(&scheme.to_ascii_lowercase()) {
        return Err(fail(MalformedOrigin::BadScheme));
    }
    if NOT_A_PAGE_SCHEME.contains(&scheme.to_ascii_lowercase().as_str()) {
        return Err(fail(MalformedOrigin::NotAPageScheme).with_suggestion(None));
    }
    // Everything after the authority makes the entry unmatchable.
    if let Some(pos) = rest.find(['/', '?', '#']) {
        let tail = &rest[pos..];
        let kind = match tail.as_bytes()[0] {
            b'/' if tail == "/" => MalformedOrigin::TrailingSlash,
            b'/' => MalformedOrigin::Path,
            b'?' => MalformedOrigin::Query,
            _ => MalformedOrigin::Fragment,
        };
        return Err(fail(kind));
    }
    if rest.contains('@') {
        return Err(fail(MalformedOrigin::Userinfo));
    }
    let Some((host, port)) = split_authority(rest) else {
        return Err(fail(MalformedOrigin::BadHost));
    };
    let any_port = port == Some("*");
    let port = match port {
        None | Some("*") => None,
        Some(digits) => match parse_port(digits) {
            Some(p) if default_port(&scheme.to_ascii_lowercase()) == Some(p) => {
                return Err(fail(MalformedOrigin::DefaultPort))
            }
            Some(p) => Some(p),
            None => return Err(fail(MalformedOrigin::BadPort)),
        },
    };
    let (subdomain, host) = match host.strip_prefix("*.") {
        Some(base) => (true, base),
        None if host == "*" => return Err(fail(MalformedOrigin::TooBroad).with_suggestion(None)),
        None => (false, host),
    };
    if host.contains('*') {
        return Err(fail(MalformedOrigin::MisplacedWildcard));
    }
    if subdomain && any_port {
        return Err(fail(MalformedOrigin::DoubleWildcard));
    }
    if !host.is_ascii() {
        return Err(fail(MalformedOrigin::NonAsciiHost));
    }
    if scheme.bytes().any(|b| b.is_ascii_uppercase())
        || host.bytes().any(|b| b.is_ascii_uppercase())
    {
        return Err(fail(MalformedOrigin::UpperCase));
    }
    if host.ends_with('.') && host.len() > 1 {
        return Err(fail(MalformedOrigin::TrailingDot));
    }
    if host.starts_with('[') || looks_like_ipv4(host) {
        if subdomain {
            return Err(fail(MalformedOrigin::MisplacedWildcard).with_suggestion(None));
        }
        if !is_canonical_host(host) {
            return Err(fail(MalformedOrigin::NonCanonicalIp));
        }
    } else if !is_domain(host) {
        return Err(fail(MalformedOrigin::BadHost));
    }
    if subdomain && !host.contains('.') && host != "localhost" {
        return Err(fail(MalformedOrigin::TooBroad).with_suggestion(None));
    }
    let scheme = scheme.to_owned();
    let host = host.to_owned();
    Ok(if subdomain {
        OriginEntry::Subdomain {
            scheme,
            base: host,
            port,
        }
    } else if any_port {
        OriginEntry::AnyPort { scheme, host }
    } else {
        let origin = match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        OriginEntry::Exact {
            origin,
            scheme,
            host,
        }
    })
}

/// Whether `input` has a regex `.*` (a dot-star not written as part of a
/// `*.` label wildcard, such as `https://.*.example.com`).
fn looks_like_regex_any(input: &str) -> bool {
    input
        .match_indices(".*")
        .any(|(i, _)| i == 0 || input.as_bytes()[i - 1] != b'*')
}

impl OriginEntryError {
    fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }
}

/// Splits `host[:port]`, keeping IPv6 brackets on the host. `None` when
/// something other than `:port` follows a bracketed host.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let Some(end) = authority.find(']') else {
            return Some((authority, None));
        };
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    Some(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// Derives the well-formed entry a user most likely meant: lower-case
/// scheme and host, punycode for non-ASCII hosts, no userinfo, path, query,
/// fragment, trailing dot or default port. Returns `None` when nothing
/// sensible can be derived.
pub fn suggest(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("https".to_owned(), trimmed),
    };
    if !is_scheme(&scheme) || scheme == "file" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = split_authority(authority)?;
    let (prefix, host) = match host.strip_prefix("*.") {
        Some(base) => ("*.", base),
        None => ("", host),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        format!("[{}]", serialize_ipv6(&inner.parse().ok()?))
    } else if looks_like_ipv4(host) {
        parse_ipv4(host)?.to_string()
    } else {
        idna::domain_to_ascii(host).ok()?
    };
    if host.is_empty() || host.contains('*') {
        return None;
    }
    let port = match port {
        None => String::new(),
        Some("*") => ":*".to_owned(),
        Some(p) => match p.trim_start_matches('0').parse::<u16>() {
            Ok(n) if default_port(&scheme) == Some(n) => String::new(),
            Ok(n) if n > 0 => format!(":{n}"),
            _ => return None,
        },
    };
    let candidate = format!("{scheme}://{prefix}{host}{port}");
    (candidate != input && parse_entry(&candidate).is_ok()).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(input: &str) -> MalformedOrigin {
        parse_entry(input).unwrap_err().kind
    }

    #[test]
    fn accepts_the_four_shapes() {
        assert_eq!(parse_entry("*").unwrap(), OriginEntry::Any);
        assert_eq!(parse_entry("null").unwrap(), OriginEntry::Null);
        assert_eq!(
            parse_entry("https://app.example.com").unwrap(),
            OriginEntry::Exact {
                origin: "https://app.example.com".into(),
                scheme: "https".into(),
                host: "app.example.com".into()
            }
        );
        assert_eq!(
            parse_entry("https://*.example.com").unwrap(),
            OriginEntry::Subdomain {
                scheme: "https".into(),
                base: "example.com".into(),
                port: None
            }
        );
        assert_eq!(
            parse_entry("https://*.example.com:8443").unwrap(),
            OriginEntry::Subdomain {
                scheme: "https".into(),
                base: "example.com".into(),
                port: Some(8443)
            }
        );
        assert_eq!(
            parse_entry("http://localhost:*").unwrap(),
            OriginEntry::AnyPort {
                scheme: "http".into(),
                host: "localhost".into()
            }
        );
        assert!(parse_entry("http://[::1]:8080").is_ok());
        assert!(parse_entry("http://127.0.0.1:8080").is_ok());
        assert!(parse_entry("chrome-extension://abcdefghijklmnop").is_ok());
        assert!(parse_entry("http://*.localhost:3000").is_ok());
    }

    #[test]
    fn refuses_malformed_origins_with_a_fix() {
        let cases = [
            (
                "https://app.example.com/",
                MalformedOrigin::TrailingSlash,
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com/api",
                MalformedOrigin::Path,
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com?x=1",
                MalformedOrigin::Query,
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com#top",
                MalformedOrigin::Fragment,
                Some("https://app.example.com"),
            ),
            (
                "https://u:p@app.example.com",
                MalformedOrigin::Userinfo,
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com:443",
                MalformedOrigin::DefaultPort,
                Some("https://app.example.com"),
            ),
            (
                "http://app.example.com:80",
                MalformedOrigin::DefaultPort,
                Some("http://app.example.com"),
            ),
            (
                "https://App.Example.com",
                MalformedOrigin::UpperCase,
                Some("https://app.example.com"),
            ),
            (
                "HTTPS://app.example.com",
                MalformedOrigin::UpperCase,
                Some("https://app.example.com"),
            ),
            (
                "https://bücher.example",
                MalformedOrigin::NonAsciiHost,
                Some("https://xn--bcher-kva.example"),
            ),
            (
                "app.example.com",
                MalformedOrigin::MissingScheme,
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com.",
                MalformedOrigin::TrailingDot,
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com:99999",
                MalformedOrigin::BadPort,
                None,
            ),
            ("https://app..example.com", MalformedOrigin::BadHost, None),
            (
                "http://[0:0:0:0:0:0:0:1]",
                MalformedOrigin::NonCanonicalIp,
                Some("http://[::1]"),
            ),
        ];
        for (input, expected, suggestion) in cases {
            let err = parse_entry(input).unwrap_err();
            assert_eq!(err.kind, expected, "{input}");
            assert_eq!(err.suggestion.as_deref(), suggestion, "{input}");
            assert!(!err.fix().is_empty());
        }
    }

    #[test]
    fn refuses_broad_and_free_form_patterns() {
        assert_eq!(kind("https://*"), MalformedOrigin::TooBroad);
        assert_eq!(kind("*.com"), MalformedOrigin::TooBroad);
        assert_eq!(kind("https://*.com"), MalformedOrigin::TooBroad);
        assert_eq!(
            kind("https://*example.com"),
            MalformedOrigin::MisplacedWildcard
        );
        assert_eq!(
            kind("https://a*.example.com"),
            MalformedOrigin::MisplacedWildcard
        );
        assert_eq!(
            kind("https://*.*.example.com"),
            MalformedOrigin::MisplacedWildcard
        );
        assert_eq!(kind("*://example.com"), MalformedOrigin::MisplacedWildcard);
        assert_eq!(
            kind("https://example.c*m"),
            MalformedOrigin::MisplacedWildcard
        );
        assert_eq!(kind("https://example.*"), MalformedOrigin::Regex);
        assert_eq!(
            kind("https://*.example.com:*"),
            MalformedOrigin::DoubleWildcard
        );
        assert_eq!(kind("^https://.*\\.example\\.com$"), MalformedOrigin::Regex);
        assert_eq!(kind("https://.*.example.com"), MalformedOrigin::Regex);
        assert_eq!(
            kind("https://*.10.0.0.1"),
            MalformedOrigin::MisplacedWildcard
        );
    }

    #[test]
    fn refuses_schemes_no_page_has() {
        assert_eq!(kind("file://"), MalformedOrigin::FileScheme);
        assert_eq!(
            kind("file:///home/me/index.html"),
            MalformedOrigin::FileScheme
        );
        assert_eq!(
            kind("wss://app.example.com"),
            MalformedOrigin::NotAPageScheme
        );
        assert_eq!(kind("NULL"), MalformedOrigin::NullCase);
        assert_eq!(kind(""), MalformedOrigin::Empty);
    }
}
