//! One HTTP client for `check` and `audit`: HTTP/1.1 and HTTP/2 (ALPN),
//! https with the system's roots, pooled connections, bounded time.

use std::time::Duration;

use bytes::Bytes;
use corsica::browser::{Incoming, Outgoing, ResponseHeaders};
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as Hyper;
use hyper_util::rt::TokioExecutor;

use super::error::NetError;
use super::tls::client_config;

/// The most response body bytes read (and discarded) per request, so the
/// connection can be reused without trusting the server's size.
const MAX_BODY: usize = 1 << 20;

/// A response's status and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// An HTTP client with a per-request time limit.
#[derive(Clone)]
pub struct Client {
    inner: Hyper<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
}

impl Client {
    /// A client; `insecure` skips certificate verification.
    pub fn new(insecure: bool, timeout: Duration) -> Result<Client, NetError> {
        let tls = client_config(insecure).map_err(|m| NetError::new("tls", m))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner = Hyper::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Client { inner, timeout })
    }

    /// Sends the request the simulated browser asked for.
    pub async fn send(&self, out: &Outgoing) -> Result<Incoming, NetError> {
        let raw = self
            .request(&out.request.method, &out.request.url, &out.headers)
            .await?;
        Ok(Incoming {
            status: raw.status,
            headers: ResponseHeaders::new(raw.headers),
        })
    }

    /// Sends one request with no body; reads the head, drains the body.
    pub async fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, Vec<u8>)],
    ) -> Result<RawResponse, NetError> {
        let invalid = |what: String| NetError::new("invalid", what);
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| invalid(format!("{method:?} is not a method hyper can send")))?;
        let mut builder = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("{name:?} is not a valid header name")))?;
            let value = HeaderValue::from_bytes(value)
                .map_err(|_| invalid(format!("the value of {name} is not a valid header value")))?;
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Empty::<Bytes>::new())
            .map_err(|e| invalid(format!("{url}: {e}")))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| NetError::classify(url, &e))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            // Drain (a bounded amount of) the body so the connection can be reused.
            let _ = Limited::new(response.into_body(), MAX_BODY).collect().await;
            Ok(RawResponse { status, headers })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(NetError::new(
                "timeout",
                format!(
                    "{url} did not answer within {} s",
                    self.timeout.as_secs_f32()
                ),
            )),
        }
    }
}
