//! Serialized origins as browsers send them in the `Origin` header.
//!
//! Browsers only ever send an origin in its serialized form (Fetch
//! "serialization of an origin"): a lower-case scheme, `://`, an ASCII
//! lower-case host and a port that is omitted when it is the scheme's
//! default. The parser here accepts exactly that form, so anything else a
//! client sends (a path, upper case, a default port, odd bytes) can never
//! match a pattern by accident.

/// The longest `Origin` value corsica will look at. A DNS name is at most
/// 253 bytes; with a scheme and a port that is under 300, so anything past
/// this bound is hostile and is refused without further work.
pub const MAX_ORIGIN_LEN: usize = 512;

/// A serialized origin split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginParts<'a> {
    /// The scheme, lower case, without `://`.
    pub scheme: &'a str,
    /// The host: a domain, a dotted IPv4 address or a bracketed IPv6 address.
    pub host: &'a str,
    /// The explicit port, which is never the scheme's default.
    pub port: Option<u16>,
}

impl OriginParts<'_> {
    /// Whether the host is `localhost`, a `.localhost` name or a loopback
    /// address: hosts a network attacker cannot impersonate, which makes
    /// `http` safe for them (Secure Contexts "potentially trustworthy").
    pub fn is_potentially_trustworthy(&self) -> bool {
        self.scheme == "https" || self.scheme == "wss" || is_loopback_host(self.host)
    }
}

/// Whether `host` names the local machine: `localhost`, `*.localhost`,
/// `127.0.0.0/8` or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The default port of a special scheme, which a serialized origin omits.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// Parses a serialized origin strictly. Returns `None` for `null` and for
/// anything that is not in the exact form a browser sends.
pub fn parse_serialized(bytes: &[u8]) -> Option<OriginParts<'_>> {
    if bytes.len() > MAX_ORIGIN_LEN {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let (scheme, rest) = text.split_once("://")?;
    if !is_scheme(scheme) {
        return None;
    }
    let (host, port) = split_host_port(rest)?;
    if !is_canonical_host(host) {
        return None;
    }
    let port = match port {
        None => None,
        Some(digits) => {
            let port = parse_port(digits)?;
            if default_port(scheme) == Some(port) {
                return None;
            }
            Some(port)
        }
    };
    Some(OriginParts { scheme, host, port })
}

/// Whether `s` is a lower-case URL scheme: `[a-z][a-z0-9+.-]*`.
pub fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b[1..].iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'+' | b'.' | b'-')
        })
}

/// Splits `host[:port]`, handling bracketed IPv6 hosts.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        }
    } else {
        match authority.split_once(':') {
            None => Some((authority, None)),
            Some((host, port)) => Some((host, Some(port))),
        }
    }
}

/// Parses a port as a serializer writes it: 1 to 5 digits, no leading zero.
pub fn parse_port(digits: &str) -> Option<u16> {
    let b = digits.as_bytes();
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    digits.parse().ok()
}

/// Whether `host` is in the form the URL serializer produces: a lower-case
/// ASCII domain with non-empty labels, a dotted-decimal IPv4 address, or a
/// compressed lower-case IPv6 address in brackets.
pub fn is_canonical_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| serialize_ipv6(&ip) == inner);
    }
    if looks_like_ipv4(host) {
        return host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.to_string() == host);
    }
    is_domain(host)
}

/// Whether `host` is all digits and dots, i.e. the URL parser would read it
/// as an IPv4 address (or reject it).
pub fn looks_like_ipv4(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Whether `host` is a lower-case ASCII domain: labels of `a-z 0-9 - _`,
/// none empty, none longer than 63 bytes, at most 253 bytes in all.
pub fn is_domain(host: &str) -> bool {
    host.len() <= 253
        && !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

/// Serializes an IPv6 address as the URL standard does: lower-case hex,
/// no leading zeros, the first longest run of two or more zero pieces
/// compressed to `::`, and no embedded IPv4 form.
pub fn serialize_ipv6(ip: &std::net::Ipv6Addr) -> String {
    let pieces = ip.segments();
    // Find the first longest run of zero pieces of length >= 2.
    let (mut best_start, mut best_len) = (usize::MAX, 1);
    let mut i = 0;
    while i < 8 {
        if pieces[i] == 0 {
            let start = i;
            while i < 8 && pieces[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_start = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let mut out = String::with_capacity(39);
    let mut i = 0;
    while i < 8 {
        if i == best_start {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += best_len;
            continue;
        }
        out.push_str(&format!("{:x}", pieces[i]));
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> Option<(&str, &str, Option<u16>)> {
        parse_serialized(s.as_bytes()).map(|p| (p.scheme, p.host, p.port))
    }

    #[test]
    fn parses_what_browsers_send() {
        assert_eq!(
            parts("https://app.example"),
            Some(("https", "app.example", None))
        );
        assert_eq!(
            parts("http://localhost:3000"),
            Some(("http", "localhost", Some(3000)))
        );
        assert_eq!(
            parts("http://127.0.0.1:8080"),
            Some(("http", "127.0.0.1", Some(8080)))
        );
        assert_eq!(
            parts("http://[::1]:8080"),
            Some(("http", "[::1]", Some(8080)))
        );
        assert_eq!(
            parts("chrome-extension://abcdef"),
            Some(("chrome-extension", "abcdef", None))
        );
    }

    #[test]
    fn refuses_anything_a_browser_would_not_send() {
        for bad in [
            "null",
            "https://app.example/",
            "https://App.example",
            "HTTPS://app.example",
            "https://app.example:443",
            "http://app.example:80",
            "https://app.example:0443",
            "https://app.example:99999",
            "https://user@app.example",
            "https://app..example",
            "https://app.example.",
            "https://app.example?x",
            "https://evil.com#.app.example",
            "https://[::0001]",
            "https://[0:0:0:0:0:0:0:1]",
            "https://010.0.0.1",
            "https://",
            "://app.example",
            "https://caf\u{e9}.example",
        ] {
            assert_eq!(parts(bad), None, "{bad}");
        }
    }

    #[test]
    fn refuses_oversized_and_non_utf8_input() {
        let long = format!("https://{}.example", "a".repeat(MAX_ORIGIN_LEN));
        assert_eq!(parse_serialized(long.as_bytes()), None);
        assert_eq!(parse_serialized(b"https://\xff.example"), None);
    }

    #[test]
    fn ipv6_serialization_matches_the_url_standard() {
        let ser = |s: &str| serialize_ipv6(&s.parse().unwrap());
        assert_eq!(ser("::1"), "::1");
        assert_eq!(ser("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(ser("::ffff:1.2.3.4"), "::ffff:102:304");
        assert_eq!(ser("1:0:1:0:1:0:1:0"), "1:0:1:0:1:0:1:0");
        assert_eq!(ser("::"), "::");
        assert_eq!(ser("1::"), "1::");
    }

    #[test]
    fn trustworthy_hosts() {
        fn p(s: &str) -> OriginParts<'_> {
            parse_serialized(s.as_bytes()).unwrap()
        }
        assert!(p("http://localhost:1").is_potentially_trustworthy());
        assert!(p("http://a.localhost").is_potentially_trustworthy());
        assert!(p("http://127.0.0.2").is_potentially_trustworthy());
        assert!(p("http://[::1]").is_potentially_trustworthy());
        assert!(p("https://app.example").is_potentially_trustworthy());
        assert!(!p("http://app.example").is_potentially_trustworthy());
    }
}
