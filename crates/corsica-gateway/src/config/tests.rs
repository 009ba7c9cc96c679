//! The gateway file's loading and validation, end to end through
//! [`load_str`]: every diagnostic, its key, its span and its fix.

use std::time::Duration;

use super::*;
use crate::router::route_index;

const GOOD: &str = r#"
listen = "127.0.0.1:8080"
upstream = "http://127.0.0.1:3000"
admin_listen = "127.0.0.1:9090"

[policy]
origins = ["https://app.example.com"]
credentials = true

[[routes]]
path_prefix = "/public"
[routes.policy]
origins = ["*"]

[[routes]]
path_prefix = "/internal"
cors = false

[[routes]]
path_prefix = "/legacy"
mode = "report-only"
forward_preflight = true
"#;

#[test]
fn a_good_file_loads_with_routes_most_specific_first() {
    let cfg = load_str(GOOD).unwrap();
    assert_eq!(cfg.listen.to_string(), "127.0.0.1:8080");
    let public = cfg.route(None, "/public/items").unwrap();
    assert!(matches!(&public.cors, RouteCors::Policy { policy, .. } if policy.allows_any_origin()));
    assert!(matches!(
        cfg.route(None, "/internal").unwrap().cors,
        RouteCors::Off
    ));
    assert!(matches!(
        cfg.route(None, "/legacy/x").unwrap().cors,
        RouteCors::Policy {
            mode: Mode::ReportOnly,
            forward_preflight: true,
            ..
        }
    ));
    let default = cfg.route(None, "/publicity").unwrap();
    assert_eq!(default.path_prefix, "/");
}

