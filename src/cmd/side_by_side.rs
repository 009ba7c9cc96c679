//! `corsica explain --browser all`: one case in Chromium, Firefox and
//! WebKit, the fields where their verdicts differ, and why.

use std::collections::BTreeMap;
use std::fmt::Write;

use corsica::browser::{Case, Profile, Verdict};
use serde::Serialize;

/// The three verdicts for one case and where they differ.
#[derive(Debug, Serialize)]
pub struct Compared {
    /// The case's id.
    pub id: String,
    /// Each browser's verdict, keyed `chromium`, `firefox`, `webkit`.
    pub browsers: BTreeMap<&'static str, Verdict>,
    /// The fields whose values differ, with the reason.
    pub differences: Vec<Difference>,
}

/// One field on which the browsers disagree.
#[derive(Debug, Serialize)]
pub struct Difference {
    /// The verdict field (`preflight`, `allowed`, `requests`, …).
    pub field: &'static str,
    /// Each browser's value, as text.
    pub values: BTreeMap<&'static str, String>,
    /// Why they differ.
    pub reason: String,
}

/// Reads one compared field of a verdict as text.
type Field = fn(&Verdict) -> String;

/// The browsers, in display order.
pub const PROFILES: [Profile; 3] = [Profile::Chromium, Profile::Firefox, Profile::WebKit];

/// Compares the three verdicts of `case` (in `PROFILES` order).
pub fn compare(case: &Case, verdicts: Vec<Verdict>) -> Compared {
    let id = verdicts
        .first()
        .map_or_else(|| case.id.clone(), |v| v.id.clone());
    let fields: [(&'static str, Field); 7] = [
        ("preflight", |v| v.preflight.to_string()),
        ("actual_sent", |v| v.actual_sent.to_string()),
        ("allowed", |v| v.allowed.to_string()),
        ("requests", |v| requests(v)),
        ("readable_headers", |v| format!("{:?}", v.readable_headers)),
        ("error", |v| error_kind(v)),
        ("preflight_cache", |_| String::new()),
    ];
    let mut differences = Vec::new();
    for (field, get) in fields {
        let values: BTreeMap<&'static str, String> = if field == "preflight_cache" {
            // Compared only when every browser's preflight passed: a failed
            // one is already a difference of its own.
            if !verdicts.iter().all(preflight_passed) {
                continue;
            }
            cache_lifetimes(case, &verdicts)
        } else {
            PROFILES
                .iter()
                .zip(&verdicts)
                .map(|(p, v)| (p.as_str(), get(v)))
                .collect()
        };
        let mut distinct: Vec<&String> = values.values().collect();
        distinct.sort();
        distinct.dedup();
        if distinct.len() > 1 {
            differences.push(Difference {
                field,
                reason: reason(field, case, &verdicts),
                values,
            });
        }
    }
    Compared {
        id,
        browsers: PROFILES.iter().map(|p| p.as_str()).zip(verdicts).collect(),
        differences,
    }
}

