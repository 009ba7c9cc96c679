//! `corsica playground` as a process: it prints the URL to open, serves the
//! page from what is embedded in the binary, and says why when its port is
//! taken.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the playground by its process when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on 127.0.0.1:port; the whole response as text.
fn get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the page origin");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).expect("read the response");
    out
}

#[test]
fn the_playground_prints_its_url_and_serves_an_embedded_page() {
    let child = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .args(["playground", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run corsica playground");
    let mut running = Running(child);
    let stdout = running.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Send the first line, then keep reading: the pipe stays open.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the playground printed nothing within 20 s");
    let url = line
        .trim()
        .strip_prefix("corsica playground: open ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    let port: u16 = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("not a loopback URL: {url}"));
    let page = get(port, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("id=\"verdict\""), "{page}");
    // Nothing the page loads comes from the network.
    for path in ["/", "/app.js", "/diagram.js", "/style.css"] {
        let body = get(port, path);
        assert!(body.starts_with("HTTP/1.1 200"), "{path}: {body}");
        let outside = body
            .replace("http://www.w3.org/2000/svg", "")
            .matches("https://")
            .count()
            + body.matches("//cdn").count()
            + body.matches("@import").count();
        assert_eq!(outside, 0, "{path} refers to something outside the binary");
    }
}

#[test]
fn a_taken_port_is_exit_2_with_the_reason() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_corsica"))
        .args(["playground", "--port", &port])
        .output()
        .expect("run corsica playground");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
