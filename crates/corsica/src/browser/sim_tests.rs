use super::*;

const PAGE: &str = "https://app.example";

fn spec(url: &str, method: &str) -> RequestSpec {
    RequestSpec {
        url: url.into(),
        method: method.into(),
        headers: vec![],
        credentials: Credentials::SameOrigin,
        read_headers: vec![],
        force_preflight: false,
    }
}

fn cross(method: &str) -> RequestSpec {
    spec("https://api.example/items", method)
}

fn answer(headers: &[(&str, &str)]) -> Incoming {
    let list: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    Incoming {
        status: 204,
        headers: ResponseHeaders::from_text(&list),
    }
}

const DELETE_ALLOWED: [(&str, &str); 2] = [
    ("access-control-allow-origin", PAGE),
    ("access-control-allow-methods", "DELETE"),
];

fn leg(step: &Step) -> Option<Leg> {
    match step {
        Step::Send(out) => Some(out.request.leg),
        Step::Done => None,
    }
}

#[test]
fn skipping_the_request_after_a_passing_preflight_sends_only_the_preflight() {
    let mut sim = Simulation::new("t", PAGE, &cross("DELETE"), Profile::Chromium);
    assert_eq!(leg(&sim.start()), Some(Leg::Preflight));
    assert_eq!(
        sim.skip_actual(),
        None,
        "a pending preflight is not the request itself"
    );
    let step = sim.on_response(answer(&DELETE_ALLOWED));
    assert_eq!(leg(&step), Some(Leg::Actual));
    assert_eq!(sim.skip_actual(), Some(Step::Done));
    let v = sim.finish();
    assert_eq!(v.skipped_actual, Some(Skipped::PreflightPassed));
    assert!(v.preflight && !v.actual_sent && !v.allowed);
    assert_eq!(v.cors_error, None);
    assert_eq!(v.network_error, None);
    assert_eq!(v.requests.len(), 1, "only the preflight went out");
    assert!(v.fix.summary.starts_with("The preflight passes."));
    assert!(v
        .fix
        .response_headers
        .iter()
        .any(|(n, value)| n == "Access-Control-Allow-Origin" && value == PAGE));
    let actual = v.trace.iter().find(|e| e.stage == Stage::Actual).unwrap();
    assert!(actual.text.starts_with("not sent (preflight only): DELETE"));
}

#[test]
fn a_cached_preflight_clears_the_request_like_a_passing_one() {
    let mut first = Simulation::new("t", PAGE, &cross("DELETE"), Profile::Chromium);
    first.start();
    first.on_response(answer(&DELETE_ALLOWED));
    first.skip_actual();
    let cache = first.cache().clone();
    let mut again =
        Simulation::with_cache("t", PAGE, &cross("DELETE"), Profile::Chromium, cache, 1);
    assert_eq!(leg(&again.start()), Some(Leg::Actual), "the cache answers");
    again.skip_actual();
    let v = again.finish();
    assert_eq!(v.skipped_actual, Some(Skipped::CachedPreflight));
    assert!(!v.preflight && v.requests.is_empty());
    assert!(v
        .fix
        .summary
        .starts_with("A cached preflight result covers"));
}

#[test]
fn a_failing_preflight_is_blocked_as_ever_and_there_is_nothing_to_skip() {
    let mut sim = Simulation::new("t", PAGE, &cross("DELETE"), Profile::Chromium);
    sim.start();
    let step = sim.on_response(answer(&[("access-control-allow-origin", PAGE)]));
    assert_eq!(step, Step::Done);
    assert_eq!(sim.skip_actual(), None);
    let v = sim.finish();
    assert!(v.skipped_actual.is_none() && !v.allowed);
    assert_eq!(
        v.cors_error,
        Some(CorsError::MethodDisallowedByPreflightResponse)
    );
}

#[test]
fn skipping_a_request_without_preflight_says_nothing_was_checked() {
    let mut sim = Simulation::new("t", PAGE, &cross("GET"), Profile::Chromium);
    assert_eq!(leg(&sim.start()), Some(Leg::Actual));
    sim.skip_actual();
    let v = sim.finish();
    assert_eq!(v.skipped_actual, Some(Skipped::NoPreflight));
    assert!(!v.preflight && !v.actual_sent && v.requests.is_empty());
    assert!(v.fix.summary.starts_with("Nothing was checked"));
}

#[test]
fn skipping_a_same_origin_request_owes_no_cors_header() {
    let url = format!("{PAGE}/items");
    let mut sim = Simulation::new("t", PAGE, &spec(&url, "DELETE"), Profile::Chromium);
    assert_eq!(leg(&sim.start()), Some(Leg::Actual));
    sim.skip_actual();
    let v = sim.finish();
    assert_eq!(v.skipped_actual, Some(Skipped::SameOrigin));
    assert!(v.fix.summary.starts_with("Nothing to fix"));
    assert!(v.fix.preflight_headers.is_empty() && v.fix.response_headers.is_empty());
}
