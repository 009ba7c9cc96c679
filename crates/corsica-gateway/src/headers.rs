//! Header rewriting between the client and the upstream: hop-by-hop headers
//! removed, `X-Forwarded-*` added, WebSocket upgrades recognised.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the
//! message, so a proxy must not pass them on: `Connection` and every header
//! it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`
//! and `Upgrade`. The one exception is a WebSocket handshake, whose
//! `Upgrade: websocket` must reach the upstream for the tunnel to exist.

use http::header::{self, Entry, HeaderMap, HeaderName, HeaderValue};
use http::Request;

/// `X-Forwarded-For`: the client addresses seen so far.
pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`: the scheme the client used.
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`: the `Host` the client asked for.
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The fixed hop-by-hop headers (those `Connection` names come on top),
/// as the lower-case names `HeaderName::as_str` gives: read for every
/// header of every message, and comparing strings costs less than
/// building `HeaderName`s to compare.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes hop-by-hop headers. With `websocket`, the handshake's
/// `Upgrade` survives and `Connection` is set to `upgrade` alone.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, websocket: bool) {
    // Most messages carry none: one pass over the names finds out, instead
    // of a lookup per hop-by-hop name.
    if !websocket && !headers.keys().any(is_hop_by_hop) {
        return;
    }
    // RFC 9112 §6.3: a Transfer-Encoding overrides Content-Length, and a
    // proxy must drop the length before passing the message on. Left in
    // place, a stale length would make hyper cut the client's copy of a
    // response short and call it complete. (hyper's server already drops it
    // from requests.) The check sits here, past the early return, because
    // Transfer-Encoding is itself hop-by-hop.
    if headers.contains_key(header::TRANSFER_ENCODING) {
        headers.remove(header::CONTENT_LENGTH);
    }
    // Headers named by `Connection` are hop-by-hop too. Collecting them
    // allocates only when a `Connection` header names something.
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .filter_map(|token| HeaderName::from_bytes(token.trim_ascii()).ok())
            .collect();
        for name in named {
            if !(websocket && name == header::UPGRADE) {
                headers.remove(&name);
            }
        }
    }
    for name in HOP_BY_HOP {
        if !(websocket && name == "upgrade") {
            headers.remove(name);
        }
    }
    if headers.keys().any(|k| k.as_str().starts_with("proxy-")) {
        let proxy: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("proxy-"))
            .cloned()
            .collect();
        for name in proxy {
            headers.remove(&name);
        }
    }
    if websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    let name = name.as_str();
    HOP_BY_HOP.contains(&name) || name.starts_with("proxy-")
}

/// The fields the gateway sets on every forwarded request in place of the
/// client's. `Host` names the upstream, so name-based upstreams see their
/// own name; the client's goes to `X-Forwarded-Host`. `X-Forwarded-For`
/// gets the client appended to any earlier hops, as proxies in a chain do.
/// `X-Forwarded-Proto` and `X-Forwarded-Host` replace what the client sent:
/// the gateway is the one that knows the scheme and host the client used,
/// and an application that builds URLs from a client-supplied
/// `X-Forwarded-Host` is open to host-header injection. `Expect` is
/// dropped: the gateway already answered any `100-continue` itself.
///
/// Applied in one of two ways that give the same fields: onto the header
/// map, for hyper's client ([`ForwardedFields::apply`]), or while the
/// inline client writes the head ([`ForwardedFields::for_each`]), which
/// spares seven map lookups and updates: some 1,300 instructions a
/// request, 6 % of the gateway's user-space work (bench/instructions.sh).
pub(crate) struct ForwardedFields<'a> {
    /// The upstream's `Host`.
    pub(crate) upstream_host: &'a HeaderValue,
    /// The client's IP address.
    pub(crate) client_ip: &'a HeaderValue,
    /// `http` or `https`.
    pub(crate) proto: &'a HeaderValue,
    /// The `Host` the client asked for, if it named one.
    pub(crate) client_host: Option<HeaderValue>,
}

