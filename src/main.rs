//! `corsica`: the CORS gateway, linter, browser explainer, live checker and
//! auditor. A thin binary over the `corsica` engine and its faces.

mod audit;
mod cli;
mod cmd;
mod net;
mod output;
mod render;
mod snippet;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(error) => {
            output::error(&error);
            ExitCode::from(2)
        }
    }
}
