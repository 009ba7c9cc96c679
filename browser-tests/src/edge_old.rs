//! Hand-written edge cases: the boundaries and rules random generation
//! reaches too rarely (exact byte limits, the 1,024-byte budget, long
//! redirect chains, the preflight cache), each written out in full.

use corsica::browser::{Case, Credentials, HopSpec, RequestSpec, ResponseSpec};

use crate::scenario::{Place, Scenario};
use crate::server::Ports;

/// Builds one edge case at its place in the run.
pub type Builder = fn(&Place<'_>) -> Scenario;

const ACAO: &str = "access-control-allow-origin";
const ACAC: &str = "access-control-allow-credentials";
const ACAM: &str = "access-control-allow-methods";
const ACAH: &str = "access-control-allow-headers";
const ACEH: &str = "access-control-expose-headers";
const MAX_AGE: &str = "access-control-max-age";

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn resp(status: u16, headers: Vec<(String, String)>) -> ResponseSpec {
    ResponseSpec { status, headers }
}

fn page(place: &Place<'_>) -> String {
    Ports::origin(place.ports.page)
}

/// A fetch of the case's first URL on origin B, with a preflight answer
/// and a response that both let everything through unless `pre` and
/// `res` say otherwise (`None` keeps the default).
struct Edge<'p, 'r> {
    place: &'p Place<'r>,
    case: Case,
}

impl<'p, 'r> Edge<'p, 'r> {
    fn new(place: &'p Place<'r>, id: &str, method: &str, headers: &[(&str, &str)]) -> Self {
        let origin = page(place);
        let names: Vec<String> = headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        let mut pre = vec![(ACAO.to_owned(), origin.clone())];
        pre.push((ACAM.to_owned(), method.to_owned()));
        if !names.is_empty() {
            pre.push((ACAH.to_owned(), names.join(", ")));
        }
        Edge {
            place,
            case: Case {
                id: format!("edge-{id}"),
                origin: origin.clone(),
                request: RequestSpec {
                    url: place.url(place.ports.api, 0),
                    method: method.to_owned(),
                    headers: pairs(headers),
                    credentials: Credentials::SameOrigin,
                    read_headers: vec![],
                    force_preflight: false,
                },
                preflight_response: Some(resp(204, pre)),
                response: Some(resp(200, vec![(ACAO.to_owned(), origin)])),
                redirects: vec![],
            },
        }
    }

    fn at(mut self, port: u16) -> Self {
        self.case.request.url = self.place.url(port, 0);
        self
    }

    fn credentials(mut self, c: Credentials) -> Self {
        self.case.request.credentials = c;
        self
    }

    fn reads(mut self, names: &[&str]) -> Self {
        self.case.request.read_headers = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    fn preflight(mut self, status: u16, headers: &[(&str, &str)]) -> Self {
        self.case.preflight_response = Some(resp(status, pairs(headers)));
        self
    }

    fn response(mut self, status: u16, headers: &[(&str, &str)]) -> Self {
        self.case.response = Some(resp(status, pairs(headers)));
        self
    }

    fn hop(
        mut self,
        preflight: Option<(u16, &[(&str, &str)])>,
        response: (u16, &[(&str, &str)]),
    ) -> Self {
        self.case.redirects.push(HopSpec {
            preflight_response: preflight.map(|(s, h)| resp(s, pairs(h))),
            response: resp(response.0, pairs(response.1)),
        });
        self
    }

    fn done(self) -> Scenario {
        Scenario {
            case: self.case,
            follow_ups: vec![],
        }
    }

    /// Fetches the same URL again with this request (preflight cache).
    fn then(self, follow_ups: Vec<RequestSpec>) -> Scenario {
        Scenario {
            case: self.case,
            follow_ups,
        }
    }
}

/// Owned strings for the builders below, which need `&str` pairs.
fn own(place: &Place<'_>) -> (String, String, String) {
    (
        page(place),
        Ports::origin(place.ports.api),
        Ports::origin(place.ports.other),
    )
}

// --- Which missing header Chromium names ---------------------------------

fn missing_header_1(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "missing-header-greatest-1",
        "GET",
        &[("X-B", "1"), ("x-a", "1"), ("x-c", "1")],
    )
    .preflight(204, &[(ACAO, &o), (ACAH, "x-q")])
    .done()
}

fn missing_header_2(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "missing-header-greatest-2",
        "PUT",
        &[
            ("x-zeta", "1"),
            ("x-alpha", "1"),
            ("authorization", "x"),
            ("content-type", "application/json"),
        ],
    )
    .preflight(204, &[(ACAO, &o), (ACAM, "PUT"), (ACAH, "x-alpha")])
    .done()
}

fn missing_header_3(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "missing-header-greatest-3",
        "GET",
        &[("b-2", "1"), ("a-1", "1"), ("c-3", "1")],
    )
    .preflight(204, &[(ACAO, &o), (ACAH, "b-2, c-3")])
    .done()
}

// --- The safelist's value rules -------------------------------------------

fn range_capital_bytes(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "range-capital-bytes", "GET", &[("range", "Bytes=0-1")])
        .preflight(204, &[(ACAO, &o)])
        .done()
}

fn range_simple(p: &Place<'_>) -> Scenario {
    Edge::new(p, "range-simple", "GET", &[("range", "bytes=0-1")]).done()
}

fn range_open(p: &Place<'_>) -> Scenario {
    Edge::new(p, "range-open-end", "GET", &[("range", "bytes=100-")]).done()
}

fn range_suffix(p: &Place<'_>) -> Scenario {
    Edge::new(p, "range-suffix", "GET", &[("range", "bytes=-5")]).done()
}

