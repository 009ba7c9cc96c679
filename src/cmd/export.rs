//! `corsica export --to TARGET FILE`: the file's policy and routes as
//! another proxy's configuration (rendered by `corsica-export`).

use std::process::ExitCode;

use corsica::{ConfigError, Diagnostic, Policy};
use corsica_export::{Shape, Target};
use corsica_gateway::config::{self as gateway, GatewayFile};

use super::CmdError;
use crate::cli::{ExportArgs, ExportTarget};
use crate::output;

pub fn run(args: &ExportArgs) -> Result<ExitCode, CmdError> {
    let name = args.file.display().to_string();
    let source =
        gateway::read_config_file(&args.file).map_err(|e| format!("cannot read {name}: {e}"))?;
    let target = match args.to {
        ExportTarget::Nginx => Target::Nginx,
        ExportTarget::NginxLua => Target::NginxLua,
        ExportTarget::Haproxy => Target::Haproxy,
        ExportTarget::Envoy => Target::Envoy,
        ExportTarget::Caddy => Target::Caddy,
    };
    let shape = if args.fragment {
        Shape::Fragment
    } else {
        Shape::Whole
    };
    let gateway_source = if gateway::is_gateway_file(&source) {
        if args.listen.is_some() {
            return Err(format!(
                "{name} is a gateway file: it names its own listen and upstream; --listen and --upstream are for a bare policy file"
            )
            .into());
        }
        source.clone()
    } else {
        // A bare policy: checked on its own first, so that every problem
        // points at its own line, then placed under [policy].
        if let Err(e) = Policy::from_toml(&source) {
            return Ok(config_error(&e, &name, &source));
        }
        let (Some(listen), Some(upstream)) = (&args.listen, &args.upstream) else {
            return Err(format!(
                "{name} is a bare policy file: give --listen ADDR and --upstream URL to say where the proxy listens and what it proxies to"
            )
            .into());
        };
        corsica_export::snippet::gateway_source(&source, listen, upstream)
    };
    let config = match gateway::load_str(&gateway_source) {
        Ok(config) => config,
        Err(e) => return Ok(config_error(&e, &name, &gateway_source)),
    };
    // The loader accepted the text, so serde reads it again.
    let file: GatewayFile = toml::from_str(&gateway_source)?;
    match corsica_export::export(&file, &config, target, shape) {
        Ok(text) => {
            match &args.output {
                Some(path) => std::fs::write(path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                None => print!("{text}"),
            }
            if target == Target::Nginx {
                // The output is safe everywhere, but on an older nginx it
                // grants nothing; say so where the user is looking now.
                eprintln!(
                    "note: this configuration is for nginx 1.23 or later; on an older nginx \
                     (Debian 12 ships 1.22) it grants no CORS and says so in a corsica-warning \
                     header: use --to nginx-lua there"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(refused) => {
            eprint!("{}", render(&refused, &name, &gateway_source));
            eprintln!(
                "{name}: not exported to {}: {} feature{} it cannot express exactly",
                target.name(),
                refused.len(),
                if refused.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn render(diags: &[Diagnostic], name: &str, source: &str) -> String {
    corsica::diagnostic::render(diags, name, Some(source), &output::palette())
}

fn config_error(e: &ConfigError, name: &str, source: &str) -> ExitCode {
    eprint!("{}", render(&e.diagnostics, name, source));
    eprintln!("{name}: invalid, nothing exported");
    ExitCode::from(2)
}
