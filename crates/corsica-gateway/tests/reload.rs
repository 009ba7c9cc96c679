//! Hot reload: a new policy takes effect with zero failed requests under
//! load; an invalid file is refused and the old policy keeps serving.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use corsica_gateway::{Options, ReloadOutcome, ReloadStatus};
use http::{Method, StatusCode};
use tokio::sync::watch;

const NEW_ORIGIN: &str = "https://new.example";

fn file_text(upstream: std::net::SocketAddr, origins: &[&str]) -> String {
    let origins: Vec<String> = origins.iter().map(|o| format!("\"{o}\"")).collect();
    format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n\n[policy]\norigins = [{}]\nmethods = [\"PUT\"]\n",
        origins.join(", ")
    )
}

/// Waits until `attempts` reloads have been made, and returns the last outcome.
async fn reloaded(status: &mut watch::Receiver<ReloadStatus>, attempts: u64) -> ReloadOutcome {
    let status = tokio::time::timeout(PATIENCE, status.wait_for(|s| s.attempts >= attempts))
        .await
        .expect("the reload happens in time")
        .expect("the gateway is running");
    status.last.clone().expect("an outcome")
}

/// Writes a file in one step (write a sibling, rename over), as editors do.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A gateway started from `corsica.toml` (allowing APP) in a fresh temp
/// dir; returns it, the dir and the file's path.
async fn gateway_from_file(
    name: &str,
    upstream: std::net::SocketAddr,
    watch_config: bool,
) -> (TestGateway, PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let path = dir.join("corsica.toml");
    let text = file_text(upstream, &[APP]);
    std::fs::write(&path, &text).unwrap();
    let options = Options {
        config_path: Some(path.clone()),
        watch_config,
        ..Options::default()
    };
    (gateway_with(&text, options).await, dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_fails_no_request_and_applies_the_new_policy() {
    let (upstream, _) = echo_upstream().await;
    let (gw, dir, path) = gateway_from_file("reload-load", upstream, true).await;
    let mut status = gw.handle.reload_status();

    // Several tasks send requests continuously (keep-alive and preflights
    // alike) while the file is rewritten and reloads are requested.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let stop = stop.clone();
        let sent = sent.clone();
        let url = gw.url("/items");
        workers.push(tokio::spawn(async move {
            let client = client();
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let reply = if worker % 2 == 0 {
                    send(&client, Method::GET, &url, &[("origin", APP)], b"").await
                } else {
                    send(
                        &client,
                        Method::OPTIONS,
                        &url,
                        &[("origin", APP), ("access-control-request-method", "PUT")],
                        b"",
                    )
                    .await
                };
                sent.fetch_add(1, Ordering::Relaxed);
                // Every version of the policy allows APP, so every answer
                // must be a success with APP's CORS headers.
                let ok = matches!(reply.status, StatusCode::OK | StatusCode::NO_CONTENT)
                    && reply.header("access-control-allow-origin") == Some(APP);
                if !ok {
                    failures.push(format!("{} {:?}", reply.status, reply.body));
                }
            }
            failures
        }));
    }
    // Let the load build up.
    while sent.load(Ordering::Relaxed) < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Reload several times: through the file watcher and explicitly.
    replace(
        &path,
        &file_text(upstream, &[APP, "https://interim.example"]),
    );
    let first = reloaded(&mut status, 1).await;
    assert!(matches!(first, ReloadOutcome::Applied { .. }), "{first:?}");
    gw.handle.reload();
    let second = reloaded(&mut status, 2).await;
    assert!(
        matches!(second, ReloadOutcome::Applied { .. }),
        "{second:?}"
    );
    let before_last = sent.load(Ordering::Relaxed);
    replace(&path, &file_text(upstream, &[APP, NEW_ORIGIN]));
    let third = reloaded(&mut status, 3).await;
    assert!(
        matches!(third, ReloadOutcome::Applied { generation: 3, .. }),
        "{third:?}"
    );
    // Keep the load on across the last swap.
    while sent.load(Ordering::Relaxed) < before_last + 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total_failures = Vec::new();
    for worker in workers {
        total_failures.extend(worker.await.unwrap());
    }
    assert!(
        total_failures.is_empty(),
        "{} failed requests: {:?}",
        total_failures.len(),
        &total_failures[..total_failures.len().min(5)]
    );
    assert!(sent.load(Ordering::Relaxed) >= 400);

    // The new policy is in force, the interim one is gone.
    let new = preflight(&gw.url("/items"), NEW_ORIGIN, "PUT", None).await;
    assert_eq!(new.status, StatusCode::NO_CONTENT);
    assert_eq!(new.header("access-control-allow-origin"), Some(NEW_ORIGIN));
    let interim = preflight(&gw.url("/items"), "https://interim.example", "PUT", None).await;
    assert_eq!(interim.status, StatusCode::FORBIDDEN);
    assert_eq!(gw.handle.generation(), 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_invalid_file_is_refused_and_the_old_policy_stays() {
    let (upstream, _) = echo_upstream().await;
    let (gw, dir, path) = gateway_from_file("reload-invalid", upstream, false).await;
    let mut status = gw.handle.reload_status();

    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n\n[policy]\norigins = [\"https://a.example/\"]\ncredentials = true\n"
        ),
    )
    .unwrap();
    gw.handle.reload();
    let outcome = reloaded(&mut status, 1).await;
    let ReloadOutcome::Rejected { errors } = outcome else {
        panic!("the file should be refused: {outcome:?}")
    };
    assert!(errors.contains("origin-trailing-slash"), "{errors}");
    assert!(
        errors.contains("corsica.toml:5:"),
        "rendered with file:line:col: {errors}"
    );

    let still = preflight(&gw.url("/x"), APP, "PUT", None).await;
    assert_eq!(still.status, StatusCode::NO_CONTENT);
    assert_eq!(gw.handle.generation(), 0);

    // A file that does not parse at all is refused the same way.
    std::fs::write(&path, "listen = [oops").unwrap();
    gw.handle.reload();
    let outcome = reloaded(&mut status, 2).await;
    assert!(
        matches!(outcome, ReloadOutcome::Rejected { .. }),
        "{outcome:?}"
    );
    assert_eq!(gw.handle.generation(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn listener_changes_need_a_restart_and_say_so() {
    let (upstream, _) = echo_upstream().await;
    let (gw, dir, path) = gateway_from_file("reload-listen", upstream, false).await;
    let good = file_text(upstream, &[APP]);
    let mut status = gw.handle.reload_status();
    std::fs::write(
        &path,
        good.replace("127.0.0.1:0", "127.0.0.1:1")
            .replace(APP, NEW_ORIGIN),
    )
    .unwrap();
    gw.handle.reload();
    let ReloadOutcome::Applied { warnings, .. } = reloaded(&mut status, 1).await else {
        panic!("the rest of the file applies")
    };
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`listen` changed") && w.contains("restart")),
        "{warnings:?}"
    );
    // Still on the old address, with the new policy.
    let reply = preflight(&gw.url("/x"), NEW_ORIGIN, "PUT", None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let _ = std::fs::remove_dir_all(dir);
}

/// A Kubernetes ConfigMap volume: `corsica.toml` is a symlink into
/// `..data/`, itself a symlink to a timestamped directory, and an update
/// swaps `..data` atomically. No event names `corsica.toml`; the gateway
/// must still see that the file it reads has changed.
#[cfg(unix)]
#[tokio::test]
async fn a_configmap_style_symlink_swap_is_noticed() {
    use std::os::unix::fs::symlink;
    let (upstream, _) = echo_upstream().await;
    let dir = temp_dir("reload-configmap");
    let version = |name: &str, origins: &[&str]| {
        let data = dir.join(name);
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("corsica.toml"), file_text(upstream, origins)).unwrap();
    };
    version("..2026_01_01", &[APP]);
    symlink("..2026_01_01", dir.join("..data")).unwrap();
    symlink("..data/corsica.toml", dir.join("corsica.toml")).unwrap();
    let path = dir.join("corsica.toml");
    let options = Options {
        config_path: Some(path.clone()),
        watch_config: true,
        ..Options::default()
    };
    let gw = gateway_with(&std::fs::read_to_string(&path).unwrap(), options).await;
    let mut status = gw.handle.reload_status();
    // Serving, so watching.
    let first = preflight(&gw.url("/x"), APP, "PUT", None).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);

    // The kubelet's update: a new directory, a new ..data link renamed over.
    version("..2026_01_02", &[NEW_ORIGIN]);
    symlink("..2026_01_02", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    let outcome = reloaded(&mut status, 1).await;
    assert!(
        matches!(outcome, ReloadOutcome::Applied { .. }),
        "{outcome:?}"
    );
    let reply = preflight(&gw.url("/x"), NEW_ORIGIN, "PUT", None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // An edit of the file the links lead to is noticed too.
    std::fs::write(
        dir.join("..2026_01_02/corsica.toml"),
        file_text(upstream, &[APP]),
    )
    .unwrap();
    let outcome = reloaded(&mut status, 2).await;
    assert!(
        matches!(outcome, ReloadOutcome::Applied { .. }),
        "{outcome:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A directory that is never quiet (a log written beside the file) must
/// not put a reload off for ever.
#[tokio::test]
async fn a_busy_directory_does_not_hold_a_reload_back() {
    let (upstream, _) = echo_upstream().await;
    let (gw, dir, path) = gateway_from_file("reload-busy", upstream, true).await;
    let mut status = gw.handle.reload_status();
    let first = preflight(&gw.url("/x"), APP, "PUT", None).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let noise = dir.join("gateway.log");
    let writer = tokio::spawn(async move {
        for i in 0..400 {
            let _ = std::fs::write(&noise, format!("line {i}\n"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    replace(&path, &file_text(upstream, &[NEW_ORIGIN]));
    let outcome = reloaded(&mut status, 1).await;
    assert!(
        matches!(outcome, ReloadOutcome::Applied { .. }),
        "{outcome:?}"
    );
    writer.abort();
    let _ = std::fs::remove_dir_all(dir);
}