fn range_two(p: &Place<'_>) -> Scenario {
    Edge::new(p, "range-two-ranges", "GET", &[("range", "bytes=0-1,2-3")]).done()
}

fn range_trailing_space(p: &Place<'_>) -> Scenario {
    // fetch() trims the value before the safelist sees it.
    Edge::new(p, "range-trailing-space", "GET", &[("range", "bytes=0-1 ")]).done()
}

fn accept_128(p: &Place<'_>) -> Scenario {
    let v = "a".repeat(128);
    Edge::new(p, "accept-128-bytes", "GET", &[("accept", &v)]).done()
}

fn accept_129(p: &Place<'_>) -> Scenario {
    let v = "a".repeat(129);
    Edge::new(p, "accept-129-bytes", "GET", &[("accept", &v)]).done()
}

fn accept_combined(p: &Place<'_>) -> Scenario {
    // 64 + ", " + 64 = 130 bytes once fetch() combines the two.
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    Edge::new(
        p,
        "accept-combined-130",
        "GET",
        &[("accept", &a), ("Accept", &b)],
    )
    .done()
}

fn accept_latin1(p: &Place<'_>) -> Scenario {
    Edge::new(p, "accept-latin-1", "GET", &[("accept", "caf\u{e9}")]).done()
}

/// Nine safelisted names, 128 bytes each: 1,152 bytes in total.
fn budget_over(p: &Place<'_>) -> Scenario {
    let a = "a".repeat(128);
    let d = "1".repeat(128);
    let ct = format!("text/plain;a={}", "b".repeat(115));
    Edge::new(
        p,
        "budget-1152",
        "GET",
        &[
            ("accept", &a),
            ("accept-language", &a),
            ("content-language", &a),
            ("content-type", &ct),
            ("width", &d),
            ("viewport-width", &d),
            ("rtt", &d),
            ("dpr", &d),
            ("device-memory", &d),
        ],
    )
    .done()
}

/// Eight safelisted names, 128 bytes each: exactly 1,024 bytes.
fn budget_exact(p: &Place<'_>) -> Scenario {
    let a = "a".repeat(128);
    let d = "1".repeat(128);
    let ct = format!("text/plain;a={}", "b".repeat(115));
    Edge::new(
        p,
        "budget-1024",
        "GET",
        &[
            ("accept", &a),
            ("accept-language", &a),
            ("content-language", &a),
            ("content-type", &ct),
            ("width", &d),
            ("viewport-width", &d),
            ("rtt", &d),
            ("dpr", &d),
        ],
    )
    .done()
}

/// 1,023 bytes without an `Accept`: does the default `Accept: */*`
/// count against the budget?
fn budget_default_accept(p: &Place<'_>) -> Scenario {
    let a = "a".repeat(128);
    let d = "1".repeat(128);
    let d7 = "1".repeat(127);
    let ct = format!("text/plain;a={}", "b".repeat(115));
    Edge::new(
        p,
        "budget-1023-default-accept",
        "GET",
        &[
            ("accept-language", &a),
            ("content-language", &a),
            ("content-type", &ct),
            ("width", &d),
            ("viewport-width", &d),
            ("rtt", &d),
            ("dpr", &d),
            ("device-memory", &d7),
        ],
    )
    .done()
}

fn client_hints(p: &Place<'_>) -> Scenario {
    Edge::new(
        p,
        "client-hints-no-preflight",
        "GET",
        &[
            ("DPR", "2"),
            ("save-data", "on"),
            ("intervention", "x"),
            ("user-agent", "corsica"),
        ],
    )
    .done()
}

// --- fetch() throwing before anything is sent ------------------------------

fn trace(p: &Place<'_>) -> Scenario {
    Edge::new(p, "method-trace", "TRACE", &[]).done()
}

fn track_lower(p: &Place<'_>) -> Scenario {
    Edge::new(p, "method-track-lower", "track", &[]).done()
}

fn connect(p: &Place<'_>) -> Scenario {
    Edge::new(p, "method-connect", "CONNECT", &[]).done()
}

fn method_not_token(p: &Place<'_>) -> Scenario {
    Edge::new(p, "method-not-a-token", "P UT", &[]).done()
}

fn method_empty(p: &Place<'_>) -> Scenario {
    Edge::new(p, "method-empty", "", &[]).done()
}

fn header_name_invalid(p: &Place<'_>) -> Scenario {
    Edge::new(p, "header-name-invalid", "GET", &[("x y", "1")]).done()
}

fn header_value_newline(p: &Place<'_>) -> Scenario {
    Edge::new(p, "header-value-newline", "GET", &[("x-a", "a\nb")]).done()
}

fn header_value_not_latin1(p: &Place<'_>) -> Scenario {
    Edge::new(p, "header-value-not-latin-1", "GET", &[("x-a", "\u{263a}")]).done()
}

// --- Preflight answers ----------------------------------------------------

fn star_covers_authorization(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "acah-star-covers-authorization",
        "GET",
        &[("authorization", "Bearer x")],
    )
    .preflight(204, &[(ACAO, &o), (ACAH, "*")])
    .done()
}

fn star_with_credentials(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "acah-star-with-credentials",
        "GET",
        &[("authorization", "Bearer x")],
    )
    .credentials(Credentials::Include)
    .preflight(204, &[(ACAO, &o), (ACAC, "true"), (ACAH, "*")])
    .done()
}

fn acam_star_with_credentials(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "acam-star-with-credentials", "PUT", &[])
        .credentials(Credentials::Include)
        .preflight(204, &[(ACAO, &o), (ACAC, "true"), (ACAM, "*")])
        .done()
}

