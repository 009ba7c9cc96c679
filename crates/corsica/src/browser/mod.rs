//! The browser side: a user-agent CORS simulator that decides what Chromium
//! does with a `fetch()`, down to its error name and console message.
//!
//! [`simulate`] runs a scripted [`Case`]; [`Simulation`] is the same logic
//! as a sans-IO state machine for callers that talk to real servers.
//!
//! ```
//! use corsica::browser::{simulate, parse_cases, Profile};
//! let case = &parse_cases(r#"{
//!   "id": "put", "origin": "https://app.example",
//!   "request": {"url": "https://api.example/items", "method": "PUT"},
//!   "preflight_response": {"status": 204, "headers": [["access-control-allow-origin", "https://app.example"]]}
//! }"#)?[0];
//! let verdict = simulate(case, Profile::Chromium)?;
//! assert!(!verdict.allowed);
//! assert_eq!(verdict.cors_error.unwrap().name(), "MethodDisallowedByPreflightResponse");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod case;
mod check;
mod console;
mod error;
mod expose;
mod fix;
mod headers;
pub mod lna;
mod loopback;
mod narrate;
mod order;
mod preflight;
mod profile;
mod redirect;
mod rejection;
mod request;
// Reached by the property tests through `crate::__private`.
pub(crate) mod safelist;
mod sim;
mod verdict;

pub use cache::PreflightCache;
pub use case::{parse_cases, Case, Credentials, HopSpec, RequestSpec, ResponseSpec};
pub use check::{cors_check, Failure};
pub use error::CorsError;
pub use headers::{latin1, ResponseHeaders};
pub use loopback::{respond, AppResponse};
pub use profile::Profile;
pub use sim::{Incoming, Outgoing, Simulation, Step, MAX_REDIRECTS};
pub use verdict::{Fix, Leg, SentRequest, Skipped, Stage, TraceEvent, Verdict};

/// A case that cannot be simulated as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseError {
    /// The case's id.
    pub id: String,
    /// What is missing or wrong.
    pub reason: String,
}

impl std::fmt::Display for CaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "case {}: {}", self.id, self.reason)
    }
}

impl std::error::Error for CaseError {}

impl From<&ResponseSpec> for Incoming {
    fn from(spec: &ResponseSpec) -> Incoming {
        Incoming {
            status: spec.status,
            headers: ResponseHeaders::from_text(&spec.headers),
        }
    }
}

/// Runs a case against its scripted responses.
pub fn simulate(case: &Case, profile: Profile) -> Result<Verdict, CaseError> {
    let mut sim = Simulation::new(&case.id, &case.origin, &case.request, profile);
    sim.set_local_network(case.local_network);
    Ok(drive(case, sim)?.finish())
}

/// Runs `request`, a fetch of the case's URL made after earlier fetches
/// filled `cache`, against the case's scripted responses at time `now`
/// (seconds). Returns the verdict and the cache as the fetch leaves it, to
/// carry into the next fetch: this is how a page that fetches one URL twice
/// is simulated.
pub fn simulate_with_cache(
    case: &Case,
    request: &RequestSpec,
    profile: Profile,
    cache: PreflightCache,
    now: u64,
) -> Result<(Verdict, PreflightCache), CaseError> {
    let mut sim = Simulation::with_cache(&case.id, &case.origin, request, profile, cache, now);
    sim.set_local_network(case.local_network);
    let sim = drive(case, sim)?;
    let cache = sim.cache().clone();
    Ok((sim.finish(), cache))
}

/// Feeds a simulation the case's scripted responses until it is done.
fn drive(case: &Case, mut sim: Simulation) -> Result<Simulation, CaseError> {
    let mut step = sim.start();
    let mut hop = 0usize;
    let mut last_leg = None;
    while let Step::Send(out) = step {
        // Any request after an actual response follows a redirect: it
        // (and its preflight) belong to the next hop's responses.
        if last_leg == Some(Leg::Actual) {
            hop += 1;
        }
        let (preflight, response) = match hop {
            0 => (case.preflight_response.as_ref(), case.response.as_ref()),
            n => match case.redirects.get(n - 1) {
                Some(h) => (h.preflight_response.as_ref(), Some(&h.response)),
                None => {
                    return Err(CaseError {
                        id: case.id.clone(),
                        reason: format!(
                            "the response redirects to {}, but `redirects` has no entry {}",
                            out.request.url,
                            n - 1
                        ),
                    })
                }
            },
        };
        let scripted = match out.request.leg {
            Leg::Preflight => preflight,
            Leg::Actual => response,
        };
        let Some(scripted) = scripted else {
            let which = match (out.request.leg, hop) {
                (Leg::Preflight, 0) => "preflight_response".to_owned(),
                (Leg::Actual, 0) => "response".to_owned(),
                (Leg::Preflight, n) => format!("redirects[{}].preflight_response", n - 1),
                (Leg::Actual, n) => format!("redirects[{}].response", n - 1),
            };
            return Err(CaseError {
                id: case.id.clone(),
                reason: format!(
                    "the browser sends {} {}, but the case has no `{which}`",
                    out.request.method, out.request.url
                ),
            });
        };
        last_leg = Some(out.request.leg);
        step = sim.on_response(scripted.into());
    }
    Ok(sim)
}

#[cfg(test)]
mod tests;
