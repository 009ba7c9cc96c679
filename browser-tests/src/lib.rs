//! A differential harness: corsica's browser simulator against real
//! headless Chromium.
//!
//! [`run`] builds the corpus ([`mod@corpus`]: seeded [`random`] cases plus
//! the hand-written [`edge`] cases read from `cases/*.toml`, each a
//! [`scenario::Scenario`]), serves every case from a scripted server on three
//! ports of 127.0.0.1 ([`server`]), makes each `fetch()` from a page on
//! one of them in a real browser ([`driver`], over the DevTools protocol in
//! [`cdp`]), and compares what the browser did with what
//! `corsica::browser::simulate` predicts ([`mod@compare`]).

#![warn(missing_docs)]

pub mod cdp;
pub mod compare;
pub mod corpus;
pub mod driver;
pub mod edge;
pub mod random;
pub mod rng;
pub mod scenario;
pub mod server;

use std::path::PathBuf;
use std::time::Instant;

use corsica::browser::Profile;
use serde::Serialize;

use crate::compare::{compare, predict, Disagreement};
use crate::corpus::corpus;
use crate::driver::{BrowserDriver, Chromium, DriverError, Job};
use crate::scenario::Scenario;
use crate::server::Server;

/// The seed used when `CORSICA_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0xC012_51CA;
/// The number of random cases when `CORSICA_CASES` is not set.
pub const DEFAULT_CASES: usize = 2000;
/// How many scenarios run in the page at once.
pub const BATCH: usize = 24;
/// How many preflight-cache scenarios (several fetches of one URL) run at
/// once. Chromium keeps at most 32 preflight results per top-level site,
/// and every page here is on the same site: a small batch started with
/// an empty cache never fills it, so no scenario loses its entry to
/// another's.
pub const CACHE_BATCH: usize = 6;

/// One scenario on which the browser and the simulator disagree.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The case's id.
    pub id: String,
    /// The disagreements.
    pub disagreements: Vec<Disagreement>,
    /// The case as JSON (the scenario's first fetch), to replay it.
    pub case: serde_json::Value,
    /// Later fetches of the same URL, if any.
    pub follow_ups: serde_json::Value,
    /// What the browser reported, for diagnosis.
    pub browser_events: Vec<String>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The browser (`chromium`).
    pub browser: String,
    /// Its version, as it reports it.
    pub browser_version: String,
    /// The seed.
    pub seed: u64,
    /// Random cases generated.
    pub generated: usize,
    /// Hand-written cases.
    pub hand_written: usize,
    /// Scenarios run (generated + hand-written).
    pub scenarios: usize,
    /// Fetches made (cache scenarios make several).
    pub fetches: usize,
    /// Scenarios on which browser and simulator agree on every field.
    pub agreeing: usize,
    /// Agreement in percent.
    pub agreement_percent: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// How often each outcome occurred, over every fetch (as the
    /// simulator classifies it), to show what the corpus covers.
    pub outcomes: std::collections::BTreeMap<String, usize>,
    /// Fetches that sent a preflight.
    pub preflights: usize,
    /// Fetches that followed at least one redirect.
    pub redirected: usize,
    /// Problems with the harness itself (responses it could not send).
    pub harness_problems: Vec<String>,
    /// Every disagreement.
    pub failures: Vec<Failure>,
}

impl Report {
    /// Where the report is written: `$CARGO_TARGET_DIR/browser-tests/`, or
    /// the workspace's `target/browser-tests/`.
    pub fn dir() -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(t) => PathBuf::from(t).join("browser-tests"),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
                .join("browser-tests"),
        }
    }

    /// Writes `report.json` and returns its path.
    pub fn write(&self) -> std::io::Result<PathBuf> {
        let dir = Report::dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("report.json");
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, json)?;
        Ok(path)
    }

    /// A short human-readable summary, with the outcome counts.
    pub fn summary(&self) -> String {
        let mut out = String::from("outcomes (simulated, per fetch):\n");
        for (outcome, n) in &self.outcomes {
            out.push_str(&format!("  {n:>6}  {outcome}\n"));
        }
        out.push_str(&format!(
            "  {:>6}  with a preflight\n  {:>6}  redirected\n",
            self.preflights, self.redirected
        ));
        out + &format!(
            "{} {}: {} scenarios ({} generated from seed {}, {} hand-written), {} fetches, {} agree ({:.2}%), {:.1} s",
            self.browser,
            self.browser_version,
            self.scenarios,
            self.generated,
            self.seed,
            self.hand_written,
            self.fetches,
            self.agreeing,
            self.agreement_percent,
            self.seconds
        )
    }
}