fn preflight_3xx_without_location(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "preflight-302-without-location", "PUT", &[])
        .preflight(302, &[(ACAO, &o), (ACAM, "PUT")])
        .done()
}

fn preflight_redirect(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let to = p.path(1);
    Edge::new(p, "preflight-redirect", "PUT", &[])
        .preflight(307, &[(ACAO, &o), (ACAM, "PUT"), ("location", &to)])
        .done()
}

fn preflight_404_without_acao(p: &Place<'_>) -> Scenario {
    Edge::new(p, "preflight-404-without-acao", "DELETE", &[])
        .preflight(404, &[])
        .done()
}

fn preflight_500_with_acao(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "preflight-500-with-acao", "DELETE", &[])
        .preflight(500, &[(ACAO, &o), (ACAM, "DELETE")])
        .done()
}

fn acam_unparsable_unneeded(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "acam-unparsable-but-unneeded", "GET", &[("x-a", "1")])
        .preflight(204, &[(ACAO, &o), (ACAM, "PUT, (bad)"), (ACAH, "x-a")])
        .done()
}

fn acah_unparsable_unneeded(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "acah-unparsable-but-unneeded", "PUT", &[])
        .preflight(204, &[(ACAO, &o), (ACAM, "PUT"), (ACAH, "x-a, b@d")])
        .done()
}

fn lower_patch(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "method-lower-patch", "patch", &[])
        .preflight(204, &[(ACAO, &o), (ACAM, "PATCH")])
        .done()
}

fn lower_delete(p: &Place<'_>) -> Scenario {
    Edge::new(p, "method-lower-delete", "delete", &[]).done()
}

fn acam_empty(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "acam-empty", "PUT", &[])
        .preflight(204, &[(ACAO, &o), (ACAM, "")])
        .done()
}

fn method_override(p: &Place<'_>) -> Scenario {
    Edge::new(
        p,
        "method-override-trace-dropped",
        "GET",
        &[("x-http-method-override", "TRACE")],
    )
    .done()
}

fn method_override_put(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "method-override-put-preflights",
        "GET",
        &[("x-http-method-override", "PUT")],
    )
    .preflight(204, &[(ACAO, &o)])
    .done()
}

// --- The CORS check ---------------------------------------------------------

fn acao_non_ascii(p: &Place<'_>) -> Scenario {
    Edge::new(p, "acao-non-ascii", "GET", &[])
        .response(200, &[(ACAO, "http://caf\u{e9}.example")])
        .done()
}

fn acao_empty(p: &Place<'_>) -> Scenario {
    Edge::new(p, "acao-empty", "GET", &[])
        .response(200, &[(ACAO, "")])
        .done()
}

fn acao_padded_star(p: &Place<'_>) -> Scenario {
    Edge::new(p, "acao-padded-star", "GET", &[])
        .response(200, &[(ACAO, " * ")])
        .done()
}

fn acao_null(p: &Place<'_>) -> Scenario {
    Edge::new(p, "acao-null-untainted", "GET", &[])
        .response(200, &[(ACAO, "null")])
        .done()
}

fn acao_two_lines(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "acao-two-identical-lines", "GET", &[])
        .response(200, &[(ACAO, &o), (ACAO, &o)])
        .done()
}

fn acac_padded(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "acac-padded-true", "GET", &[])
        .credentials(Credentials::Include)
        .response(200, &[(ACAO, &o), (ACAC, " true ")])
        .done()
}

fn acac_twice(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "acac-two-lines", "GET", &[])
        .credentials(Credentials::Include)
        .response(200, &[(ACAO, &o), (ACAC, "true"), (ACAC, "true")])
        .done()
}

// --- Exposure ----------------------------------------------------------------

fn expose_star_credentials(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "aceh-star-with-credentials", "GET", &[])
        .credentials(Credentials::Include)
        .reads(&["x-a", "content-type", "set-cookie"])
        .response(
            200,
            &[
                (ACAO, &o),
                (ACAC, "true"),
                ("x-a", "1"),
                ("content-type", "text/plain"),
                (ACEH, "*"),
            ],
        )
        .done()
}

fn expose_star_and_name_credentials(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "aceh-star-and-name-with-credentials", "GET", &[])
        .credentials(Credentials::Include)
        .reads(&["x-a", "x-b"])
        .response(
            200,
            &[
                (ACAO, &o),
                (ACAC, "true"),
                ("x-a", "1"),
                ("x-b", "2"),
                (ACEH, "*, x-a"),
            ],
        )
        .done()
}

fn expose_star(p: &Place<'_>) -> Scenario {
    Edge::new(p, "aceh-star", "GET", &[])
        .reads(&["x-a", "set-cookie", "access-control-allow-origin"])
        .response(
            200,
            &[
                (ACAO, "*"),
                ("x-a", "1"),
                ("set-cookie", "s=1"),
                (ACEH, "*"),
            ],
        )
        .done()
}

fn expose_bad_element(p: &Place<'_>) -> Scenario {
    Edge::new(p, "aceh-bad-element", "GET", &[])
        .reads(&["x-a", "x-b"])
        .response(
            200,
            &[
                (ACAO, "*"),
                ("x-a", "1"),
                ("x-b", "2"),
                (ACEH, "x-a, (bad), x-b"),
            ],
        )
        .done()
}

