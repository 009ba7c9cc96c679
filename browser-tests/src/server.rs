//! The scripted server: one tokio/hyper server listening on three ports of
//! 127.0.0.1 (three origins). Port A serves the page the fetches run in;
//! every port answers `/c/<run>/<case>/<hop>` with the case's scripted
//! responses and records what arrived.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use corsica::browser::{Case, ResponseSpec};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The three ports: `page` (origin A, where the script runs), `api`
/// (origin B, the usual cross-origin target) and `other` (origin C, for
/// cross-origin redirects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// Origin A: the page.
    pub page: u16,
    /// Origin B.
    pub api: u16,
    /// Origin C.
    pub other: u16,
}

impl Ports {
    /// `http://127.0.0.1:<port>`.
    pub fn origin(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    /// The page's origin.
    pub fn page_origin(&self) -> String {
        Ports::origin(self.page)
    }

    /// The URL of the page the fetches run in.
    pub fn page_url(&self) -> String {
        format!("{}/page", self.page_origin())
    }
}

/// The path of one hop of one case.
pub fn case_path(run: &str, case: usize, hop: usize) -> String {
    format!("/c/{run}/{case}/{hop}")
}

/// Parses `/c/<run>/<case>/<hop>` (or a URL containing it) into the case
/// index and hop, for the given run.
pub fn parse_case_path(run: &str, text: &str) -> Option<(usize, usize)> {
    let marker = format!("/c/{run}/");
    let start = text.find(&marker)? + marker.len();
    let rest = &text[start..];
    let mut parts = rest.splitn(2, '/');
    let case = parts.next()?.parse().ok()?;
    let hop_text: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((case, hop_text.parse().ok()?))
}

/// A request as it reached the server (the CORS-relevant parts). Header
/// values are decoded as Latin-1, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The port it arrived on.
    pub port: u16,
    /// The method on the wire.
    pub method: String,
    /// The path (with query, if any).
    pub path: String,
    /// `Origin`.
    pub origin: Option<String>,
    /// `Access-Control-Request-Method`.
    pub request_method: Option<String>,
    /// `Access-Control-Request-Headers`.
    pub request_headers: Option<String>,
}

impl Arrival {
    /// Whether this is a CORS preflight: `OPTIONS` with
    /// `Access-Control-Request-Method` (a script's own `OPTIONS` request
    /// cannot carry that header: it is forbidden).
    pub fn is_preflight(&self) -> bool {
        self.method == "OPTIONS" && self.request_method.is_some()
    }

    /// The full URL.
    pub fn url(&self) -> String {
        format!("{}{}", Ports::origin(self.port), self.path)
    }
}

/// The responses for each hop of one case: `(preflight, response)`.
type Script = Vec<(Option<ResponseSpec>, Option<ResponseSpec>)>;

#[derive(Default)]
struct State {
    scripts: HashMap<(String, usize), Script>,
    /// Requests that arrived, per (run, case), in order.
    arrivals: HashMap<(String, usize), Vec<Arrival>>,
    /// Scripted responses the server could not send as written.
    problems: Vec<String>,
}

/// The running server.
pub struct Server {
    ports: Ports,
    state: Arc<Mutex<State>>,
    tasks: Vec<JoinHandle<()>>,
}

/// The page: an empty document on origin A.
const PAGE: &str = "<!doctype html><meta charset=utf-8><title>corsica browser tests</title>";

impl Server {
    /// Binds three ephemeral ports on 127.0.0.1 and starts serving.
    pub async fn start() -> std::io::Result<Server> {
        let state = Arc::new(Mutex::new(State::default()));
        let mut listeners = Vec::new();
        for _ in 0..3 {
            listeners.push(TcpListener::bind(("127.0.0.1", 0)).await?);
        }
        let port = |l: &TcpListener| l.local_addr().map(|a| a.port());
        let ports = Ports {
            page: port(&listeners[0])?,
            api: port(&listeners[1])?,
            other: port(&listeners[2])?,
        };
        let tasks = listeners
            .into_iter()
            .map(|listener| tokio::spawn(accept_loop(listener, state.clone())))
            .collect();
        Ok(Server {
            ports,
            state,
            tasks,
        })
    }

