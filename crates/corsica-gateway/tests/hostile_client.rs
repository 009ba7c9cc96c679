//! Hostile clients: request smuggling, path and host tricks, slowloris and
//! connection floods, each sent over raw TCP. Every test asserts the safe
//! outcome, then that the gateway still answers a normal request promptly.
//!
//! Already covered elsewhere, and not repeated here:
//! - not-HTTP bytes, a Host that is not a host, no Host, two Host fields,
//!   CONNECT and `OPTIONS *`: `failures.rs::malformed_requests_get_400`;
//! - heads over `max_header_bytes` and `max_header_count`:
//!   `failures.rs::headers_over_the_limit_get_431`,
//!   `failures.rs::the_header_field_count_limit_is_configurable`;
//! - a single client dripping header lines, and a stalled body (408):
//!   `failures.rs::a_client_that_drips_its_head_is_cut_off_after_header_read`,
//!   `failures.rs::a_client_that_stops_sending_its_body_gets_408_and_the_upstream_is_not_blamed`;
//! - `//api`, `/api/./v1`, `%76%31`, `..%2F`, backslashes, `..;`:
//!   `cors.rs::routes_match_the_normal_form_of_the_path_which_is_what_the_upstream_is_sent`;
//! - final dots and upper case in Host, absolute-form targets against Host,
//!   userinfo in an absolute-form target:
//!   `cors.rs::host_routes_hold_for_final_dots_and_absolute_form_targets`;
//! - an HTTP/2 Host that differs from `:authority`:
//!   `protocols.rs::an_http2_host_that_differs_from_the_authority_is_a_400`;
//! - `cors = false` passing the upstream's headers through:
//!   `cors.rs::cors_false_passes_everything_through_untouched`.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The request a smuggling attempt hides: it must never reach the upstream.
const HIDDEN: &str = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

/// How a smuggling attempt may safely end.
#[derive(Clone, Copy, Debug)]
enum Safe {
    /// Only a 400 is safe: RFC 9112 says the request must be refused.
    Refused,
    /// A 400, or the request forwarded once with one unambiguous framing
    /// (the gateway read it one way and told the upstream that way).
    RefusedOrForwarded,
    /// Content-Length beside a chunked Transfer-Encoding: a 400, or (RFC
    /// 9112 §6.1) the request read by its chunks alone, forwarded chunked
    /// without the length, and the connection closed after the answer, so
    /// nothing after the chunks is read as a request.
    RefusedOrChunkedThenClosed,
    /// A body that breaks after its head was forwarded: a 4xx (400, or
    /// 408 once `body_read` passes), or the connection closed without an
    /// answer; never a 2xx, and the upstream never receives it whole.
    NeverWhole,
}

/// Sends `request` on a fresh connection to a gateway in front of a
/// [`recording_upstream`], and checks the outcome: no hidden request and
/// no ambiguous framing ever reaches the upstream, and the answer is one
/// `safe` allows.
async fn attempt(name: &str, request: &[u8], safe: Safe) {
    let (upstream, recorder) = recording_upstream().await;
    // A body left hanging ends in a 408 within the test's bounds.
    let gw = gateway(&config_text(upstream, "[timeouts]\nbody_read = \"1s\"\n")).await;
    let (answer, ended) = raw_exchange(gw.addr, request, Duration::from_millis(500)).await;
    // Give a smuggled request that was queued time to arrive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lines = recorder.request_lines();
    assert!(
        lines.iter().all(|l| !l.contains("/smuggled")),
        "{name}: a hidden request reached the upstream: {lines:?}\nanswer: {answer}"
    );
    assert!(
        recorder.problems().is_empty(),
        "{name}: {:?}",
        recorder.problems()
    );
    let refused = answer.starts_with("HTTP/1.1 400");
    let ok = answer.starts_with("HTTP/1.1 200");
    let forwarded_once = ok && lines.len() == 1 && recorder.answered() == 1;
    let verdict = match safe {
        Safe::Refused => refused,
        Safe::RefusedOrForwarded => refused || forwarded_once,
        Safe::RefusedOrChunkedThenClosed => {
            refused
                || forwarded_once
                    && ended == Ended::Closed
                    && answer
                        .to_ascii_lowercase()
                        .contains("\r\nconnection: close\r\n")
                    && recorder.heads()[0]
                        .to_ascii_lowercase()
                        .contains("\r\ntransfer-encoding: chunked")
        }
        Safe::NeverWhole => {
            recorder.answered() == 0
                && (answer.starts_with("HTTP/1.1 4") || answer.is_empty() && ended == Ended::Closed)
        }
    };
    assert!(
        verdict,
        "{name}: not {safe:?}: {answer:?} ({ended:?}), upstream saw {:?}, answered {}",
        recorder.heads(),
        recorder.answered()
    );
    if refused {
        assert_eq!(
            recorder.answered(),
            0,
            "{name}: refused, yet the upstream got it whole: {lines:?}"
        );
    }
    still_answers(&gw).await;
}

