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
