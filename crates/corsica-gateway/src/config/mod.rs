//! The gateway's configuration file: where to listen, where the API is, and
//! the CORS policy per route. Parsing reports spans; validation reports
//! every problem at once, with the same diagnostics as `corsica lint`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use corsica::policy::{toml_diagnostic, Located};
use corsica::{ConfigError, Diagnostic, Policy, PolicyConfig};
use http::Uri;
use serde::Deserialize;
use toml::de::DeTable;

mod keys;
mod read;

pub use read::{read_config_file, ReadError, MAX_CONFIG_BYTES};

/// The top-level keys of a gateway file, for "did you mean" hints.
pub const GATEWAY_KEYS: [&str; 11] = [
    "listen",
    "upstream",
    "upstream_http2",
    "upstream_ca",
    "admin_listen",
    "tls",
    "policy",
    "routes",
    "timeouts",
    "limits",
    "log",
];

/// The keys that mark a TOML file as a gateway file rather than a bare policy.
pub const GATEWAY_MARKERS: [&str; 6] = [
    "listen",
    "upstream",
    "admin_listen",
    "tls",
    "policy",
    "routes",
];

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    /// Address the gateway listens on, e.g. `"127.0.0.1:8080"`.
    pub listen: Option<Located<String>>,
    /// The API behind the gateway, e.g. `"http://127.0.0.1:3000"`.
    pub upstream: Option<Located<String>>,
    /// Speak HTTP/2 with prior knowledge (h2c) to an `http://` upstream.
    pub upstream_http2: Option<Located<bool>>,
    /// PEM file of CA certificates trusted for `https://` upstreams, on top
    /// of the webpki roots (an internal CA).
    pub upstream_ca: Option<Located<String>>,
    /// Address of the admin listener (`/healthz`, `/metrics`).
    pub admin_listen: Option<Located<String>>,
    /// TLS termination.
    pub tls: Option<Located<TlsFile>>,
    /// The default policy.
    pub policy: Option<Located<PolicyConfig>>,
    /// Per-route settings; the most specific match wins.
    #[serde(default)]
    pub routes: Vec<Located<RouteFile>>,
    /// Timeouts.
    pub timeouts: Option<Located<TimeoutsFile>>,
    /// Size limits.
    pub limits: Option<Located<LimitsFile>>,
    /// Logging and debug output.
    pub log: Option<Located<LogFile>>,
}

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// PEM certificate chain.
    pub cert: Located<String>,
    /// PEM private key.
    pub key: Located<String>,
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// The path prefix this route covers; must start with `/`. Optional
    /// here so that a route without one is reported with the rest of the
    /// file's problems rather than alone.
    pub path_prefix: Option<Located<String>>,
    /// Only requests for this `Host` (without port).
    pub host: Option<Located<String>>,
    /// This route's own policy.
    pub policy: Option<Located<PolicyConfig>>,
    /// `cors = false` passes requests through untouched.
    pub cors: Option<Located<bool>>,
    /// Send preflights to the upstream instead of answering them.
    pub forward_preflight: Option<Located<bool>>,
    /// `"enforce"` (default) or `"report-only"`.
    pub mode: Option<Located<String>>,
    /// A different upstream for this route.
    pub upstream: Option<Located<String>>,
    /// Speak HTTP/2 with prior knowledge (h2c) to this route's upstream.
    pub upstream_http2: Option<Located<bool>>,
}

/// `[timeouts]`: durations such as `"5s"` or `"250ms"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    /// Connecting to the upstream.
    pub connect: Option<Located<String>>,
    /// Reading a client's request head.
    pub header_read: Option<Located<String>>,
    /// Waiting for the upstream's response head, once the request is sent.
    pub upstream_response: Option<Located<String>>,
    /// A pause in a client's request body.
    pub body_read: Option<Located<String>>,
    /// Closing idle client connections.
    pub idle: Option<Located<String>>,
    /// How long a shutdown waits for requests in flight.
    pub drain: Option<Located<String>>,
}

/// `[limits]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Largest request head a client may send.
    pub max_header_bytes: Option<Located<i64>>,
    /// Largest request body a client may send.
    pub max_body_bytes: Option<Located<i64>>,
    /// Most header fields a request head may carry.
    pub max_header_count: Option<Located<i64>>,
}

/// `[log]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// `"text"` or `"json"`.
    pub format: Option<Located<String>>,
    /// Debug mode: refused requests carry `x-corsica-debug` with the reason.
    pub debug: Option<Located<bool>>,
}

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
    /// What to do with CORS.
    pub cors: RouteCors,
}

/// Timeouts, with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting to the upstream (default 5 s).
    pub connect: Duration,
    /// Reading a request head (default 10 s).
    pub header_read: Duration,
    /// Waiting for the upstream's response head once the request has been
    /// sent, and, while a request body streams, for the upstream to take
    /// its next part (default 60 s).
    pub upstream_response: Duration,
    /// The longest pause in a client's request body before the gateway
    /// answers 408 (default 60 s).
    pub body_read: Duration,
    /// Idle client connections (default 90 s).
    pub idle: Duration,
    /// How long a shutdown waits for requests in flight before it closes
    /// their connections; `None`: [`crate::Options::drain_timeout`] (30 s).
    pub drain: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            header_read: Duration::from_secs(10),
            upstream_response: Duration::from_secs(60),
            body_read: Duration::from_secs(60),
            idle: Duration::from_secs(90),
            drain: None,
        }
    }
}

/// Size limits, with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (default 64 KiB).
    pub max_header_bytes: usize,
    /// Largest request body (default 10 MiB).
    pub max_body_bytes: u64,
    /// Most header fields in a request head (default 100, as hyper's and
    /// Envoy's). Over it, the HTTP parser answers a bare 431 before the
    /// request is routed; over 100, each request head is parsed into a
    /// heap buffer instead of the stack.
    pub max_header_count: usize,
}

