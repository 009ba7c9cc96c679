//! Upstream response framings through the gateway, over real TCP: every way
//! an HTTP/1.x upstream may delimit a body reaches the client whole, with
//! the policy's headers, and the connection is reused only when that is
//! safe. Requests without a body travel on the gateway's own HTTP/1.1
//! client; requests with one on hyper's, over the same pool.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use http::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An upstream answering every request on a connection with `answer`,
/// counting the connections it accepts; it closes the connection after
/// answering when `close` is set.
async fn scripted(answer: &'static [u8], close: bool) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let addr = tcp_upstream("127.0.0.1:0", move |mut stream| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            loop {
                let head = read_head(&mut stream).await;
                if head.is_empty() {
                    return;
                }
                // A POST's body follows its head: read its declared length.
                if let Some(len) = declared_length(&head) {
                    let mut body = vec![0u8; len];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                }
                if stream.write_all(answer).await.is_err() || close {
                    return;
                }
            }
        }
    })
    .await;
    (addr, accepted)
}

fn declared_length(head: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let line = text.lines().find(|l| l.starts_with("content-length:"))?;
    let len: usize = line["content-length:".len()..].trim().parse().ok()?;
    // The head read may have taken part of the body already; these tests
    // send small bodies in the same segment, so what is left is zero.
    let after = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some(len.saturating_sub(head.len() - after))
}

/// A gateway with the test policy in front of a [`scripted`] upstream, and
/// the count of connections that upstream accepts.
async fn gateway_before(answer: &'static [u8], close: bool) -> (TestGateway, Arc<AtomicUsize>) {
    let (upstream, accepted) = scripted(answer, close).await;
    (gateway(&config_text(upstream, "")).await, accepted)
}

/// How many upstream connections three GETs take when the upstream
/// answers each with `answer` (whose body must be `ok`).
async fn connections_for_three_gets(answer: &'static [u8]) -> usize {
    let (gw, accepted) = gateway_before(answer, false).await;
    for _ in 0..3 {
        let reply = get(&gw.url("/items"), &[("origin", APP)]).await;
        assert_eq!(&reply.body[..], b"ok");
    }
    accepted.load(Ordering::SeqCst)
}

async fn through(answer: &'static [u8], close: bool) -> Reply {
    let (gw, _) = gateway_before(answer, close).await;
    get(&gw.url("/items"), &[("origin", APP)]).await
}

#[tokio::test]
async fn every_framing_arrives_whole_with_cors_headers() {
    // (what the upstream sends, whether it then closes, the body expected)
    let cases: [(&'static [u8], bool, &[u8]); 4] = [
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            false,
            b"ok",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\naccess-control-allow-origin: *\r\n\r\n4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nx-trailer: t\r\n\r\n",
            false,
            b"wikipedia",
        ),
        (
            b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end",
            true,
            b"until the end",
        ),
        (
            b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            false,
            b"ok",
        ),
    ];
    for (answer, close, body) in cases {
        let what = String::from_utf8_lossy(answer);
        let reply = through(answer, close).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}");
        assert_eq!(&reply.body[..], body, "{what}");
        // One source of truth: an upstream's own CORS header is replaced.
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some(APP),
            "{what}"
        );
    }
}

#[tokio::test]
async fn a_head_response_keeps_its_length_and_sends_no_body() {
    let (gw, accepted) =
        gateway_before(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n", false).await;
    let client = client();
    for _ in 0..3 {
        let reply = send(
            &client,
            Method::HEAD,
            &gw.url("/items"),
            &[("origin", APP)],
            b"",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("content-length"), Some("1234"));
        assert!(reply.body.is_empty());
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "HEAD responses leave the connection reusable"
    );
}

#[tokio::test]
async fn ambiguous_or_broken_framing_is_a_502_with_cors_headers() {
    for answer in [
        &b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok"[..],
        b"HTTP/1.1 200 OK\r\ncontent-length: two\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n",
        b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ] {
        let reply = through(answer, false).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{:?}",
            String::from_utf8_lossy(answer)
        );
        assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
        assert_eq!(reply.json()["error"], "upstream_protocol_error");
    }
}

