//! `corsica lint` as a user runs it: every insecure or broken policy is
//! refused with file:line:col, the reason and the fix; valid ones pass.

mod support;

use support::corsica;

fn lint(name: &str, toml: &str, json: bool) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("corsica-lint-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("corsica.toml");
    std::fs::write(&path, toml).unwrap();
    let path = path.to_str().unwrap().to_owned();
    let mut args = vec!["lint"];
    if json {
        args.extend(["--format", "json"]);
    }
    args.push(&path);
    corsica(&args)
}

#[test]
fn every_insecure_case_is_refused_with_a_located_fix() {
    let cases = [
        (
            "star-credentials",
            "origins = [\"*\"]\ncredentials = true",
            "wildcard-with-credentials",
            "1:12",
        ),
        ("null", "origins = [\"null\"]", "null-origin", "1:12"),
        (
            "file",
            "origins = [\"file://\"]",
            "origin-file-scheme",
            "1:12",
        ),
        (
            "path",
            "origins = [\"https://a.example/api\"]",
            "origin-has-path",
            "1:12",
        ),
        (
            "slash",
            "origins = [\"https://a.example/\"]",
            "origin-trailing-slash",
            "1:12",
        ),
        (
            "query",
            "origins = [\"https://a.example?x\"]",
            "origin-has-query",
            "1:12",
        ),
        (
            "userinfo",
            "origins = [\"https://u@a.example\"]",
            "origin-has-userinfo",
            "1:12",
        ),
        (
            "default-port",
            "origins = [\"https://a.example:443\"]",
            "origin-default-port",
            "1:12",
        ),
        (
            "upper",
            "origins = [\"https://A.example\"]",
            "origin-upper-case",
            "1:12",
        ),
        (
            "idn",
            "origins = [\"https://bücher.example\"]",
            "origin-non-ascii-host",
            "1:12",
        ),
        (
            "http-credentials",
            "credentials = true\norigins = [\"http://a.example\"]",
            "insecure-origin-with-credentials",
            "2:12",
        ),
        (
            "psl",
            "credentials = true\norigins = [\"https://*.github.io\"]",
            "public-suffix-wildcard",
            "2:12",
        ),
        (
            "too-broad",
            "origins = [\"https://*\"]",
            "origin-pattern-too-broad",
            "1:12",
        ),
        (
            "star-com",
            "origins = [\"*.com\"]",
            "origin-pattern-too-broad",
            "1:12",
        ),
        (
            "method",
            "origins = [\"https://a.example\"]\nmethods = [\"TRACE\"]",
            "method-forbidden",
            "2:12",
        ),
        (
            "bad-method",
            "origins = [\"https://a.example\"]\nmethods = [\"P UT\"]",
            "method-invalid",
            "2:12",
        ),
        (
            "cookie",
            "origins = [\"https://a.example\"]\nrequest_headers = [\"cookie\"]",
            "header-forbidden",
            "2:20",
        ),
        (
            "sec",
            "origins = [\"https://a.example\"]\nrequest_headers = [\"sec-fetch-mode\"]",
            "header-forbidden",
            "2:20",
        ),
        (
            "set-cookie",
            "origins = [\"https://a.example\"]\nexpose_headers = [\"set-cookie\"]",
            "expose-set-cookie",
            "2:19",
        ),
        (
            "header-star",
            "credentials = true\norigins = [\"https://a.example\"]\nrequest_headers = [\"*\"]",
            "wildcard-with-credentials",
            "3:20",
        ),
        (
            "expose-star",
            "credentials = true\norigins = [\"https://a.example\"]\nexpose_headers = [\"*\"]",
            "wildcard-with-credentials",
            "3:19",
        ),
        (
            "duplicate",
            "origins = [\"https://a.example\", \"https://a.example\"]",
            "duplicate-origin",
            "1:33",
        ),
        ("empty", "origins = []", "origins-empty", "1:11"),
        (
            "max-age",
            "origins = [\"*\"]\nmax_age = 86401",
            "max-age-out-of-range",
            "2:11",
        ),
        (
            "unknown-key",
            "origins = [\"*\"]\norigin = [\"*\"]",
            "unknown-key",
            "2:1",
        ),
    ];
    for (name, toml, code, at) in cases {
        let (exit, stdout, stderr) = lint(name, toml, false);
        assert_eq!(exit, 1, "{name}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!("error[{code}]")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("corsica.toml:{at}")),
            "{name}: expected {at} in {stderr}"
        );
        assert!(stderr.contains("= fix:"), "{name}: {stderr}");
    }
}

