//! `corsica playground`: the page where a real cross-origin fetch runs
//! beside corsica's prediction (`corsica-playground` does the work).

use std::io::Write;
use std::process::ExitCode;

use corsica_playground::Playground;

use super::CmdError;
use crate::cli::PlaygroundArgs;

/// Starts the three origins, prints the URL to open, and serves until Ctrl-C.
pub fn run(args: &PlaygroundArgs) -> Result<ExitCode, CmdError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let playground = Playground::start(args.port).await.map_err(|e| {
            format!(
                "cannot listen on 127.0.0.1:{}: {e} (try another --port, or --port 0 for any free one)",
                args.port
            )
        })?;
        let ports = playground.ports();
        // Whoever reads stdout may stop after the URL (`| head -1`): a write
        // that fails must not stop the playground, so errors are ignored.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "corsica playground: open {}\n  page origin     http://127.0.0.1:{}\n  API origin      http://127.0.0.1:{}\n  redirect origin http://127.0.0.1:{}\nCtrl-C stops it.",
            playground.url(),
            ports.page,
            ports.api,
            ports.redirect
        );
        let _ = out.flush();
        drop(out);
        tokio::signal::ctrl_c().await?;
        Ok(ExitCode::SUCCESS)
    })
}
