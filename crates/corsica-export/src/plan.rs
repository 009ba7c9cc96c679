//! The target-neutral plan: the validated gateway configuration lowered to
//! what every proxy needs. Route selection is read off the gateway's own
//! router, CORS answers off the engine ([`crate::probe`]), and origin,
//! method and header checks are expressions built from the engine's parsed
//! entries ([`crate::regex`]).

use std::net::SocketAddr;
use std::time::Duration;

use corsica::Policy;
use corsica_gateway::config::{GatewayConfig, RouteCors};
use corsica_gateway::router;

use crate::probe::{self, Answers};
use crate::regex;

/// Everything a target renders.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// One server per distinct route host, then the default server.
    pub servers: Vec<Server>,
    /// The routes, indexed by [`Location::route`].
    pub routes: Vec<RoutePlan>,
    /// Connecting to an upstream.
    pub connect_timeout: Duration,
    /// Waiting for an upstream's response.
    pub response_timeout: Duration,
    /// Reading a client's request head.
    pub header_timeout: Duration,
    /// A pause in a client's request body.
    pub body_timeout: Duration,
    /// Idle keep-alive client connections.
    pub idle_timeout: Duration,
    /// The largest request body.
    pub max_body_bytes: u64,
}

/// Requests for one `Host` pattern (or none: the default server).
#[derive(Debug, Clone)]
pub struct Server {
    /// `api.example.com`, `*.example.com` (one label or more), or `None`.
    pub host: Option<String>,
    /// Path prefixes, longest first; each at a segment boundary.
    pub locations: Vec<Location>,
}

/// A path prefix and the route the gateway gives it on this server.
#[derive(Debug, Clone)]
pub struct Location {
    /// The prefix (`/` matches everything).
    pub prefix: String,
    /// Index into [`Plan::routes`].
    pub route: usize,
}

/// One route: its upstream and its CORS handling.
#[derive(Debug, Clone)]
pub struct RoutePlan {
    /// `host:port` of the upstream.
    pub upstream: String,
    /// For an `https://` upstream: how to verify it.
    pub tls: Option<UpstreamTls>,
    /// `upstream_http2`: HTTP/2 with prior knowledge (h2c) to an `http://`
    /// upstream.
    pub http2: bool,
    /// `None` for `cors = false`: pass through untouched.
    pub cors: Option<CorsPlan>,
}

/// Where Debian and its derivatives keep the system's CA bundle, for the
/// targets that must name a file (nginx and Envoy verify nothing unless
/// told which CAs to trust).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// TLS to an `https://` upstream, verified as `corsica serve` verifies it:
/// a certificate for the URL's host, from a trusted CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// The host the certificate must name (brackets stripped from IPv6).
    pub server_name: String,
    /// Whether that host is an IP address: no SNI, an IP address SAN.
    pub ip: bool,
    /// `upstream_ca`, made absolute, as the only CA to trust; `None`: the
    /// system's CA bundle. (`corsica serve` trusts `upstream_ca` on top of
    /// the public roots; the targets take one file, so with `upstream_ca`
    /// they trust less, never more.)
    pub ca_file: Option<String>,
}

/// A policy, as checks and answers.
#[derive(Debug, Clone)]
pub struct CorsPlan {
    /// `None` when every origin is allowed; else one expression (unanchored
    /// text, case-sensitive) per origin entry.
    pub origins: Option<Vec<String>>,
    /// Allowed `Access-Control-Request-Method` (case-sensitive).
    pub methods: String,
    /// Whether methods are `*`, which still refuses [`regex::forbidden_methods`].
    pub any_method: bool,
    /// Allowed `Access-Control-Request-Headers` (case-insensitive).
    pub request_headers: String,
    /// The same, with possessive quantifiers (PCRE only; see
    /// [`regex::request_headers_possessive`]).
    pub request_headers_possessive: String,
    /// Allowed `Access-Control-Request-Headers` that name at least one
    /// header (`None`: the policy allows none).
    pub named_request_headers: Option<String>,
    /// The engine's answers.
    pub answers: Answers,
}

