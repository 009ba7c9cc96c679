//! Browser drivers: what the harness needs from a real browser, behind a
//! small trait, and the Chromium implementation over the DevTools protocol.
//!
//! Firefox ([`crate::firefox`], WebDriver BiDi) and WebKitGTK
//! ([`crate::webkit`], classic WebDriver under `xvfb-run`) implement the
//! same trait and run the same batch script; see
//! `docs/browser-differences.md` for what each exposes.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use corsica::browser::{Credentials, RequestSpec};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::cdp::{Cdp, Event};
use crate::server::parse_case_path;

/// Why a browser could not be driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverError(pub String);

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DriverError {}

impl From<crate::cdp::CdpError> for DriverError {
    fn from(e: crate::cdp::CdpError) -> Self {
        DriverError(e.0)
    }
}

/// Fetches the page makes one after another (one, or several of the same
/// URL to exercise the preflight cache). `key` is the case's index in the
/// run, which its URLs carry.
#[derive(Debug, Clone)]
pub struct Job {
    /// The case's index.
    pub key: usize,
    /// The fetches, in order.
    pub fetches: Vec<RequestSpec>,
}

/// How the script's `fetch()` promise settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptResult {
    /// It resolved: the status and `response.headers.get(name)` for each
    /// name read.
    Resolved {
        /// The response status.
        status: u16,
        /// What each read returned.
        headers: BTreeMap<String, Option<String>>,
    },
    /// It rejected (or threw) with this error, as `String(e)`.
    Rejected(String),
}

/// `Network.loadingFailed.corsErrorStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorsStatus {
    /// `corsError`.
    pub error: String,
    /// `failedParameter` (`""` when there is none).
    pub parameter: String,
}

/// What the browser showed for one fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FetchObservation {
    /// The promise's outcome (`None` when the browser never answered).
    pub script: Option<ScriptResult>,
    /// CORS errors reported for the fetch's requests, de-duplicated.
    pub cors: Vec<CorsStatus>,
    /// Failures reported without a CORS error: `errorText`, for the fetch
    /// itself (not its preflight).
    pub failures: Vec<String>,
    /// Failures of the preflight request without a CORS error.
    pub preflight_failures: Vec<String>,
    /// CORS console messages, in order.
    pub console: Vec<String>,
    /// Every network event seen for the fetch, abbreviated, for reports.
    pub log: Vec<String>,
}

/// What the browser showed for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobObservation {
    /// The case's index.
    pub key: usize,
    /// One entry per fetch.
    pub fetches: Vec<FetchObservation>,
}

/// A real browser the harness drives: one page on origin A, running batches
/// of fetches and reporting what happened to each.
pub trait BrowserDriver {
    /// The engine's name (`chromium`).
    fn name(&self) -> &'static str;

    /// The browser's version string.
    fn version(&self) -> &str;

    /// Runs `jobs` concurrently in the page (each job's fetches one after
    /// another) and reports what the browser showed for each.
    fn run(
        &mut self,
        jobs: &[Job],
    ) -> impl Future<Output = Result<Vec<JobObservation>, DriverError>> + Send;

    /// Forgets everything cached (HTTP cache and CORS-preflight cache), so
    /// the next batch starts from a clean state.
    fn reset_caches(&mut self) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Shuts the browser down and removes its profile.
    fn close(self) -> impl Future<Output = ()> + Send;
}

/// Where Chromium may be installed; `CORSICA_CHROMIUM` overrides.
const CANDIDATES: &[&str] = &[
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
];

/// The command that installs Chromium on Debian, for error messages.
pub const INSTALL_HINT: &str =
    "install it with `sudo apt-get update && sudo apt-get install -y chromium` (Debian), or point CORSICA_CHROMIUM at a Chromium binary";

