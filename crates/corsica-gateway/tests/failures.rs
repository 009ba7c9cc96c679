//! When things go wrong: upstreams that are down, slow, rude or broken,
//! and clients that send too much or nonsense. The gateway's own answers
//! carry CORS headers for an allowed origin, and nothing crashes.

mod common;

use std::time::Duration;

use common::*;
use http::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Asserts a gateway-made error: status, JSON code, and CORS headers.
fn assert_gateway_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.json()["error"], code);
    assert!(reply.json()["detail"].is_string());
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(APP),
        "the page must be able to read the error"
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(reply.joined("vary").contains("Origin"));
}

/// The gateway still answers normally after a failure.
async fn still_serves(gw: &TestGateway) {
    let pre = preflight(&gw.url("/after"), APP, "PUT", None).await;
    assert_eq!(pre.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_upstream_that_is_down_gives_502_with_cors_headers() {
    let gw = gateway(&config_text(down_address().await, "")).await;
    let reply = get(&gw.url("/items"), &[("origin", APP)]).await;
    assert_gateway_error(&reply, StatusCode::BAD_GATEWAY, "upstream_unavailable");
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"connect\"}"),
        1.0
    );
    still_serves(&gw).await;
}

#[tokio::test]
async fn a_slow_upstream_gives_504_with_cors_headers() {
    let (upstream, _) = spawn_upstream(|_req| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        http::Response::new(http_body_util::Full::new(bytes::Bytes::new()))
    })
    .await;
    let gw = gateway(&config_text(
        upstream,
        "[timeouts]\nupstream_response = \"300ms\"\n",
    ))
    .await;
    let reply = get(&gw.url("/slow"), &[("origin", APP)]).await;
    assert_gateway_error(&reply, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout");
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"timeout\"}"),
        1.0
    );
    still_serves(&gw).await;
}

#[tokio::test]
async fn an_upstream_that_resets_the_connection_gives_502() {
    let upstream = raw_upstream(|stream: TcpStream| async move {
        // Close with RST instead of FIN. (Deprecated because a non-zero
        // linger blocks on drop; zero does not.)
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
        drop(stream);
    })
    .await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = get(&gw.url("/reset"), &[("origin", APP)]).await;
    assert_gateway_error(&reply, StatusCode::BAD_GATEWAY, "upstream_protocol_error");
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"protocol\"}"),
        1.0
    );
    still_serves(&gw).await;
}

#[tokio::test]
async fn an_upstream_that_answers_garbage_gives_502() {
    let upstream = raw_upstream(|mut stream: TcpStream| async move {
        let _ = stream
            .write_all(b"SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n")
            .await;
        let _ = stream.shutdown().await;
    })
    .await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = get(&gw.url("/garbage"), &[("origin", APP)]).await;
    assert_gateway_error(&reply, StatusCode::BAD_GATEWAY, "upstream_protocol_error");
    still_serves(&gw).await;
}

#[tokio::test]
async fn a_declared_body_over_the_limit_gets_413_before_it_is_sent() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "[limits]\nmax_body_bytes = 1000\n")).await;
    // Only the head is sent: the gateway must answer without reading on.
    let head = format!(
        "POST /upload HTTP/1.1\r\nhost: x\r\norigin: {APP}\r\ncontent-length: 5000\r\n\r\n"
    );
    let response = raw(gw.addr, head.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("body_too_large"), "{response}");
    assert!(
        response.contains(&format!("access-control-allow-origin: {APP}")),
        "{response}"
    );
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_chunked_body_passing_the_limit_is_cut_off_with_413() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "[limits]\nmax_body_bytes = 1000\n")).await;
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nhost: x\r\norigin: {APP}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // 3 chunks of 400 bytes: the third passes the limit. No final chunk:
    // the body never ends, so only the limit can stop it.
    let chunk = format!("190\r\n{}\r\n", "y".repeat(400));
    for _ in 0..3 {
        stream.write_all(chunk.as_bytes()).await.unwrap();
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await;
    let response = String::from_utf8_lossy(&out);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(&format!("access-control-allow-origin: {APP}")),
        "{response}"
    );
    still_serves(&gw).await;
}

#[tokio::test]
async fn a_body_within_the_limit_passes() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "[limits]\nmax_body_bytes = 1000\n")).await;
    let reply = send(
        &client(),
        Method::POST,
        &gw.url("/u"),
        &[("origin", APP)],
        &[b'z'; 1000],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["body_len"], 1000);
}