/// hyper's own limit of header fields, kept on the stack.
pub const DEFAULT_MAX_HEADER_COUNT: usize = 100;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_body_bytes: 10 * 1024 * 1024,
            max_header_count: DEFAULT_MAX_HEADER_COUNT,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// TLS files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// A validated gateway configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The default upstream.
    pub upstream: Uri,
    /// Whether the default upstream is spoken to in HTTP/2 with prior knowledge.
    pub upstream_http2: bool,
    /// A PEM file of CA certificates trusted for `https://` upstreams on
    /// top of the webpki roots.
    pub upstream_ca: Option<PathBuf>,
    /// The admin listener, if any.
    pub admin_listen: Option<SocketAddr>,
    /// TLS termination, if any.
    pub tls: Option<Tls>,
    /// Routes, most specific first; the last one is the default.
    pub routes: Vec<Route>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Limits.
    pub limits: Limits,
    /// Log format.
    pub log_format: LogFormat,
    /// Debug mode.
    pub debug: bool,
    /// Warnings found while validating.
    pub warnings: Vec<Diagnostic>,
}

/// Whether a TOML document is a gateway file (it has a gateway key) rather
/// than a bare policy.
pub fn is_gateway_file(source: &str) -> bool {
    match source.parse::<toml::Table>() {
        Ok(table) => GATEWAY_MARKERS.iter().any(|k| table.contains_key(*k)),
        Err(_) => GATEWAY_MARKERS
            .iter()
            .any(|k| source.lines().any(|l| l.trim_start().starts_with(k))),
    }
}

/// Parses and validates a gateway file, reporting every problem at once:
/// every unknown key, and every problem of the rest of the file. The TLS
/// files it names are read, so that a missing or broken certificate is
/// reported here, at its key, and not only when the gateway starts.
pub fn load_str(source: &str) -> Result<GatewayConfig, ConfigError> {
    let mut doc = DeTable::parse(source).map_err(|e| ConfigError {
        diagnostics: vec![toml_diagnostic(&e, &[])],
    })?;
    let mut diags = Vec::new();
    keys::prune_unknown(doc.get_mut(), &mut diags);
    // A value of the wrong type stops deserialization at the first one.
    // Each is reported, removed, and deserialization tried again, so that
    // one run reports every such value and every other problem of the file.
    let mut removed = Vec::new();
    let mut wrong = Vec::new();
    let file = loop {
        let attempt = doc.clone();
        match GatewayFile::deserialize(toml::de::Deserializer::from(attempt)) {
            Ok(file) => break file,
            Err(e) => {
                // Unknown keys were pruned above, so no "did you mean" list
                // is needed here: this is a value of the wrong type, or the like.
                let mut diag = toml_diagnostic(&e, &[]);
                let found = e.span().and_then(|at| keys::key_at(doc.get_ref(), &at));
                if let Some((key, example)) = &found {
                    let name = key.rsplit(['.', ']']).next().unwrap_or(key).to_owned();
                    if diag.code == "wrong-type" {
                        diag.fix = format!("write {name} = {example}");
                    }
                    diag.key = key.clone();
                }
                wrong.push(diag);
                match found {
                    Some((key, _)) if keys::remove_at(doc.get_mut(), &key) => removed.push(key),
                    _ => {
                        diags.append(&mut wrong);
                        diags.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
                        return Err(ConfigError { diagnostics: diags });
                    }
                }
            }
        }
    };
    if wrong.is_empty() {
        return validate(&file, diags);
    }
    // A removed value is reported already; what its absence makes
    // validation say of its key ("listen is missing") would repeat it.
    let mut diagnostics = match validate(&file, diags) {
        Ok(_) => Vec::new(),
        Err(ConfigError { diagnostics }) => diagnostics,
    };
    diagnostics.retain(|d| !removed.contains(&d.key));
    diagnostics.append(&mut wrong);
    diagnostics.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    Err(ConfigError { diagnostics })
}