/// Reads the seed and the case count from `CORSICA_SEED` and
/// `CORSICA_CASES` (decimal, or hex with `0x`).
pub fn settings() -> Result<(u64, usize), String> {
    let parse = |name: &str| -> Result<Option<u64>, String> {
        match std::env::var(name) {
            Err(_) => Ok(None),
            Ok(v) => {
                let t = v.trim();
                let n = match t.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => t.parse(),
                };
                n.map(Some).map_err(|e| format!("{name}={v}: {e}"))
            }
        }
    };
    let seed = parse("CORSICA_SEED")?.unwrap_or(DEFAULT_SEED);
    let cases = parse("CORSICA_CASES")?.map_or(DEFAULT_CASES, |n| n as usize);
    Ok((seed, cases))
}

/// Runs the whole differential test against Chromium.
pub async fn run(seed: u64, count: usize) -> Result<Report, DriverError> {
    let started = Instant::now();
    let server = Server::start()
        .await
        .map_err(|e| DriverError(format!("cannot start the scripted server: {e}")))?;
    let ports = server.ports();
    // A run token makes every URL unique to this run.
    let run_token = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let scenarios = corpus(seed, count, ports, &run_token);
    for (i, s) in scenarios.iter().enumerate() {
        server.install(&run_token, i, &s.case);
    }
    let mut failures = Vec::new();
    // Predict first: a case the simulator cannot run is a corpus bug, and
    // it is reported like any disagreement.
    let mut predictions = Vec::with_capacity(scenarios.len());
    for s in &scenarios {
        predictions.push(predict(s, Profile::Chromium));
    }
    let mut browser = Chromium::launch(&ports.page_url(), &run_token).await?;
    let mut agreeing = 0;
    let mut fetches = 0;
    let mut outcomes = std::collections::BTreeMap::new();
    let (mut preflights, mut redirected) = (0, 0);
    for verdict in predictions.iter().flatten().flatten() {
        let outcome = match (
            &verdict.cors_error,
            &verdict.js_error,
            &verdict.network_error,
        ) {
            (Some(e), _, _) => format!("blocked: {}", e.name()),
            (_, Some(_), _) => "fetch() threw".to_owned(),
            (_, _, Some(n)) => format!("network error: {n}"),
            _ if verdict.allowed => "allowed".to_owned(),
            _ => "other".to_owned(),
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
        preflights += usize::from(verdict.preflight);
        redirected += usize::from(
            verdict
                .requests
                .iter()
                .any(|r| r.url != verdict.requests[0].url),
        );
    }
    type Indexed<'a> = Vec<(usize, &'a Scenario)>;
    let (repeats, singles): (Indexed<'_>, Indexed<'_>) = scenarios
        .iter()
        .enumerate()
        .partition(|(_, s)| !s.follow_ups.is_empty());
    let batches = singles
        .chunks(BATCH)
        .map(|c| (false, c))
        .chain(repeats.chunks(CACHE_BATCH).map(|c| (true, c)));
    for (clean, chunk) in batches {
        if clean {
            if let Err(e) = browser.reset_caches().await {
                browser.close().await;
                return Err(e);
            }
        }
        let jobs: Vec<Job> = chunk
            .iter()
            .map(|(i, s)| Job {
                key: *i,
                fetches: s.fetches(),
            })
            .collect();
        let observed = match browser.run(&jobs).await {
            Ok(o) => o,
            Err(e) => {
                browser.close().await;
                return Err(e);
            }
        };
        for ((i, scenario), obs) in chunk.iter().zip(&observed) {
            fetches += obs.fetches.len();
            let arrivals = server.arrivals(&run_token, *i);
            let disagreements = match &predictions[*i] {
                Ok(verdicts) => compare(verdicts, obs, &arrivals),
                Err(e) => vec![Disagreement {
                    fetch: 0,
                    field: "simulate",
                    simulator: format!("error: {e}"),
                    browser: "-".into(),
                }],
            };
            if disagreements.is_empty() {
                agreeing += 1;
            } else {
                failures.push(Failure {
                    id: scenario.case.id.clone(),
                    disagreements,
                    case: serde_json::to_value(&scenario.case).unwrap_or_default(),
                    follow_ups: serde_json::to_value(&scenario.follow_ups).unwrap_or_default(),
                    browser_events: obs.fetches.iter().flat_map(|f| f.log.clone()).collect(),
                });
            }
        }
    }
    let browser_name = browser.name().to_owned();
    let version = browser.version().to_owned();
    browser.close().await;
    let total = scenarios.len();
    let hand_written = total - count;
    Ok(Report {
        browser: browser_name,
        browser_version: version,
        seed,
        generated: count,
        hand_written,
        scenarios: total,
        fetches,
        agreeing,
        agreement_percent: if total == 0 {
            0.0
        } else {
            agreeing as f64 * 100.0 / total as f64
        },
        outcomes,
        preflights,
        redirected,
        seconds: started.elapsed().as_secs_f64(),
        harness_problems: server.problems(),
        failures,
    })
}