#[tokio::test]
async fn malformed_requests_get_400() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    // Not HTTP at all: hyper refuses it before any service sees it.
    let garbage = raw(gw.addr, b"\x16\x03\x01 hello there\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    // HTTP, but a Host that is not a host: the gateway's own 400, with CORS.
    let bad_host = raw(
        gw.addr,
        format!("GET /x HTTP/1.1\r\nhost: a b\r\norigin: {APP}\r\nconnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert!(bad_host.starts_with("HTTP/1.1 400"), "{bad_host}");
    assert!(bad_host.contains("bad_request"), "{bad_host}");
    assert!(
        bad_host.contains(&format!("access-control-allow-origin: {APP}")),
        "{bad_host}"
    );
    // No Host at all on HTTP/1.1.
    let no_host = raw(gw.addr, b"GET /x HTTP/1.1\r\nconnection: close\r\n\r\n").await;
    assert!(no_host.starts_with("HTTP/1.1 400"), "{no_host}");
    // Two Host headers.
    let two_hosts = raw(
        gw.addr,
        b"GET /x HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(two_hosts.starts_with("HTTP/1.1 400"), "{two_hosts}");
    // CONNECT is not proxied.
    let connect = raw(
        gw.addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(connect.starts_with("HTTP/1.1 400"), "{connect}");
    // Nor is a request for the server as a whole.
    let star = raw(
        gw.addr,
        format!("OPTIONS * HTTP/1.1\r\nhost: x\r\norigin: {APP}\r\nconnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert!(star.starts_with("HTTP/1.1 400"), "{star}");
    assert_eq!(calls.get(), 0);
    still_serves(&gw).await;
}

#[tokio::test]
async fn headers_over_the_limit_get_431() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(
        upstream,
        "[limits]\nmax_header_bytes = 2048\n",
    ))
    .await;
    let big = "v".repeat(3000);
    let reply = get(&gw.url("/x"), &[("origin", APP), ("x-big", &big)]).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    // Far over hyper's own buffer: refused while reading, before any service.
    let huge = "v".repeat(100_000);
    let response = raw(
        gw.addr,
        format!("GET /x HTTP/1.1\r\nhost: x\r\nx-huge: {huge}\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    assert_eq!(calls.get(), 0);
    still_serves(&gw).await;
}

#[tokio::test]
async fn a_client_that_drips_its_head_is_cut_off_after_header_read() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(
        upstream,
        "[timeouts]\nheader_read = \"400ms\"\nidle = \"30s\"\n",
    ))
    .await;
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    let started = tokio::time::Instant::now();
    stream.write_all(b"GET /x HTTP/1.1\r\n").await.unwrap();
    let mut buf = [0u8; 256];
    // Keep dripping bytes that never finish the head.
    let closed = async {
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => break read,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if stream.write_all(b"x-drip: 1\r\n").await.is_err() {
                        break Ok(0);
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(PATIENCE, closed)
        .await
        .expect("the gateway closes the connection");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(350),
        "closed too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "closed too late: {waited:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_idle_not_header_read() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(
        upstream,
        "[timeouts]\nheader_read = \"300ms\"\nidle = \"2500ms\"\n",
    ))
    .await;
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"GET /x HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    // Read the first response.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"body_len\"") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response");
        got.extend_from_slice(&buf[..n]);
    }
    // Well past header_read (and well short of idle), the connection is
    // still usable.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stream
        .write_all(b"GET /y HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let second = tokio::time::Instant::now();
    // Then it idles, and is closed after about `idle`.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => rest.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle connection was never closed");
    let idle_for = second.elapsed();
    assert!(
        idle_for >= Duration::from_millis(2000),
        "closed too early: {idle_for:?}"
    );
}

#[tokio::test]
async fn report_only_routes_give_the_gateways_own_errors_cors_headers_too() {
    let routes = "[[routes]]\npath_prefix = \"/legacy\"\nmode = \"report-only\"\n";
    let gw = gateway(&config_text(down_address().await, routes)).await;
    let reply = get(&gw.url("/legacy/x"), &[("origin", APP)]).await;
    assert_gateway_error(&reply, StatusCode::BAD_GATEWAY, "upstream_unavailable");
    let bad_host = get(&gw.url("/legacy/x"), &[("origin", APP), ("host", "a b")]).await;
    assert_gateway_error(&bad_host, StatusCode::BAD_REQUEST, "bad_request");
    // An origin the policy refuses gets none, as on an enforcing route.
    let refused = get(&gw.url("/legacy/x"), &[("origin", EVIL)]).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY);
    assert!(!refused.has_cors_headers(), "{:?}", refused.headers);
}

#[tokio::test]
async fn a_malformed_percent_encoding_is_a_400_with_cors_headers() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let answer = raw(
        gw.addr,
        b"GET /items/%zz HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("access-control-allow-origin: https://app.example"),
        "{answer}"
    );
    assert!(
        answer.contains("not followed by two hexadecimal digits"),
        "{answer}"
    );
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn an_unasked_for_101_is_a_502_on_both_clients() {
    let upstream = raw_upstream(|mut stream| async move {
        let _ = stream
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
            )
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    let gw = gateway(&config_text(upstream, "")).await;
    // A GET goes over the inline client, a POST with a body over hyper's.
    let reply = get(&gw.url("/items"), &[("origin", APP)]).await;
    assert_gateway_error(&reply, StatusCode::BAD_GATEWAY, "upstream_protocol_error");
    let reply = send(
        &client(),
        Method::POST,
        &gw.url("/items"),
        &[("origin", APP)],
        b"{}",
    )
    .await;
    assert_gateway_error(&reply, StatusCode::BAD_GATEWAY, "upstream_protocol_error");
    still_serves(&gw).await;
}

#[tokio::test]
async fn a_body_that_breaks_after_the_head_is_logged_and_counted() {
    let upstream = raw_upstream(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n")
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    let gw = gateway(&config_text(upstream, "")).await;
    let url = gw.url("/items");
    let outcome = client()
        .request(
            http::Request::get(&url)
                .header("origin", APP)
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await;
    // The head may or may not have left before the body broke; either
    // way the client never gets a complete response.
    if let Ok(response) = outcome {
        use http_body_util::BodyExt;
        assert!(response.into_body().collect().await.is_err());
    }
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"protocol\"}"),
        1.0
    );
    still_serves(&gw).await;
}

#[tokio::test]
async fn a_head_a_little_over_the_limit_gets_the_gateways_431_with_cors_headers() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(
        upstream,
        "[limits]\nmax_header_bytes = 4096\n",
    ))
    .await;
    let big = "x".repeat(6000);
    let reply = get(&gw.url("/items"), &[("origin", APP), ("x-big", &big)]).await;
    assert_gateway_error(
        &reply,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    );
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_client_that_stops_sending_its_body_gets_408_and_the_upstream_is_not_blamed() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(
        upstream,
        "[timeouts]\nbody_read = \"300ms\"\nupstream_response = \"10s\"\n",
    ))
    .await;
    let started = std::time::Instant::now();
    let answer = raw(
        gw.addr,
        b"POST /items HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nContent-Length: 50\r\n\r\nabc",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"body_timeout\""), "{answer}");
    assert!(
        answer.contains("access-control-allow-origin: https://app.example"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"timeout\"}"),
        0.0
    );
}

#[tokio::test]
async fn an_upload_longer_than_upstream_response_is_not_cut_off() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(
        upstream,
        "[timeouts]\nupstream_response = \"300ms\"\nbody_read = \"2s\"\n",
    ))
    .await;
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"POST /items HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nContent-Length: 12\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // 1.2 s of upload, four times the upstream's response timeout.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream.write_all(b"x").await.unwrap();
    }
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"body_len\":12"), "{answer}");
}