impl ForwardedFields<'_> {
    /// Whether the client's field `name` is dropped for one of these.
    fn replaces(name: &HeaderName) -> bool {
        name == header::HOST
            || name == header::EXPECT
            || name == X_FORWARDED_PROTO
            || name == X_FORWARDED_HOST
    }

    /// `X-Forwarded-For`: the client after the `earlier` hops.
    fn forwarded_for<'v>(&self, earlier: impl Iterator<Item = &'v HeaderValue>) -> HeaderValue {
        let mut joined = Vec::with_capacity(64);
        for value in earlier {
            joined.extend_from_slice(value.as_bytes());
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(self.client_ip.as_bytes());
        // Both halves are valid header bytes, so the join is too; if it
        // somehow is not, the client's own hops are dropped, not ours.
        HeaderValue::from_bytes(&joined).unwrap_or_else(|_| self.client_ip.clone())
    }

    /// Sets the fields in `headers`.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(header::HOST, self.upstream_host.clone());
        headers.remove(header::EXPECT);
        match headers.entry(X_FORWARDED_FOR) {
            Entry::Vacant(vacant) => {
                vacant.insert(self.client_ip.clone());
            }
            Entry::Occupied(mut earlier) => {
                let value = self.forwarded_for(earlier.iter());
                earlier.insert(value);
            }
        }
        headers.insert(X_FORWARDED_PROTO, self.proto.clone());
        match &self.client_host {
            Some(host) => {
                headers.insert(X_FORWARDED_HOST, host.clone());
            }
            None => {
                headers.remove(X_FORWARDED_HOST);
            }
        }
    }

    /// Calls `field` for each field of the forwarded request: these, and
    /// those of `headers` they leave, the fields `apply` would leave in it.
    pub(crate) fn for_each(
        &self,
        headers: &HeaderMap,
        mut field: impl FnMut(&HeaderName, &HeaderValue),
    ) {
        field(&header::HOST, self.upstream_host);
        let mut earlier_hops = false;
        for (name, value) in headers {
            if name == X_FORWARDED_FOR {
                earlier_hops = true;
            } else if !Self::replaces(name) {
                field(name, value);
            }
        }
        if earlier_hops {
            let joined = self.forwarded_for(headers.get_all(X_FORWARDED_FOR).iter());
            field(&X_FORWARDED_FOR, &joined);
        } else {
            field(&X_FORWARDED_FOR, self.client_ip);
        }
        field(&X_FORWARDED_PROTO, self.proto);
        if let Some(host) = &self.client_host {
            field(&X_FORWARDED_HOST, host);
        }
    }
}

/// Whether a request is a WebSocket handshake: an HTTP/1.1 `GET` with
/// `Connection: upgrade` and `Upgrade: websocket`. The route's CORS layer
/// judges handshakes by the same rule, so none is tunnelled unchecked.
pub(crate) fn is_websocket_upgrade<B>(req: &Request<B>) -> bool {
    corsica_tower::is_websocket_handshake(req)
}

/// Whether the client's `TE` lists `trailers` (it accepts trailer fields).
pub(crate) fn accepts_trailers(headers: &HeaderMap) -> bool {
    has_token(headers, header::TE, b"trailers")
}

/// Whether any value of `name` lists `token` (case-insensitively).
pub(crate) fn has_token(headers: &HeaderMap, name: HeaderName, token: &[u8]) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    })
}

/// The host a request is for, as routes match it: the request target's
/// authority where it has one (HTTP/2's `:authority`, or HTTP/1.1's
/// absolute form, where RFC 9112 §3.2.2 says `Host` is to be ignored),
/// else `Host`; without its port, and without the trailing dot of a fully
/// qualified name (`api.example.com.` is `api.example.com` to DNS, and to
/// the virtual hosts of most upstreams: a route must not be sidestepped by
/// adding it).
pub(crate) fn routing_host<B>(req: &Request<B>) -> Option<&str> {
    let host = match req.uri().authority() {
        Some(authority) => authority.host(),
        None => without_port(req.headers().get(header::HOST)?.to_str().ok()?),
    };
    Some(host.strip_suffix('.').unwrap_or(host))
}

