//! A hostile upstream and a client that counts misdirected responses, to
//! measure what a reverse proxy does when its upstream sends responses
//! nobody asked for (`bench/reuse.sh` runs it against corsica, nginx and
//! HAProxy).
//!
//! ```text
//! reuse_probe upstream 127.0.0.1:18090 3      # every response is followed, 3 ms later, by an extra one
//! reuse_probe client http://127.0.0.1:18091 8 200 0
//!                    # 8 connections x 200 sequential requests, no pause between them
//! ```
//!
//! Every request carries `x-probe-id: c<conn>-r<n>`; the upstream echoes it
//! in `x-echo-id`. The extra responses carry `x-echo-id: extra` and a
//! `set-cookie`, so a client that reads one has been handed a response meant
//! for nobody (or, further down the connection, meant for someone else).
//! The client prints one line:
//! `sent=N own=N foreign=N extra=N errors=N`, where `foreign` counts
//! responses echoing another client's id and `extra` the unrequested ones.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("upstream") if args.len() == 3 => {
            let addr: SocketAddr = args[1].parse()?;
            let extra = Duration::from_millis(args[2].parse()?);
            runtime.block_on(upstream(addr, extra))
        }
        Some("client") if args.len() == 5 => {
            let url: http::Uri = args[1].parse()?;
            let connections: usize = args[2].parse()?;
            let requests: usize = args[3].parse()?;
            let gap = Duration::from_millis(args[4].parse()?);
            let tally = runtime.block_on(client(url, connections, requests, gap))?;
            println!(
                "sent={} own={} foreign={} extra={} errors={}",
                tally.sent, tally.own, tally.foreign, tally.extra, tally.errors
            );
            Ok(())
        }
        _ => Err("usage: reuse_probe upstream ADDR EXTRA_MS | reuse_probe client URL CONNECTIONS REQUESTS GAP_MS".into()),
    }
}

/// Serves every connection: each request gets its own answer, then, after
/// `extra`, one more response that was never asked for.
async fn upstream(addr: SocketAddr, extra: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(addr).await?;
    println!("hostile upstream listening on {addr}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(hostile_connection(stream, extra));
    }
}

async fn hostile_connection(mut stream: TcpStream, extra: Duration) {
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::with_capacity(4096);
    loop {
        let Some((id, consumed)) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        buffer.drain(..consumed);
        let answer = format!("HTTP/1.1 200 OK\r\nx-echo-id: {id}\r\ncontent-length: 2\r\n\r\nok");
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        tokio::time::sleep(extra).await;
        let unrequested = "HTTP/1.1 200 OK\r\nx-echo-id: extra\r\nset-cookie: session=not-yours\r\ncontent-length: 2\r\n\r\nok";
        if stream.write_all(unrequested.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one request head (requests carry no body here) and returns its
/// `x-probe-id` and the bytes it took.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(String, usize)> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(consumed)) = request.parse(buffer) {
            let id = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("x-probe-id"))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
                .unwrap_or_default();
            return Some((id, consumed));
        }
        if buffer.len() > 64 * 1024 {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// What the clients got back.
#[derive(Default)]
struct Tally {
    sent: usize,
    own: usize,
    foreign: usize,
    extra: usize,
    errors: usize,
}

async fn client(
    url: http::Uri,
    connections: usize,
    requests: usize,
    gap: Duration,
) -> Result<Tally, Box<dyn std::error::Error>> {
    let authority = url
        .authority()
        .ok_or("the URL needs host:port")?
        .to_string();
    let mut tasks = Vec::new();
    for conn in 0..connections {
        let authority = authority.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut sender = None;
            for n in 0..requests {
                if sender.is_none() {
                    sender = connect(&authority).await;
                }
                let Some(send) = sender.as_mut() else {
                    tally.sent += 1;
                    tally.errors += 1;
                    continue;
                };
                let id = format!("c{conn}-r{n}");
                let request = Request::get("/probe")
                    .header("host", &authority)
                    .header("x-probe-id", &id)
                    .body(Empty::<Bytes>::new())
                    .expect("a valid request");
                tally.sent += 1;
                let outcome = tokio::time::timeout(Duration::from_secs(10), async {
                    let response = send.send_request(request).await?;
                    let echo = response
                        .headers()
                        .get("x-echo-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let status = response.status();
                    response.into_body().collect().await?;
                    Ok::<_, hyper::Error>((status, echo))
                })
                .await;
                match outcome {
                    Ok(Ok((status, Some(echo)))) if status.is_success() => {
                        if echo == id {
                            tally.own += 1;
                        } else if echo == "extra" {
                            tally.extra += 1;
                        } else {
                            tally.foreign += 1;
                        }
                    }
                    Ok(Ok(_)) => tally.errors += 1,
                    _ => {
                        tally.errors += 1;
                        sender = None;
                    }
                }
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await?;
        total.sent += tally.sent;
        total.own += tally.own;
        total.foreign += tally.foreign;
        total.extra += tally.extra;
        total.errors += tally.errors;
    }
    Ok(total)
}

async fn connect(authority: &str) -> Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(authority).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    Some(sender)
}
