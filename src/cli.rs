//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// CORS that is correct by construction, and explained.
#[derive(Debug, Parser)]
#[command(name = "corsica", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a policy or gateway file: every error with file:line:col, the reason and the fix.
    #[command(
        after_help = "Examples:\n  corsica lint corsica.toml\n  corsica lint --format json corsica.toml | jq '.diagnostics[].code'\n\nExit status: 0 valid (warnings allowed), 1 invalid, 2 the file could not be read."
    )]
    Lint(LintArgs),
}

/// Output formats shared by the diagnostic commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: colour on a terminal, plain in a pipe.
    Text,
    /// For tools: one JSON document on stdout.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// The TOML file: a policy (origins = [...]) or a gateway config (listen, upstream, [policy], [[routes]]).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}