    /// The ports it listens on.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half
        // updated in a way that matters to a test report.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the server answer case `index` of `run` as `case` scripts it.
    pub fn install(&self, run: &str, index: usize, case: &Case) {
        let mut script: Script = vec![(case.preflight_response.clone(), case.response.clone())];
        script.extend(
            case.redirects
                .iter()
                .map(|h| (h.preflight_response.clone(), Some(h.response.clone()))),
        );
        self.lock().scripts.insert((run.to_owned(), index), script);
    }

    /// Every request that arrived for case `index` of `run`, in order.
    pub fn arrivals(&self, run: &str, index: usize) -> Vec<Arrival> {
        self.lock()
            .arrivals
            .get(&(run.to_owned(), index))
            .cloned()
            .unwrap_or_default()
    }

    /// Scripted responses that could not be sent as written.
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(answer(&state, local, req)) }
            });
            let mut builder = http1::Builder::new();
            // Only scripted headers: no automatic `Date` for a script to read.
            builder.auto_date_header(false);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn header_text(req: &Request<Incoming>, name: &str) -> Option<String> {
    let values: Vec<String> = req
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.as_bytes().iter().map(|&b| b as char).collect())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

fn answer(
    state: &Mutex<State>,
    local: SocketAddr,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if req.uri().path() == "/page" {
        let mut r = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return r;
    }
    if req.uri().path() == WARM_PATH {
        return warm();
    }
    let Some(rest) = path.strip_prefix("/c/") else {
        return plain(StatusCode::NOT_FOUND);
    };
    let run = rest.split('/').next().unwrap_or_default().to_owned();
    let Some((case, hop)) = parse_case_path(&run, &path) else {
        return plain(StatusCode::NOT_FOUND);
    };
    let arrival = Arrival {
        port: local.port(),
        method: req.method().as_str().to_owned(),
        path: path.clone(),
        origin: header_text(&req, "origin"),
        request_method: header_text(&req, "access-control-request-method"),
        request_headers: header_text(&req, "access-control-request-headers"),
    };
    let preflight = arrival.is_preflight();
    let mut st = state.lock().unwrap_or_else(PoisonError::into_inner);
    st.arrivals
        .entry((run.clone(), case))
        .or_default()
        .push(arrival);
    let spec = st
        .scripts
        .get(&(run, case))
        .and_then(|s| s.get(hop))
        .and_then(|(p, r)| if preflight { p.clone() } else { r.clone() });
    let Some(spec) = spec else {
        // The simulator reports a missing scripted response as a case
        // error, so a correct corpus never gets here; 599 makes it loud.
        st.problems.push(format!(
            "no scripted response for {path} (preflight: {preflight})"
        ));
        return plain(StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    };
    match scripted(&spec) {
        Ok(r) => r,
        Err(problem) => {
            st.problems.push(format!("{path}: {problem}"));
            plain(StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        }
    }
}

/// The path of the warm-up URL (see [`warm`]).
pub const WARM_PATH: &str = "/warm";

/// The answer to the warm-up URL, preflight or request: any origin may
/// `PUT` with `X-Warm`, cached for 60 s. A driver fetches it before the
/// corpus when its browser needs a warm-up (Firefox: its first
/// preflight-cache lookups after launch miss).
fn warm() -> Response<Full<Bytes>> {
    let mut r = plain(StatusCode::NO_CONTENT);
    for (name, value) in [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "PUT"),
        ("access-control-allow-headers", "x-warm"),
        ("access-control-max-age", "60"),
    ] {
        r.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    r
}

fn plain(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// The scripted response, headers exactly as listed: a repeated name is
/// sent as separate header lines, values as their UTF-8 bytes.
fn scripted(spec: &ResponseSpec) -> Result<Response<Full<Bytes>>, String> {
    let mut r = plain(StatusCode::from_u16(spec.status).map_err(|e| e.to_string())?);
    for (name, value) in &spec.headers {
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
        let v = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|e| format!("{name}: {value:?}: {e}"))?;
        r.headers_mut().append(n, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_paths_round_trip() {
        let p = case_path("r1", 42, 3);
        assert_eq!(parse_case_path("r1", &p), Some((42, 3)));
        assert_eq!(
            parse_case_path(
                "r1",
                &format!("Access to fetch at 'http://127.0.0.1:1{p}' from")
            ),
            Some((42, 3))
        );
        assert_eq!(parse_case_path("r2", &p), None);
    }
}
