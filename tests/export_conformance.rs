//! The export conformance suite: one gateway file, exported to each target,
//! run on the real server; the same requests go to `corsica serve` and to
//! the exported server, and every response must carry the same status, the
//! same CORS headers, the same `Vary` tokens and come from the same
//! upstream. A target that cannot be started fails the suite with the
//! reason; nothing is skipped.
//!
//! The upstreams send their own `Access-Control-Allow-Origin: *` and
//! `Access-Control-Allow-Credentials: false`, which a correct export hides.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A port nobody listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// One request of the suite.
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: &'static str,
    host: &'static str,
    headers: Vec<(&'static str, &'static str)>,
}

fn req(method: &'static str, path: &'static str, headers: &[(&'static str, &'static str)]) -> Req {
    Req {
        method,
        path,
        host: "localhost",
        headers: headers.to_vec(),
    }
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

/// The CORS response headers that hold lists, which a browser reads with
/// their lines joined.
const LIST_HEADERS: [&str; 3] = [
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-expose-headers",
];

/// What is compared of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    status: u16,
    cors: BTreeMap<String, Vec<String>>,
    vary: BTreeSet<String>,
    upstream: Option<String>,
    /// The browser's CORS check (corsica's simulator, Chromium's order and
    /// errors) with credentials omitted and included; `None` without Origin.
    verdicts: Option<[String; 2]>,
    /// The `corsica-warning` header of nginx's core export on nginx before
    /// 1.23; no other server sends one.
    warning: Option<String>,
}

/// What a browser's CORS check says of a response's headers for `origin`.
fn verdicts(all: &[(String, String)], origin: Option<&str>) -> Option<[String; 2]> {
    use corsica::browser::{cors_check, Credentials, ResponseHeaders};
    let origin = origin?;
    let headers = ResponseHeaders::from_text(all);
    let judge = |mode| match cors_check(&headers, origin, mode) {
        Ok(()) => "readable".to_owned(),
        Err(failure) => format!("blocked: {:?}", failure.error),
    };
    Some([judge(Credentials::Omit), judge(Credentials::Include)])
}

fn send(port: u16, r: &Req) -> Result<(Seen, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut text = format!("{} {} HTTP/1.1\r\nHost: {}\r\n", r.method, r.path, r.host);
    for (n, v) in &r.headers {
        text.push_str(&format!("{n}: {v}\r\n"));
    }
    text.push_str("Connection: close\r\n\r\n");
    stream
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let head = raw.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {raw:?}"))?;
    let mut seen = Seen {
        status,
        cors: BTreeMap::new(),
        vary: BTreeSet::new(),
        upstream: None,
        verdicts: None,
        warning: None,
    };
    let mut all = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        all.push((name.clone(), value.clone()));
        if LIST_HEADERS.contains(&name.as_str()) {
            // Lists, as a browser reads them: every line's items, in order
            // (one server echoes a split request list line by line, another
            // joined).
            let items = value
                .split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty());
            seen.cors.entry(name).or_default().extend(items);
        } else if name.starts_with("access-control-") {
            seen.cors.entry(name).or_default().push(value);
        } else if name == "vary" {
            // Token sets: where the upstream already varies on a token, one
            // server appends a second line, another merges.
            seen.vary.extend(
                value
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty()),
            );
        } else if name == "x-upstream" {
            seen.upstream = Some(value);
        } else if name == "corsica-warning" {
            seen.warning = Some(value);
        }
    }
    let origin = r
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("origin"))
        .map(|(_, v)| *v);
    seen.verdicts = verdicts(&all, origin);
    Ok((seen, head))
}

/// A server under test, stopped by its PID when dropped.
struct Running {
    name: String,
    child: Child,
    stderr: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: nginx's master stops its workers on TERM;
        // killed, it would leave them running.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(name: &str, dir: &Path, program: &str, args: &[&str], port: u16) -> Running {
    start_with(name, dir, program, args, &[], port)
}