/// `POST /first` with the `fields` (each ending in CRLF) and `body`.
fn post(fields: &str, body: &str) -> Vec<u8> {
    format!("POST /first HTTP/1.1\r\nHost: x\r\nOrigin: {APP}\r\n{fields}\r\n{body}").into_bytes()
}

#[tokio::test]
async fn content_length_and_transfer_encoding_together_smuggle_nothing() {
    let chunked_then_hidden = format!("0\r\n\r\n{HIDDEN}");
    // CL.TE: a reader of Content-Length sees the hidden request as body
    // of the first; a reader of the chunks sees it as a second request.
    attempt(
        "CL then TE",
        &post(
            &format!(
                "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
                chunked_then_hidden.len()
            ),
            &chunked_then_hidden,
        ),
        Safe::RefusedOrChunkedThenClosed,
    )
    .await;
    attempt(
        "TE then CL",
        &post(
            &format!(
                "Transfer-Encoding: chunked\r\nContent-Length: {}\r\n",
                chunked_then_hidden.len()
            ),
            &chunked_then_hidden,
        ),
        Safe::RefusedOrChunkedThenClosed,
    )
    .await;
    // TE.CL: the chunk holds the hidden request; a reader of
    // Content-Length: 4 takes `3d\r\n` and then sees it as a request.
    let chunk = format!("{:x}\r\n{HIDDEN}\r\n0\r\n\r\n", HIDDEN.len());
    attempt(
        "TE.CL",
        &post(
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
            &chunk,
        ),
        Safe::RefusedOrChunkedThenClosed,
    )
    .await;
    // HTTP/1.0 has no chunked coding: the length is all there is, and a
    // Transfer-Encoding beside it is a smuggling attempt.
    let mut old = format!(
        "POST /first HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: {}\r\n\r\n",
        chunked_then_hidden.len()
    )
    .into_bytes();
    old.extend_from_slice(chunked_then_hidden.as_bytes());
    attempt("HTTP/1.0 with both", &old, Safe::Refused).await;
}

#[tokio::test]
async fn two_content_lengths_are_refused() {
    let hidden_len = HIDDEN.len();
    for (name, fields) in [
        (
            "two fields",
            format!("Content-Length: 0\r\nContent-Length: {hidden_len}\r\n"),
        ),
        ("one list", format!("Content-Length: 0, {hidden_len}\r\n")),
        ("a sign", format!("Content-Length: +{hidden_len}\r\n")),
        (
            "hexadecimal",
            format!("Content-Length: 0x{hidden_len:x}\r\n"),
        ),
    ] {
        attempt(name, &post(&fields, HIDDEN), Safe::Refused).await;
    }
}

