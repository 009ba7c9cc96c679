//! `corsica audit` against a zoo of servers: misconfigured the way real
//! code is (reflection, endsWith, unanchored and unescaped regexes, a
//! trusted `null`, http trusted by https, a missing Vary…) and configured
//! correctly. The audit must find every planted class, and nothing at
//! medium or above on the correct ones.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use corsica::{Decision, Policy};
use support::{corsica, spawn, Handler, Seen};

const TRUSTED: &str = "https://app.example.com";

fn allow(origin: &str, credentials: bool, vary: bool) -> Vec<(String, String)> {
    let mut h = vec![("access-control-allow-origin".to_owned(), origin.to_owned())];
    if credentials {
        h.push((
            "access-control-allow-credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    if vary {
        h.push(("vary".to_owned(), "Origin".to_owned()));
    }
    h
}

/// A server that allows an origin when `trust` says so, with credentials,
/// answering preflights with 204 — as hand-written CORS code does.
fn buggy(trust: impl Fn(&str) -> bool + Send + Sync + 'static) -> Handler {
    Arc::new(move |seen: &Seen| {
        let status = if seen.method == "OPTIONS" { 204 } else { 200 };
        match &seen.origin {
            Some(origin) if trust(origin) => {
                let mut h = allow(origin, true, true);
                if seen.method == "OPTIONS" {
                    h.push((
                        "access-control-allow-methods".to_owned(),
                        "GET, PUT, POST, DELETE".to_owned(),
                    ));
                }
                (status, h)
            }
            _ => (status, vec![("vary".to_owned(), "Origin".to_owned())]),
        }
    })
}

/// A server whose CORS is a corsica policy.
fn with_policy(toml: &str) -> Handler {
    let policy = Policy::from_toml(toml).expect("valid policy");
    Arc::new(move |seen: &Seen| {
        let method = http::Method::from_bytes(seen.method.as_bytes()).expect("method");
        match policy.decide(&method, &seen.headers) {
            Decision::Preflight(p) => (
                p.status().as_u16(),
                p.headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                    .collect(),
            ),
            Decision::Forward(f) => {
                let mut out = http::HeaderMap::new();
                f.apply(&mut out);
                (
                    200,
                    out.iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect(),
                )
            }
        }
    })
}

/// A handler from a closure (so the closure's types are inferred).
fn handler(f: impl Fn(&Seen) -> (u16, Vec<(String, String)>) + Send + Sync + 'static) -> Handler {
    Arc::new(f)
}

fn findings(report: &serde_json::Value, target: &str) -> Vec<(String, String)> {
    let r = report
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["target"] == target)
        .expect("target in report");
    r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["class"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_audit_finds_every_planted_misconfiguration_and_nothing_serious_on_correct_servers() {
    let regex_unanchored = regex::Regex::new(r"https://app\.example\.com").unwrap();
    let regex_unescaped = regex::Regex::new(r"^https://app.example.com$").unwrap();
    let mut zoo: BTreeMap<&str, (Handler, Option<&str>)> = BTreeMap::new();
    // Express `origin: true`, Spring `allowedOriginPatterns("*")`, actix `permissive()`.
    zoo.insert("reflection", (buggy(|_| true), Some("origin-reflection")));
    zoo.insert(
        "endswith",
        (buggy(|o| o.ends_with("example.com")), Some("suffix-match")),
    );
    zoo.insert(
        "unanchored-regex",
        (
            buggy(move |o| regex_unanchored.is_match(o)),
            Some("prefix-match"),
        ),
    );
    zoo.insert(
        "trusted-null",
        (buggy(|o| o == TRUSTED || o == "null"), Some("null-origin")),
    );
    zoo.insert(
        "unescaped-dot",
        (
            buggy(move |o| regex_unescaped.is_match(o)),
            Some("unescaped-dot"),
        ),
    );
    zoo.insert(
        "http-trusted",
        (
            buggy(|o| o == TRUSTED || o == "http://app.example.com"),
            Some("insecure-origin"),
        ),
    );
    zoo.insert(
        "contains",
        (
            buggy(|o| TRUSTED.contains(o) && o.starts_with("https://")),
            Some("substring-match"),
        ),
    );
    zoo.insert(
        "startswith-no-dot",
        (
            buggy(|o| {
                o.strip_prefix(TRUSTED)
                    .is_some_and(|rest| !rest.starts_with('.'))
            }),
            Some("special-characters"),
        ),
    );
    zoo.insert(
        "github-pages",
        (
            buggy(|o| o == TRUSTED || o.ends_with(".github.io")),
            Some("third-party-origin"),
        ),
    );
    zoo.insert(
        "any-subdomain",
        (
            buggy(|o| o.ends_with(".example.com")),
            Some("any-subdomain"),
        ),
    );
    zoo.insert(
        "wildcard-credentials",
        (
            handler(|_| {
                (
                    200,
                    vec![
                        ("access-control-allow-origin".into(), "*".into()),
                        ("access-control-allow-credentials".into(), "true".into()),
                    ],
                )
            }),
            Some("wildcard-credentials"),
        ),
    );
    zoo.insert(
        "missing-vary",
        (
            handler(|seen| match &seen.origin {
                Some(o) if o == TRUSTED => (200, allow(o, true, false)),
                _ => (200, vec![]),
            }),
            Some("missing-vary"),
        ),
    );
    // Correct servers.
    zoo.insert(
        "correct-exact",
        (
            handler(|seen| match &seen.origin {
                Some(o) if o == TRUSTED => (
                    if seen.method == "OPTIONS" { 204 } else { 200 },
                    allow(o, true, true),
                ),
                _ => (200, vec![("vary".into(), "Origin".into())]),
            }),
            None,
        ),
    );
    zoo.insert(
        "correct-public",
        (
            handler(|_| {
                (
                    200,
                    vec![("access-control-allow-origin".into(), "*".into())],
                )
            }),
            None,
        ),
    );
    zoo.insert(
        "correct-corsica-exact",
        (
            with_policy(
                "origins = [\"https://app.example.com\"]\nmethods = [\"PUT\"]\ncredentials = true",
            ),
            None,
        ),
    );
    zoo.insert(
        "correct-corsica-subdomains",
        (
            with_policy("origins = [\"https://*.example.com\"]\ncredentials = true"),
            None,
        ),
    );

    let targets: BTreeMap<&str, String> = zoo
        .iter()
        .map(|(name, (h, _))| (*name, format!("http://{}/api/{name}", spawn(h.clone()))))
        .collect();
    let mut args = vec![
        "audit",
        "--trusted-origin",
        TRUSTED,
        "--format",
        "json",
        "--fail-on",
        "high",
        "--concurrency",
        "16",
    ];
    args.extend(targets.values().map(String::as_str));
    let (code, stdout, stderr) = corsica(&args);
    assert_eq!(
        code, 1,
        "high findings exist, so the exit status is 1\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");

    for (name, (_, planted)) in &zoo {
        let found = findings(&report, &targets[name]);
        match planted {
            Some(class) => assert!(
                found.iter().any(|(c, _)| c == class),
                "{name}: expected {class}, found {found:?}"
            ),
            None => assert!(
                found.iter().all(|(_, s)| s == "low" || s == "info"),
                "{name} is configured correctly, yet: {found:?}"
            ),
        }
    }
    // Severity rule: an attacker origin with credentials is high.
    assert!(findings(&report, &targets["reflection"])
        .contains(&("origin-reflection".into(), "high".into())));
    assert!(findings(&report, &targets["http-trusted"])
        .contains(&("insecure-origin".into(), "medium".into())));
    // Evidence names the request and the response.
    let r = report
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["target"] == targets["reflection"])
        .unwrap();
    let f = &r["findings"][0];
    assert!(f["evidence"][0]["request"]["headers"]
        .to_string()
        .contains(f["origin"].as_str().unwrap()));
    assert!(f["evidence"][0]["response"]["headers"]
        .to_string()
        .contains("access-control-allow-credentials"));
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let url = format!("http://{}/me", spawn(buggy(|_| true)));
    let (code, stdout, _) = corsica(&[
        "audit",
        &url,
        "--trusted-origin",
        TRUSTED,
        "--format",
        "sarif",
    ]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "corsica");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 12);
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "origin-reflection");
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        url
    );
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize],
        "origin-reflection"
    );
}