fn start_with(
    name: &str,
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, PathBuf)],
    port: u16,
) -> Running {
    let stderr = dir.join(format!("{name}.stderr"));
    let child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{name}: cannot start `{program}`: {e}; scripts/test.sh installs it (nginx: apt-get install nginx)")
        });
    let mut running = Running {
        name: name.to_owned(),
        child,
        stderr,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = running.child.try_wait() {
            panic!(
                "{name} exited with {status} before listening:\n{}",
                std::fs::read_to_string(&running.stderr).unwrap_or_default()
            );
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return running;
        }
        if Instant::now() > deadline {
            panic!(
                "{name} did not listen on 127.0.0.1:{port} within 15 s:\n{}",
                std::fs::read_to_string(&running.stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "corsica-export-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exports `file` for `target` with the real binary; panics with its stderr
/// when it refuses.
fn export(target: &str, file: &Path, out: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .args(["export", "--to", target])
        .arg(file)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "export to {target} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    let file = dir.join("corsica.toml");
    std::fs::write(&file, gateway_file(port, up)).unwrap();
    let running = start(
        "corsica serve",
        dir,
        env!("CARGO_BIN_EXE_corsica"),
        &[
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--workers",
            "1",
        ],
        port,
    );
    (running, port)
}

/// Starts nginx on the configuration `corsica export --to {target}` makes
/// of the suite's gateway file.
fn start_nginx(dir: &Path, up: &Upstreams, target: &str) -> (Running, u16) {
    let port = free_port();
    let file = dir.join("nginx-gateway.toml");
    std::fs::write(&file, gateway_file(port, up)).unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    export(target, &file, &dir.join("nginx.conf"));
    let nginx = start(
        target,
        dir,
        "nginx",
        &[
            "-p",
            dir.to_str().unwrap(),
            "-c",
            "nginx.conf",
            "-g",
            "daemon off;",
        ],
        port,
    );
    (nginx, port)
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
    let (nginx, port) = start_nginx(&dir, &up, "nginx-lua");
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
    let (nginx, port) = start_nginx(&dir, &up, "nginx");
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
    let port = free_port();
    let file = dir.join("haproxy-gateway.toml");
    std::fs::write(&file, gateway_file(port, &up)).unwrap();
    export("haproxy", &file, &dir.join("haproxy.cfg"));
    let haproxy = start(
        "haproxy",
        &dir,
        "haproxy",
        &["-db", "-f", "haproxy.cfg"],
        port,
    );
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
    let port = free_port();
    let file = dir.join("envoy-gateway.toml");
    std::fs::write(&file, gateway_file(port, &up)).unwrap();
    export("envoy", &file, &dir.join("envoy.yaml"));
    // A distinct hot-restart id per run: other Envoys may run beside it.
    let base_id = (std::process::id() % 10_000 + 20_000).to_string();
    let envoy = start(
        "envoy",
        &dir,
        "envoy",
        &["-c", "envoy.yaml", "--base-id", &base_id, "-l", "warning"],
        port,
    );
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
    let port = free_port();
    let file = dir.join("caddy-gateway.toml");
    std::fs::write(&file, gateway_file(port, &up)).unwrap();
    export("caddy", &file, &dir.join("Caddyfile"));
    // Even with `admin off`, Caddy saves its config under XDG_CONFIG_HOME.
    let env = [
        ("XDG_CONFIG_HOME", dir.join("xdg-config")),
        ("XDG_DATA_HOME", dir.join("xdg-data")),
    ];
    let caddy = start_with(
        "caddy",
        &dir,
        "caddy",
        &["run", "--config", "Caddyfile", "--adapter", "caddyfile"],
        &env,
        port,
    );
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

/// A self-signed certificate for `san` (a DNS name or an IP address), its
/// key, and its PEM text. Each has its own subject: OpenSSL and BoringSSL
/// look a trust anchor up by subject, so two anchors with one subject in a
/// CA file would hide each other.
fn certificate(san: &str, subject: &str) -> ((rcgen::Certificate, rcgen::KeyPair), String) {
    let mut params = rcgen::CertificateParams::new(vec![san.to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    ((cert, key), pem)
}

/// An HTTPS upstream with `cert` that answers as [`upstream`] does.
fn tls_upstream(
    name: &'static str,
    (cert, key): &(rcgen::Certificate, rcgen::KeyPair),
) -> SocketAddr {
    use std::sync::Arc;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a TLS upstream");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nx-upstream: {name}\r\nAccess-Control-Allow-Origin: *\r\n\
                     Content-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = tls.write_all(reply.as_bytes());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.conn.complete_io(&mut tls.sock);
            });
        }
    });
    addr
}

/// `https://` upstreams are verified as `corsica serve` verifies them: a
/// certificate from `upstream_ca` that names the URL's host is accepted, an
/// untrusted one and one for another name are refused (502, with the
/// policy's CORS headers). Every target must answer as `corsica serve`.
#[test]
fn https_upstreams_are_verified_on_every_target_as_corsica_serve_verifies_them() {
    let dir = scratch("https");
    let (named, named_pem) = certificate("localhost", "corsica test named");
    let (numeric, numeric_pem) = certificate("127.0.0.1", "corsica test numeric");
    let (stranger, _) = certificate("localhost", "corsica test stranger");
    let ca = dir.join("upstream-ca.pem");
    std::fs::write(&ca, format!("{named_pem}{numeric_pem}")).unwrap();
    let named = tls_upstream("named", &named);
    let numeric = tls_upstream("numeric", &numeric);
    let stranger = tls_upstream("stranger", &stranger);
    // nginx and HAProxy check DNS names only; an IP-address upstream is
    // refused for them (checked below), so they run the file without it.
    let file_for = |port: u16, ip_route: bool| {
        let text = format!(
            r#"listen = "127.0.0.1:{port}"
upstream = "https://localhost:{named}"
upstream_ca = "{ca}"

[timeouts]
connect = "2s"
upstream_response = "2s"

[policy]
origins = ["https://app.example.com"]
credentials = true

[[routes]]
path_prefix = "/ip"
upstream = "https://127.0.0.1:{numeric}"

[[routes]]
path_prefix = "/untrusted"
upstream = "https://localhost:{stranger}"

[[routes]]
path_prefix = "/wrong-name"
upstream = "https://localhost:{numeric}"

[[routes]]
path_prefix = "/"
"#,
            named = named.port(),
            numeric = numeric.port(),
            stranger = stranger.port(),
            ca = ca.display(),
        );
        if ip_route {
            text
        } else {
            text.replace(
                &format!(
                    "[[routes]]\npath_prefix = \"/ip\"\nupstream = \"https://127.0.0.1:{}\"\n\n",
                    numeric.port()
                ),
                "",
            )
        }
    };
    let app = "https://app.example.com";
    let requests = [
        req("GET", "/x", &[("Origin", app)]),
        req("GET", "/ip/x", &[("Origin", app)]),
        req("GET", "/untrusted/x", &[("Origin", app)]),
        req("GET", "/wrong-name/x", &[("Origin", app)]),
    ];
    let corsica_port = free_port();
    std::fs::write(dir.join("corsica.toml"), file_for(corsica_port, true)).unwrap();
    let corsica_file = dir.join("corsica.toml");
    let _corsica = start(
        "corsica serve",
        &dir,
        env!("CARGO_BIN_EXE_corsica"),
        &[
            "serve",
            "--config",
            corsica_file.to_str().unwrap(),
            "--workers",
            "1",
        ],
        corsica_port,
    );
    let ours: Vec<Seen> = requests
        .iter()
        .map(|r| send(corsica_port, r).unwrap().0)
        .collect();
    let statuses: Vec<(u16, Option<&str>)> = ours
        .iter()
        .map(|s| (s.status, s.upstream.as_deref()))
        .collect();
    assert_eq!(
        statuses,
        [
            (200, Some("named")),
            (200, Some("numeric")),
            (502, None),
            (502, None)
        ],
        "corsica serve itself"
    );
    let mut diffs = Vec::new();
    for target in ["nginx-lua", "haproxy", "envoy", "caddy"] {
        let port = free_port();
        let file = dir.join(format!("{target}.toml"));
        let checks_ip = matches!(target, "envoy" | "caddy");
        if !checks_ip {
            std::fs::write(&file, file_for(port, true)).unwrap();
            let refused = Command::new(env!("CARGO_BIN_EXE_corsica"))
                .args(["export", "--to", target])
                .arg(&file)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert!(
                !refused.status.success()
                    && refused.stdout.is_empty()
                    && stderr.contains("routes[0].upstream"),
                "{target} must refuse an IP-address https upstream: {stderr}"
            );
        }
        std::fs::write(&file, file_for(port, checks_ip)).unwrap();
        let sub = dir.join(target);
        std::fs::create_dir_all(sub.join("logs")).unwrap();
        let out = sub.join("config");
        export(target, &file, &out);
        let out = out.to_str().unwrap().to_owned();
        let running = match target {
            "nginx-lua" => start(
                target,
                &sub,
                "nginx",
                &["-p", sub.to_str().unwrap(), "-c", &out, "-g", "daemon off;"],
                port,
            ),
            "haproxy" => start(target, &sub, "haproxy", &["-db", "-f", &out], port),
            "envoy" => {
                let yaml = format!("{out}.yaml");
                std::fs::rename(&out, &yaml).unwrap();
                let base_id = (port as u32 % 60000).to_string();
                start(
                    target,
                    &sub,
                    "envoy",
                    &["-c", &yaml, "--base-id", &base_id],
                    port,
                )
            }
            _ => start_with(
                target,
                &sub,
                "caddy",
                &["run", "--config", &out, "--adapter", "caddyfile"],
                &[
                    ("XDG_CONFIG_HOME", sub.clone()),
                    ("XDG_DATA_HOME", sub.clone()),
                ],
                port,
            ),
        };
        for (r, a) in requests.iter().zip(&ours) {
            if !checks_ip && r.path.starts_with("/ip") {
                continue;
            }
            match send(port, r) {
                Ok((b, head)) if &b != a => diffs.push(format!(
                    "{target}: {r:?}\n  corsica serve: {a:?}\n  {target}: {b:?}\n{head}\n{}",
                    std::fs::read_to_string(&running.stderr)
                        .unwrap_or_default()
                        .lines()
                        .rev()
                        .take(5)
                        .collect::<Vec<_>>()
                        .join("\n")
                )),
                Ok(_) => {}
                Err(e) => diffs.push(format!("{target}: {r:?}: {e}")),
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An upstream that speaks HTTP/2 with prior knowledge only (h2c), as a
/// gRPC server does: it answers as [`upstream`] does, naming the protocol
/// version it was spoken to in, and an HTTP/1.1 client gets nothing.
fn h2c_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an h2c upstream");
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        |req: http::Request<hyper::body::Incoming>| async move {
                            let response = http::Response::builder()
                                .header("x-upstream", format!("h2c {:?}", req.version()))
                                .header("access-control-allow-origin", "*")
                                .body(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
                });
            }
        });
    });
    addr
}

