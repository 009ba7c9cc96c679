//! Values that more than one section of the file holds: addresses,
//! upstream URLs and their `upstream_http2`, policies, durations. Each
//! checker reports its problem at the value, under the key it is given.

use std::net::SocketAddr;
use std::time::Duration;

use corsica::policy::Located;
use corsica::{Diagnostic, Policy, PolicyConfig};
use http::Uri;

use crate::router::Keepalive;

/// Compiles a policy table whose keys are under `prefix` (`policy.`,
/// `routes[0].policy.`): its warnings and errors get that prefix, and the
/// table's span when they have none of their own.
pub(super) fn compile_policy(
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

/// An address the file must have: `listen-missing` without it.
pub(super) fn required_addr(
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

/// An IP address and port, such as `"127.0.0.1:8080"`.
pub(super) fn parse_addr(
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
pub(super) fn http2_setting(
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

/// An upstream URL: http or https, with a host, and no query or
/// credentials.
pub(super) fn parse_upstream(
    value: &Located<String>,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Uri> {
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

/// `keepalive` and `keepalive_requests` for the upstream they apply to, or
/// `inherited` where neither is written. They steer the gateway's own pool
/// of HTTP/1.1 connections, so they are refused for `https://` and
/// HTTP/2 upstreams, whose connections hyper's pool keeps.
pub(super) fn keepalive_setting(
    enabled: Option<&Located<bool>>,
    max_requests: Option<&Located<i64>>,
    upstream: Option<&Uri>,
    http2: bool,
    prefix: &str,
    inherited: Keepalive,
    diags: &mut Vec<Diagnostic>,
) -> Keepalive {
    if enabled.is_none() && max_requests.is_none() {
        return inherited;
    }
    let own_pool = upstream.and_then(Uri::scheme_str) == Some("http") && !http2;
    if upstream.is_some() && !own_pool {
        for (key, span) in [
            ("keepalive", enabled.map(|v| v.span.clone())),
            ("keepalive_requests", max_requests.map(|v| v.span.clone())),
        ] {
            if let Some(span) = span {
                diags.push(
                    Diagnostic::error(
                        "keepalive-not-http1",
                        format!("{prefix}{key}"),
                        format!("{key} steers the gateway's own HTTP/1.1 connections to http:// upstreams; connections to https:// and HTTP/2 upstreams are kept by hyper's pool, where it would have no effect"),
                        format!("remove {key}, or point this upstream at an http:// URL"),
                    )
                    .at(span),
                );
            }
        }
        return inherited;
    }
    let mut keepalive = Keepalive {
        enabled: enabled.map_or(inherited.enabled, |v| v.value),
        ..inherited
    };
    if let Some(max) = max_requests {
        match u32::try_from(max.value) {
            Ok(n) if (1..=MAX_KEEPALIVE_REQUESTS).contains(&n) => keepalive.max_requests = n,
            _ => diags.push(
                Diagnostic::error(
                    "keepalive-requests",
                    format!("{prefix}keepalive_requests"),
                    format!(
                        "keepalive_requests must be between 1 and {MAX_KEEPALIVE_REQUESTS}, not {}",
                        max.value
                    ),
                    format!(
                        "write keepalive_requests = {} (nginx's default), or keepalive = false for a connection per request",
                        Keepalive::DEFAULT_MAX_REQUESTS
                    ),
                )
                .at(max.span.clone()),
            ),
        }
        if !keepalive.enabled {
            diags.push(
                Diagnostic::warning(
                    "keepalive-requests-unused",
                    format!("{prefix}keepalive_requests"),
                    "keepalive_requests has no effect with keepalive = false: every connection carries one request",
                    "remove keepalive_requests, or keepalive = false",
                )
                .at(max.span.clone()),
            );
        }
    }
    keepalive
}

/// The largest `keepalive_requests`.
const MAX_KEEPALIVE_REQUESTS: u32 = 1_000_000;