fn validate(file: &GatewayFile, mut diags: Vec<Diagnostic>) -> Result<GatewayConfig, ConfigError> {
    let listen = required_addr(
        &file.listen,
        "listen",
        "listen = \"127.0.0.1:8080\"",
        &mut diags,
    );
    let admin_listen = file
        .admin_listen
        .as_ref()
        .and_then(|a| parse_addr(a, "admin_listen", &mut diags));
    if let (Some(listen), Some(admin)) = (listen, admin_listen) {
        // Port 0 asks the system for a free port: two of them never clash.
        if listen == admin && listen.port() != 0 {
            diags.push(
                Diagnostic::error(
                    "admin-listen-clash",
                    "admin_listen",
                    format!("admin_listen is the same address as listen ({listen}): the two listeners cannot share it"),
                    format!("give the admin listener its own port, e.g. admin_listen = \"{}\"", other_port(listen)),
                )
                .at(file.admin_listen.as_ref().and_then(|a| a.span.clone())),
            );
        }
    }
    let upstream = match &file.upstream {
        Some(u) => parse_upstream(u, "upstream", &mut diags),
        None => {
            diags.push(Diagnostic::error(
                "upstream-missing",
                "upstream",
                "the gateway has no `upstream`, so it has nothing to forward requests to",
                "add upstream = \"http://127.0.0.1:3000\" (the API's address)",
            ));
            None
        }
    };
    let upstream_http2 = http2_setting(
        file.upstream_http2.as_ref(),
        upstream.as_ref(),
        "upstream_http2",
        &mut diags,
    );
    let default_policy = file
        .policy
        .as_ref()
        .and_then(|p| compile_policy(p, "policy.", &mut diags));

    let mut routes = Vec::new();
    let mut seen = Vec::new();
    for (i, route) in file.routes.iter().enumerate() {
        let key = format!("routes[{i}].");
        let r = &route.value;
        let missing = Located {
            value: String::new(),
            span: route.span.clone(),
        };
        let path_prefix = r.path_prefix.as_ref().unwrap_or(&missing);
        let prefix = &path_prefix.value;
        if r.path_prefix.is_none() {
            diags.push(
                Diagnostic::error(
                    "route-path-prefix",
                    format!("{key}path_prefix"),
                    "the route has no path_prefix, so no request would reach it",
                    "add path_prefix = \"/api\" (or \"/\" for every path)",
                )
                .at(route.span.clone()),
            );
        } else if !prefix.starts_with('/') {
            diags.push(
                Diagnostic::error(
                    "route-path-prefix",
                    format!("{key}path_prefix"),
                    format!("path_prefix \"{prefix}\" does not start with '/'"),
                    format!("write \"/{}\"", prefix.trim_start_matches('/')),
                )
                .at(path_prefix.span.clone()),
            );
        } else {
            // Requests are routed on their path in normal form, so a prefix
            // in any other form would never match.
            let problem = match unsendable_in_path(prefix) {
                Some(problem) => Some(problem),
                None => match crate::path::normalize(prefix) {
                Ok(None) => None,
                Ok(Some(normal)) => Some((
                    format!("path_prefix \"{prefix}\" is not in normal form: requests are routed on their normal form, so this route would never match"),
                    format!("write \"{normal}\""),
                )),
                Err(error) => Some((
                    format!("path_prefix \"{prefix}\": {}", error.reason().trim_start_matches("the request path ")),
                    "write the path as a browser would send it, without %-escapes for letters, digits or -._~".to_owned(),
                )),
                },
            };
            if let Some((reason, fix)) = problem {
                diags.push(
                    Diagnostic::error(
                        "route-path-prefix",
                        format!("{key}path_prefix"),
                        reason,
                        fix,
                    )
                    .at(path_prefix.span.clone()),
                );
            }
        }
        let host = r.host.as_ref().map(|h| route_host(h, &key, &mut diags));
        if r.path_prefix.is_some() && seen.contains(&(host.clone(), prefix.clone())) {
            let covered = match &host {
                Some(host) => format!("host \"{host}\" and path_prefix \"{prefix}\""),
                None => format!("path_prefix \"{prefix}\" (on any host)"),
            };
            diags.push(
                Diagnostic::error(
                    "duplicate-route",
                    format!("{key}path_prefix"),
                    format!("another route already covers {covered}"),
                    "merge the two routes",
                )
                .at(path_prefix.span.clone()),
            );
        }
        seen.push((host.clone(), prefix.clone()));
        let cors_off = r.cors.as_ref().is_some_and(|c| !c.value);
        let mode = match r.mode.as_ref().map(|m| m.value.as_str()) {
            None | Some("enforce") => Mode::Enforce,
            Some("report-only") => Mode::ReportOnly,
            Some(other) => {
                diags.push(
                    Diagnostic::error(
                        "route-mode",
                        format!("{key}mode"),
                        format!("mode \"{other}\" is not a mode"),
                        "write mode = \"enforce\" or mode = \"report-only\"",
                    )
                    .at(r.mode.as_ref().and_then(|m| m.span.clone())),
                );
                Mode::Enforce
            }
        };
        let forward_preflight = r.forward_preflight.as_ref().is_some_and(|f| f.value);
        let route_upstream = match &r.upstream {
            Some(u) => parse_upstream(u, &format!("{key}upstream"), &mut diags),
            None => upstream.clone(),
        };
        // The setting follows its upstream: a route on the default upstream
        // inherits the top-level value unless it sets its own.
        let route_http2 = match (&r.upstream_http2, &r.upstream) {
            (Some(set), _) => http2_setting(
                Some(set),
                route_upstream.as_ref(),
                &format!("{key}upstream_http2"),
                &mut diags,
            ),
            (None, Some(_)) => false,
            (None, None) => upstream_http2,
        };
        let cors = if cors_off {
            if let Some(p) = &r.policy {
                diags.push(
                    Diagnostic::error(
                        "route-policy-and-cors-off",
                        format!("{key}cors"),
                        "the route has both its own policy and cors = false",
                        "keep one: the policy table, or cors = false for untouched pass-through",
                    )
                    .at(p.span.clone()),
                );
            }
            for (set, name) in [
                (r.mode.is_some(), "mode"),
                (r.forward_preflight.is_some(), "forward_preflight"),
            ] {
                if set {
                    diags.push(
                        Diagnostic::warning(
                            "route-setting-unused",
                            format!("{key}{name}"),
                            format!("`{name}` has no effect on a route with cors = false"),
                            format!("remove `{name}`"),
                        )
                        .at(r.cors.as_ref().and_then(|c| c.span.clone())),
                    );
                }
            }
            Some(RouteCors::Off)
        } else {
            let policy = match &r.policy {
                Some(p) => compile_policy(p, &format!("{key}policy."), &mut diags),
                None if file.policy.is_none() => {
                    diags.push(
                        Diagnostic::error(
                            "route-without-policy",
                            format!("{key}policy"),
                            "the route has no policy and there is no default [policy]",
                            "add a [routes.policy] table, a default [policy], or cors = false",
                        )
                        .at(route.span.clone()),
                    );
                    None
                }
                None => default_policy.clone(),
            };
            policy.map(|policy| RouteCors::Policy {
                policy: Box::new(policy),
                mode,
                forward_preflight,
            })
        };
        if let (Some(cors), Some(upstream)) = (cors, route_upstream) {
            routes.push(Route {
                host,
                path_prefix: prefix.clone(),
                upstream,
                upstream_http2: route_http2,
                cors,
            });
        }
    }
    let catch_all = file.routes.iter().any(|r| {
        r.value.host.is_none() && r.value.path_prefix.as_ref().is_some_and(|p| p.value == "/")
    });
    if file.policy.is_none() && !catch_all {
        diags.push(Diagnostic::error(
            "policy-missing",
            "policy",
            "there is no default [policy], so requests that match no route would get no CORS handling",
            "add a [policy] table with origins = [...], or a route with path_prefix = \"/\"",
        ));
    }
    if let (Some(policy), Some(upstream)) = (default_policy, upstream.clone()) {
        routes.push(Route {
            host: None,
            path_prefix: "/".into(),
            upstream,
            upstream_http2,
            cors: RouteCors::Policy {
                policy: Box::new(policy),
                mode: Mode::Enforce,
                forward_preflight: false,
            },
        });
    }
    // Most specific first: an exact host beats a `*.` host, which beats
    // none (a longer `*.` suffix beats a shorter one), then the longest prefix.
    routes.sort_by(|a, b| {
        host_rank(b.host.as_deref())
            .cmp(&host_rank(a.host.as_deref()))
            .then(b.path_prefix.len().cmp(&a.path_prefix.len()))
    });

    let upstream_ca = file.upstream_ca.as_ref().map(|ca| {
        let path = PathBuf::from(&ca.value);
        if let Err(reason) = crate::tls::ca_certificates(&path) {
            diags.push(
                Diagnostic::error(
                    "upstream-ca",
                    "upstream_ca",
                    reason,
                    "point upstream_ca at a PEM file of one or more CA certificates (-----BEGIN CERTIFICATE-----); paths are relative to the directory corsica runs in",
                )
                .at(ca.span.clone()),
            );
        }
        path
    });
    let tls = file.tls.as_ref().map(|t| Tls {
        cert: PathBuf::from(&t.value.cert.value),
        key: PathBuf::from(&t.value.key.value),
    });
    if let (Some(files), Some(written)) = (&tls, &file.tls) {
        if let Err((kind, reason)) = crate::tls::check(files) {
            let (key, at) = match kind {
                crate::tls::TlsFileKind::Cert => ("tls.cert", &written.value.cert),
                crate::tls::TlsFileKind::Key => ("tls.key", &written.value.key),
            };
            diags.push(
                Diagnostic::error(
                    "tls-files",
                    key,
                    reason,
                    "point cert at a PEM certificate chain and key at its PEM private key (paths are relative to the directory corsica runs in)",
                )
                .at(at.span.clone()),
            );
        }
    }
    let timeouts = timeouts(file.timeouts.as_ref(), &mut diags);
    let limits = limits(file.limits.as_ref(), &mut diags);
    let (log_format, debug) = log(file.log.as_ref(), &mut diags);

    diags.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    if diags.iter().any(Diagnostic::is_error) {
        return Err(ConfigError { diagnostics: diags });
    }
    let (Some(listen), Some(upstream)) = (listen, upstream) else {
        return Err(ConfigError { diagnostics: diags });
    };
    Ok(GatewayConfig {
        listen,
        upstream,
        upstream_http2,
        upstream_ca,
        admin_listen,
        tls,
        routes,
        timeouts,
        limits,
        log_format,
        debug,
        warnings: diags,
    })
}

