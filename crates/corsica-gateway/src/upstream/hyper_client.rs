//! hyper-util's pooled clients, for the upstreams the worker's own pool
//! does not serve: `https://` upstreams, verified against the webpki roots
//! (plus any extra CA the embedder trusts), which negotiate HTTP/2 or
//! HTTP/1.1 with ALPN, and `http://` upstreams with `upstream_http2 = true`
//! (HTTP/2 with prior knowledge, h2c, for gRPC servers and other h2c-only
//! backends).

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

use super::request_body::RequestBody;

/// hyper-util's pooled client, for `https://` upstreams.
type HttpsClient = Client<HttpsConnector<HttpConnector>, RequestBody>;
/// hyper-util's pooled client in HTTP/2-only mode, for h2c upstreams.
type H2cClient = Client<HttpConnector, RequestBody>;

/// A worker's hyper-util clients.
#[derive(Clone)]
pub(crate) struct HyperClients {
    https: HttpsClient,
    /// Offers only HTTP/1.1 in ALPN, for WebSocket handshakes: an upstream
    /// that picks HTTP/2 for them would get a plain GET, since HTTP/2
    /// cannot carry an `Upgrade`.
    https_h1: HttpsClient,
    h2c: H2cClient,
}

impl HyperClients {
    /// The clients, their connections given up after `connect_timeout`.
    /// `extra_roots` are CA certificates trusted on top of the webpki roots.
    pub(crate) fn new(
        connect_timeout: Duration,
        extra_roots: &[CertificateDer<'static>],
    ) -> Result<HyperClients, rustls::Error> {
        Ok(HyperClients {
            https: https_client(connect_timeout, extra_roots, Alpn::Http2AndHttp1)?,
            https_h1: https_client(connect_timeout, extra_roots, Alpn::Http1)?,
            h2c: h2c_client(connect_timeout),
        })
    }

    /// Sends `req` (its URI absolute) on the client that fits it: h2c
    /// with `h2c`, else https, offering only HTTP/1.1 to a handshake.
    #[inline]
    pub(crate) fn request(&self, req: Request<RequestBody>, h2c: bool) -> ResponseFuture {
        if h2c {
            self.h2c.request(req)
        } else if req.headers().contains_key(http::header::UPGRADE) {
            self.https_h1.request(req)
        } else {
            self.https.request(req)
        }
    }
}

/// How long an unused pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

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
