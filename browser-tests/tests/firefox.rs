//! The differential test in headless Firefox ESR (WebDriver BiDi): every generated and
//! hand-written case must agree with the simulator's `firefox` profile on
//! every field Firefox exposes (see `compare_for`).
//!
//! A browser that cannot be launched is a failure, not a skip: the message
//! names the install command. `CORSICA_SEED`, `CORSICA_CASES` and
//! `CORSICA_SAMPLE` (run one random case in N) pick the corpus.

use corsica_browser_tests::{assert_agreement, sample, Engine};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_agrees_with_the_simulator() {
    let every = sample(Engine::Firefox).unwrap_or_else(|e| panic!("bad settings: {e}"));
    assert_agreement(Engine::Firefox, "Firefox", Some(every)).await;
}
