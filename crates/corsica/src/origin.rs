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

/// The longest host corsica accepts in an origin: a DNS name is at most 253
/// bytes.
pub const MAX_HOST_LEN: usize = 253;

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
        return parse_ipv4(host).is_some_and(|ip| ip.to_string() == host);
    }
    is_domain(host)
}

/// Whether `host`, as a serialized origin carries it, is an IP address (an
/// IPv4 address as the URL parser reads one, or a bracketed IPv6 one)
/// rather than a domain: such a host has no registrable domain and no
/// subdomains.
pub fn is_ip_host(host: &str) -> bool {
    looks_like_ipv4(host) || host.starts_with('[')
}

/// Whether the URL parser reads `host` as an IPv4 address (or rejects it):
/// the WHATWG URL standard's "ends in a number" check. Its last label (a
/// final empty one aside) is decimal digits or `0x` and hexadecimal
/// digits, so `127.1`, `0x7f.0.0.1` and `example.123` are all addresses
/// to it, the last one an invalid one.
pub fn looks_like_ipv4(host: &str) -> bool {
    let host = match host.strip_suffix('.') {
        Some(rest) if !rest.is_empty() => rest,
        _ => host,
    };
    let last = host.rsplit('.').next().unwrap_or(host);
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) || ipv4_number(last).is_some()
}

/// The address the URL parser makes of `host` (the WHATWG IPv4 parser):
/// one to four parts, each decimal, octal (a leading `0`) or hexadecimal
/// (`0x`), the last filling the bytes the others leave. `127.1` and
/// `0x7f.0.0.1` are both `127.0.0.1`. `None` where it fails.
pub fn parse_ipv4(host: &str) -> Option<std::net::Ipv4Addr> {
    let host = match host.strip_suffix('.') {
        Some(rest) if !rest.is_empty() => rest,
        _ => host,
    };
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let numbers = parts
        .iter()
        .map(|part| ipv4_number(part))
        .collect::<Option<Vec<u64>>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let address = leading
        .iter()
        .enumerate()
        .fold(*last, |sum, (i, &n)| sum + n * 256u64.pow(3 - i as u32));
    u32::try_from(address).ok().map(std::net::Ipv4Addr::from)
}

/// One part of an IPv4 address as the URL parser reads it.
fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    // Longer than any u32 in any radix: too large either way.
    if digits.len() > 32 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Whether `host` is a lower-case ASCII domain: labels of `a-z 0-9 - _`,
/// none empty, none longer than 63 bytes, at most 253 bytes in all.
pub fn is_domain(host: &str) -> bool {
    host.len() <= MAX_HOST_LEN
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
    fn ipv4_hosts_are_read_as_the_url_parser_reads_them() {
        let ip = |s: &str| parse_ipv4(s).map(|ip| ip.to_string());
        for (host, address) in [
            ("127.0.0.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("0x7f.0.0.1", "127.0.0.1"),
            ("0X7F.1", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("2130706433", "127.0.0.1"),
            ("0x", "0.0.0.0"),
            ("192.168.0.1.", "192.168.0.1"),
        ] {
            assert_eq!(ip(host).as_deref(), Some(address), "{host}");
        }
        for invalid in [
            "256.0.0.1",
            "1.2.3.4.5",
            "1.2.3.256",
            "09.0.0.1",
            "0xg.1",
            "example.123",
            "4294967296",
        ] {
            assert_eq!(ip(invalid), None, "{invalid}");
        }
        for number in ["127.1", "0x7f.0.0.1", "example.123", "a.0x1f", "10.0.0.1."] {
            assert!(looks_like_ipv4(number), "{number}");
        }
        for name in ["example.com", "1.example", "0x.example", "a.0xg"] {
            assert!(!looks_like_ipv4(name), "{name}");
        }
        // Only the dotted-decimal form is what a browser sends.
        assert!(is_canonical_host("127.0.0.1"));
        for other in ["0x7f.0.0.1", "127.1", "example.123"] {
            assert!(!is_canonical_host(other), "{other}");
        }
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
