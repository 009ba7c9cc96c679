//! WebKitGTK driven over classic WebDriver: `WebKitWebDriver` (Debian's
//! `webkit2gtk-driver`) under `xvfb-run`, starting WebKitGTK's MiniBrowser.
//!
//! Classic WebDriver exposes the script's results only: the rejection the
//! page sees and the headers it can read. WebKitWebDriver has no log
//! endpoint, so WebKit's console messages are not observed (see
//! `docs/browser-differences.md`); what reached the server is.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::driver::{
    batch_argument, parse_batch, BrowserDriver, DriverError, FetchObservation, Job, JobObservation,
    BATCH_SCRIPT,
};

/// The WebDriver server; `CORSICA_WEBKIT_DRIVER` overrides.
const DRIVERS: &[&str] = &["/usr/bin/WebKitWebDriver"];
/// The browser it starts; `CORSICA_WEBKIT` overrides.
const BROWSERS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
];
/// `xvfb-run`: WebKitGTK needs a display.
const XVFB: &[&str] = &["/usr/bin/xvfb-run"];

/// The command that installs WebKitGTK's WebDriver on Debian.
pub const INSTALL_HINT: &str = "install it with `sudo apt-get update && sudo apt-get install -y webkit2gtk-driver xvfb` (Debian)";

/// What WebKit's `fetch()` rejects with on a network or CORS failure.
pub const LOAD_FAILED: &str = "TypeError: Load failed";

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// WebKitGTK's MiniBrowser under WebKitWebDriver.
pub struct WebKit {
    child: Child,
    http: HttpClient,
    base: String,
    version: String,
}

impl WebKit {
    /// Starts `xvfb-run WebKitWebDriver`, opens a session and `page_url`.
    pub async fn launch(page_url: &str, _run: &str) -> Result<WebKit, DriverError> {
        let driver = crate::driver::find_binary(
            "CORSICA_WEBKIT_DRIVER",
            DRIVERS,
            "WebKitWebDriver",
            INSTALL_HINT,
        )?;
        let browser =
            crate::driver::find_binary("CORSICA_WEBKIT", BROWSERS, "MiniBrowser", INSTALL_HINT)?;
        let xvfb = crate::driver::find_binary("CORSICA_XVFB_RUN", XVFB, "xvfb-run", INSTALL_HINT)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| DriverError(format!("no free port for WebKitWebDriver: {e}")))?
            .port();
        let mut command = Command::new(&xvfb);
        command
            .arg("-a")
            .arg(&driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that closing ends Xvfb, the driver
            // and the browser together.
            .process_group(0)
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| {
            DriverError(format!(
                "cannot start {} {}: {e}; {INSTALL_HINT}",
                xvfb.display(),
                driver.display()
            ))
        })?;
        let http: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let mut webkit = WebKit {
            child,
            http,
            base: format!("http://127.0.0.1:{port}"),
            version: String::new(),
        };
        match webkit.open(page_url, &browser).await {
            Ok(()) => Ok(webkit),
            Err(e) => {
                webkit.close().await;
                Err(e)
            }
        }
    }

    async fn open(&mut self, page_url: &str, browser: &PathBuf) -> Result<(), DriverError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.request("GET", "/status", None).await {
                Ok(v) if v["ready"].as_bool() == Some(true) => break,
                _ if Instant::now() > deadline => {
                    return Err(DriverError(format!(
                        "WebKitWebDriver did not answer on {} within 30 s; {INSTALL_HINT}",
                        self.base
                    )))
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let session = self
            .request(
                "POST",
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "webkitgtk:browserOptions": {
                        "binary": browser,
                        "args": ["--automation"],
                    }
                }}})),
            )
            .await?;
        let id = session["sessionId"]
            .as_str()
            .ok_or_else(|| DriverError(format!("WebKitWebDriver opened no session: {session}")))?;
        // MiniBrowser reports the WebKitGTK version it runs on.
        self.version = format!(
            "WebKitGTK/{}",
            session["capabilities"]["browserVersion"]
                .as_str()
                .unwrap_or("unknown")
        );
        self.base = format!("{}/session/{id}", self.base);
        self.request(
            "POST",
            "/timeouts",
            Some(json!({"script": 120_000, "pageLoad": 30_000})),
        )
        .await?;
        self.request("POST", "/url", Some(json!({"url": page_url})))
            .await?;
        Ok(())
    }

    /// One WebDriver command: returns its `value`, or the error it carries.
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, DriverError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| DriverError(format!("bad WebDriver request: {e}")))?;
        let call = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| DriverError(format!("{method} {path}: {e}")))?;
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| DriverError(format!("{method} {path}: {e}")))?
                .to_bytes();
            serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                DriverError(format!(
                    "{method} {path} answered {}: {e}",
                    String::from_utf8_lossy(&bytes)
                ))
            })
        };
        let value = tokio::time::timeout(Duration::from_secs(180), call)
            .await
            .map_err(|_| DriverError(format!("{method} {path} took longer than 180 s")))??;
        let value = value["value"].clone();
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            return Err(DriverError(format!(
                "{method} {path}: {error}: {}",
                value["message"].as_str().unwrap_or_default()
            )));
        }
        Ok(value)
    }
}

impl BrowserDriver for WebKit {
    fn name(&self) -> &'static str {
        "webkit"
    }

    fn version(&self) -> &str {
        &self.version
    }

    async fn run(&mut self, jobs: &[Job]) -> Result<Vec<JobObservation>, DriverError> {
        let script = format!(
            "const done = arguments[arguments.length - 1];\n({BATCH_SCRIPT})(JSON.parse(arguments[0])).then(done, e => done(JSON.stringify(String(e))));"
        );
        let value = self
            .request(
                "POST",
                "/execute/async",
                Some(json!({"script": script, "args": [batch_argument(jobs).to_string()]})),
            )
            .await?;
        let settled = parse_batch(&value)?;
        Ok(jobs
            .iter()
            .zip(settled)
            .map(|(job, settled)| JobObservation {
                key: job.key,
                fetches: settled
                    .iter()
                    .map(|s| FetchObservation {
                        script: Some(s.result()),
                        ..FetchObservation::default()
                    })
                    .collect(),
            })
            .collect())
    }

    async fn reset_caches(&mut self) -> Result<(), DriverError> {
        // Every case has its own URLs, and WebKit's preflight cache is not
        // bounded per site: nothing carries over from one case to another.
        Ok(())
    }

    async fn close(mut self) {
        let _ =
            tokio::time::timeout(Duration::from_secs(5), self.request("DELETE", "", None)).await;
        if let Some(pid) = self.child.id() {
            // The whole group: xvfb-run, Xvfb, the driver, the browser.
            let _ = Command::new("kill")
                .arg("--")
                .arg(format!("-{pid}"))
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}
