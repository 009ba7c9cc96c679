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
    /// Predict, offline, what the browser does with a request: preflight or not, blocked or not, why, and the fix.
    #[command(after_help = EXPLAIN_HELP)]
    Explain(ExplainArgs),
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

const EXPLAIN_HELP: &str = "Examples:
  corsica explain --case cases.json
  corsica explain --case cases.json --format json
  corsica explain --origin https://app.example --url https://api.example/items \\
      --method PUT -H 'content-type: application/json' --credentials include \\
      --preflight-header 'access-control-allow-origin: https://app.example'
  corsica explain --origin https://app.example --url https://api.example/items \\
      --method DELETE --policy corsica.toml

A case file holds one case or an array of cases:
  {\"id\": \"put\", \"origin\": \"https://app.example\",
   \"request\": {\"url\": \"https://api.example/items\", \"method\": \"PUT\",
               \"headers\": [[\"x-token\", \"1\"]], \"credentials\": \"include\",
               \"read_headers\": [\"x-request-id\"]},
   \"preflight_response\": {\"status\": 204, \"headers\": [[\"access-control-allow-origin\", \"https://app.example\"]]},
   \"response\": {\"status\": 200, \"headers\": []}}

Exit status: 0 every request allowed, 1 at least one blocked, 2 bad input.";

/// Which browser engine to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BrowserProfile {
    /// Chromium, Chrome, Edge (verified against real Chromium).
    Chromium,
    /// Firefox: its preflight cache cap and safelist.
    Firefox,
    /// WebKit, Safari: its preflight cache cap and safelist.
    Webkit,
}

impl From<BrowserProfile> for corsica::browser::Profile {
    fn from(p: BrowserProfile) -> Self {
        match p {
            BrowserProfile::Chromium => corsica::browser::Profile::Chromium,
            BrowserProfile::Firefox => corsica::browser::Profile::Firefox,
            BrowserProfile::Webkit => corsica::browser::Profile::WebKit,
        }
    }
}

/// `fetch()` credentials modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialsMode {
    /// Never send cookies.
    Omit,
    /// The fetch() default: cookies only to the page's own origin.
    SameOrigin,
    /// Send cookies cross-origin.
    Include,
}

impl From<CredentialsMode> for corsica::browser::Credentials {
    fn from(c: CredentialsMode) -> Self {
        match c {
            CredentialsMode::Omit => corsica::browser::Credentials::Omit,
            CredentialsMode::SameOrigin => corsica::browser::Credentials::SameOrigin,
            CredentialsMode::Include => corsica::browser::Credentials::Include,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A JSON file with one case or an array of cases.
    #[arg(long, conflicts_with_all = ["origin", "url"])]
    pub case: Option<PathBuf>,
    /// The page's origin (flag form).
    #[arg(long, required_unless_present = "case", requires = "url")]
    pub origin: Option<String>,
    /// The URL the page fetches (flag form).
    #[arg(long, required_unless_present = "case", requires = "origin")]
    pub url: Option<String>,
    /// The method as the script writes it.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// A request header the script sets, 'name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The fetch() credentials mode.
    #[arg(long, value_enum, default_value_t = CredentialsMode::SameOrigin)]
    pub credentials: CredentialsMode,
    /// A response header the script reads (repeatable).
    #[arg(long = "read", value_name = "NAME")]
    pub read_headers: Vec<String>,
    /// Assume this corsica policy answers (instead of scripted headers).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["preflight_headers", "response_headers", "case"])]
    pub policy: Option<PathBuf>,
    /// Status the server answers the preflight with.
    #[arg(long, default_value_t = 204)]
    pub preflight_status: u16,
    /// A header on the preflight response, 'name: value' (repeatable).
    #[arg(long = "preflight-header", value_name = "NAME: VALUE")]
    pub preflight_headers: Vec<String>,
    /// Status of the actual response.
    #[arg(long, default_value_t = 200)]
    pub response_status: u16,
    /// A header on the actual response, 'name: value' (repeatable).
    #[arg(long = "response-header", value_name = "NAME: VALUE")]
    pub response_headers: Vec<String>,
    /// The browser engine to simulate.
    #[arg(long, value_enum, default_value_t = BrowserProfile::Chromium)]
    pub browser: BrowserProfile,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}