fn same_origin_set_cookie(p: &Place<'_>) -> Scenario {
    Edge::new(p, "same-origin-reads", "GET", &[])
        .at(p.ports.page)
        .reads(&["x-a", "set-cookie", "set-cookie2"])
        .response(
            200,
            &[("x-a", "1"), ("set-cookie", "s=1"), ("set-cookie2", "t=1")],
        )
        .done()
}

// --- The Origin header on same-origin requests -----------------------------

fn same_origin_post(p: &Place<'_>) -> Scenario {
    Edge::new(p, "same-origin-post-origin", "POST", &[])
        .at(p.ports.page)
        .done()
}

fn same_origin_put(p: &Place<'_>) -> Scenario {
    Edge::new(p, "same-origin-put-origin", "PUT", &[("x-a", "1")])
        .at(p.ports.page)
        .done()
}

fn same_origin_get_include(p: &Place<'_>) -> Scenario {
    Edge::new(p, "same-origin-get-include", "GET", &[])
        .at(p.ports.page)
        .credentials(Credentials::Include)
        .done()
}

// --- Redirects -----------------------------------------------------------------

fn too_many_redirects(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let mut e = Edge::new(p, "too-many-redirects", "GET", &[])
        .response(307, &[(ACAO, &o), ("location", "1")]);
    for n in 1..=21 {
        let next = (n + 1).to_string();
        e = e.hop(None, (307, &[(ACAO, &o), ("location", &next)]));
    }
    e.done()
}

fn twenty_redirects(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let mut e = Edge::new(p, "twenty-redirects", "GET", &[])
        .response(307, &[(ACAO, &o), ("location", "1")]);
    for n in 1..20 {
        let next = (n + 1).to_string();
        e = e.hop(None, (307, &[(ACAO, &o), ("location", &next)]));
    }
    e.hop(None, (200, &[(ACAO, &o)])).done()
}

fn redirect_credentials_cross(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let to = format!("http://u:p@127.0.0.1:{}{}", p.ports.other, p.path(1));
    Edge::new(p, "redirect-userinfo-cross-origin", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", &to)])
        .hop(None, (200, &[(ACAO, "*")]))
        .done()
}

fn redirect_credentials_same_port(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let to = format!("http://u:p@127.0.0.1:{}{}", p.ports.api, p.path(1));
    Edge::new(p, "redirect-userinfo-same-port", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", &to)])
        .hop(None, (200, &[(ACAO, &o)]))
        .done()
}

fn redirect_credentials_same_origin(p: &Place<'_>) -> Scenario {
    let to = format!("http://u:p@127.0.0.1:{}{}", p.ports.page, p.path(1));
    Edge::new(p, "redirect-userinfo-same-origin", "GET", &[])
        .at(p.ports.page)
        .reads(&["x-a"])
        .response(302, &[("location", &to)])
        .hop(None, (200, &[("x-a", "1")]))
        .done()
}

fn redirect_credentials_from_same_origin(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let to = format!("http://u:p@127.0.0.1:{}{}", p.ports.api, p.path(1));
    Edge::new(p, "redirect-userinfo-from-same-origin", "GET", &[])
        .at(p.ports.page)
        .response(302, &[("location", &to)])
        .hop(None, (200, &[(ACAO, &o)]))
        .done()
}

fn redirect_303_put(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "redirect-303-put-becomes-get",
        "PUT",
        &[("content-type", "application/json")],
    )
    .response(303, &[(ACAO, &o), ("location", "1")])
    .hop(None, (200, &[(ACAO, &o)]))
    .done()
}

fn redirect_301_post(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "redirect-301-post-becomes-get",
        "POST",
        &[("content-type", "application/json"), ("x-a", "1")],
    )
    .response(301, &[(ACAO, &o), ("location", "1")])
    .hop(
        Some((204, &[(ACAO, &o), (ACAH, "x-a")])),
        (200, &[(ACAO, &o)]),
    )
    .done()
}

fn redirect_302_post(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "redirect-302-post-becomes-get",
        "POST",
        &[("content-language", "de")],
    )
    .response(302, &[(ACAO, &o), ("location", "1")])
    .hop(None, (200, &[(ACAO, &o)]))
    .done()
}

fn redirect_307_post(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "redirect-307-post-preflights-again",
        "POST",
        &[("content-type", "application/json")],
    )
    .response(307, &[(ACAO, &o), ("location", "1")])
    .hop(
        Some((204, &[(ACAO, &o), (ACAH, "content-type")])),
        (200, &[(ACAO, &o)]),
    )
    .done()
}

fn redirect_308_put_fails_second_preflight(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-308-put-second-preflight-fails", "PUT", &[])
        .response(308, &[(ACAO, &o), ("location", "1")])
        .hop(Some((204, &[(ACAO, &o)])), (200, &[(ACAO, &o)]))
        .done()
}

fn redirect_to_page_origin_null(p: &Place<'_>) -> Scenario {
    let to = format!("http://127.0.0.1:{}{}", p.ports.page, p.path(1));
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-back-to-page-origin-null-allowed", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", &to)])
        .hop(None, (200, &[(ACAO, "null")]))
        .done()
}

fn redirect_to_page_origin_mismatch(p: &Place<'_>) -> Scenario {
    let to = format!("http://127.0.0.1:{}{}", p.ports.page, p.path(1));
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-back-to-page-origin-mismatch", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", &to)])
        .hop(None, (200, &[(ACAO, &o)]))
        .done()
}

fn redirect_same_to_cross(p: &Place<'_>) -> Scenario {
    let (o, b, _) = own(p);
    let to = format!("{b}{}", p.path(1));
    Edge::new(
        p,
        "redirect-same-origin-to-cross-origin",
        "PUT",
        &[("x-a", "1")],
    )
    .at(p.ports.page)
    .response(307, &[("location", &to)])
    .hop(
        Some((204, &[(ACAO, &o), (ACAM, "PUT"), (ACAH, "x-a")])),
        (200, &[(ACAO, &o)]),
    )
    .done()
}

