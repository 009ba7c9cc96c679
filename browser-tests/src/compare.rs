//! Comparing what the browser did with what the simulator predicted, field
//! by field, with a readable line per disagreement.

use std::collections::BTreeMap;

use corsica::browser::{
    Incoming, Leg, PreflightCache, Profile, ResponseHeaders, Simulation, Step, Verdict,
};
use serde::Serialize;

use crate::driver::{FetchObservation, JobObservation, ScriptResult};
use crate::scenario::Scenario;
use crate::server::Arrival;

/// One field on which the browser and the simulator disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// Which fetch of the scenario (0 for the case itself).
    pub fetch: usize,
    /// The field (`cors_error`, `requests`, ...).
    pub field: &'static str,
    /// The simulator's value.
    pub simulator: String,
    /// The browser's value.
    pub browser: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fetch #{} {}:\n      simulator: {}\n      browser:   {}",
            self.fetch, self.field, self.simulator, self.browser
        )
    }
}

/// The simulator's verdicts for every fetch of a scenario, each later
/// fetch seeing the preflight cache the earlier ones left (all at time 0:
/// the fetches run back to back, well within any max-age).
///
/// Each request the simulator sends is answered as the scripted server
/// answers it: by the hop its URL names (a redirect to the same URL gets
/// the same answer again), and with an empty 599 when the case scripts
/// none (which the server reports as a harness problem).
pub fn predict(scenario: &Scenario, profile: Profile) -> Result<Vec<Verdict>, String> {
    let case = &scenario.case;
    let mut cache = PreflightCache::new();
    let mut out = Vec::new();
    for request in scenario.fetches() {
        let mut sim = Simulation::with_cache(&case.id, &case.origin, &request, profile, cache, 0);
        sim.set_local_network(case.local_network);
        let mut step = sim.start();
        let mut sent = 0;
        while let Step::Send(outgoing) = step {
            sent += 1;
            if sent > 100 {
                return Err(format!("{}: the simulation does not end", case.id));
            }
            let hop = hop_of(&outgoing.request.url);
            let scripted = match hop {
                Some(0) => Some((case.preflight_response.as_ref(), case.response.as_ref())),
                Some(n) => case
                    .redirects
                    .get(n - 1)
                    .map(|h| (h.preflight_response.as_ref(), Some(&h.response))),
                None => None,
            };
            let response = scripted.and_then(|(preflight, response)| match outgoing.request.leg {
                Leg::Preflight => preflight,
                Leg::Actual => response,
            });
            step = match response {
                Some(r) => sim.on_response(r.into()),
                None => sim.on_response(Incoming {
                    status: 599,
                    headers: ResponseHeaders::new(Vec::new()),
                }),
            };
        }
        cache = sim.cache().clone();
        out.push(sim.finish());
    }
    Ok(out)
}

/// The hop a case URL names (`/c/<run>/<case>/<hop>`).
fn hop_of(url: &str) -> Option<usize> {
    let path = url.split("/c/").nth(1)?;
    let hop = path.split('/').nth(2)?;
    hop.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// A request as both sides describe it, for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wire {
    preflight: bool,
    method: String,
    url: String,
    origin: Option<String>,
    acrm: Option<String>,
    acrh: Option<String>,
}

impl std::fmt::Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{} {} Origin={}",
            if self.preflight { "preflight " } else { "" },
            self.method,
            self.url,
            self.origin.as_deref().unwrap_or("-")
        )?;
        if self.preflight {
            write!(
                f,
                " ACRM={} ACRH={}",
                self.acrm.as_deref().unwrap_or("-"),
                self.acrh.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    }
}

/// A URL without its `user:password@`, which never reaches the server.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

