//! The differential test: every generated and hand-written case, in real
//! headless Chromium, must agree with the simulator on every field.
//!
//! Chromium missing is a failure, not a skip: the message names the
//! install command. `CORSICA_SEED` and `CORSICA_CASES` pick the corpus.

use corsica_browser_tests::{assert_agreement, settings, Engine};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_agrees_with_the_simulator() {
    let (_, cases) = settings().unwrap_or_else(|e| panic!("bad settings: {e}"));
    assert!(
        cases >= 1000 || std::env::var_os("CORSICA_CASES").is_some(),
        "the default corpus must have at least 1,000 cases"
    );
    // The whole corpus, always: Chromium is the default profile.
    assert_agreement(Engine::Chromium, "Chromium", None).await;
}
