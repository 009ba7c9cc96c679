//! A playground case made concrete for one run.
//!
//! In a playground case `request.url` is a path on the API origin and the
//! literal `{origin}` in any header value stands for the page's origin.
//! For redirects, `{redirect}`, `{api}` and `{page}` in a response header
//! stand for the next hop's URL prefix on the redirect origin, the API
//! origin or the page's own origin.
//! Every URL of a run carries the run's id and the hop number
//! (`/run/<id>/<hop>/<path>`), so the origins know which composed answer
//! to give without any header the browser would have to send.

use corsica::browser::{Case, ResponseSpec};

/// The three loopback ports of a playground.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// The page origin: the page, its assets and the JSON endpoints.
    pub page: u16,
    /// The API origin: answers the fetch as composed.
    pub api: u16,
    /// The redirect origin: a third origin for cross-origin redirects.
    pub redirect: u16,
}

impl Ports {
    /// `http://127.0.0.1:<port>`.
    pub fn origin(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }
}

/// The path prefix of hop `hop` of run `id`.
pub fn run_path(id: u64, hop: usize) -> String {
    format!("/run/{id}/{hop}")
}

/// Parses `/run/<id>/<hop>[/...]` into the run id and the hop.
pub fn parse_run_path(path: &str) -> Option<(u64, usize)> {
    let rest = path.strip_prefix("/run/")?;
    let mut parts = rest.splitn(3, '/');
    let id = parts.next()?.parse().ok()?;
    let hop_text = parts.next()?;
    let hop_text = hop_text.split(['?', '#']).next()?;
    Some((id, hop_text.parse().ok()?))
}

/// The hop a URL of a run belongs to (0 when it is not a run URL).
pub fn hop_of(url: &str) -> usize {
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("", |j| &url[i + 3 + j..]),
        None => url,
    };
    parse_run_path(path).map_or(0, |(_, hop)| hop)
}

/// The case as the browser and the simulator see it for run `id`: the
/// page's origin filled in, the path made a URL on the API origin, and
/// every placeholder replaced.
pub fn concretize(case: &Case, page_origin: &str, ports: Ports, id: u64) -> Case {
    let mut out = case.clone();
    out.origin = page_origin.to_owned();
    let url = case.request.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        let path = if url.starts_with('/') {
            url.to_owned()
        } else {
            format!("/{url}")
        };
        out.request.url = format!("{}{}{path}", Ports::origin(ports.api), run_path(id, 0));
    }
    for (_, value) in &mut out.request.headers {
        *value = value.replace("{origin}", page_origin);
    }
    let fill = |spec: &mut Option<ResponseSpec>, hop: usize| {
        if let Some(spec) = spec {
            fill_response(spec, page_origin, ports, id, hop);
        }
    };
    fill(&mut out.preflight_response, 0);
    fill(&mut out.response, 0);
    for (i, redirect) in out.redirects.iter_mut().enumerate() {
        fill(&mut redirect.preflight_response, i + 1);
        fill_response(&mut redirect.response, page_origin, ports, id, i + 1);
    }
    out
}

fn fill_response(spec: &mut ResponseSpec, page_origin: &str, ports: Ports, id: u64, hop: usize) {
    let next = run_path(id, hop + 1);
    let redirect = format!("{}{next}", Ports::origin(ports.redirect));
    let api = format!("{}{next}", Ports::origin(ports.api));
    let page = format!("{page_origin}{next}");
    for (_, value) in &mut spec.headers {
        *value = value
            .replace("{origin}", page_origin)
            .replace("{redirect}", &redirect)
            .replace("{api}", &api)
            .replace("{page}", &page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_paths_round_trip() {
        assert_eq!(parse_run_path("/run/7/0/api/items?x=1"), Some((7, 0)));
        assert_eq!(parse_run_path("/run/7/2"), Some((7, 2)));
        assert_eq!(parse_run_path("/run/x/2"), None);
        assert_eq!(hop_of("http://127.0.0.1:9/run/3/1/a"), 1);
        assert_eq!(hop_of("http://127.0.0.1:9/other"), 0);
    }

    #[test]
    fn placeholders_are_filled_per_hop() {
        let case = &corsica::browser::parse_cases(
            r#"{"id":"r","origin":"{origin}","request":{"url":"/items","headers":[["x-from","{origin}"]]},
            "response":{"status":307,"headers":[["location","{redirect}/next"]]},
            "redirects":[{"response":{"status":200,"headers":[["access-control-allow-origin","{origin}"]]}}]}"#,
        )
        .unwrap()[0];
        let ports = Ports {
            page: 1,
            api: 2,
            redirect: 3,
        };
        let out = concretize(case, "http://127.0.0.1:1", ports, 9);
        assert_eq!(out.request.url, "http://127.0.0.1:2/run/9/0/items");
        assert_eq!(out.request.headers[0].1, "http://127.0.0.1:1");
        let location = &out.response.as_ref().unwrap().headers[0].1;
        assert_eq!(location, "http://127.0.0.1:3/run/9/1/next");
        assert_eq!(out.redirects[0].response.headers[0].1, "http://127.0.0.1:1");
    }
}
