//! Hand-written edge cases: the boundaries and rules random generation
//! reaches too rarely (exact byte limits, the 1,024-byte budget, long
//! redirect chains, the preflight cache).
//!
//! They are data, not code: the TOML files under `browser-tests/cases/`,
//! compiled into the harness ([`FILES`], in the order the cases run) and
//! read once at startup. This module parses them and turns each entry
//! into a [`Scenario`] at its [`Place`] in the run.
//!
//! # The format
//!
//! ```toml
//! [[case]]
//! id = "acao-padded-star"       # required, unique; the run calls it "edge-<id>"
//! at = "api"                    # where the request goes: "page" (origin A, the
//!                               # script's own), "api" (B, the default) or "other" (C)
//! query = "?x=y"                # appended to the URL (default: none)
//! method = "PUT"                # as the script writes it (default "GET")
//! credentials = "include"       # "omit", "same-origin" (default) or "include"
//! headers = [["x-a", "1"]]      # what the script sets, in order, repeats allowed
//! reads = ["x-a"]               # response headers the script reads
//! preflight = { status = 204, headers = [["access-control-allow-origin", "${page}"]] }
//! response = { status = 200, headers = [["access-control-allow-origin", " * "]] }
//! ```
//!
//! A header is a `["name", "value"]` pair, written exactly as sent: spaces
//! and case matter. Every field but `id` may be left out:
//!
//! - `preflight` left out: a 204 that allows the request, that is
//!   `Access-Control-Allow-Origin: ${page}`, `Access-Control-Allow-Methods:
//!   <the method as written>` and, when the script sets headers,
//!   `Access-Control-Allow-Headers: <their names, lower-case, ", "-joined>`.
//!   Whether a preflight is sent at all is the browser's business; the
//!   server answers one with this when it comes.
//! - `response` left out: a 200 with `Access-Control-Allow-Origin: ${page}`.
//! - `status` left out: 204 in a preflight, 200 in a response.
//!
//! **Redirects**: a 3xx response with a `location` header; each URL it
//! leads to answers with the next `[[case.hop]]`, in order. A hop's
//! preflight is answered only when the hop gives one:
//!
//! ```toml
//! [[case.hop]]
//! preflight = { headers = [["access-control-allow-origin", "*"]] }
//! response = { headers = [["access-control-allow-origin", "*"]] }
//! ```
//!
//! Hop N of a case lives at `${path N}` on each of the three origins, so
//! a relative `location` of `"1"` leads to hop 1 on the same origin.
//!
//! **The preflight cache**: each `[[case.then]]` fetches the first URL
//! again, after the fetches before it, with the first request's fields
//! except those it gives (`method`, `credentials`, `headers`); an empty
//! `[[case.then]]` repeats the first request as it is.
//!
//! **Placeholders**, in every header value and in `query` (the run's
//! ports and paths are known only at run time, and every case has paths
//! of its own):
//!
//! | Placeholder | Stands for |
//! |---|---|
//! | `${page}` `${api}` `${other}` | the three origins, `http://127.0.0.1:<port>` |
//! | `${page_port}` `${api_port}` `${other_port}` | their ports alone |
//! | `${path N}` | the path of hop N of this case |
//! | `${TEXT*N}` | TEXT repeated N times: `${a*128}` |
//! | `$$` | a dollar sign |

use std::sync::OnceLock;

use corsica::browser::{Case, Credentials, HopSpec, RequestSpec, ResponseSpec};
use serde::Deserialize;

use crate::scenario::{Place, Scenario};
use crate::server::Ports;

/// The case files, in the order their cases run, embedded so the harness
/// needs nothing at run time. A new file goes here.
pub const FILES: &[(&str, &str)] = &[
    ("requests.toml", include_str!("../cases/requests.toml")),
    ("answers.toml", include_str!("../cases/answers.toml")),
    ("redirects.toml", include_str!("../cases/redirects.toml")),
    (
        "repeated-names.toml",
        include_str!("../cases/repeated-names.toml"),
    ),
    (
        "preflight-cache.toml",
        include_str!("../cases/preflight-cache.toml"),
    ),
];

const ACAO: &str = "access-control-allow-origin";
const ACAM: &str = "access-control-allow-methods";
const ACAH: &str = "access-control-allow-headers";

/// A header line as the file writes it: `["name", "value"]`.
type Header = (String, String);

/// The whole file: a list of `[[case]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeFile {
    case: Vec<EdgeCase>,
}

