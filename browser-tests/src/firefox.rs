//! Firefox ESR driven over WebDriver BiDi, spoken directly over one
//! WebSocket (the framing is the DevTools client's, [`crate::cdp`]).
//!
//! Firefox reports no CORS error names: what it shows is the rejection the
//! script sees and the console's `Cross-Origin Request Blocked: …` line,
//! which arrives as a BiDi `log.entryAdded` event of type `javascript`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::cdp::{Cdp, Event};
use crate::driver::{
    batch_argument, parse_batch, spawn_announcing, BrowserDriver, DriverError, FetchObservation,
    Job, JobObservation, ScriptResult, BATCH_SCRIPT,
};
use crate::server::parse_case_path;

/// Where Firefox may be installed; `CORSICA_FIREFOX` overrides.
const CANDIDATES: &[&str] = &["/usr/bin/firefox-esr", "/usr/lib/firefox-esr/firefox-esr"];

/// The command that installs Firefox ESR on Debian, for error messages.
pub const INSTALL_HINT: &str = "install it with `sudo apt-get update && sudo apt-get install -y firefox-esr` (Debian), or point CORSICA_FIREFOX at a Firefox binary";

/// The start of every CORS console message Firefox prints.
pub const CONSOLE_PREFIX: &str = "Cross-Origin Request Blocked: ";

/// Finds the Firefox binary.
pub fn find_firefox() -> Result<PathBuf, DriverError> {
    crate::driver::find_binary("CORSICA_FIREFOX", CANDIDATES, "Firefox ESR", INSTALL_HINT)
}

/// Preferences for a quiet, deterministic profile: no network traffic of
/// its own, no first-run pages.
const PREFS: &str = r#"
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("remote.prefs.recommended", true);
"#;

/// Headless Firefox over WebDriver BiDi.
pub struct Firefox {
    child: Child,
    bidi: Cdp,
    events: mpsc::UnboundedReceiver<Event>,
    context: String,
    version: String,
    profile_dir: PathBuf,
    run: String,
}

/// How long to wait for console messages that explain a failed fetch.
const SETTLE_DEADLINE: Duration = Duration::from_secs(3);
/// Quiet time after the last event before a batch counts as complete.
const SETTLE_QUIET: Duration = Duration::from_millis(80);

/// How long the page waits between the fetches of one job: Firefox logs a
/// failed request's last console line after the promise rejects, and the
/// lines are attributed to fetches by time.
const GAP_MS: u64 = 150;

/// What Firefox's `fetch()` rejects with on a network or CORS failure.
pub const NETWORK_ERROR: &str = "TypeError: NetworkError when attempting to fetch resource.";

impl Firefox {
    /// Launches headless Firefox with a fresh profile, opens `page_url`
    /// and warms up its preflight cache with `warm_url` (see [`warm_up`]).
    pub async fn launch(page_url: &str, warm_url: &str, run: &str) -> Result<Firefox, DriverError> {
        let binary = find_firefox()?;
        let profile_dir = crate::driver::fresh_dir("firefox")?;
        std::fs::write(profile_dir.join("user.js"), PREFS)
            .map_err(|e| DriverError(format!("cannot write the Firefox profile: {e}")))?;
        let mut command = Command::new(&binary);
        command
            .args(["--headless", "--no-remote", "--remote-debugging-port=0"])
            .arg("--profile")
            .arg(&profile_dir)
            .arg("about:blank")
            .env("MOZ_CRASHREPORTER_DISABLE", "1");
        let (child, ws) = spawn_announcing(
            &mut command,
            &binary,
            "Firefox",
            "WebDriver BiDi",
            Duration::from_secs(60),
        )
        .await?;

        let mut bidi = Cdp::connect(&format!("{ws}/session")).await?;
        let events = bidi
            .take_events()
            .ok_or_else(|| DriverError("no event queue".into()))?;
        let session = bidi
            .call("session.new", json!({"capabilities": {}}), None)
            .await?;
        let version = format!(
            "Firefox/{}",
            session["capabilities"]["browserVersion"]
                .as_str()
                .unwrap_or("unknown")
        );
        let tree = bidi
            .call("browsingContext.getTree", json!({"maxDepth": 0}), None)
            .await?;
        let context = tree["contexts"][0]["context"]
            .as_str()
            .ok_or_else(|| DriverError(format!("no browsing context in {tree}")))?
            .to_owned();
        bidi.call(
            "session.subscribe",
            json!({"events": ["log.entryAdded"]}),
            None,
        )
        .await?;
        bidi.call(
            "browsingContext.navigate",
            json!({"context": context, "url": page_url, "wait": "complete"}),
            None,
        )
        .await?;
        let mut firefox = Firefox {
            child,
            bidi,
            events,
            context,
            version,
            profile_dir,
            run: run.to_owned(),
        };
        warm_up(&firefox.bidi, &firefox.context, warm_url).await?;
        // Drop the navigation's and the warm-up's own events.
        tokio::time::sleep(Duration::from_millis(100)).await;
        while firefox.events.try_recv().is_ok() {}
        Ok(firefox)
    }
}

