//! A differential harness: corsica's browser simulator against real
//! headless Chromium, Firefox ESR and WebKitGTK.
//!
//! [`run_in`] builds the corpus ([`mod@corpus`]: seeded [`random`] cases plus
//! the hand-written [`edge`] cases read from `cases/*.toml`, each a
//! [`scenario::Scenario`]), serves every case from a scripted server on three
//! ports of 127.0.0.1 ([`server`]), makes each `fetch()` from a page on
//! one of them in a real browser ([`driver`]: Chromium over the DevTools
//! protocol in [`cdp`], [`firefox`] over WebDriver BiDi, [`webkit`] over
//! classic WebDriver), and compares what the browser did with what
//! `corsica::browser` predicts for that engine ([`mod@compare`]).

#![warn(missing_docs)]

pub mod cdp;
pub mod compare;
pub mod corpus;
pub mod driver;
pub mod edge;
pub mod firefox;
pub mod lna;
pub mod random;
pub mod rng;
pub mod scenario;
pub mod server;
pub mod webkit;

use std::path::PathBuf;
use std::time::Instant;

use corsica::browser::Profile;
use serde::Serialize;

use crate::compare::{compare_for, predict, Disagreement};
use crate::corpus::corpus;
use crate::driver::{BrowserDriver, Chromium, DriverError, Job};
use crate::firefox::Firefox;
use crate::scenario::Scenario;
use crate::server::Server;
use crate::webkit::WebKit;

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
    /// The browser (`chromium`, `firefox`, `webkit`).
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

    /// Writes `report.json` (Chromium) or `report-<browser>.json` and
    /// returns its path.
    pub fn write(&self) -> std::io::Result<PathBuf> {
        let dir = Report::dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(Report::file_name(&self.browser));
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, json)?;
        Ok(path)
    }

    /// The report's file name for a browser.
    pub fn file_name(browser: &str) -> String {
        match browser {
            "chromium" => "report.json".to_owned(),
            other => format!("report-{other}.json"),
        }
    }

    /// Every disagreement, then the summary.
    pub fn details(&self) -> String {
        let mut out = String::new();
        for f in &self.failures {
            out.push_str(&format!("\n✗ {}\n", f.id));
            for d in &f.disagreements {
                out.push_str(&format!("    {d}\n"));
            }
            out.push_str(&format!("    case: {}\n", f.case));
            if f.follow_ups.as_array().is_some_and(|a| !a.is_empty()) {
                out.push_str(&format!("    then: {}\n", f.follow_ups));
            }
        }
        out + "\n" + &self.summary()
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

/// How many random cases per one that runs, by default, in each engine.
/// Every engine runs the whole default corpus (about 15 s in Chromium,
/// 25 s in Firefox, 4 s in WebKit on two cores), so the default is 1;
/// `CORSICA_SAMPLE` thins a larger corpus.
pub fn default_sample(_engine: Engine) -> usize {
    1
}

/// Reads `CORSICA_SAMPLE` (run one random case in N), or the engine's
/// default.
pub fn sample(engine: Engine) -> Result<usize, String> {
    match std::env::var("CORSICA_SAMPLE") {
        Err(_) => Ok(default_sample(engine)),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "CORSICA_SAMPLE={v}: expected a whole number of at least 1"
            )),
        },
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

/// The warm-up URL on the API origin (see `server::WARM_PATH`).
fn warm_url(ports: server::Ports) -> String {
    format!("{}{}", server::Ports::origin(ports.api), server::WARM_PATH)
}

/// A real browser engine the harness can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Headless Chromium over the DevTools protocol.
    Chromium,
    /// Headless Firefox ESR over WebDriver BiDi.
    Firefox,
    /// WebKitGTK's MiniBrowser through `WebKitWebDriver` under `xvfb-run`.
    WebKit,
}

impl Engine {
    /// The simulator profile that predicts this engine.
    pub fn profile(self) -> Profile {
        match self {
            Engine::Chromium => Profile::Chromium,
            Engine::Firefox => Profile::Firefox,
            Engine::WebKit => Profile::WebKit,
        }
    }
}

/// Runs the whole differential test against Chromium.
pub async fn run(seed: u64, count: usize) -> Result<Report, DriverError> {
    run_in(Engine::Chromium, seed, count, None).await
}

/// The differential test of one engine, as `tests/{chromium,firefox,webkit}.rs`
/// run it: the corpus from [`settings`] (with a seeded one-in-`sample`
/// share of the random cases, when given), the report written and printed,
/// and a panic on a harness problem or any disagreement. A browser that
/// cannot be launched panics too, with the reason: it is never skipped.
pub async fn assert_agreement(engine: Engine, name: &str, sample: Option<usize>) {
    let (seed, cases) = settings().unwrap_or_else(|e| panic!("bad settings: {e}"));
    let report = match run_in(engine, seed, cases, sample).await {
        Ok(r) => r,
        Err(e) => panic!("the differential test could not run against {name}: {e}"),
    };
    let path = report.write();
    println!("{}", report.details());
    match path {
        Ok(p) => println!("report: {}", p.display()),
        Err(e) => panic!(
            "cannot write the report under {}: {e}",
            Report::dir().display()
        ),
    }
    assert!(
        report.harness_problems.is_empty(),
        "the scripted server could not send some responses: {:#?}",
        report.harness_problems
    );
    assert!(
        report.failures.is_empty(),
        "{} of {} scenarios disagree with {name} (seed {}); see above and {}",
        report.failures.len(),
        report.scenarios,
        report.seed,
        Report::dir()
            .join(Report::file_name(&name.to_ascii_lowercase()))
            .display()
    );
}

