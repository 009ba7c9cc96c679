//! Network failures, classified so the message says what happened and what
//! to try: DNS, refused, TLS, timeout, a reply that is not HTTP.

use std::fmt;

/// Why a request got no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetError {
    /// A short stable label: `dns`, `refused`, `tls`, `timeout`, `not-http`, `too-large`, `closed`, `invalid`, `other`.
    pub kind: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NetError {}

impl NetError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        NetError {
            kind,
            message: message.into(),
        }
    }

    /// Classifies a client error by walking its causes.
    pub fn classify(url: &str, error: &(dyn std::error::Error + 'static)) -> NetError {
        let mut chain: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
        let mut cur = Some(error);
        while let Some(e) = cur {
            chain.push(e);
            cur = e.source();
        }
        let text: String = chain
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        for e in &chain {
            if let Some(tls) = find_tls(*e) {
                let hint = match tls {
                    rustls::Error::InvalidCertificate(_) => " (the certificate is not trusted by this machine's roots; pass --insecure only if you know why)",
                    _ => "",
                };
                return NetError::new(
                    "tls",
                    format!("TLS handshake with {url} failed: {tls}{hint}"),
                );
            }
            if let Some(h) = e.downcast_ref::<hyper::Error>() {
                if h.is_parse_too_large() {
                    return NetError::new("too-large", format!("{url} answered with a response head larger than the client accepts: {h}"));
                }
                if h.is_parse() || h.is_parse_status() {
                    return NetError::new(
                        "not-http",
                        format!("{url} did not answer with HTTP: {h}"),
                    );
                }
                if h.is_incomplete_message() {
                    return NetError::new(
                        "closed",
                        format!("{url} closed the connection before sending a complete response"),
                    );
                }
            }
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        return NetError::new("refused", format!("connection to {url} refused: nothing is listening on that host and port"))
                    }
                    std::io::ErrorKind::TimedOut => return NetError::new("timeout", format!("connecting to {url} timed out")),
                    std::io::ErrorKind::ConnectionReset => return NetError::new("closed", format!("{url} reset the connection")),
                    _ => {}
                }
            }
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return NetError::new(
                "dns",
                format!(
                    "cannot resolve the host of {url}: {}",
                    chain.last().map(|e| e.to_string()).unwrap_or_default()
                ),
            );
        }
        if text.contains("invalid HTTP version") || text.contains("invalid HTTP") {
            return NetError::new(
                "not-http",
                format!("{url} did not answer with HTTP: {text}"),
            );
        }
        NetError::new("other", format!("request to {url} failed: {text}"))
    }
}

/// Finds a rustls error, looking inside io::Errors: they wrap it (sometimes
/// twice), and their `source()` skips the wrapped error itself.
fn find_tls<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
        e = inner;
    }
}