#[test]
fn the_trusted_origins_blocked_request_is_shown_in_the_chosen_browser() {
    let url = format!("http://{}/none", spawn(handler(|_| (200, vec![]))));
    for (browser, rejection, console) in [
        (
            "chromium",
            "TypeError: Failed to fetch",
            "has been blocked by CORS policy",
        ),
        (
            "firefox",
            "TypeError: NetworkError when attempting to fetch resource.",
            "Cross-Origin Request Blocked",
        ),
        (
            "webkit",
            "TypeError: Load failed",
            "due to access control checks",
        ),
    ] {
        let (code, stdout, stderr) = corsica(&[
            "audit",
            &url,
            "--trusted-origin",
            TRUSTED,
            "--format",
            "json",
            "--browser",
            browser,
        ]);
        assert_eq!(code, 0, "{browser}: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let trusted = &report[0]["trusted"];
        assert_eq!(trusted["browser"], browser);
        assert_eq!(trusted["allowed"], false);
        assert_eq!(trusted["fetch_error"], rejection);
        assert!(trusted["console_message"]
            .as_str()
            .unwrap()
            .contains(console));
        let (_, text, _) = corsica(&[
            "audit",
            &url,
            "--trusted-origin",
            TRUSTED,
            "--browser",
            browser,
        ]);
        assert!(text.contains(&format!("blocked in {browser}")), "{text}");
        assert!(text.contains(rejection), "{text}");
    }
}

#[test]
fn probes_go_only_to_the_given_urls_and_all_run() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let handler: Handler = Arc::new(move |s: &Seen| {
        log.lock()
            .unwrap()
            .push((s.method.clone(), s.origin.clone()));
        (200, vec![])
    });
    let url = format!("http://{}/only", spawn(handler));
    let (code, stdout, _) = corsica(&[
        "audit",
        &url,
        "--trusted-origin",
        TRUSTED,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "no findings on a server without CORS");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let sent = report[0]["requests"].as_u64().unwrap() as usize;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), sent, "every probe reached the only URL given");
    assert!(seen
        .iter()
        .any(|(m, o)| m == "OPTIONS" && o.as_deref() == Some("null")));
    assert!(seen.len() > 40);
}

