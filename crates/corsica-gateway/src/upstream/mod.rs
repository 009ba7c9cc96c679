//! The upstream side: where requests go, the pooled client that takes them
//! there, and what a failure means.
//!
//! Each worker thread has one [`UpstreamClient`] for every route:
//! `http://` upstreams speak HTTP/1.1 over the worker's own [`H1Pool`], or
//! HTTP/2 with prior knowledge (h2c, for gRPC servers and other h2c-only
//! backends) with `upstream_http2 = true`; `https://` upstreams go through
//! hyper-util's pooled client, verified against the webpki roots (plus any
//! extra CA the embedder trusts), and negotiate HTTP/2 or HTTP/1.1 with
//! ALPN. Connections are pooled and reused across requests and reloads.

pub(crate) mod deadline;
pub(crate) mod h1;
pub(crate) mod pool;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use futures_util::TryFutureExt;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

use crate::body::{RequestBodyError, UpstreamBody};
use crate::headers::ForwardedFields;
use crate::metrics::UpstreamError;
use crate::upstream::deadline::HeadDeadline;
use crate::upstream::pool::{H1Pool, PoolRequest, PooledBody, SendError};

/// hyper-util's pooled client, for `https://` upstreams.
type HttpsClient = Client<HttpsConnector<HttpConnector>, UpstreamBody>;
/// hyper-util's pooled client in HTTP/2-only mode, for h2c upstreams.
type H2cClient = Client<HttpConnector, UpstreamBody>;

/// A worker's way to every upstream.
#[derive(Clone)]
pub(crate) struct UpstreamClient {
    https: HttpsClient,
    /// Offers only HTTP/1.1 in ALPN, for WebSocket handshakes: an upstream
    /// that picks HTTP/2 for them would get a plain GET, since HTTP/2
    /// cannot carry an `Upgrade`.
    https_h1: HttpsClient,
    h2c: H2cClient,
    plain: Arc<H1Pool>,
}

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

/// A request ready for its upstream ([`UpstreamClient::prepare`]).
pub(crate) enum Outgoing {
    /// For the worker's own HTTP/1.1 pool.
    Plain(PoolRequest),
    /// For a hyper-util pooled client (https, h2c).
    Pooled(Request<UpstreamBody>),
}

impl UpstreamClient {
    /// Gets a request whose URI is [`Upstream::request_target`] ready to
    /// send to `upstream`. Called as soon as the request is rewritten,
    /// before hyper reads the client connection again: the worker's pool
    /// serializes a bodiless request's head here (see
    /// [`crate::upstream::pool::DirectRequest`]). The gateway's own `fields` go on it.
    pub(crate) fn prepare(
        &self,
        upstream: &Upstream,
        mut req: Request<UpstreamBody>,
        fields: &ForwardedFields<'_>,
    ) -> Outgoing {
        if upstream.uses_own_pool() {
            Outgoing::Plain(self.plain.prepare(&upstream.authority, req, fields))
        } else {
            fields.apply(req.headers_mut());
            Outgoing::Pooled(req)
        }
    }

    /// Sends a prepared request to `upstream`, and gives up on its
    /// response head at `deadline`.
    ///
    /// Not an `async fn`: that would keep its own copy of `req` beside the
    /// one the pool's future holds, and every proxied request's future
    /// would carry both (it is moved into its box whole; see `H1Pool::send`).
    pub(crate) fn send<'a>(
        &'a self,
        upstream: &'a Upstream,
        req: Outgoing,
        deadline: HeadDeadline,
    ) -> impl Future<Output = Result<Response<PooledBody>, ExchangeError>> + Send + 'a {
        let req = match req {
            Outgoing::Plain(req) => {
                return Either::Left(
                    self.plain
                        .send(&upstream.authority, req, deadline)
                        .map_err(ExchangeError::Plain),
                )
            }
            Outgoing::Pooled(req) => req,
        };
        // Boxed, so that the own pool's requests do not carry the size of
        // hyper-util's futures.
        let pending = if upstream.http2 {
            self.h2c.request(req)
        } else if req.headers().contains_key(http::header::UPGRADE) {
            self.https_h1.request(req)
        } else {
            self.https.request(req)
        };
        Either::Right(Box::pin(async move {
            match deadline.run(pending).await {
                Some(Ok(response)) => Ok(response.map(PooledBody::unpooled)),
                Some(Err(error)) => Err(ExchangeError::Pooled(error)),
                None => Err(ExchangeError::TimedOut),
            }
        }))
    }
}