fn redirect_drops_authorization(p: &Place<'_>) -> Scenario {
    let (o, _, c) = own(p);
    let to = format!("{c}{}", p.path(1));
    Edge::new(
        p,
        "redirect-cross-origin-drops-authorization",
        "PUT",
        &[("authorization", "Bearer x"), ("x-a", "1")],
    )
    .preflight(
        204,
        &[(ACAO, &o), (ACAM, "PUT"), (ACAH, "authorization, x-a")],
    )
    .response(307, &[(ACAO, &o), ("location", &to)])
    .hop(
        Some((204, &[(ACAO, "*"), (ACAM, "PUT"), (ACAH, "x-a")])),
        (200, &[(ACAO, "*")]),
    )
    .done()
}

fn redirect_then_wildcard_with_credentials(p: &Place<'_>) -> Scenario {
    let (o, _, c) = own(p);
    let to = format!("{c}{}", p.path(1));
    Edge::new(p, "redirect-then-wildcard-with-credentials", "GET", &[])
        .credentials(Credentials::Include)
        .response(302, &[(ACAO, &o), (ACAC, "true"), ("location", &to)])
        .hop(None, (200, &[(ACAO, "*"), (ACAC, "true")]))
        .done()
}

fn redirect_without_acao(p: &Place<'_>) -> Scenario {
    Edge::new(p, "redirect-without-acao", "GET", &[])
        .response(301, &[("location", "1")])
        .hop(None, (200, &[(ACAO, "*")]))
        .done()
}

fn final_302_without_location(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "final-302-without-location", "GET", &[])
        .reads(&["x-a"])
        .response(302, &[(ACAO, &o), ("x-a", "1"), (ACEH, "x-a")])
        .done()
}

// --- Client hints across redirects -----------------------------------------

/// A same-origin (B to B) redirect with every client hint holding a value
/// that makes it unsafe: which ones does the second preflight still list?
fn redirect_drops_client_hints(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let all =
        "device-memory, dpr, width, viewport-width, rtt, downlink, ect, save-data, intervention";
    let long = "i".repeat(130);
    Edge::new(
        p,
        "redirect-drops-client-hints",
        "GET",
        &[
            ("device-memory", "x"),
            ("dpr", "x"),
            ("width", "x"),
            ("viewport-width", "x"),
            ("rtt", "x"),
            ("downlink", "x"),
            ("ect", "x"),
            ("save-data", "off"),
            ("intervention", &long),
        ],
    )
    .preflight(204, &[(ACAO, &o), (ACAH, all)])
    .response(307, &[(ACAO, &o), ("location", "1")])
    .hop(
        Some((204, &[(ACAO, &o), (ACAH, all)])),
        (200, &[(ACAO, &o)]),
    )
    .done()
}

/// The same, redirected to the page's own origin (the request stays CORS,
/// with `Origin: null`).
fn redirect_to_page_keeps_client_hints(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let to = format!("{o}{}", p.path(1));
    let all = "device-memory, dpr, width, viewport-width, rtt, downlink, ect, save-data";
    Edge::new(
        p,
        "redirect-to-page-origin-keeps-client-hints",
        "GET",
        &[
            ("device-memory", "x"),
            ("dpr", "x"),
            ("width", "x"),
            ("viewport-width", "x"),
            ("rtt", "x"),
            ("downlink", "x"),
            ("ect", "x"),
            ("save-data", "off"),
        ],
    )
    .preflight(204, &[(ACAO, &o), (ACAH, all)])
    .response(307, &[(ACAO, &o), ("location", &to)])
    .hop(
        Some((204, &[(ACAO, "null"), (ACAH, all)])),
        (200, &[(ACAO, "null")]),
    )
    .done()
}

/// Cross-origin redirect from a same-origin request: A to B.
fn redirect_from_page_drops_client_hints(p: &Place<'_>) -> Scenario {
    let (o, b, _) = own(p);
    let to = format!("{b}{}", p.path(1));
    Edge::new(
        p,
        "redirect-from-page-drops-client-hints",
        "GET",
        &[("dpr", "x"), ("x-a", "1")],
    )
    .at(p.ports.page)
    .response(307, &[("location", &to)])
    .hop(
        Some((204, &[(ACAO, &o), (ACAH, "dpr, x-a")])),
        (200, &[(ACAO, &o)]),
    )
    .done()
}

/// Chromium names the first missing header in its own header order, not
/// the greatest: with `Range` (safelisted) present, `pragma` comes first.
fn missing_header_order_with_accept(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(
        p,
        "missing-header-order-script-accept",
        "PATCH",
        &[
            ("range", "bytes=5-5"),
            ("pragma", "yes"),
            ("Dpr", "2x"),
            ("accept", "[x]"),
        ],
    )
    .preflight(204, &[(ACAO, &o), (ACAM, "PATCH")])
    .done()
}

// --- Odd Location headers -----------------------------------------------------

fn redirect_empty_location(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-empty-location", "GET", &[])
        .reads(&["x-a"])
        .response(
            302,
            &[(ACAO, &o), ("location", ""), ("x-a", "1"), (ACEH, "x-a")],
        )
        .done()
}

fn redirect_unparsable_location(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-unparsable-location", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", "http://[::1/x")])
        .done()
}

fn redirect_to_data_url(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-to-data-url", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", "data:,hello")])
        .done()
}

