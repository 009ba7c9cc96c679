//! The upstream connection pool for `http://` upstreams: connections are
//! reused, a connection the upstream closed while idle costs no request,
//! and a connection whose response was abandoned midway is not reused.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A raw upstream on `bind` that answers every request on a connection
/// with `response`, counting the connections it accepts. With
/// `close_after_one`, it closes each connection after its first answer
/// without saying so (no `Connection: close`), as a server whose keep-alive
/// timeout just passed does.
async fn counting_upstream(
    bind: &str,
    response: &'static [u8],
    close_after_one: bool,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let addr = tcp_upstream(bind, move |mut stream| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            loop {
                if read_head(&mut stream).await.is_empty() {
                    return;
                }
                if stream.write_all(response).await.is_err() || close_after_one {
                    return;
                }
            }
        }
    })
    .await;
    (addr, accepted)
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

#[tokio::test]
async fn sequential_requests_share_one_upstream_connection() {
    let (upstream, accepted) = counting_upstream("127.0.0.1:0", OK, false).await;
    let gw = gateway(&config_text(upstream, "")).await;
    for _ in 0..20 {
        let reply = get(&gw.url("/items"), &[("origin", APP)]).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(&reply.body[..], b"ok");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_upstream_closing_idle_connections_costs_no_request() {
    let (upstream, accepted) = counting_upstream("127.0.0.1:0", OK, true).await;
    let gw = gateway(&config_text(upstream, "")).await;
    // Back to back, the close often lands after the connection went back to
    // the pool; after a pause the gateway has seen it. Neither may fail.
    for i in 0..30 {
        let reply = get(&gw.url("/items"), &[("origin", APP)]).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "request {i}: {:?}",
            reply.body
        );
        if i % 3 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 30);
}

#[tokio::test]
async fn a_response_abandoned_midway_does_not_poison_the_pool() {
    // The first body is announced as 1 MiB but only a part is sent, so a
    // client that gives up leaves the connection mid-response.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let upstream = raw_upstream(move |mut stream| {
        let counter = counter.clone();
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\n\r\npartial")
                    .await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            } else {
                let _ = stream.write_all(OK).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        }
    })
    .await;
    let gw = gateway(&config_text(upstream, "")).await;
    let client = client();
    let req = http::Request::get(gw.url("/big"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let response = client.request(req).await.unwrap();
    let mut body = response.into_body();
    let first = tokio::time::timeout(PATIENCE, body.frame())
        .await
        .expect("a first chunk");
    assert!(first.is_some());
    drop(body);
    drop(client);
    let reply = tokio::time::timeout(PATIENCE, get(&gw.url("/after"), &[("origin", APP)]))
        .await
        .expect("the next request is not stuck behind the abandoned one");
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], b"ok");
}

#[tokio::test]
async fn an_ipv6_upstream_is_reached() {
    let Ok(probe) = TcpListener::bind("[::1]:0").await else {
        panic!("this machine has no IPv6 loopback; the test needs one");
    };
    drop(probe);
    let (upstream, _) = counting_upstream("[::1]:0", OK, false).await;
    let gw = gateway(&config_text(upstream, "")).await;
    let reply = send(&client(), Method::GET, &gw.url("/v6"), &[], b"").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

/// An upstream that answers a POST before reading its chunked body (as
/// servers refusing or streaming an upload do) and keeps the connection.
async fn early_answering_upstream() -> SocketAddr {
    tcp_upstream("127.0.0.1:0", |mut stream| async move {
        loop {
            let head = read_head(&mut stream).await;
            if head.is_empty() {
                return;
            }
            if !head.starts_with(b"POST") {
                if stream.write_all(OK).await.is_err() {
                    return;
                }
                continue;
            }
            let early = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nearly";
            if stream.write_all(early).await.is_err() {
                return;
            }
            // Then the body, to its last chunk.
            let mut seen = head;
            let mut buf = [0u8; 1024];
            while !seen.ends_with(b"0\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_connection_still_uploading_is_not_handed_to_another_request() {
    let upstream = early_answering_upstream().await;
    let gw = gateway(&config_text(
        upstream,
        "[timeouts]\nupstream_response = \"10s\"\n",
    ))
    .await;
    // Client A starts a chunked upload, gets its early answer, and pauses
    // with the upload unfinished.
    let mut a = TcpStream::connect(gw.addr).await.unwrap();
    a.write_all(
        b"POST /upload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"early") {
        let n = tokio::time::timeout(PATIENCE, a.read(&mut buf))
            .await
            .expect("A's early answer")
            .unwrap();
        assert!(
            n > 0,
            "A's connection closed: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    // An unrelated request must not wait behind A's upload.
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(15), get(&gw.url("/items"), &[]))
        .await
        .expect("the request is answered");
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "it waited {:?} behind another request's upload",
        started.elapsed()
    );
    // A finishes its upload; its connection then serves again.
    a.write_all(b"0\r\n\r\n").await.unwrap();
    let reply = get(&gw.url("/after"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
}