#[tokio::test]
async fn odd_transfer_encodings_smuggle_nothing() {
    let chunked_then_hidden = format!("0\r\n\r\n{HIDDEN}");
    let len = chunked_then_hidden.len();
    // Each with a Content-Length beside it: whichever of the two a server
    // believes, another may believe the other.
    // Chunked last (case and surrounding whitespace do not count): read
    // by the chunks, and closed after.
    for coding in [
        "CHUNKED",
        "chunked\t",
        "\tchunked",
        "identity, chunked",
        " chunked , chunked",
    ] {
        attempt(
            &format!("Transfer-Encoding: {coding:?} with a length"),
            &post(
                &format!("Transfer-Encoding: {coding}\r\nContent-Length: {len}\r\n"),
                &chunked_then_hidden,
            ),
            Safe::RefusedOrChunkedThenClosed,
        )
        .await;
    }
    // Chunked not last, twice, or not chunked at all: RFC 9112 §6.3 says
    // 400 and close.
    for coding in [
        "chunked, identity",
        "xchunked",
        "chunked-x",
        "chu nked",
        "\"chunked\"",
    ] {
        attempt(
            &format!("Transfer-Encoding: {coding:?} with a length"),
            &post(
                &format!("Transfer-Encoding: {coding}\r\nContent-Length: {len}\r\n"),
                &chunked_then_hidden,
            ),
            Safe::Refused,
        )
        .await;
    }
    // Without a length, a coding that is not chunked last leaves the body
    // undelimited: refused (RFC 9112 §6.3, 400 and close), or at least
    // never read as chunks here and a request there.
    for coding in ["chunked, identity", "xchunked", "identity", "gzip"] {
        attempt(
            &format!("Transfer-Encoding: {coding:?} alone"),
            &post(
                &format!("Transfer-Encoding: {coding}\r\n"),
                &chunked_then_hidden,
            ),
            Safe::Refused,
        )
        .await;
    }
    // Two Transfer-Encoding fields.
    attempt(
        "two Transfer-Encoding fields",
        &post(
            &format!("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: {len}\r\n"),
            &chunked_then_hidden,
        ),
        Safe::Refused,
    )
    .await;
}

#[tokio::test]
async fn malformed_field_lines_are_refused() {
    let chunked_then_hidden = format!("0\r\n\r\n{HIDDEN}");
    let len = chunked_then_hidden.len();
    let cases = [
        // obs-fold: a continuation line that some servers join to the
        // field above, making it `Transfer-Encoding: chunked`.
        (
            "obs-fold",
            format!("Content-Length: {len}\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n"),
        ),
        (
            "obs-fold with a tab",
            format!("Content-Length: {len}\r\nTransfer-Encoding: identity\r\n\tchunked\r\n"),
        ),
        // A space before the colon (RFC 9112 §5.1: must be 400).
        (
            "space before the colon",
            format!("Content-Length: {len}\r\nTransfer-Encoding : chunked\r\n"),
        ),
        (
            "tab before the colon",
            format!("Content-Length: {len}\r\nTransfer-Encoding\t: chunked\r\n"),
        ),
        // A bare CR inside a value hides a field from a reader that
        // splits at CR.
        (
            "CR in a value",
            format!("Content-Length: {len}\r\nX-A: a\rTransfer-Encoding: chunked\r\n"),
        ),
        (
            "NUL in a value",
            format!("Content-Length: {len}\r\nX-A: a\0b\r\n"),
        ),
        (
            "NUL in a name",
            format!("Content-Length: {len}\r\nX\0A: b\r\n"),
        ),
        (
            "a field without a colon",
            format!("Content-Length: {len}\r\nTransfer-Encoding chunked\r\n"),
        ),
    ];
    for (name, fields) in cases {
        attempt(name, &post(&fields, &chunked_then_hidden), Safe::Refused).await;
    }
}

#[tokio::test]
async fn bare_line_feeds_do_not_split_the_stream_differently() {
    // A head with bare LF line endings: refused, or read as one request
    // whose body (the hidden request, exactly its length) goes upstream as
    // a body, framed by a length.
    let head = format!(
        "POST /first HTTP/1.1\nHost: x\nOrigin: {APP}\nContent-Length: {}\n\n{HIDDEN}",
        HIDDEN.len()
    );
    attempt("bare LF head", head.as_bytes(), Safe::RefusedOrForwarded).await;
    // A bare LF ending one field only, hiding a Transfer-Encoding from a
    // reader that wants CRLF.
    let mixed = post(
        &format!(
            "X-A: a\nTransfer-Encoding: chunked\r\nContent-Length: {}\r\n",
            HIDDEN.len()
        ),
        HIDDEN,
    );
    attempt("a bare LF inside the head", &mixed, Safe::Refused).await;
    // Chunk lines ended by bare LF.
    let body = format!("{:x}\n{HIDDEN}\n0\n\n", HIDDEN.len());
    attempt(
        "bare LF in chunk lines",
        &post("Transfer-Encoding: chunked\r\n", &body),
        Safe::RefusedOrForwarded,
    )
    .await;
}

