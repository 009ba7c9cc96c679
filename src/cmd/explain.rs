//! `corsica explain`: predict what the browser does with a request,
//! offline, from a scenario file, from flags, or in front of a policy.

use std::path::Path;
use std::process::ExitCode;

use corsica::browser::{
    self, AppResponse, Case, HopSpec, Profile, RequestSpec, ResponseSpec, Simulation, Step, Verdict,
};
use corsica::Policy;
use corsica_gateway::config::{self as gateway, GatewayConfig};
use corsica_gateway::router::{self, Mode, RouteCors};

use super::{side_by_side, CmdError};
use crate::cli::{BrowserChoice, ExplainArgs, FixFor, Format, ScriptArgs};
use crate::{render, snippet};

pub fn run(args: &ExplainArgs) -> Result<ExitCode, CmdError> {
    if args.browser == BrowserChoice::All && args.fix_for != FixFor::Corsica {
        return Err("--fix-for needs one browser, whose fix it renders: give --browser chromium, firefox or webkit".into());
    }
    let mut cases = match &args.case {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            browser::parse_cases(&text)
                .map_err(|e| format!("{}: not a case or an array of cases: {e}", path.display()))?
        }
        None => vec![case_from_flags(args)?],
    };
    if args.case.is_some() && args.network.is_set() {
        // The flags override what the case files say.
        for case in &mut cases {
            case.local_network = args.network.to_local_network();
        }
    }
    let server = match &args.policy {
        Some(path) => Some(load_server(path)?),
        None => None,
    };
    let profiles = args.browser.profiles();
    // verdicts[case][profile]
    let mut verdicts = Vec::with_capacity(cases.len());
    for case in &cases {
        let mut per_case = Vec::with_capacity(profiles.len());
        for &profile in &profiles {
            per_case.push(match &server {
                Some(server) => against_server(case, server, profile)?,
                None => browser::simulate(case, profile).map_err(|e| e.to_string())?,
            });
        }
        verdicts.push(per_case);
    }
    let all_allowed = verdicts.iter().flatten().all(|v| v.allowed);
    use std::io::Write;
    let mut out = anstream::stdout();
    if args.browser == BrowserChoice::All {
        let compared: Vec<side_by_side::Compared> = cases
            .iter()
            .zip(verdicts)
            .map(|(case, v)| side_by_side::compare(case, v))
            .collect();
        match args.format {
            Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&compared)?)?,
            Format::Text => {
                for c in &compared {
                    writeln!(out, "{}", side_by_side::render(c))?;
                }
            }
        }
    } else {
        let verdicts: Vec<Verdict> = verdicts.into_iter().flatten().collect();
        match args.format {
            Format::Json => {
                let verdicts = verdicts
                    .iter()
                    .map(|v| with_snippet(v, args.fix_for))
                    .collect::<Result<Vec<_>, _>>()?;
                writeln!(out, "{}", serde_json::to_string_pretty(&verdicts)?)?
            }
            Format::Text => {
                for v in &verdicts {
                    writeln!(out, "{}", render::verdict_for(v, args.fix_for))?;
                }
            }
        }
    }
    Ok(if all_allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A verdict as JSON, with `fix_snippet` when `--fix-for` names a proxy.
pub fn with_snippet(v: &Verdict, fix_for: FixFor) -> Result<serde_json::Value, CmdError> {
    let mut value = serde_json::to_value(v)?;
    if let (Some(s), Some(map)) = (
        snippet::for_policy(&v.fix.policy, fix_for),
        value.as_object_mut(),
    ) {
        map.insert("fix_snippet".to_owned(), snippet::json(&s));
    }
    Ok(value)
}

/// What answers the simulated browser's requests.
enum Server {
    /// One policy answers every request.
    Policy(Box<Policy>),
    /// A gateway: each request gets the policy of its route.
    Gateway(Box<GatewayConfig>),
}

/// Reads `--policy FILE`: a policy file, or a gateway file (whose routes
/// then pick the policy per request, as `corsica serve` would).
fn load_server(path: &Path) -> Result<Server, CmdError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    if gateway::is_gateway_file(&text) {
        let config = gateway::load_str(&text).map_err(|e| {
            format!(
                "the gateway config is invalid:\n{}",
                e.render(&name, Some(&text))
            )
        })?;
        return Ok(Server::Gateway(Box::new(config)));
    }
    let policy = Policy::from_toml(&text)
        .map_err(|e| format!("the policy is invalid:\n{}", e.render(&name, Some(&text))))?;
    Ok(Server::Policy(Box::new(policy)))
}

