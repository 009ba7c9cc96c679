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
    /// Try a live server as a browser would: send the preflight and the request, judge each response like Chromium.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Scan live URLs for exploitable CORS misconfigurations with attacker origins derived from the trusted one.
    #[command(after_help = AUDIT_HELP)]
    Audit(AuditArgs),
    /// Run the CORS gateway: a reverse proxy that applies a validated policy in front of any HTTP API.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Compile a gateway (or policy) file into an nginx, HAProxy, Envoy or Caddy configuration that applies the same policy.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
    /// Open a web page that runs a real cross-origin fetch in your browser beside corsica's prediction, with the fix.
    #[command(after_help = PLAYGROUND_HELP)]
    Playground(PlaygroundArgs),
    /// Manage the origins a gateway reads from a store (origins_from): add, remove, list, init.
    #[command(after_help = ORIGINS_HELP)]
    Origins(OriginsArgs),
}

const ORIGINS_HELP: &str = "Examples:
  corsica origins init   --store redis://127.0.0.1:6379/0
  corsica origins add    --store redis://127.0.0.1:6379/0 https://shop.customer.example
  corsica origins add    --store redis://127.0.0.1:6379/0 --set eu --from-file tenants.txt
  corsica origins add    --store redis://127.0.0.1:6379/0 --policy corsica.toml http://legacy.example
  corsica origins remove --store redis://127.0.0.1:6379/0 https://shop.customer.example
  corsica origins list   --store redis://127.0.0.1:6379/0
  corsica origins list   --store redis://127.0.0.1:6379/0 --format json | jq length
  corsica origins init   --store postgres://corsica@127.0.0.1:5432/app
  corsica origins add    --store postgres://corsica@127.0.0.1:5432/app https://shop.customer.example

`add` checks every origin with the rules a policy applies to its own `origins`
(the policy of --policy, a policy file or a gateway file's [policy]; without it
the strictest: credentials = true, no dangerously_* opt-in). If any is refused,
it prints each refusal in `lint`'s format and writes nothing. Every change is
published, so running gateways apply it within a second.

Exit status: 0 done, 1 an origin was refused (nothing written), 2 the store or a file could not be read or written.";

#[derive(Debug, clap::Args)]
pub struct OriginsArgs {
    #[command(subcommand)]
    pub action: OriginsAction,
}

#[derive(Debug, Subcommand)]
pub enum OriginsAction {
    /// Prepare the store: PostgreSQL gets the corsica_origins table and its NOTIFY triggers; Redis needs nothing (the key is checked).
    Init(StoreArgs),
    /// Validate origins, then add them all (or none).
    Add(ChangeArgs),
    /// Remove origins (refused ones too, to clean a set up).
    Remove(ChangeArgs),
    /// Print the set's members, one per line, sorted (--format json: an array).
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// The store: redis://HOST:PORT/DB (rediss:// for TLS) or postgres://USER@HOST:PORT/DB.
    #[arg(long, value_name = "URL", env = "CORSICA_ORIGIN_STORE")]
    pub store: String,
    /// The set's name, as in the policy's origin_set.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub set: String,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Origins, e.g. https://shop.customer.example or https://*.customer.example.
    #[arg(value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// Also read origins from FILE, one per line (blank lines and `#` comments skipped).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Validate with this policy's rules (credentials, dangerously_* opt-ins).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

const EXPORT_HELP: &str = "Examples:
  mkdir -p run/logs && corsica export --to nginx corsica.toml -o run/nginx.conf
  nginx -p run -c nginx.conf -g 'daemon off;'
  corsica export --to haproxy corsica.toml -o haproxy.cfg && haproxy -db -f haproxy.cfg
  corsica export --to envoy corsica.toml -o envoy.yaml && envoy -c envoy.yaml --base-id 7
  corsica export --to caddy corsica.toml -o Caddyfile && caddy run --config Caddyfile --adapter caddyfile
  corsica export --to nginx --fragment corsica.toml     # only the part to paste, with where it goes
  corsica export --to nginx policy.toml --listen 127.0.0.1:8080 --upstream http://127.0.0.1:3000

The output applies the policy as `corsica serve` does: the same preflight answers,
checks of the requested method and every requested header, the same origin matching
(anchored, label boundaries, ports, case), the upstream's CORS headers hidden, Vary,
CORS headers on the proxy's own 502/504, cors = false routes untouched, routes picked
by host and path as corsica picks them. What a target cannot express exactly
(mode = \"report-only\", forward_preflight; not yet: TLS, HTTP/2 or https upstreams) is
refused: nothing on stdout, a diagnostic per key on stderr.

Exit status: 0 exported, 1 refused (the target cannot express a feature), 2 the file is
invalid or cannot be read or written.";

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The proxy to export to.
    #[arg(long, value_enum)]
    pub to: ExportTarget,
    /// A gateway file (as `corsica serve --config` takes) or a bare policy file.
    pub file: PathBuf,
    /// Print only the part to paste into an existing configuration.
    #[arg(long)]
    pub fragment: bool,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// For a bare policy file: the address to listen on.
    #[arg(long, requires = "upstream")]
    pub listen: Option<String>,
    /// For a bare policy file: the upstream URL (http://host:port).
    #[arg(long, requires = "listen")]
    pub upstream: Option<String>,
}

/// The proxies `corsica export` renders for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportTarget {
    /// nginx 1.23 or later (older nginx reads only the first line of a
    /// repeated header, so there the output grants no CORS and says why).
    Nginx,
    /// nginx 1.22 or later with the Lua module (libnginx-mod-http-lua),
    /// which reads every line of a repeated header.
    NginxLua,
    /// HAProxy 2.6 or later.
    Haproxy,
    /// Envoy 1.40 or later.
    Envoy,
    /// Caddy 2.6 or later.
    Caddy,
}