/// One hand-written case, as the file writes it (placeholders unexpanded).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeCase {
    /// The case's name; its id in the run is `edge-<id>`.
    pub id: String,
    /// Which of the three origins the first request goes to.
    #[serde(default)]
    at: Target,
    /// Appended to the first URL (`?x=y`).
    #[serde(default)]
    query: String,
    /// The method as the script writes it.
    #[serde(default = "get")]
    method: String,
    /// The credentials mode.
    #[serde(default)]
    credentials: Credentials,
    /// The headers the script sets, in order.
    #[serde(default)]
    headers: Vec<Header>,
    /// The response headers the script reads.
    #[serde(default)]
    reads: Vec<String>,
    /// The first preflight's answer; by default one that allows the
    /// request.
    preflight: Option<Answer>,
    /// The first response; by default a 200 that allows the page's origin.
    response: Option<Answer>,
    /// The answers at the URLs the first response redirects to, in order.
    #[serde(default)]
    hop: Vec<Hop>,
    /// Later fetches of the same URL (preflight-cache cases).
    #[serde(default)]
    then: Vec<FollowUp>,
}

/// The origin a request goes to.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Target {
    /// Origin A, the page's own.
    Page,
    /// Origin B, the usual cross-origin target.
    #[default]
    Api,
    /// Origin C.
    Other,
}

/// A scripted response; `status` defaults by role (204 for a preflight,
/// 200 for a response).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    status: Option<u16>,
    #[serde(default)]
    headers: Vec<Header>,
}

/// One redirect target: its preflight's answer (none unless given) and
/// its response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hop {
    preflight: Option<Answer>,
    response: Answer,
}

/// A later fetch: the first request again, with the fields given here
/// replaced.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowUp {
    method: Option<String>,
    credentials: Option<Credentials>,
    headers: Option<Vec<Header>>,
}

fn get() -> String {
    "GET".to_owned()
}

/// Every hand-written case, in order. The files are part of the binary,
/// so a mistake in one is a bug in the harness: it panics with the
/// parser's message rather than running a smaller corpus.
pub fn cases() -> &'static [EdgeCase] {
    static CASES: OnceLock<Vec<EdgeCase>> = OnceLock::new();
    CASES.get_or_init(|| parse(FILES).unwrap_or_else(|e| panic!("{e}")))
}

/// Parses case files (name, text) in order and checks that every case
/// builds: ids unique across all of them, placeholders known.
fn parse(files: &[(&str, &str)]) -> Result<Vec<EdgeCase>, String> {
    let probe = Place {
        ports: Ports {
            page: 1,
            api: 2,
            other: 3,
        },
        run: "probe",
        index: 0,
    };
    let mut all: Vec<EdgeCase> = Vec::new();
    for (name, text) in files {
        let file: EdgeFile = toml::from_str(text).map_err(|e| format!("cases/{name}: {e}"))?;
        for case in file.case {
            if all.iter().any(|c| c.id == case.id) {
                return Err(format!("cases/{name}: the id {:?} is used twice", case.id));
            }
            case.try_build(&probe)
                .map_err(|e| format!("cases/{name}: case {:?}: {e}", case.id))?;
            all.push(case);
        }
    }
    Ok(all)
}

impl EdgeCase {
    /// The case at its place in the run.
    pub fn build(&self, place: &Place<'_>) -> Scenario {
        // `parse` built every case once already, so this cannot fail.
        self.try_build(place)
            .unwrap_or_else(|e| panic!("edge case {:?}: {e}", self.id))
    }

