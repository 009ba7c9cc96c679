//! The upstream connection pool for `http://` upstreams: connections are
//! reused, a connection the upstream closed while idle costs no request,
//! and a connection whose response was abandoned midway is not reused.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

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
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                loop {
                    if read_head(&mut stream).await.is_empty() {
                        return;
                    }
                    if stream.write_all(response).await.is_err() || close_after_one {
                        return;
                    }
                }
            });
        }
    });
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
