//! The `[[routes]]` section: each route checked (its path prefix, host,
//! mode, upstream and policy), the default route added from the top-level
//! settings, and the table sorted for the [`router`].

use corsica::policy::Located;
use corsica::{Diagnostic, Policy};
use http::Uri;

use super::values::{compile_policy, http2_setting, keepalive_setting, parse_upstream};
use crate::config::file::RouteFile;
use crate::router::{self, Keepalive, Mode, Route, RouteCors};

/// What a route takes from the top level of the file unless it sets its
/// own.
pub(super) struct Defaults {
    /// The default upstream, if valid.
    pub(super) upstream: Option<Uri>,
    /// The top-level `upstream_http2`.
    pub(super) upstream_http2: bool,
    /// The top-level `keepalive` and `keepalive_requests`.
    pub(super) keepalive: Keepalive,
    /// The default policy, if valid.
    pub(super) policy: Option<Policy>,
    /// Whether the file has a default `[policy]`, valid or not: a route
    /// without its own policy is then no problem of its own.
    pub(super) has_policy_table: bool,
}

/// Checks every route and builds the route table, most specific first,
/// with the default route (the top-level policy on `/`) last.
pub(super) fn validate_routes(
    written: &[Located<RouteFile>],
    defaults: Defaults,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Route> {
    let mut routes = Vec::new();
    // The (host, path_prefix) pairs covered so far, for duplicates.
    let mut seen = Vec::new();
    for (i, route) in written.iter().enumerate() {
        if let Some(route) = validate_route(i, route, &defaults, &mut seen, diags) {
            routes.push(route);
        }
    }
    let catch_all = written.iter().any(|r| {
        r.value.host.is_none() && r.value.path_prefix.as_ref().is_some_and(|p| p.value == "/")
    });
    if !defaults.has_policy_table && !catch_all {
        diags.push(Diagnostic::error(
            "policy-missing",
            "policy",
            "there is no default [policy], so requests that match no route would get no CORS handling",
            "add a [policy] table with origins = [...], or a route with path_prefix = \"/\"",
        ));
    }
    if let (Some(policy), Some(upstream)) = (defaults.policy, defaults.upstream) {
        routes.push(Route {
            host: None,
            path_prefix: "/".into(),
            upstream,
            upstream_http2: defaults.upstream_http2,
            keepalive: defaults.keepalive,
            cors: RouteCors::Policy {
                policy: Box::new(policy),
                mode: Mode::Enforce,
                forward_preflight: false,
            },
        });
    }
    router::sort_most_specific_first(&mut routes);
    routes
}

/// Checks `routes[i]`: the route, unless it has an error that leaves it
/// without upstream or CORS handling.
fn validate_route(
    i: usize,
    route: &Located<RouteFile>,
    defaults: &Defaults,
    seen: &mut Vec<(Option<String>, String)>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Route> {
    let key = format!("routes[{i}].");
    let r = &route.value;
    // A route without path_prefix is reported (below), then checked on
    // with an empty one, pointing at the route.
    let missing = Located {
        value: String::new(),
        span: route.span.clone(),
    };
    let path_prefix = r.path_prefix.as_ref().unwrap_or(&missing);
    let prefix = &path_prefix.value;
    match &r.path_prefix {
        None => diags.push(
            Diagnostic::error(
                "route-path-prefix",
                format!("{key}path_prefix"),
                "the route has no path_prefix, so no request would reach it",
                "add path_prefix = \"/api\" (or \"/\" for every path)",
            )
            .at(route.span.clone()),
        ),
        Some(written) => check_path_prefix(written, &key, diags),
    }
    let host = r.host.as_ref().map(|h| route_host(h, &key, diags));
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
    let mode = route_mode(r.mode.as_ref(), &key, diags);
    let upstream = match &r.upstream {
        Some(u) => parse_upstream(u, &format!("{key}upstream"), diags),
        None => defaults.upstream.clone(),
    };
    // The setting follows its upstream: a route on the default upstream
    // inherits the top-level value unless it sets its own.
    let upstream_http2 = match (&r.upstream_http2, &r.upstream) {
        (Some(set), _) => http2_setting(
            Some(set),
            upstream.as_ref(),
            &format!("{key}upstream_http2"),
            diags,
        ),
        (None, Some(_)) => false,
        (None, None) => defaults.upstream_http2,
    };
    // Like upstream_http2: a route on the default upstream inherits the
    // top-level settings, a route with its own upstream starts from the
    // defaults.
    let inherited = if r.upstream.is_some() {
        Keepalive::default()
    } else {
        defaults.keepalive
    };
    let keepalive = keepalive_setting(
        r.keepalive.as_ref(),
        r.keepalive_requests.as_ref(),
        upstream.as_ref(),
        upstream_http2,
        &key,
        inherited,
        diags,
    );
    let cors = route_cors(route, &key, mode, defaults, diags);
    Some(Route {
        host,
        path_prefix: prefix.clone(),
        upstream: upstream?,
        upstream_http2,
        keepalive,
        cors: cors?,
    })
}

/// A written `path_prefix` must start with `/`, and be in the normal form
/// requests are routed on, or the route would never match.
fn check_path_prefix(path_prefix: &Located<String>, key: &str, diags: &mut Vec<Diagnostic>) {
    let prefix = &path_prefix.value;
    let problem = if !prefix.starts_with('/') {
        Some((
            format!("path_prefix \"{prefix}\" does not start with '/'"),
            format!("write \"/{}\"", prefix.trim_start_matches('/')),
        ))
    } else {
        match unsendable_in_path(prefix) {
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
        }
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

/// A route's `mode`: `"enforce"` (the default) or `"report-only"`.
fn route_mode(mode: Option<&Located<String>>, key: &str, diags: &mut Vec<Diagnostic>) -> Mode {
    match mode.map(|m| m.value.as_str()) {
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
                .at(mode.and_then(|m| m.span.clone())),
            );
            Mode::Enforce
        }
    }
}

/// What a route does with CORS: nothing with `cors = false` (where its
/// policy is an error, and its CORS settings are unused); else its own
/// policy, or the default one.
fn route_cors(
    route: &Located<RouteFile>,
    key: &str,
    mode: Mode,
    defaults: &Defaults,
    diags: &mut Vec<Diagnostic>,
) -> Option<RouteCors> {
    let r = &route.value;
    if r.cors.as_ref().is_some_and(|c| !c.value) {
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
        return Some(RouteCors::Off);
    }
    let policy = match &r.policy {
        Some(p) => compile_policy(p, &format!("{key}policy."), diags),
        None if !defaults.has_policy_table => {
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
        None => defaults.policy.clone(),
    };
    policy.map(|policy| RouteCors::Policy {
        policy: Box::new(policy),
        mode,
        forward_preflight: r.forward_preflight.as_ref().is_some_and(|f| f.value),
    })
}
