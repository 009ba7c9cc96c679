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

/// How long a hostile test gives the gateway to answer a normal request
/// after an attack: an attack that leaves it slower than this has worked.
pub const PROMPTLY: Duration = Duration::from_secs(5);

/// Asserts that the gateway still answers, within [`PROMPTLY`], a preflight
/// (answered by the gateway alone) and the admin `/healthz`, if it has one.
pub async fn still_answers(gw: &TestGateway) {
    let pre = tokio::time::timeout(
        PROMPTLY,
        preflight(&gw.url("/still-answers"), APP, "PUT", None),
    )
    .await
    .expect("the gateway still answers a preflight promptly");
    assert_eq!(pre.status, StatusCode::NO_CONTENT);
    // APP itself, or `*` where the policy allows any origin.
    let allowed = pre.header("access-control-allow-origin");
    assert!(allowed == Some(APP) || allowed == Some("*"), "{allowed:?}");
    if let Some(admin) = gw.admin {
        let health = tokio::time::timeout(PROMPTLY, get(&format!("http://{admin}/healthz"), &[]))
            .await
            .expect("/healthz still answers promptly");
        assert_eq!(health.status, StatusCode::OK);
    }
}

/// Writes raw bytes to `addr` and reads what comes back until the server
/// closes, or nothing more arrives for `quiet` once something has, or
/// [`PROMPTLY`] has passed: a gateway that keeps the connection open after
/// answering does not hold the test up.
pub async fn raw_briefly(addr: SocketAddr, request: &[u8], quiet: Duration) -> String {
    raw_exchange(addr, request, quiet).await.0
}

/// How a [`raw_exchange`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The server closed the connection (EOF or reset).
    Closed,
    /// Nothing more came for `quiet` after something had.
    Quiet,
    /// Nothing at all came within [`PROMPTLY`].
    TimedOut,
}

/// [`raw_briefly`], also saying how the exchange ended.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8], quiet: Duration) -> (String, Ended) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The gateway may answer and close before reading everything.
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    let ended = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let wait = if out.is_empty() {
            left
        } else {
            quiet.min(left)
        };
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            Ok(_) => break Ended::Closed,
            Err(_) if out.is_empty() => break Ended::TimedOut,
            Err(_) => break Ended::Quiet,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), ended)
}

/// What a [`recording_upstream`] received: every request head it parsed,
/// and every way the gateway's framing toward it was ambiguous or broken.
#[derive(Clone, Default)]
pub struct Recorder {
    heads: Arc<std::sync::Mutex<Vec<String>>>,
    problems: Arc<std::sync::Mutex<Vec<String>>>,
    answered: Calls,
}

impl Recorder {
    /// The request heads received so far, oldest first.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    /// The request lines received so far, oldest first.
    pub fn request_lines(&self) -> Vec<String> {
        self.heads()
            .iter()
            .map(|h| h.lines().next().unwrap_or_default().to_owned())
            .collect()
    }

    /// How many requests arrived whole (body included) and were answered.
    pub fn answered(&self) -> usize {
        self.answered.get()
    }

    /// Ambiguous framing seen on requests from the gateway.
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().unwrap().clone()
    }
}

/// An upstream that parses what the gateway sends it as a strict HTTP/1.1
/// server would (one `Content-Length` or `Transfer-Encoding: chunked`,
/// never both), records every request head and any ambiguity in its
/// framing, and answers each request `200 ok`. A request smuggled past the
/// gateway shows up as a head of its own.
pub async fn recording_upstream() -> (SocketAddr, Recorder) {
    let recorder = Recorder::default();
    let shared = recorder.clone();
    let addr = tcp_upstream("127.0.0.1:0", move |stream| {
        let recorder = shared.clone();
        async move {
            let mut conn = RecordedConn {
                stream,
                buf: Vec::new(),
            };
            while let Some(head) = conn.head().await {
                recorder.heads.lock().unwrap().push(head.clone());
                let framing = match framing_of(&head) {
                    Ok(framing) => framing,
                    Err(problem) => {
                        recorder
                            .problems
                            .lock()
                            .unwrap()
                            .push(format!("{problem} in:\n{head}"));
                        return;
                    }
                };
                let complete = match framing {
                    Framing::Length(n) => conn.take(n).await,
                    Framing::Chunked => conn.chunked().await,
                };
                if !complete {
                    // The gateway gave up on this request midway (the
                    // client's body was refused): nothing more can follow.
                    return;
                }
                let answer =
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-upstream: recorded\r\n\r\nok";
                recorder.answered.inc();
                if conn.stream.write_all(answer).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    (addr, recorder)
}

enum Framing {
    Length(usize),
    Chunked,
}

/// A request's body framing, or why it is ambiguous (RFC 9112 §6.3).
fn framing_of(head: &str) -> Result<Framing, String> {
    let mut lengths = Vec::new();
    let mut codings = Vec::new();
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("a field without a colon: {line:?}"));
        };
        if name != name.trim() {
            return Err(format!("whitespace around a field name: {line:?}"));
        }
        match name.to_ascii_lowercase().as_str() {
            "content-length" => lengths.push(value.trim().to_owned()),
            "transfer-encoding" => codings.push(value.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    match (lengths.as_slice(), codings.as_slice()) {
        ([], []) => Ok(Framing::Length(0)),
        ([length], []) => length
            .parse()
            .map(Framing::Length)
            .map_err(|_| format!("a Content-Length that is not a number: {length:?}")),
        ([], [coding]) if coding == "chunked" => Ok(Framing::Chunked),
        _ => Err(format!(
            "ambiguous framing (content-length {lengths:?}, transfer-encoding {codings:?})"
        )),
    }
}

/// One upstream connection being read, with what was read past the last
/// message.
struct RecordedConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RecordedConn {
    /// Reads more into the buffer; false at EOF, an error or PATIENCE.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }

    /// The next line (without CRLF), or None at EOF.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The next request head, or None at EOF.
    async fn head(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                return Some(head);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Skips `n` bytes of body; false if the connection ends first.
    async fn take(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            if !self.fill().await {
                return false;
            }
        }
        self.buf.drain(..n);
        true
    }

    /// Skips a chunked body and its trailers; false if it ends first or
    /// is malformed.
    async fn chunked(&mut self) -> bool {
        loop {
            let Some(line) = self.line().await else {
                return false;
            };
            let size = line.split(';').next().unwrap_or_default().trim();
            let Ok(size) = usize::from_str_radix(size, 16) else {
                return false;
            };
            if size == 0 {
                // Trailers, up to the blank line.
                loop {
                    match self.line().await {
                        Some(line) if line.is_empty() => return true,
                        Some(_) => {}
                        None => return false,
                    }
                }
            }
            if !self.take(size + 2).await {
                return false;
            }
        }
    }
}
