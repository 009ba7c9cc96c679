//! Real stores and `corsica serve` replicas on 127.0.0.1 for the
//! origin-store tests: a `redis-server` on a free port, gateways started as
//! processes, and a tiny blocking HTTP client for preflights. Every process
//! is stopped by its own PID when its guard drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    // A counter, not a clock: two calls with one name (a store's directory
    // and its test's) must never get the same directory, which the second
    // would empty.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "corsica-store-{}-{name}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls `f` every 10 ms until it is true or `limit` has passed; returns
/// how long it took, or `None` on timeout.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f().then(|| start.elapsed())
}

/// Makes, in `dir`, a CA (`ca.pem`) and a certificate for 127.0.0.1 that it
/// signed (`server.pem`, `server.key`), with `openssl`.
pub fn make_certs(dir: &Path) {
    let sh = |script: &str| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run sh");
        assert!(status.success(), "failed (is openssl installed?): {script}");
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=corsica test CA'");
    sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1'");
    sh("echo 'subjectAltName=IP:127.0.0.1' > ext && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext");
}

/// A `redis-server` on loopback, without persistence.
pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// With TLS: the CA file that signed the server's certificate.
    pub ca: Option<PathBuf>,
}

impl Redis {
    /// Starts one on a free port. Panics, loudly, when `redis-server` is
    /// not installed: these tests are never skipped.
    pub fn start(name: &str) -> Redis {
        let mut redis = Redis {
            port: free_port(),
            dir: temp_dir(name),
            child: None,
            ca: None,
        };
        redis.up();
        redis
    }

    /// Starts one that speaks TLS only, with a certificate for 127.0.0.1
    /// signed by a CA made here with `openssl` (see [`Redis::ca`]).
    pub fn start_tls(name: &str) -> Redis {
        let dir = temp_dir(name);
        make_certs(&dir);
        let mut redis = Redis {
            port: free_port(),
            ca: Some(dir.join("ca.pem")),
            dir,
            child: None,
        };
        redis.up();
        redis
    }

    /// `redis://127.0.0.1:PORT/0` (`rediss://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/0", self.port)
    }

    /// Starts the server (again) on the same port, empty.
    pub fn up(&mut self) {
        assert!(self.child.is_none(), "redis is already running");
        let mut cmd = Command::new("redis-server");
        if self.ca.is_some() {
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args([
                    "--tls-cert-file",
                    "server.pem",
                    "--tls-key-file",
                    "server.key",
                ])
                .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"])
                .current_dir(&self.dir);
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        let child = cmd
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); install it (apt-get install redis-server) or run ./scripts/test.sh, which does")
            });
        self.child = Some(child);
        let port = self.port;
        if let Some(ca) = &self.ca {
            let answered = wait_for(Duration::from_secs(10), || {
                Command::new("redis-cli")
                    .args([
                        "--tls",
                        "--cacert",
                        ca.to_str().unwrap(),
                        "-p",
                        &port.to_string(),
                        "ping",
                    ])
                    .output()
                    .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
            });
            assert!(
                answered.is_some(),
                "redis-server (TLS) did not answer on port {port} within 10 s"
            );
            return;
        }
        let answered = wait_for(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port))
                .and_then(|mut s| {
                    s.set_read_timeout(Some(Duration::from_millis(500)))?;
                    s.write_all(b"PING\r\n")?;
                    let mut buf = [0u8; 7];
                    s.read_exact(&mut buf)?;
                    Ok(&buf == b"+PONG\r\n")
                })
                .unwrap_or(false)
        });
        assert!(
            answered.is_some(),
            "redis-server did not answer on port {port} within 10 s"
        );
    }

    /// Stops the server (by its PID) and waits until it has exited.
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `corsica origins ARGS...`; returns the exit code, stdout and stderr.
pub fn origins_cli(args: &[&str]) -> (i32, String, String) {
    origins_cli_env(args, &[])
}

/// [`origins_cli`] with extra environment variables.
pub fn origins_cli_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .arg("origins")
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .expect("run corsica origins");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `corsica serve` process.
pub struct Gateway {
    child: Child,
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    pub config: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// Starts `corsica serve --config DIR/gateway.toml` with `body` as the
    /// file (it must have `listen` and `admin_listen` on 127.0.0.1:0).
    pub fn start(dir: &Path, name: &str, body: &str) -> Gateway {
        Gateway::start_env(dir, name, body, &[])
    }