fn redirect_to_ftp_url(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-to-ftp-url", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", "ftp://127.0.0.1/x")])
        .done()
}

fn redirect_300_with_location(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "status-300-with-location-is-final", "GET", &[])
        .response(300, &[(ACAO, &o), ("location", "1")])
        .done()
}

fn redirect_with_query(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let mut e = Edge::new(p, "redirect-keeps-query-in-messages", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", "1?x=y")])
        .hop(None, (200, &[(ACAO, "http://wrong.example")]));
    e.case.request.url.push_str("?first=1");
    e.done()
}

/// A redirect to a URL whose scheme is not HTTP(S).
fn redirect_to_scheme(p: &Place<'_>, id: &str, location: &str) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, id, "GET", &[])
        .response(302, &[(ACAO, &o), ("location", location)])
        .done()
}

fn redirect_to_file(p: &Place<'_>) -> Scenario {
    redirect_to_scheme(p, "redirect-to-file-url", "file:///etc/hosts")
}

fn redirect_to_about(p: &Place<'_>) -> Scenario {
    redirect_to_scheme(p, "redirect-to-about-blank", "about:blank")
}

fn redirect_to_blob(p: &Place<'_>) -> Scenario {
    redirect_to_scheme(
        p,
        "redirect-to-blob-url",
        "blob:http://127.0.0.1/00000000-0000-0000-0000-000000000000",
    )
}

fn redirect_to_javascript(p: &Place<'_>) -> Scenario {
    redirect_to_scheme(p, "redirect-to-javascript-url", "javascript:void(0)")
}

fn redirect_to_ws(p: &Place<'_>) -> Scenario {
    redirect_to_scheme(p, "redirect-to-ws-url", "ws://127.0.0.1:9/x")
}

fn redirect_to_custom_scheme(p: &Place<'_>) -> Scenario {
    redirect_to_scheme(p, "redirect-to-custom-scheme", "foo:bar")
}

fn redirect_two_locations(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    Edge::new(p, "redirect-empty-then-real-location", "GET", &[])
        .response(302, &[(ACAO, &o), ("location", ""), ("location", "1")])
        .hop(None, (200, &[(ACAO, &o)]))
        .done()
}

// --- How fetch() combines repeated names ----------------------------------------

fn accept_combined_with_empty(p: &Place<'_>) -> Scenario {
    // "a" x 127 + ", " + "" is 129 bytes, or 128 once trailing space goes.
    let a = "a".repeat(127);
    Edge::new(
        p,
        "accept-combined-with-empty-value",
        "GET",
        &[("accept", &a), ("accept", "")],
    )
    .done()
}

fn accept_empty_then_value(p: &Place<'_>) -> Scenario {
    let a = "a".repeat(127);
    Edge::new(
        p,
        "accept-empty-then-value",
        "GET",
        &[("accept", ""), ("accept", &a)],
    )
    .done()
}

// --- The preflight cache ------------------------------------------------------

fn again(case_request: &RequestSpec, f: impl FnOnce(&mut RequestSpec)) -> RequestSpec {
    let mut r = case_request.clone();
    f(&mut r);
    r
}

fn cached(p: &Place<'_>, id: &str, max_age: Option<&str>) -> Scenario {
    let (o, _, _) = own(p);
    let mut pre = vec![(ACAO, o.as_str()), (ACAM, "PUT"), (ACAH, "x-a")];
    if let Some(m) = max_age {
        pre.push((MAX_AGE, m));
    }
    let e = Edge::new(p, id, "PUT", &[("x-a", "1")]).preflight(204, &pre);
    let second = e.case.request.clone();
    e.then(vec![second])
}

fn cache_hit(p: &Place<'_>) -> Scenario {
    cached(p, "cache-max-age-60", Some("60"))
}

fn cache_zero(p: &Place<'_>) -> Scenario {
    cached(p, "cache-max-age-0", Some("0"))
}

fn cache_default(p: &Place<'_>) -> Scenario {
    cached(p, "cache-max-age-default", None)
}

fn cache_negative(p: &Place<'_>) -> Scenario {
    cached(p, "cache-max-age-negative", Some("-1"))
}

fn cache_garbage(p: &Place<'_>) -> Scenario {
    cached(p, "cache-max-age-garbage", Some("soon"))
}

fn cache_three(p: &Place<'_>) -> Scenario {
    let mut s = cached(p, "cache-three-fetches", Some("60"));
    s.follow_ups.push(s.case.request.clone());
    s
}

fn cache_credentials_upgrade(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-uncredentialed-then-credentialed", "PUT", &[])
        .credentials(Credentials::Omit)
        .preflight(
            204,
            &[(ACAO, &o), (ACAC, "true"), (ACAM, "PUT"), (MAX_AGE, "60")],
        )
        .response(200, &[(ACAO, &o), (ACAC, "true")]);
    let second = again(&e.case.request, |r| r.credentials = Credentials::Include);
    e.then(vec![second])
}

fn cache_credentials_downgrade(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-credentialed-then-uncredentialed", "PUT", &[])
        .credentials(Credentials::Include)
        .preflight(
            204,
            &[(ACAO, &o), (ACAC, "true"), (ACAM, "PUT"), (MAX_AGE, "60")],
        )
        .response(200, &[(ACAO, &o), (ACAC, "true")]);
    let second = again(&e.case.request, |r| r.credentials = Credentials::Omit);
    e.then(vec![second])
}

fn cache_new_header_not_listed(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-new-header-not-listed", "PUT", &[("x-a", "1")]).preflight(
        204,
        &[(ACAO, &o), (ACAM, "PUT"), (ACAH, "x-a"), (MAX_AGE, "60")],
    );
    let second = again(&e.case.request, |r| {
        r.headers = vec![("x-b".into(), "1".into())]
    });
    e.then(vec![second])
}