#[tokio::test]
async fn a_transfer_coding_overrides_a_stale_length_on_both_clients() {
    let (gw, _) = gateway_before(
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        false,
    )
    .await;
    // GET goes over the gateway's own client, POST with a body over hyper's.
    for (method, body) in [(Method::GET, &b""[..]), (Method::POST, &b"{}"[..])] {
        let reply = send(
            &client(),
            method.clone(),
            &gw.url("/items"),
            &[("origin", APP)],
            body,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{method}");
        assert_eq!(
            &reply.body[..],
            b"hello",
            "{method}: the whole body, not 3 bytes of it"
        );
        assert_ne!(reply.header("content-length"), Some("3"), "{method}");
    }
}

#[tokio::test]
async fn an_http_1_0_upstream_that_keeps_alive_is_reused() {
    let answer = b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok";
    assert_eq!(connections_for_three_gets(answer).await, 1);
}

#[tokio::test]
async fn a_body_cut_short_is_not_passed_off_as_complete() {
    let (gw, _) = gateway_before(
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this",
        true,
    )
    .await;
    let req = http::Request::get(gw.url("/items"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    // hyper may not have flushed the head when the body fails; either way
    // the client must not receive a complete response.
    let outcome = tokio::time::timeout(PATIENCE, async {
        let response = client().request(req).await?;
        assert_eq!(response.status(), StatusCode::OK);
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .map(|_| ())
            .map_err(|e| e.into())
    })
    .await
    .expect("the gateway ends the response");
    let outcome: Result<(), Box<dyn std::error::Error + Send + Sync>> = outcome;
    assert!(
        outcome.is_err(),
        "a truncated body must not pass for a complete one"
    );
}

#[tokio::test]
async fn stray_bytes_after_a_response_retire_the_connection() {
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA";
    assert_eq!(connections_for_three_gets(answer).await, 3);
}

#[tokio::test]
async fn requests_with_and_without_bodies_share_the_upstream() {
    let (gw, accepted) =
        gateway_before(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", false).await;
    let client = client();
    for i in 0..6 {
        let (method, body): (Method, &'static [u8]) = if i % 2 == 0 {
            (Method::GET, b"")
        } else {
            (Method::POST, b"{\"a\":1}")
        };
        let reply = send(&client, method, &gw.url("/items"), &[("origin", APP)], body).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(&reply.body[..], b"ok");
    }
    // Either client takes over an idle connection of the other's rather
    // than open one more: one connection serves them all.
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_request_reaches_the_upstream_as_written() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = get(
        &gw.url("/echo/path?q=a%20b&x=1"),
        &[
            ("origin", APP),
            ("x-custom", "kept"),
            ("connection", "x-hop"),
            ("x-hop", "dropped"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let echoed = reply.json();
    assert_eq!(echoed["method"], "GET");
    assert_eq!(echoed["uri"], "/echo/path?q=a%20b&x=1");
    let headers = &echoed["headers"];
    assert_eq!(headers["x-custom"], "kept");
    assert!(headers.get("x-hop").is_none(), "{headers}");
    assert_eq!(headers["x-forwarded-proto"], "http");
}

/// The inline client builds each response's header map in the storage of
/// its request's map (and hyper then parses the connection's next request
/// into it): no header of a request may show up in any response.
#[tokio::test]
async fn responses_carry_none_of_the_request_headers() {
    let (gw, _) = gateway_before(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-upstream: 1\r\n\r\nok",
        false,
    )
    .await;
    // Three requests on one client connection, the last one closing it.
    let mut requests = String::new();
    for (i, last) in [(1, false), (2, false), (3, true)] {
        requests.push_str(&format!(
            "GET /items HTTP/1.1\r\nhost: gw\r\norigin: {APP}\r\nx-request-only-{i}: secret\r\n{}\r\n",
            if last { "connection: close\r\n" } else { "" }
        ));
    }
    let replies = raw(gw.addr, requests.as_bytes()).await;
    assert_eq!(replies.matches("HTTP/1.1 200 OK").count(), 3, "{replies}");
    assert_eq!(replies.matches("x-upstream: 1").count(), 3, "{replies}");
    assert!(!replies.contains("x-request-only"), "{replies}");
    assert!(!replies.contains("secret"), "{replies}");
    assert!(!replies.contains("x-forwarded"), "{replies}");
}
