//! `--fix-for` on `explain`, `check` and `lint`: the fix as a snippet in a
//! proxy's own configuration language, which must be exactly what
//! `corsica export --fragment` prints for the fixed policy.

use std::path::PathBuf;
use std::sync::Arc;

mod support;
use support::{corsica, nginx_test, spawn};

const TARGETS: [&str; 5] = ["nginx", "nginx-lua", "envoy", "caddy", "haproxy"];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corsica-fix-for-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What `corsica export --to TARGET --fragment` prints for a bare policy,
/// with the listen address and upstream the snippets name.
fn exported_fragment(dir: &std::path::Path, policy: &str, target: &str) -> String {
    let file = dir.join(format!("fixed-{target}.toml"));
    std::fs::write(&file, policy).unwrap();
    let (code, stdout, stderr) = corsica(&[
        "export",
        "--to",
        target,
        "--fragment",
        "--listen",
        "127.0.0.1:8080",
        "--upstream",
        "http://127.0.0.1:3000",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    stdout
}

/// A blocked PUT with a custom header and credentials, as `explain` flags.
const EXPLAIN: [&str; 10] = [
    "explain",
    "--origin",
    "https://app.example.com",
    "--url",
    "https://api.example.com/items",
    "--method",
    "PUT",
    "-H",
    "x-token: 1",
    "--format",
];

fn explain_json(fix_for: &str) -> serde_json::Value {
    let mut args = EXPLAIN.to_vec();
    args.extend(["json", "--credentials", "include", "--fix-for", fix_for]);
    let (code, stdout, stderr) = corsica(&args);
    assert_eq!(code, 1, "the request is blocked: {stderr}");
    let verdicts: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    verdicts[0].clone()
}

#[test]
fn explain_snippets_are_the_export_of_the_suggested_policy() {
    let dir = scratch("explain");
    for target in TARGETS {
        let v = explain_json(target);
        let policy = v["fix"]["policy"].as_str().unwrap();
        assert!(policy.contains("PUT"), "{policy}");
        assert_eq!(v["fix_snippet"]["target"], target);
        assert_eq!(v["fix_snippet"]["refused"], serde_json::json!([]));
        assert_eq!(
            v["fix_snippet"]["text"].as_str().unwrap(),
            exported_fragment(&dir, policy, target),
            "{target}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_default_is_corsica_with_no_snippet() {
    let v = explain_json("corsica");
    assert!(v.get("fix_snippet").is_none(), "{v}");
    let mut args = EXPLAIN.to_vec();
    args.push("json");
    let (_, stdout, _) = corsica(&args);
    assert!(!stdout.contains("fix_snippet"), "{stdout}");
}

#[test]
fn an_nginx_snippet_pasted_where_it_says_passes_nginx_t() {
    for target in ["nginx", "nginx-lua"] {
        let v = explain_json(target);
        let text = v["fix_snippet"]["text"].as_str().unwrap();
        nginx_test(&scratch(&format!("{target}-t")), text);
    }
}

#[test]
fn the_text_output_prints_the_snippet_after_the_policy() {
    let mut args = EXPLAIN.to_vec();
    args.extend(["text", "--fix-for", "haproxy"]);
    let (code, stdout, stderr) = corsica(&args);
    assert_eq!(code, 1, "{stderr}");
    let policy_at = stdout
        .find("corsica policy that does exactly this:")
        .unwrap();
    let snippet_at = stdout
        .find("haproxy configuration for the policy above (`corsica export --to haproxy --fragment`):")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(policy_at < snippet_at, "{stdout}");
    assert!(stdout.contains("frontend corsica"), "{stdout}");
    assert!(stdout.contains("http://127.0.0.1:3000"), "{stdout}");
}

#[test]
fn check_prints_the_same_snippet_as_the_export() {
    // A server that sends no CORS header at all.
    let addr = spawn(Arc::new(|_| (200, vec![])));
    let url = format!("http://{addr}/items");
    let (code, stdout, stderr) = corsica(&[
        "check",
        &url,
        "--origin",
        "https://app.example.com",
        "--method",
        "DELETE",
        "--format",
        "json",
        "--fix-for",
        "caddy",
    ]);
    assert_eq!(code, 1, "blocked: {stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let policy = v["fix"]["policy"].as_str().unwrap();
    assert!(policy.contains("DELETE"), "{policy}");
    let dir = scratch("check");
    assert_eq!(
        v["fix_snippet"]["text"].as_str().unwrap(),
        exported_fragment(&dir, policy, "caddy")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn lint(file_text: &str, args: &[&str]) -> (i32, String, String) {
    let dir = scratch("lint");
    let file = dir.join(format!("{}.toml", args.join("_").replace('-', "")));
    std::fs::write(&file, file_text).unwrap();
    let mut all = vec!["lint"];
    all.extend(args);
    all.push(file.to_str().unwrap());
    corsica(&all)
}

const GATEWAY: &str = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n\
[policy]\norigins = [\"https://app.example.com\"]\n";

#[test]
fn lint_prints_the_files_own_fragment() {
    let dir = scratch("lint-export");
    let file = dir.join("gateway.toml");
    std::fs::write(&file, GATEWAY).unwrap();
    let (code, exported, stderr) = corsica(&[
        "export",
        "--to",
        "envoy",
        "--fragment",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = lint(GATEWAY, &["--fix-for", "envoy", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["fix_snippet"]["target"], "envoy");
    assert_eq!(report["fix_snippet"]["text"].as_str().unwrap(), exported);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_a_target_cannot_express_is_the_exports_diagnostic() {
    let text = format!("{GATEWAY}[[routes]]\npath_prefix = \"/a\"\nmode = \"report-only\"\n");
    let (code, stdout, stderr) = lint(&text, &["--fix-for", "nginx", "--format", "json"]);
    assert_eq!(code, 0, "the file itself is valid: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(report["fix_snippet"]["text"].is_null(), "{report}");
    assert_eq!(
        report["fix_snippet"]["refused"][0]["code"],
        "export-report-only"
    );
    assert_eq!(report["fix_snippet"]["refused"][0]["key"], "routes[0].mode");

    let (code, stdout, stderr) = lint(&text, &["--fix-for", "nginx"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("nginx cannot express"), "{stdout}");
    assert!(stdout.contains("error[export-report-only]"), "{stdout}");
    assert!(
        stdout.contains(":7:8"),
        "the place of mode in the file: {stdout}"
    );
}

#[test]
fn an_invalid_file_gets_no_snippet_and_says_why() {
    let bad = "origins = [\"*\"]\ncredentials = true\n";
    let (code, _, stderr) = lint(bad, &["--fix-for", "caddy"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no caddy snippet: the file has errors; fix them first"),
        "{stderr}"
    );
}

#[test]
fn bad_values_and_all_browsers_are_clear_errors() {
    let (code, _, stderr) = lint(GATEWAY, &["--fix-for", "apache"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid value 'apache'"), "{stderr}");
    assert!(stderr.contains("nginx"), "the possible values: {stderr}");

    let mut args = EXPLAIN.to_vec();
    args.extend(["text", "--browser", "all", "--fix-for", "envoy"]);
    let (code, stdout, stderr) = corsica(&args);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("--fix-for needs one browser"), "{stderr}");
}
