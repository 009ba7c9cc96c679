//! Shared test fixtures: real upstream servers on 127.0.0.1, a gateway
//! started from TOML, and small HTTP clients.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use corsica_gateway::{config, Gateway, Handle, Options, ServeError};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A generous bound for anything a test waits on: the machine is small and shared.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The origin every test policy allows.
pub const APP: &str = "https://app.example";
/// An origin no test policy allows.
pub const EVIL: &str = "https://evil.example";

/// The default test policy, as a `[policy]` table body.
pub const POLICY: &str = r#"origins = ["https://app.example"]
methods = ["PUT", "DELETE"]
request_headers = ["content-type", "x-token"]
expose_headers = ["x-upstream"]
credentials = true
max_age = 600"#;

/// A gateway config in front of `upstream` with the default policy, an
/// admin listener, debug off, and `extra` appended (routes, timeouts...).
pub fn config_text(upstream: SocketAddr, extra: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\nadmin_listen = \"127.0.0.1:0\"\n\n[policy]\n{POLICY}\n\n{extra}\n"
    )
}

/// A running gateway.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    pub handle: Handle,
    pub task: JoinHandle<Result<(), ServeError>>,
}

impl TestGateway {
    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Starts a gateway from TOML text.
pub async fn gateway(toml: &str) -> TestGateway {
    gateway_with(toml, Options::default()).await
}

/// Starts a gateway from TOML text with options.
pub async fn gateway_with(toml: &str, options: Options) -> TestGateway {
    let config = match config::load_str(toml) {
        Ok(config) => config,
        Err(e) => panic!(
            "test config is invalid:\n{}",
            e.render("test.toml", Some(toml))
        ),
    };
    let gw = Gateway::bind(config, options).await.expect("gateway binds");
    let addr = gw.local_addr();
    let admin = gw.admin_addr();
    let handle = gw.handle();
    let task = tokio::spawn(gw.run());
    TestGateway {
        addr,
        admin,
        handle,
        task,
    }
}

/// Counts the requests an upstream received.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Serves `handler` on 127.0.0.1 (HTTP/1.1 and HTTP/2), counting calls.
pub async fn spawn_upstream<F, Fut>(handler: F) -> (SocketAddr, Calls)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let calls = Calls::default();
    let counter = calls.clone();
    let addr = tcp_upstream("127.0.0.1:0", move |stream| {
        let handler = handler.clone();
        let counter = counter.clone();
        async move {
            let service = service_fn(move |req| {
                counter.inc();
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        }
    })
    .await;
    (addr, calls)
}

/// An upstream that echoes what it received as JSON, and sets its own
/// (wrong) CORS headers, a `Vary` and an `x-upstream` header.
pub async fn echo_upstream() -> (SocketAddr, Calls) {
    spawn_upstream(|req: Request<Incoming>| async move {
        let method = req.method().to_string();
        let uri = req.uri().to_string();
        let version = format!("{:?}", req.version());
        let mut headers = serde_json::Map::new();
        for name in req.headers().keys() {
            let values: Vec<_> = req
                .headers()
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            headers.insert(name.to_string(), values.join(", ").into());
        }
        let body = req.into_body().collect().await.map(|b| b.to_bytes().len());
        let echo = serde_json::json!({
            "method": method,
            "uri": uri,
            "version": version,
            "headers": headers,
            "body_len": body.ok(),
        });
        Response::builder()
            .header("content-type", "application/json")
            .header("access-control-allow-origin", "*")
            .header("access-control-allow-methods", "GET")
            .header("vary", "Accept-Encoding")
            .header("x-upstream", "yes")
            .body(Full::new(Bytes::from(echo.to_string())))
            .unwrap()
    })
    .await
}

/// An address where nothing listens.
pub async fn down_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A TCP server on `bind` that runs `serve` on every connection it accepts.
pub async fn tcp_upstream<F, Fut>(bind: &str, serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(serve.clone()(stream));
        }
    });
    addr
}

/// A raw TCP upstream: reads the request head, then runs `behave` on the socket.
pub async fn raw_upstream<F, Fut>(behave: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tcp_upstream("127.0.0.1:0", move |mut stream| {
        let behave = behave.clone();
        async move {
            read_head(&mut stream).await;
            behave(stream).await;
        }
    })
    .await
}

/// Reads until the end of an HTTP head (or EOF).
pub async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&byte[..n]),
        }
    }
    head
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// A header's single value (panics if repeated, to catch duplicates).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let first = values.next()?;
        assert!(
            values.next().is_none(),
            "{name} is repeated: {:?}",
            self.headers
        );
        first.to_str().ok()
    }

    /// Every value of a header, joined with ", ".
    pub fn joined(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the response has any CORS header.
    pub fn has_cors_headers(&self) -> bool {
        self.headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-"))
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// A plain HTTP/1.1 client with a connection pool.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends a request and reads the whole response.
pub async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> Reply {
    let mut req = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let req = req.body(Full::new(Bytes::from_static(body))).unwrap();
    let response = tokio::time::timeout(PATIENCE, client.request(req))
        .await
        .expect("the gateway answers in time")
        .expect("the gateway answers");
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(PATIENCE, body.collect())
        .await
        .expect("the body arrives in time")
        .expect("the body arrives")
        .to_bytes();
    Reply {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
    }
}

/// GET with headers.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    send(&client(), Method::GET, url, headers, b"").await
}

/// A preflight from `origin` asking for `method` (and request headers).
pub async fn preflight(
    url: &str,
    origin: &str,
    method: &str,
    request_headers: Option<&str>,
) -> Reply {
    let mut headers = vec![
        ("origin", origin),
        ("access-control-request-method", method),
    ];
    if let Some(h) = request_headers {
        headers.push(("access-control-request-headers", h));
    }
    send(&client(), Method::OPTIONS, url, &headers, b"").await
}

/// Writes raw bytes to `addr` and reads until the server closes (or PATIENCE).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The admin listener's `/metrics` text.
pub async fn metrics(gw: &TestGateway) -> String {
    let admin = gw.admin.expect("an admin listener");
    let reply = get(&format!("http://{admin}/metrics"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// The value of one metric series, e.g. `corsica_requests_total{kind="actual"}`.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} missing from:\n{text}"))
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let unique = format!(
        "corsica-gateway-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