/// Finds a browser binary: `env` when it is set (it must be a file), else
/// the first of `candidates` that exists.
pub(crate) fn find_binary(
    env: &str,
    candidates: &[&str],
    what: &str,
    hint: &str,
) -> Result<PathBuf, DriverError> {
    if let Ok(path) = std::env::var(env) {
        let p = PathBuf::from(&path);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(DriverError(format!("{env}={path} is not a file; {hint}")))
        };
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            DriverError(format!(
                "{what} is not installed (looked for {}); {hint}",
                candidates.join(", ")
            ))
        })
}

/// A fresh, empty directory under the temporary directory for a
/// browser's profile.
pub(crate) fn fresh_dir(browser: &str) -> Result<PathBuf, DriverError> {
    let dir = std::env::temp_dir().join(format!(
        "corsica-{browser}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| DriverError(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Finds the Chromium binary.
pub fn find_chromium() -> Result<PathBuf, DriverError> {
    if let Ok(path) = std::env::var("CORSICA_CHROMIUM") {
        let p = PathBuf::from(&path);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(DriverError(format!(
                "CORSICA_CHROMIUM={path} is not a file; {INSTALL_HINT}"
            )))
        };
    }
    CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            DriverError(format!(
                "Chromium is not installed (looked for {}); {INSTALL_HINT}",
                CANDIDATES.join(", ")
            ))
        })
}

/// Headless Chromium driven over the DevTools protocol.
pub struct Chromium {
    child: Child,
    cdp: Cdp,
    events: mpsc::UnboundedReceiver<Event>,
    session: String,
    version: String,
    profile_dir: PathBuf,
    run: String,
}

/// How long to wait for events that explain a failed fetch.
const SETTLE_DEADLINE: Duration = Duration::from_secs(5);
/// Quiet time after the last event before a batch counts as complete.
const SETTLE_QUIET: Duration = Duration::from_millis(60);

impl Chromium {
    /// Launches headless Chromium with a fresh profile and opens `page_url`.
    /// `run` is the run token in case URLs, used to attribute events.
    pub async fn launch(page_url: &str, run: &str) -> Result<Chromium, DriverError> {
        Chromium::launch_with(page_url, run, &[]).await
    }