fn compile_policy(
    p: &Located<PolicyConfig>,
    prefix: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Policy> {
    match Policy::from_config(&p.value) {
        Ok(policy) => {
            diags.extend(
                policy
                    .warnings()
                    .iter()
                    .cloned()
                    .map(|d| with_table_span(d.within(prefix), p)),
            );
            Some(policy)
        }
        Err(e) => {
            diags.extend(
                e.diagnostics
                    .into_iter()
                    .map(|d| with_table_span(d.within(prefix), p)),
            );
            None
        }
    }
}

/// Diagnostics about a missing key point at the table itself.
fn with_table_span(mut d: Diagnostic, table: &Located<PolicyConfig>) -> Diagnostic {
    if d.span.is_none() {
        d.span = table.span.clone();
    }
    d
}

fn required_addr(
    value: &Option<Located<String>>,
    key: &str,
    example: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<SocketAddr> {
    match value {
        Some(v) => parse_addr(v, key, diags),
        None => {
            diags.push(Diagnostic::error(
                "listen-missing",
                key,
                format!("`{key}` is required"),
                format!("add {example}"),
            ));
            None
        }
    }
}

fn parse_addr(
    value: &Located<String>,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<SocketAddr> {
    match value.value.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            let hint = if value.value.starts_with("localhost") {
                format!(
                    "write \"127.0.0.1{}\"",
                    value.value.trim_start_matches("localhost")
                )
            } else {
                "write an IP address and port, e.g. \"127.0.0.1:8080\" or \"[::]:8443\"".to_owned()
            };
            diags.push(
                Diagnostic::error(
                    "bad-address",
                    key,
                    format!("\"{}\" is not an IP address and port", value.value),
                    hint,
                )
                .at(value.span.clone()),
            );
            None
        }
    }
}

/// Checks an `upstream_http2` setting against the upstream it applies to.
fn http2_setting(
    value: Option<&Located<bool>>,
    upstream: Option<&Uri>,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let Some(value) = value else {
        return false;
    };
    if value.value && upstream.and_then(Uri::scheme_str) == Some("https") {
        diags.push(
            Diagnostic::error(
                "upstream-http2-over-https",
                key,
                "upstream_http2 asks for HTTP/2 with prior knowledge, which is for http:// upstreams; https upstreams negotiate HTTP/2 by ALPN already",
                "remove upstream_http2: the gateway offers h2 and http/1.1 to https upstreams and uses what the server picks",
            )
            .at(value.span.clone()),
        );
        return false;
    }
    value.value
}

fn parse_upstream(value: &Located<String>, key: &str, diags: &mut Vec<Diagnostic>) -> Option<Uri> {
    let bad = |reason: String, fix: &str, diags: &mut Vec<Diagnostic>| {
        diags.push(Diagnostic::error("bad-upstream", key, reason, fix).at(value.span.clone()));
        None
    };
    let uri = match value.value.parse::<Uri>() {
        Ok(uri) => uri,
        Err(e) => {
            return bad(
                format!("\"{}\" is not a URL: {e}", value.value),
                "write a URL such as \"http://127.0.0.1:3000\"",
                diags,
            )
        }
    };
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => {
            return bad(
                format!("\"{}\" has no http:// or https:// scheme", value.value),
                "write a URL such as \"http://127.0.0.1:3000\"",
                diags,
            )
        }
    }
    if uri.host().is_none() {
        return bad(
            format!("\"{}\" has no host", value.value),
            "write a URL such as \"http://127.0.0.1:3000\"",
            diags,
        );
    }
    if uri.query().is_some() {
        return bad(
            format!("\"{}\" has a query string", value.value),
            "remove the query; the client's query is forwarded as is",
            diags,
        );
    }
    if let Some((_, host)) = uri.authority().and_then(|a| a.as_str().rsplit_once('@')) {
        // It would end up in the upstream's Host header, and its logs.
        let scheme = uri.scheme_str().unwrap_or("http");
        return bad(
            format!(
                "\"{}\" has credentials (user@host): HTTP sends none from a URL, and they would leak into the Host header",
                value.value
            ),
            &format!("write {key} = \"{scheme}://{host}{}\"; the gateway forwards the client's Authorization header as it is", uri.path().trim_end_matches('/')),
            diags,
        );
    }
    Some(uri)
}

