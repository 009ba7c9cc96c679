//! `corsica check` against `corsica serve`: the gateway, in front of an
//! upstream that sends CORS headers of its own, answers as its policy says,
//! and `check` over the network reaches the same verdict as the offline
//! `explain --policy` with that policy.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use support::{assert_verdicts_agree, corsica, spawn, Seen};

const PAGE: &str = "https://app.example.com";

const POLICY: &str = r#"origins = ["https://app.example.com", "https://*.tenants.example.com"]
methods = ["PUT", "PATCH"]
request_headers = ["content-type", "x-token"]
expose_headers = ["x-request-id"]
credentials = true
max_age = 600
"#;

/// An upstream with a careless CORS setup of its own (any origin, every
/// method), which the gateway must replace with its policy's answer.
fn upstream() -> SocketAddr {
    spawn(Arc::new(|_: &Seen| {
        (
            200,
            vec![
                ("access-control-allow-origin".into(), "*".into()),
                ("access-control-allow-methods".into(), "*".into()),
                ("access-control-expose-headers".into(), "*".into()),
                ("x-request-id".into(), "r-42".into()),
                ("x-internal".into(), "secret".into()),
            ],
        )
    }))
}

/// One gateway for the whole file, in its own runtime thread; returns its
/// address and the path of the policy file for `explain --policy`.
fn gateway() -> &'static (SocketAddr, String) {
    static GATEWAY: OnceLock<(SocketAddr, String)> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("corsica-check-gw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let policy_path = dir.join("policy.toml");
        std::fs::write(&policy_path, POLICY).expect("write policy");
        let toml = format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{}\"\n\n[policy]\n{POLICY}",
            upstream()
        );
        let config = corsica_gateway::config::load_str(&toml).unwrap_or_else(|e| {
            panic!(
                "test config is invalid:\n{}",
                e.render("test.toml", Some(&toml))
            )
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let options = corsica_gateway::Options {
                    threads: 1,
                    ..Default::default()
                };
                let gw = corsica_gateway::Gateway::bind(config, options)
                    .await
                    .expect("gateway binds");
                tx.send(gw.local_addr()).expect("send addr");
                gw.run().await.expect("gateway runs");
            });
        });
        let addr = rx.recv().expect("gateway address");
        (addr, policy_path.to_string_lossy().into_owned())
    })
}

/// Runs `check` against the gateway and `explain --policy` offline with the
/// same request; returns the exit code and both JSON verdicts.
fn both(origin: &str, extra: &[&str]) -> (i32, serde_json::Value, serde_json::Value) {
    let (addr, policy) = gateway();
    let url = format!("http://{addr}/items/7");
    let mut check = vec!["check", &url, "--origin", origin, "--format", "json"];
    check.extend_from_slice(extra);
    let (code, stdout, stderr) = corsica(&check);
    let live: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let mut explain = vec![
        "explain", "--origin", origin, "--url", &url, "--policy", policy, "--format", "json",
    ];
    explain.extend_from_slice(extra);
    let (_, stdout, stderr) = corsica(&explain);
    let offline: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    (code, live, offline[0].clone())
}

#[test]
fn a_credentialed_read_of_an_exposed_header_is_allowed() {
    let (code, live, offline) = both(
        PAGE,
        &[
            "--credentials",
            "include",
            "--read",
            "x-request-id",
            "--read",
            "x-internal",
        ],
    );
    assert_eq!(code, 0, "{live}");
    assert_eq!(live["allowed"], true);
    assert_eq!(live["preflight"], false);
    // The policy exposes x-request-id; the upstream's `*` is replaced, so
    // x-internal stays hidden.
    assert_eq!(live["readable_headers"]["x-request-id"], "r-42");
    assert_eq!(
        live["readable_headers"]["x-internal"],
        serde_json::Value::Null
    );
    assert_verdicts_agree(&live, &offline);
}

#[test]
fn a_preflighted_request_within_the_policy_passes() {
    let (code, live, offline) = both(
        "https://eu.tenants.example.com",
        &[
            "--method",
            "PATCH",
            "-H",
            "x-token: 1",
            "-H",
            "content-type: application/json",
        ],
    );
    assert_eq!(code, 0, "{live}");
    assert_eq!(live["preflight"], true);
    assert_eq!(live["actual_sent"], true);
    assert_eq!(live["allowed"], true);
    assert_verdicts_agree(&live, &offline);
}

#[test]
fn a_method_outside_the_policy_is_blocked_at_the_preflight() {
    // The upstream would say `*` for methods; the gateway answers the
    // preflight itself and refuses it, so the actual request never leaves.
    let (code, live, offline) = both(PAGE, &["--method", "DELETE"]);
    assert_eq!(code, 1, "{live}");
    assert_eq!(live["preflight"], true);
    assert_eq!(live["actual_sent"], false);
    assert_eq!(live["allowed"], false);
    assert_verdicts_agree(&live, &offline);
    assert!(
        live["fix"].to_string().contains("DELETE"),
        "the fix names the method: {live}"
    );
}

#[test]
fn a_header_outside_the_policy_is_blocked_at_the_preflight() {
    let (code, live, offline) = both(PAGE, &["--method", "PUT", "-H", "x-debug: 1"]);
    assert_eq!(code, 1, "{live}");
    assert_eq!(live["actual_sent"], false);
    assert_verdicts_agree(&live, &offline);
}

#[test]
fn a_foreign_origin_is_blocked_even_though_the_upstream_says_star() {
    for origin in [
        "https://evil.example",
        "https://tenants.example.com.evil.example",
    ] {
        let (code, live, offline) = both(origin, &[]);
        assert_eq!(code, 1, "{origin}: {live}");
        assert_eq!(live["allowed"], false);
        assert_eq!(live["cors_error"], "MissingAllowOriginHeader", "{origin}");
        assert_verdicts_agree(&live, &offline);
    }
}
