//! The engine behind the page's JSON endpoints: the prediction (the
//! browser simulator) and the policy diagnostics (`corsica lint`'s). Both
//! only call the `corsica` engine; no CORS rule is decided here.

use corsica::browser::{
    self, AppResponse, Case, Incoming, Outgoing, PreflightCache, Profile, Simulation, Step, Verdict,
};
use corsica::{ConfigError, Diagnostic, Policy};

use crate::compose::hop_of;

/// What the application behind a policy answers at `hop` of a case: the
/// composed response of that hop (status and the application's own
/// headers), or a plain `200` when none is composed. The policy then adds
/// or removes the CORS headers.
pub fn app_response(case: &Case, hop: usize) -> AppResponse {
    let spec = match hop {
        0 => case.response.as_ref(),
        n => case.redirects.get(n - 1).map(|h| &h.response),
    };
    match spec {
        Some(spec) => AppResponse {
            status: spec.status,
            headers: spec.headers.clone(),
        },
        None => AppResponse::default(),
    }
}

/// The answer a server enforcing `policy` gives to `request` at `hop` of
/// `case`: the engine's decision, as `corsica explain --policy` makes it.
pub fn policy_answer(policy: &Policy, case: &Case, hop: usize, request: &Outgoing) -> Incoming {
    browser::respond(policy, request, &app_response(case, hop))
}

/// Predicts what `profile`'s browser does with a concrete case: against
/// its scripted responses, or with `policy` answering every request.
pub fn predict(case: &Case, profile: Profile, policy: Option<&Policy>) -> Result<Verdict, String> {
    predict_with_cache(case, profile, policy, PreflightCache::default(), 0).map(|(v, _)| v)
}

/// Predicts a fetch of the case made after earlier ones left `cache`, at
/// `now` seconds; returns the verdict and the cache as the fetch leaves it.
pub fn predict_with_cache(
    case: &Case,
    profile: Profile,
    policy: Option<&Policy>,
    cache: PreflightCache,
    now: u64,
) -> Result<(Verdict, PreflightCache), String> {
    let Some(policy) = policy else {
        return browser::simulate_with_cache(case, &case.request, profile, cache, now)
            .map_err(|e| e.to_string());
    };
    let mut sim =
        Simulation::with_cache(&case.id, &case.origin, &case.request, profile, cache, now);
    let mut step = sim.start();
    while let Step::Send(out) = step {
        let hop = hop_of(&out.request.url);
        step = sim.on_response(policy_answer(policy, case, hop, &out));
    }
    let cache = sim.cache().clone();
    Ok((sim.finish(), cache))
}

/// Predicts the second fetch of a case, made `after` seconds after the
/// first: what the preflight cache changes.
pub fn predict_repeat(
    case: &Case,
    profile: Profile,
    policy: Option<&Policy>,
    after: u64,
) -> Result<Verdict, String> {
    let (_, cache) = predict_with_cache(case, profile, policy, PreflightCache::default(), 0)?;
    predict_with_cache(case, profile, policy, cache, after).map(|(v, _)| v)
}

/// Parses a policy for a run; its diagnostics when it is refused.
pub fn load_policy(source: &str) -> Result<Policy, String> {
    Policy::from_toml(source).map_err(|e| e.render("policy.toml", Some(source)))
}

/// Checks a policy's text and reports every diagnostic in the JSON form
/// of `corsica lint --format json` (file `policy.toml`).
pub fn lint(source: &str) -> serde_json::Value {
    let diagnostics = diagnostics(source);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    serde_json::json!({
        "file": "policy.toml",
        "kind": "policy",
        "valid": errors == 0,
        "errors": errors,
        "warnings": diagnostics.len() - errors,
        "diagnostics": diagnostics.iter().map(|d| d.to_json(source)).collect::<Vec<_>>(),
    })
}

/// The diagnostics `corsica lint` gives a policy file.
fn diagnostics(source: &str) -> Vec<Diagnostic> {
    // As `corsica lint` does: an empty file says nothing of what it is for.
    if source.parse::<toml::Table>().is_ok_and(|t| t.is_empty()) {
        return vec![Diagnostic::error(
            "empty-file",
            "",
            "the file has no settings",
            "a policy file needs origins = [\"https://app.example.com\"]; a gateway file needs listen, upstream and a [policy] table (see `corsica serve --help`)",
        )];
    }
    match Policy::from_toml(source) {
        Ok(policy) => policy.warnings().to_vec(),
        Err(ConfigError { diagnostics }) => diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_reports_line_reason_and_fix() {
        let report = lint("origins = [\"*\"]\ncredentials = true\n");
        assert_eq!(report["valid"], false);
        let d = &report["diagnostics"][0];
        assert_eq!(d["code"], "wildcard-with-credentials");
        assert!(d["line"].as_u64().is_some());
        assert!(!d["fix"].as_str().unwrap().is_empty());
        assert_eq!(lint("")["diagnostics"][0]["code"], "empty-file");
    }

    #[test]
    fn a_policy_answers_the_prediction() {
        let case = &browser::parse_cases(
            r#"{"id":"p","origin":"http://127.0.0.1:1","request":{"url":"http://127.0.0.1:2/run/1/0/x","method":"PUT"}}"#,
        )
        .unwrap()[0];
        let open = load_policy("origins = [\"http://127.0.0.1:1\"]\nmethods = [\"PUT\"]").unwrap();
        assert!(
            predict(case, Profile::Chromium, Some(&open))
                .unwrap()
                .allowed
        );
        let closed = load_policy("origins = [\"http://127.0.0.1:1\"]").unwrap();
        let verdict = predict(case, Profile::Chromium, Some(&closed)).unwrap();
        assert!(!verdict.allowed);
    }

    #[test]
    fn a_second_fetch_uses_the_cached_preflight() {
        let case = &browser::parse_cases(
            r#"{"id":"c","origin":"http://127.0.0.1:1","request":{"url":"http://127.0.0.1:2/run/1/0/x","method":"PUT"},
            "preflight_response":{"status":204,"headers":[["access-control-allow-origin","http://127.0.0.1:1"],["access-control-allow-methods","PUT"],["access-control-max-age","60"]]},
            "response":{"status":200,"headers":[["access-control-allow-origin","http://127.0.0.1:1"]]}}"#,
        )
        .unwrap()[0];
        assert!(predict(case, Profile::Chromium, None).unwrap().preflight);
        let again = predict_repeat(case, Profile::Chromium, None, 1).unwrap();
        assert!(again.allowed && !again.preflight);
        let later = predict_repeat(case, Profile::Chromium, None, 61).unwrap();
        assert!(later.preflight);
    }
}