impl CorsPlan {
    /// Lowers a compiled policy.
    pub fn new(policy: &Policy) -> CorsPlan {
        let rules = policy.parsed_origins();
        let origins = (!policy.allows_any_origin())
            .then(|| rules.iter().filter_map(regex::origin_entry).collect());
        let headers = policy.request_headers();
        CorsPlan {
            origins,
            methods: regex::methods(&policy.methods().items, policy.methods().any),
            any_method: policy.methods().any,
            request_headers: regex::request_headers(
                (!headers.any).then_some(headers.items.as_slice()),
            ),
            request_headers_possessive: regex::request_headers_possessive(
                (!headers.any).then_some(headers.items.as_slice()),
            ),
            named_request_headers: regex::named_request_headers(
                (!headers.any).then_some(headers.items.as_slice()),
            ),
            answers: probe::answers(policy),
        }
    }
}

/// A host that `pattern` matches, to ask the router with.
fn sample_host(pattern: &str) -> String {
    match pattern.strip_prefix("*.") {
        Some(base) => format!("corsica-probe.{base}"),
        None => pattern.to_owned(),
    }
}

/// Lowers a validated configuration. Features a target cannot express are
/// refused before this is called ([`crate::refuse`]).
pub fn lower(config: &GatewayConfig) -> Plan {
    let routes: Vec<RoutePlan> = config
        .routes
        .iter()
        .map(|r| RoutePlan {
            upstream: r
                .upstream
                .authority()
                .map(|a| match a.port_u16() {
                    Some(_) => a.to_string(),
                    None if r.upstream.scheme_str() == Some("https") => format!("{}:443", a.host()),
                    None => format!("{}:80", a.host()),
                })
                .unwrap_or_default(),
            http2: r.upstream_http2,
            tls: (r.upstream.scheme_str() == Some("https")).then(|| {
                let host = r.upstream.host().unwrap_or_default();
                let server_name = host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned();
                UpstreamTls {
                    ip: server_name.parse::<std::net::IpAddr>().is_ok(),
                    server_name,
                    ca_file: config.upstream_ca.as_ref().map(|path| {
                        // Read when the file was validated, so it exists; a
                        // proxy started elsewhere needs the absolute path.
                        std::fs::canonicalize(path)
                            .unwrap_or_else(|_| path.clone())
                            .display()
                            .to_string()
                    }),
                }
            }),
            cors: match &r.cors {
                RouteCors::Policy { policy, .. } => Some(CorsPlan::new(policy)),
                RouteCors::Off => None,
            },
        })
        .collect();
    let mut hosts: Vec<Option<String>> = Vec::new();
    for r in &config.routes {
        if r.host.is_some() && !hosts.contains(&r.host) {
            hosts.push(r.host.clone());
        }
    }
    hosts.push(None);
    let servers = hosts
        .into_iter()
        .map(|host| {
            let sample = host.as_deref().map(sample_host);
            // Every prefix that can apply to this host; each gets the route
            // the gateway's router picks for it, so the proxy's "longest
            // prefix wins" never overrides the gateway's "exact host first".
            let mut prefixes: Vec<&str> = Vec::new();
            for r in &config.routes {
                let reachable = r.host.is_none()
                    || sample.as_deref().is_some_and(|s| {
                        router::route_for(std::slice::from_ref(r), Some(s), &r.path_prefix)
                            .is_some()
                    });
                if reachable && !prefixes.contains(&r.path_prefix.as_str()) {
                    prefixes.push(&r.path_prefix);
                }
            }
            prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
            let locations = prefixes
                .into_iter()
                .filter_map(|prefix| {
                    router::route_index(&config.routes, sample.as_deref(), prefix).map(|route| {
                        Location {
                            prefix: prefix.to_owned(),
                            route,
                        }
                    })
                })
                .collect();
            Server { host, locations }
        })
        .collect();
    Plan {
        listen: config.listen,
        servers,
        routes,
        connect_timeout: config.timeouts.connect,
        response_timeout: config.timeouts.upstream_response,
        header_timeout: config.timeouts.header_read,
        body_timeout: config.timeouts.body_read,
        idle_timeout: config.timeouts.idle,
        max_body_bytes: config.limits.max_body_bytes,
    }
}
