//! Hostile configuration paths on reload: the file a running gateway was
//! started from is replaced by a FIFO, a symlink to `/dev/zero`, a 200 MB
//! sparse file, a symlink to a text file that is not TOML (a secret in its
//! first line), or a symlink swapped back and forth under load.
//!
//! The safe outcome: the reload is refused within a few seconds (a FIFO
//! or a device is "not a regular file", an oversized file is "larger than"
//! the cap), `/healthz` and normal requests keep answering meanwhile, the
//! old policy keeps serving, memory stays bounded, and a refusal never
//! quotes a file that is not a configuration.
//!
//! A reload that reads such a path naively blocks for ever (a FIFO) or
//! allocates without bound (`/dev/zero`), so each of these scenarios runs
//! in a child process of its own (this test binary, run again for that one
//! test) with its data segment capped (`ulimit -d`), and is killed if it
//! has not finished in time: a hang or a runaway allocation fails the test
//! instead of the run or the machine.
//!
//! Plain refusals (a file that does not parse, an invalid policy) and a
//! Kubernetes-style `..data` symlink swap are covered in `reload.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use corsica_gateway::{Options, ReloadOutcome};
use http::StatusCode;

/// Set in a child to the name of the test it runs, and to its directory.
const CHILD: &str = "CORSICA_HOSTILE_CONFIG_CHILD";
const CHILD_DIR: &str = "CORSICA_HOSTILE_CONFIG_DIR";

/// How long a child may take before it is killed.
const CHILD_BOUND: Duration = Duration::from_secs(12);
/// The child's data segment cap, in KiB: far above what a gateway needs,
/// far below what would hurt the machine.
const DATA_CAP_KIB: u64 = 1024 * 1024;
/// The most resident memory a child may have used at its peak.
const PEAK_RSS_KIB: u64 = 160 * 1024;
/// How long a reload may take to be refused.
const REFUSED_WITHIN: Duration = Duration::from_secs(5);

/// Runs `scenario` in a child process (see the module comment), or, in
/// the child, runs it and exits.
fn isolated<F, Fut>(test: &str, scenario: F)
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if std::env::var(CHILD).as_deref() == Ok(test) {
        // A panic anywhere (a task included) ends the child at once: an
        // unwinding runtime would wait for a worker blocked in a read.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("CHILD FAILED: {info}");
            std::process::exit(101);
        }));
        let dir = PathBuf::from(std::env::var(CHILD_DIR).expect("the child's directory"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(scenario(dir));
        eprintln!("peak resident memory: {} KiB", peak_rss_kib());
        std::process::exit(0);
    }
    let dir = temp_dir(test);
    let log = dir.join("child.log");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -d {DATA_CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .env(CHILD_DIR, &dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.join("child.err")).unwrap())
        .spawn()
        .expect("the test binary runs again");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > CHILD_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = format!(
        "{}{}",
        tail(&dir.join("child.err")),
        tail(&dir.join("child.log"))
    );
    let _ = std::fs::remove_dir_all(&dir);
    match status {
        None => panic!("{test}: still running after {CHILD_BOUND:?}, killed:\n{output}"),
        Some(status) => assert!(status.success(), "{test}: {status}:\n{output}"),
    }
}

/// The last few KiB of a file.
fn tail(path: &Path) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(8192);
    String::from_utf8_lossy(&text[start..]).into_owned()
}

/// This process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

fn file_text(upstream: std::net::SocketAddr, origins: &[&str]) -> String {
    let origins: Vec<String> = origins.iter().map(|o| format!("\"{o}\"")).collect();
    format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\nadmin_listen = \"127.0.0.1:0\"\n\n[policy]\norigins = [{}]\nmethods = [\"PUT\"]\n",
        origins.join(", ")
    )
}