    fn try_build(&self, place: &Place<'_>) -> Result<Scenario, String> {
        let x = |text: &str| expand(text, place);
        let headers = |list: &[Header]| -> Result<Vec<Header>, String> {
            list.iter().map(|(n, v)| Ok((n.clone(), x(v)?))).collect()
        };
        let answer = |a: &Answer, status: u16| -> Result<ResponseSpec, String> {
            Ok(ResponseSpec {
                status: a.status.unwrap_or(status),
                headers: headers(&a.headers)?,
            })
        };
        let origin = Ports::origin(place.ports.page);
        let port = match self.at {
            Target::Page => place.ports.page,
            Target::Api => place.ports.api,
            Target::Other => place.ports.other,
        };
        let request = RequestSpec {
            url: place.url(port, 0) + &x(&self.query)?,
            method: self.method.clone(),
            headers: headers(&self.headers)?,
            credentials: self.credentials,
            read_headers: self.reads.clone(),
            force_preflight: false,
        };
        let preflight = match &self.preflight {
            Some(a) => answer(a, 204)?,
            None => allowing_preflight(&origin, &request),
        };
        let response = match &self.response {
            Some(a) => answer(a, 200)?,
            None => ResponseSpec {
                status: 200,
                headers: vec![(ACAO.to_owned(), origin.clone())],
            },
        };
        let redirects = self
            .hop
            .iter()
            .map(|hop| {
                Ok(HopSpec {
                    preflight_response: hop
                        .preflight
                        .as_ref()
                        .map(|a| answer(a, 204))
                        .transpose()?,
                    response: answer(&hop.response, 200)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let follow_ups = self
            .then
            .iter()
            .map(|f| {
                let mut r = request.clone();
                if let Some(m) = &f.method {
                    r.method = m.clone();
                }
                if let Some(c) = f.credentials {
                    r.credentials = c;
                }
                if let Some(h) = &f.headers {
                    r.headers = headers(h)?;
                }
                Ok(r)
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Scenario {
            case: Case {
                id: format!("edge-{}", self.id),
                origin,
                request,
                preflight_response: Some(preflight),
                response: Some(response),
                redirects,
                local_network: Default::default(),
            },
            follow_ups,
        })
    }
}

/// The default preflight answer: it allows the page's origin, the method
/// as the script wrote it and every header name the script set.
fn allowing_preflight(origin: &str, request: &RequestSpec) -> ResponseSpec {
    let names: Vec<String> = request
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let mut headers = vec![
        (ACAO.to_owned(), origin.to_owned()),
        (ACAM.to_owned(), request.method.clone()),
    ];
    if !names.is_empty() {
        headers.push((ACAH.to_owned(), names.join(", ")));
    }
    ResponseSpec {
        status: 204,
        headers,
    }
}

/// Replaces the placeholders in `text` (see the header of
/// `cases/edge.toml`): `${page}`, `${api}`, `${other}`, `${page_port}`,
/// `${api_port}`, `${other_port}`, `${path N}`, `${TEXT*N}`, and `$$`.
fn expand(text: &str, place: &Place<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let inner = rest
            .strip_prefix('{')
            .and_then(|r| r.find('}').map(|end| &r[..end]))
            .ok_or_else(|| format!("a lone '$' in {text:?} (write '$$' for a dollar sign)"))?;
        rest = &rest[inner.len() + 2..];
        out.push_str(
            &placeholder(inner, place)
                .ok_or_else(|| format!("unknown placeholder ${{{inner}}} in {text:?}"))?,
        );
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one `${...}`, or `None` when it names nothing.
fn placeholder(inner: &str, place: &Place<'_>) -> Option<String> {
    let ports = place.ports;
    let value = match inner {
        "page" => Ports::origin(ports.page),
        "api" => Ports::origin(ports.api),
        "other" => Ports::origin(ports.other),
        "page_port" => ports.page.to_string(),
        "api_port" => ports.api.to_string(),
        "other_port" => ports.other.to_string(),
        _ => {
            if let Some(hop) = inner.strip_prefix("path ") {
                return hop.trim().parse().ok().map(|n| place.path(n));
            }
            let (repeated, times) = inner.rsplit_once('*')?;
            if repeated.is_empty() {
                return None;
            }
            return times.trim().parse().ok().map(|n| repeated.repeat(n));
        }
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place<'static> {
        Place {
            ports: Ports {
                page: 1001,
                api: 1002,
                other: 1003,
            },
            run: "r",
            index: 7,
        }
    }

    #[test]
    fn the_file_parses() {
        assert!(!cases().is_empty());
    }

    #[test]
    fn placeholders_expand() {
        let p = place();
        assert_eq!(
            expand("${page}|${api_port}|${path 1}|${ab*3}|$$", &p).unwrap(),
            "http://127.0.0.1:1001|1002|/c/r/7/1|ababab|$"
        );
        assert!(expand("${nope}", &p).is_err());
        assert!(expand("$x", &p).is_err());
        assert!(expand("${page", &p).is_err());
    }

    #[test]
    fn a_bare_case_gets_the_allowing_defaults() {
        let text = "[[case]]\nid = \"x\"\nmethod = \"PUT\"\nheaders = [[\"X-A\", \"1\"]]\n";
        let s = parse(&[("t", text)]).unwrap()[0].build(&place());
        assert_eq!(s.case.id, "edge-x");
        assert_eq!(s.case.request.url, "http://127.0.0.1:1002/c/r/7/0");
        let pre = s.case.preflight_response.unwrap();
        assert_eq!(pre.status, 204);
        assert_eq!(
            pre.headers,
            vec![
                (ACAO.to_owned(), "http://127.0.0.1:1001".to_owned()),
                (ACAM.to_owned(), "PUT".to_owned()),
                (ACAH.to_owned(), "x-a".to_owned()),
            ]
        );
        assert_eq!(s.case.response.unwrap().status, 200);
        assert!(s.follow_ups.is_empty());
    }

    #[test]
    fn mistakes_are_refused() {
        let parse_one = |text: &str| parse(&[("t", text)]);
        assert!(parse_one("[[case]]\nid = \"x\"\nmethd = \"PUT\"\n").is_err());
        assert!(parse_one("[[case]]\nid = \"x\"\nheaders = [[\"a\", \"${b}\"]]\n").is_err());
        let twice = "[[case]]\nid = \"x\"\n";
        assert!(parse_one(&twice.repeat(2)).is_err());
        assert!(parse(&[("a", twice), ("b", twice)]).is_err());
    }
}