/// Firefox ESR 153 does not read the first preflight-cache entries it
/// would serve after launch: run alone, the first scenario whose second
/// fetch should be served from the cache is preflighted again, and every
/// later one is served (run 6 at a time, every cache hit of the first
/// batch misses). Nothing in the request decides it, so the simulator
/// cannot model it; the driver spends those first lookups on a throwaway
/// URL: a preflighted `PUT` fetched three times, 150 ms apart. Not
/// compared: a scenario that still misses fails the test as usual.
async fn warm_up(bidi: &Cdp, context: &str, warm_url: &str) -> Result<(), DriverError> {
    let script = format!(
        "async () => {{ const u = {url:?}; const o = {{method: 'PUT', headers: {{'x-warm': '1'}}}};\
         for (let i = 0; i < 3; i++) {{ await fetch(u, o); await new Promise(r => setTimeout(r, {GAP_MS})); }} return 'ok'; }}",
        url = warm_url
    );
    let result = bidi
        .call(
            "script.callFunction",
            json!({
                "functionDeclaration": script,
                "target": {"context": context},
                "awaitPromise": true,
                "resultOwnership": "none",
            }),
            None,
        )
        .await?;
    if result["type"].as_str() != Some("success") {
        return Err(DriverError(format!("the warm-up fetches failed: {result}")));
    }
    Ok(())
}

/// Runs the batch script in `context` and returns what it resolved to.
async fn call_batch(bidi: &Cdp, context: &str, jobs: &[Job]) -> Result<Value, DriverError> {
    let result = bidi
        .call(
            "script.callFunction",
            json!({
                "functionDeclaration": format!("(s) => ({BATCH_SCRIPT})(JSON.parse(s), {GAP_MS})"),
                // The jobs go in as one JSON string.
                "arguments": [{"type": "string", "value": batch_argument(jobs).to_string()}],
                "target": {"context": context},
                "awaitPromise": true,
                "resultOwnership": "none",
            }),
            None,
        )
        .await?;
    if result["type"].as_str() != Some("success") {
        return Err(DriverError(format!("the page threw: {result}")));
    }
    Ok(result["result"]["value"].clone())
}

/// A CORS console message and when Firefox logged it.
struct Logged {
    key: usize,
    at: f64,
    text: String,
}

fn on_event(
    run: &str,
    e: &Event,
    console: &mut Vec<Logged>,
    other: &mut HashMap<usize, Vec<String>>,
) {
    if e.method != "log.entryAdded" {
        return;
    }
    let text = e.params["text"].as_str().unwrap_or_default();
    let Some((key, _)) = parse_case_path(run, text) else {
        return;
    };
    if text.starts_with(CONSOLE_PREFIX) {
        console.push(Logged {
            key,
            at: e.params["timestamp"].as_f64().unwrap_or_default(),
            text: text.to_owned(),
        });
    } else {
        other.entry(key).or_default().push(format!(
            "console {} {}: {text}",
            e.params["type"].as_str().unwrap_or_default(),
            e.params["level"].as_str().unwrap_or_default()
        ));
    }
}

impl BrowserDriver for Firefox {
    fn name(&self) -> &'static str {
        "firefox"
    }

    fn version(&self) -> &str {
        &self.version
    }

    async fn run(&mut self, jobs: &[Job]) -> Result<Vec<JobObservation>, DriverError> {
        let mut console = Vec::new();
        let mut other = HashMap::new();
        let call = call_batch(&self.bidi, &self.context, jobs);
        tokio::pin!(call);
        let value = loop {
            tokio::select! {
                v = &mut call => break v?,
                Some(e) = self.events.recv() => on_event(&self.run, &e, &mut console, &mut other),
            }
        };
        let settled = parse_batch(&value)?;
        // Console messages can trail the promise: wait until every
        // rejected fetch has one (or the deadline), then for a quiet spell.
        let rejected = settled
            .iter()
            .flatten()
            .filter(|s| !s.ok && s.result() == ScriptResult::Rejected(NETWORK_ERROR.into()))
            .count();
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            let wait = if console.len() >= rejected {
                SETTLE_QUIET
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            if wait.is_zero() {
                break;
            }
            match tokio::time::timeout(wait, self.events.recv()).await {
                Ok(Some(e)) => on_event(&self.run, &e, &mut console, &mut other),
                Ok(None) => return Err(DriverError("the BiDi connection closed".into())),
                Err(_) => break,
            }
        }
        Ok(jobs
            .iter()
            .zip(settled)
            .map(|(job, settled)| {
                let starts: Vec<f64> = settled.iter().map(|s| s.t).collect();
                let mut fetches: Vec<FetchObservation> = settled
                    .iter()
                    .map(|s| FetchObservation {
                        script: Some(s.result()),
                        ..FetchObservation::default()
                    })
                    .collect();
                // The fetches of a job run one after another: a message
                // belongs to the last fetch that started before it.
                for m in console.iter().filter(|m| m.key == job.key) {
                    let i = starts.iter().rposition(|&t| t <= m.at).unwrap_or_default();
                    fetches[i].console.push(m.text.clone());
                }
                if let Some(o) = other.remove(&job.key) {
                    fetches[0].log.extend(o);
                }
                JobObservation {
                    key: job.key,
                    fetches,
                }
            })
            .collect())
    }

    async fn reset_caches(&mut self) -> Result<(), DriverError> {
        // Every case has its own URLs and Firefox's preflight cache holds
        // 100 entries, least recently used first out, so a batch never
        // loses its own entries to earlier ones: nothing to clear.
        Ok(())
    }

    async fn close(mut self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.bidi.call("browser.close", json!({}), None),
        )
        .await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        crate::driver::remove_dir(&self.profile_dir).await;
    }
}