    /// [`Chromium::launch`] with extra command-line switches (e.g.
    /// `--ip-address-space-overrides=…`).
    pub async fn launch_with(
        page_url: &str,
        run: &str,
        extra: &[String],
    ) -> Result<Chromium, DriverError> {
        let binary = find_chromium()?;
        let profile_dir = fresh_dir("chromium")?;
        let mut command = Command::new(&binary);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .args(extra)
            .arg("about:blank");
        let (child, ws) = spawn_announcing(
            &mut command,
            &binary,
            "Chromium",
            "DevTools",
            Duration::from_secs(30),
        )
        .await?;

        let mut cdp = Cdp::connect(&ws).await?;
        let events = cdp
            .take_events()
            .ok_or_else(|| DriverError("no event queue".into()))?;
        let version = cdp.call("Browser.getVersion", json!({}), None).await?;
        let version = version["product"].as_str().unwrap_or("unknown").to_owned();
        let target = cdp
            .call("Target.createTarget", json!({"url": "about:blank"}), None)
            .await?;
        let target_id = target["targetId"]
            .as_str()
            .ok_or_else(|| DriverError("Target.createTarget returned no targetId".into()))?;
        let attached = cdp
            .call(
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
                None,
            )
            .await?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| DriverError("Target.attachToTarget returned no sessionId".into()))?
            .to_owned();
        for domain in [
            "Network.enable",
            "Log.enable",
            "Runtime.enable",
            "Page.enable",
        ] {
            cdp.call(domain, json!({}), Some(&session)).await?;
        }
        let mut chromium = Chromium {
            child,
            cdp,
            events,
            session,
            version,
            profile_dir,
            run: run.to_owned(),
        };
        chromium.open(page_url).await?;
        Ok(chromium)
    }

    /// Sets a permission for `origin` over DevTools (`Browser.setPermission`),
    /// e.g. `loopback-network` to `granted` or `denied`.
    pub async fn set_permission(
        &mut self,
        name: &str,
        setting: &str,
        origin: &str,
    ) -> Result<(), DriverError> {
        self.cdp
            .call(
                "Browser.setPermission",
                json!({"permission": {"name": name}, "setting": setting, "origin": origin}),
                None,
            )
            .await?;
        Ok(())
    }

    async fn open(&mut self, page_url: &str) -> Result<(), DriverError> {
        self.cdp
            .call(
                "Page.navigate",
                json!({"url": page_url}),
                Some(&self.session),
            )
            .await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = eval(
                &self.cdp,
                &self.session,
                "location.href + ' ' + document.readyState",
                Duration::from_secs(5),
            )
            .await
            .unwrap_or_default();
            if state.as_str() == Some(&format!("{page_url} complete")) {
                break;
            }
            if Instant::now() > deadline {
                return Err(DriverError(format!(
                    "the page {page_url} did not load (last state: {state})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Drop the navigation's own events.
        while self.events.try_recv().is_ok() {}
        Ok(())
    }
}

/// Evaluates an expression in the page, awaiting a returned promise.
async fn eval(
    cdp: &Cdp,
    session: &str,
    expression: &str,
    timeout: Duration,
) -> Result<Value, DriverError> {
    let call = cdp.call(
        "Runtime.evaluate",
        json!({
            "expression": expression,
            "awaitPromise": true,
            "returnByValue": true,
        }),
        Some(session),
    );
    let result = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| DriverError(format!("Runtime.evaluate took longer than {timeout:?}")))??;
    if let Some(ex) = result.get("exceptionDetails") {
        return Err(DriverError(format!("the page threw: {ex}")));
    }
    Ok(result["result"]["value"].clone())
}

/// The script one batch runs: every job concurrently, each job's fetches
/// in sequence (`gap` ms apart, when given, so that a browser's late
/// console messages can be told apart by time); each settled promise
/// becomes `{ok, status, headers, t}` or `{ok: false, err, t}`, `t` being
/// when the fetch started.
pub(crate) const BATCH_SCRIPT: &str = r#"(async (jobs, gap) => {
  const one = async (f) => {
    const t = Date.now();
    try {
      const r = await fetch(f.url, {method: f.method, headers: f.headers, credentials: f.credentials});
      const headers = {};
      for (const n of f.read) headers[n] = r.headers.get(n);
      try { await r.arrayBuffer(); } catch (_) {}
      return {ok: true, status: r.status, headers, t};
    } catch (e) {
      return {ok: false, err: String(e), t};
    }
  };
  const pause = () => new Promise((r) => setTimeout(r, gap));
  const run = async (job) => {
    const out = [];
    for (const f of job) {
      if (gap && out.length) await pause();
      out.push(await one(f));
    }
    return out;
  };
  return JSON.stringify(await Promise.all(jobs.map(run)));
})"#;

fn credentials_str(c: Credentials) -> &'static str {
    c.as_str()
}

/// The jobs as the batch script's argument.
pub(crate) fn batch_argument(jobs: &[Job]) -> Value {
    let jobs: Vec<Vec<Value>> = jobs
        .iter()
        .map(|j| {
            j.fetches
                .iter()
                .map(|f| {
                    json!({
                        "url": f.url,
                        "method": f.method,
                        "headers": f.headers,
                        "credentials": credentials_str(f.credentials),
                        "read": f.read_headers,
                    })
                })
                .collect()
        })
        .collect();
    json!(jobs)
}

fn batch_expression(jobs: &[Job]) -> String {
    format!("{BATCH_SCRIPT}({})", batch_argument(jobs))
}

/// One settled fetch as the batch script reports it.
#[derive(Deserialize)]
pub(crate) struct Settled {
    pub(crate) ok: bool,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, Option<String>>,
    #[serde(default)]
    err: String,
    /// When the fetch started, in ms since the epoch (page clock).
    #[serde(default)]
    pub(crate) t: f64,
}

