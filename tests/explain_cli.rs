//! `corsica explain` as a user runs it: from a file, from flags, and in
//! front of a policy.

mod support;

use support::corsica;

fn write(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("corsica-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

const CASES: &str = r#"[
  {"id": "simple-ok", "origin": "https://app.example",
   "request": {"url": "https://api.example/items", "read_headers": ["x-id", "content-type"]},
   "response": {"status": 200, "headers": [["access-control-allow-origin", "https://app.example"], ["x-id", "7"], ["content-type", "application/json"]]}},
  {"id": "put-blocked", "origin": "https://app.example",
   "request": {"url": "https://api.example/items", "method": "PUT", "headers": [["x-token", "1"]], "credentials": "include"},
   "preflight_response": {"status": 204, "headers": [["access-control-allow-origin", "https://app.example"], ["access-control-allow-credentials", "true"], ["access-control-allow-methods", "PUT"]]}}
]"#;

#[test]
fn a_file_of_cases_gives_one_json_object_per_case_in_order() {
    let file = write("cases.json", CASES);
    let (code, stdout, stderr) = corsica(&["explain", "--case", &file, "--format", "json"]);
    assert_eq!(code, 1, "one case is blocked: {stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], "simple-ok");
    assert_eq!(list[0]["allowed"], true);
    assert_eq!(list[0]["preflight"], false);
    assert_eq!(
        list[0]["readable_headers"]["x-id"],
        serde_json::Value::Null,
        "not exposed"
    );
    assert_eq!(
        list[0]["readable_headers"]["content-type"],
        "application/json"
    );
    assert_eq!(list[1]["id"], "put-blocked");
    assert_eq!(list[1]["cors_error"], "HeaderDisallowedByPreflightResponse");
    assert_eq!(list[1]["failed_parameter"], "x-token");
    assert_eq!(list[1]["actual_sent"], false);
    for case in list {
        let skipped = case
            .get("skipped_actual")
            .expect("the field is always present");
        assert!(skipped.is_null(), "explain never stops a fetch early");
    }
    assert_eq!(
        list[1]["console_message"],
        "Access to fetch at 'https://api.example/items' from origin 'https://app.example' has been blocked by CORS policy: Request header field x-token is not allowed by Access-Control-Allow-Headers in preflight response."
    );
    for key in [
        "id",
        "preflight",
        "actual_sent",
        "allowed",
        "cors_error",
        "failed_parameter",
        "console_message",
        "readable_headers",
        "fix",
    ] {
        assert!(list[1].get(key).is_some(), "missing {key}");
    }
    assert!(list[1]["fix"]["policy"]
        .as_str()
        .unwrap()
        .contains("request_headers = [\"x-token\"]"));
}

#[test]
fn text_output_is_a_trace_with_the_fix() {
    let file = write("cases-text.json", CASES);
    let (_, stdout, _) = corsica(&["explain", "--case", &file]);
    for needle in [
        "preflight",
        "OPTIONS https://api.example/items",
        "Access-Control-Request-Headers: x-token",
        "BLOCKED",
        "ALLOWED",
        "fix",
        "corsica policy",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    assert!(!stdout.contains("\u{1b}["), "no colour in a pipe");
}

#[test]
fn the_flag_form_needs_no_file() {
    let (code, stdout, _) = corsica(&[
        "explain",
        "--origin",
        "https://app.example",
        "--url",
        "https://api.example/items",
        "--method",
        "patch",
        "--preflight-header",
        "access-control-allow-origin: https://app.example",
        "--preflight-header",
        "access-control-allow-methods: PATCH",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v[0]["cors_error"], "MethodDisallowedByPreflightResponse");
    assert_eq!(v[0]["failed_parameter"], "patch");
}

#[test]
fn a_policy_can_answer_instead_of_scripted_headers() {
    let policy = write(
        "policy.toml",
        "origins = [\"https://app.example\"]\nmethods = [\"DELETE\"]\ncredentials = true\n",
    );
    let (code, stdout, _) = corsica(&[
        "explain",
        "--origin",
        "https://app.example",
        "--url",
        "https://api.example/items/1",
        "--method",
        "DELETE",
        "--credentials",
        "include",
        "--policy",
        &policy,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = corsica(&[
        "explain",
        "--origin",
        "https://evil.example",
        "--url",
        "https://api.example/items/1",
        "--method",
        "DELETE",
        "--policy",
        &policy,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v[0]["cors_error"], "PreflightMissingAllowOriginHeader");
}

#[test]
fn bad_input_is_exit_2() {
    let file = write("bad.json", "{\"id\": 1}");
    let (code, _, stderr) = corsica(&["explain", "--case", &file]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a case"), "{stderr}");
    let missing = write(
        "missing.json",
        r#"{"id": "x", "origin": "https://a.example", "request": {"url": "https://b.example/", "method": "PUT"}}"#,
    );
    let (code, _, stderr) = corsica(&["explain", "--case", &missing]);
    assert_eq!(code, 2);
    assert!(stderr.contains("preflight_response"), "{stderr}");
}

/// The README's gateway file works as `--policy`: each URL gets the policy
/// of the route the gateway would give it.
#[test]
fn a_gateway_file_answers_with_the_policy_of_each_urls_route() {
    let gateway = write(
        "gateway.toml",
        r#"listen = "127.0.0.1:8080"
upstream = "http://127.0.0.1:3000"
admin_listen = "127.0.0.1:9090"

[policy]
origins = ["https://app.example"]
methods = ["DELETE"]

[[routes]]
path_prefix = "/public"
[routes.policy]
origins = ["*"]

[[routes]]
path_prefix = "/internal"
cors = false
"#,
    );
    let explain = |origin: &str, url: &str, method: &str| {
        corsica(&[
            "explain", "--origin", origin, "--url", url, "--method", method, "--policy", &gateway,
            "--format", "json",
        ])
    };
    let (code, stdout, stderr) = explain(
        "https://app.example",
        "https://api.example/items/1",
        "DELETE",
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The default policy refuses another origin; the /public route's does not.
    let (code, _, _) = explain(
        "https://other.example",
        "https://api.example/items/1",
        "GET",
    );
    assert_eq!(code, 1);
    let (code, stdout, _) = explain(
        "https://other.example",
        "https://api.example//public/./x",
        "GET",
    );
    assert_eq!(code, 0, "routed on the normal form of the path: {stdout}");
    // Where the upstream's own headers decide, explain says so (exit 2).
    let (code, _, stderr) = explain(
        "https://app.example",
        "https://api.example/internal/x",
        "GET",
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cors = false") && stderr.contains("corsica check"),
        "{stderr}"
    );
}

#[test]
fn each_browser_rejects_and_logs_in_its_own_words() {
    let file = write("cases-browsers.json", CASES);
    let expected = [
        (
            "chromium",
            "TypeError: Failed to fetch",
            "Access to fetch at 'https://api.example/items' from origin 'https://app.example' has been blocked by CORS policy: Request header field x-token is not allowed by Access-Control-Allow-Headers in preflight response.",
        ),
        (
            "firefox",
            "TypeError: NetworkError when attempting to fetch resource.",
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example/items. (Reason: header ‘x-token’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response).\nCross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example/items. (Reason: CORS request did not succeed). Status code: (null).",
        ),
        (
            "webkit",
            "TypeError: Load failed",
            "Fetch API cannot load https://api.example/items due to access control checks.",
        ),
    ];
    for (browser, rejection, console) in expected {
        let (code, stdout, stderr) = corsica(&[
            "explain",
            "--case",
            &file,
            "--format",
            "json",
            "--browser",
            browser,
        ]);
        assert_eq!(code, 1, "{browser}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let list = v.as_array().unwrap();
        assert!(list[0]["fetch_error"].is_null(), "{browser}: allowed");
        assert_eq!(list[1]["fetch_error"], rejection, "{browser}");
        assert_eq!(list[1]["console_message"], console, "{browser}");
    }
    let (_, text, _) = corsica(&["explain", "--case", &file, "--browser", "firefox"]);
    assert!(
        text.contains(
            "fetch() rejects with TypeError: NetworkError when attempting to fetch resource."
        ),
        "{text}"
    );
}

#[test]
fn browser_all_shows_the_three_verdicts_and_why_they_differ() {
    let args = [
        "explain",
        "--origin",
        "https://app.example",
        "--url",
        "https://api.example/items",
        "--method",
        "PUT",
        "-H",
        "dpr: 2",
        "-H",
        "x-a: 1",
        "--preflight-header",
        "access-control-allow-origin: https://app.example",
        "--preflight-header",
        "access-control-allow-methods: PUT",
        "--preflight-header",
        "access-control-allow-headers: x-a",
        "--response-header",
        "access-control-allow-origin: https://app.example",
        "--browser",
        "all",
    ];
    let (code, stdout, stderr) = corsica(&args);
    assert_eq!(code, 1, "Firefox and WebKit block it: {stderr}");
    assert!(stdout.contains("chromium") && stdout.contains("firefox") && stdout.contains("webkit"));
    assert!(stdout.contains("client hints"), "{stdout}");
    assert!(stdout.contains("TypeError: Load failed"), "{stdout}");
    assert!(stdout.contains("Cross-Origin Request Blocked"), "{stdout}");

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let (_, stdout, _) = corsica(&json_args);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let first = &v[0];
    assert_eq!(first["browsers"]["chromium"]["allowed"], true);
    assert_eq!(first["browsers"]["firefox"]["allowed"], false);
    assert_eq!(
        first["browsers"]["webkit"]["fetch_error"],
        "TypeError: Load failed"
    );
    let diffs = first["differences"].as_array().unwrap();
    let allowed = diffs.iter().find(|d| d["field"] == "allowed").unwrap();
    assert_eq!(allowed["values"]["chromium"], "true");
    assert_eq!(allowed["values"]["webkit"], "false");
    assert!(allowed["reason"].as_str().unwrap().contains("client hints"));
}

#[test]
fn browser_all_names_webkits_shorter_preflight_cache() {
    let (code, stdout, stderr) = corsica(&[
        "explain",
        "--origin",
        "https://app.example",
        "--url",
        "https://api.example/items",
        "--method",
        "PUT",
        "--preflight-header",
        "access-control-allow-origin: https://app.example",
        "--preflight-header",
        "access-control-allow-methods: PUT",
        "--preflight-header",
        "access-control-max-age: 86400",
        "--response-header",
        "access-control-allow-origin: https://app.example",
        "--browser",
        "all",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let diffs = v[0]["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "only the cache lifetime differs: {diffs:?}");
    assert_eq!(diffs[0]["field"], "preflight_cache");
    assert_eq!(diffs[0]["values"]["chromium"], "7200 s");
    assert_eq!(diffs[0]["values"]["firefox"], "86400 s");
    assert_eq!(diffs[0]["values"]["webkit"], "600 s");
}

#[test]
fn a_public_page_fetching_localhost_is_explained_as_local_network_access() {
    let (code, stdout, stderr) = corsica(&[
        "explain",
        "--origin",
        "https://app.example",
        "--url",
        "http://localhost:8080/api",
        "--page-address-space",
        "public",
        "--response-header",
        "access-control-allow-origin: *",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.contains("LocalNetworkAccessPermissionDenied"),
        "{stdout}"
    );
    assert!(stdout.contains(
        "Permission was denied for this request to access the `loopback` address space."
    ));
    assert!(stdout.contains("Not a CORS header problem"));
    assert!(
        !stdout.contains("the response must carry"),
        "no CORS header fix: {stdout}"
    );

    // Granted, only CORS is left, and the same request passes.
    let (code, _, stderr) = corsica(&[
        "explain",
        "--origin",
        "https://app.example",
        "--url",
        "http://localhost:8080/api",
        "--page-address-space",
        "public",
        "--lna-permission",
        "granted",
        "--response-header",
        "access-control-allow-origin: *",
    ]);
    assert_eq!(code, 0, "{stderr}");

    // Without the page's space, a name is not guessed: no LNA verdict.
    let (code, stdout, _) = corsica(&[
        "explain",
        "--origin",
        "https://app.example",
        "--url",
        "http://localhost:8080/api",
        "--response-header",
        "access-control-allow-origin: *",
    ]);
    assert_eq!(code, 0, "{stdout}");
}
