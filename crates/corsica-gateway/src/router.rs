//! Route matching: which route of a gateway file a request gets.
//!
//! This is the gateway's own routing, made public so that tools which
//! predict what the gateway does (`corsica explain --policy` with a gateway
//! file) pick the route exactly as `corsica serve` does:
//!
//! ```
//! use corsica_gateway::{config, router};
//!
//! let config = config::load_str(
//!     "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n\
//!      [policy]\norigins = [\"https://app.example\"]\n\
//!      [[routes]]\npath_prefix = \"/internal\"\ncors = false\n",
//! )?;
//! let uri = "https://api.example/internal/./x".parse()?;
//! let route = router::route_for_uri(&config.routes, &uri)?.expect("a route");
//! assert_eq!(route.path_prefix, "/internal");
//! assert!(matches!(route.cors, router::RouteCors::Off));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A route matches a request when its `host` (if it has one) matches the
//! request's host without port, and its `path_prefix` matches the path in
//! normal form (see the gateway's path normalisation) at a segment
//! boundary. Of the routes that match, the most specific wins: an exact
//! host beats a `*.` pattern (a longer pattern beats a shorter one), which
//! beats no host; then the longest prefix. A route table is kept sorted
//! that way ([`sort_most_specific_first`]), so the first match is the one.

use http::Uri;

use corsica::Policy;

/// Whether a route enforces its policy or only reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse what the policy refuses.
    Enforce,
    /// Evaluate, log and count, but let everything through unchanged.
    ReportOnly,
}

/// What a route does with CORS.
#[derive(Debug, Clone)]
pub enum RouteCors {
    /// Apply this policy.
    Policy {
        /// The route's policy.
        policy: Box<Policy>,
        /// Enforce or report only.
        mode: Mode,
        /// Send preflights to the upstream instead of answering them.
        forward_preflight: bool,
    },
    /// Pass requests through untouched.
    Off,
}

/// A validated route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Host to match, lower case, without port; `*.example.com` matches
    /// every subdomain of example.com (not example.com itself).
    pub host: Option<String>,
    /// Path prefix to match.
    pub path_prefix: String,
    /// The upstream for this route.
    pub upstream: Uri,
    /// Whether the upstream is spoken to in HTTP/2 with prior knowledge.
    pub upstream_http2: bool,
    /// How connections to the upstream are reused (`keepalive`,
    /// `keepalive_requests`).
    pub keepalive: Keepalive,
    /// What to do with CORS.
    pub cors: RouteCors,
}

/// How connections to an `http://` upstream are reused: the file's
/// `keepalive` and `keepalive_requests`, as nginx's `keepalive` and
/// `keepalive_requests` directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// `keepalive = false`: a new connection for every request, closed
    /// after its response. Slower, and immune to an upstream whose stray
    /// responses would reach the next request on a reused connection.
    pub enabled: bool,
    /// `keepalive_requests`: the most requests one connection carries
    /// before it is closed ([`Keepalive::DEFAULT_MAX_REQUESTS`]).
    pub max_requests: u32,
}

impl Keepalive {
    /// nginx's default for `keepalive_requests` since 1.19.10.
    pub const DEFAULT_MAX_REQUESTS: u32 = 1000;

    /// Whether a connection that has carried `served` requests may carry
    /// another.
    pub fn allows_another(self, served: u32) -> bool {
        self.enabled && served < self.max_requests
    }
}

impl Default for Keepalive {
    fn default() -> Keepalive {
        Keepalive {
            enabled: true,
            max_requests: Keepalive::DEFAULT_MAX_REQUESTS,
        }
    }
}

/// Sorts `routes` most specific first, the order the functions below
/// expect: an exact host beats a `*.` host, which beats none (a longer `*.`
/// suffix beats a shorter one), then the longest prefix. The sort is
/// stable, so routes equally specific keep the order they were written in.
pub fn sort_most_specific_first(routes: &mut [Route]) {
    routes.sort_by(|a, b| {
        host_rank(b.host.as_deref())
            .cmp(&host_rank(a.host.as_deref()))
            .then(b.path_prefix.len().cmp(&a.path_prefix.len()))
    });
}

/// Finds the most specific route (`routes` is sorted most specific first)
/// for a request's host, without port, and its path, in normal form.
pub fn route_for<'r>(routes: &'r [Route], host: Option<&str>, path: &str) -> Option<&'r Route> {
    route_index(routes, host, path).map(|i| &routes[i])
}

/// The position of the most specific route in `routes`, for callers that
/// keep per-route state in a parallel list.
pub fn route_index(routes: &[Route], host: Option<&str>, path: &str) -> Option<usize> {
    routes.iter().position(|r| {
        r.host
            .as_deref()
            .is_none_or(|h| host.is_some_and(|rh| host_matches(h, rh)))
            && prefix_matches(&r.path_prefix, path)
    })
}

/// The route the gateway would give a request for `uri` (an absolute
/// URL such as `https://api.example.com/items?x=1`), routed as the
/// gateway routes it: on the host without port or final dot, and the
/// path in normal form. `Err` with the reason the gateway would give
/// its 400, for a path it refuses.
pub fn route_for_uri<'r>(routes: &'r [Route], uri: &Uri) -> Result<Option<&'r Route>, String> {
    let host = uri.host().map(|h| h.strip_suffix('.').unwrap_or(h));
    let path = uri.path();
    let normal = crate::path::normalize(path).map_err(|e| e.reason().to_owned())?;
    Ok(route_for(routes, host, normal.as_deref().unwrap_or(path)))
}

/// Whether a request's host (without port) matches a route's `host`:
/// exactly, or, for `*.example.com`, any name ending in `.example.com`
/// (one label or more; not `example.com` itself). Case does not matter.
fn host_matches(route_host: &str, request_host: &str) -> bool {
    match route_host.strip_prefix('*') {
        Some(suffix) => {
            request_host.len() > suffix.len()
                && request_host
                    .get(request_host.len() - suffix.len()..)
                    .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
        }
        None => request_host.eq_ignore_ascii_case(route_host),
    }
}

/// How specific a route's `host` is, higher first: exact, then `*.`
/// patterns by the length of their suffix, then none.
fn host_rank(host: Option<&str>) -> (u8, usize) {
    match host {
        None => (0, 0),
        Some(h) if h.starts_with('*') => (1, h.len()),
        Some(_) => (2, 0),
    }
}

/// `/api` matches `/api`, `/api/x` and `/api;v=2/x`, but not `/apix`. A
/// `;` ends a segment's name for Java servers (`/api;jsessionid=1/x` is
/// `/api/x` to Tomcat), so it counts as a boundary: the route with the
/// prefix applies rather than a less specific one.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with(['/', ';']),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_at_segment_boundaries() {
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api", "/api/v1"));
        assert!(!prefix_matches("/api", "/apiv1"));
        assert!(prefix_matches("/", "/anything"));
        assert!(prefix_matches("/api/", "/api/x"));
        assert!(prefix_matches("/api", "/api;jsessionid=1/x"));
        assert!(!prefix_matches("/api", "/api.json"));
    }
}