#[test]
fn every_problem_is_reported_with_a_span() {
    let src = r#"
listen = "localhost:8080"
upstream = "ftp://x"

[policy]
origins = ["https://a.example/"]
credentials = true
methods = ["TRACE"]

[[routes]]
path_prefix = "api"
cors = false
[routes.policy]
origins = ["*"]
"#;
    let err = load_str(src).unwrap_err();
    let codes: Vec<_> = err.diagnostics.iter().map(|d| d.code).collect();
    for code in [
        "bad-address",
        "bad-upstream",
        "origin-trailing-slash",
        "method-forbidden",
        "route-path-prefix",
        "route-policy-and-cors-off",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(
        err.diagnostics.iter().all(|d| d.span.is_some()),
        "{:?}",
        err.diagnostics
    );
    let trailing = err
        .diagnostics
        .iter()
        .find(|d| d.code == "origin-trailing-slash")
        .unwrap();
    assert_eq!(trailing.key, "policy.origins[0]");
}

#[test]
fn unknown_keys_are_errors() {
    let err =
        load_str("listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\nupstrem = 1\n").unwrap_err();
    assert_eq!(err.diagnostics[0].code, "unknown-key");
    assert!(
        err.diagnostics[0].fix.contains("`upstream`"),
        "{}",
        err.diagnostics[0].fix
    );
    let err =
        load_str("listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigin = [\"*\"]\n")
            .unwrap_err();
    let unknown = err
        .diagnostics
        .iter()
        .find(|d| d.code == "unknown-key")
        .unwrap();
    assert!(unknown.fix.contains("`origins`"), "{}", unknown.fix);
    assert_eq!(unknown.key, "policy.origin");
}

#[test]
fn every_unknown_key_and_every_other_problem_come_in_one_run() {
    let source = "listen = \"127.0.0.1:1\"\nupstream = \"ftp://a\"\norigins = [\"https://a.example\"]\n\
        lisen = 1\n[policy]\norigins = [\"*\"]\ncredentials = true\nmax_agee = 5\n\
        [[routes]]\npath_prefix = \"/a\"\nmethods = [\"PUT\"]\n[routes.policy]\norigins = [\"https://b.example\"]\nfoo = 1\n\
        [timeouts]\nconect = \"1s\"\n";
    let err = load_str(source).unwrap_err();
    let unknown: Vec<&str> = err
        .diagnostics
        .iter()
        .filter(|d| d.code == "unknown-key")
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(
        unknown,
        [
            "origins",
            "lisen",
            "policy.max_agee",
            "routes[0].methods",
            "routes[0].policy.foo",
            "timeouts.conect"
        ]
    );
    let fix_of = |key: &str| &err.diagnostics.iter().find(|d| d.key == key).unwrap().fix;
    assert!(
        fix_of("origins").contains("move it under [policy]"),
        "{}",
        fix_of("origins")
    );
    assert!(fix_of("lisen").contains("`listen`"), "{}", fix_of("lisen"));
    assert!(fix_of("routes[0].methods").contains("[routes.policy]"));
    assert!(fix_of("timeouts.conect").contains("`connect`"));
    // The rest of the file is still checked: the upstream's scheme,
    // `*` with credentials.
    assert!(
        err.diagnostics.iter().any(|d| d.key == "upstream"),
        "{err:?}"
    );
    assert!(
        err.diagnostics
            .iter()
            .any(|d| d.key.starts_with("policy.") && d.code != "unknown-key"),
        "{err:?}"
    );
    for d in &err.diagnostics {
        assert!(d.span.is_some(), "{d:?} has no location");
    }
}

#[test]
fn a_value_of_the_wrong_type_names_its_key_and_an_example() {
    let err = load_str("listen = 8080\nupstream = \"http://a\"\n").unwrap_err();
    let d = &err.diagnostics[0];
    assert_eq!((d.code, d.key.as_str()), ("wrong-type", "listen"));
    assert_eq!(d.fix, "write listen = \"127.0.0.1:8080\"");
    let err = load_str(
        "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[[routes]]\npath_prefix = \"/a\"\ncors = \"no\"\n",
    )
    .unwrap_err();
    let d = err
        .diagnostics
        .iter()
        .find(|d| d.code == "wrong-type")
        .unwrap();
    assert_eq!(d.key, "routes[0].cors");
    assert_eq!(d.fix, "write cors = false");
}

#[test]
fn a_path_prefix_must_be_in_normal_form() {
    let file = |prefix: &str| {
        format!(
            "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
             [[routes]]\npath_prefix = \"{prefix}\"\ncors = false\n"
        )
    };
    for (prefix, fix) in [
        ("/%7Ebob", "write \"/~bob\""),
        ("/a//b", "write \"/a/b\""),
        ("/a/./b", "write \"/a/b\""),
        ("/caf%c3%a9", "write \"/caf%C3%A9\""),
    ] {
        let err = load_str(&file(prefix)).unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!(
            (d.code, d.fix.as_str()),
            ("route-path-prefix", fix),
            "{prefix}"
        );
    }
    for bad in ["/a%zz", "/a\\\\b", "/x/..;/y"] {
        let err = load_str(&file(bad)).unwrap_err();
        assert_eq!(err.diagnostics[0].code, "route-path-prefix", "{bad}");
    }
    assert!(load_str(&file("/api/v1")).is_ok());
}

#[test]
fn tls_files_are_checked_where_they_are_named() {
    let source = "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
        [tls]\ncert = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n";
    let err = load_str(source).unwrap_err();
    let tls = err
        .diagnostics
        .iter()
        .find(|d| d.code == "tls-files")
        .unwrap();
    assert_eq!(tls.key, "tls.cert");
    assert!(
        tls.reason.contains("/nonexistent/cert.pem"),
        "{}",
        tls.reason
    );
    let span = tls.span.clone().unwrap();
    assert_eq!(&source[span], "\"/nonexistent/cert.pem\"");
}

#[test]
fn the_admin_listener_needs_its_own_address() {
    let err = load_str(
        "listen = \"127.0.0.1:8080\"\nadmin_listen = \"127.0.0.1:8080\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n",
    )
    .unwrap_err();
    assert_eq!(err.diagnostics[0].code, "admin-listen-clash");
    assert!(err.diagnostics[0].fix.contains("127.0.0.1:9080"));
    let err = load_str(
        "listen = \"[::1]:65000\"\nadmin_listen = \"[::1]:65000\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n",
    )
    .unwrap_err();
    assert!(
        err.diagnostics[0]
            .fix
            .contains("admin_listen = \"[::1]:64000\""),
        "{}",
        err.diagnostics[0].fix
    );
}

#[test]
fn path_prefixes_no_request_path_holds_are_errors_with_the_sendable_form() {
    let file = |prefix: &str| {
        format!(
            "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
             [[routes]]\npath_prefix = \"{prefix}\"\ncors = false\n"
        )
    };
    for (bad, fixed) in [
        ("/café", "\"/caf%C3%A9\""),
        ("/a b", "\"/a%20b\""),
        ("/q?x=1", "\"/q\""),
        ("/a#f", "\"/a\""),
    ] {
        let err = load_str(&file(bad)).unwrap_err();
        assert_eq!(err.diagnostics[0].code, "route-path-prefix", "{bad}");
        assert!(
            err.diagnostics[0].fix.contains(fixed),
            "{bad}: {}",
            err.diagnostics[0].fix
        );
    }
    // The suggested forms are themselves accepted, and match what a
    // browser sends for the original.
    let config = load_str(&file("/caf%C3%A9")).unwrap();
    assert!(config
        .route(None, "/caf%C3%A9/menu")
        .is_some_and(|r| r.path_prefix == "/caf%C3%A9"));
}

#[test]
fn values_of_the_wrong_type_and_a_missing_path_prefix_hide_no_other_problem() {
    let src = r#"
listen = 8080
upstream = "ftp://a"

[timeouts]
idle = -1
connect = "5 parsecs"

[policy]
origins = ["https://a.example/"]
credentials = "yes"

[[routes]]
cors = false

[[routes]]
path_prefix = "api"
cors = false
"#;
    let err = load_str(src).unwrap_err();
    let found: Vec<_> = err
        .diagnostics
        .iter()
        .map(|d| (d.code, d.key.as_str()))
        .collect();
    for expected in [
        ("wrong-type", "listen"),
        ("bad-upstream", "upstream"),
        ("wrong-type", "timeouts.idle"),
        ("bad-duration", "timeouts.connect"),
        ("origin-trailing-slash", "policy.origins[0]"),
        ("wrong-type", "policy.credentials"),
        ("route-path-prefix", "routes[0].path_prefix"),
        ("route-path-prefix", "routes[1].path_prefix"),
    ] {
        assert!(
            found.contains(&expected),
            "{expected:?} missing from {found:?}"
        );
    }
    // The removed `listen` is not reported a second time as missing.
    assert_eq!(
        found.iter().filter(|(_, k)| *k == "listen").count(),
        1,
        "{found:?}"
    );
    assert!(
        err.diagnostics.iter().all(|d| d.span.is_some()),
        "{:?}",
        err.diagnostics
    );
}

#[test]
fn an_upstream_url_with_credentials_is_an_error() {
    let err = load_str(
        "listen = \"127.0.0.1:1\"\nupstream = \"http://user:pw@127.0.0.1:3000/base\"\n[policy]\norigins = [\"https://a.example\"]\n",
    )
    .unwrap_err();
    assert_eq!(err.diagnostics[0].code, "bad-upstream");
    assert!(
        err.diagnostics[0]
            .fix
            .contains("upstream = \"http://127.0.0.1:3000/base\""),
        "{}",
        err.diagnostics[0].fix
    );
}

#[test]
fn route_hosts_are_names_or_subdomain_patterns() {
    let file = |host: &str| {
        format!(
            "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
             [[routes]]\npath_prefix = \"/\"\nhost = \"{host}\"\n[routes.policy]\norigins = [\"https://b.example\"]\n"
        )
    };
    for bad in [
        "Example.COM:443",
        "a*.example.com",
        "*",
        "exa mple.com",
        "https://example.com",
        "",
    ] {
        let err = load_str(&file(bad)).unwrap_err();
        assert_eq!(err.diagnostics[0].code, "route-host", "{bad}");
    }
    for (bad, fixed) in [
        ("example.com:443", "host = \"example.com\""),
        ("api.example.com.", "host = \"api.example.com\""),
        ("*.example.com.", "host = \"*.example.com\""),
        ("::1", "host = \"[::1]\""),
    ] {
        let err = load_str(&file(bad)).unwrap_err();
        assert_eq!(err.diagnostics[0].code, "route-host", "{bad}");
        assert!(
            err.diagnostics[0].fix.contains(fixed),
            "{bad}: {}",
            err.diagnostics[0].fix
        );
    }
    assert!(load_str(&file("[::1]")).is_ok());
    let config = load_str(&file("*.Example.com")).unwrap();
    let host_of = |host: Option<&str>| config.route(host, "/x").and_then(|r| r.host.clone());
    assert_eq!(
        host_of(Some("api.example.com")).as_deref(),
        Some("*.example.com")
    );
    assert_eq!(
        host_of(Some("a.b.EXAMPLE.com")).as_deref(),
        Some("*.example.com")
    );
    assert_eq!(host_of(Some("example.com")), None);
    assert_eq!(host_of(Some("badexample.com")), None);
    assert_eq!(host_of(None), None);
}

#[test]
fn an_exact_host_beats_a_pattern_which_beats_none() {
    let config = load_str(
        "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
         [[routes]]\npath_prefix = \"/\"\nhost = \"*.example.com\"\n[routes.policy]\norigins = [\"https://p.example\"]\n\
         [[routes]]\npath_prefix = \"/\"\nhost = \"*.eu.example.com\"\n[routes.policy]\norigins = [\"https://q.example\"]\n\
         [[routes]]\npath_prefix = \"/\"\nhost = \"api.eu.example.com\"\n[routes.policy]\norigins = [\"https://r.example\"]\n",
    )
    .unwrap();
    let host_of = |host: &str| config.route(Some(host), "/x").and_then(|r| r.host.clone());
    assert_eq!(
        host_of("api.eu.example.com").as_deref(),
        Some("api.eu.example.com")
    );
    assert_eq!(
        host_of("www.eu.example.com").as_deref(),
        Some("*.eu.example.com")
    );
    assert_eq!(host_of("www.example.com").as_deref(), Some("*.example.com"));
    assert_eq!(host_of("other.test"), None);
}

#[test]
fn a_missing_default_policy_is_an_error_unless_a_route_catches_all() {
    let err = load_str("listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n").unwrap_err();
    assert_eq!(err.diagnostics[0].code, "policy-missing");
    let ok = load_str("listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[[routes]]\npath_prefix = \"/\"\ncors = false\n");
    assert!(ok.is_ok());
}

#[test]
fn route_index_points_into_the_sorted_routes() {
    let cfg = load_str(GOOD).unwrap();
    let i = route_index(&cfg.routes, None, "/legacy/x").unwrap();
    assert_eq!(cfg.routes[i].path_prefix, "/legacy");
    let default = route_index(&cfg.routes, Some("any.example"), "/").unwrap();
    assert_eq!(cfg.routes[default].path_prefix, "/");
    assert_eq!(route_index(&cfg.routes[..1], None, "/elsewhere"), None);
}

#[test]
fn upstream_http2_is_for_http_upstreams_and_follows_its_upstream() {
    let base = "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\nupstream_http2 = true\n[policy]\norigins = [\"https://app.example\"]\n";
    let ok = load_str(&format!(
        "{base}[[routes]]\npath_prefix = \"/own\"\nupstream = \"http://b\"\n[[routes]]\npath_prefix = \"/same\"\n"
    ))
    .unwrap();
    let http2 = |prefix: &str| {
        ok.routes
            .iter()
            .find(|r| r.path_prefix == prefix)
            .unwrap()
            .upstream_http2
    };
    assert!(http2("/"), "the default route uses the top-level setting");
    assert!(
        http2("/same"),
        "a route on the default upstream inherits it"
    );
    assert!(!http2("/own"), "a route with its own upstream does not");
    let err = load_str(
        "listen = \"127.0.0.1:1\"\nupstream = \"https://a\"\nupstream_http2 = true\n[policy]\norigins = [\"https://app.example\"]\n",
    )
    .unwrap_err();
    assert_eq!(err.diagnostics[0].code, "upstream-http2-over-https");
    assert!(err.diagnostics[0].reason.contains("ALPN"));
    assert!(err.diagnostics[0].fix.contains("remove upstream_http2"));
    assert!(err.diagnostics[0].span.is_some());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
    assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("5"), None);
    assert_eq!(parse_duration("s"), None);
}

#[test]
fn gateway_files_are_recognised() {
    assert!(is_gateway_file(GOOD));
    assert!(!is_gateway_file("origins = [\"*\"]"));
}
