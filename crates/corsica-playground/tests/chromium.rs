//! The playground in real headless Chromium: every gallery scenario and a
//! seeded sample of the simulator's corpus are loaded as
//! `/#case=…&run=1`; the page runs the real `fetch()` and asks the server
//! for the prediction, and `#verdict`'s `data-observed` and
//! `data-predicted` must agree with each other and with the recorded
//! outcome. Screenshots of the page go to `target/` for a person to look at.
//!
//! Chromium missing is a failure, not a skip. `CORSICA_PLAYGROUND_SEED`
//! and `CORSICA_PLAYGROUND_CASES` pick the corpus sample.

mod support;

use std::time::{Duration, Instant};

use corsica::browser::{simulate, Case, Profile};
use corsica_playground::gallery::gallery;
use corsica_playground::Playground;

use support::{b64url, Browser};

/// One page load the test makes.
struct Job {
    id: String,
    case: serde_json::Value,
    policy: Option<String>,
    expected: &'static str,
    /// `&run=1` runs the case once; `&run=2` twice, the second fetch to
    /// the same URL (the preflight cache).
    runs: u8,
}

/// Fake harness ports for the corpus, replaced by the playground's own.
const PAGE: u16 = 40001;
const API: u16 = 40002;
const OTHER: u16 = 40003;

/// The placeholder for each of the harness's origins.
const PLACES: [(u16, &str); 3] = [(API, "{api}"), (OTHER, "{redirect}"), (PAGE, "{page}")];

/// A corpus case as a playground case: its URL a path on the API origin,
/// the page's origin `{origin}`, and each redirect's `location` rewritten
/// to the playground's origins. `None` for a case the playground cannot
/// express: one that starts on the page's own origin, forces a preflight,
/// or redirects to a URL with credentials in it.
fn playground_case(case: &Case) -> Option<serde_json::Value> {
    let origin = |port: u16| format!("http://127.0.0.1:{port}");
    let page = origin(PAGE);
    let path = case.request.url.strip_prefix(&origin(API))?;
    if case.request.force_preflight || case.origin != page {
        return None;
    }
    // Bare relative references resolve next to the case's own paths.
    let dir = path.rsplit_once('/')?.0.to_owned();
    let mut out = case.clone();
    out.origin = "{origin}".into();
    out.request.url = path.to_owned();
    for (_, v) in &mut out.request.headers {
        *v = v.replace(&page, "{origin}");
    }
    let mut here = "{api}";
    let hops = std::iter::once((&mut out.preflight_response, out.response.as_mut())).chain(
        out.redirects
            .iter_mut()
            .map(|h| (&mut h.preflight_response, Some(&mut h.response))),
    );
    for (preflight, response) in hops {
        let mut next = here;
        for (i, spec) in [preflight.as_mut(), response].into_iter().enumerate() {
            let Some(spec) = spec else { continue };
            for (name, value) in &mut spec.headers {
                if !name.eq_ignore_ascii_case("location") {
                    *value = value.replace(&page, "{origin}");
                    continue;
                }
                if value.contains('@') {
                    return None;
                }
                let (to, rest) = match PLACES.iter().find(|(p, _)| value.starts_with(&origin(*p))) {
                    Some((p, place)) => (*place, value[origin(*p).len()..].to_owned()),
                    None if value.starts_with('/') => (here, value.clone()),
                    None if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() => {
                        (here, format!("{dir}/{value}"))
                    }
                    // Empty, or a scheme fetch() cannot follow: as written.
                    None => continue,
                };
                *value = format!("{to}{rest}");
                if i == 1 {
                    next = to;
                }
            }
        }
        here = next;
    }
    serde_json::to_value(out).ok()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn jobs() -> Vec<Job> {
    let mut jobs: Vec<Job> = gallery()
        .into_iter()
        .map(|s| Job {
            id: format!("gallery/{}", s.id),
            case: s.case,
            policy: s.policy.map(str::to_owned),
            expected: s.expected,
            runs: 1,
        })
        .collect();
    // The preflight cache for real: the second fetch must send no
    // preflight, as predicted (the page compares what reached the server).
    let cached = gallery().into_iter().find(|s| s.id == "preflight-cache");
    let cached = cached.expect("the gallery has the preflight-cache scenario");
    jobs.push(Job {
        id: "gallery/preflight-cache, run again".into(),
        case: cached.case,
        policy: None,
        expected: cached.expected,
        runs: 2,
    });
    let seed = env_number("CORSICA_PLAYGROUND_SEED", 0x5EED);
    let wanted = env_number("CORSICA_PLAYGROUND_CASES", 40) as usize;
    let ports = corsica_browser_tests::server::Ports {
        page: PAGE,
        api: API,
        other: OTHER,
    };
    let corpus = corsica_browser_tests::corpus::corpus(seed, wanted * 4, ports, "s");
    let sample = corpus
        .iter()
        .filter(|s| s.follow_ups.is_empty())
        .filter_map(|s| {
            // The recorded outcome: the simulator's verdict on the corpus
            // case as written, the one the differential suite holds
            // Chromium to.
            let recorded = simulate(&s.case, Profile::Chromium).ok()?;
            Some((
                s.case.id.clone(),
                playground_case(&s.case)?,
                recorded.allowed,
            ))
        })
        .take(wanted);
    for (id, case, allowed) in sample {
        jobs.push(Job {
            id: format!("corpus/{id}"),
            case,
            policy: None,
            expected: if allowed { "allowed" } else { "blocked" },
            runs: 1,
        });
    }
    jobs
}

/// What `#verdict` says once the run is over.
/// `{n}` is the page load's number: an answer from the previous page is
/// never taken for this one's.
const READ_VERDICT: &str = r#"(() => {
  if (location.search !== '?n={n}') return null;
  const v = document.getElementById('verdict');
  if (!v) return null;
  if (v.dataset.error) return JSON.stringify({error: v.dataset.error});
  if (!v.hasAttribute('data-observed')) return null;
  return JSON.stringify({fetch: v.dataset.fetch, observed: v.dataset.observed, predicted: v.dataset.predicted,
    agree: v.dataset.agree, detail: document.getElementById('agreement').innerText,
    status: document.getElementById('status').innerText});
})()"#;

