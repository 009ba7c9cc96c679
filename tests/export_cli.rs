//! `corsica export` on the command line: what it refuses, and how.

use std::process::Command;

mod support;
use support::{nginx_test, run_ok};

fn export(args: &[&str], file_text: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("corsica-export-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!(
        "{}.toml",
        args.join("_").replace(['/', ' ', '-'], "")
    ));
    std::fs::write(&file, file_text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .arg("export")
        .args(args)
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BASE: &str = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n\
[policy]\norigins = [\"https://app.example.com\"]\n";

#[test]
fn report_only_and_forward_preflight_are_refused_at_their_keys() {
    let text = format!(
        "{BASE}[[routes]]\npath_prefix = \"/a\"\nmode = \"report-only\"\n\
         [[routes]]\npath_prefix = \"/b\"\nforward_preflight = true\n"
    );
    let (code, stdout, stderr) = export(&["--to", "nginx"], &text);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "nothing on stdout: {stdout}");
    assert!(stderr.contains("error[export-report-only]"), "{stderr}");
    assert!(stderr.contains(":7:8"), "the span of mode: {stderr}");
    assert!(stderr.contains("key: routes[0].mode"), "{stderr}");
    assert!(
        stderr.contains("error[export-forward-preflight]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("key: routes[1].forward_preflight"),
        "{stderr}"
    );
    assert!(stderr.contains("fix: remove forward_preflight"), "{stderr}");
}

#[test]
fn an_invalid_file_is_reported_with_its_place_and_exit_2() {
    let text = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n\
[policy]\norigins = [\"https://app.example.com/\"]\n";
    let (code, stdout, stderr) = export(&["--to", "nginx"], text);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(":4:"), "{stderr}");
}

#[test]
fn a_bare_policy_needs_listen_and_upstream() {
    let policy = "origins = [\"https://app.example.com\"]\n";
    let (code, _, stderr) = export(&["--to", "nginx"], policy);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--listen ADDR and --upstream URL"),
        "{stderr}"
    );
    let (code, stdout, stderr) = export(
        &[
            "--to",
            "nginx",
            "--listen",
            "127.0.0.1:9000",
            "--upstream",
            "http://127.0.0.1:9001",
        ],
        policy,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("listen 127.0.0.1:9000 default_server;"),
        "{stdout}"
    );
    assert!(
        stdout.contains("proxy_pass http://127.0.0.1:9001;"),
        "{stdout}"
    );
}

#[test]
fn a_fragment_says_where_it_goes_and_has_no_http_block() {
    let (code, stdout, stderr) = export(&["--to", "nginx", "--fragment"], BASE);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("# corsica CORS policy: paste inside the http { } block"));
    assert!(!stdout.lines().any(|l| l.trim() == "http {"), "{stdout}");
    assert!(!stdout.contains("events {"), "{stdout}");
}

/// The gateway file of the fragment test: every kind of route.
const ROUTES: &str = "listen = \"127.0.0.1:18790\"\nupstream = \"http://127.0.0.1:18791\"\n\
[policy]\norigins = [\"https://app.example.com\", \"https://*.example.org\", \"http://localhost:*\"]\n\
methods = [\"PUT\"]\nrequest_headers = [\"x-req\"]\ncredentials = true\nmax_age = 600\n\
[[routes]]\npath_prefix = \"/public\"\ncors = false\n\
[[routes]]\nhost = \"*.wild.test\"\npath_prefix = \"/api/\"\n[routes.policy]\norigins = [\"*\"]\nmethods = [\"*\"]\n";

/// Each target's fragment, pasted where its first comment says, into the
/// smallest configuration around it, passes the server's own check.
#[test]
fn fragments_pasted_where_they_say_pass_each_servers_check() {
    let dir = std::env::temp_dir().join(format!("corsica-export-frag-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let frag = |target: &str| {
        let (code, stdout, stderr) = export(&["--to", target, "--fragment"], ROUTES);
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let d = |name: &str| dir.join(name).to_str().unwrap().to_owned();

    nginx_test(&dir, &frag("nginx"));
    nginx_test(&dir, &frag("nginx-lua"));

    let haproxy = format!(
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n{}",
        frag("haproxy")
    );
    std::fs::write(dir.join("haproxy.cfg"), haproxy).unwrap();
    run_ok("haproxy", &["-c", "-f", &d("haproxy.cfg")], &[]);

    let text = frag("envoy");
    let json: serde_json::Value = serde_json::from_str(
        &text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("the envoy fragment is JSON after its comments");
    let envoy = serde_json::json!({
        "static_resources": {
            "listeners": [{
                "name": "existing",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 18792}},
                "filter_chains": [{"filters": [json["http_connection_manager_filter"]]}],
            }],
            "clusters": json["clusters"],
        },
        "layered_runtime": {"layers": [{"name": "r", "static_layer": {"re2.max_program_size.error_level": 100_000}}]},
    });
    std::fs::write(dir.join("envoy.yaml"), envoy.to_string()).unwrap();
    let base_id = (std::process::id() % 10_000 + 30_000).to_string();
    run_ok(
        "envoy",
        &[
            "--mode",
            "validate",
            "-c",
            &d("envoy.yaml"),
            "--base-id",
            &base_id,
        ],
        &[],
    );

    let caddy = format!(
        "{{\n\tadmin off\n\tauto_https off\n}}\nhttp://:18793 {{\n\tbind 127.0.0.1\n{}}}\n",
        frag("caddy")
    );
    std::fs::write(dir.join("Caddyfile"), caddy).unwrap();
    let (xc, xd) = (d("xdg-config"), d("xdg-data"));
    run_ok(
        "caddy",
        &[
            "validate",
            "--config",
            &d("Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        &[("XDG_CONFIG_HOME", &xc), ("XDG_DATA_HOME", &xd)],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--to nginx` says, where the user is looking, that it grants no CORS on
/// nginx before 1.23 and what to use there; `--to nginx-lua` needs no note.
#[test]
fn the_core_nginx_export_names_the_versions_it_is_for() {
    let (code, stdout, stderr) = export(&["--to", "nginx"], BASE);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("$corsica_reads_every_line"), "{stdout}");
    assert!(stderr.contains("nginx 1.23 or later"), "{stderr}");
    assert!(stderr.contains("--to nginx-lua"), "{stderr}");
    let (code, stdout, stderr) = export(&["--to", "nginx-lua"], BASE);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("set_by_lua_block"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}
