//! What a target cannot express exactly, found in the file as written so
//! that each refusal points at its key, with the reason and what would work.

use corsica::Diagnostic;
use corsica_gateway::config::{GatewayFile, RouteFile};

use crate::Target;

/// Every feature of `file` that `target` cannot express exactly. Empty
/// when the export may proceed.
pub fn refusals(file: &GatewayFile, target: Target) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let name = target.name();
    for (i, located) in file.routes.iter().enumerate() {
        route(&located.value, i, name, &mut out);
    }
    if let Some(tls) = &file.tls {
        out.push(
            Diagnostic::error(
                "export-unsupported",
                "tls",
                format!("corsica export does not yet render TLS termination for {name}"),
                "remove [tls] and terminate TLS in front of the exported proxy, or run `corsica serve`",
            )
            .at(tls.span.clone()),
        );
    }
    if let Some(h2) = file.upstream_http2.as_ref().filter(|v| v.value) {
        out.push(http2("upstream_http2".into(), name).at(h2.span.clone()));
    }
    if let Some(ca) = &file.upstream_ca {
        out.push(
            Diagnostic::error(
                "export-unsupported",
                "upstream_ca",
                format!("corsica export does not yet render upstream TLS trust for {name}"),
                "use a plain http:// upstream on a private network, or run `corsica serve`",
            )
            .at(ca.span.clone()),
        );
    }
    if let Some(up) = file
        .upstream
        .as_ref()
        .filter(|u| !u.value.starts_with("http://"))
    {
        out.push(https("upstream".into(), name).at(up.span.clone()));
    }
    out
}

fn route(r: &RouteFile, i: usize, name: &str, out: &mut Vec<Diagnostic>) {
    let key = |k: &str| format!("routes[{i}].{k}");
    if let Some(mode) = r.mode.as_ref().filter(|m| m.value == "report-only") {
        out.push(
            Diagnostic::error(
                "export-report-only",
                key("mode"),
                format!(
                    "{name} cannot evaluate a policy without enforcing it: report-only mode needs the \
                     verdict logged while the upstream's response passes unchanged, which the export \
                     does not render"
                ),
                "remove mode = \"report-only\" to export the enforced policy, or keep this route on `corsica serve`",
            )
            .at(mode.span.clone()),
        );
    }
    if let Some(fwd) = r.forward_preflight.as_ref().filter(|f| f.value) {
        out.push(
            Diagnostic::error(
                "export-forward-preflight",
                key("forward_preflight"),
                format!(
                    "{name} cannot send a preflight upstream and then replace the upstream's answer \
                     with the policy's while keeping its status, as `corsica serve` does"
                ),
                "remove forward_preflight so the proxy answers preflights itself, or keep this route on `corsica serve`",
            )
            .at(fwd.span.clone()),
        );
    }
    if let Some(h2) = r.upstream_http2.as_ref().filter(|v| v.value) {
        out.push(http2(key("upstream_http2"), name).at(h2.span.clone()));
    }
    if let Some(up) = r
        .upstream
        .as_ref()
        .filter(|u| !u.value.starts_with("http://"))
    {
        out.push(https(key("upstream"), name).at(up.span.clone()));
    }
}

fn http2(key: String, name: &str) -> Diagnostic {
    Diagnostic::error(
        "export-unsupported",
        key,
        format!("corsica export does not yet render HTTP/2 upstreams for {name}"),
        "remove upstream_http2 to proxy in HTTP/1.1, or run `corsica serve`",
    )
}

fn https(key: String, name: &str) -> Diagnostic {
    Diagnostic::error(
        "export-unsupported",
        key,
        format!("corsica export does not yet render https:// upstreams for {name}"),
        "use an http:// upstream, or run `corsica serve`",
    )
}