/// An upstream that stops sending its body midway holds the client only
/// for `upstream_response` (nginx's `proxy_read_timeout`), on both clients:
/// the inline one (GET) and hyper's (a request with a body).
#[tokio::test]
async fn an_upstream_that_stalls_in_its_body_is_cut_off_and_counted_as_a_timeout() {
    let upstream = raw_upstream(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let gw = gateway(&config_text(
        upstream,
        "[timeouts]\nupstream_response = \"400ms\"\n",
    ))
    .await;
    for (method, body) in [(http::Method::GET, ""), (http::Method::POST, "upload")] {
        let started = std::time::Instant::now();
        let response = client()
            .request(
                http::Request::builder()
                    .method(method.clone())
                    .uri(gw.url("/items"))
                    .header("origin", APP)
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .unwrap(),
            )
            .await
            .expect("the head was passed on");
        assert_eq!(response.status(), StatusCode::OK);
        use http_body_util::BodyExt;
        let collected =
            tokio::time::timeout(Duration::from_secs(5), response.into_body().collect())
                .await
                .expect("the stalled body is cut off, not waited for");
        assert!(
            collected.is_err(),
            "{method}: a cut-short body is not passed off as complete"
        );
        // The pause is timed on the coarse clock (clock.rs), which may lag
        // the fine one by a scheduler tick: allow one tick and a little more.
        assert!(
            started.elapsed() >= Duration::from_millis(390),
            "{method}: cut off after {:?}",
            started.elapsed()
        );
    }
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"timeout\"}"),
        2.0
    );
}

