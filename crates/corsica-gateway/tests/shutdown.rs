//! Graceful shutdown: new connections are refused, requests in flight
//! finish, then `run` returns.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use corsica_gateway::Options;
use http::StatusCode;
use http_body_util::Full;
use tokio::sync::{mpsc, Notify};

/// An upstream whose `/slow` answers only once the test releases it, and
/// says when such a request has arrived.
async fn held_upstream() -> (SocketAddr, mpsc::UnboundedReceiver<()>, Arc<Notify>) {
    let (arrived_tx, arrived) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let (upstream, _) = spawn_upstream(move |req: http::Request<hyper::body::Incoming>| {
        let arrived_tx = arrived_tx.clone();
        let gate = gate.clone();
        async move {
            if req.uri().path() == "/slow" {
                let _ = arrived_tx.send(());
                gate.notified().await;
            }
            http::Response::new(Full::new(Bytes::from_static(b"finished")))
        }
    })
    .await;
    (upstream, arrived, release)
}

/// Waits until the gateway refuses new connections.
async fn refuses_connections(addr: SocketAddr) {
    tokio::time::timeout(PATIENCE, async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the listener closes");
}

#[tokio::test]
async fn shutdown_drains_a_request_in_flight() {
    let (upstream, mut arrived, release) = held_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let url = gw.url("/slow");
    let in_flight = tokio::spawn(async move { get(&url, &[("origin", APP)]).await });
    tokio::time::timeout(PATIENCE, arrived.recv())
        .await
        .expect("the request reaches the upstream");

    gw.handle.shutdown();
    refuses_connections(gw.addr).await;
    // While draining, the admin listener says so.
    let admin = gw.admin.unwrap();
    let health = tokio::time::timeout(PATIENCE, async {
        loop {
            let reply = get(&format!("http://{admin}/healthz"), &[]).await;
            if reply.status == StatusCode::SERVICE_UNAVAILABLE {
                break reply;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("healthz reports draining");
    assert_eq!(&health.body[..], b"draining\n");
    assert!(!in_flight.is_finished(), "the request is still in flight");

    release.notify_one();
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], b"finished");
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));

    let finished = tokio::time::timeout(PATIENCE, gw.task)
        .await
        .expect("run returns once drained");
    assert!(finished.unwrap().is_ok());
}

#[tokio::test]
async fn shutdown_with_nothing_in_flight_is_immediate() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    // An idle keep-alive connection must not hold the shutdown up.
    let client = client();
    let _ = send(&client, http::Method::GET, &gw.url("/x"), &[], b"").await;
    gw.handle.shutdown();
    let finished = tokio::time::timeout(Duration::from_secs(10), gw.task)
        .await
        .expect("an idle gateway stops at once");
    assert!(finished.unwrap().is_ok());
}

#[tokio::test]
async fn worker_threads_serve_and_drain_like_the_caller_runtime() {
    let (upstream, mut arrived, release) = held_upstream().await;
    let options = Options {
        threads: 2,
        ..Options::default()
    };
    let gw = gateway_with(&config_text(upstream, ""), options).await;
    // Several connections, so that both workers get some.
    for _ in 0..8 {
        let reply = get(&gw.url("/x"), &[("origin", APP)]).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
        let pre = preflight(&gw.url("/x"), APP, "PUT", None).await;
        assert_eq!(pre.status, StatusCode::NO_CONTENT);
    }
    let url = gw.url("/slow");
    let in_flight = tokio::spawn(async move { get(&url, &[("origin", APP)]).await });
    tokio::time::timeout(PATIENCE, arrived.recv())
        .await
        .expect("the request reaches the upstream");
    gw.handle.shutdown();
    refuses_connections(gw.addr).await;
    assert!(!in_flight.is_finished(), "the request is still in flight");
    release.notify_one();
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], b"finished");
    let finished = tokio::time::timeout(PATIENCE, gw.task)
        .await
        .expect("run returns");
    assert!(finished.unwrap().is_ok());
}
