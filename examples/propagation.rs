//! Propagation latency of a store change to every replica, under load.
//!
//! Run by `bench/propagation.sh`, which starts the store and the replicas:
//! `propagation STORE_URL ROUNDS GATEWAY_ADDR...` (the set is `$SET`, or
//! `default`)
//!
//! While load clients send preflights to every replica without pause, each
//! round adds one origin to the store (as `corsica origins add` does) and
//! polls every replica every 2 ms until all of them allow it, then removes
//! it and waits until all refuse it. A sample is the time from just before
//! the write to the moment the last replica answers accordingly. Prints
//! p50, p99 and max, and how many load requests failed (an error, or a
//! status other than 204 or 403).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Method, Request};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>;

/// Load connections per replica.
const LOAD_CLIENTS: usize = 4;
/// No round may take longer than this.
const ROUND_LIMIT: Duration = Duration::from_secs(10);

async fn preflight(client: &Http, addr: SocketAddr, origin: &str) -> Result<u16, String> {
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("http://{addr}/items"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PUT")
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let res = tokio::time::timeout(Duration::from_secs(5), client.request(req))
        .await
        .map_err(|_| "timeout".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(res.status().as_u16())
}

async fn wait_all(client: &Http, gateways: &[SocketAddr], origin: &str, allowed: bool) -> Duration {
    let start = Instant::now();
    let want = if allowed { 204 } else { 403 };
    let mut pending: Vec<SocketAddr> = gateways.to_vec();
    while !pending.is_empty() {
        assert!(
            start.elapsed() < ROUND_LIMIT,
            "a replica never saw {origin} change"
        );
        let mut still = Vec::new();
        for addr in pending {
            if preflight(client, addr, origin).await != Ok(want) {
                still.push(addr);
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let store = args.next().expect("STORE_URL");
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).expect("ROUNDS");
    let gateways: Vec<SocketAddr> = args
        .map(|a| a.parse().expect("a gateway address"))
        .collect();
    assert!(!gateways.is_empty(), "no gateway addresses");
    let client: Http = Client::builder(TokioExecutor::new()).build_http();

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = Vec::new();
    for &addr in &gateways {
        for i in 0..LOAD_CLIENTS {
            let (client, stop, ok, failed) =
                (client.clone(), stop.clone(), ok.clone(), failed.clone());
            load.push(tokio::spawn(async move {
                // Alternately an allowed and a refused origin.
                let origins = ["https://static.example", "https://nobody.example"];
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    match preflight(&client, addr, origins[n % 2]).await {
                        Ok(204 | 403) => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    n += 1;
                }
            }));
        }
    }

    let set = std::env::var("SET").unwrap_or_else(|_| "default".to_owned());
    let mut writer = corsica_store::OriginWriter::connect(&store, &set)
        .await
        .expect("the store answers");
    let mut samples = Vec::with_capacity(rounds * 2);
    let started = Instant::now();
    for round in 0..rounds {
        let origin = format!("https://prop{round}.example");
        let t0 = Instant::now();
        writer
            .change(std::slice::from_ref(&origin), &[])
            .await
            .expect("write");
        wait_all(&client, &gateways, &origin, true).await;
        samples.push(t0.elapsed());
        let t0 = Instant::now();
        writer
            .change(&[], std::slice::from_ref(&origin))
            .await
            .expect("write");
        wait_all(&client, &gateways, &origin, false).await;
        samples.push(t0.elapsed());
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in load {
        let _ = task.await;
    }
    samples.sort();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "set {set}: {} changes ({rounds} adds, {rounds} removes) to {} replicas: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; load {} requests ({:.0}/s), {failed} failed",
        samples.len(),
        gateways.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
        ok + failed,
        (ok + failed) as f64 / elapsed.as_secs_f64(),
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
