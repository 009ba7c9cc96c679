//! `corsica audit`: send attacker origins derived from the trusted one,
//! concurrently, to the given URLs only, and report what a browser would
//! let an attacker read.

pub mod finding;
pub mod judge;
pub mod probes;
pub mod report;
pub mod trusted;

use futures_util::stream::{self, StreamExt};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::net::{Client, NetError};
use finding::Finding;
use judge::{judge, Exchange, ProbeResult};
use probes::{probes, Probe, Trusted};

/// The method a preflight probe asks for.
const PROBE_METHOD: &str = "PUT";

/// The audit of one URL.
#[derive(Debug, Clone, Serialize)]
pub struct UrlReport {
    /// The URL probed.
    pub target: String,
    /// What was found, most severe first.
    pub findings: Vec<Finding>,
    /// How many requests were sent.
    pub requests: usize,
    /// Requests that got no HTTP response.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The trusted origin's own `GET`, judged in the chosen browser (absent
    /// when it got no response or was redirected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<trusted::TrustedOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Baseline,
    Trusted,
    Simple(usize),
    Preflight(usize),
}

/// Audits every URL; all probes run concurrently, at most `concurrency` at once.
pub async fn run(
    client: &Client,
    urls: &[String],
    trusted: &Trusted,
    token: &str,
    concurrency: usize,
    progress: Option<&ProgressBar>,
    profile: corsica::browser::Profile,
) -> Vec<UrlReport> {
    let probes = probes(trusted, token);
    let mut jobs = Vec::new();
    for (u, url) in urls.iter().enumerate() {
        jobs.push((u, Kind::Baseline));
        jobs.push((u, Kind::Trusted));
        for i in 0..probes.len() {
            jobs.push((u, Kind::Simple(i)));
            jobs.push((u, Kind::Preflight(i)));
        }
        let _ = url;
    }
    if let Some(bar) = progress {
        bar.set_length(jobs.len() as u64);
    }
    let results: Vec<(usize, Kind, Result<Exchange, NetError>)> = stream::iter(jobs)
        .map(|(u, kind)| {
            let url = &urls[u];
            let probes = &probes;
            async move {
                let (method, headers) = request_for(kind, &trusted.origin, probes);
                let outcome =
                    client
                        .request(method, url, &headers)
                        .await
                        .map(|response| Exchange {
                            method: method.to_owned(),
                            url: url.clone(),
                            headers,
                            response,
                        });
                if let Some(bar) = progress {
                    bar.inc(1);
                }
                (u, kind, outcome)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    urls.iter()
        .enumerate()
        .map(|(u, url)| {
            let mine: Vec<&(usize, Kind, Result<Exchange, NetError>)> =
                results.iter().filter(|(i, _, _)| *i == u).collect();
            let get = |kind: Kind| {
                mine.iter()
                    .find(|(_, k, _)| *k == kind)
                    .and_then(|(_, _, r)| r.as_ref().ok())
                    .cloned()
            };
            let mut errors: Vec<String> = mine
                .iter()
                .filter_map(|(_, _, r)| r.as_ref().err().map(|e| e.message.clone()))
                .collect();
            errors.sort();
            errors.dedup();
            let probe_results: Vec<ProbeResult> = probes
                .iter()
                .enumerate()
                .map(|(i, probe)| ProbeResult {
                    probe: probe.clone(),
                    simple: get(Kind::Simple(i)),
                    preflight: get(Kind::Preflight(i)),
                })
                .collect();
            let findings = judge(
                get(Kind::Baseline).as_ref(),
                get(Kind::Trusted).as_ref(),
                &trusted.origin,
                &probe_results,
            );
            UrlReport {
                target: url.clone(),
                findings,
                requests: mine.len(),
                errors,
                trusted: get(Kind::Trusted)
                    .and_then(|e| trusted::judge(&e, &trusted.origin, profile)),
            }
        })
        .collect()
}

fn request_for(
    kind: Kind,
    trusted: &str,
    probes: &[Probe],
) -> (&'static str, Vec<(String, Vec<u8>)>) {
    let origin = |o: &str| ("Origin".to_owned(), o.as_bytes().to_vec());
    match kind {
        Kind::Baseline => ("GET", vec![]),
        Kind::Trusted => ("GET", vec![origin(trusted)]),
        Kind::Simple(i) => ("GET", vec![origin(&probes[i].origin)]),
        Kind::Preflight(i) => (
            "OPTIONS",
            vec![
                origin(&probes[i].origin),
                (
                    "Access-Control-Request-Method".to_owned(),
                    PROBE_METHOD.as_bytes().to_vec(),
                ),
            ],
        ),
    }
}