/// Whether a `Host` value is `uri-host [ ":" port ]` (RFC 9110 §7.2,
/// RFC 3986 §3.2.2): a registered name or IPv4 address, or an IP literal in
/// brackets, then an optional port of at most 65535. Userinfo (`user@`),
/// spaces and other delimiters are refused. Checked in place: this runs on
/// every request, and parsing an `Authority` would copy the value.
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    if let Some(literal) = value.strip_prefix(b"[") {
        let Some(end) = literal.iter().position(|&b| b == b']') else {
            return false;
        };
        let (address, rest) = (&literal[..end], &literal[end + 1..]);
        let address_ok = !address.is_empty()
            && address
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v'));
        return address_ok
            && match rest {
                [] => true,
                [b':', port @ ..] => is_port(port),
                _ => false,
            };
    }
    let (name, port) = match value.iter().rposition(|&b| b == b':') {
        Some(colon) => (&value[..colon], &value[colon + 1..]),
        None => (value, &[][..]),
    };
    is_host_name(name) && is_port(port)
}

/// A name as DNS and browsers spell it: labels of letters, digits, `-`,
/// `_` and `~`, one dot between two labels, and at most one trailing dot.
///
/// RFC 3986 allows more in a `reg-name` (`%`-escapes, `,`, `;`, empty
/// labels), but no browser sends them, and each is a spelling that routing
/// and an upstream could read differently: `secure%2eexample.com` is
/// `secure.example.com` to a WHATWG URL parser, `a.example,b.example` is
/// two hosts to some frameworks, and `secure.example.com..` is an empty
/// label. A request naming such a host would get the default route's
/// policy rather than the host route's, so it is refused instead.
fn is_host_name(name: &[u8]) -> bool {
    let name = name.strip_suffix(b".").unwrap_or(name);
    !name.is_empty()
        && name.split(|&b| b == b'.').all(|label| {
            !label.is_empty()
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~'))
        })
}

/// At most five digits (none at all is allowed), worth at most 65535.
fn is_port(digits: &[u8]) -> bool {
    digits.len() <= 5
        && digits.iter().all(u8::is_ascii_digit)
        && digits
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
            <= 65535
}