#[tokio::test]
async fn malformed_chunk_sizes_never_reach_the_upstream_whole() {
    let len = HIDDEN.len();
    for (name, size) in [
        ("the largest u64", "ffffffffffffffff".to_owned()),
        ("an overflow", "10000000000000000".to_owned()),
        ("negative", format!("-{len:x}")),
        ("0x prefix", format!("0x{len:x}")),
        ("not hex", "zz".to_owned()),
        ("empty", String::new()),
        ("a space inside", format!("{} {}", len / 16, len % 16)),
        ("an extension with a bare CR", format!("{len:x};a=\rb")),
    ] {
        let body = format!("{size}\r\n{HIDDEN}\r\n0\r\n\r\n");
        attempt(
            &format!("chunk size {name}"),
            &post("Transfer-Encoding: chunked\r\n", &body),
            Safe::NeverWhole,
        )
        .await;
    }
    // Bytes a strict parser refuses in an extension, which the gateway
    // drops as it re-frames the body, and leading zeros (legal, but past
    // what some parsers read): refused, or passed on re-framed.
    for (name, size) in [
        ("leading zeros past 16 digits", format!("{len:0>20x}")),
        ("an extension with NUL", format!("{len:x};\0")),
        ("an extension with a quote", format!("{len:x};a=\"b")),
    ] {
        let body = format!("{size}\r\n{HIDDEN}\r\n0\r\n\r\n");
        attempt(
            &format!("chunk size {name}"),
            &post("Transfer-Encoding: chunked\r\n", &body),
            Safe::RefusedOrForwarded,
        )
        .await;
    }
    // An extension is legal, however long within reason: the body is
    // passed on whole, and what follows the last chunk is not a request.
    let body = format!(
        "{:x};name=\"va;lue\";x\r\n{HIDDEN}\r\n0;last\r\n\r\n",
        HIDDEN.len()
    );
    attempt(
        "chunk extensions",
        &post("Transfer-Encoding: chunked\r\n", &body),
        Safe::RefusedOrForwarded,
    )
    .await;
}

/// A request after one with ambiguous framing is never served on the same
/// connection, and a request hidden in a well-framed body stays a body.
#[tokio::test]
async fn a_request_hidden_in_a_body_stays_a_body() {
    let (upstream, recorder) = recording_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    // The hidden request is exactly the body: forwarded as a body, with
    // its length, and only one request reaches the upstream.
    let request = post(&format!("Content-Length: {}\r\n", HIDDEN.len()), HIDDEN);
    let answer = raw_briefly(gw.addr, &request, Duration::from_millis(500)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(recorder.request_lines(), ["POST /first HTTP/1.1"]);
    let head = &recorder.heads()[0];
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", HIDDEN.len())),
        "{head}"
    );
    assert!(recorder.problems().is_empty(), "{:?}", recorder.problems());
    // A chunked body carrying the hidden request in its data.
    let body = format!("{:x}\r\n{HIDDEN}\r\n0\r\n\r\n", HIDDEN.len());
    let answer = raw_briefly(
        gw.addr,
        &post("Transfer-Encoding: chunked\r\n", &body),
        Duration::from_millis(500),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        recorder.request_lines(),
        ["POST /first HTTP/1.1", "POST /first HTTP/1.1"]
    );
    assert!(recorder.problems().is_empty(), "{:?}", recorder.problems());
    still_answers(&gw).await;
}

#[tokio::test]
async fn malformed_request_lines_are_refused() {
    for (name, line) in [
        ("two spaces", "GET  /smuggled HTTP/1.1"),
        ("a tab", "GET\t/smuggled HTTP/1.1"),
        ("a space in the target", "GET /smug gled HTTP/1.1"),
        ("trailing words", "GET /smuggled HTTP/1.1 x"),
        ("a lower-case version", "GET /smuggled http/1.1"),
        ("HTTP/1.2", "GET /smuggled HTTP/1.2"),
        ("HTTP/2 on an HTTP/1 head", "GET /smuggled HTTP/2.0"),
        ("no version", "GET /smuggled"),
        ("a NUL in the target", "GET /smug\0gled HTTP/1.1"),
    ] {
        let request = format!("{line}\r\nHost: x\r\nOrigin: {APP}\r\n\r\n");
        attempt(name, request.as_bytes(), Safe::Refused).await;
    }
}

