//! Validation of the file as written into the [`GatewayConfig`] it
//! describes, one function per section: the listeners, the upstream, the
//! routes (`routes`), TLS, timeouts, limits and logging. Every section is
//! checked whatever the others hold, so one run reports every problem;
//! the diagnostics come out in the order of the file.

use std::net::SocketAddr;
use std::path::PathBuf;

use corsica::policy::Located;
use corsica::{ConfigError, Diagnostic};
use http::Uri;

use super::file::{GatewayFile, LimitsFile, LogFile, TimeoutsFile, TlsFile};
use super::settings::{GatewayConfig, Limits, LogFormat, Timeouts, Tls};
use crate::router::Keepalive;
use crate::tls::TlsFileKind;

mod routes;
mod values;

pub use values::parse_duration;
use values::{
    compile_policy, http2_setting, keepalive_setting, parse_addr, parse_upstream, required_addr,
};

/// Checks every section of `file`, adding to `diags` (the unknown keys
/// found before): the configuration if nothing is an error, else every
/// diagnostic.
pub(super) fn validate(
    file: &GatewayFile,
    mut diags: Vec<Diagnostic>,
) -> Result<GatewayConfig, ConfigError> {
    let (listen, admin_listen) = validate_listeners(file, &mut diags);
    let upstream = validate_upstream(file.upstream.as_ref(), &mut diags);
    let upstream_http2 = http2_setting(
        file.upstream_http2.as_ref(),
        upstream.as_ref(),
        "upstream_http2",
        &mut diags,
    );
    let keepalive = keepalive_setting(
        file.keepalive.as_ref(),
        file.keepalive_requests.as_ref(),
        upstream.as_ref(),
        upstream_http2,
        "",
        Keepalive::default(),
        &mut diags,
    );
    let default_policy = file
        .policy
        .as_ref()
        .and_then(|p| compile_policy(p, "policy.", &mut diags));
    let defaults = routes::Defaults {
        upstream: upstream.clone(),
        upstream_http2,
        keepalive,
        policy: default_policy,
        has_policy_table: file.policy.is_some(),
    };
    let routes = routes::validate_routes(&file.routes, defaults, &mut diags);
    let upstream_ca = validate_upstream_ca(file.upstream_ca.as_ref(), &mut diags);
    let tls = validate_tls(file.tls.as_ref(), &mut diags);
    let timeouts = validate_timeouts(file.timeouts.as_ref(), &mut diags);
    let limits = validate_limits(file.limits.as_ref(), &mut diags);
    let (log_format, debug) = validate_log(file.log.as_ref(), &mut diags);

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

/// `listen` (required) and `admin_listen`, which must not be the same.
fn validate_listeners(
    file: &GatewayFile,
    diags: &mut Vec<Diagnostic>,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let listen = required_addr(&file.listen, "listen", "listen = \"127.0.0.1:8080\"", diags);
    let admin_listen = file
        .admin_listen
        .as_ref()
        .and_then(|a| parse_addr(a, "admin_listen", diags));
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
    (listen, admin_listen)
}

/// `addr` on a port 1000 away from its own, for a suggestion.
fn other_port(addr: SocketAddr) -> SocketAddr {
    let port = addr.port();
    let other = port.checked_add(1000).unwrap_or(port.saturating_sub(1000));
    SocketAddr::new(addr.ip(), other)
}

/// The default `upstream`, which every file needs.
fn validate_upstream(value: Option<&Located<String>>, diags: &mut Vec<Diagnostic>) -> Option<Uri> {
    match value {
        Some(u) => parse_upstream(u, "upstream", diags),
        None => {
            diags.push(Diagnostic::error(
                "upstream-missing",
                "upstream",
                "the gateway has no `upstream`, so it has nothing to forward requests to",
                "add upstream = \"http://127.0.0.1:3000\" (the API's address)",
            ));
            None
        }
    }
}

/// `upstream_ca`: the file is read now, so that a missing or broken one is
/// reported at its key.
fn validate_upstream_ca(
    value: Option<&Located<String>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<PathBuf> {
    let ca = value?;
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
    Some(path)
}

/// `[tls]`: the certificate and key are loaded now, so that a problem is
/// reported at the key of the file it is in.
fn validate_tls(value: Option<&Located<TlsFile>>, diags: &mut Vec<Diagnostic>) -> Option<Tls> {
    let written = &value?.value;
    let files = Tls {
        cert: PathBuf::from(&written.cert.value),
        key: PathBuf::from(&written.key.value),
    };
    if let Err((kind, reason)) = crate::tls::check(&files.cert, &files.key) {
        let (key, at) = match kind {
            TlsFileKind::Cert => ("tls.cert", &written.cert),
            TlsFileKind::Key => ("tls.key", &written.key),
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
    Some(files)
}

/// `[timeouts]`: positive durations, defaults for the rest.
fn validate_timeouts(
    file: Option<&Located<TimeoutsFile>>,
    diags: &mut Vec<Diagnostic>,
) -> Timeouts {
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

/// `[limits]`: sizes and counts within what the gateway can serve.
fn validate_limits(file: Option<&Located<LimitsFile>>, diags: &mut Vec<Diagnostic>) -> Limits {
    let mut l = Limits::default();
    let Some(file) = file else { return l };
    let f = &file.value;
    if let Some(n) = limit(
        f.max_header_bytes.as_ref(),
        "limits.max_header_bytes",
        |n: &usize| (1024..=1024 * 1024).contains(n),
        "is outside 1024..=1048576",
        "use a size in bytes such as 65536",
        diags,
    ) {
        l.max_header_bytes = n;
    }
    if let Some(n) = limit(
        f.max_header_count.as_ref(),
        "limits.max_header_count",
        |n: &usize| (1..=1000).contains(n),
        "is outside 1..=1000",
        "use a count of header fields such as 100",
        diags,
    ) {
        l.max_header_count = n;
    }
    if let Some(n) = limit(
        f.max_body_bytes.as_ref(),
        "limits.max_body_bytes",
        |n: &u64| *n > 0,
        "is not a positive size",
        "use a size in bytes such as 10485760",
        diags,
    ) {
        l.max_body_bytes = n;
    }
    l
}

/// One limit: `None`, with a `bad-limit` error saying that `value`
/// `problem`, when it does not fit `T` or is not `valid`.
fn limit<T: TryFrom<i64>>(
    value: Option<&Located<i64>>,
    key: &str,
    valid: impl Fn(&T) -> bool,
    problem: &str,
    fix: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    let v = value?;
    match T::try_from(v.value) {
        Ok(n) if valid(&n) => Some(n),
        _ => {
            diags.push(
                Diagnostic::error("bad-limit", key, format!("{} {problem}", v.value), fix)
                    .at(v.span.clone()),
            );
            None
        }
    }
}

/// `[log]`: the format and debug mode.
fn validate_log(file: Option<&Located<LogFile>>, diags: &mut Vec<Diagnostic>) -> (LogFormat, bool) {
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
