//! What a target cannot express exactly, found in the file as written so
//! that each refusal points at its key, with the reason and what would work.

use corsica::{Diagnostic, PolicyConfig};
use corsica_gateway::config::{GatewayFile, RouteFile};

use crate::Target;

/// Every feature of `file` that `target` cannot express exactly. Empty
/// when the export may proceed.
pub fn refusals(file: &GatewayFile, target: Target) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let name = target.name();
    if let Some(policy) = &file.policy {
        stored_origins(&policy.value, "policy", name, &mut out);
    }
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

/// A policy whose origins live in a store changes while the exported
/// proxy runs; a static config would serve a stale copy, or nothing of the
/// set, and the user's `origins_from` would be silently dropped.
fn stored_origins(policy: &PolicyConfig, at: &str, name: &str, out: &mut Vec<Diagnostic>) {
    if let Some(from) = &policy.origins_from {
        out.push(
            Diagnostic::error(
                "export-unsupported",
                format!("{at}.origins_from"),
                format!(
                    "{name} cannot follow a live origin store: an exported configuration is \
                     static, and the store's members change while it runs"
                ),
                "list the origins in `origins` to export them, or keep this route on `corsica serve`, \
                 which follows the store",
            )
            .at(from.span.clone()),
        );
    }
}

fn route(r: &RouteFile, i: usize, name: &str, out: &mut Vec<Diagnostic>) {
    let key = |k: &str| format!("routes[{i}].{k}");
    if let Some(policy) = &r.policy {
        stored_origins(&policy.value, &format!("routes[{i}].policy"), name, out);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_fed_by_a_store_is_refused_at_its_key_on_every_target() {
        let source = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n\
                      [policy]\norigins = []\norigins_from = \"redis://127.0.0.1:6379/0\"\n\
                      [[routes]]\npath_prefix = \"/b\"\n[routes.policy]\norigins = [\"https://a.example\"]\n\
                      origins_from = \"redis://127.0.0.1:6379/0\"\n";
        let file: GatewayFile = toml::from_str(source).unwrap();
        for target in [
            Target::Nginx,
            Target::NginxLua,
            Target::Haproxy,
            Target::Envoy,
            Target::Caddy,
        ] {
            let keys: Vec<String> = refusals(&file, target)
                .iter()
                .map(|d| d.key.clone())
                .collect();
            assert_eq!(
                keys,
                ["policy.origins_from", "routes[0].policy.origins_from"],
                "{target:?}"
            );
        }
    }
}