impl Settled {
    /// How the promise settled.
    pub(crate) fn result(&self) -> ScriptResult {
        if self.ok {
            ScriptResult::Resolved {
                status: self.status,
                headers: self.headers.clone(),
            }
        } else {
            ScriptResult::Rejected(self.err.clone())
        }
    }
}

/// Parses what the batch script returned.
pub(crate) fn parse_batch(value: &Value) -> Result<Vec<Vec<Settled>>, DriverError> {
    let text = value
        .as_str()
        .ok_or_else(|| DriverError(format!("the batch returned {value}")))?;
    serde_json::from_str(text).map_err(|e| DriverError(format!("the batch returned {text}: {e}")))
}

/// Per-request bookkeeping while a batch runs.
#[derive(Default)]
struct Tracker {
    /// requestId → (job key, sequence number of the fetch among the job's
    /// fetches that reached the network, is a preflight).
    requests: HashMap<String, (usize, usize, bool)>,
    /// job key → how many main requests have started.
    started: HashMap<usize, usize>,
    /// job key → CORS console messages in arrival order.
    console: HashMap<usize, Vec<String>>,
    /// job key → other console messages, for reports.
    other_console: HashMap<usize, Vec<String>>,
    /// (job key, sequence number) → observations from network events.
    seen: HashMap<(usize, usize), FetchObservation>,
}