/// Why a `path_prefix` holds what no request path does, with the fix: a
/// query or fragment (a path ends before them), or a character a client
/// sends %-escaped (non-ASCII, spaces, controls).
fn unsendable_in_path(prefix: &str) -> Option<(String, String)> {
    if let Some(at) = prefix.find(['?', '#']) {
        let what = if prefix[at..].starts_with('?') {
            "a query: routes match the path alone"
        } else {
            "a fragment, which clients never send"
        };
        return Some((
            format!("path_prefix \"{prefix}\" has {what}"),
            format!("write \"{}\"", &prefix[..at]),
        ));
    }
    let escape = |c: char| c.is_ascii_control() || c == ' ' || !c.is_ascii();
    if !prefix.contains(escape) {
        return None;
    }
    let mut escaped = String::with_capacity(prefix.len() * 3);
    for c in prefix.chars() {
        if escape(c) {
            let mut utf8 = [0; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                escaped.push_str(&format!("%{byte:02X}"));
            }
        } else {
            escaped.push(c);
        }
    }
    Some((
        format!("path_prefix \"{prefix}\" has characters that clients send %-escaped, so no request path holds them as written"),
        format!("write \"{escaped}\""),
    ))
}

/// `addr` on a port 1000 away from its own, for a suggestion.
fn other_port(addr: SocketAddr) -> SocketAddr {
    let port = addr.port();
    let other = port.checked_add(1000).unwrap_or(port.saturating_sub(1000));
    SocketAddr::new(addr.ip(), other)
}

/// Parses `"250ms"`, `"5s"`, `"2m"`, `"1h"`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

fn timeouts(file: Option<&Located<TimeoutsFile>>, diags: &mut Vec<Diagnostic>) -> Timeouts {
    let mut t = Timeouts::default();
    let Some(file) = file else { return t };
    let f = &file.value;
    let mut drain = t.drain.unwrap_or_default();
    for (value, slot, name) in [
        (&f.connect, &mut t.connect, "connect"),
        (&f.header_read, &mut t.header_read, "header_read"),
        (
            &f.upstream_response,
            &mut t.upstream_response,
            "upstream_response",
        ),
        (&f.body_read, &mut t.body_read, "body_read"),
        (&f.idle, &mut t.idle, "idle"),
        (&f.drain, &mut drain, "drain"),
    ] {
        if let Some(v) = value {
            match parse_duration(&v.value) {
                Some(d) if !d.is_zero() => *slot = d,
                _ => diags.push(
                    Diagnostic::error(
                        "bad-duration",
                        format!("timeouts.{name}"),
                        format!("\"{}\" is not a duration", v.value),
                        "write a positive duration such as \"250ms\", \"5s\" or \"2m\"",
                    )
                    .at(v.span.clone()),
                ),
            }
        }
    }
    if f.drain.is_some() && !drain.is_zero() {
        t.drain = Some(drain);
    }
    t
}

fn limits(file: Option<&Located<LimitsFile>>, diags: &mut Vec<Diagnostic>) -> Limits {
    let mut l = Limits::default();
    let Some(file) = file else { return l };
    if let Some(v) = &file.value.max_header_bytes {
        match usize::try_from(v.value) {
            Ok(n) if (1024..=1024 * 1024).contains(&n) => l.max_header_bytes = n,
            _ => diags.push(
                Diagnostic::error(
                    "bad-limit",
                    "limits.max_header_bytes",
                    format!("{} is outside 1024..=1048576", v.value),
                    "use a size in bytes such as 65536",
                )
                .at(v.span.clone()),
            ),
        }
    }
    if let Some(v) = &file.value.max_header_count {
        match usize::try_from(v.value) {
            Ok(n) if (1..=1000).contains(&n) => l.max_header_count = n,
            _ => diags.push(
                Diagnostic::error(
                    "bad-limit",
                    "limits.max_header_count",
                    format!("{} is outside 1..=1000", v.value),
                    "use a count of header fields such as 100",
                )
                .at(v.span.clone()),
            ),
        }
    }
    if let Some(v) = &file.value.max_body_bytes {
        match u64::try_from(v.value) {
            Ok(n) if n > 0 => l.max_body_bytes = n,
            _ => diags.push(
                Diagnostic::error(
                    "bad-limit",
                    "limits.max_body_bytes",
                    format!("{} is not a positive size", v.value),
                    "use a size in bytes such as 10485760",
                )
                .at(v.span.clone()),
            ),
        }
    }
    l
}

fn log(file: Option<&Located<LogFile>>, diags: &mut Vec<Diagnostic>) -> (LogFormat, bool) {
    let Some(file) = file else {
        return (LogFormat::Text, false);
    };
    let format = match file
        .value
        .format
        .as_ref()
        .map(|f| (f.value.as_str(), f.span.clone()))
    {
        None | Some(("text", _)) => LogFormat::Text,
        Some(("json", _)) => LogFormat::Json,
        Some((other, span)) => {
            diags.push(
                Diagnostic::error(
                    "bad-log-format",
                    "log.format",
                    format!("\"{other}\" is not a log format"),
                    "write format = \"text\" or format = \"json\"",
                )
                .at(span),
            );
            LogFormat::Text
        }
    };
    (format, file.value.debug.as_ref().is_some_and(|d| d.value))
}

impl GatewayConfig {
    /// The route for a request's host and path: the most specific match.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<&Route> {
        route_for(&self.routes, host, path)
    }

    /// The route the gateway would give a request for `uri` (an absolute
    /// URL such as `https://api.example.com/items?x=1`), routed as the
    /// gateway routes it: on the host without port or final dot, and the
    /// path in normal form. `Err` with the reason the gateway would give
    /// its 400, for a path it refuses.
    pub fn route_for_uri(&self, uri: &Uri) -> Result<Option<&Route>, String> {
        let host = uri.host().map(|h| h.strip_suffix('.').unwrap_or(h));
        let path = uri.path();
        let normal = crate::path::normalize(path).map_err(|e| e.reason().to_owned())?;
        Ok(self.route(host, normal.as_deref().unwrap_or(path)))
    }
}

