//! Worker threads: each has its own socket on the listening address
//! (SO_REUSEPORT); every connection is served, connections are spread
//! evenly over the workers, and shutdown stops them all.

mod common;

use common::*;
use corsica_gateway::Options;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_spread_evenly_over_the_workers() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway_with(
        &config_text(upstream, ""),
        Options {
            threads: 2,
            ..Options::default()
        },
    )
    .await;
    // Opened one after another and kept open. The kernel's hash would put
    // 5 on each worker one time in four; the balancer does it every time.
    let mut open = Vec::new();
    for i in 0..10 {
        let mut stream = TcpStream::connect(gw.addr).await.unwrap();
        let request = format!(
            "GET /api/items/{i} HTTP/1.1\r\nHost: api.example\r\nOrigin: https://app.example\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let head = String::from_utf8_lossy(&read_head(&mut stream).await).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        open.push(stream);
    }
    let per_worker = |text: &str| {
        [0, 1].map(|w| metric(text, &format!("corsica_open_connections{{worker=\"{w}\"}}")))
    };
    assert_eq!(per_worker(&metrics(&gw).await), [5.0, 5.0]);

    drop(open);
    let mut counts = [f64::NAN; 2];
    for _ in 0..100 {
        counts = per_worker(&metrics(&gw).await);
        if counts == [0.0, 0.0] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(counts, [0.0, 0.0], "closed connections are counted out");
    gw.handle.shutdown();
}

/// SO_REUSEPORT would let a second gateway of the same user bind the port
/// of a running one and take part of its connections with its own policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_gateway_on_a_port_in_use_is_refused() {
    let (upstream, _) = echo_upstream().await;
    let workers = Options {
        threads: 2,
        ..Options::default()
    };
    let first = gateway_with(&config_text(upstream, ""), workers.clone()).await;
    let second = config_text(upstream, "").replacen(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{}\"", first.addr),
        1,
    );
    let config = corsica_gateway::config::load_str(&second).expect("valid config");
    for options in [workers, Options::default()] {
        match corsica_gateway::Gateway::bind(config.clone(), options).await {
            Ok(_) => panic!(
                "a second gateway bound {}, which the first serves",
                first.addr
            ),
            Err(error) => assert!(error.is_addr_in_use(), "{error}"),
        }
    }
    first.handle.shutdown();
}