#[test]
fn a_valid_policy_passes_and_prints_warnings() {
    let (exit, stdout, _) = lint(
        "valid",
        "origins = [\"https://a.example\"]\nmax_age = 9000",
        false,
    );
    assert_eq!(exit, 0);
    assert!(
        stdout.contains("warning[max-age-above-chromium-cap]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("valid policy (0 errors, 1 warning)"),
        "{stdout}"
    );
}

#[test]
fn json_lists_every_diagnostic_with_its_position() {
    let (exit, stdout, _) = lint(
        "json",
        "origins = [\"*\", \"null\"]\ncredentials = true\nmethods = [\"TRACE\"]",
        true,
    );
    assert_eq!(exit, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["valid"], false);
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"wildcard-with-credentials")
            && codes.contains(&"null-origin")
            && codes.contains(&"method-forbidden"),
        "{codes:?}"
    );
    let first = &report["diagnostics"][0];
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(1), Some(12))
    );
    assert!(first["fix"].as_str().unwrap().len() > 10);
}

#[test]
fn gateway_files_are_linted_too() {
    let toml = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n[policy]\norigins = [\"https://a.example/\"]\n[[routes]]\npath_prefix = \"/x\"\nmode = \"shadow\"\n";
    let (exit, _, stderr) = lint("gateway", toml, false);
    assert_eq!(exit, 1);
    assert!(
        stderr.contains("error[origin-trailing-slash]") && stderr.contains("corsica.toml:4:12"),
        "{stderr}"
    );
    assert!(stderr.contains("error[route-mode]"), "{stderr}");
    assert!(stderr.contains("invalid gateway config"), "{stderr}");
}

#[test]
fn an_unreadable_file_is_exit_2() {
    let (exit, _, stderr) = corsica(&["lint", "/nonexistent/corsica.toml"]);
    assert_eq!(exit, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn an_empty_file_says_what_either_kind_of_file_needs() {
    let (exit, _, stderr) = lint("empty", "# nothing yet\n", false);
    assert_eq!(exit, 1);
    assert!(stderr.contains("error[empty-file]"), "{stderr}");
    assert!(
        stderr.contains("origins = [") && stderr.contains("listen, upstream"),
        "{stderr}"
    );
}

#[test]
fn lint_reads_the_tls_files_a_gateway_file_names_as_serve_does() {
    let toml = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n[policy]\norigins = [\"https://a.example\"]\n[tls]\ncert = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n";
    let (exit, _, stderr) = lint("tls", toml, false);
    assert_eq!(exit, 1);
    assert!(
        stderr.contains("error[tls-files]") && stderr.contains("corsica.toml:6:8"),
        "{stderr}"
    );
    let dir = std::env::temp_dir().join(format!("corsica-lint-{}-tls", std::process::id()));
    let (exit, _, serve_err) = corsica(&[
        "serve",
        "--config",
        dir.join("corsica.toml").to_str().unwrap(),
    ]);
    assert_eq!(exit, 2);
    assert!(
        serve_err.contains("error[tls-files]") && serve_err.contains("corsica.toml:6:8"),
        "serve reports it the same way: {serve_err}"
    );
}

#[test]
fn serve_explains_that_a_policy_file_is_not_a_gateway_file() {
    let dir = std::env::temp_dir().join(format!("corsica-serve-{}-policy", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.toml");
    std::fs::write(&path, "origins = [\"https://a.example\"]\n").unwrap();
    let (exit, _, stderr) = corsica(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(exit, 2);
    assert!(stderr.contains("not a gateway configuration"), "{stderr}");
    assert!(
        stderr.contains("[policy]") && stderr.contains("upstream ="),
        "{stderr}"
    );
}

#[test]
fn origins_from_is_checked_in_policy_and_gateway_files() {
    let (code, out, err) = lint(
        "store-ok",
        "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n[policy]\norigins_from = \"redis://127.0.0.1:6379/0\"\norigin_set = \"eu\"\ncredentials = true\n",
        false,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = lint(
        "store-bad",
        "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n[policy]\norigins_from = \"mysql://h/db\"\norigin_set = \"a b\"\n",
        false,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("error[origins-from-scheme]"), "{err}");
    assert!(err.contains("corsica.toml:4:16"), "{err}");
    assert!(err.contains("error[origin-set-invalid]"), "{err}");
    let (code, out, err) = lint(
        "store-policy",
        "origins = []\norigins_from = \"postgres://corsica@db:5432/app\"\n",
        false,
    );
    assert_eq!(code, 0, "{out}{err}");
}
