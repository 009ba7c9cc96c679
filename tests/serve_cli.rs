//! `corsica serve` as a process: signals, and output that goes nowhere.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// SIGTERM stops the gateway even when its output went to a pipe whose
/// reader has gone (`corsica serve 2>&1 | head -1`): a failed log write
/// must not take down the task that handles the signal.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_gateway_after_its_output_pipe_closed() {
    let dir = std::env::temp_dir().join(format!("corsica-serve-{}-pipe", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"\n[policy]\norigins = [\"https://a.example\"]\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .args([
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--workers",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run corsica");
    // Read the first log line (the gateway is up), then close both pipes.
    let mut stderr = child.stderr.take().unwrap();
    let mut first = [0u8; 64];
    let _ = stderr.read(&mut first).unwrap();
    drop(stderr);
    drop(child.stdout.take());
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "{status:?}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the gateway ignored SIGTERM once its output pipe had closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A gateway started on `config` (a file body whose upstream never
/// answers), with a request in flight through it: returns the process,
/// its log lines as they come, and the connection that waits.
#[cfg(unix)]
fn gateway_with_a_request_in_flight(
    name: &str,
    extra: &str,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    std::net::TcpStream,
) {
    use std::io::{BufRead, BufReader, Write};
    // Accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let dir = std::env::temp_dir().join(format!("corsica-serve-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        format!("listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n{extra}\n[policy]\norigins = [\"https://a.example\"]\n"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .args([
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--workers",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run corsica");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let first = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("a first log line");
    let addr = first
        .split_whitespace()
        .find_map(|word| word.strip_prefix("listen="))
        .unwrap_or_else(|| panic!("no listen= in {first:?}"))
        .to_owned();
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client
        .write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    // Let the request reach the (silent) upstream.
    std::thread::sleep(Duration::from_millis(300));
    (child, lines, client)
}

#[cfg(unix)]
fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits up to `patience` for the process to end; its exit code.
#[cfg(unix)]
fn exit_within(child: &mut std::process::Child, patience: Duration) -> Option<i32> {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    None
}

/// The first SIGTERM drains (for up to `timeouts.drain`, 30 s by default);
/// a second one stops at once.
#[cfg(unix)]
#[test]
fn a_second_sigterm_stops_a_draining_gateway_at_once() {
    let (mut child, _lines, _client) = gateway_with_a_request_in_flight("second", "");
    signal(&child, "TERM");
    assert_eq!(
        exit_within(&mut child, Duration::from_secs(1)),
        None,
        "a request in flight holds the first SIGTERM"
    );
    let (mut child, _lines, _client) = gateway_with_a_request_in_flight("second-2", "");
    signal(&child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "TERM");
    assert_eq!(
        exit_within(&mut child, Duration::from_secs(5)),
        Some(0),
        "the second SIGTERM ends the drain"
    );
}

/// `timeouts.drain` bounds how long a shutdown waits.
#[cfg(unix)]
#[test]
fn the_drain_lasts_at_most_timeouts_drain() {
    let (mut child, lines, _client) =
        gateway_with_a_request_in_flight("drain", "[timeouts]\ndrain = \"1s\"");
    let started = Instant::now();
    signal(&child, "TERM");
    assert_eq!(exit_within(&mut child, Duration::from_secs(10)), Some(0));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let log: Vec<String> = lines.try_iter().collect();
    assert!(
        log.iter().any(|l| l.contains("after the drain timeout")),
        "{log:?}"
    );
}