fn cache_new_header_listed(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-new-header-listed", "PUT", &[("x-a", "1")]).preflight(
        204,
        &[
            (ACAO, &o),
            (ACAM, "PUT"),
            (ACAH, "x-a, x-b"),
            (MAX_AGE, "60"),
        ],
    );
    let second = again(&e.case.request, |r| {
        r.headers = vec![("x-b".into(), "1".into())]
    });
    e.then(vec![second])
}

fn cache_star_then_credentials(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-star-then-credentialed", "PUT", &[])
        .credentials(Credentials::Omit)
        .preflight(
            204,
            &[(ACAO, &o), (ACAC, "true"), (ACAM, "*"), (MAX_AGE, "60")],
        )
        .response(200, &[(ACAO, &o), (ACAC, "true")]);
    let second = again(&e.case.request, |r| r.credentials = Credentials::Include);
    e.then(vec![second])
}

fn cache_other_method(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-other-method", "PUT", &[])
        .preflight(204, &[(ACAO, &o), (ACAM, "PUT"), (MAX_AGE, "60")]);
    let second = again(&e.case.request, |r| r.method = "DELETE".into());
    e.then(vec![second])
}

fn cache_after_failed_response(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-after-failed-response", "PUT", &[])
        .preflight(204, &[(ACAO, &o), (ACAM, "PUT"), (MAX_AGE, "60")])
        .response(200, &[]);
    let second = e.case.request.clone();
    e.then(vec![second])
}

fn cache_simple_then_preflight(p: &Place<'_>) -> Scenario {
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-simple-then-put", "GET", &[])
        .preflight(204, &[(ACAO, &o), (ACAM, "PUT"), (MAX_AGE, "60")]);
    let second = again(&e.case.request, |r| r.method = "PUT".into());
    let third = second.clone();
    e.then(vec![second, third])
}

/// Fetches the same URL twice with a header that may change the cache
/// mode (conditional requests bypass caches).
fn cache_with_header(p: &Place<'_>, id: &str, name: &str, value: &str) -> Scenario {
    let (o, _, _) = own(p);
    let allowed = format!("x-a, {name}");
    let e = Edge::new(p, id, "PUT", &[("x-a", "1"), (name, value)]).preflight(
        204,
        &[(ACAO, &o), (ACAM, "PUT"), (ACAH, &allowed), (MAX_AGE, "60")],
    );
    let second = e.case.request.clone();
    e.then(vec![second])
}

fn cache_if_none_match(p: &Place<'_>) -> Scenario {
    cache_with_header(p, "cache-bypass-if-none-match", "if-none-match", "\"x\"")
}

fn cache_if_modified_since(p: &Place<'_>) -> Scenario {
    cache_with_header(
        p,
        "cache-bypass-if-modified-since",
        "if-modified-since",
        "Mon, 01 Jan 2024 00:00:00 GMT",
    )
}

fn cache_if_match(p: &Place<'_>) -> Scenario {
    cache_with_header(p, "cache-bypass-if-match", "if-match", "\"x\"")
}

fn cache_if_unmodified_since(p: &Place<'_>) -> Scenario {
    cache_with_header(
        p,
        "cache-bypass-if-unmodified-since",
        "if-unmodified-since",
        "Mon, 01 Jan 2024 00:00:00 GMT",
    )
}

fn cache_if_range(p: &Place<'_>) -> Scenario {
    cache_with_header(p, "cache-bypass-if-range", "if-range", "\"x\"")
}

fn cache_cache_control(p: &Place<'_>) -> Scenario {
    cache_with_header(
        p,
        "cache-with-cache-control-no-cache",
        "cache-control",
        "no-cache",
    )
}

fn cache_pragma(p: &Place<'_>) -> Scenario {
    cache_with_header(p, "cache-with-pragma-no-cache", "pragma", "no-cache")
}

fn cache_tainted(p: &Place<'_>) -> Scenario {
    // B redirects to C: the second hop's preflight is made with a tainted
    // (opaque) origin; is its result reused by the next fetch?
    let (o, _, c) = own(p);
    let to = format!("{c}{}", p.path(1));
    let e = Edge::new(p, "cache-tainted-origin", "PUT", &[])
        .preflight(204, &[(ACAO, &o), (ACAM, "PUT"), (MAX_AGE, "60")])
        .response(307, &[(ACAO, &o), ("location", &to)])
        .hop(
            Some((204, &[(ACAO, "*"), (ACAM, "PUT"), (MAX_AGE, "60")])),
            (200, &[(ACAO, "*")]),
        );
    let second = e.case.request.clone();
    e.then(vec![second])
}

fn cache_then_conditional(p: &Place<'_>) -> Scenario {
    // Does a conditional request read a result an earlier plain one cached?
    let (o, _, _) = own(p);
    let e = Edge::new(p, "cache-plain-then-conditional", "PUT", &[("x-a", "1")]).preflight(
        204,
        &[
            (ACAO, &o),
            (ACAM, "PUT"),
            (ACAH, "x-a, if-none-match"),
            (MAX_AGE, "60"),
        ],
    );
    let second = again(&e.case.request, |r| {
        r.headers.push(("if-none-match".into(), "\"x\"".into()))
    });
    e.then(vec![second])
}

