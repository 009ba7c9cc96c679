//! The admin listener: `/healthz` and Prometheus `/metrics`, on its own
//! address so that it can stay off the public interface.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body::Body;
use crate::control::stopped;
use crate::metrics::Metrics;
use corsica_store::{redact, OriginStores, StoreSet};

/// Serves the admin endpoints until `stop` turns true. `draining` makes
/// `/healthz` answer 503, so a load balancer stops sending traffic while
/// requests in flight finish.
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    stores: Arc<OriginStores>,
    draining: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            _ = stopped(&mut stop) => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(target: "corsica::gateway", %error, "admin listener could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let stores = stores.clone();
        let draining = draining.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let response = answer(&req, &metrics, &stores, draining.load(Ordering::Relaxed));
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(target: "corsica::gateway", %error, "admin connection ended");
            }
        });
    }
}

/// The `/healthz` body: `ok`, or `stale` and one line per stale origin set.
///
/// A stale replica still answers 200: it serves the last set it loaded
/// (or, if it never loaded one, only the static `origins`), which refuses
/// more than it should at worst and never allows more. Taking every replica
/// out of a load balancer because the store is down would turn a store
/// outage into an outage of the API.
fn health(sets: &[std::sync::Arc<StoreSet>]) -> String {
    use std::fmt::Write;
    let stale: Vec<_> = sets.iter().filter(|s| s.status().is_stale()).collect();
    if stale.is_empty() {
        return "ok".to_owned();
    }
    let mut out = String::from("stale\n");
    for set in stale {
        let status = set.status();
        let _ = write!(
            out,
            "origin store {} set \"{}\": unreachable, ",
            redact(&set.store().url),
            set.store().set
        );
        let _ = match status.last_sync_age_secs() {
            Some(age) => writeln!(
                out,
                "serving the last known set ({} members, synced {age:.1} s ago)",
                status.members()
            ),
            None => writeln!(out, "never loaded: serving only the static origins"),
        };
    }
    out
}

fn answer(
    req: &Request<Incoming>,
    metrics: &Metrics,
    stores: &OriginStores,
    draining: bool,
) -> Response<Body> {
    let sets = stores.sets();
    let (status, content_type, body) = match req.uri().path() {
        "/healthz" if draining => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "draining\n".to_owned(),
        ),
        "/healthz" => (StatusCode::OK, "text/plain", health(&sets)),
        "/metrics" => {
            metrics.observe_stores(&sets);
            (
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                metrics.encode(),
            )
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /healthz or /metrics\n".to_owned(),
        ),
    };
    let mut response = Response::new(Body::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
