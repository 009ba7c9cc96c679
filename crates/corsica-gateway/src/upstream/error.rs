//! What a failed upstream exchange was ([`ExchangeError`]), what it
//! means for the client's answer ([`classify`]), and how it reads in a
//! log ([`chain`]).

use std::error::Error as StdError;
use std::fmt;

use super::pool::SendError;
use super::request_body::RequestBodyError;
use crate::metrics::UpstreamError;

/// Why an upstream exchange failed, from either client.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// From the worker's HTTP/1.1 pool.
    Plain(SendError),
    /// From a hyper-util pooled client (https, h2c).
    Pooled(hyper_util::client::legacy::Error),
    /// The response head did not come by the deadline.
    TimedOut,
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeError::Plain(e) => e.fmt(f),
            ExchangeError::Pooled(e) => e.fmt(f),
            ExchangeError::TimedOut => f.write_str("the upstream did not answer in time"),
        }
    }
}

impl StdError for ExchangeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ExchangeError::Plain(e) => e.source(),
            ExchangeError::Pooled(e) => e.source(),
            ExchangeError::TimedOut => None,
        }
    }
}

impl ExchangeError {
    /// Whether no connection could be made at all.
    fn is_connect(&self) -> bool {
        match self {
            ExchangeError::Plain(e) => matches!(e, SendError::Connect(_)),
            ExchangeError::Pooled(e) => e.is_connect(),
            ExchangeError::TimedOut => false,
        }
    }

    /// Whether the connect timeout or the response deadline passed.
    fn is_timeout(&self) -> bool {
        self.is_late() || matches!(self, ExchangeError::Plain(SendError::ConnectTimeout(_)))
    }

    /// Whether the response deadline (`timeouts.upstream_response`) passed.
    pub(crate) fn is_late(&self) -> bool {
        matches!(
            self,
            ExchangeError::TimedOut | ExchangeError::Plain(SendError::TimedOut)
        )
    }
}

/// What a failed upstream exchange means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failed {
    /// The upstream is at fault (or unreachable).
    Upstream(UpstreamError),
    /// The client's body passed the limit.
    BodyTooLarge(u64),
    /// The client's body broke off.
    ClientBody,
    /// The client paused its body for longer than `timeouts.body_read`.
    ClientBodyStalled(std::time::Duration),
}

/// Classifies a client error by walking its source chain: the body errors
/// the gateway raised itself are found by type, timeouts by I/O kind.
pub(crate) fn classify(error: &ExchangeError) -> Failed {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    let mut timed_out = error.is_timeout();
    while let Some(e) = source {
        if let Some(body) = e.downcast_ref::<RequestBodyError>() {
            return match body {
                RequestBodyError::TooLarge { limit } => Failed::BodyTooLarge(*limit),
                RequestBodyError::Stalled { after } => Failed::ClientBodyStalled(*after),
                RequestBodyError::Client(_) => Failed::ClientBody,
            };
        }
        // HttpConnector reports its connect timeout as an I/O timeout.
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
        }
        source = e.source();
    }
    if timed_out {
        Failed::Upstream(UpstreamError::Timeout)
    } else if error.is_connect() {
        Failed::Upstream(UpstreamError::Connect)
    } else {
        Failed::Upstream(UpstreamError::Protocol)
    }
}

/// The whole error chain on one line, for logs, with what to do about a
/// certificate the gateway does not accept.
pub(crate) fn chain(error: &dyn StdError) -> String {
    let mut out = error.to_string();
    let mut hint = None;
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        hint = hint.or_else(|| e.downcast_ref::<rustls::Error>().and_then(tls_hint));
        source = e.source();
    }
    if let Some(hint) = hint {
        out.push_str(" (");
        out.push_str(hint);
        out.push(')');
    }
    out
}

/// What a certificate error of an `https://` upstream means for the
/// person reading the log; rustls's own text for some of them is its
/// debug output (`Other(OtherError(CaUsedAsEndEntity))`).
fn tls_hint(error: &rustls::Error) -> Option<&'static str> {
    use rustls::CertificateError as E;
    let rustls::Error::InvalidCertificate(cert) = error else {
        return None;
    };
    Some(match cert {
        E::UnknownIssuer => "the upstream's certificate is not signed by a CA the gateway trusts: add that CA with upstream_ca = \"ca.pem\"",
        E::NotValidForName | E::NotValidForNameContext { .. } => "the upstream's certificate is for another name: write the name it was issued for in upstream",
        E::Expired | E::ExpiredContext { .. } => "the upstream's certificate has expired",
        E::NotValidYet | E::NotValidYetContext { .. } => "the upstream's certificate is not valid yet (or this machine's clock is wrong)",
        E::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => "the upstream presents a CA certificate as its own; it needs a server certificate issued by a CA (trust that CA with upstream_ca)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_say_what_to_do() {
        #[derive(Debug)]
        struct Wrap(rustls::Error);
        impl fmt::Display for Wrap {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("connect failed")
            }
        }
        impl StdError for Wrap {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let unknown = Wrap(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        let text = chain(&unknown);
        assert!(
            text.starts_with("connect failed: invalid peer certificate"),
            "{text}"
        );
        assert!(text.contains("upstream_ca"), "{text}");
        let plain = Wrap(rustls::Error::General("boom".into()));
        assert!(!chain(&plain).contains('('), "no hint for other errors");
    }
}
