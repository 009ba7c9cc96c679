//! The export conformance suite: one gateway file, exported to each target,
//! run on the real server; the same requests go to `corsica serve` and to
//! the exported server, and every response must carry the same status, the
//! same CORS headers, the same `Vary` tokens and come from the same
//! upstream. A target that cannot be started fails the suite with the
//! reason; nothing is skipped.
//!
//! The upstreams send their own `Access-Control-Allow-Origin: *` and
//! `Access-Control-Allow-Credentials: false`, which a correct export hides.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod export_support;
use export_support::{free_port, req, run_export, scratch, send, serve_corsica, Req, Running};

/// An upstream that answers every request with 200, names itself in
/// `x-upstream`, and sends bogus CORS headers; `delay` holds each answer.
fn upstream(name: &'static str, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an upstream");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                std::thread::sleep(delay);
                let body = "ok";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nx-upstream: {name}\r\n\
                     Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: false\r\n\
                     Access-Control-Allow-Methods: *\r\nAccess-Control-Expose-Headers: x-bogus\r\n\
                     Vary: Accept-Encoding\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    addr
}

struct Upstreams {
    a: SocketAddr,
    b: SocketAddr,
    slow: SocketAddr,
    dead: u16,
}

/// The gateway file every server runs, listening on `port`.
fn gateway_file(port: u16, up: &Upstreams) -> String {
    format!(
        r#"listen = "127.0.0.1:{port}"
upstream = "http://{a}"

[timeouts]
connect = "2s"
upstream_response = "1s"

[policy]
origins = ["https://app.example.com", "https://*.example.org", "http://localhost:*"]
methods = ["PUT", "DELETE"]
request_headers = ["content-type", "x-req"]
expose_headers = ["x-total"]
credentials = true
max_age = 600

[[routes]]
path_prefix = "/public"
cors = false

[[routes]]
path_prefix = "/open"
upstream = "http://{b}"
[routes.policy]
origins = ["*"]
methods = ["*"]
request_headers = ["*"]
expose_headers = ["x-total"]

[[routes]]
host = "api.test"
path_prefix = "/"
upstream = "http://{b}"
[routes.policy]
origins = ["https://admin.example.com"]

[[routes]]
host = "*.wild.test"
path_prefix = "/api"
upstream = "http://{b}"
[routes.policy]
origins = ["https://app.example.com"]
methods = ["PATCH"]

[[routes]]
path_prefix = "/down"
upstream = "http://127.0.0.1:{dead}"

[[routes]]
path_prefix = "/slow"
upstream = "http://{slow}"
"#,
        a = up.a,
        b = up.b,
        slow = up.slow,
        dead = up.dead,
    )
}

fn on(host: &'static str, mut r: Req) -> Req {
    r.host = host;
    r
}

fn preflight(path: &'static str, origin: &'static str, method: &'static str) -> Req {
    req(
        "OPTIONS",
        path,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
        ],
    )
}

fn with(mut r: Req, name: &'static str, value: &'static str) -> Req {
    r.headers.push((name, value));
    r
}