/// `upstream_http2 = true` (h2c) on HAProxy, Envoy and Caddy answers as
/// `corsica serve` does; nginx, which proxies in HTTP/1.x only, refuses to
/// export it.
#[test]
fn h2c_upstreams_are_spoken_to_in_http2_on_every_target_that_can() {
    let dir = scratch("h2c");
    let h2c = h2c_upstream();
    let file_for = |port: u16| {
        format!(
            "listen = \"127.0.0.1:{port}\"\nupstream = \"http://{h2c}\"\nupstream_http2 = true\n\n\
             [policy]\norigins = [\"https://app.example.com\"]\ncredentials = true\n"
        )
    };
    let app = "https://app.example.com";
    let requests = [
        req("GET", "/x", &[("Origin", app)]),
        req("GET", "/x", &[("Origin", "https://evil.example")]),
        req("POST", "/x", &[]),
    ];
    let corsica_port = free_port();
    let corsica_file = dir.join("corsica.toml");
    std::fs::write(&corsica_file, file_for(corsica_port)).unwrap();
    let _corsica = start(
        "corsica serve",
        &dir,
        env!("CARGO_BIN_EXE_corsica"),
        &[
            "serve",
            "--config",
            corsica_file.to_str().unwrap(),
            "--workers",
            "1",
        ],
        corsica_port,
    );
    let ours: Vec<Seen> = requests
        .iter()
        .map(|r| send(corsica_port, r).unwrap().0)
        .collect();
    assert!(
        ours.iter()
            .all(|s| s.status == 200 && s.upstream.as_deref() == Some("h2c HTTP/2.0")),
        "corsica serve itself: {ours:?}"
    );
    let mut diffs = Vec::new();
    for target in ["nginx", "nginx-lua"] {
        let file = dir.join(format!("{target}.toml"));
        std::fs::write(&file, file_for(free_port())).unwrap();
        let refused = Command::new(env!("CARGO_BIN_EXE_corsica"))
            .args(["export", "--to", target])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success()
                && refused.stdout.is_empty()
                && stderr.contains("upstream_http2"),
            "{target} must refuse upstream_http2: {stderr}"
        );
    }
    for target in ["haproxy", "envoy", "caddy"] {
        let port = free_port();
        let file = dir.join(format!("{target}.toml"));
        std::fs::write(&file, file_for(port)).unwrap();
        let sub = dir.join(target);
        std::fs::create_dir_all(&sub).unwrap();
        let out = sub.join("config");
        export(target, &file, &out);
        let out = out.to_str().unwrap().to_owned();
        let running = match target {
            "haproxy" => start(target, &sub, "haproxy", &["-db", "-f", &out], port),
            "envoy" => {
                let yaml = format!("{out}.yaml");
                std::fs::rename(&out, &yaml).unwrap();
                let base_id = (port as u32 % 60000).to_string();
                start(
                    target,
                    &sub,
                    "envoy",
                    &["-c", &yaml, "--base-id", &base_id],
                    port,
                )
            }
            _ => start_with(
                target,
                &sub,
                "caddy",
                &["run", "--config", &out, "--adapter", "caddyfile"],
                &[
                    ("XDG_CONFIG_HOME", sub.clone()),
                    ("XDG_DATA_HOME", sub.clone()),
                ],
                port,
            ),
        };
        for (r, a) in requests.iter().zip(&ours) {
            match send(port, r) {
                Ok((b, head)) if &b != a => diffs.push(format!(
                    "{target}: {r:?}\n  corsica serve: {a:?}\n  {target}: {b:?}\n{head}"
                )),
                Ok(_) => {}
                Err(e) => diffs.push(format!("{target}: {r:?}: {e}")),
            }
        }
        drop(running);
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
