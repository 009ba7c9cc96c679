//! Dynamic origins: allowlists kept outside the policy (a tenants table,
//! a config service), looked up asynchronously.

use std::future::Future;
use std::pin::Pin;

use http::header;
use http::Request;

/// The error type a source may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future a source returns.
pub type OriginsFuture = Pin<Box<dyn Future<Output = Result<Vec<String>, BoxError>> + Send>>;

/// What a source is asked: the request's origin and host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginQuery {
    /// The request's `Origin`, exactly as sent.
    pub origin: String,
    /// The request's `Host` header (or URI authority), for multi-tenant lookups.
    pub host: Option<String>,
}

impl OriginQuery {
    /// What a source is asked about `req`.
    pub(crate) fn of<B>(req: &Request<B>) -> Self {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        OriginQuery { origin, host }
    }
}

/// An asynchronous source of allowed origins.
///
/// It is consulted only when the static policy does not allow a request's
/// origin, and only for well-formed origins. What it returns (exact origins
/// or patterns, as in the `origins` list) goes through the same validation
/// as the policy, with the policy's credentials setting and opt-ins:
/// malformed entries, `*`, `null` without its opt-in and so on are dropped
/// and logged, never trusted.
///
/// Any `Fn(OriginQuery) -> impl Future<Output = Result<Vec<String>, BoxError>>`
/// is a source:
///
/// ```
/// use corsica_tower::{BoxError, OriginQuery};
/// let source = |query: OriginQuery| async move {
///     // e.g. SELECT origin FROM tenants WHERE host = $1
///     Ok::<_, BoxError>(vec![format!("https://{}", query.host.unwrap_or_default())])
/// };
/// # let _ = corsica_tower::CorsLayer::new(corsica::Policy::from_toml("origins = [\"https://a.example\"]").unwrap())
/// #     .with_origin_source(source);
/// ```
pub trait OriginSource: Send + Sync + 'static {
    /// The allowlist entries that apply to this request.
    fn origins(&self, query: OriginQuery) -> OriginsFuture;
}

impl<F, Fut> OriginSource for F
where
    F: Fn(OriginQuery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<String>, BoxError>> + Send + 'static,
{
    fn origins(&self, query: OriginQuery) -> OriginsFuture {
        Box::pin(self(query))
    }
}