/// Extracts `"uri":"..."` from an echo upstream's answer.
fn echoed_uri(answer: &str) -> Option<&str> {
    let start = answer.find("\"uri\":\"")? + "\"uri\":\"".len();
    let len = answer[start..].find('"')?;
    Some(&answer[start..start + len])
}

/// The value of a header in a raw answer, if present.
fn raw_header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Whether `path` is in the route with `prefix` (segment boundary, or a `;`).
fn in_route(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', ';', '?']))
}

/// Whatever a path trick does, the policy applied is the one of the route
/// that matches the path the upstream is sent: a `cors = false` route (the
/// upstream's own `access-control-allow-origin: *` passes) cannot be
/// reached with a path the upstream reads as another route's, nor the
/// reverse.
#[tokio::test]
async fn path_tricks_get_the_policy_of_the_path_the_upstream_sees() {
    let (upstream, _) = echo_upstream().await;
    let routes = r#"
[[routes]]
path_prefix = "/open"
cors = false

[[routes]]
path_prefix = "/api"
[routes.policy]
origins = ["https://v1.example"]
"#;
    let gw = gateway(&config_text(upstream, routes)).await;
    let paths = [
        "/open/%2e%2e/api/x",
        "/open/%2E%2E/api/x",
        "/open/.%2e/api/x",
        "/open/%2e./api/x",
        "/open/./../api/x",
        "/open/x/%2e%2e/%2e%2e/api/x",
        "/open/../../../api/x",
        "/./open/../api/x",
        "/api/%2e%2e/open/x",
        "/api/..%2fopen/x",
        "/open%2F..%2Fapi/x",
        "/open/..%5Capi/x",
        "/open/..\\api/x",
        "/open;x/../api/x",
        "/open/%2e%2e;x/api/x",
        "/%6fpen/%2e%2e/api/x",
        "/OPEN/x",
        "/Api/x",
        "/open%00/x",
        "/api%2e/x",
        "/open.%2e/api/x",
        "/open/%252e%252e/api/x",
        "/%2fapi/x",
    ];
    for path in paths {
        for origin in [EVIL, "https://v1.example"] {
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"
            );
            let answer = raw_briefly(gw.addr, request.as_bytes(), Duration::from_millis(500)).await;
            if answer.starts_with("HTTP/1.1 400") {
                // Refused: fine, as long as the upstream's `*` is not on it.
                assert_ne!(
                    raw_header(&answer, "access-control-allow-origin"),
                    Some("*"),
                    "{path}: {answer}"
                );
                continue;
            }
            assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
            let seen = echoed_uri(&answer)
                .unwrap_or_else(|| panic!("{path}: no echo: {answer}"))
                .to_owned();
            let allow = raw_header(&answer, "access-control-allow-origin");
            let expected = if in_route(&seen, "/open") {
                // cors = false: the upstream's own header, whatever the origin.
                Some("*")
            } else if in_route(&seen, "/api") {
                (origin == "https://v1.example").then_some("https://v1.example")
            } else {
                // The default policy allows APP only.
                None
            };
            assert_eq!(
                allow, expected,
                "{path} (sent upstream as {seen}) from {origin}: {answer}"
            );
        }
    }
    still_answers(&gw).await;
}

/// A gateway whose default policy allows any origin, with a host route
/// for `secure.example.com` that allows APP only.
async fn host_route_gateway() -> TestGateway {
    let (upstream, _) = echo_upstream().await;
    let config = format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\nadmin_listen = \"127.0.0.1:0\"\n[policy]\norigins = [\"*\"]\nmethods = [\"PUT\"]\n\n[[routes]]\npath_prefix = \"/\"\nhost = \"secure.example.com\"\n[routes.policy]\norigins = [\"{APP}\"]\nmethods = [\"PUT\"]\n"
    );
    gateway(&config).await
}

