//! One module per subcommand.

mod audit;
mod check;
mod explain;
mod export;
mod lint;
mod origins;
mod playground;
mod serve;
mod side_by_side;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// A failure that stops a command: printed on stderr, exit status 2.
pub type CmdError = Box<dyn std::error::Error>;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, CmdError> {
    match cli.command {
        Command::Lint(args) => lint::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Playground(args) => playground::run(&args),
        Command::Origins(args) => origins::run(&args),
    }
}
