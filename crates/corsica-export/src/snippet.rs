//! One policy as a paste-ready snippet for a target: what `explain`,
//! `check` and `lint` print with `--fix-for`. It is the export's own
//! `--fragment` of that policy, rendered by the same pipeline, so a fix
//! and an export of the fixed policy never differ.

use corsica::{Diagnostic, Policy};
use corsica_gateway::config::{self as gateway, GatewayFile};

use crate::{export, Shape, Target};

/// The address a snippet's proxy listens on when nothing names it: the
/// line to change to the user's own listen address, where a target's
/// fragment has one.
pub const PLACEHOLDER_LISTEN: &str = "127.0.0.1:8080";

/// The application a snippet proxies to when nothing names it: the line
/// to change to the user's own upstream.
pub const PLACEHOLDER_UPSTREAM: &str = "http://127.0.0.1:3000";

/// A bare policy's TOML placed under `[policy]` of a gateway file that
/// listens on `listen` and proxies to `upstream`: how `corsica export`
/// reads a bare policy file.
pub fn gateway_source(policy_toml: &str, listen: &str, upstream: &str) -> String {
    format!(
        "listen = {}\nupstream = {}\n[policy]\n{policy_toml}",
        toml_string(listen),
        toml_string(upstream)
    )
}

/// Renders a gateway file's text as the fragment for `target`, exactly as
/// `corsica export --to TARGET --fragment` does. `Err` holds why not: the
/// file's own errors, or every feature the target cannot express.
pub fn gateway_fragment(source: &str, target: Target) -> Result<String, Vec<Diagnostic>> {
    let config = gateway::load_str(source).map_err(|e| e.diagnostics)?;
    let file: GatewayFile = toml::from_str(source).map_err(|e| {
        vec![Diagnostic::error(
            "invalid-file",
            "",
            e.message().to_owned(),
            "fix the file's syntax first",
        )]
    })?;
    export(&file, &config, target, Shape::Fragment)
}

/// Renders a bare policy's TOML (as `explain` and `check` suggest it) as
/// the fragment for `target`, proxying to [`PLACEHOLDER_UPSTREAM`]: the
/// same text as `corsica export --to TARGET --fragment --listen
/// 127.0.0.1:8080 --upstream http://127.0.0.1:3000` of that policy.
pub fn policy_fragment(policy_toml: &str, target: Target) -> Result<String, Vec<Diagnostic>> {
    Policy::from_toml(policy_toml).map_err(|e| e.diagnostics)?;
    gateway_fragment(
        &gateway_source(policy_toml, PLACEHOLDER_LISTEN, PLACEHOLDER_UPSTREAM),
        target,
    )
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_fragment_is_the_export_of_the_policy_under_the_placeholders() {
        let policy = "origins = [\"https://app.example.com\"]\nmethods = [\"PUT\"]";
        let text = policy_fragment(policy, Target::Nginx).unwrap();
        let source = gateway_source(policy, PLACEHOLDER_LISTEN, PLACEHOLDER_UPSTREAM);
        let config = gateway::load_str(&source).unwrap();
        let file: GatewayFile = toml::from_str(&source).unwrap();
        assert_eq!(
            text,
            export(&file, &config, Target::Nginx, Shape::Fragment).unwrap()
        );
        assert!(text.contains("127.0.0.1:3000"), "{text}");
    }

    #[test]
    fn an_invalid_policy_is_its_own_diagnostics() {
        let err =
            policy_fragment("origins = [\"*\"]\ncredentials = true", Target::Caddy).unwrap_err();
        assert!(err.iter().any(|d| d.is_error()), "{err:?}");
    }

    #[test]
    fn a_refused_gateway_names_the_key() {
        let source = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n\
                      [policy]\norigins = [\"https://a.example\"]\n\
                      [[routes]]\npath_prefix = \"/a\"\nmode = \"report-only\"\n";
        let err = gateway_fragment(source, Target::Envoy).unwrap_err();
        assert!(
            err.iter().any(|d| d.code == "export-report-only"),
            "{err:?}"
        );
    }
}