const PLAYGROUND_HELP: &str = "Examples:
  corsica playground              # then open the printed URL
  corsica playground --port 9000
  corsica playground --port 0     # any free port

Three origins on 127.0.0.1: the page (on --port), an API origin that answers the
page's fetch exactly as composed, and a third origin for cross-origin redirects.
Everything is embedded in the binary; nothing is fetched from the network.
A link reproduces a composition: #case=<base64url of a case JSON>, and &run=1 runs it
when the page loads.

Exit status: 0 stopped with Ctrl-C, 2 the port could not be bound.";

#[derive(Debug, clap::Args)]
pub struct PlaygroundArgs {
    /// The page origin's port on 127.0.0.1 (0 for any free port); the API and
    /// redirect origins take free ports.
    #[arg(long, default_value_t = 8788)]
    pub port: u16,
}

const SERVE_HELP: &str = "Examples:
  corsica serve                                  # a self-contained demo on 127.0.0.1:8080
  corsica serve --config corsica.toml
  corsica serve --config corsica.toml --listen 0.0.0.0:8443
  corsica serve --config corsica.toml --workers 4   # default: one worker thread per core

A minimal corsica.toml:
  listen = \"127.0.0.1:8080\"
  upstream = \"http://127.0.0.1:3000\"
  admin_listen = \"127.0.0.1:9090\"     # /healthz and /metrics
  [policy]
  origins = [\"https://app.example.com\"]
  methods = [\"PUT\", \"DELETE\"]

With `origins_from = \"redis://…\"` (or postgres://…) in [policy], the store's set
adds origins, kept in step live; see `corsica origins --help`.

SIGHUP or saving the file reloads it (an invalid file is refused and the running
configuration stays); SIGTERM or Ctrl-C stops accepting and drains requests in flight.

Exit status: 0 stopped cleanly, 2 the configuration is invalid or a listener could not be bound.";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The gateway configuration (TOML). Without it, a demo API and policy are served.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen on this address instead of the configuration's `listen` (e.g. 127.0.0.1:9000).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Worker threads serving client connections [default: one per core].
    #[arg(long, value_name = "N", env = "CORSICA_WORKERS")]
    pub workers: Option<std::num::NonZeroUsize>,
}

/// Output formats shared by the diagnostic commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: colour on a terminal, plain in a pipe.
    Text,
    /// For tools: one JSON document on stdout.
    Json,
}

/// `--fix-for`: the language a fix is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFor {
    /// A corsica policy (the default).
    Corsica,
    /// An nginx fragment, as `corsica export --to nginx --fragment` renders it.
    Nginx,
    /// An nginx fragment that reads repeated headers with the Lua module
    /// (for nginx before 1.23), as `--to nginx-lua --fragment` renders it.
    NginxLua,
    /// An Envoy fragment, as `corsica export --to envoy --fragment` renders it.
    Envoy,
    /// A Caddyfile fragment, as `corsica export --to caddy --fragment` renders it.
    Caddy,
    /// An HAProxy fragment, as `corsica export --to haproxy --fragment` renders it.
    Haproxy,
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// The TOML file: a policy (origins = [...]) or a gateway config (listen, upstream, [policy], [[routes]]).
    pub file: PathBuf,
    /// Also print the file's policy (when it has no error) in a proxy's
    /// own configuration language, rendered by `corsica export --fragment`.
    #[arg(long, value_enum, default_value_t = FixFor::Corsica)]
    pub fix_for: FixFor,
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
    /// Chromium, Chrome, Edge (verified against Chromium 156).
    Chromium,
    /// Firefox (verified against Firefox ESR 153).
    Firefox,
    /// WebKit, Safari (verified against WebKitGTK 2.50).
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

/// What the page's script does, as `explain` and `check` take it.
#[derive(Debug, clap::Args)]
pub struct ScriptArgs {
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
    /// What the page's script asks for.
    #[command(flatten)]
    pub script: ScriptArgs,
    /// Assume corsica answers (instead of scripted headers): a policy file, or a
    /// gateway file, whose routes then pick the policy for each URL.
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
    /// Local Network Access inputs (Chromium 142+).
    #[command(flatten)]
    pub network: NetworkArgs,
    /// The browser engine to simulate; `all` runs the three and shows where
    /// they differ.
    #[arg(long, value_enum, default_value_t = BrowserChoice::Chromium)]
    pub browser: BrowserChoice,
    /// Also print the fix in a proxy's own configuration language,
    /// rendered by `corsica export --fragment`.
    #[arg(long, value_enum, default_value_t = FixFor::Corsica)]
    pub fix_for: FixFor,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `explain --browser`: one engine, or all three side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BrowserChoice {
    /// Chromium, Chrome, Edge.
    Chromium,
    /// Firefox.
    Firefox,
    /// WebKit, Safari.
    Webkit,
    /// The three, with their differences and why.
    All,
}

impl BrowserChoice {
    /// The engines this choice runs.
    pub fn profiles(self) -> Vec<corsica::browser::Profile> {
        use corsica::browser::Profile;
        match self {
            BrowserChoice::Chromium => vec![Profile::Chromium],
            BrowserChoice::Firefox => vec![Profile::Firefox],
            BrowserChoice::Webkit => vec![Profile::WebKit],
            BrowserChoice::All => vec![Profile::Chromium, Profile::Firefox, Profile::WebKit],
        }
    }
}

/// Local Network Access: what the simulator cannot know from the URLs.
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkArgs {
    /// The page's address space when its host is a name (an IP literal or
    /// localhost decides it): public, local (alias private) or loopback.
    #[arg(long, value_name = "SPACE", value_parser = parse_space)]
    pub page_address_space: Option<corsica::browser::lna::AddressSpace>,
    /// The target's address space when its host is a name (DNS is not
    /// the simulator's job): public, local (alias private) or loopback.
    #[arg(long, value_name = "SPACE", value_parser = parse_space)]
    pub target_address_space: Option<corsica::browser::lna::AddressSpace>,
    /// The page's Local Network Access permission.
    #[arg(long, value_enum, default_value_t = LnaPermissionArg::Prompt)]
    pub lna_permission: LnaPermissionArg,
}

impl NetworkArgs {
    /// Whether any flag was given.
    pub fn is_set(&self) -> bool {
        self.page_address_space.is_some()
            || self.target_address_space.is_some()
            || self.lna_permission != LnaPermissionArg::Prompt
    }

    /// The simulator's input.
    pub fn to_local_network(&self) -> corsica::browser::lna::LocalNetwork {
        use corsica::browser::lna::{LnaPermission, LocalNetwork};
        LocalNetwork {
            page_address_space: self.page_address_space,
            target_address_space: self.target_address_space,
            permission: match self.lna_permission {
                LnaPermissionArg::Prompt => LnaPermission::Prompt,
                LnaPermissionArg::Granted => LnaPermission::Granted,
                LnaPermissionArg::Denied => LnaPermission::Denied,
            },
        }
    }
}

/// The Local Network Access permission state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LnaPermissionArg {
    /// Not decided yet: predict the outcome without it.
    Prompt,
    /// Allowed by the user.
    Granted,
    /// Blocked by the user.
    Denied,
}

fn parse_space(text: &str) -> Result<corsica::browser::lna::AddressSpace, String> {
    corsica::browser::lna::AddressSpace::parse(text)
        .ok_or_else(|| format!("{text:?}: expected public, local, private or loopback"))
}

const CHECK_HELP: &str = "Examples:
  corsica check https://api.example.com/items --origin https://app.example.com
  corsica check https://api.example.com/items --origin https://app.example.com \\
      --method PUT -H 'content-type: application/json' --credentials include
  corsica check http://127.0.0.1:8080/api/items --origin http://localhost:5173 --format json
  corsica check https://api.example.com/items/7 --origin https://app.example.com \\
      --method DELETE --preflight-only

check sends real requests, including the actual request when the preflight allows it
(a DELETE is really sent), unless --preflight-only stops it after the preflight (then
only the URL given is judged, not where the request would be redirected).
Redirects are followed as the browser follows them.

Exit status: 0 allowed (with --preflight-only: the preflight passed, or the URL is
same-origin), 1 blocked by CORS, 2 usage or network error (DNS, TLS, timeout, refused
connection, a reply that is not HTTP), 3 --preflight-only on a cross-origin request
that needs no preflight (nothing was checked).";

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The URL the page fetches.
    pub url: String,
    /// The page's origin, e.g. https://app.example.com.
    #[arg(long)]
    pub origin: String,
    /// What the page's script asks for.
    #[command(flatten)]
    pub script: ScriptArgs,
    /// Accept any TLS certificate (self-signed test servers).
    #[arg(long)]
    pub insecure: bool,
    /// Send the preflight only, never the request itself: judge a
    /// DELETE, PUT or POST against production without performing it.
    /// Exit 0 when the preflight passes; a request that needs no preflight
    /// is exit 3 (nothing to check without sending it).
    #[arg(long)]
    pub preflight_only: bool,
    /// Time limit per request, e.g. 10s or 500ms.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// The browser engine to simulate.
    #[arg(long, value_enum, default_value_t = BrowserProfile::Chromium)]
    pub browser: BrowserProfile,
    /// Also print the fix in a proxy's own configuration language,
    /// rendered by `corsica export --fragment`.
    #[arg(long, value_enum, default_value_t = FixFor::Corsica)]
    pub fix_for: FixFor,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Parses `250ms`, `10s`, `2m`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    corsica_gateway::config::parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a duration such as 10s or 500ms"))
}