/// Sends a GET from EVIL with each `Host` value and each absolute-form
/// target; returns those the upstream answered with the default policy's
/// `access-control-allow-origin` (the host route would have sent none).
/// A 400 of the gateway's own may carry the default policy's headers: it
/// reveals nothing, so it does not count.
async fn escapes(gw: &TestGateway, hosts: &[&str], targets: &[&str]) -> Vec<String> {
    let mut requests = Vec::new();
    for host in hosts {
        requests.push((
            format!("Host: {host:?}"),
            format!(
                "GET /x HTTP/1.1\r\nHost: {host}\r\nOrigin: {EVIL}\r\nConnection: close\r\n\r\n"
            ),
        ));
    }
    for target in targets {
        requests.push((
            format!("target {target:?}"),
            format!("GET {target} HTTP/1.1\r\nHost: other.test\r\nOrigin: {EVIL}\r\nConnection: close\r\n\r\n"),
        ));
    }
    let mut escaped = Vec::new();
    for (name, request) in requests {
        let answer = raw_briefly(gw.addr, request.as_bytes(), Duration::from_millis(500)).await;
        assert!(
            answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 200"),
            "{name}: {answer}"
        );
        if answer.starts_with("HTTP/1.1 200")
            && raw_header(&answer, "access-control-allow-origin").is_some()
        {
            escaped.push(name);
        }
    }
    escaped
}

/// A host route's strict policy holds for every spelling of its host that
/// a server may take for it (case, final dot, ports, whitespace), and for
/// absolute-form targets naming it; malformed spellings (userinfo, paths,
/// two ports) are refused.
#[tokio::test]
async fn host_spellings_do_not_escape_a_host_route() {
    let gw = host_route_gateway().await;
    let hosts = [
        "SECURE.EXAMPLE.COM",
        "secure.example.com.",
        "secure.example.com:",
        "secure.example.com.:",
        "secure.example.com:0080",
        "secure.example.com:80:80",
        "secure.example.com ",
        "secure.example.com\t",
        "Secure.Example.Com.:443",
        "secure.example.com@other.test",
        "other.test@secure.example.com",
        "secure.example.com/x",
        "secure.example.com\\x",
    ];
    let targets = [
        "http://SECURE.example.com./x",
        "http://secure.example.com:80/x",
        "http://secure.example.com.:8080/x",
        "HTTP://secure.example.com/x",
        "https://secure.example.com/x",
    ];
    let escaped = escapes(&gw, &hosts, &targets).await;
    assert!(
        escaped.is_empty(),
        "given the default policy instead of the host route's: {escaped:?}"
    );
    let pre = preflight(&gw.url("/x"), APP, "PUT", None).await;
    assert_eq!(pre.status, http::StatusCode::NO_CONTENT);
    still_answers(&gw).await;
}

/// Spellings no DNS name has, which some servers still read as the host
/// route's host: percent-encoding (RFC 3986 normalises `%2e` to `.`, as
/// WHATWG URL parsers do), a list (servers that take the first or last
/// element), two final dots. Safe: refused, or routed as that host.
#[tokio::test]
async fn host_spellings_no_dns_name_has_are_refused_or_routed_as_their_host() {
    let gw = host_route_gateway().await;
    let hosts = [
        "secure.example.com..",
        "secure.example.com%2e",
        "secure%2eexample.com",
        "secure.example.com,other.test",
        "other.test,secure.example.com",
    ];
    let targets = [
        "http://secure%2eexample.com/x",
        "http://secure.example.com../x",
    ];
    let escaped = escapes(&gw, &hosts, &targets).await;
    assert!(
        escaped.is_empty(),
        "given the default policy instead of the host route's: {escaped:?}"
    );
    still_answers(&gw).await;
}

/// A config with short client timeouts in front of an echo upstream.
async fn short_timeouts_gateway() -> TestGateway {
    let (upstream, _) = echo_upstream().await;
    gateway(&config_text(
        upstream,
        "[timeouts]\nheader_read = \"1s\"\nbody_read = \"1s\"\nidle = \"30s\"\n",
    ))
    .await
}