fn list(w: &[Wire]) -> String {
    if w.is_empty() {
        return "(none)".into();
    }
    w.iter()
        .map(|x| format!("[{x}]"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn show<T: std::fmt::Debug>(v: &T) -> String {
    format!("{v:?}")
}

/// What the browser's outcome says about the fields a verdict carries.
struct Seen {
    allowed: bool,
    cors_error: Option<String>,
    failed_parameter: Option<String>,
    console_message: Option<String>,
    readable: BTreeMap<String, Option<String>>,
    js_error: Option<String>,
    network_error: Option<String>,
}

fn seen(obs: &FetchObservation, reads: &[String]) -> Result<Seen, String> {
    let blank = || -> BTreeMap<String, Option<String>> {
        reads.iter().map(|n| (n.clone(), None)).collect()
    };
    let script = obs
        .script
        .as_ref()
        .ok_or("the browser did not report how fetch() settled")?;
    if obs.cors.len() > 1 {
        return Err(format!("more than one CORS error: {:?}", obs.cors));
    }
    if obs.console.len() > 1 {
        return Err(format!(
            "more than one CORS console message: {:?}",
            obs.console
        ));
    }
    let cors = obs.cors.first();
    let (allowed, readable, js_error) = match script {
        ScriptResult::Resolved { headers, .. } => (true, headers.clone(), None),
        ScriptResult::Rejected(e) if e == "TypeError: Failed to fetch" => (false, blank(), None),
        ScriptResult::Rejected(e) => (
            false,
            blank(),
            Some(e.strip_prefix("TypeError: ").unwrap_or(e).to_owned()),
        ),
    };
    let network_error = (!allowed && cors.is_none() && js_error.is_none()).then(|| {
        obs.failures
            .first()
            .or(obs.preflight_failures.first())
            .cloned()
            .unwrap_or_else(|| "(no failure event)".into())
    });
    Ok(Seen {
        allowed,
        cors_error: cors.map(|c| c.error.clone()),
        failed_parameter: cors.map(|c| c.parameter.clone()),
        console_message: obs.console.first().cloned(),
        readable,
        js_error,
        network_error,
    })
}

/// Compares a scenario's verdicts with what Chromium and the server saw.
/// An empty result means full agreement.
pub fn compare(
    verdicts: &[Verdict],
    observed: &JobObservation,
    arrivals: &[Arrival],
) -> Vec<Disagreement> {
    compare_for(Profile::Chromium, verdicts, observed, arrivals)
}

/// Compares a scenario's verdicts with what the browser `profile` names
/// and the server saw, on every field that browser exposes: Chromium's
/// DevTools report error names, failed parameters and network error
/// texts; Firefox and WebKit report none of these, only the rejection the
/// script sees and (Firefox) the console message. An empty result means
/// full agreement.
pub fn compare_for(
    profile: Profile,
    verdicts: &[Verdict],
    observed: &JobObservation,
    arrivals: &[Arrival],
) -> Vec<Disagreement> {
    let devtools = profile == Profile::Chromium;
    let console = profile != Profile::WebKit;
    let mut out = Vec::new();
    let mut push = |fetch: usize, field: &'static str, simulator: String, browser: String| {
        out.push(Disagreement {
            fetch,
            field,
            simulator,
            browser,
        });
    };
    if verdicts.len() != observed.fetches.len() {
        push(
            0,
            "fetches",
            verdicts.len().to_string(),
            observed.fetches.len().to_string(),
        );
        return out;
    }
    // What reached the server, across all the scenario's fetches.
    let predicted: Vec<Wire> = verdicts
        .iter()
        .flat_map(|v| v.requests.iter())
        .map(|r| Wire {
            preflight: r.leg == Leg::Preflight,
            method: r.method.clone(),
            url: without_userinfo(&r.url),
            origin: r.origin.clone(),
            acrm: r.request_method.clone(),
            acrh: r.request_headers.clone(),
        })
        .collect();
    let arrived: Vec<Wire> = arrivals
        .iter()
        .map(|a| Wire {
            preflight: a.is_preflight(),
            method: a.method.clone(),
            url: a.url(),
            origin: a.origin.clone(),
            acrm: a.request_method.clone(),
            acrh: a.request_headers.clone(),
        })
        .collect();
    if predicted != arrived {
        push(0, "requests", list(&predicted), list(&arrived));
    }
    if verdicts.len() == 1 {
        let preflight = arrived.iter().any(|w| w.preflight);
        let actual = arrived.iter().any(|w| !w.preflight);
        if verdicts[0].preflight != preflight {
            push(
                0,
                "preflight",
                show(&verdicts[0].preflight),
                show(&preflight),
            );
        }
        if verdicts[0].actual_sent != actual {
            push(
                0,
                "actual_sent",
                show(&verdicts[0].actual_sent),
                show(&actual),
            );
        }
    }
    for (i, (v, obs)) in verdicts.iter().zip(&observed.fetches).enumerate() {
        let reads: Vec<String> = v.readable_headers.keys().cloned().collect();
        let rejection = match &obs.script {
            Some(ScriptResult::Rejected(e)) => Some(e.clone()),
            _ => None,
        };
        if !devtools {
            if v.fetch_error != rejection {
                push(i, "fetch_error", show(&v.fetch_error), show(&rejection));
            }
            if v.allowed
                != obs
                    .script
                    .as_ref()
                    .is_some_and(|r| matches!(r, ScriptResult::Resolved { .. }))
            {
                push(i, "allowed", show(&v.allowed), show(&!v.allowed));
            }
            let readable = match &obs.script {
                Some(ScriptResult::Resolved { headers, .. }) => headers.clone(),
                _ => reads.iter().map(|n| (n.clone(), None)).collect(),
            };
            if v.readable_headers != readable {
                push(
                    i,
                    "readable_headers",
                    show(&v.readable_headers),
                    show(&readable),
                );
            }
            // Every CORS line the browser printed for the fetch, in order.
            let printed = (!obs.console.is_empty()).then(|| obs.console.join("\n"));
            if console && v.console_message != printed {
                push(
                    i,
                    "console_message",
                    show(&v.console_message),
                    show(&printed),
                );
            }
            continue;
        }
        let s = match seen(obs, &reads) {
            Ok(s) => s,
            Err(e) => {
                push(i, "observation", "one outcome".into(), e);
                continue;
            }
        };
        if v.allowed != s.allowed {
            push(i, "allowed", show(&v.allowed), show(&s.allowed));
        }
        let sim_error = v.cors_error.map(|e| e.name().to_owned());
        if sim_error != s.cors_error {
            push(i, "cors_error", show(&sim_error), show(&s.cors_error));
        }
        if v.failed_parameter != s.failed_parameter {
            push(
                i,
                "failed_parameter",
                show(&v.failed_parameter),
                show(&s.failed_parameter),
            );
        }
        if v.console_message != s.console_message {
            push(
                i,
                "console_message",
                show(&v.console_message),
                show(&s.console_message),
            );
        }
        if v.readable_headers != s.readable {
            push(
                i,
                "readable_headers",
                show(&v.readable_headers),
                show(&s.readable),
            );
        }
        if v.js_error != s.js_error {
            push(i, "js_error", show(&v.js_error), show(&s.js_error));
        } else if v.allowed == s.allowed && v.fetch_error != rejection {
            // Otherwise the rejection follows from the fields above.
            push(i, "fetch_error", show(&v.fetch_error), show(&rejection));
        }
        if v.network_error != s.network_error {
            push(
                i,
                "network_error",
                show(&v.network_error),
                show(&s.network_error),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::CorsStatus;
    use corsica::browser::{Case, Credentials, RequestSpec, ResponseSpec};

    fn scenario() -> Scenario {
        Scenario {
            case: Case {
                id: "t".into(),
                origin: "http://127.0.0.1:1".into(),
                request: RequestSpec {
                    url: "http://127.0.0.1:2/c/r/0/0".into(),
                    method: "GET".into(),
                    headers: vec![],
                    credentials: Credentials::SameOrigin,
                    read_headers: vec![],
                    force_preflight: false,
                },
                preflight_response: None,
                response: Some(ResponseSpec {
                    status: 200,
                    headers: vec![],
                }),
                redirects: vec![],
                local_network: Default::default(),
            },
            follow_ups: vec![],
        }
    }

    fn arrival() -> Arrival {
        Arrival {
            port: 2,
            method: "GET".into(),
            path: "/c/r/0/0".into(),
            origin: Some("http://127.0.0.1:1".into()),
            request_method: None,
            request_headers: None,
        }
    }

    #[test]
    fn agreement_and_each_kind_of_disagreement() {
        let verdicts = predict(&scenario(), Profile::Chromium).unwrap();
        let message = verdicts[0].console_message.clone().unwrap();
        let mut obs = JobObservation {
            key: 0,
            fetches: vec![FetchObservation {
                script: Some(ScriptResult::Rejected("TypeError: Failed to fetch".into())),
                cors: vec![CorsStatus {
                    error: "MissingAllowOriginHeader".into(),
                    parameter: String::new(),
                }],
                console: vec![message],
                ..FetchObservation::default()
            }],
        };
        assert_eq!(compare(&verdicts, &obs, &[arrival()]), vec![]);
        // Nothing reached the server.
        let fields: Vec<&str> = compare(&verdicts, &obs, &[])
            .iter()
            .map(|d| d.field)
            .collect();
        assert_eq!(fields, ["requests", "actual_sent"]);
        // Another error name, and no console message.
        obs.fetches[0].cors[0].error = "AllowOriginMismatch".into();
        obs.fetches[0].console.clear();
        let fields: Vec<&str> = compare(&verdicts, &obs, &[arrival()])
            .iter()
            .map(|d| d.field)
            .collect();
        assert_eq!(fields, ["cors_error", "console_message"]);
        // The fetch went through.
        obs.fetches[0] = FetchObservation {
            script: Some(ScriptResult::Resolved {
                status: 200,
                headers: Default::default(),
            }),
            ..FetchObservation::default()
        };
        let fields: Vec<&str> = compare(&verdicts, &obs, &[arrival()])
            .iter()
            .map(|d| d.field)
            .collect();
        assert_eq!(
            fields,
            [
                "allowed",
                "cors_error",
                "failed_parameter",
                "console_message"
            ]
        );
    }
}