/// How long an unused pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// One client per worker thread (see [`crate::Options::threads`]).
pub(crate) fn clients(
    connect_timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
    count: usize,
) -> Result<Vec<UpstreamClient>, rustls::Error> {
    (0..count.max(1))
        .map(|_| {
            Ok(UpstreamClient {
                https: https_client(connect_timeout, extra_roots, Alpn::Http2AndHttp1)?,
                https_h1: https_client(connect_timeout, extra_roots, Alpn::Http1)?,
                h2c: h2c_client(connect_timeout),
                plain: Arc::new(H1Pool::new(connect_timeout)),
            })
        })
        .collect()
}

/// The protocols an https client offers in ALPN.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Alpn {
    /// HTTP/2 where the upstream takes it, else HTTP/1.1.
    Http2AndHttp1,
    /// HTTP/1.1 only.
    Http1,
}

/// Builds the client. `extra_roots` are CA certificates trusted on top of
/// the webpki roots (an internal CA, or a test's self-signed certificate).
fn https_client(
    connect_timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
    alpn: Alpn,
) -> Result<HttpsClient, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_roots {
        roots.add(cert.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();

    let mut http = tcp_connector(connect_timeout);
    // The HTTPS connector checks schemes; the plain one must let https through.
    http.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1();
    let connector = match alpn {
        Alpn::Http2AndHttp1 => builder.enable_http2().wrap_connector(http),
        Alpn::Http1 => builder.wrap_connector(http),
    };

    Ok(Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(connector))
}

/// The TCP connector under the pooled clients.
fn tcp_connector(connect_timeout: Duration) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    // Small request/response exchanges: Nagle's delay would only add latency.
    http.set_nodelay(true);
    http.set_keepalive(Some(Duration::from_secs(60)));
    http
}

/// The client for `http://` upstreams with `upstream_http2 = true`: one
/// multiplexed HTTP/2 connection per upstream, opened with prior knowledge.
fn h2c_client(connect_timeout: Duration) -> H2cClient {
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .http2_only(true)
        .build(tcp_connector(connect_timeout))
}

/// Where a route's requests go: scheme, authority and an optional base path
/// that the request's path is appended to.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    scheme: Scheme,
    authority: Authority,
    /// The upstream's path without its trailing `/`; `None` for `/`.
    base: Option<String>,
    /// The `Host` header upstream requests carry, rendered once.
    host: HeaderValue,
    /// The upstream as written, for logs.
    display: String,
    /// HTTP/2 with prior knowledge (`upstream_http2`).
    http2: bool,
}

impl Upstream {
    /// The target for a validated upstream URL (config checked that it has
    /// a scheme and a host); `http2` asks for HTTP/2 with prior knowledge.
    pub(crate) fn new(uri: &Uri, http2: bool) -> Option<Upstream> {
        let scheme = uri.scheme()?.clone();
        let authority = uri.authority()?.clone();
        let base = uri.path().trim_end_matches('/');
        // Like the client would write it: the port only when it is not the
        // scheme's default.
        let default_port = match scheme.as_str() {
            "https" => 443,
            _ => 80,
        };
        let host = match authority.port_u16() {
            Some(port) if port != default_port => authority.as_str().to_owned(),
            _ => authority.host().to_owned(),
        };
        let host = HeaderValue::from_str(&host).ok()?;
        Some(Upstream {
            scheme,
            authority,
            base: (!base.is_empty()).then(|| base.to_owned()),
            host,
            display: uri.to_string(),
            http2,
        })
    }