#[test]
fn bad_input_is_a_clear_error() {
    let (code, _, stderr) = corsica(&[
        "audit",
        "http://127.0.0.1:9/x",
        "--trusted-origin",
        "https://app.example.com/",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not an origin"), "{stderr}");
    let (code, _, _) = corsica(&["audit", "ftp://x", "--trusted-origin", TRUSTED]);
    assert_eq!(code, 2);
}

/// `check` on zoo servers: what an attacker's page could do there, seen
/// the way a browser sees it. A misconfiguration is exploitable when the
/// attacker's credentialed request is allowed.
#[test]
fn check_sees_the_zoo_as_a_browser_would() {
    let check = |handler: Handler, origin: &str, extra: &[&str]| {
        let url = format!("http://{}/api/account", spawn(handler));
        let mut args = vec![
            "check",
            &url,
            "--origin",
            origin,
            "--credentials",
            "include",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = corsica(&args);
        let verdict: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
        (code, verdict)
    };
    let exact = "origins = [\"https://app.example.com\"]\nmethods = [\"PUT\"]\ncredentials = true";

    // Reflection: any page reads the account with the user's cookies, even
    // through a preflight.
    let (code, v) = check(
        buggy(|_| true),
        "https://evil.example",
        &["--method", "PUT"],
    );
    assert_eq!(
        (code, &v["allowed"], &v["preflight"]),
        (0, &true.into(), &true.into()),
        "{v}"
    );
    // endsWith("example.com"): a look-alike domain gets in.
    let (code, v) = check(
        buggy(|o| o.ends_with("example.com")),
        "https://evilexample.com",
        &[],
    );
    assert_eq!((code, &v["allowed"]), (0, &true.into()), "{v}");
    // A trusted `null`: a sandboxed iframe gets in.
    let (code, v) = check(buggy(|o| o == TRUSTED || o == "null"), "null", &[]);
    assert_eq!((code, &v["allowed"]), (0, &true.into()), "{v}");
    // `*` with credentials: browsers refuse it, so the credentialed read fails.
    let wildcard = handler(|_| {
        (
            200,
            vec![
                ("access-control-allow-origin".into(), "*".into()),
                ("access-control-allow-credentials".into(), "true".into()),
            ],
        )
    });
    let (code, v) = check(wildcard, "https://evil.example", &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["cors_error"], "WildcardOriginNotAllowed");
    // A corsica policy: the attacker is refused at the preflight and at the
    // simple request; the trusted page passes both.
    let (code, v) = check(
        with_policy(exact),
        "https://evil.example",
        &["--method", "PUT"],
    );
    assert_eq!((code, &v["actual_sent"]), (1, &false.into()), "{v}");
    assert_eq!(v["cors_error"], "PreflightMissingAllowOriginHeader");
    let (code, v) = check(
        with_policy(exact),
        "https://app.example.com.evil.example",
        &[],
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["cors_error"], "MissingAllowOriginHeader");
    let (code, v) = check(with_policy(exact), TRUSTED, &["--method", "PUT"]);
    assert_eq!((code, &v["allowed"]), (0, &true.into()), "{v}");
}
