//! `corsica playground`: the page where a real cross-origin fetch runs
//! beside corsica's prediction (`corsica-playground` does the work).

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
        println!("corsica playground: open {}", playground.url());
        println!(
            "  page origin     http://127.0.0.1:{}\n  API origin      http://127.0.0.1:{}\n  redirect origin http://127.0.0.1:{}",
            ports.page, ports.api, ports.redirect
        );
        println!("Ctrl-C stops it.");
        tokio::signal::ctrl_c().await?;
        Ok(ExitCode::SUCCESS)
    })
}
