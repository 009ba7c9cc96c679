//! `corsica explain`: predict what the browser does with a request,
//! offline, from a scenario file, from flags, or in front of a policy.

use std::process::ExitCode;

use corsica::browser::{
    self, Case, HopSpec, Profile, RequestSpec, ResponseSpec, Simulation, Step, Verdict,
};
use corsica::loopback::{self, AppResponse};
use corsica::Policy;

use super::CmdError;
use crate::cli::{ExplainArgs, Format, ScriptArgs};
use crate::render;

pub fn run(args: &ExplainArgs) -> Result<ExitCode, CmdError> {
    let profile: Profile = args.browser.into();
    let cases = match &args.case {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            browser::parse_cases(&text)
                .map_err(|e| format!("{}: not a case or an array of cases: {e}", path.display()))?
        }
        None => vec![case_from_flags(args)?],
    };
    let policy = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Some(Policy::from_toml(&text).map_err(|e| {
                format!(
                    "the policy is invalid:\n{}",
                    e.render(&path.display().to_string(), Some(&text))
                )
            })?)
        }
        None => None,
    };
    let mut verdicts = Vec::with_capacity(cases.len());
    for case in &cases {
        let verdict = match &policy {
            Some(policy) => against_policy(case, policy, profile),
            None => browser::simulate(case, profile).map_err(|e| e.to_string())?,
        };
        verdicts.push(verdict);
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&verdicts)?),
        Format::Text => {
            use std::io::Write;
            let mut out = anstream::stdout();
            for v in &verdicts {
                writeln!(out, "{}", render::verdict(v))?;
            }
        }
    }
    let all_allowed = verdicts.iter().all(|v| v.allowed);
    Ok(if all_allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs a case with a corsica policy answering every request.
fn against_policy(case: &Case, policy: &Policy, profile: Profile) -> Verdict {
    let mut sim = Simulation::new(&case.id, &case.origin, &case.request, profile);
    let mut step = sim.start();
    let app = AppResponse::default();
    while let Step::Send(out) = step {
        step = sim.on_response(loopback::respond(policy, &out, &app));
    }
    sim.finish()
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
        redirects: (0..corsica::browser::sim::MAX_REDIRECTS)
            .map(|_| HopSpec {
                preflight_response: None,
                response: ResponseSpec {
                    status: 200,
                    headers: vec![],
                },
            })
            .collect(),
        response: Some(response),
    })
}
