//! `corsica check URL --origin ORIGIN`: a live server, judged as the
//! chosen browser (`--browser`, Chromium by default) would judge it. The browser simulator decides every request to send and
//! judges every response; this module only moves bytes.

use std::process::ExitCode;

use corsica::browser::{Leg, RequestSpec, Simulation, Skipped, Step, Verdict};

use super::explain::{script_request, with_snippet};
use super::CmdError;
use crate::cli::{CheckArgs, Format};
use crate::net::{Client, NetError};
use crate::render;

pub fn run(args: &CheckArgs) -> Result<ExitCode, CmdError> {
    let spec = script_request(&args.script, &args.url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::new(args.insecure, args.timeout)?;
    let verdict = match runtime.block_on(live(
        &client,
        &args.url,
        &args.origin,
        &spec,
        args.browser.into(),
        args.preflight_only,
    )) {
        Ok(verdict) => verdict,
        Err(e) => {
            if args.format == Format::Json {
                println!(
                    "{}",
                    serde_json::json!({ "url": args.url, "error": { "kind": e.kind, "message": e.message } })
                );
                return Ok(ExitCode::from(2));
            }
            return Err(e.into());
        }
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&with_snippet(&verdict, args.fix_for)?)?
        ),
        Format::Text => {
            use std::io::Write;
            writeln!(
                anstream::stdout(),
                "{}",
                render::verdict_for(&verdict, args.fix_for)
            )?;
        }
    }
    Ok(exit_code(&verdict))
}

/// 0 allowed, 1 blocked by CORS, 2 when fetch() would throw on the input.
/// With `--preflight-only`: 0 when the preflight passed (or CORS does not
/// apply), 3 when the request needs no preflight, so nothing was checked.
fn exit_code(verdict: &Verdict) -> ExitCode {
    match verdict.skipped_actual {
        Some(Skipped::NoPreflight) => return ExitCode::from(3),
        Some(_) => return ExitCode::SUCCESS,
        None => {}
    }
    if verdict.allowed {
        ExitCode::SUCCESS
    } else if verdict.js_error.is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Runs the simulation against the network. A network failure on any
/// request is an error (exit 2), not a CORS verdict. With
/// `preflight_only`, the request itself is never sent.
pub async fn live(
    client: &Client,
    id: &str,
    origin: &str,
    spec: &RequestSpec,
    profile: corsica::browser::Profile,
    preflight_only: bool,
) -> Result<Verdict, NetError> {
    let mut sim = Simulation::new(id, origin, spec, profile);
    let mut step = sim.start();
    while let Step::Send(out) = step {
        if preflight_only && out.request.leg == Leg::Actual {
            // The request itself is what was awaited, so this ends the fetch.
            step = sim.skip_actual().unwrap_or(Step::Done);
            continue;
        }
        let response = client.send(&out).await?;
        step = sim.on_response(response);
    }
    Ok(sim.finish())
}
