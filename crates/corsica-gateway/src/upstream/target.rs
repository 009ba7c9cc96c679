//! Where a route's requests go ([`Upstream`]), and the URI each request
//! carries there.

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Uri};

use crate::router::Keepalive;

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
    /// How the worker's own pool reuses connections to it.
    keepalive: Keepalive,
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
            keepalive: Keepalive::default(),
        })
    }

    /// The same upstream, its connections reused as `keepalive` says.
    pub(crate) fn with_keepalive(mut self, keepalive: Keepalive) -> Upstream {
        self.keepalive = keepalive;
        self
    }

    /// How the worker's own pool reuses connections to this upstream.
    pub(super) fn keepalive(&self) -> Keepalive {
        self.keepalive
    }

    /// Whether requests go over the worker's own HTTP/1.1 pool (plain
    /// `http://` without `upstream_http2`), rather than a hyper-util client.
    pub(super) fn uses_own_pool(&self) -> bool {
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
            keepalive: self.keepalive,
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

    /// The host and port requests go to.
    #[inline]
    pub(super) fn authority(&self) -> &Authority {
        &self.authority
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
