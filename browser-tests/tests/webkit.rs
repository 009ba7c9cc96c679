//! The differential test in WebKitGTK's MiniBrowser (WebKitWebDriver under xvfb-run): every generated and
//! hand-written case must agree with the simulator's `webkit` profile on
//! every field WebKit exposes (see `compare_for`).
//!
//! A browser that cannot be launched is a failure, not a skip: the message
//! names the install command. `CORSICA_SEED`, `CORSICA_CASES` and
//! `CORSICA_SAMPLE` (run one random case in N) pick the corpus.

use corsica_browser_tests::{run_in, sample, settings, Engine, Report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit_agrees_with_the_simulator() {
    let (seed, cases) = settings().unwrap_or_else(|e| panic!("bad settings: {e}"));
    let every = sample(Engine::WebKit).unwrap_or_else(|e| panic!("bad settings: {e}"));
    let report = match run_in(Engine::WebKit, seed, cases, Some(every)).await {
        Ok(r) => r,
        Err(e) => panic!("the differential test could not run against WebKit: {e}"),
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
        "{} of {} scenarios disagree with WebKit (seed {}); see above and {}",
        report.failures.len(),
        report.scenarios,
        report.seed,
        Report::dir().join(Report::file_name("webkit")).display()
    );
}
