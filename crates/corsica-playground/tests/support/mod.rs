//! Headless Chromium for the playground's test, over the DevTools
//! protocol (the differential suite's client), with bounded waits.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use corsica_browser_tests::cdp::Cdp;
use corsica_browser_tests::driver::{find_chromium, INSTALL_HINT};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long any one DevTools command may take.
const CALL: Duration = Duration::from_secs(20);

/// A headless Chromium with one page.
pub struct Browser {
    child: Child,
    cdp: Cdp,
    session: String,
    profile_dir: PathBuf,
}

impl Browser {
    /// Starts Chromium with a fresh profile and a 1280×800 page.
    pub async fn launch() -> Result<Browser, String> {
        let binary = find_chromium().map_err(|e| e.0)?;
        let profile_dir = std::env::temp_dir().join(format!(
            "corsica-playground-chromium-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        std::fs::create_dir_all(&profile_dir).map_err(|e| e.to_string())?;
        let mut child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--window-size=1280,800",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}; {INSTALL_HINT}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr from Chromium")?;
        let mut lines = BufReader::new(stderr).lines();
        let ws = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| format!("{} opened no DevTools endpoint", binary.display()))?;
        // Keep draining stderr so Chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let cdp = Cdp::connect(&ws).await.map_err(|e| e.0)?;
        let target = call(
            &cdp,
            "Target.createTarget",
            json!({"url": "about:blank"}),
            None,
        )
        .await?;
        let target_id = target["targetId"].as_str().ok_or("no targetId")?.to_owned();
        let attached = call(
            &cdp,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
            None,
        )
        .await?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("no sessionId")?
            .to_owned();
        for domain in ["Page.enable", "Runtime.enable"] {
            call(&cdp, domain, json!({}), Some(&session)).await?;
        }
        let browser = Browser {
            child,
            cdp,
            session,
            profile_dir,
        };
        browser.viewport(1280, 800).await?;
        Ok(browser)
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        call(&self.cdp, method, params, Some(&self.session)).await
    }

    /// Sets the page's viewport.
    pub async fn viewport(&self, width: u32, height: u32) -> Result<(), String> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await
        .map(drop)
    }

    /// Opens `url`.
    pub async fn navigate(&self, url: &str) -> Result<(), String> {
        self.call("Page.navigate", json!({"url": url}))
            .await
            .map(drop)
    }

    /// Evaluates an expression in the page.
    pub async fn eval(&self, expression: &str) -> Result<Value, String> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(ex) = result.get("exceptionDetails") {
            // The page may be between two documents: not yet an answer.
            if ex.to_string().contains("Execution context was destroyed") {
                return Ok(Value::Null);
            }
            return Err(format!("the page threw: {ex}"));
        }
        Ok(result["result"]["value"].clone())
    }

    /// A PNG of the page at `width`×`height`, or of the whole page when
    /// `full`.
    pub async fn screenshot(&self, width: u32, height: u32, full: bool) -> Result<Vec<u8>, String> {
        self.viewport(width, height).await?;
        // Let the layout settle at the new size.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": full}),
            )
            .await?;
        let data = shot["data"].as_str().ok_or("no screenshot data")?;
        base64_decode(data).ok_or_else(|| "the screenshot is not base64".to_owned())
    }

    /// Closes the browser, killing it by its process if it does not go.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.cdp.call("Browser.close", json!({}), None),
        )
        .await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

async fn call(
    cdp: &Cdp,
    method: &str,
    params: Value,
    session: Option<&str>,
) -> Result<Value, String> {
    tokio::time::timeout(CALL, cdp.call(method, params, session))
        .await
        .map_err(|_| format!("{method} took longer than {CALL:?}"))?
        .map_err(|e| e.0)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// base64url without padding, as the page's links use.
pub fn b64url(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            let c = ALPHABET[(n >> (18 - 6 * i) & 63) as usize];
            out.push(match c {
                b'+' => '-',
                b'/' => '_',
                c => c as char,
            });
        }
    }
    out
}

/// Decodes standard base64 (with padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[test]
fn base64_round_trip() {
    assert_eq!(b64url(b"{\"a\":1}"), "eyJhIjoxfQ");
    assert_eq!(b64url(b"ab"), "YWI");
    assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
}
