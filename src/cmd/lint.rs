//! `corsica lint FILE.toml`: every problem in a policy or gateway file.

use std::process::ExitCode;

use corsica::{ConfigError, Diagnostic, Policy};
use corsica_gateway::config as gateway;

use super::CmdError;
use crate::cli::{Format, LintArgs};
use crate::output;
use crate::snippet;

/// What kind of file was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Policy,
    Gateway,
}

/// Checks a file's text, returning its kind and every diagnostic.
fn check(source: &str) -> (Kind, Vec<Diagnostic>) {
    // Nothing in it says which kind of file it is meant to be.
    if source.parse::<toml::Table>().is_ok_and(|t| t.is_empty()) {
        let empty = Diagnostic::error(
            "empty-file",
            "",
            "the file has no settings",
            "a policy file needs origins = [\"https://app.example.com\"]; a gateway file needs listen, upstream and a [policy] table (see `corsica serve --help`)",
        );
        return (Kind::Policy, vec![empty]);
    }
    if gateway::is_gateway_file(source) {
        let diags = match gateway::load_str(source) {
            Ok(cfg) => cfg.warnings,
            Err(ConfigError { diagnostics }) => diagnostics,
        };
        (Kind::Gateway, diags)
    } else {
        let diags = match Policy::from_toml(source) {
            Ok(policy) => policy.warnings().to_vec(),
            Err(ConfigError { diagnostics }) => diagnostics,
        };
        (Kind::Policy, diags)
    }
}

pub fn run(args: &LintArgs) -> Result<ExitCode, CmdError> {
    let name = args.file.display().to_string();
    let source =
        std::fs::read_to_string(&args.file).map_err(|e| format!("cannot read {name}: {e}"))?;
    let (kind, diagnostics) = check(&source);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    match args.format {
        Format::Text => {
            let mut out =
                corsica::diagnostic::render(&diagnostics, &name, Some(&source), &output::palette());
            let verdict = if errors == 0 { "valid" } else { "invalid" };
            out.push_str(&format!(
                "{name}: {verdict} {kind} ({errors} error{}, {warnings} warning{})\n",
                plural(errors),
                plural(warnings),
                kind = if kind == Kind::Gateway {
                    "gateway config"
                } else {
                    "policy"
                },
            ));
            if errors > 0 {
                if let Some(target) = snippet::target(args.fix_for) {
                    out.push_str(&format!(
                        "no {} snippet: the file has errors; fix them first\n",
                        target.name()
                    ));
                }
                eprint!("{out}");
            } else {
                if let Some(s) = snippet::for_file(&source, kind == Kind::Gateway, args.fix_for) {
                    out.push_str(&snippet::text(
                        &s,
                        &name,
                        // A bare policy is exported under [policy], so its
                        // diagnostics do not point into the file as written.
                        (kind == Kind::Gateway).then_some(source.as_str()),
                        false,
                    ));
                }
                print!("{out}");
            }
        }
        Format::Json => {
            let mut report = serde_json::json!({
                "file": name,
                "kind": kind,
                "valid": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diagnostics.iter().map(|d| d.to_json(&source)).collect::<Vec<_>>(),
            });
            // With errors, the export refuses the file with the same errors.
            if let (Some(s), Some(map)) = (
                snippet::for_file(&source, kind == Kind::Gateway, args.fix_for),
                report.as_object_mut(),
            ) {
                map.insert("fix_snippet".to_owned(), snippet::json(&s));
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
