//! The built-in demo behind `corsica serve` with no configuration: a small
//! JSON API on a free local port, the gateway in front of it, and a
//! walkthrough of `curl` commands whose expected output is computed by the
//! engine from the demo policy, so what is printed is what happens.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use corsica::{Decision, Policy};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::body::Body;
use crate::reply::json_response;

/// The origin the walkthrough's page comes from.
pub const PAGE_ORIGIN: &str = "http://localhost:3000";
/// An origin the demo policy refuses.
pub const FOREIGN_ORIGIN: &str = "https://evil.example";

/// The demo policy, as a `[policy]` table.
const POLICY: &str = r#"origins = ["http://localhost:*"]
methods = ["PUT", "PATCH", "DELETE"]
request_headers = ["content-type"]
credentials = false
max_age = 600"#;

/// The demo gateway's configuration: the demo policy in front of the demo
/// API, with debug mode on so that refusals explain themselves.
pub fn config(upstream: SocketAddr, listen: SocketAddr) -> String {
    format!(
        "listen = \"{listen}\"\nupstream = \"http://{upstream}\"\n\n[policy]\n{POLICY}\n\n[log]\ndebug = true\n"
    )
}

/// The demo policy, compiled.
pub fn policy() -> Result<Policy, corsica::ConfigError> {
    Policy::from_toml(POLICY)
}

/// One item of the demo API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Item {
    /// Assigned by the API.
    pub id: u64,
    /// What the client sent.
    pub name: String,
}

/// The items the API starts with.
pub fn seed() -> Vec<Item> {
    vec![
        Item {
            id: 1,
            name: "espresso".into(),
        },
        Item {
            id: 2,
            name: "croissant".into(),
        },
    ]
}

struct Store {
    next: u64,
    items: Vec<Item>,
}

/// Starts the demo API on `127.0.0.1` with a free port; it serves until the
/// runtime stops. Endpoints: `GET /api/items`, `POST /api/items` with
/// `{"name": "..."}`, `DELETE /api/items/{id}`.
pub async fn start_api() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let store = Arc::new(Mutex::new(Store {
        next: 3,
        items: seed(),
    }));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let store = store.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let store = store.clone();
                    async move { Ok::<_, Infallible>(api(req, &store).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

#[derive(Deserialize)]
struct NewItem {
    name: String,
}

async fn api(req: Request<Incoming>, store: &Mutex<Store>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let error = |status: StatusCode, message: &str| {
        json_response(status, &serde_json::json!({ "error": message }))
    };
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/api/items") => {
            let items = match store.lock() {
                Ok(store) => store.items.clone(),
                Err(poisoned) => poisoned.into_inner().items.clone(),
            };
            json_response(StatusCode::OK, &serde_json::json!(items))
        }
        (Method::POST, "/api/items") => {
            let bytes = match Limited::new(req.into_body(), 64 * 1024).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            };
            let Ok(new) = serde_json::from_slice::<NewItem>(&bytes) else {
                return error(StatusCode::BAD_REQUEST, "send {\"name\": \"...\"}");
            };
            let mut store = match store.lock() {
                Ok(store) => store,
                Err(poisoned) => poisoned.into_inner(),
            };
            let item = Item {
                id: store.next,
                name: new.name,
            };
            store.next += 1;
            store.items.push(item.clone());
            json_response(StatusCode::CREATED, &serde_json::json!(item))
        }
        (Method::DELETE, p) if p.starts_with("/api/items/") => {
            let Ok(id) = p["/api/items/".len()..].parse::<u64>() else {
                return error(StatusCode::BAD_REQUEST, "item ids are numbers");
            };
            let mut store = match store.lock() {
                Ok(store) => store,
                Err(poisoned) => poisoned.into_inner(),
            };
            let before = store.items.len();
            store.items.retain(|item| item.id != id);
            if store.items.len() < before {
                let mut response = Response::new(Body::Empty);
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
            } else {
                error(StatusCode::NOT_FOUND, "no such item")
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "try GET /api/items, POST /api/items or DELETE /api/items/{id}",
        ),
    }
}

/// One step of the walkthrough: a request, and what the gateway answers.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step shows.
    pub title: &'static str,
    /// The request's method.
    pub method: Method,
    /// The request's path.
    pub path: &'static str,
    /// The request's headers.
    pub headers: Vec<(&'static str, String)>,
    /// The status the gateway answers with.
    pub status: StatusCode,
    /// Response headers the answer carries (lower-case names, as hyper writes them).
    pub expect: Vec<(String, String)>,
    /// A closing remark.
    pub note: &'static str,
}

impl Step {
    /// The step as a copy-pasteable `curl` command against `gateway`.
    pub fn curl(&self, gateway: SocketAddr) -> String {
        let mut command = String::from("curl -i");
        if self.method != Method::GET {
            command.push_str(&format!(" -X {}", self.method));
        }
        command.push_str(&format!(" http://{gateway}{}", self.path));
        for (name, value) in &self.headers {
            command.push_str(&format!(" -H '{name}: {value}'"));
        }
        command
    }
}

/// The three steps: a preflight that passes, an actual request that
/// passes, and a foreign origin refused with debug mode's explanation.
pub fn walkthrough(policy: &Policy) -> Vec<Step> {
    let preflight_from = |origin: &str| {
        vec![
            ("Origin", origin.to_owned()),
            ("Access-Control-Request-Method", "DELETE".to_owned()),
        ]
    };
    vec![
        step(
            policy,
            "A preflight from the page's origin passes: the gateway answers it without calling the API",
            (Method::OPTIONS, "/api/items/1"),
            preflight_from(PAGE_ORIGIN),
            "",
        ),
        step(
            policy,
            "The actual request passes through to the API and comes back with CORS headers",
            (Method::GET, "/api/items"),
            vec![("Origin", PAGE_ORIGIN.to_owned())],
            "and the API's JSON body",
        ),
        step(
            policy,
            "A foreign origin is refused, and debug mode says why",
            (Method::OPTIONS, "/api/items/1"),
            preflight_from(FOREIGN_ORIGIN),
            "and no access-control-allow-* header: the browser blocks the request",
        ),
    ]
}

/// A step for a request, with the answer the engine gives it.
fn step(
    policy: &Policy,
    title: &'static str,
    (method, path): (Method, &'static str),
    headers: Vec<(&'static str, String)>,
    note: &'static str,
) -> Step {
    let (status, expect) = answer(policy, method.clone(), &headers);
    Step {
        title,
        method,
        path,
        headers,
        status,
        expect,
        note,
    }
}

/// What the gateway answers, per the engine: the status for a preflight
/// (200 stands for "forwarded") and the CORS headers.
fn answer(
    policy: &Policy,
    method: Method,
    headers: &[(&str, String)],
) -> (StatusCode, Vec<(String, String)>) {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(name, value);
        }
    }
    let shown = |map: &HeaderMap| -> Vec<(String, String)> {
        map.iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    };
    match policy.decide(&method, &map) {
        Decision::Preflight(preflight) => {
            let mut expect = shown(&preflight.headers());
            if let Some(denial) = preflight.denial() {
                expect.push((
                    corsica_tower::DEBUG_HEADER.as_str().to_owned(),
                    denial.explain(policy),
                ));
            }
            (preflight.status(), expect)
        }
        Decision::Forward(forward) => {
            let mut response = HeaderMap::new();
            forward.apply(&mut response);
            (StatusCode::OK, shown(&response))
        }
    }
}
