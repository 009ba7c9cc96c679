//! Graceful shutdown: new connections are refused, requests in flight
//! finish, then `run` returns.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::StatusCode;
use http_body_util::Full;
use tokio::sync::mpsc;

#[tokio::test]
async fn shutdown_drains_a_request_in_flight() {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let (upstream, _) = spawn_upstream(move |_req| {
        let arrived_tx = arrived_tx.clone();
        async move {
            let _ = arrived_tx.send(());
            tokio::time::sleep(Duration::from_millis(800)).await;
            http::Response::new(Full::new(Bytes::from_static(b"finished")))
        }
    })
    .await;
    let gw = gateway(&config_text(upstream, "")).await;
    let url = gw.url("/slow");
    let in_flight = tokio::spawn(async move { get(&url, &[("origin", APP)]).await });
    tokio::time::timeout(PATIENCE, arrived.recv())
        .await
        .expect("the request reaches the upstream");

    gw.handle.shutdown();
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

    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], b"finished");
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));

    let finished = tokio::time::timeout(PATIENCE, gw.task)
        .await
        .expect("run returns once drained");
    assert!(finished.unwrap().is_ok());
    assert!(
        tokio::net::TcpStream::connect(gw.addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn shutdown_with_nothing_in_flight_is_immediate() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    // An idle keep-alive connection must not hold the shutdown up.
    let client = client();
    let _ = send(&client, http::Method::GET, &gw.url("/x"), &[], b"").await;
    gw.handle.shutdown();
    let finished = tokio::time::timeout(Duration::from_secs(5), gw.task)
        .await
        .expect("an idle gateway stops at once");
    assert!(finished.unwrap().is_ok());
}