/// Runs a case with corsica answering every request.
fn against_server(case: &Case, server: &Server, profile: Profile) -> Result<Verdict, CmdError> {
    let mut sim = Simulation::new(&case.id, &case.origin, &case.request, profile);
    sim.set_local_network(case.local_network);
    let mut step = sim.start();
    let app = AppResponse::default();
    while let Step::Send(out) = step {
        let policy = match server {
            Server::Policy(policy) => policy,
            Server::Gateway(config) => route_policy(config, &out.request.url)?,
        };
        step = sim.on_response(browser::respond(policy, &out, &app));
    }
    Ok(sim.finish())
}

/// The policy the gateway applies to a request for `url`, picked by the
/// gateway's own router, or why the gateway's own answer cannot be
/// predicted offline.
fn route_policy<'c>(config: &'c GatewayConfig, url: &str) -> Result<&'c Policy, CmdError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("{url} is not a URL: {e}"))?;
    let route = router::route_for_uri(&config.routes, &uri)
        .map_err(|reason| format!("the gateway answers {url} with 400: {reason}"))?;
    let Some(route) = route else {
        return Err(format!("no route of the gateway config matches {url}").into());
    };
    let scope = match &route.host {
        Some(host) => format!(
            "the route for host {host} and path_prefix {}",
            route.path_prefix
        ),
        None => format!("the route for path_prefix {}", route.path_prefix),
    };
    match &route.cors {
        RouteCors::Policy {
            policy,
            mode: Mode::Enforce,
            ..
        } => Ok(policy),
        RouteCors::Policy {
            mode: Mode::ReportOnly,
            ..
        } => Err(format!(
            "{url}: {scope} is report-only, so the upstream's own CORS headers reach the browser; try `corsica check` against the running gateway"
        )
        .into()),
        RouteCors::Off => Err(format!(
            "{url}: {scope} has cors = false, so the upstream's own CORS headers reach the browser; try `corsica check` against the running gateway"
        )
        .into()),
    }
}

/// `name: value` → (name, value).
pub fn parse_header(raw: &str) -> Result<(String, String), String> {
    match raw.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("header {raw:?} is not in the form 'name: value'")),
    }
}

fn headers(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter().map(|h| parse_header(h)).collect()
}

/// The request the script's flags describe, to `url`.
pub fn script_request(script: &ScriptArgs, url: &str) -> Result<RequestSpec, String> {
    Ok(RequestSpec {
        url: url.to_owned(),
        method: script.method.clone(),
        headers: headers(&script.headers)?,
        credentials: script.credentials.into(),
        read_headers: script.read_headers.clone(),
        force_preflight: false,
    })
}

fn case_from_flags(args: &ExplainArgs) -> Result<Case, CmdError> {
    let (Some(origin), Some(url)) = (&args.origin, &args.url) else {
        return Err("give --case FILE, or --origin and --url".into());
    };
    let response = ResponseSpec {
        status: args.response_status,
        headers: headers(&args.response_headers)?,
    };
    Ok(Case {
        id: format!("{} {url}", args.script.method),
        origin: origin.clone(),
        request: script_request(&args.script, url)?,
        preflight_response: Some(ResponseSpec {
            status: args.preflight_status,
            headers: headers(&args.preflight_headers)?,
        }),
        // Redirects in the flag form land on a response without CORS headers.
        redirects: (0..browser::MAX_REDIRECTS)
            .map(|_| HopSpec {
                preflight_response: None,
                response: ResponseSpec {
                    status: 200,
                    headers: vec![],
                },
            })
            .collect(),
        response: Some(response),
        local_network: args.network.to_local_network(),
    })
}
