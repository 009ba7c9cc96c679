//! `--fix-for`: a fix printed in a proxy's own configuration language.
//! The text is always `corsica-export`'s fragment of the fixed policy, so
//! a snippet is exactly what `corsica export --fragment` would print.

use corsica::Diagnostic;
use corsica_export::snippet::{self, PLACEHOLDER_LISTEN, PLACEHOLDER_UPSTREAM};
use corsica_export::Target;

use crate::cli::FixFor;
use crate::output;

/// A fix rendered for one target, or why the target cannot express it.
pub struct Snippet {
    /// The target, as `--fix-for` spells it.
    pub target: Target,
    /// The fragment, or the export's diagnostics.
    pub result: Result<String, Vec<Diagnostic>>,
}

/// The export target of a `--fix-for` value; `None` for corsica itself.
pub fn target(fix_for: FixFor) -> Option<Target> {
    match fix_for {
        FixFor::Corsica => None,
        FixFor::Nginx => Some(Target::Nginx),
        FixFor::NginxLua => Some(Target::NginxLua),
        FixFor::Envoy => Some(Target::Envoy),
        FixFor::Caddy => Some(Target::Caddy),
        FixFor::Haproxy => Some(Target::Haproxy),
    }
}

/// The snippet of a suggested policy (a bare policy's TOML).
pub fn for_policy(policy_toml: &str, fix_for: FixFor) -> Option<Snippet> {
    let target = target(fix_for)?;
    Some(Snippet {
        target,
        result: snippet::policy_fragment(policy_toml, target),
    })
}

/// The snippet of a whole file's text, a policy or a gateway file.
pub fn for_file(source: &str, is_gateway: bool, fix_for: FixFor) -> Option<Snippet> {
    let target = target(fix_for)?;
    let result = if is_gateway {
        snippet::gateway_fragment(source, target)
    } else {
        snippet::policy_fragment(source, target)
    };
    Some(Snippet { target, result })
}

/// The snippet in text, indented like the verdict's fix, headed by what it
/// is; `what` names the policy it renders ("the policy above"), and
/// `source`, when given, is the text the export's diagnostics point into.
pub fn text(s: &Snippet, what: &str, source: Option<&str>, placeholder_upstream: bool) -> String {
    let name = s.target.name();
    let mut out = String::new();
    match &s.result {
        Ok(text) => {
            out.push_str(&format!(
                "{:>9}   {name} configuration for {what} (`corsica export --to {name} --fragment`):\n",
                ""
            ));
            if placeholder_upstream {
                out.push_str(&format!(
                    "{:>9}   (it listens on {PLACEHOLDER_LISTEN} where the target says where, and proxies to {PLACEHOLDER_UPSTREAM}: put your own addresses there)\n",
                    ""
                ));
            }
            for line in text.lines() {
                let line = format!("{:>9}     {line}", "");
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        Err(diags) => {
            out.push_str(&format!(
                "{:>9}   {name} cannot express {what} exactly; corsica export --to {name} says:\n",
                ""
            ));
            let rendered = corsica::diagnostic::render(diags, what, source, &output::palette());
            for line in rendered.lines() {
                out.push_str(&format!("{:>9}     {line}\n", ""));
            }
        }
    }
    out
}

/// The snippet as JSON: `{"target", "text", "refused"}`, where `text` is
/// null and `refused` lists the export's diagnostics when the target
/// cannot express the fix.
pub fn json(s: &Snippet) -> serde_json::Value {
    let (text, refused) = match &s.result {
        Ok(text) => (Some(text.as_str()), Vec::new()),
        Err(diags) => (None, diags.iter().collect()),
    };
    serde_json::json!({
        "target": s.target.name(),
        "text": text,
        "refused": refused,
    })
}