/// Every request of the suite.
fn cases() -> Vec<Req> {
    let mut all = Vec::new();
    // Origins, allowed and look-alikes, on preflights and actual requests.
    for origin in [
        "https://app.example.com",
        "https://evilapp.example.com",
        "https://app.example.com.evil.net",
        "https://APP.EXAMPLE.COM",
        "http://app.example.com",
        "https://app.example.com:8443",
        "null",
        "https://a.example.org",
        "https://a.b.example.org",
        "https://example.org",
        "https://evilexample.org",
        "https://a.example.org.evil.net",
        "https://A.example.org",
        "http://localhost:3000",
        "http://localhost",
        "http://localhost:80",
        "http://localhost:65536",
        "https://localhost:3000",
        "http://localhostx:3000",
    ] {
        all.push(preflight("/items", origin, "PUT"));
        all.push(req("GET", "/items", &[("Origin", origin)]));
    }
    let app = "https://app.example.com";
    // Methods, in mixed case.
    for method in ["GET", "DELETE", "put", "PATCH", "Delete", "CONNECT"] {
        all.push(preflight("/items", app, method));
    }
    // Request headers, in mixed case.
    for headers in [
        "content-type,x-req",
        "Content-Type, X-Req",
        "x-req",
        "x-evil",
        "content-type,x-evil",
        "",
        "content-type x-req",
    ] {
        all.push(with(
            preflight("/items", app, "PUT"),
            "Access-Control-Request-Headers",
            headers,
        ));
    }
    // Not CORS; OPTIONS without a requested method.
    all.push(req("GET", "/items", &[]));
    all.push(req("OPTIONS", "/items", &[("Origin", app)]));
    all.push(req("POST", "/items", &[("Origin", app)]));
    // cors = false, and a prefix at its segment boundary.
    all.push(preflight("/public/x", app, "PUT"));
    all.push(req("GET", "/public", &[("Origin", app)]));
    all.push(req("GET", "/publicx", &[("Origin", app)]));
    all.push(preflight("/publicx", app, "PUT"));
    // A `*` policy: any origin, echoed method and headers, forbidden methods.
    all.push(with(
        preflight("/open/x", "https://anyone.example", "FROB"),
        "Access-Control-Request-Headers",
        "x-anything,Authorization",
    ));
    all.push(preflight("/open", "https://anyone.example", "connect"));
    all.push(req(
        "GET",
        "/open/x",
        &[("Origin", "https://anyone.example")],
    ));
    all.push(req("GET", "/open/x", &[]));
    // Host routes: exact, with a port, in upper case; wildcard, one label or more.
    for host in ["api.test", "api.test:8080", "API.TEST", "wild.test"] {
        all.push(on(
            host,
            preflight("/items", "https://admin.example.com", "GET"),
        ));
        all.push(on(host, req("GET", "/items", &[("Origin", app)])));
    }
    // An exact host beats a longer path prefix of a route without host.
    for path in ["/public/x", "/open/x", "/down/x"] {
        all.push(on(
            "api.test",
            req("GET", path, &[("Origin", "https://admin.example.com")]),
        ));
        all.push(on(
            "api.test",
            preflight(path, "https://anyone.example", "PUT"),
        ));
    }
    for host in [
        "a.wild.test",
        "a.b.wild.test",
        "wild.test",
        "x.wild.test:99",
    ] {
        all.push(on(host, preflight("/api/x", app, "PATCH")));
        all.push(on(host, req("GET", "/apix", &[("Origin", app)])));
        all.push(on(host, req("GET", "/api", &[("Origin", app)])));
    }
    // A list of origins in one line, and a repeated Origin.
    all.push(req(
        "GET",
        "/items",
        &[("Origin", "https://evil.example, https://app.example.com")],
    ));
    all.push(preflight(
        "/items",
        "https://evil.example, https://app.example.com",
        "PUT",
    ));
    all.push(req(
        "GET",
        "/items",
        &[("Origin", "https://evil.example"), ("Origin", app)],
    ));
    all.push(req(
        "GET",
        "/items",
        &[("Origin", app), ("Origin", "https://evil.example")],
    ));
    all.push(with(
        with(
            preflight("/items", app, "PUT"),
            "Access-Control-Request-Headers",
            "x-req",
        ),
        "Access-Control-Request-Headers",
        "x-evil",
    ));
    // A header list split over two lines, read as the lines joined (and
    // echoed under `*`), and a repeated Origin, which the engine refuses
    // also under `*`.
    all.push(with(
        with(
            preflight("/items", app, "PUT"),
            "Access-Control-Request-Headers",
            "content-type",
        ),
        "Access-Control-Request-Headers",
        "x-req",
    ));
    all.push(with(
        with(
            preflight("/open", app, "PUT"),
            "Access-Control-Request-Headers",
            "x-a",
        ),
        "Access-Control-Request-Headers",
        "x-b",
    ));
    all.push(req(
        "GET",
        "/open",
        &[("Origin", app), ("Origin", "https://other.example")],
    ));
    all.push(with(preflight("/open", app, "PUT"), "Origin", app));
    all.push(with(
        preflight("/items", app, "PUT"),
        "Access-Control-Request-Headers",
        " content-type ,\tx-req",
    ));
    // Lengths at the engine's limits: a header list of 4096 bytes and of
    // 4097 (under `*`, where every name is allowed), and a `*.` origin
    // whose host is 253 bytes and 254 (DNS's limit, 253).
    let list = |len: usize| -> &'static str {
        let mut text = "x-a,".repeat(len / 4);
        text.truncate(len - 1);
        text.push('b');
        assert_eq!(text.len(), len);
        text.leak()
    };
    for len in [4096, 4097] {
        all.push(with(
            preflight("/open", app, "PUT"),
            "Access-Control-Request-Headers",
            list(len),
        ));
    }
    let origin = |host_len: usize| -> &'static str {
        let label = "a".repeat(63);
        let base = ".example.org";
        let mut host = format!("{label}.{label}.{label}.");
        host.push_str(&"b".repeat(host_len - host.len() - base.len()));
        host.push_str(base);
        assert_eq!(host.len(), host_len);
        format!("https://{host}").leak()
    };
    for host_len in [253, 254] {
        all.push(preflight("/items", origin(host_len), "PUT"));
        all.push(req("GET", "/items", &[("Origin", origin(host_len))]));
    }
    // Path forms: case, dot segments, doubled slashes.
    all.push(req("GET", "/PUBLIC", &[("Origin", app)]));
    all.push(req("GET", "/public/", &[("Origin", app)]));
    all.push(req("GET", "/public;v=1", &[("Origin", app)]));
    all.push(req("GET", "/public?x=1", &[("Origin", app)]));
    // The proxy's own errors: upstream down, upstream too slow.
    all.push(req("GET", "/down/x", &[("Origin", app)]));
    all.push(req("GET", "/down/x", &[("Origin", "https://evil.example")]));
    all.push(preflight("/down/x", app, "PUT"));
    all.push(req("GET", "/slow", &[("Origin", app)]));
    all
}

