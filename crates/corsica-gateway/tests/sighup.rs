//! A real SIGHUP reloads the configuration. This file holds a single test
//! so that the signal reaches one gateway only (each test file is its own
//! process).

mod common;

use common::*;
use corsica_gateway::{Options, ReloadOutcome};
use http::StatusCode;

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_file() {
    let (upstream, _) = echo_upstream().await;
    let dir = temp_dir("sighup");
    let path = dir.join("corsica.toml");
    let text = |origin: &str| {
        format!("listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n[policy]\norigins = [\"{origin}\"]\n")
    };
    std::fs::write(&path, text(APP)).unwrap();
    let options = Options {
        config_path: Some(path.clone()),
        handle_signals: true,
        ..Options::default()
    };
    let gw = gateway_with(&text(APP), options).await;
    let mut status = gw.handle.reload_status();
    // Wait until the gateway answers.
    assert_eq!(
        preflight(&gw.url("/x"), APP, "GET", None).await.status,
        StatusCode::NO_CONTENT
    );

    std::fs::write(&path, text("https://after-hup.example")).unwrap();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = tokio::time::timeout(PATIENCE, status.wait_for(|s| s.attempts >= 1))
        .await
        .expect("SIGHUP triggers a reload")
        .unwrap()
        .clone();
    assert!(
        matches!(status.last, Some(ReloadOutcome::Applied { .. })),
        "{status:?}"
    );
    let reply = preflight(&gw.url("/x"), "https://after-hup.example", "GET", None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let _ = std::fs::remove_dir_all(dir);
}
