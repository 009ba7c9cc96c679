//! Worker threads: each has its own socket on the listening address
//! (SO_REUSEPORT); every connection is served whichever worker accepts it,
//! and shutdown stops them all.

mod common;

use common::*;
use corsica_gateway::Options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_workers_serve_every_connection_and_stop_together() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway_with(
        &config_text(upstream, ""),
        Options {
            threads: 2,
            ..Options::default()
        },
    )
    .await;
    // Separate connections, so the kernel spreads them across the workers.
    let mut answers = Vec::new();
    for i in 0..40 {
        let reply = send_on_new_connection(gw.addr, &format!("/api/items/{i}")).await;
        answers.push(reply);
    }
    assert!(
        answers.iter().all(|r| r.starts_with("HTTP/1.1 200")),
        "{answers:?}"
    );
    assert!(answers
        .iter()
        .all(|r| r.contains("access-control-allow-origin: https://app.example")));
    assert_eq!(calls.get(), 40);
    gw.handle.shutdown();
    let finished = tokio::time::timeout(std::time::Duration::from_secs(10), gw.task).await;
    assert!(finished.is_ok(), "every worker stopped");
    assert!(
        tokio::net::TcpStream::connect(gw.addr).await.is_err(),
        "no worker socket is left listening"
    );
}

async fn send_on_new_connection(addr: std::net::SocketAddr, path: &str) -> String {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: api.example\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
}