/// Finds the most specific route (`routes` is sorted most specific first).
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

/// A route's `host`, checked and lower-cased: a name or IP address
/// without port, or `*.` and a name. A value a request's host can never
/// match is an error rather than a route that silently never applies.
fn route_host(host: &Located<String>, key: &str, diags: &mut Vec<Diagnostic>) -> String {
    let value = host.value.to_ascii_lowercase();
    let name = value.strip_prefix("*.").unwrap_or(&value);
    let problem = if name.contains('*') {
        Some((
            format!("host \"{value}\" has a `*` that is not a leading `*.`"),
            "write a name, or `*.example.com` for every subdomain of example.com".to_owned(),
        ))
    } else if let Some(bare) = name.strip_suffix('.') {
        Some((
            format!(
                "host \"{value}\" ends with a dot; requests are routed by their host without it"
            ),
            format!(
                "write host = \"{}\"",
                value.strip_suffix('.').unwrap_or(bare)
            ),
        ))
    } else if name.matches(':').count() > 1 && !name.starts_with('[') {
        Some((
            format!("host \"{value}\" looks like an IPv6 address without brackets; the Host header carries one as [{name}]"),
            format!("write host = \"[{name}]\""),
        ))
    } else if crate::headers::without_port(name) != name {
        Some((
            format!("host \"{value}\" has a port; routes match the Host header without its port"),
            format!("write host = \"{}\"", crate::headers::without_port(&value)),
        ))
    } else if name.is_empty() || !crate::headers::is_valid_host(name.as_bytes()) {
        Some((
            format!("host \"{value}\" is not a host name or IP address"),
            "write a name such as \"api.example.com\", without scheme, path or port".to_owned(),
        ))
    } else {
        None
    };
    if let Some((reason, fix)) = problem {
        diags.push(
            Diagnostic::error("route-host", format!("{key}host"), reason, fix)
                .at(host.span.clone()),
        );
    }
    value
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

    const GOOD: &str = r#"
listen = "127.0.0.1:8080"
upstream = "http://127.0.0.1:3000"
admin_listen = "127.0.0.1:9090"

[policy]
origins = ["https://app.example.com"]
credentials = true

[[routes]]
path_prefix = "/public"
[routes.policy]
origins = ["*"]

[[routes]]
path_prefix = "/internal"
cors = false

[[routes]]
path_prefix = "/legacy"
mode = "report-only"
forward_preflight = true
"#;

    #[test]
    fn a_good_file_loads_with_routes_most_specific_first() {
        let cfg = load_str(GOOD).unwrap();
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:8080");
        let public = cfg.route(None, "/public/items").unwrap();
        assert!(
            matches!(&public.cors, RouteCors::Policy { policy, .. } if policy.allows_any_origin())
        );
        assert!(matches!(
            cfg.route(None, "/internal").unwrap().cors,
            RouteCors::Off
        ));
        assert!(matches!(
            cfg.route(None, "/legacy/x").unwrap().cors,
            RouteCors::Policy {
                mode: Mode::ReportOnly,
                forward_preflight: true,
                ..
            }
        ));
        let default = cfg.route(None, "/publicity").unwrap();
        assert_eq!(default.path_prefix, "/");
    }

    #[test]
    fn every_problem_is_reported_with_a_span() {
        let src = r#"
listen = "localhost:8080"
upstream = "ftp://x"

[policy]
origins = ["https://a.example/"]
credentials = true
methods = ["TRACE"]

[[routes]]
path_prefix = "api"
cors = false
[routes.policy]
origins = ["*"]
"#;
        let err = load_str(src).unwrap_err();
        let codes: Vec<_> = err.diagnostics.iter().map(|d| d.code).collect();
        for code in [
            "bad-address",
            "bad-upstream",
            "origin-trailing-slash",
            "method-forbidden",
            "route-path-prefix",
            "route-policy-and-cors-off",
        ] {
            assert!(codes.contains(&code), "{code} missing from {codes:?}");
        }
        assert!(
            err.diagnostics.iter().all(|d| d.span.is_some()),
            "{:?}",
            err.diagnostics
        );
        let trailing = err
            .diagnostics
            .iter()
            .find(|d| d.code == "origin-trailing-slash")
            .unwrap();
        assert_eq!(trailing.key, "policy.origins[0]");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = load_str("listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\nupstrem = 1\n")
            .unwrap_err();
        assert_eq!(err.diagnostics[0].code, "unknown-key");
        assert!(
            err.diagnostics[0].fix.contains("`upstream`"),
            "{}",
            err.diagnostics[0].fix
        );
        let err = load_str(
            "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigin = [\"*\"]\n",
        )
        .unwrap_err();
        let unknown = err
            .diagnostics
            .iter()
            .find(|d| d.code == "unknown-key")
            .unwrap();
        assert!(unknown.fix.contains("`origins`"), "{}", unknown.fix);
        assert_eq!(unknown.key, "policy.origin");
    }

    #[test]
    fn every_unknown_key_and_every_other_problem_come_in_one_run() {
        let source = "listen = \"127.0.0.1:1\"\nupstream = \"ftp://a\"\norigins = [\"https://a.example\"]\n\
            lisen = 1\n[policy]\norigins = [\"*\"]\ncredentials = true\nmax_agee = 5\n\
            [[routes]]\npath_prefix = \"/a\"\nmethods = [\"PUT\"]\n[routes.policy]\norigins = [\"https://b.example\"]\nfoo = 1\n\
            [timeouts]\nconect = \"1s\"\n";
        let err = load_str(source).unwrap_err();
        let unknown: Vec<&str> = err
            .diagnostics
            .iter()
            .filter(|d| d.code == "unknown-key")
            .map(|d| d.key.as_str())
            .collect();
        assert_eq!(
            unknown,
            [
                "origins",
                "lisen",
                "policy.max_agee",
                "routes[0].methods",
                "routes[0].policy.foo",
                "timeouts.conect"
            ]
        );
        let fix_of = |key: &str| &err.diagnostics.iter().find(|d| d.key == key).unwrap().fix;
        assert!(
            fix_of("origins").contains("move it under [policy]"),
            "{}",
            fix_of("origins")
        );
        assert!(fix_of("lisen").contains("`listen`"), "{}", fix_of("lisen"));
        assert!(fix_of("routes[0].methods").contains("[routes.policy]"));
        assert!(fix_of("timeouts.conect").contains("`connect`"));
        // The rest of the file is still checked: the upstream's scheme,
        // `*` with credentials.
        assert!(
            err.diagnostics.iter().any(|d| d.key == "upstream"),
            "{err:?}"
        );
        assert!(
            err.diagnostics
                .iter()
                .any(|d| d.key.starts_with("policy.") && d.code != "unknown-key"),
            "{err:?}"
        );
        for d in &err.diagnostics {
            assert!(d.span.is_some(), "{d:?} has no location");
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key_and_an_example() {
        let err = load_str("listen = 8080\nupstream = \"http://a\"\n").unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!((d.code, d.key.as_str()), ("wrong-type", "listen"));
        assert_eq!(d.fix, "write listen = \"127.0.0.1:8080\"");
        let err = load_str(
            "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[[routes]]\npath_prefix = \"/a\"\ncors = \"no\"\n",
        )
        .unwrap_err();
        let d = err
            .diagnostics
            .iter()
            .find(|d| d.code == "wrong-type")
            .unwrap();
        assert_eq!(d.key, "routes[0].cors");
        assert_eq!(d.fix, "write cors = false");
    }

    #[test]
    fn a_path_prefix_must_be_in_normal_form() {
        let file = |prefix: &str| {
            format!(
                "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
                 [[routes]]\npath_prefix = \"{prefix}\"\ncors = false\n"
            )
        };
        for (prefix, fix) in [
            ("/%7Ebob", "write \"/~bob\""),
            ("/a//b", "write \"/a/b\""),
            ("/a/./b", "write \"/a/b\""),
            ("/caf%c3%a9", "write \"/caf%C3%A9\""),
        ] {
            let err = load_str(&file(prefix)).unwrap_err();
            let d = &err.diagnostics[0];
            assert_eq!(
                (d.code, d.fix.as_str()),
                ("route-path-prefix", fix),
                "{prefix}"
            );
        }
        for bad in ["/a%zz", "/a\\\\b", "/x/..;/y"] {
            let err = load_str(&file(bad)).unwrap_err();
            assert_eq!(err.diagnostics[0].code, "route-path-prefix", "{bad}");
        }
        assert!(load_str(&file("/api/v1")).is_ok());
    }

    #[test]
    fn tls_files_are_checked_where_they_are_named() {
        let source = "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
            [tls]\ncert = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n";
        let err = load_str(source).unwrap_err();
        let tls = err
            .diagnostics
            .iter()
            .find(|d| d.code == "tls-files")
            .unwrap();
        assert_eq!(tls.key, "tls.cert");
        assert!(
            tls.reason.contains("/nonexistent/cert.pem"),
            "{}",
            tls.reason
        );
        let span = tls.span.clone().unwrap();
        assert_eq!(&source[span], "\"/nonexistent/cert.pem\"");
    }

    #[test]
    fn the_admin_listener_needs_its_own_address() {
        let err = load_str(
            "listen = \"127.0.0.1:8080\"\nadmin_listen = \"127.0.0.1:8080\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n",
        )
        .unwrap_err();
        assert_eq!(err.diagnostics[0].code, "admin-listen-clash");
        assert!(err.diagnostics[0].fix.contains("127.0.0.1:9080"));
        let err = load_str(
            "listen = \"[::1]:65000\"\nadmin_listen = \"[::1]:65000\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n",
        )
        .unwrap_err();
        assert!(
            err.diagnostics[0]
                .fix
                .contains("admin_listen = \"[::1]:64000\""),
            "{}",
            err.diagnostics[0].fix
        );
    }

    #[test]
    fn path_prefixes_no_request_path_holds_are_errors_with_the_sendable_form() {
        let file = |prefix: &str| {
            format!(
                "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
                 [[routes]]\npath_prefix = \"{prefix}\"\ncors = false\n"
            )
        };
        for (bad, fixed) in [
            ("/café", "\"/caf%C3%A9\""),
            ("/a b", "\"/a%20b\""),
            ("/q?x=1", "\"/q\""),
            ("/a#f", "\"/a\""),
        ] {
            let err = load_str(&file(bad)).unwrap_err();
            assert_eq!(err.diagnostics[0].code, "route-path-prefix", "{bad}");
            assert!(
                err.diagnostics[0].fix.contains(fixed),
                "{bad}: {}",
                err.diagnostics[0].fix
            );
        }
        // The suggested forms are themselves accepted, and match what a
        // browser sends for the original.
        let config = load_str(&file("/caf%C3%A9")).unwrap();
        assert!(config
            .route(None, "/caf%C3%A9/menu")
            .is_some_and(|r| r.path_prefix == "/caf%C3%A9"));
    }

    #[test]
    fn values_of_the_wrong_type_and_a_missing_path_prefix_hide_no_other_problem() {
        let src = r#"
listen = 8080
upstream = "ftp://a"

[timeouts]
idle = -1
connect = "5 parsecs"

[policy]
origins = ["https://a.example/"]
credentials = "yes"

[[routes]]
cors = false

[[routes]]
path_prefix = "api"
cors = false
"#;
        let err = load_str(src).unwrap_err();
        let found: Vec<_> = err
            .diagnostics
            .iter()
            .map(|d| (d.code, d.key.as_str()))
            .collect();
        for expected in [
            ("wrong-type", "listen"),
            ("bad-upstream", "upstream"),
            ("wrong-type", "timeouts.idle"),
            ("bad-duration", "timeouts.connect"),
            ("origin-trailing-slash", "policy.origins[0]"),
            ("wrong-type", "policy.credentials"),
            ("route-path-prefix", "routes[0].path_prefix"),
            ("route-path-prefix", "routes[1].path_prefix"),
        ] {
            assert!(
                found.contains(&expected),
                "{expected:?} missing from {found:?}"
            );
        }
        // The removed `listen` is not reported a second time as missing.
        assert_eq!(
            found.iter().filter(|(_, k)| *k == "listen").count(),
            1,
            "{found:?}"
        );
        assert!(
            err.diagnostics.iter().all(|d| d.span.is_some()),
            "{:?}",
            err.diagnostics
        );
    }

    #[test]
    fn an_upstream_url_with_credentials_is_an_error() {
        let err = load_str(
            "listen = \"127.0.0.1:1\"\nupstream = \"http://user:pw@127.0.0.1:3000/base\"\n[policy]\norigins = [\"https://a.example\"]\n",
        )
        .unwrap_err();
        assert_eq!(err.diagnostics[0].code, "bad-upstream");
        assert!(
            err.diagnostics[0]
                .fix
                .contains("upstream = \"http://127.0.0.1:3000/base\""),
            "{}",
            err.diagnostics[0].fix
        );
    }

    #[test]
    fn route_hosts_are_names_or_subdomain_patterns() {
        let file = |host: &str| {
            format!(
                "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
                 [[routes]]\npath_prefix = \"/\"\nhost = \"{host}\"\n[routes.policy]\norigins = [\"https://b.example\"]\n"
            )
        };
        for bad in [
            "Example.COM:443",
            "a*.example.com",
            "*",
            "exa mple.com",
            "https://example.com",
            "",
        ] {
            let err = load_str(&file(bad)).unwrap_err();
            assert_eq!(err.diagnostics[0].code, "route-host", "{bad}");
        }
        for (bad, fixed) in [
            ("example.com:443", "host = \"example.com\""),
            ("api.example.com.", "host = \"api.example.com\""),
            ("*.example.com.", "host = \"*.example.com\""),
            ("::1", "host = \"[::1]\""),
        ] {
            let err = load_str(&file(bad)).unwrap_err();
            assert_eq!(err.diagnostics[0].code, "route-host", "{bad}");
            assert!(
                err.diagnostics[0].fix.contains(fixed),
                "{bad}: {}",
                err.diagnostics[0].fix
            );
        }
        assert!(load_str(&file("[::1]")).is_ok());
        let config = load_str(&file("*.Example.com")).unwrap();
        let host_of = |host: Option<&str>| config.route(host, "/x").and_then(|r| r.host.clone());
        assert_eq!(
            host_of(Some("api.example.com")).as_deref(),
            Some("*.example.com")
        );
        assert_eq!(
            host_of(Some("a.b.EXAMPLE.com")).as_deref(),
            Some("*.example.com")
        );
        assert_eq!(host_of(Some("example.com")), None);
        assert_eq!(host_of(Some("badexample.com")), None);
        assert_eq!(host_of(None), None);
    }

    #[test]
    fn an_exact_host_beats_a_pattern_which_beats_none() {
        let config = load_str(
            "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[policy]\norigins = [\"https://a.example\"]\n\
             [[routes]]\npath_prefix = \"/\"\nhost = \"*.example.com\"\n[routes.policy]\norigins = [\"https://p.example\"]\n\
             [[routes]]\npath_prefix = \"/\"\nhost = \"*.eu.example.com\"\n[routes.policy]\norigins = [\"https://q.example\"]\n\
             [[routes]]\npath_prefix = \"/\"\nhost = \"api.eu.example.com\"\n[routes.policy]\norigins = [\"https://r.example\"]\n",
        )
        .unwrap();
        let host_of = |host: &str| config.route(Some(host), "/x").and_then(|r| r.host.clone());
        assert_eq!(
            host_of("api.eu.example.com").as_deref(),
            Some("api.eu.example.com")
        );
        assert_eq!(
            host_of("www.eu.example.com").as_deref(),
            Some("*.eu.example.com")
        );
        assert_eq!(host_of("www.example.com").as_deref(), Some("*.example.com"));
        assert_eq!(host_of("other.test"), None);
    }

    #[test]
    fn a_missing_default_policy_is_an_error_unless_a_route_catches_all() {
        let err = load_str("listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n").unwrap_err();
        assert_eq!(err.diagnostics[0].code, "policy-missing");
        let ok = load_str("listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\n[[routes]]\npath_prefix = \"/\"\ncors = false\n");
        assert!(ok.is_ok());
    }

    #[test]
    fn route_index_points_into_the_sorted_routes() {
        let cfg = load_str(GOOD).unwrap();
        let i = route_index(&cfg.routes, None, "/legacy/x").unwrap();
        assert_eq!(cfg.routes[i].path_prefix, "/legacy");
        let default = route_index(&cfg.routes, Some("any.example"), "/").unwrap();
        assert_eq!(cfg.routes[default].path_prefix, "/");
        assert_eq!(route_index(&cfg.routes[..1], None, "/elsewhere"), None);
    }

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

    #[test]
    fn upstream_http2_is_for_http_upstreams_and_follows_its_upstream() {
        let base = "listen = \"127.0.0.1:1\"\nupstream = \"http://a\"\nupstream_http2 = true\n[policy]\norigins = [\"https://app.example\"]\n";
        let ok = load_str(&format!(
            "{base}[[routes]]\npath_prefix = \"/own\"\nupstream = \"http://b\"\n[[routes]]\npath_prefix = \"/same\"\n"
        ))
        .unwrap();
        let http2 = |prefix: &str| {
            ok.routes
                .iter()
                .find(|r| r.path_prefix == prefix)
                .unwrap()
                .upstream_http2
        };
        assert!(http2("/"), "the default route uses the top-level setting");
        assert!(
            http2("/same"),
            "a route on the default upstream inherits it"
        );
        assert!(!http2("/own"), "a route with its own upstream does not");
        let err = load_str(
            "listen = \"127.0.0.1:1\"\nupstream = \"https://a\"\nupstream_http2 = true\n[policy]\norigins = [\"https://app.example\"]\n",
        )
        .unwrap_err();
        assert_eq!(err.diagnostics[0].code, "upstream-http2-over-https");
        assert!(err.diagnostics[0].reason.contains("ALPN"));
        assert!(err.diagnostics[0].fix.contains("remove upstream_http2"));
        assert!(err.diagnostics[0].span.is_some());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("s"), None);
    }

    #[test]
    fn gateway_files_are_recognised() {
        assert!(is_gateway_file(GOOD));
        assert!(!is_gateway_file("origins = [\"*\"]"));
    }
}
