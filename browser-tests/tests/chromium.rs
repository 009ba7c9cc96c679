//! The differential test: every generated and hand-written case, in real
//! headless Chromium, must agree with the simulator on every field.
//!
//! Chromium missing is a failure, not a skip: the message names the
//! install command. `CORSICA_SEED` and `CORSICA_CASES` pick the corpus.

use corsica_browser_tests::{run, settings, Report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_agrees_with_the_simulator() {
    let (seed, cases) = settings().unwrap_or_else(|e| panic!("bad settings: {e}"));
    assert!(
        cases >= 1000 || std::env::var_os("CORSICA_CASES").is_some(),
        "the default corpus must have at least 1,000 cases"
    );
    let report = match run(seed, cases).await {
        Ok(r) => r,
        Err(e) => panic!("the differential test could not run against Chromium: {e}"),
    };
    let path = report.write();
    print_report(&report);
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
        "{} of {} scenarios disagree with Chromium (seed {}); see above and {}",
        report.failures.len(),
        report.scenarios,
        report.seed,
        Report::dir().join("report.json").display()
    );
}

fn print_report(report: &Report) {
    for f in &report.failures {
        println!("\n✗ {}", f.id);
        for d in &f.disagreements {
            println!("    {d}");
        }
        println!("    case: {}", f.case);
        if f.follow_ups.as_array().is_some_and(|a| !a.is_empty()) {
            println!("    then: {}", f.follow_ups);
        }
    }
    println!("\n{}", report.summary());
}