impl Tracker {
    fn on_event(&mut self, run: &str, e: &Event) {
        let p = &e.params;
        match e.method.as_str() {
            "Network.requestWillBeSent" => {
                let id = p["requestId"].as_str().unwrap_or_default().to_owned();
                let url = p["request"]["url"].as_str().unwrap_or_default();
                let Some((key, _)) = parse_case_path(run, url) else {
                    return;
                };
                let preflight = p["type"].as_str() == Some("Preflight")
                    || p["initiator"]["type"].as_str() == Some("preflight");
                if self.requests.contains_key(&id) {
                    return; // A redirect of a request already known.
                }
                let fetch = if preflight {
                    // A preflight belongs to the fetch that started last.
                    self.started
                        .get(&key)
                        .copied()
                        .unwrap_or(1)
                        .saturating_sub(1)
                } else {
                    let n = self.started.entry(key).or_default();
                    *n += 1;
                    *n - 1
                };
                self.requests.insert(id, (key, fetch, preflight));
            }
            "Network.loadingFailed" => {
                let id = p["requestId"].as_str().unwrap_or_default();
                let Some(&(key, fetch, preflight)) = self.requests.get(id) else {
                    return;
                };
                let obs = self.seen.entry((key, fetch)).or_default();
                obs.log.push(format!(
                    "loadingFailed{} {}",
                    if preflight { " (preflight)" } else { "" },
                    p
                ));
                match p.get("corsErrorStatus") {
                    Some(status) if status.is_object() => {
                        let s = CorsStatus {
                            error: status["corsError"].as_str().unwrap_or_default().to_owned(),
                            parameter: status["failedParameter"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        };
                        if !obs.cors.contains(&s) {
                            obs.cors.push(s);
                        }
                    }
                    _ => {
                        // DevTools shows a renderer-side block as
                        // `(blocked:<reason>)` with an empty errorText.
                        let text = match (p["errorText"].as_str(), p["blockedReason"].as_str()) {
                            (Some("") | None, Some(reason)) => format!("blocked:{reason}"),
                            (text, _) => text.unwrap_or_default().to_owned(),
                        };
                        if preflight {
                            obs.preflight_failures.push(text);
                        } else {
                            obs.failures.push(text);
                        }
                    }
                }
            }
            "Log.entryAdded" => {
                let entry = &p["entry"];
                let text = entry["text"].as_str().unwrap_or_default();
                let url = entry["url"].as_str().unwrap_or_default();
                let Some((key, _)) =
                    parse_case_path(run, text).or_else(|| parse_case_path(run, url))
                else {
                    return;
                };
                if entry["source"].as_str() == Some("javascript") && text.starts_with("Access to ")
                {
                    self.console.entry(key).or_default().push(text.to_owned());
                } else {
                    // Other messages (network errors, warnings) are kept
                    // for the report only.
                    self.other_console.entry(key).or_default().push(format!(
                        "console {} {}: {text}",
                        entry["source"].as_str().unwrap_or_default(),
                        entry["level"].as_str().unwrap_or_default()
                    ));
                }
            }
            _ => {}
        }
    }

    /// Whether the events that explain every failed fetch have arrived:
    /// a failure report for each rejected fetch that reached the network,
    /// and a console message for each CORS error.
    fn complete(&self, jobs: &[Job], results: &[Vec<ScriptResult>]) -> bool {
        jobs.iter().zip(results).all(|(job, settled)| {
            let mut cors_fetches = 0;
            for (seq, &i) in reached_network(settled).iter().enumerate() {
                let network_failure =
                    matches!(&settled[i], ScriptResult::Rejected(e) if e == FAILED_TO_FETCH);
                let obs = self.seen.get(&(job.key, seq));
                if network_failure && obs.is_none_or(|o| o.cors.is_empty() && o.failures.is_empty())
                {
                    return false;
                }
                if obs.is_some_and(|o| !o.cors.is_empty()) {
                    cors_fetches += 1;
                }
            }
            self.console.get(&job.key).map_or(0, Vec::len) >= cors_fetches
        })
    }
}

/// What `fetch()` rejects with when the network (or CORS) failed.
const FAILED_TO_FETCH: &str = "TypeError: Failed to fetch";

/// The indices of the fetches that got as far as the network: all but
/// those that threw before sending (a `TypeError` other than "Failed to
/// fetch").
fn reached_network(settled: &[ScriptResult]) -> Vec<usize> {
    settled
        .iter()
        .enumerate()
        .filter(|(_, r)| match r {
            ScriptResult::Resolved { .. } => true,
            ScriptResult::Rejected(e) => e == FAILED_TO_FETCH,
        })
        .map(|(i, _)| i)
        .collect()
}

impl BrowserDriver for Chromium {
    fn name(&self) -> &'static str {
        "chromium"
    }

    fn version(&self) -> &str {
        &self.version
    }