/// A gateway started from `dir/corsica.toml` (allowing APP).
async fn gateway_from(dir: &Path) -> (TestGateway, PathBuf) {
    let (upstream, _) = echo_upstream().await;
    let path = dir.join("corsica.toml");
    let text = file_text(upstream, &[APP]);
    std::fs::write(&path, &text).unwrap();
    let options = Options {
        config_path: Some(path.clone()),
        ..Options::default()
    };
    let gw = gateway_with(&text, options).await;
    still_answers(&gw).await;
    (gw, path)
}

/// Asks for a reload while checking, every 100 ms, that `/healthz`, a
/// preflight and a proxied request still answer; returns the refusal's
/// text. Fails if the reload is applied or takes longer than
/// [`REFUSED_WITHIN`].
async fn refused_while_serving(gw: &TestGateway) -> String {
    let mut status = gw.handle.reload_status();
    gw.handle.reload();
    let outcome = async {
        tokio::time::timeout(REFUSED_WITHIN, status.wait_for(|s| s.attempts >= 1))
            .await
            .unwrap_or_else(|_| panic!("the reload is not refused within {REFUSED_WITHIN:?}"))
            .expect("the gateway runs")
            .last
            .clone()
            .expect("an outcome")
    };
    let serving = async {
        for _ in 0..10 {
            still_answers(gw).await;
            let reply = tokio::time::timeout(PROMPTLY, get(&gw.url("/during"), &[("origin", APP)]))
                .await
                .expect("a proxied request answers during the reload");
            assert_eq!(reply.status, StatusCode::OK);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (outcome, ()) = tokio::join!(outcome, serving);
    let ReloadOutcome::Rejected { errors } = outcome else {
        panic!("the file was applied: {outcome:?}")
    };
    errors
}

/// After a refusal: the old policy serves, nothing was applied, and the
/// process's memory stayed bounded.
async fn old_policy_serves(gw: &TestGateway) {
    let pre = preflight(&gw.url("/x"), APP, "PUT", None).await;
    assert_eq!(pre.status, StatusCode::NO_CONTENT);
    assert_eq!(pre.header("access-control-allow-origin"), Some(APP));
    assert_eq!(gw.handle.generation(), 0);
    still_answers(gw).await;
    let peak = peak_rss_kib();
    assert!(
        peak < PEAK_RSS_KIB,
        "peak resident memory {peak} KiB, over {PEAK_RSS_KIB} KiB"
    );
}

/// The first 300 characters of a refusal, for messages.
fn short(errors: &str) -> String {
    errors.chars().take(300).collect()
}

#[cfg(unix)]
#[test]
fn a_fifo_at_the_config_path_is_refused_quickly() {
    isolated(
        "a_fifo_at_the_config_path_is_refused_quickly",
        |dir| async move {
            let (gw, path) = gateway_from(&dir).await;
            std::fs::remove_file(&path).unwrap();
            let made = Command::new("mkfifo")
                .arg(&path)
                .status()
                .expect("mkfifo runs");
            assert!(made.success());
            let errors = refused_while_serving(&gw).await;
            assert!(
                errors.contains("not a regular file"),
                "the refusal does not say why: {}",
                short(&errors)
            );
            old_policy_serves(&gw).await;
        },
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_to_dev_zero_is_refused_quickly() {
    isolated(
        "a_symlink_to_dev_zero_is_refused_quickly",
        |dir| async move {
            let (gw, path) = gateway_from(&dir).await;
            std::fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
            let errors = refused_while_serving(&gw).await;
            assert!(
                errors.contains("not a regular file"),
                "the refusal does not say why: {}",
                short(&errors)
            );
            old_policy_serves(&gw).await;
        },
    );
}

#[test]
fn a_200_mb_sparse_file_is_refused_without_being_read() {
    isolated(
        "a_200_mb_sparse_file_is_refused_without_being_read",
        |dir| async move {
            let (gw, path) = gateway_from(&dir).await;
            let sparse = dir.join("sparse.toml");
            let file = std::fs::File::create(&sparse).unwrap();
            file.set_len(200 * 1000 * 1000).unwrap();
            drop(file);
            std::fs::rename(&sparse, &path).unwrap();
            let errors = refused_while_serving(&gw).await;
            assert!(
                errors.contains("larger than"),
                "the refusal does not name the size cap: {}",
                short(&errors)
            );
            assert!(errors.len() < 10_000, "a refusal of {} bytes", errors.len());
            old_policy_serves(&gw).await;
        },
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_to_a_secret_file_is_refused_without_quoting_it() {
    isolated(
        "a_symlink_to_a_secret_file_is_refused_without_quoting_it",
        |dir| async move {
            let (gw, path) = gateway_from(&dir).await;
            let secret = dir.join("passwd");
            std::fs::write(
                &secret,
                "root:x:0:0:SECRET-LINE:/root:/bin/bash\ndaemon:x:1:1:SECOND-SECRET:/usr/sbin\n",
            )
            .unwrap();
            std::fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink(&secret, &path).unwrap();
            let errors = refused_while_serving(&gw).await;
            assert!(
                !errors.contains("SECRET-LINE") && !errors.contains("SECOND-SECRET"),
                "the refusal quotes the file: {}",
                short(&errors)
            );
            old_policy_serves(&gw).await;
        },
    );
}

/// The path is a symlink swapped atomically between two valid files, 30
/// times, with a reload after each swap, while clients send requests:
/// every reload applies the file the link named, no request fails, and
/// the last file's policy is the one in force.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_swapped_under_load_fails_no_request() {
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    let (upstream, _) = echo_upstream().await;
    let dir = temp_dir("hostile-swap");
    let a = dir.join("a.toml");
    let b = dir.join("b.toml");
    std::fs::write(&a, file_text(upstream, &[APP, "https://a.example"])).unwrap();
    std::fs::write(&b, file_text(upstream, &[APP, "https://b.example"])).unwrap();
    let path = dir.join("corsica.toml");
    symlink(&a, &path).unwrap();
    let options = Options {
        config_path: Some(path.clone()),
        ..Options::default()
    };
    let gw = gateway_with(&std::fs::read_to_string(&path).unwrap(), options).await;
    let mut status = gw.handle.reload_status();

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (stop, sent, url) = (stop.clone(), sent.clone(), gw.url("/items"));
        workers.push(tokio::spawn(async move {
            let client = client();
            let mut failures = Vec::new();
            // Bounded: stops when told, or after 2000 requests.
            for _ in 0..2000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let reply = send(&client, http::Method::GET, &url, &[("origin", APP)], b"").await;
                sent.fetch_add(1, Ordering::Relaxed);
                if reply.status != StatusCode::OK
                    || reply.header("access-control-allow-origin") != Some(APP)
                {
                    failures.push(format!("{} {:?}", reply.status, reply.headers));
                }
            }
            failures
        }));
    }
    let started = Instant::now();
    for round in 1..=30u64 {
        let target = if round % 2 == 1 { &b } else { &a };
        let tmp = dir.join("corsica.toml.new");
        symlink(target, &tmp).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        gw.handle.reload();
        let outcome = tokio::time::timeout(PROMPTLY, status.wait_for(|s| s.attempts >= round))
            .await
            .expect("the reload is done promptly")
            .unwrap()
            .last
            .clone();
        assert!(
            matches!(outcome, Some(ReloadOutcome::Applied { .. })),
            "round {round}: {outcome:?}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for worker in workers {
        failures.extend(worker.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(sent.load(Ordering::Relaxed) > 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The 30th swap pointed at a.toml.
    assert_eq!(gw.handle.generation(), 30);
    let a_pre = preflight(&gw.url("/x"), "https://a.example", "PUT", None).await;
    assert_eq!(a_pre.status, StatusCode::NO_CONTENT);
    let b_pre = preflight(&gw.url("/x"), "https://b.example", "PUT", None).await;
    assert_eq!(b_pre.status, StatusCode::FORBIDDEN);
    still_answers(&gw).await;
    let _ = std::fs::remove_dir_all(dir);
}