/// More header fields than `limits.max_header_count` is the parser's bare
/// 431; the limit can be raised.
#[tokio::test]
async fn the_header_field_count_limit_is_configurable() {
    // Answers with the number of x-f fields it received (hyper's own
    // server would refuse more than 100).
    let upstream = tcp_upstream("127.0.0.1:0", |mut stream| async move {
        let head = String::from_utf8_lossy(&read_head(&mut stream).await).into_owned();
        let count = head
            .lines()
            .filter(|l| l.starts_with("x-f") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count()
            .to_string();
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{count}",
            count.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
    })
    .await;
    let many: String = (0..120).map(|i| format!("x-f{i}: 1\r\n")).collect();
    let request =
        format!("GET /items HTTP/1.1\r\nHost: api.example\r\nOrigin: {APP}\r\n{many}Connection: close\r\n\r\n");
    let default = gateway(&config_text(upstream, "")).await;
    let refused = raw(default.addr, request.as_bytes()).await;
    assert!(refused.starts_with("HTTP/1.1 431"), "{refused}");
    let raised = gateway(&config_text(upstream, "[limits]\nmax_header_count = 150\n")).await;
    let passed = raw(raised.addr, request.as_bytes()).await;
    assert!(passed.starts_with("HTTP/1.1 200"), "{passed}");
    assert!(
        passed.ends_with("\r\n\r\n120"),
        "every field reached the upstream: {passed}"
    );
}

#[tokio::test]
async fn a_huge_chunk_cut_short_by_a_close_is_logged_and_counted() {
    // The chunk claims 2^64 - 1 bytes, sends three, and the upstream closes:
    // a truncation like any other, not a quiet end of the response.
    let upstream = raw_upstream(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = stream.write_all(b"ffffffffffffffff\r\nabc").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = stream.write_all(&[b'x'; 70_000]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    })
    .await;
    let gw = gateway(&config_text(upstream, "")).await;
    let url = gw.url("/items");
    // Without a body on the gateway's own client, with one on hyper's.
    for (n, body) in [(1.0, ""), (2.0, "{}")] {
        let method = if body.is_empty() { "GET" } else { "POST" };
        let outcome = client()
            .request(
                http::Request::builder()
                    .method(method)
                    .uri(&url)
                    .header("origin", APP)
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .unwrap(),
            )
            .await;
        if let Ok(response) = outcome {
            use http_body_util::BodyExt;
            assert!(
                response.into_body().collect().await.is_err(),
                "{method}: a truncated body must not end like a complete one"
            );
        }
        let text = metrics(&gw).await;
        assert_eq!(
            metric(&text, "corsica_upstream_errors_total{kind=\"protocol\"}"),
            n,
            "{method}: {text}"
        );
    }
    still_serves(&gw).await;
}

/// The review's reproduction: a 120 KB field, between `max_header_bytes`
/// (the default, 64 KiB) and twice that, got 204 on a preflight, which the
/// layer answers, and 431 on a GET. Every request over the limit now gets
/// the gateway's 431, whichever part of the gateway would have answered;
/// the other per-request checks (Host, target) hold for preflights too.
#[tokio::test]
async fn a_preflight_over_the_header_limit_gets_431_like_any_request() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let pad = "p".repeat(120 * 1024);
    let preflight = [
        ("origin", APP),
        ("access-control-request-method", "PUT"),
        ("x-pad", pad.as_str()),
    ];
    let client = client();
    let reply = send(&client, Method::OPTIONS, &gw.url("/items"), &preflight, b"").await;
    assert_eq!(
        reply.status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "{:?}",
        reply.body
    );
    assert_eq!(reply.json()["error"], "headers_too_large");
    assert!(
        !reply.has_cors_headers(),
        "a refused preflight carries no grant"
    );
    let reply = get(&gw.url("/items"), &[("origin", APP), ("x-pad", &pad)]).await;
    assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // Two Host fields are refused on a preflight as on a GET.
    let response = raw(
        gw.addr,
        format!(
            "OPTIONS /items HTTP/1.1\r\nhost: a\r\nhost: b\r\norigin: {APP}\r\naccess-control-request-method: PUT\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert_eq!(calls.get(), 0);
    // A preflight within the limits is still answered by the layer.
    let reply = send(
        &client,
        Method::OPTIONS,
        &gw.url("/items"),
        &preflight[..2],
        b"",
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    still_serves(&gw).await;
}