async fn run_job(
    browser: &Browser,
    base: &str,
    n: usize,
    job: &Job,
) -> Result<serde_json::Value, String> {
    let mut fragment = format!("case={}", b64url(job.case.to_string().as_bytes()));
    if let Some(policy) = &job.policy {
        fragment.push_str(&format!("&policy={}", b64url(policy.as_bytes())));
    }
    // A query unique to the load makes every job a fresh page.
    let url = format!("{base}?n={n}#{fragment}&run={}", job.runs);
    browser.navigate(&url).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = browser
            .eval(&READ_VERDICT.replace("{n}", &n.to_string()))
            .await?;
        if let Some(text) = value.as_str() {
            let verdict: serde_json::Value =
                serde_json::from_str(text).map_err(|e| e.to_string())?;
            // With `&run=2`, the first fetch's verdict is not the answer.
            let fetch = verdict["fetch"].as_str().and_then(|f| f.parse::<u8>().ok());
            if verdict["error"].is_string() || fetch == Some(job.runs) {
                return Ok(verdict);
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "#verdict[data-observed] did not appear within 20 s at {url}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

fn target_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => t.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_agrees_with_chromium() {
    let started = Instant::now();
    let playground = Playground::start(0).await.expect("start the playground");
    let base = playground.url();
    let browser = match Browser::launch().await {
        Ok(b) => b,
        Err(e) => panic!("the playground's browser test needs headless Chromium: {e}"),
    };
    let jobs = jobs();
    let mut failures = Vec::new();
    let mut seed_done = false;
    for (n, job) in jobs.iter().enumerate() {
        let result = run_job(&browser, &base, n, job).await;
        let ok = matches!(&result, Ok(v)
            if v["observed"] == job.expected && v["predicted"] == job.expected && v["agree"] == "true");
        if !ok {
            failures.push(format!(
                "{}: expected {}, page said {}\n    case: {}",
                job.id,
                job.expected,
                match &result {
                    Ok(v) => v.to_string(),
                    Err(e) => e.clone(),
                },
                job.case
            ));
        }
        if job.id == "gallery/put-json" && !seed_done {
            seed_done = true;
            screenshots(&browser).await;
            disagreement(&browser).await;
        }
        if job.id == "gallery/cross-origin-redirect" {
            shoot(
                &browser,
                "playground-screenshot-redirect.png",
                1280,
                800,
                true,
            )
            .await;
        }
        if job.id == "gallery/put-json-policy" {
            lint_as_you_type(&browser).await;
            shoot(
                &browser,
                "playground-screenshot-policy.png",
                1280,
                800,
                true,
            )
            .await;
        }
    }
    browser.close().await;
    drop(playground);
    let blocked = jobs.iter().filter(|j| j.expected == "blocked").count();
    let redirected = jobs
        .iter()
        .filter(|j| {
            j.case["redirects"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        })
        .count();
    println!(
        "{} page loads ({} gallery, {} corpus; {blocked} blocked, {} allowed, {redirected} redirected), {} failures, {:.1} s",
        jobs.len(),
        gallery().len() + 1,
        jobs.len() - gallery().len() - 1,
        jobs.len() - blocked,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(seed_done, "the seed's scenario did not run");
    assert!(
        failures.is_empty(),
        "{} of {} runs disagree:\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n")
    );
}

/// Saves the seed's result at 1280×800 (the viewport, and the whole page)
/// and in a narrow window.
async fn screenshots(browser: &Browser) {
    shoot(browser, "playground-screenshot.png", 1280, 800, false).await;
    shoot(browser, "playground-screenshot-full.png", 1280, 800, true).await;
    shoot(browser, "playground-screenshot-narrow.png", 420, 900, true).await;
}

/// Saves a PNG of the page under the target directory, then restores the
/// 1280×800 viewport.
async fn shoot(browser: &Browser, name: &str, width: u32, height: u32, full: bool) {
    let dir = target_dir();
    std::fs::create_dir_all(&dir).expect("create the target directory");
    let png = browser
        .screenshot(width, height, full)
        .await
        .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    println!("screenshot: {}", path.display());
    browser
        .viewport(1280, 800)
        .await
        .expect("restore the viewport");
}

/// Shows the last run's prediction beside the opposite observation, as if
/// the browser had disagreed: the page must say so (in words, not only in
/// red) and offer the case JSON for a bug report.
const STAGE_DISAGREEMENT: &str = r#"(async () => {
  const v = await postJSON('/simulate', {case: last.c, profile: 'chromium', policy: last.policy});
  const staged = v.allowed ? {allowed: false, error: 'TypeError: Failed to fetch (staged by the test)'}
                           : {allowed: true, status: 200, headers: {}};
  show(last.c, staged, v, {arrivals: [], problems: []}, 'chromium', last.policy, 1);
  const box = document.getElementById('verdict');
  return JSON.stringify({agree: box.dataset.agree, text: document.getElementById('agreement').innerText,
    copy: document.getElementById('copy-case') !== null});
})()"#;

async fn disagreement(browser: &Browser) {
    let value = browser
        .eval(STAGE_DISAGREEMENT)
        .await
        .expect("stage a disagreement");
    let text = value.as_str().expect("the page answers");
    let shown: serde_json::Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(shown["agree"], "false", "{shown}");
    let words = shown["text"].as_str().unwrap_or_default();
    assert!(
        words.contains("✗ The prediction and reality disagree"),
        "{shown}"
    );
    assert_eq!(shown["copy"], true, "no Copy as case JSON button: {shown}");
    shoot(
        browser,
        "playground-screenshot-disagree.png",
        1280,
        800,
        false,
    )
    .await;
}

/// Types a refused policy into the editor: the diagnostics must appear
/// inline with line, reason and fix, as `corsica lint` gives them.
const TYPE_POLICY: &str = r#"(async () => {
  const editor = document.getElementById('policy');
  editor.value = 'origins = ["*"]\ncredentials = true\n';
  editor.dispatchEvent(new Event('input'));
  for (let i = 0; i < 100; i++) {
    const text = document.getElementById('lint').innerText;
    if (text.includes('wildcard-with-credentials')) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  return 'no diagnostics: ' + document.getElementById('lint').innerText;
})()"#;

async fn lint_as_you_type(browser: &Browser) {
    let value = browser.eval(TYPE_POLICY).await.expect("type a policy");
    let text = value.as_str().unwrap_or_default();
    assert!(text.contains("✗ Invalid policy"), "{text}");
    assert!(text.contains("line 1, column 12"), "{text}");
    assert!(text.contains("fix: list the exact origins"), "{text}");
}
