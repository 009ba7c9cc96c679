//! What a target cannot express exactly, found in the file as written so
//! that each refusal points at its key, with the reason and what would work.

use corsica::{Diagnostic, PolicyConfig};
use corsica_gateway::config::{GatewayFile, RouteFile};

use crate::target::Target;

/// Every feature of `file` that `target` cannot express exactly. Empty
/// when the export may proceed.
pub fn refusals(file: &GatewayFile, target: Target) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let name = target.name();
    if let Some(policy) = &file.policy {
        stored_origins(&policy.value, "policy", name, &mut out);
    }
    for (i, located) in file.routes.iter().enumerate() {
        route(&located.value, i, target, &mut out);
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
        if let Some(refusal) = http2("upstream_http2".into(), target) {
            out.push(refusal.at(h2.span.clone()));
        }
    }
    if let Some(up) = &file.upstream {
        ip_certificate(
            &up.value,
            "upstream".into(),
            target,
            &mut out,
            up.span.clone(),
        );
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

fn route(r: &RouteFile, i: usize, target: Target, out: &mut Vec<Diagnostic>) {
    let name = target.name();
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
        if let Some(refusal) = http2(key("upstream_http2"), target) {
            out.push(refusal.at(h2.span.clone()));
        }
    }
    if let Some(up) = &r.upstream {
        ip_certificate(&up.value, key("upstream"), target, out, up.span.clone());
    }
}

/// An `https://` upstream named by an IP address: `corsica serve` checks the
/// address against the certificate's IP address names; nginx and HAProxy
/// check DNS names only, so they would refuse every such upstream.
fn ip_certificate(
    url: &str,
    key: String,
    target: Target,
    out: &mut Vec<Diagnostic>,
    span: Option<std::ops::Range<usize>>,
) {
    // The loader accepted the file, so the URL parses.
    let Ok(uri) = url.parse::<http::Uri>() else {
        return;
    };
    let (Some("https"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return;
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let checks_dns_only = matches!(target, Target::Nginx | Target::NginxLua | Target::Haproxy);
    if checks_dns_only && host.parse::<std::net::IpAddr>().is_ok() {
        out.push(
            Diagnostic::error(
                "export-unsupported",
                key,
                format!(
                    "{} checks the DNS names in an upstream's certificate, never its IP addresses, \
                     so it would refuse https://{authority}, which corsica serve verifies by its IP address",
                    target.name()
                ),
                "name the upstream by a DNS name its certificate holds (https://api.internal:8443), \
                 or export to envoy or caddy, which check IP addresses",
            )
            .at(span),
        );
    }
}

/// nginx proxies to upstreams in HTTP/1.x only (its `grpc_pass` is for
/// gRPC); HAProxy, Envoy and Caddy speak h2c.
fn http2(key: String, target: Target) -> Option<Diagnostic> {
    matches!(target, Target::Nginx | Target::NginxLua).then(|| {
        Diagnostic::error(
            "export-unsupported",
            key,
            format!(
                "{} proxies to upstreams in HTTP/1.x only, so it cannot speak HTTP/2 with prior \
                 knowledge (h2c) to this upstream as corsica serve does",
                target.name()
            ),
            "export to haproxy, envoy or caddy, which speak h2c, or remove upstream_http2 if \
             the upstream also speaks HTTP/1.1",
        )
    })
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

    #[test]
    fn an_ip_address_https_upstream_is_refused_where_certificates_are_checked_by_dns_name_only() {
        let source = "listen = \"127.0.0.1:8080\"\nupstream = \"https://api.internal:8443\"\n\
                      [policy]\norigins = [\"https://a.example\"]\n\
                      [[routes]]\npath_prefix = \"/v6\"\nupstream = \"https://[::1]:8443/\"\n\
                      [[routes]]\npath_prefix = \"/v4\"\nupstream = \"https://10.0.0.1\"\n\
                      [[routes]]\npath_prefix = \"/plain\"\nupstream = \"http://10.0.0.2:80\"\n";
        let file: GatewayFile = toml::from_str(source).unwrap();
        for (target, refused) in [
            (Target::Nginx, true),
            (Target::NginxLua, true),
            (Target::Haproxy, true),
            (Target::Envoy, false),
            (Target::Caddy, false),
        ] {
            let keys: Vec<String> = refusals(&file, target)
                .iter()
                .map(|d| d.key.clone())
                .collect();
            let expected: &[&str] = if refused {
                &["routes[0].upstream", "routes[1].upstream"]
            } else {
                &[]
            };
            assert_eq!(keys, expected, "{target:?}");
        }
    }
}