    /// Whether requests go over the worker's own HTTP/1.1 pool (plain
    /// `http://` without `upstream_http2`), rather than a hyper-util client.
    fn uses_own_pool(&self) -> bool {
        self.scheme == Scheme::HTTP && !self.http2
    }

    /// The URI an upstream request carries: the origin form (`/items?x=1`)
    /// for the worker's own HTTP/1.1 connections, which write it as given;
    /// the absolute URL for the pooled clients, which pick a connection by it.
    pub(crate) fn request_target(
        &self,
        path_and_query: Option<&PathAndQuery>,
    ) -> Result<Uri, http::Error> {
        if self.uses_own_pool() {
            Ok(Uri::from(self.path_for(path_and_query)?))
        } else {
            self.uri_for(path_and_query)
        }
    }

    /// The upstream URL for a request's path and query. Without a base path
    /// this reuses the request's own bytes and allocates nothing.
    pub(crate) fn uri_for(
        &self,
        path_and_query: Option<&PathAndQuery>,
    ) -> Result<Uri, http::Error> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(self.path_for(path_and_query)?)
            .build()
    }

    /// The request's path and query below the upstream's base path.
    fn path_for(&self, path_and_query: Option<&PathAndQuery>) -> Result<PathAndQuery, http::Error> {
        Ok(match (&self.base, path_and_query) {
            (None, Some(pq)) => pq.clone(),
            (None, None) => PathAndQuery::from_static("/"),
            (Some(base), pq) => {
                let rest = pq.map_or("/", |pq| pq.as_str());
                PathAndQuery::try_from(format!("{base}{rest}"))?
            }
        })
    }

    /// A copy that shares no buffer with `self` (see
    /// `RouteProxy::for_connection`).
    pub(crate) fn deep_copy(&self) -> Upstream {
        Upstream {
            scheme: self.scheme.clone(),
            authority: Authority::try_from(self.authority.as_str())
                .unwrap_or_else(|_| self.authority.clone()),
            base: self.base.clone(),
            host: HeaderValue::from_bytes(self.host.as_bytes())
                .unwrap_or_else(|_| self.host.clone()),
            display: self.display.clone(),
            http2: self.http2,
        }
    }

    /// Whether requests travel over HTTP/2 with prior knowledge.
    pub(crate) fn is_h2c(&self) -> bool {
        self.http2
    }

    /// Whether requests may travel over HTTP/2: h2c, or https where ALPN
    /// may pick it.
    pub(crate) fn may_use_http2(&self) -> bool {
        self.http2 || self.scheme == Scheme::HTTPS
    }

    /// The `Host` header for upstream requests.
    pub(crate) fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// The upstream as configured, for logs.
    pub(crate) fn display(&self) -> &str {
        &self.display
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

    #[test]
    fn paths_join_the_base() {
        let plain = Upstream::new(&"http://127.0.0.1:3000".parse().unwrap(), false).unwrap();
        let pq = PathAndQuery::from_static("/items?x=1");
        assert_eq!(
            plain.uri_for(Some(&pq)).unwrap(),
            "http://127.0.0.1:3000/items?x=1"
        );
        let based = Upstream::new(&"https://api.example/v1/".parse().unwrap(), false).unwrap();
        assert_eq!(
            based.uri_for(Some(&pq)).unwrap(),
            "https://api.example/v1/items?x=1"
        );
        assert_eq!(based.uri_for(None).unwrap(), "https://api.example/v1/");
        assert_eq!(plain.host(), "127.0.0.1:3000");
        assert_eq!(based.host(), "api.example");
        let explicit = Upstream::new(&"https://api.example:443".parse().unwrap(), false).unwrap();
        assert_eq!(explicit.host(), "api.example");
    }
}
