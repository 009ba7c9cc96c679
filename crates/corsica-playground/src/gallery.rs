//! Ready-made scenarios: the classic CORS failures, each a playground case
//! with a one-line explanation and the outcome a browser gives it.

use serde::Serialize;
use serde_json::{json, Value};

/// One ready-made scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// A stable name (also the case's id).
    pub id: &'static str,
    /// A short title.
    pub title: &'static str,
    /// One line saying what goes wrong, or right, and why.
    pub explanation: &'static str,
    /// `allowed` or `blocked`: what Chromium does.
    pub expected: &'static str,
    /// The playground case (`request.url` a path, `{origin}` the page).
    pub case: Value,
    /// A corsica policy answering instead of the scripted headers (with
    /// `{origin}` for the page's origin), for the policy-mode scenarios.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'static str>,
}

fn case(id: &str, request: Value, preflight: Option<Value>, response: Value) -> Value {
    let mut case =
        json!({"id": id, "origin": "{origin}", "request": request, "response": response});
    if let Some(p) = preflight {
        case["preflight_response"] = p;
    }
    case
}

fn allow_origin() -> Value {
    json!(["access-control-allow-origin", "{origin}"])
}

/// Every scenario, the seed's first.
pub fn gallery() -> Vec<Scenario> {
    let put_json = json!({"url": "/api/items/7", "method": "PUT",
        "headers": [["content-type", "application/json"]]});
    vec![
        Scenario {
            id: "put-json",
            title: "PUT with application/json (the seed)",
            explanation: "Site A's script PUTs JSON to site B's API: PUT and Content-Type: application/json both need a preflight, and B's preflight answer allows the origin but not the method.",
            expected: "blocked",
            case: case("put-json", put_json.clone(),
                Some(json!({"status": 204, "headers": [allow_origin()]})),
                json!({"status": 200, "headers": [allow_origin()]})),
            policy: None,
        },
        Scenario {
            id: "put-json-fixed",
            title: "PUT with application/json, fixed",
            explanation: "The same PUT once the preflight answer also lists the method and the header: the browser sends the PUT and the script reads the response.",
            expected: "allowed",
            case: case("put-json-fixed", put_json.clone(),
                Some(json!({"status": 204, "headers": [allow_origin(),
                    ["access-control-allow-methods", "PUT"],
                    ["access-control-allow-headers", "content-type"]]})),
                json!({"status": 200, "headers": [allow_origin()]})),
            policy: None,
        },
        Scenario {
            id: "put-json-policy",
            title: "PUT with application/json, answered by a corsica policy",
            explanation: "A corsica policy answers instead of hand-written headers: it allows the page's origin, PUT and Content-Type, and writes the preflight answer itself.",
            expected: "allowed",
            case: case("put-json-policy", put_json,
                None,
                json!({"status": 200, "headers": [["content-type", "application/json"]]})),
            policy: Some("origins = [\"{origin}\"]\nmethods = [\"PUT\"]\nrequest_headers = [\"content-type\"]\n"),
        },
        Scenario {
            id: "wildcard-credentials",
            title: "* with credentials",
            explanation: "A fetch with credentials: \"include\" never accepts Access-Control-Allow-Origin: *; the server must name the origin and add Access-Control-Allow-Credentials: true.",
            expected: "blocked",
            case: case("wildcard-credentials",
                json!({"url": "/api/me", "credentials": "include"}),
                None,
                json!({"status": 200, "headers": [["access-control-allow-origin", "*"]]})),
            policy: None,
        },
        Scenario {
            id: "missing-allow-headers",
            title: "A missing Access-Control-Allow-Headers",
            explanation: "An Authorization header makes the request preflighted, and the preflight answer does not list it in Access-Control-Allow-Headers.",
            expected: "blocked",
            case: case("missing-allow-headers",
                json!({"url": "/api/items", "headers": [["authorization", "Bearer demo"]]}),
                Some(json!({"status": 204, "headers": [allow_origin()]})),
                json!({"status": 200, "headers": [allow_origin()]})),
            policy: None,
        },
        Scenario {
            id: "preflight-redirect",
            title: "A redirect on a preflight",
            explanation: "The server answers the OPTIONS preflight with a redirect (often http to https, or a missing trailing slash); browsers never follow a redirect of a preflight.",
            expected: "blocked",
            case: case("preflight-redirect",
                json!({"url": "/api/items/7", "method": "DELETE"}),
                Some(json!({"status": 301, "headers": [["location", "{redirect}/api/items/7/"], allow_origin()]})),
                json!({"status": 204, "headers": [allow_origin()]})),
            policy: None,
        },
        Scenario {
            id: "exposed-header",
            title: "A response header that is not exposed",
            explanation: "The request succeeds, but response.headers.get(\"x-request-id\") is null: scripts see only safelisted headers unless Access-Control-Expose-Headers lists the name.",
            expected: "allowed",
            case: case("exposed-header",
                json!({"url": "/api/items", "read_headers": ["x-request-id", "content-type"]}),
                None,
                json!({"status": 200, "headers": [allow_origin(), ["content-type", "application/json"], ["x-request-id", "42"]]})),
            policy: None,
        },
        Scenario {
            id: "preflight-cache",
            title: "The preflight cache (Access-Control-Max-Age)",
            explanation: "Max-Age 86400 asks browsers to keep this preflight for a day (Chromium keeps it 2 hours, Firefox a day, WebKit 10 minutes, 5 seconds without the header): press Run again and the second PATCH goes without a preflight.",
            expected: "allowed",
            case: case("preflight-cache",
                json!({"url": "/api/items/7", "method": "PATCH"}),
                Some(json!({"status": 204, "headers": [allow_origin(),
                    ["access-control-allow-methods", "PATCH"], ["access-control-max-age", "86400"]]})),
                json!({"status": 200, "headers": [allow_origin()]})),
            policy: None,
        },
        Scenario {
            id: "trailing-slash",
            title: "A trailing slash in Access-Control-Allow-Origin",
            explanation: "The origin is compared as an exact string: \"http://host:port/\" with a slash is not the page's origin \"http://host:port\".",
            expected: "blocked",
            case: case("trailing-slash",
                json!({"url": "/api/items"}),
                None,
                json!({"status": 200, "headers": [["access-control-allow-origin", "{origin}/"]]})),
            policy: None,
        },
        Scenario {
            id: "cross-origin-redirect",
            title: "A redirect to a third origin",
            explanation: "After a redirect from one foreign origin to another, the browser sends Origin: null, so the last server must allow null or *.",
            expected: "allowed",
            case: {
                let mut c = case("cross-origin-redirect",
                    json!({"url": "/api/old"}),
                    None,
                    json!({"status": 307, "headers": [allow_origin(), ["location", "{redirect}/api/new"]]}));
                c["redirects"] = json!([{"response": {"status": 200, "headers": [["access-control-allow-origin", "*"]]}}]);
                c
            },
            policy: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_a_case_with_an_expectation() {
        for s in gallery() {
            let text = s.case.to_string();
            let cases = corsica::browser::parse_cases(&text).unwrap();
            assert_eq!(cases[0].id, s.id);
            assert!(matches!(s.expected, "allowed" | "blocked"), "{}", s.id);
            assert!(!s.explanation.contains('\n'), "{}", s.id);
        }
    }

    #[test]
    fn the_simulator_gives_every_scenario_its_expected_outcome() {
        use crate::compose::{concretize, Ports};
        use crate::engine::{load_policy, predict};
        let ports = Ports {
            page: 1,
            api: 2,
            redirect: 3,
        };
        let origin = Ports::origin(1);
        for s in gallery() {
            let case = &corsica::browser::parse_cases(&s.case.to_string()).unwrap()[0];
            let case = concretize(case, &origin, ports, 5);
            let policy = s
                .policy
                .map(|p| load_policy(&p.replace("{origin}", &origin)).unwrap());
            let verdict =
                predict(&case, corsica::browser::Profile::Chromium, policy.as_ref()).unwrap();
            let outcome = if verdict.allowed {
                "allowed"
            } else {
                "blocked"
            };
            assert_eq!(
                outcome, s.expected,
                "{}: {:?}",
                s.id, verdict.console_message
            );
        }
    }
}