    /// [`Gateway::start`] with extra environment variables.
    pub fn start_env(dir: &Path, name: &str, body: &str, env: &[(&str, &str)]) -> Gateway {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, body).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_corsica"))
            .args([
                "serve",
                "--config",
                config.to_str().unwrap(),
                "--workers",
                "1",
            ])
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run corsica serve");
        let (tx, first): (_, Receiver<String>) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = first
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("gateway {name} logged no listen= line in 20 s"));
            if line.contains("listen=") {
                break line;
            }
        };
        let field = |key: &str| -> SocketAddr {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {line:?}"))
                .parse()
                .unwrap()
        };
        Gateway {
            listen: field("listen="),
            admin: field("admin="),
            config,
            child,
            log,
        }
    }

    /// Whether a preflight from `origin` is allowed (204 with the origin
    /// echoed); `None` if the gateway did not answer.
    pub fn allows(&self, origin: &str) -> Option<bool> {
        let (status, head) = request(
            self.listen,
            &format!("OPTIONS /items HTTP/1.1\r\nHost: api\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n"),
        )?;
        let echoed = head
            .to_ascii_lowercase()
            .contains(&format!("access-control-allow-origin: {origin}\r\n"));
        match status {
            204 if echoed => Some(true),
            403 if !echoed => Some(false),
            other => panic!("unexpected preflight answer {other}: {head}"),
        }
    }

    /// Like [`Gateway::allows`], but `None` (instead of a panic) for any
    /// answer other than an allowed 204 or a refused 403: for load threads
    /// that count failures.
    pub fn try_allows(&self, origin: &str) -> Option<bool> {
        let (status, head) = request(
            self.listen,
            &format!("OPTIONS /items HTTP/1.1\r\nHost: api\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n"),
        )?;
        let echoed = head
            .to_ascii_lowercase()
            .contains(&format!("access-control-allow-origin: {origin}\r\n"));
        match status {
            204 if echoed => Some(true),
            403 if !echoed => Some(false),
            _ => None,
        }
    }

    /// `GET` on the admin listener: status and body.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        let (status, text) = request(
            self.admin,
            &format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n"),
        )
        .unwrap_or_else(|| panic!("the admin listener did not answer {path}"));
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.to_owned())
    }

    /// The value of metric line `prefix` (e.g. `corsica_store_members{`).
    pub fn metric(&self, prefix: &str) -> Option<f64> {
        let (_, body) = self.admin_get("/metrics");
        body.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGHUP (by PID) to reload the configuration file.
    pub fn reload(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange with `Connection: close`: the status and the
/// whole response (head and body) as text.
fn request(addr: SocketAddr, raw: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(raw.as_bytes()).ok()?;
    let mut out = Vec::new();
    // Bounded: a response larger than 1 MiB is a bug here.
    stream.take(1 << 20).read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text))
}

/// Writes members straight into a store (a Redis set or the PostgreSQL
/// table, and announces the change) without any validation, as a careless
/// script would.
pub fn raw_add(url: &str, set: &str, members: &[&str]) {
    let members: Vec<String> = members.iter().map(|m| (*m).to_owned()).collect();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            corsica_store::OriginWriter::connect(url, set)
                .await
                .unwrap()
                .change(&members, &[])
                .await
                .unwrap()
        });
}

/// The directory of PostgreSQL's server binaries (Debian's layout).
fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl); install it (apt-get install postgresql) or run ./scripts/test.sh, which does")
    })
}

/// Whether this process runs as root (PostgreSQL refuses to).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The uid and gid of `nobody`, which runs PostgreSQL when the tests run as root.
const NOBODY: u32 = 65534;

fn as_postgres_user(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if is_root() {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

/// A PostgreSQL cluster in a temporary directory, run as a non-root user
/// (`nobody` when the tests run as root) on a loopback port, with a
/// superuser `corsica` trusted on loopback.
pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
    /// With TLS: the CA file that signed the server's certificate.
    pub ca: Option<PathBuf>,
}

impl Postgres {
    /// `initdb`, then start.
    pub fn start(name: &str) -> Postgres {
        Postgres::start_with(name, false)
    }

    /// Like [`Postgres::start`], with TLS on (`ssl = on`, a certificate
    /// signed by a test CA, see [`Postgres::ca`]).
    pub fn start_tls(name: &str) -> Postgres {
        Postgres::start_with(name, true)
    }

    fn start_with(name: &str, tls: bool) -> Postgres {
        let bin = postgres_bin();
        let dir = temp_dir(name);
        if is_root() {
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let out = as_postgres_user(&mut Command::new(bin.join("initdb")))
            .args([
                "-D",
                dir.join("data").to_str().unwrap(),
                "-U",
                "corsica",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut ca = None;
        if tls {
            make_certs(&dir);
            use std::os::unix::fs::PermissionsExt;
            let key = dir.join("server.key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
            if is_root() {
                for file in ["server.key", "server.pem"] {
                    std::os::unix::fs::chown(dir.join(file), Some(NOBODY), Some(NOBODY)).unwrap();
                }
            }
            ca = Some(dir.join("ca.pem"));
        }
        let mut pg = Postgres {
            port: free_port(),
            dir,
            bin,
            child: None,
            ca,
        };
        pg.up();
        pg
    }

    /// `postgres://corsica@127.0.0.1:PORT/postgres` (`?sslmode=require` with TLS).
    pub fn url(&self) -> String {
        let tls = if self.ca.is_some() {
            "?sslmode=require"
        } else {
            ""
        };
        format!("postgres://corsica@127.0.0.1:{}/postgres{tls}", self.port)
    }

    /// Starts the server (again), keeping its data.
    pub fn up(&mut self) {
        assert!(self.child.is_none(), "postgres is already running");
        let log = std::fs::File::create(self.dir.join(format!("log-{}", self.port))).unwrap();
        let mut cmd = Command::new(self.bin.join("postgres"));
        if self.ca.is_some() {
            let at = |f: &str| format!("{}", self.dir.join(f).display());
            cmd.args(["-c", "ssl=on"])
                .args(["-c", &format!("ssl_cert_file={}", at("server.pem"))])
                .args(["-c", &format!("ssl_key_file={}", at("server.key"))]);
        }
        let child = as_postgres_user(&mut cmd)
            .args([
                "-D",
                self.dir.join("data").to_str().unwrap(),
                "-p",
                &self.port.to_string(),
                "-h",
                "127.0.0.1",
                "-k",
                self.dir.to_str().unwrap(),
                "-c",
                "fsync=off",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let (bin, port) = (self.bin.clone(), self.port);
        let ready = wait_for(Duration::from_secs(20), || {
            Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success())
        });
        assert!(
            ready.is_some(),
            "postgres did not accept connections on port {port} within 20 s"
        );
    }

    /// Stops the server: SIGINT (fast shutdown) by its PID, then waits.
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let stopped = wait_for(Duration::from_secs(15), || {
                child.try_wait().ok().flatten().is_some()
            });
            if stopped.is_none() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