/// What reached the server, one request per line.
fn requests(v: &Verdict) -> String {
    v.requests
        .iter()
        .map(|r| {
            let mut line = format!("{} {}", r.method, r.url);
            if let Some(h) = &r.request_headers {
                let _ = write!(line, " (ACRH {h})");
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The failure as a category: Chromium's error name (kept as the
/// classification in every profile), a network error, or a thrown error.
fn error_kind(v: &Verdict) -> String {
    if let Some(e) = &v.cors_error {
        e.name().to_owned()
    } else if let Some(n) = &v.network_error {
        format!("network error: {n}")
    } else if v.js_error.is_some() {
        "fetch() threw".to_owned()
    } else {
        "none".to_owned()
    }
}

/// How long each browser caches the preflight's result, when one passed.
fn cache_lifetimes(case: &Case, verdicts: &[Verdict]) -> BTreeMap<&'static str, String> {
    PROFILES
        .iter()
        .zip(verdicts)
        .map(|(p, v)| {
            let text = match (&case.preflight_response, preflight_passed(v)) {
                (Some(spec), true) => {
                    let max_age = spec
                        .headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("access-control-max-age"))
                        .map(|(_, v)| v.trim().as_bytes());
                    format!("{} s", p.cache_seconds(max_age))
                }
                _ => "not cached".to_owned(),
            };
            (p.as_str(), text)
        })
        .collect()
}

fn preflight_passed(v: &Verdict) -> bool {
    v.preflight && (v.actual_sent || v.skipped_actual.is_some())
}

const CLIENT_HINTS: [&str; 9] = [
    "dpr",
    "device-memory",
    "downlink",
    "width",
    "viewport-width",
    "rtt",
    "ect",
    "save-data",
    "intervention",
];

/// Why the browsers differ on `field`: the known causes this case shows,
/// else the first step where the traces part.
fn reason(field: &str, case: &Case, verdicts: &[Verdict]) -> String {
    let mut why = Vec::new();
    let names: Vec<String> = case
        .request
        .headers
        .iter()
        .map(|(n, _)| n.trim().to_ascii_lowercase())
        .collect();
    if field == "preflight_cache" {
        return "each browser caps Access-Control-Max-Age differently: Chromium 7,200 s, Firefox 86,400 s, WebKit 600 s; without the header each caches 5 s; Firefox does not cache a value that is not all digits, where Chromium and WebKit fall back to 5 s (lifetimes from the engines' sources, not timed by the harness)".to_owned();
    }
    if let Some(h) = names.iter().find(|n| CLIENT_HINTS.contains(&n.as_str())) {
        why.push(format!(
            "Chromium safelists the client hints and Intervention ({h} here); Firefox and WebKit need a preflight for them"
        ));
    }
    if names.iter().any(|n| n == "user-agent") {
        why.push("Chromium silently drops a User-Agent set by a script; Firefox and WebKit send it, so it needs a preflight".to_owned());
    }
    if case.request.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("range")
            && v.trim()
                .get(..5)
                .is_some_and(|u| u != "bytes" && u.eq_ignore_ascii_case("bytes"))
    }) {
        why.push(
            "WebKit matches the Range unit case-insensitively (`Bytes=` is safelisted there)"
                .to_owned(),
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        why.push("a header set twice: Chromium and WebKit combine the values (`a, b`, WebKit without re-trimming), Firefox checks and names each entry".to_owned());
    }
    if case.request.headers.iter().any(|(_, v)| !v.is_ascii()) {
        why.push(
            "Firefox treats non-ASCII bytes in Accept and Content-Type as CORS-unsafe".to_owned(),
        );
    }
    if verdicts
        .iter()
        .any(|v| v.cors_error.is_some_and(|e| e.is_local_network_access()))
    {
        why.push("Local Network Access: only Chromium (142+) asks for the local-network permission; the Firefox and WebKit profiles apply no such check".to_owned());
    }
    if !case.redirects.is_empty() && verdicts.iter().any(|v| v.requests.len() > 2) {
        why.push("the browsers follow redirects differently (headers kept or dropped, DELETE to GET in WebKit, preflights after a redirect in Firefox and WebKit; see docs/browser-differences.md)".to_owned());
    }
    if field == "error" && verdicts.iter().all(|v| !v.allowed) {
        why.push("the browsers run the checks in a different order, so another check reports first (Firefox checks the method before parsing Access-Control-Allow-Headers, and names the first unsafe header in sorted order)".to_owned());
    }
    if why.is_empty() {
        why.push(first_divergence(verdicts));
    }
    why.join("; ")
}

/// The first trace step where a browser's trace differs from Chromium's.
fn first_divergence(verdicts: &[Verdict]) -> String {
    let Some(chromium) = verdicts.first() else {
        return String::new();
    };
    for (p, v) in PROFILES.iter().zip(verdicts).skip(1) {
        let at = chromium
            .trace
            .iter()
            .zip(&v.trace)
            .find(|(a, b)| a.text != b.text);
        if let Some((a, b)) = at {
            return format!(
                "the traces part here: Chromium: {}; {}: {}",
                a.text,
                p.as_str(),
                b.text
            );
        }
    }
    "the traces part after the last common step".to_owned()
}

/// The text form: a table of the differing fields, the reasons, and what
/// each browser shows the developer.
pub fn render(c: &Compared) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "── {} (chromium · firefox · webkit) ──", c.id);
    let outcome = |v: &Verdict| if v.allowed { "ALLOWED" } else { "BLOCKED" };
    let row = |out: &mut String, name: &str, vals: [String; 3]| {
        let _ = writeln!(
            out,
            "{name:>18}   {:<28} {:<28} {}",
            vals[0], vals[1], vals[2]
        );
    };
    let get = |name: &str| &c.browsers[name];
    row(
        &mut out,
        "",
        ["chromium".into(), "firefox".into(), "webkit".into()],
    );
    row(
        &mut out,
        "result",
        [
            outcome(get("chromium")).into(),
            outcome(get("firefox")).into(),
            outcome(get("webkit")).into(),
        ],
    );
    if c.differences.is_empty() {
        let _ = writeln!(
            out,
            "{:>18}   none: the three browsers decide alike (only their console text differs)",
            "differences"
        );
    }
    for d in &c.differences {
        let short = |s: &String| {
            if s.chars().count() > 28 {
                format!("{}…", s.chars().take(27).collect::<String>())
            } else {
                s.clone()
            }
        };
        row(
            &mut out,
            d.field,
            [
                short(&d.values["chromium"]),
                short(&d.values["firefox"]),
                short(&d.values["webkit"]),
            ],
        );
        if d.values.values().any(|v| v.chars().count() > 28) {
            for (name, v) in &d.values {
                let _ = writeln!(out, "{:>18}     {name}: {v}", "");
            }
        }
        let _ = writeln!(out, "{:>18}     why: {}", "", d.reason);
    }
    for (name, v) in &c.browsers {
        if let Some(m) = &v.console_message {
            for line in m.lines() {
                let _ = writeln!(out, "{:>18}   {line}", format!("{name} console"));
            }
        }
        if let Some(e) = &v.fetch_error {
            let _ = writeln!(
                out,
                "{:>18}   fetch() rejects with {e}",
                format!("{name} script")
            );
        }
    }
    let _ = writeln!(
        out,
        "{:>18}   {}",
        "fix (chromium)",
        get("chromium").fix.summary
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use corsica::browser::{simulate, Credentials, RequestSpec, ResponseSpec};

    fn case(headers: &[(&str, &str)], max_age: Option<&str>) -> Case {
        let mut pre = vec![
            (
                "access-control-allow-origin".to_owned(),
                "https://a.example".to_owned(),
            ),
            ("access-control-allow-headers".to_owned(), "*".to_owned()),
            ("access-control-allow-methods".to_owned(), "PUT".to_owned()),
        ];
        if let Some(m) = max_age {
            pre.push(("access-control-max-age".into(), m.into()));
        }
        Case {
            id: "t".into(),
            origin: "https://a.example".into(),
            request: RequestSpec {
                url: "https://b.example/x".into(),
                method: "GET".into(),
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                credentials: Credentials::Omit,
                read_headers: vec![],
                force_preflight: false,
            },
            preflight_response: Some(ResponseSpec {
                status: 204,
                headers: pre,
            }),
            response: Some(ResponseSpec {
                status: 200,
                headers: vec![("access-control-allow-origin".into(), "*".into())],
            }),
            redirects: vec![],
            local_network: Default::default(),
        }
    }

    fn run(c: &Case) -> Compared {
        let verdicts = PROFILES.iter().map(|p| simulate(c, *p).unwrap()).collect();
        compare(c, verdicts)
    }

    #[test]
    fn a_client_hint_is_safelisted_only_in_chromium() {
        let c = run(&case(&[("dpr", "2")], None));
        let d = c
            .differences
            .iter()
            .find(|d| d.field == "preflight")
            .unwrap();
        assert_eq!(d.values["chromium"], "false");
        assert_eq!(d.values["firefox"], "true");
        assert!(d.reason.contains("client hints"), "{}", d.reason);
    }

    #[test]
    fn the_cache_lifetime_differs_when_max_age_is_long() {
        let c = run(&case(&[("x-a", "1")], Some("3600")));
        let d = c
            .differences
            .iter()
            .find(|d| d.field == "preflight_cache")
            .unwrap();
        assert_eq!(d.values["chromium"], "3600 s");
        assert_eq!(d.values["webkit"], "600 s");
        assert!(d.reason.contains("600 s"));
        assert!(!c.differences.iter().any(|d| d.field == "allowed"));
    }

    #[test]
    fn a_plain_request_has_no_difference() {
        let c = run(&case(&[], None));
        assert!(c.differences.is_empty(), "{:?}", c.differences);
        assert!(render(&c).contains("none: the three browsers decide alike"));
    }
}
