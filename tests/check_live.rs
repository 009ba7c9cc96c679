//! `corsica check` against live servers: it agrees with the offline
//! simulator on the same responses, reports network failures clearly and
//! within bounded time, and never hangs or panics on broken servers.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{corsica, spawn, spawn_raw, Handler, Seen};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PAGE: &str = "https://app.example.com";

fn scripted(
    preflight: Vec<(&'static str, &'static str)>,
    response: Vec<(&'static str, &'static str)>,
) -> Handler {
    Arc::new(move |seen: &Seen| {
        let h = if seen.method == "OPTIONS" {
            &preflight
        } else {
            &response
        };
        let status = if seen.method == "OPTIONS" { 204 } else { 200 };
        (
            status,
            h.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    })
}

/// Runs `check` and the offline `explain` on the same headers and returns
/// both JSON verdicts.
fn both(
    preflight: &[(&'static str, &'static str)],
    response: &[(&'static str, &'static str)],
    extra: &[&str],
) -> (i32, serde_json::Value, serde_json::Value) {
    let url = format!(
        "http://{}/items",
        spawn(scripted(preflight.to_vec(), response.to_vec()))
    );
    let mut check = vec!["check", &url, "--origin", PAGE, "--format", "json"];
    check.extend_from_slice(extra);
    let (code, stdout, stderr) = corsica(&check);
    let live: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let mut explain: Vec<String> = [
        "explain", "--origin", PAGE, "--url", &url, "--format", "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    explain.extend(extra.iter().map(|s| s.to_string()));
    for (n, v) in preflight {
        explain.push("--preflight-header".into());
        explain.push(format!("{n}: {v}"));
    }
    for (n, v) in response {
        explain.push("--response-header".into());
        explain.push(format!("{n}: {v}"));
    }
    let args: Vec<&str> = explain.iter().map(String::as_str).collect();
    let (_, stdout, _) = corsica(&args);
    let offline: serde_json::Value = serde_json::from_str(&stdout).expect("explain JSON");
    (code, live, offline[0].clone())
}

/// `check` and `explain` agree on the verdict and on what the script reads.
fn assert_agree(live: &serde_json::Value, offline: &serde_json::Value) {
    support::assert_verdicts_agree(live, offline);
    support::assert_fields_agree(live, offline, &["readable_headers"]);
}

#[test]
fn an_allowed_preflighted_request() {
    let ok = [
        ("access-control-allow-origin", PAGE),
        ("access-control-allow-methods", "PUT"),
        ("access-control-allow-headers", "x-token"),
    ];
    let (code, live, offline) = both(
        &ok,
        &[
            ("access-control-allow-origin", PAGE),
            ("x-id", "7"),
            ("access-control-expose-headers", "x-id"),
        ],
        &["--method", "PUT", "-H", "x-token: 1", "--read", "x-id"],
    );
    assert_eq!(code, 0);
    assert_eq!(live["allowed"], true);
    assert_eq!(live["readable_headers"]["x-id"], "7");
    assert_agree(&live, &offline);
}

#[test]
fn a_blocked_request_names_chromiums_error() {
    let (code, live, offline) = both(
        &[("access-control-allow-origin", PAGE)],
        &[],
        &["--method", "DELETE"],
    );
    assert_eq!(code, 1);
    assert_eq!(live["cors_error"], "MethodDisallowedByPreflightResponse");
    assert_eq!(live["actual_sent"], false);
    assert_agree(&live, &offline);
    let (code, live, offline) = both(
        &[],
        &[("access-control-allow-origin", "*")],
        &["--credentials", "include"],
    );
    assert_eq!(code, 1);
    assert_eq!(live["cors_error"], "WildcardOriginNotAllowed");
    assert_agree(&live, &offline);
}

#[test]
fn check_speaks_the_chosen_browsers_language() {
    let (code, live, offline) = both(&[], &[], &["--browser", "firefox"]);
    assert_eq!(code, 1);
    assert_eq!(
        live["fetch_error"],
        "TypeError: NetworkError when attempting to fetch resource."
    );
    assert!(live["console_message"]
        .as_str()
        .unwrap()
        .starts_with("Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at"));
    assert_agree(&live, &offline);
    assert_eq!(live["console_message"], offline["console_message"]);
    let (code, live, _) = both(&[], &[], &["--browser", "webkit"]);
    assert_eq!(code, 1);
    assert_eq!(live["fetch_error"], "TypeError: Load failed");
}

#[test]
fn a_redirect_is_followed_as_the_browser_follows_it() {
    let target = spawn(scripted(vec![], vec![("access-control-allow-origin", "*")]));
    let location: &'static str = Box::leak(format!("http://{target}/final").into_boxed_str());
    let first = spawn(Arc::new(move |_: &Seen| {
        (
            302,
            vec![
                ("location".into(), location.to_owned()),
                ("access-control-allow-origin".into(), PAGE.into()),
            ],
        )
    }));
    let (code, stdout, _) = corsica(&[
        "check",
        &format!("http://{first}/start"),
        "--origin",
        PAGE,
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["requests"][1]["origin"], "null",
        "a cross-origin redirect taints the origin"
    );
}

/// A server that answers as `scripted` does and records each method it saw.
fn recording(
    preflight: Vec<(&'static str, &'static str)>,
) -> (std::net::SocketAddr, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = scripted(preflight, vec![("access-control-allow-origin", PAGE)]);
    let addr = spawn(Arc::new(move |request: &Seen| {
        log.lock().unwrap().push(request.method.clone());
        answer(request)
    }));
    (addr, seen)
}

/// `check URL --method DELETE --preflight-only`, plus `extra`.
fn delete_preflight_only(url: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "check",
        url,
        "--origin",
        PAGE,
        "--method",
        "DELETE",
        "--preflight-only",
    ];
    args.extend_from_slice(extra);
    corsica(&args)
}

#[test]
fn preflight_only_never_sends_the_request_itself() {
    let (addr, seen) = recording(vec![
        ("access-control-allow-origin", PAGE),
        ("access-control-allow-methods", "DELETE"),
    ]);
    let url = format!("http://{addr}/items/7");
    let (code, stdout, stderr) = delete_preflight_only(&url, &["--format", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["skipped_actual"], "preflight-passed");
    assert_eq!(v["preflight"], true);
    assert_eq!(v["actual_sent"], false);
    assert_eq!(v["requests"].as_array().unwrap().len(), 1);
    assert_eq!(*seen.lock().unwrap(), ["OPTIONS"], "the DELETE never left");

    let (code, stdout, _) = delete_preflight_only(&url, &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("PREFLIGHT PASSED"), "{stdout}");
    assert!(
        stdout.contains("not sent (preflight only): DELETE"),
        "{stdout}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "a second preflight, nothing else"
    );
}

#[test]
fn preflight_only_reports_a_failing_preflight_as_blocked() {
    let (addr, seen) = recording(vec![("access-control-allow-origin", PAGE)]);
    let url = format!("http://{addr}/items/7");
    let (code, stdout, _) = delete_preflight_only(&url, &["--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["cors_error"], "MethodDisallowedByPreflightResponse");
    assert_eq!(v["skipped_actual"], serde_json::Value::Null);
    assert_eq!(*seen.lock().unwrap(), ["OPTIONS"]);
}

#[test]
fn preflight_only_sends_nothing_for_a_request_without_preflight() {
    let (addr, seen) = recording(vec![]);
    let url = format!("http://{addr}/items");
    let (code, stdout, _) = corsica(&["check", &url, "--origin", PAGE, "--preflight-only"]);
    assert_eq!(code, 3, "nothing was checked: {stdout}");
    assert!(stdout.contains("NOT CHECKED"), "{stdout}");
    assert!(seen.lock().unwrap().is_empty(), "nothing may be sent");
}

#[test]
fn preflight_only_on_a_same_origin_url_sends_nothing_and_owes_nothing() {
    let (addr, seen) = recording(vec![]);
    let page = format!("http://{addr}");
    let url = format!("{page}/items/7");
    let (code, stdout, _) = corsica(&[
        "check",
        &url,
        "--origin",
        &page,
        "--method",
        "DELETE",
        "--preflight-only",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("SAME-ORIGIN"), "{stdout}");
    assert!(!stdout.contains("must carry"), "{stdout}");
    assert!(seen.lock().unwrap().is_empty(), "nothing may be sent");
}

#[test]
fn preflight_only_reports_a_preflight_that_cannot_connect_as_an_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/items/7");
    let (code, stdout, _) = delete_preflight_only(&url, &["--format", "json"]);
    assert_eq!(code, 2, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["error"]["message"].is_string(), "{v}");
}

fn timed(args: &[&str]) -> (i32, String, Duration) {
    let start = Instant::now();
    let (code, _, stderr) = corsica(args);
    (code, stderr, start.elapsed())
}

#[test]
fn network_failures_are_clear_errors_in_bounded_time() {
    // Nothing listens on the discard port.
    let (code, stderr, _) = timed(&["check", "http://127.0.0.1:9/x", "--origin", PAGE]);
    assert_eq!(code, 2);
    assert!(stderr.contains("refused"), "{stderr}");

    let (code, stderr, _) = timed(&[
        "check",
        "http://corsica-no-such-host.invalid/x",
        "--origin",
        PAGE,
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("resolve"), "{stderr}");

    let silent = spawn_raw(|mut s| async move {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let (code, stderr, took) = timed(&[
        "check",
        &format!("http://{silent}/x"),
        "--origin",
        PAGE,
        "--timeout",
        "1s",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did not answer within"), "{stderr}");
    assert!(took < Duration::from_secs(10));

    let garbage = spawn_raw(|mut s| async move {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
    });
    let (code, stderr, _) = timed(&[
        "check",
        &format!("http://{garbage}/x"),
        "--origin",
        PAGE,
        "--timeout",
        "2s",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("did not answer with HTTP") || stderr.contains("closed"),
        "{stderr}"
    );

    let huge = spawn_raw(|mut s| async move {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
        let line = format!("x-big: {}\r\n", "a".repeat(8000));
        for _ in 0..200 {
            if s.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = s.write_all(b"\r\n").await;
    });
    let (code, stderr, _) = timed(&[
        "check",
        &format!("http://{huge}/x"),
        "--origin",
        PAGE,
        "--timeout",
        "5s",
    ]);
    assert_eq!(code, 2);
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (code, stderr, _) = timed(&["check", "https://127.0.0.1:9/x", "--origin", PAGE]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn tls_failures_say_so() {
    // A plain-HTTP server spoken to over https fails the handshake.
    let plain = spawn(scripted(vec![], vec![]));
    let (code, stderr, _) = timed(&[
        "check",
        &format!("https://{plain}/x"),
        "--origin",
        PAGE,
        "--timeout",
        "3s",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.to_lowercase().contains("tls") || stderr.contains("did not answer with HTTP"),
        "{stderr}"
    );
}