/// Runs the differential test against `engine`: `count` random cases from
/// `seed` plus the hand-written ones. With `sample`, only a seeded sample
/// of the random cases runs (every `sample`-th on average, picked by the
/// seed) while every hand-written case still runs.
pub async fn run_in(
    engine: Engine,
    seed: u64,
    count: usize,
    sample: Option<usize>,
) -> Result<Report, DriverError> {
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
    // Which scenarios run: all, or with `sample`, a seeded pick of the
    // random ones (each kept with probability 1/sample, decided by its own
    // draw) and every hand-written one. Indices stay those of the full
    // corpus, which the case URLs carry.
    let selected: Vec<usize> = match sample.filter(|&n| n > 1) {
        None => (0..scenarios.len()).collect(),
        Some(every) => {
            let mut pick = crate::rng::Rng::new(seed ^ 0x5A3B_1E5E);
            (0..scenarios.len())
                .filter(|&i| pick.next_u64() % every as u64 == 0 || i >= count)
                .collect()
        }
    };
    let generated = selected.iter().filter(|&&i| i < count).count();
    let profile = engine.profile();
    // Predict first: a case the simulator cannot run is a corpus bug, and
    // it is reported like any disagreement.
    let predictions: Vec<_> = scenarios.iter().map(|s| predict(s, profile)).collect();
    let predicted = || selected.iter().map(|&i| &predictions[i]);
    let ctx = Context {
        server: &server,
        run_token: &run_token,
        scenarios: &scenarios,
        predictions: &predictions,
        selected: &selected,
        profile,
    };
    let observed = match engine {
        Engine::Chromium => {
            let b = Chromium::launch(&ports.page_url(), &run_token).await?;
            ctx.drive(b).await?
        }
        Engine::Firefox => {
            let b = Firefox::launch(&ports.page_url(), &warm_url(ports), &run_token).await?;
            ctx.drive(b).await?
        }
        Engine::WebKit => {
            let b = WebKit::launch(&ports.page_url(), &run_token).await?;
            ctx.drive(b).await?
        }
    };
    let mut outcomes = std::collections::BTreeMap::new();
    let (mut preflights, mut redirected) = (0, 0);
    for verdict in predicted().flatten().flatten() {
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
    let total = selected.len();
    let hand_written = total - generated;
    let agreeing = observed.agreeing;
    Ok(Report {
        browser: observed.name,
        browser_version: observed.version,
        seed,
        generated,
        hand_written,
        scenarios: total,
        fetches: observed.fetches,
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
        failures: observed.failures,
    })
}

/// What a run needs besides the browser.
struct Context<'a> {
    server: &'a Server,
    run_token: &'a str,
    scenarios: &'a [Scenario],
    predictions: &'a [Result<Vec<corsica::browser::Verdict>, String>],
    selected: &'a [usize],
    profile: Profile,
}

/// What a browser did with the whole corpus.
struct Observed {
    name: String,
    version: String,
    fetches: usize,
    agreeing: usize,
    failures: Vec<Failure>,
}

impl Context<'_> {
    /// Runs every scenario in `browser` and compares; closes the browser.
    async fn drive<B: BrowserDriver>(&self, mut browser: B) -> Result<Observed, DriverError> {
        let result = self.drive_open(&mut browser).await;
        let name = browser.name().to_owned();
        let version = browser.version().to_owned();
        browser.close().await;
        let (fetches, agreeing, failures) = result?;
        Ok(Observed {
            name,
            version,
            fetches,
            agreeing,
            failures,
        })
    }

    async fn drive_open<B: BrowserDriver>(
        &self,
        browser: &mut B,
    ) -> Result<(usize, usize, Vec<Failure>), DriverError> {
        let mut failures = Vec::new();
        let mut agreeing = 0;
        let mut fetches = 0;
        type Indexed<'a> = Vec<(usize, &'a Scenario)>;
        let (repeats, singles): (Indexed<'_>, Indexed<'_>) = self
            .selected
            .iter()
            .map(|&i| (i, &self.scenarios[i]))
            .partition(|(_, s)| !s.follow_ups.is_empty());
        let batches = singles
            .chunks(BATCH)
            .map(|c| (false, c))
            .chain(repeats.chunks(CACHE_BATCH).map(|c| (true, c)));
        for (clean, chunk) in batches {
            if clean {
                browser.reset_caches().await?;
            }
            let jobs: Vec<Job> = chunk
                .iter()
                .map(|(i, s)| Job {
                    key: *i,
                    fetches: s.fetches(),
                })
                .collect();
            let observed = browser.run(&jobs).await?;
            for ((i, scenario), obs) in chunk.iter().zip(&observed) {
                fetches += obs.fetches.len();
                let arrivals = self.server.arrivals(self.run_token, *i);
                let disagreements = match &self.predictions[*i] {
                    Ok(verdicts) => compare_for(self.profile, verdicts, obs, &arrivals),
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
        Ok((fetches, agreeing, failures))
    }
}
