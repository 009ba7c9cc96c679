//! What the export tests share: the exported servers run on 127.0.0.1 with
//! the command the README gives, `corsica serve` beside them, raw HTTP/1.1
//! requests, and the parts of each answer that are compared. Every process
//! is stopped by its own PID when its guard drops.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request of the suite.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: &'static str,
    pub path: &'static str,
    pub host: &'static str,
    pub headers: Vec<(&'static str, &'static str)>,
}

pub fn req(
    method: &'static str,
    path: &'static str,
    headers: &[(&'static str, &'static str)],
) -> Req {
    Req {
        method,
        path,
        host: "localhost",
        headers: headers.to_vec(),
    }
}

/// The CORS response headers that hold lists, which a browser reads with
/// their lines joined.
pub const LIST_HEADERS: [&str; 3] = [
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-expose-headers",
];

/// What is compared of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub status: u16,
    pub cors: BTreeMap<String, Vec<String>>,
    pub vary: BTreeSet<String>,
    pub upstream: Option<String>,
    /// The browser's CORS check (corsica's simulator, Chromium's order and
    /// errors) with credentials omitted and included; `None` without Origin.
    pub verdicts: Option<[String; 2]>,
    /// The `corsica-warning` header of nginx's core export on nginx before
    /// 1.23; no other server sends one.
    pub warning: Option<String>,
}

/// What a browser's CORS check says of a response's headers for `origin`.
pub fn verdicts(all: &[(String, String)], origin: Option<&str>) -> Option<[String; 2]> {
    use corsica::browser::{cors_check, Credentials, ResponseHeaders};
    let origin = origin?;
    let headers = ResponseHeaders::from_text(all);
    let judge = |mode| match cors_check(&headers, origin, mode) {
        Ok(()) => "readable".to_owned(),
        Err(failure) => format!("blocked: {:?}", failure.error),
    };
    Some([judge(Credentials::Omit), judge(Credentials::Include)])
}

pub fn send(port: u16, r: &Req) -> Result<(Seen, String), String> {
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
pub struct Running {
    pub name: String,
    child: Child,
    pub stderr: PathBuf,
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

pub fn start(name: &str, dir: &Path, program: &str, args: &[&str], port: u16) -> Running {
    start_with(name, dir, program, args, &[], port)
}

pub fn start_with(
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

pub fn scratch(name: &str) -> PathBuf {
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
pub fn export(target: &str, file: &Path, out: &Path) {
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

/// Runs `corsica serve` on the gateway file `text`, which listens on `port`.
pub fn serve_corsica(dir: &Path, text: &str, port: u16) -> Running {
    let file = dir.join("corsica.toml");
    std::fs::write(&file, text).unwrap();
    start(
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
    )
}

/// Exports the gateway file `text` (which listens on `port`) for `target`
/// into its own folder under `dir`, and runs it on the real server with
/// the command the README gives.
pub fn run_export(target: &str, dir: &Path, text: &str, port: u16) -> Running {
    let dir = dir.join(target);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let file = dir.join("gateway.toml");
    std::fs::write(&file, text).unwrap();
    let config = match target {
        "nginx" | "nginx-lua" => "nginx.conf",
        "haproxy" => "haproxy.cfg",
        "envoy" => "envoy.yaml",
        "caddy" => "Caddyfile",
        other => panic!("no such export target: {other}"),
    };
    export(target, &file, &dir.join(config));
    match target {
        "nginx" | "nginx-lua" => start(
            target,
            &dir,
            "nginx",
            &[
                "-p",
                dir.to_str().unwrap(),
                "-c",
                config,
                "-g",
                "daemon off;",
            ],
            port,
        ),
        "haproxy" => start(target, &dir, "haproxy", &["-db", "-f", config], port),
        "envoy" => {
            // A distinct hot-restart id per Envoy: others may run beside it,
            // and no two listen on one port.
            let base_id = port.to_string();
            start(
                target,
                &dir,
                "envoy",
                &["-c", config, "--base-id", &base_id, "-l", "warning"],
                port,
            )
        }
        _ => {
            // Even with `admin off`, Caddy saves its config under XDG_CONFIG_HOME.
            let env = [
                ("XDG_CONFIG_HOME", dir.join("xdg-config")),
                ("XDG_DATA_HOME", dir.join("xdg-data")),
            ];
            start_with(
                target,
                &dir,
                "caddy",
                &["run", "--config", config, "--adapter", "caddyfile"],
                &env,
                port,
            )
        }
    }
}

/// Asserts that `corsica export --to target` refuses the gateway file
/// `text`, printing nothing on stdout and naming `key`.
pub fn assert_refused(target: &str, dir: &Path, text: &str, key: &str) {
    let file = dir.join(format!("{target}-refused.toml"));
    std::fs::write(&file, text).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .args(["export", "--to", target])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && refused.stdout.is_empty() && stderr.contains(key),
        "{target} must refuse at {key}: {stderr}"
    );
}

/// Sends each of `requests` to `target`, listening on `port`, and returns
/// every answer that is not the one of `ours` beside it, with the request,
/// both answers and the end of the server's log.
pub fn compare(target: &Running, port: u16, requests: &[&Req], ours: &[&Seen]) -> Vec<String> {
    let name = &target.name;
    let mut diffs = Vec::new();
    for (r, a) in requests.iter().zip(ours) {
        match send(port, r) {
            Ok((b, head)) if &&b != a => {
                let log = std::fs::read_to_string(&target.stderr).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                diffs.push(format!(
                    "{name}: {r:?}\n  corsica serve: {a:?}\n  {name}: {b:?}\n{head}\n{}",
                    tail.join("\n")
                ));
            }
            Ok(_) => {}
            Err(e) => diffs.push(format!("{name}: {r:?}: {e}")),
        }
    }
    diffs
}