fn cache_conditional_then_plain(p: &Place<'_>) -> Scenario {
    // Does a conditional request store its preflight result?
    let (o, _, _) = own(p);
    let e = Edge::new(
        p,
        "cache-conditional-then-plain",
        "PUT",
        &[("x-a", "1"), ("if-none-match", "\"x\"")],
    )
    .preflight(
        204,
        &[
            (ACAO, &o),
            (ACAM, "PUT"),
            (ACAH, "x-a, if-none-match"),
            (MAX_AGE, "60"),
        ],
    );
    let second = again(&e.case.request, |r| r.headers.truncate(1));
    e.then(vec![second])
}

fn cache_star_authorization(p: &Place<'_>) -> Scenario {
    // A preflight's `*` covers Authorization; does the cached `*`?
    let (o, _, _) = own(p);
    let e = Edge::new(
        p,
        "cache-star-and-authorization",
        "PUT",
        &[("authorization", "Bearer x"), ("x-a", "1")],
    )
    .preflight(
        204,
        &[(ACAO, &o), (ACAM, "PUT"), (ACAH, "*"), (MAX_AGE, "60")],
    );
    let same = e.case.request.clone();
    let x_a_only = again(&e.case.request, |r| {
        r.headers = vec![("x-a".into(), "1".into())]
    });
    e.then(vec![same, x_a_only])
}

/// Every hand-written case, in order.
pub const EDGE_CASES: &[Builder] = &[
    missing_header_1,
    missing_header_2,
    missing_header_3,
    range_capital_bytes,
    range_simple,
    range_open,
    range_suffix,
    range_two,
    range_trailing_space,
    accept_128,
    accept_129,
    accept_combined,
    accept_latin1,
    budget_over,
    budget_exact,
    budget_default_accept,
    client_hints,
    trace,
    track_lower,
    connect,
    method_not_token,
    method_empty,
    header_name_invalid,
    header_value_newline,
    header_value_not_latin1,
    star_covers_authorization,
    star_with_credentials,
    acam_star_with_credentials,
    preflight_3xx_without_location,
    preflight_redirect,
    preflight_404_without_acao,
    preflight_500_with_acao,
    acam_unparsable_unneeded,
    acah_unparsable_unneeded,
    lower_patch,
    lower_delete,
    acam_empty,
    method_override,
    method_override_put,
    acao_non_ascii,
    acao_empty,
    acao_padded_star,
    acao_null,
    acao_two_lines,
    acac_padded,
    acac_twice,
    expose_star_credentials,
    expose_star_and_name_credentials,
    expose_star,
    expose_bad_element,
    same_origin_set_cookie,
    same_origin_post,
    same_origin_put,
    same_origin_get_include,
    too_many_redirects,
    twenty_redirects,
    redirect_credentials_cross,
    redirect_credentials_same_port,
    redirect_credentials_same_origin,
    redirect_credentials_from_same_origin,
    redirect_303_put,
    redirect_301_post,
    redirect_302_post,
    redirect_307_post,
    redirect_308_put_fails_second_preflight,
    redirect_to_page_origin_null,
    redirect_to_page_origin_mismatch,
    redirect_same_to_cross,
    redirect_drops_authorization,
    redirect_then_wildcard_with_credentials,
    redirect_without_acao,
    final_302_without_location,
    redirect_drops_client_hints,
    redirect_to_page_keeps_client_hints,
    redirect_from_page_drops_client_hints,
    missing_header_order_with_accept,
    redirect_empty_location,
    redirect_unparsable_location,
    redirect_to_data_url,
    redirect_to_ftp_url,
    redirect_300_with_location,
    redirect_with_query,
    redirect_to_file,
    redirect_to_about,
    redirect_to_blob,
    redirect_to_javascript,
    redirect_to_ws,
    redirect_to_custom_scheme,
    redirect_two_locations,
    accept_combined_with_empty,
    accept_empty_then_value,
    cache_hit,
    cache_zero,
    cache_default,
    cache_negative,
    cache_garbage,
    cache_three,
    cache_credentials_upgrade,
    cache_credentials_downgrade,
    cache_new_header_not_listed,
    cache_new_header_listed,
    cache_star_then_credentials,
    cache_other_method,
    cache_after_failed_response,
    cache_simple_then_preflight,
    cache_if_none_match,
    cache_if_modified_since,
    cache_if_match,
    cache_if_unmodified_since,
    cache_if_range,
    cache_cache_control,
    cache_pragma,
    cache_tainted,
    cache_then_conditional,
    cache_conditional_then_plain,
    cache_star_authorization,
];

/// Temporary: the data files must build exactly the scenarios the code
/// above builds, field for field and in the same order.
#[test]
fn the_data_files_build_what_the_code_built() {
    for (index, ports) in [
        (
            0,
            Ports {
                page: 1001,
                api: 1002,
                other: 1003,
            },
        ),
        (
            2000,
            Ports {
                page: 40001,
                api: 40002,
                other: 40003,
            },
        ),
        (
            77,
            Ports {
                page: 9,
                api: 8,
                other: 7,
            },
        ),
    ] {
        let place = Place {
            ports,
            run: "18c2f0a",
            index,
        };
        let old: Vec<String> = EDGE_CASES
            .iter()
            .map(|b| format!("{:?}", b(&place)))
            .collect();
        let new: Vec<String> = crate::edge::cases()
            .iter()
            .map(|c| format!("{:?}", c.build(&place)))
            .collect();
        assert_eq!(old.len(), 116);
        assert_eq!(new.len(), old.len());
        for (o, n) in old.iter().zip(&new) {
            assert_eq!(o, n);
        }
        assert_eq!(old, new);
    }
}