/// Runs every case against `corsica serve` and against `target`, returning
/// every difference, each with the request and both responses.
fn differences(target: &Running, target_port: u16, corsica_port: u16) -> Vec<String> {
    let mut diffs = Vec::new();
    let all = cases();
    for r in &all {
        match (send(corsica_port, r), send(target_port, r)) {
            (Ok((a, head_a)), Ok((b, head_b))) => {
                if a != b {
                    diffs.push(format!(
                        "{r:?}\n  corsica serve: {a:?}\n  {}: {b:?}\n  --- corsica serve head:\n{head_a}\n  --- {} head:\n{head_b}\n",
                        target.name, target.name
                    ));
                }
            }
            (a, b) => diffs.push(format!(
                "{r:?}\n  corsica serve: {a:?}\n  {}: {b:?}",
                target.name
            )),
        }
    }
    eprintln!(
        "{}: {} requests, {} identical, {} different",
        target.name,
        all.len(),
        all.len() - diffs.len(),
        diffs.len()
    );
    diffs
}

fn upstreams() -> Upstreams {
    Upstreams {
        a: upstream("a", Duration::ZERO),
        b: upstream("b", Duration::ZERO),
        slow: upstream("slow", Duration::from_secs(3)),
        dead: free_port(),
    }
}

fn start_corsica(dir: &Path, up: &Upstreams) -> (Running, u16) {
    let port = free_port();
    (serve_corsica(dir, &gateway_file(port, up), port), port)
}

/// Runs the suite's gateway file, exported for `target`, on the real server.
fn start_export(target: &str, dir: &Path, up: &Upstreams) -> (Running, u16) {
    let port = free_port();
    (run_export(target, dir, &gateway_file(port, up), port), port)
}

/// The installed nginx's (major, minor) version, from `nginx -v`.
fn nginx_version() -> (u32, u32) {
    let output = Command::new("nginx")
        .arg("-v")
        .output()
        .expect("run nginx -v; scripts/test.sh installs nginx");
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    let version = text
        .split("nginx/")
        .nth(1)
        .unwrap_or_else(|| panic!("no version in `nginx -v`: {text}"));
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        _ => panic!("cannot read the version in `nginx -v`: {text}"),
    }
}