/// `host[:port]` without the port; IPv6 literals keep their brackets.
pub(crate) fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The size of a request head as sent on the wire, near enough: what
/// `limits.max_header_bytes` bounds.
pub(crate) fn head_size<B>(req: &Request<B>) -> usize {
    let line = req.method().as_str().len() + req.uri().path().len() + 16;
    let query = req.uri().query().map_or(0, |q| q.len() + 1);
    req.headers()
        .iter()
        .fold(line + query, |n, (k, v)| n + k.as_str().len() + v.len() + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values() {
        for valid in [
            "example.com",
            "example.com:8080",
            "127.0.0.1:443",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::1]",
            "a-b_c~d.example",
            "xn--bcher-kva.example",
            "host:",
            "h:65535",
            "example.com.",
            "example.com.:8080",
        ] {
            assert!(is_valid_host(valid.as_bytes()), "{valid}");
        }
        for invalid in [
            "",
            ":80",
            "a b",
            "user@example.com",
            "example.com:80:81",
            "example.com:http",
            "h:65536",
            "h:000080",
            "[::1",
            "[]",
            "[::1]x",
            "[::1]:8o",
            "[not-hex]",
            "example.com/path",
            "example.com?q",
            "exa\tmple",
            "secure%2eexample.com",
            "a.example,b.example",
            "secure.example.com..",
            ".example.com",
            "a..example",
            "a;b.example",
        ] {
            assert!(!is_valid_host(invalid.as_bytes()), "{invalid}");
        }
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("trailer", "x-sum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("content-type", "text/plain"),
        ]);
        strip_hop_by_hop(&mut h, false);
        let left: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["content-type"]);
    }

    #[test]
    fn a_websocket_handshake_keeps_its_upgrade() {
        let mut h = map(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "abc"),
        ]);
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h[header::CONNECTION], "upgrade");
        assert_eq!(h["sec-websocket-key"], "abc");
    }

    fn fields(client_host: Option<&'static str>) -> ForwardedFields<'static> {
        static UPSTREAM: HeaderValue = HeaderValue::from_static("upstream.internal:8080");
        static IP: HeaderValue = HeaderValue::from_static("127.0.0.1");
        static PROTO: HeaderValue = HeaderValue::from_static("https");
        ForwardedFields {
            upstream_host: &UPSTREAM,
            client_ip: &IP,
            proto: &PROTO,
            client_host: client_host.map(HeaderValue::from_static),
        }
    }

    #[test]
    fn forwarded_for_appends_and_the_rest_replace() {
        let mut h = map(&[
            ("host", "api.example:8443"),
            ("expect", "100-continue"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-proto", "gopher"),
            ("x-forwarded-host", "evil.example"),
        ]);
        fields(Some("api.example:8443")).apply(&mut h);
        assert_eq!(h[header::HOST], "upstream.internal:8080");
        assert!(!h.contains_key(header::EXPECT));
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        assert_eq!(h[X_FORWARDED_PROTO], "https");
        assert_eq!(h[X_FORWARDED_HOST], "api.example:8443");

        let mut h = map(&[("x-forwarded-host", "evil.example")]);
        fields(None).apply(&mut h);
        assert!(!h.contains_key(X_FORWARDED_HOST));
        assert_eq!(h[X_FORWARDED_FOR], "127.0.0.1");
    }

    /// The inline client writes the fields `for_each` gives, hyper's client
    /// the map `apply` leaves: the upstream must see the same either way.
    #[test]
    fn both_ways_of_applying_the_fields_agree() {
        let cases: [&[(&str, &str)]; 4] = [
            &[("host", "api.example"), ("accept", "*/*")],
            &[
                ("host", "api.example"),
                ("x-forwarded-for", "10.0.0.1"),
                ("x-forwarded-for", "10.0.0.2, 10.0.0.3"),
                ("x-forwarded-proto", "gopher"),
                ("x-forwarded-host", "evil.example"),
                ("expect", "100-continue"),
                ("cookie", "a=1"),
                ("cookie", "b=2"),
            ],
            &[],
            &[
                ("x-forwarded-host", "evil.example"),
                ("host", "a"),
                ("host", "b"),
            ],
        ];
        for case in cases {
            for client_host in [None, Some("api.example")] {
                let f = fields(client_host);
                let mut applied = map(case);
                f.apply(&mut applied);
                let mut from_map: Vec<(String, Vec<u8>)> = applied
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                    .collect();
                let mut written = Vec::new();
                f.for_each(&map(case), |n, v| {
                    written.push((n.to_string(), v.as_bytes().to_vec()))
                });
                // Fields of one name keep their order; names may move.
                from_map.sort_by(|a, b| a.0.cmp(&b.0));
                written.sort_by(|a, b| a.0.cmp(&b.0));
                assert_eq!(
                    written, from_map,
                    "{case:?} with client host {client_host:?}"
                );
            }
        }
    }

    #[test]
    fn websocket_handshakes_are_recognised() {
        let req = Request::get("/ws")
            .header("connection", "keep-alive, Upgrade")
            .header("upgrade", "WebSocket")
            .body(())
            .unwrap();
        assert!(is_websocket_upgrade(&req));
        let req = Request::post("/ws")
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .body(())
            .unwrap();
        assert!(!is_websocket_upgrade(&req));
        let req = Request::get("/ws")
            .header("upgrade", "websocket")
            .body(())
            .unwrap();
        assert!(!is_websocket_upgrade(&req));
    }

    #[test]
    fn requests_are_routed_by_the_target_authority_then_host_without_port_or_final_dot() {
        let req = |uri: &str, host: Option<&str>| {
            let mut builder = Request::builder().uri(uri);
            if let Some(host) = host {
                builder = builder.header(header::HOST, host);
            }
            builder.body(()).unwrap()
        };
        let host = |uri: &str, h: Option<&str>| routing_host(&req(uri, h)).map(str::to_owned);
        assert_eq!(
            host("/x", Some("api.example:8080")).as_deref(),
            Some("api.example")
        );
        assert_eq!(
            host("/x", Some("SECURE.example.com.")).as_deref(),
            Some("SECURE.example.com")
        );
        assert_eq!(host("/x", Some("[::1]:8080")).as_deref(), Some("[::1]"));
        // RFC 9112 §3.2.2: the absolute form's authority, not Host.
        assert_eq!(
            host("http://secure.example.com/x", Some("other.test")).as_deref(),
            Some("secure.example.com")
        );
        assert_eq!(
            host("http://a.example.:81/x", None).as_deref(),
            Some("a.example")
        );
        assert_eq!(host("/x", None), None);
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(without_port("api.example:8080"), "api.example");
        assert_eq!(without_port("[::1]:8080"), "[::1]");
        assert_eq!(without_port("api.example"), "api.example");
        assert_eq!(without_port("[::1]:8080"), "[::1]");
        assert_eq!(without_port("[::1]"), "[::1]");
    }
}