    async fn run(&mut self, jobs: &[Job]) -> Result<Vec<JobObservation>, DriverError> {
        let mut tracker = Tracker::default();
        let expression = batch_expression(jobs);
        let call = eval(
            &self.cdp,
            &self.session,
            &expression,
            Duration::from_secs(60),
        );
        tokio::pin!(call);
        // Process events while the batch runs, so the queue stays short.
        let value = loop {
            tokio::select! {
                v = &mut call => break v?,
                Some(e) = self.events.recv() => {
                    if e.session_id.as_deref() == Some(self.session.as_str()) {
                        tracker.on_event(&self.run, &e);
                    }
                }
            }
        };
        let text = value
            .as_str()
            .ok_or_else(|| DriverError(format!("the batch returned {value}")))?;
        let settled: Vec<Vec<Settled>> = serde_json::from_str(text)
            .map_err(|e| DriverError(format!("the batch returned {text}: {e}")))?;
        let results: Vec<Vec<ScriptResult>> = settled
            .into_iter()
            .map(|job| {
                job.into_iter()
                    .map(|s| {
                        if s.ok {
                            ScriptResult::Resolved {
                                status: s.status,
                                headers: s.headers,
                            }
                        } else {
                            ScriptResult::Rejected(s.err)
                        }
                    })
                    .collect()
            })
            .collect();
        // Network and console events can trail the promise: wait until
        // each failure is explained, then for a quiet spell.
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            let complete = tracker.complete(jobs, &results);
            let wait = if complete {
                SETTLE_QUIET
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            if wait.is_zero() {
                break;
            }
            match tokio::time::timeout(wait, self.events.recv()).await {
                Ok(Some(e)) => {
                    if e.session_id.as_deref() == Some(self.session.as_str()) {
                        tracker.on_event(&self.run, &e);
                    }
                }
                Ok(None) => return Err(DriverError("the DevTools connection closed".into())),
                Err(_) if complete => break,
                Err(_) => break,
            }
        }
        Ok(jobs
            .iter()
            .zip(results)
            .map(|(job, settled)| {
                // Network events are numbered in the order the fetches
                // reached the network; fetches that threw first never did.
                let network = reached_network(&settled);
                let mut fetches: Vec<FetchObservation> = settled
                    .into_iter()
                    .enumerate()
                    .map(|(i, script)| {
                        let mut obs = network
                            .iter()
                            .position(|&n| n == i)
                            .and_then(|seq| tracker.seen.remove(&(job.key, seq)))
                            .unwrap_or_default();
                        obs.script = Some(script);
                        obs
                    })
                    .collect();
                // Console messages go, in order, to the fetches that had a
                // CORS error; any extra stay with the last such fetch, so
                // they show up as a disagreement rather than vanish.
                let mut messages = tracker
                    .console
                    .remove(&job.key)
                    .unwrap_or_default()
                    .into_iter();
                let with_cors: Vec<usize> = (0..fetches.len())
                    .filter(|&i| !fetches[i].cors.is_empty())
                    .collect();
                for &i in &with_cors {
                    if let Some(m) = messages.next() {
                        fetches[i].console.push(m);
                    }
                }
                if let Some(other) = tracker.other_console.remove(&job.key) {
                    fetches[0].log.extend(other);
                }
                let rest: Vec<String> = messages.collect();
                if !rest.is_empty() {
                    let i = with_cors.last().copied().unwrap_or(fetches.len() - 1);
                    fetches[i].console.extend(rest);
                }
                JobObservation {
                    key: job.key,
                    fetches,
                }
            })
            .collect())
    }

    async fn reset_caches(&mut self) -> Result<(), DriverError> {
        // Also clears the CORS-preflight cache (checked: a cached preflight
        // is sent again after it).
        self.cdp
            .call("Network.clearBrowserCache", json!({}), Some(&self.session))
            .await?;
        Ok(())
    }

    async fn close(mut self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.cdp.call("Browser.close", json!({}), None),
        )
        .await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        remove_dir(&self.profile_dir).await;
    }
}

/// Removes a browser profile directory.
pub(crate) async fn remove_dir(dir: &Path) {
    // Chromium may still be flushing the profile for a moment.
    for _ in 0..10 {
        if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts `command`, a browser told to open its remote-control endpoint
/// (`protocol`) on a free port, and waits up to `wait` for the stderr line
/// that announces it: `"{protocol} listening on {url}"`. The URL is
/// returned with the child; stderr is drained from then on, so that the
/// browser never blocks on a full pipe.
pub(crate) async fn spawn_announcing(
    command: &mut Command,
    binary: &Path,
    browser: &str,
    protocol: &str,
    wait: Duration,
) -> Result<(Child, String), DriverError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            DriverError(format!(
                "cannot start {}: {e}; {INSTALL_HINT}",
                binary.display()
            ))
        })?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| DriverError(format!("no stderr from {browser}")))?;
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let announce = format!("{protocol} listening on ");
    let url = tokio::time::timeout(wait, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix(announce.as_str()) {
                return Some(url.trim().to_owned());
            }
            seen.push(line);
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| {
        DriverError(format!(
            "{browser} ({}) did not open a {protocol} endpoint; its stderr:\n{}",
            binary.display(),
            seen.join("\n")
        ))
    })?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, url))
}