#[test]
fn nginx_lua_answers_every_request_as_corsica_serve_does() {
    let dir = scratch("nginx-lua");
    let up = upstreams();
    let (_corsica, corsica_port) = start_corsica(&dir, &up);
    let (nginx, port) = start_export("nginx-lua", &dir, &up);
    let diffs = differences(&nginx, port, corsica_port);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The core-only export on nginx 1.23 and later answers as `corsica serve`
/// does, but refuses an origin under `*` holding ", ".
/// On older nginx, which reads only the first line of a repeated header,
/// it must fail closed: every request is answered as `corsica serve`
/// answers the same request without its CORS headers (no grant, no
/// preflight answer), and every response of a CORS route says why. This
/// machine's nginx decides which branch runs; Debian 12 has 1.22.
#[test]
fn nginx_answers_every_request_as_corsica_serve_does_or_grants_nothing_before_1_23() {
    let dir = scratch("nginx");
    let up = upstreams();
    let (_corsica, corsica_port) = start_corsica(&dir, &up);
    let (nginx, port) = start_export("nginx", &dir, &up);
    let diffs = if nginx_version() >= (1, 23) {
        // nginx 1.23 joins repeated lines with ", ", so the export refuses
        // an origin under `*` that holds ", ": there the answer must be a
        // refusal instead of corsica's.
        let one_line_with_comma_space = |r: &Req, name: &str| {
            let lines: Vec<&str> = r
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect();
            lines.len() == 1 && lines[0].contains(", ")
        };
        let refused_more =
            |r: &Req| r.path.starts_with("/open") && one_line_with_comma_space(r, "origin");
        let mut diffs = Vec::new();
        for r in cases() {
            let (Ok((ours, _)), Ok((theirs, head))) = (send(corsica_port, &r), send(port, &r))
            else {
                diffs.push(format!("{r:?}: a server did not answer"));
                continue;
            };
            let blocked = theirs
                .verdicts
                .as_ref()
                .is_some_and(|v| v.iter().all(|v| v.starts_with("blocked")));
            if refused_more(&r) {
                if !blocked {
                    diffs.push(format!("{r:?}: nginx must refuse it:\n{head}"));
                }
            } else if ours != theirs {
                diffs.push(format!(
                    "{r:?}\n  corsica serve: {ours:?}\n  nginx: {theirs:?}\n{head}"
                ));
            }
        }
        diffs
    } else {
        let mut diffs = Vec::new();
        let all = cases();
        for r in &all {
            let mut plain = r.clone();
            plain.headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case("origin")
                    && !n.to_ascii_lowercase().starts_with("access-control-")
            });
            let (Ok((mut ours, _)), Ok((mut theirs, head))) =
                (send(corsica_port, &plain), send(port, r))
            else {
                diffs.push(format!("{r:?}: a server did not answer"));
                continue;
            };
            let warning = theirs.warning.take();
            let cors_route = !r.path.to_ascii_lowercase().starts_with("/public");
            if cors_route && !warning.as_deref().is_some_and(|w| w.contains("nginx-lua")) {
                diffs.push(format!(
                    "{r:?}: no corsica-warning naming nginx-lua:\n{head}"
                ));
            }
            // What the browser would say is compared through the headers.
            ours.verdicts = None;
            theirs.verdicts = None;
            if ours != theirs {
                diffs.push(format!(
                    "{r:?}\n  corsica serve, without CORS headers: {ours:?}\n  nginx: {theirs:?}\n{head}"
                ));
            }
        }
        eprintln!(
            "nginx before 1.23: {} requests, {} failing closed",
            all.len(),
            all.len() - diffs.len()
        );
        diffs
    };
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn haproxy_answers_every_request_as_corsica_serve_does() {
    let dir = scratch("haproxy");
    let up = upstreams();
    let (_corsica, corsica_port) = start_corsica(&dir, &up);
    let (haproxy, port) = start_export("haproxy", &dir, &up);
    let diffs = differences(&haproxy, port, corsica_port);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    drop(haproxy);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn envoy_answers_every_request_as_corsica_serve_does() {
    let dir = scratch("envoy");
    let up = upstreams();
    let (_corsica, corsica_port) = start_corsica(&dir, &up);
    let (envoy, port) = start_export("envoy", &dir, &up);
    let diffs = differences(&envoy, port, corsica_port);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    drop(envoy);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn caddy_answers_every_request_as_corsica_serve_does() {
    let dir = scratch("caddy");
    let up = upstreams();
    let (_corsica, corsica_port) = start_corsica(&dir, &up);
    let (caddy, port) = start_export("caddy", &dir, &up);
    let diffs = differences(&caddy, port, corsica_port);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    drop(caddy);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The suite compares something: the servers' answers differ between
/// allowed and refused requests, so two servers that agree are not merely
/// both silent.
#[test]
fn the_cases_tell_allowed_from_refused_on_corsica_serve() {
    let dir = scratch("self");
    let up = upstreams();
    let (_corsica, port) = start_corsica(&dir, &up);
    let allowed = send(port, &preflight("/items", "https://app.example.com", "PUT"))
        .unwrap()
        .0;
    let refused = send(
        port,
        &preflight("/items", "https://evilapp.example.com", "PUT"),
    )
    .unwrap()
    .0;
    assert_eq!(allowed.status, 204);
    assert_eq!(refused.status, 403);
    let readable = Some(["readable".to_owned(), "readable".to_owned()]);
    assert_eq!(allowed.verdicts, readable);
    assert_ne!(refused.verdicts, readable);
    let passthrough = send(
        port,
        &req("GET", "/public", &[("Origin", "https://x.example")]),
    )
    .unwrap()
    .0;
    assert_eq!(
        passthrough.cors.get("access-control-allow-origin"),
        Some(&vec!["*".to_owned()])
    );
    let down = send(
        port,
        &req("GET", "/down", &[("Origin", "https://app.example.com")]),
    )
    .unwrap()
    .0;
    assert_eq!(down.status, 502);
    let _ = std::fs::remove_dir_all(&dir);
}