/// Asserts that a normal GET through the gateway gets its answer promptly.
async fn a_normal_request_is_served(gw: &TestGateway) {
    let reply = tokio::time::timeout(PROMPTLY, get(&gw.url("/normal"), &[("origin", APP)]))
        .await
        .expect("a normal request is served promptly");
    assert_eq!(reply.status, http::StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
}

/// Reads from `stream` until it is closed, for at most `bound`; true if it
/// was closed (EOF or reset) in time. What arrives first is ignored.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(bound, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// Slowloris: many clients dripping their heads one byte at a time are
/// cut off after `header_read`, and other clients are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_are_cut_off_while_others_are_served() {
    let gw = short_timeouts_gateway().await;
    let started = tokio::time::Instant::now();
    let head = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut drippers = Vec::new();
    for _ in 0..50 {
        let addr = gw.addr;
        drippers.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0u8; 512];
            // One byte every 100 ms, never the end of the head; stops at
            // the first sign of the gateway closing, or after 10 s.
            for byte in head.iter().cycle().take(100) {
                tokio::select! {
                    read = stream.read(&mut buf) => {
                        if matches!(read, Ok(0) | Err(_)) { return Some(started.elapsed()); }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        if stream.write_all(&[*byte]).await.is_err() {
                            return Some(started.elapsed());
                        }
                    }
                }
            }
            None
        }));
    }
    // While they drip, normal clients are served.
    for _ in 0..5 {
        a_normal_request_is_served(&gw).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for dripper in drippers {
        let cut = dripper
            .await
            .unwrap()
            .expect("a dripping client is cut off");
        assert!(cut >= Duration::from_millis(900), "cut too early: {cut:?}");
        assert!(cut < Duration::from_secs(4), "cut too late: {cut:?}");
    }
    still_answers(&gw).await;
    a_normal_request_is_served(&gw).await;
}

/// Clients that stall in their bodies get 408 after `body_read`, each,
/// while other clients are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_get_408_while_others_are_served() {
    let gw = short_timeouts_gateway().await;
    let started = tokio::time::Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let addr = gw.addr;
        stalled.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let head = format!(
                "POST /upload HTTP/1.1\r\nHost: x\r\nOrigin: {APP}\r\nContent-Length: 1000\r\n\r\nabc"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
            (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
        }));
    }
    for _ in 0..5 {
        a_normal_request_is_served(&gw).await;
    }
    for task in stalled {
        let (answer, after) = task.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(after >= Duration::from_millis(900), "{after:?}");
        assert!(after < Duration::from_secs(4), "{after:?}");
    }
    still_answers(&gw).await;
}

/// A body dripped one byte at a time, each within `body_read`, is a slow
/// upload, not an attack the gateway can tell apart: it is read whole.
/// One that pauses longer than `body_read` midway is cut off with 408.
#[tokio::test]
async fn a_dripped_body_is_cut_off_at_its_first_long_pause() {
    let gw = short_timeouts_gateway().await;
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(format!("POST /upload HTTP/1.1\r\nHost: x\r\nOrigin: {APP}\r\nContent-Length: 10\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(b"x").await.unwrap();
    }
    let paused = tokio::time::Instant::now();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PROMPTLY, stream.read_to_end(&mut out)).await;
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let waited = paused.elapsed();
    assert!(waited >= Duration::from_millis(600), "{waited:?}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    still_answers(&gw).await;
}

/// 500 connections that send nothing do not keep a normal client from
/// being served, and the gateway closes them after `header_read`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_does_not_starve_normal_clients() {
    const FLOOD: usize = 500;
    let gw = short_timeouts_gateway().await;
    let mut idle = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        let stream = tokio::time::timeout(PROMPTLY, TcpStream::connect(gw.addr))
            .await
            .expect("the gateway accepts connections promptly")
            .expect("the gateway accepts connections");
        idle.push(stream);
    }
    a_normal_request_is_served(&gw).await;
    still_answers(&gw).await;
    // A connection that never sends a byte is closed after header_read
    // (plus the time to walk through them all): it holds nothing for ever.
    // One deadline for them all: a gateway that keeps them open fails the
    // test in seconds, not 500 times a timeout.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    let mut still_open = 0;
    for stream in &mut idle {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !closed_within(stream, left.max(Duration::from_millis(1))).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "idle connections the gateway kept open");
    drop(idle);
    a_normal_request_is_served(&gw).await;
}

/// Clients that open a connection, send half a head and vanish (FIN or
/// RST) in a burst leave nothing behind: the gateway keeps serving.
#[tokio::test]
async fn a_burst_of_abandoned_connections_leaves_the_gateway_serving() {
    let gw = short_timeouts_gateway().await;
    for i in 0..200 {
        let mut stream = TcpStream::connect(gw.addr).await.unwrap();
        let _ = stream
            .write_all(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Le")
            .await;
        if i % 2 == 0 {
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
        }
        drop(stream);
    }
    a_normal_request_is_served(&gw).await;
    still_answers(&gw).await;
}
