//! Test servers on 127.0.0.1 for the CLI's integration tests.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// What a test server sees of a request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub origin: Option<String>,
    pub headers: http::HeaderMap,
}

/// A handler: the request's method, `Origin` and headers in; status and
/// response headers out.
pub type Handler = Arc<dyn Fn(&Seen) -> (u16, Vec<(String, String)>) + Send + Sync>;

/// Starts a server on a free port in a background runtime thread; returns
/// its address. The server lives until the test process exits.
pub fn spawn(handler: Handler) -> SocketAddr {
    spawn_raw(move |stream| {
        let handler = handler.clone();
        async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let seen = Seen {
                        method: req.method().to_string(),
                        origin: req
                            .headers()
                            .get("origin")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                        headers: req.headers().clone(),
                    };
                    let (status, headers) = handler(&seen);
                    let mut res = Response::builder().status(status);
                    for (n, v) in headers {
                        res = res.header(n, v);
                    }
                    Ok::<_, Infallible>(
                        res.body(Full::new(Bytes::from_static(b"{\"ok\":true}")))
                            .expect("response"),
                    )
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    })
}

/// A TCP server on a free port, in a background runtime thread, that runs
/// `behaviour` on every connection (broken servers use it directly).
pub fn spawn_raw<F, Fut>(behaviour: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(behaviour(stream));
            }
        });
    });
    rx.recv().expect("server address")
}

/// Runs the `corsica` binary; returns (exit code, stdout, stderr).
pub fn corsica(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corsica"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run corsica");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that two JSON verdicts (from `check` and `explain`) agree on
/// what the browser does: preflight, sending, allowing, the error, the
/// failed parameter and the console message.
pub fn assert_verdicts_agree(live: &serde_json::Value, offline: &serde_json::Value) {
    assert_fields_agree(
        live,
        offline,
        &[
            "preflight",
            "actual_sent",
            "allowed",
            "cors_error",
            "failed_parameter",
            "console_message",
        ],
    );
}

/// Asserts that two JSON verdicts agree on `fields`.
pub fn assert_fields_agree(live: &serde_json::Value, offline: &serde_json::Value, fields: &[&str]) {
    for field in fields {
        assert_eq!(
            live[field], offline[field],
            "{field} differs:\nlive {live}\noffline {offline}"
        );
    }
}

/// Runs a program and fails the test, with its output, unless it exits 0.
pub fn run_ok(program: &str, args: &[&str], env: &[(&str, &str)]) {
    let out = std::process::Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}; scripts/test.sh installs it"));
    assert!(
        out.status.success(),
        "{program} {args:?} refused it:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pastes an nginx fragment where its comment says (inside `http { }`) into
/// the smallest configuration around it, under `dir` as nginx's prefix,
/// and fails the test unless `nginx -t` accepts it.
pub fn nginx_test(dir: &std::path::Path, fragment: &str) {
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    assert!(
        fragment.starts_with("# corsica CORS policy: paste inside the http { } block"),
        "{fragment}"
    );
    // A fragment that needs a module names its load_module lines in a
    // comment; they go at the top, as the comment says.
    let modules: String = fragment
        .lines()
        .filter_map(|l| l.strip_prefix("#   load_module "))
        .map(|rest| format!("load_module {}\n", rest.trim_end_matches(')')))
        .collect();
    let nginx = format!(
        "{modules}pid logs/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n\
         client_body_temp_path client_body_temp;\nproxy_temp_path proxy_temp;\n\
         fastcgi_temp_path fastcgi_temp;\nuwsgi_temp_path uwsgi_temp;\nscgi_temp_path scgi_temp;\n\
         access_log off;\n{fragment}}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), nginx).unwrap();
    let prefix = format!("{}/", dir.display());
    run_ok("nginx", &["-t", "-p", &prefix, "-c", "nginx.conf"], &[]);
}