const AUDIT_HELP: &str = "Examples:
  corsica audit https://api.example.com/me --trusted-origin https://app.example.com
  corsica audit --urls-file urls.txt --trusted-origin https://app.example.com --format sarif > cors.sarif
  corsica audit https://api.example.com/me --trusted-origin https://app.example.com --fail-on high

Probes go only to the URLs given. Each URL gets a simple GET and an OPTIONS preflight
for every probe origin: reflection, null, prefix/suffix/substring matches, an unescaped
dot, http for https, any subdomain, special characters, third-party hosting. Responses
are judged with the browser's exact-match rule. Severity: high when an attacker origin
gets Access-Control-Allow-Origin with Access-Control-Allow-Credentials: true.

Exit status: 0 no finding at or above --fail-on, 1 such a finding, 2 usage or network error.";

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// URLs to probe (and nothing else).
    pub urls: Vec<String>,
    /// The origin the API is meant to trust, e.g. https://app.example.com.
    #[arg(long)]
    pub trusted_origin: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, default_value_t = crate::audit::finding::Severity::Medium)]
    pub fail_on: crate::audit::finding::Severity,
    /// How many requests run at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// The browser whose console text and fetch() rejection are shown for
    /// the trusted origin's own request (the findings, which rest on the
    /// exact-match rule every browser applies, do not depend on it).
    #[arg(long, value_enum, default_value_t = BrowserProfile::Chromium)]
    pub browser: BrowserProfile,
    /// A file with one URL per line (blank lines and # comments ignored).
    #[arg(long, value_name = "FILE")]
    pub urls_file: Option<PathBuf>,
    /// Accept any TLS certificate.
    #[arg(long)]
    pub insecure: bool,
    /// Time limit per request, e.g. 10s or 500ms.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// Audit output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// For people.
    Text,
    /// `[{"target", "findings": [...]}, ...]`.
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
}
