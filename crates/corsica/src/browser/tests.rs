//! Scenario tests: each asserts what headless Chromium was seen to do.

use super::*;

const PAGE: &str = "http://127.0.0.1:18001";
const API: &str = "http://127.0.0.1:18002/x";

fn case(
    method: &str,
    headers: &[(&str, &str)],
    credentials: Credentials,
    preflight: Option<(u16, &[(&str, &str)])>,
    response: Option<(u16, &[(&str, &str)])>,
) -> Case {
    let spec = |(status, h): (u16, &[(&str, &str)])| ResponseSpec {
        status,
        headers: h
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    };
    Case {
        id: "t".into(),
        origin: PAGE.into(),
        request: RequestSpec {
            url: API.into(),
            method: method.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            credentials,
            read_headers: vec![],
            force_preflight: false,
        },
        preflight_response: preflight.map(spec),
        response: response.map(spec),
        redirects: vec![],
        local_network: Default::default(),
    }
}

fn run(c: &Case) -> Verdict {
    simulate(c, Profile::Chromium).unwrap()
}

const ACAO: (&str, &str) = ("access-control-allow-origin", PAGE);

#[test]
fn simple_get_without_acao_is_missing_allow_origin() {
    let v = run(&case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((404, &[])),
    ));
    assert!(!v.preflight && v.actual_sent && !v.allowed);
    assert_eq!(v.cors_error, Some(CorsError::MissingAllowOriginHeader));
    assert_eq!(v.failed_parameter.as_deref(), Some(""));
    assert_eq!(
        v.console_message.as_deref(),
        Some("Access to fetch at 'http://127.0.0.1:18002/x' from origin 'http://127.0.0.1:18001' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.")
    );
}

#[test]
fn put_needs_a_preflight_that_lists_it() {
    let v = run(&case(
        "PUT",
        &[],
        Credentials::SameOrigin,
        Some((204, &[ACAO])),
        None,
    ));
    assert!(v.preflight && !v.actual_sent);
    assert_eq!(
        v.cors_error,
        Some(CorsError::MethodDisallowedByPreflightResponse)
    );
    assert_eq!(v.failed_parameter.as_deref(), Some("PUT"));
    assert_eq!(v.requests[0].request_method.as_deref(), Some("PUT"));
    assert!(v.fix.policy.contains("methods = [\"PUT\"]"));
}

#[test]
fn lower_case_patch_stays_lower_case() {
    let v = run(&case(
        "patch",
        &[],
        Credentials::SameOrigin,
        Some((200, &[ACAO, ("access-control-allow-methods", "PATCH")])),
        None,
    ));
    assert_eq!(v.failed_parameter.as_deref(), Some("patch"));
    assert_eq!(v.requests[0].request_method.as_deref(), Some("patch"));
}

#[test]
fn preflight_without_acao_on_404_reports_the_cors_error_first() {
    let v = run(&case(
        "PUT",
        &[],
        Credentials::SameOrigin,
        Some((404, &[])),
        None,
    ));
    assert_eq!(
        v.cors_error,
        Some(CorsError::PreflightMissingAllowOriginHeader)
    );
    assert!(v.console_message.unwrap().contains("Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin'"));
}

#[test]
fn preflight_with_bad_status_after_a_good_cors_check() {
    let v = run(&case(
        "PUT",
        &[],
        Credentials::SameOrigin,
        Some((500, &[ACAO, ("access-control-allow-methods", "PUT")])),
        None,
    ));
    assert_eq!(v.cors_error, Some(CorsError::PreflightInvalidStatus));
}

#[test]
fn redirected_preflights_fail_even_with_acao() {
    let v = run(&case(
        "PUT",
        &[],
        Credentials::SameOrigin,
        Some((302, &[("location", "/y"), ACAO])),
        None,
    ));
    assert_eq!(v.cors_error, Some(CorsError::PreflightDisallowedRedirect));
}

#[test]
fn acrh_is_sorted_lower_case_and_chromium_names_the_first_missing_in_its_order() {
    let v = run(&case(
        "GET",
        &[("X-B", "1"), ("x-a", "1"), ("x-c", "1")],
        Credentials::SameOrigin,
        Some((204, &[ACAO, ("access-control-allow-headers", "x-q")])),
        None,
    ));
    assert_eq!(
        v.requests[0].request_headers.as_deref(),
        Some("x-a,x-b,x-c")
    );
    assert_eq!(v.failed_parameter.as_deref(), Some("x-c"));
}

#[test]
fn acao_classification() {
    let mismatch = run(&case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((
            200,
            &[("access-control-allow-origin", "http://127.0.0.1:18001/")],
        )),
    ));
    assert_eq!(mismatch.cors_error, Some(CorsError::AllowOriginMismatch));
    assert!(mismatch.console_message.unwrap().ends_with("that is not equal to the supplied origin. Have the server send the header with a valid value."));
    let invalid = run(&case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((200, &[("access-control-allow-origin", "foo")])),
    ));
    assert_eq!(invalid.cors_error, Some(CorsError::InvalidAllowOriginValue));
    let multiple = run(&case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((
            200,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-origin", "*"),
            ],
        )),
    ));
    assert_eq!(multiple.failed_parameter.as_deref(), Some("*, *"));
    let wildcard = run(&case(
        "GET",
        &[],
        Credentials::Include,
        None,
        Some((200, &[("access-control-allow-origin", "*")])),
    ));
    assert_eq!(
        wildcard.cors_error,
        Some(CorsError::WildcardOriginNotAllowed)
    );
    let creds = run(&case(
        "GET",
        &[],
        Credentials::Include,
        None,
        Some((200, &[ACAO, ("access-control-allow-credentials", "True")])),
    ));
    assert_eq!(creds.cors_error, Some(CorsError::InvalidAllowCredentials));
    assert_eq!(creds.failed_parameter.as_deref(), Some("True"));
}

#[test]
fn script_errors_send_nothing() {
    let v = run(&case("TRACE", &[], Credentials::SameOrigin, None, None));
    assert!(!v.preflight && !v.actual_sent && !v.allowed);
    assert_eq!(
        v.js_error.as_deref(),
        Some("Failed to execute 'fetch' on 'Window': 'TRACE' HTTP method is unsupported.")
    );
    assert_eq!(v.cors_error, None);
}

#[test]
fn chromium_safelists_dpr_and_drops_user_agent() {
    let v = run(&case(
        "GET",
        &[("user-agent", "x"), ("DPR", "2")],
        Credentials::SameOrigin,
        None,
        Some((200, &[ACAO])),
    ));
    assert!(!v.preflight && v.allowed);
}

#[test]
fn wildcard_allow_headers_covers_authorization() {
    let mut c = case(
        "GET",
        &[("authorization", "x")],
        Credentials::SameOrigin,
        Some((200, &[ACAO, ("access-control-allow-headers", "*")])),
        Some((
            200,
            &[
                ACAO,
                ("x-id", "7"),
                ("access-control-expose-headers", "x-id"),
            ],
        )),
    );
    c.request.read_headers = vec!["x-id".into(), "content-type".into(), "set-cookie".into()];
    let v = run(&c);
    assert!(v.allowed);
    assert_eq!(v.readable_headers["x-id"].as_deref(), Some("7"));
    assert_eq!(v.readable_headers["set-cookie"], None);
}

#[test]
fn credentialed_preflights_need_allow_credentials_too() {
    let v = run(&case(
        "PUT",
        &[],
        Credentials::Include,
        Some((204, &[ACAO, ("access-control-allow-methods", "PUT")])),
        None,
    ));
    assert_eq!(
        v.cors_error,
        Some(CorsError::PreflightInvalidAllowCredentials)
    );
    assert_eq!(v.failed_parameter.as_deref(), Some(""));
    assert!(v
        .console_message
        .unwrap()
        .contains("is '' which must be 'true'"));
}

#[test]
fn combined_duplicate_headers_count_against_128_bytes() {
    let a = "a".repeat(100);
    let b = "b".repeat(100);
    let v = run(&case(
        "GET",
        &[("accept", &a), ("accept", &b)],
        Credentials::SameOrigin,
        Some((204, &[ACAO])),
        None,
    ));
    assert!(v.preflight);
    assert_eq!(v.requests[0].request_headers.as_deref(), Some("accept"));
}

#[test]
fn redirects_taint_the_origin() {
    let mut c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((302, &[ACAO, ("location", "http://127.0.0.1:18003/z")])),
    );
    c.redirects = vec![HopSpec {
        preflight_response: None,
        response: ResponseSpec {
            status: 200,
            headers: vec![("access-control-allow-origin".into(), PAGE.into())],
        },
    }];
    let v = run(&c);
    assert_eq!(v.requests.len(), 2);
    assert_eq!(v.requests[1].origin.as_deref(), Some("null"));
    assert_eq!(v.cors_error, Some(CorsError::AllowOriginMismatch));
    assert!(v.console_message.unwrap().starts_with("Access to fetch at 'http://127.0.0.1:18003/z' (redirected from 'http://127.0.0.1:18002/x') from origin 'http://127.0.0.1:18001'"));
}

#[test]
fn a_redirect_needs_its_own_cors_headers() {
    let c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((301, &[("location", "/y")])),
    );
    let v = run(&c);
    assert_eq!(v.cors_error, Some(CorsError::MissingAllowOriginHeader));
    assert_eq!(v.requests.len(), 1);
}

#[test]
fn credentials_in_a_redirect_location_fail() {
    let c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((302, &[ACAO, ("location", "http://u:p@127.0.0.1:18002/y")])),
    );
    assert_eq!(
        run(&c).cors_error,
        Some(CorsError::RedirectContainsCredentials)
    );
}

#[test]
fn too_many_redirects_is_a_network_error() {
    let mut c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((307, &[ACAO, ("location", "/again")])),
    );
    c.redirects = (0..21)
        .map(|_| HopSpec {
            preflight_response: None,
            response: ResponseSpec {
                status: 307,
                headers: vec![
                    ("access-control-allow-origin".into(), PAGE.into()),
                    ("location".into(), "/again".into()),
                ],
            },
        })
        .collect();
    let v = run(&c);
    assert_eq!(
        v.network_error.as_deref(),
        Some("net::ERR_TOO_MANY_REDIRECTS")
    );
    assert_eq!(v.requests.len(), 21);
}

#[test]
fn a_redirect_to_a_url_that_needs_a_preflight_sends_a_new_one() {
    let mut c = case(
        "PUT",
        &[],
        Credentials::SameOrigin,
        Some((204, &[ACAO, ("access-control-allow-methods", "PUT")])),
        Some((307, &[ACAO, ("location", "/moved")])),
    );
    c.redirects = vec![HopSpec {
        preflight_response: Some(ResponseSpec {
            status: 204,
            headers: vec![
                ("access-control-allow-origin".into(), PAGE.into()),
                ("access-control-allow-methods".into(), "PUT".into()),
            ],
        }),
        response: ResponseSpec {
            status: 200,
            headers: vec![("access-control-allow-origin".into(), PAGE.into())],
        },
    }];
    let v = run(&c);
    assert!(v.allowed, "{:?}", v.trace);
    let legs: Vec<_> = v.requests.iter().map(|r| (r.leg, r.url.as_str())).collect();
    assert_eq!(
        legs,
        [
            (Leg::Preflight, API),
            (Leg::Actual, API),
            (Leg::Preflight, "http://127.0.0.1:18002/moved"),
            (Leg::Actual, "http://127.0.0.1:18002/moved")
        ]
    );
}

#[test]
fn missing_scripted_responses_are_case_errors() {
    let c = case("PUT", &[], Credentials::SameOrigin, None, None);
    assert!(simulate(&c, Profile::Chromium)
        .unwrap_err()
        .reason
        .contains("preflight_response"));
}

#[test]
fn same_origin_requests_skip_cors() {
    let mut c = case(
        "PUT",
        &[("x-a", "1")],
        Credentials::SameOrigin,
        None,
        Some((200, &[("x-id", "1")])),
    );
    c.request.url = format!("{PAGE}/same");
    c.request.read_headers = vec!["x-id".into()];
    let v = run(&c);
    assert!(v.allowed && !v.preflight);
    assert_eq!(v.readable_headers["x-id"].as_deref(), Some("1"));
}

#[test]
fn the_preflight_cache_spares_a_second_preflight() {
    let c = case(
        "PUT",
        &[],
        Credentials::SameOrigin,
        Some((
            204,
            &[
                ACAO,
                ("access-control-allow-methods", "PUT"),
                ("access-control-max-age", "60"),
            ],
        )),
        Some((200, &[ACAO])),
    );
    let mut first = Simulation::new("a", PAGE, &c.request, Profile::Chromium);
    let mut step = first.start();
    while let Step::Send(out) = step {
        let r = if out.request.leg == Leg::Preflight {
            c.preflight_response.as_ref().unwrap()
        } else {
            c.response.as_ref().unwrap()
        };
        step = first.on_response(r.into());
    }
    let cache = first.cache().clone();
    let mut second =
        Simulation::with_cache("b", PAGE, &c.request, Profile::Chromium, cache.clone(), 30);
    assert!(matches!(second.start(), Step::Send(out) if out.request.leg == Leg::Actual));
    let mut late = Simulation::with_cache("c", PAGE, &c.request, Profile::Chromium, cache, 61);
    assert!(matches!(late.start(), Step::Send(out) if out.request.leg == Leg::Preflight));
}

fn hop(preflight: Option<(u16, &[(&str, &str)])>, response: (u16, &[(&str, &str)])) -> HopSpec {
    let spec = |(status, h): (u16, &[(&str, &str)])| ResponseSpec {
        status,
        headers: h
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    };
    HopSpec {
        preflight_response: preflight.map(spec),
        response: spec(response),
    }
}

/// Runs `first`, then `again` for the same URL with the cache it left.
fn twice(first: &Case, again: &RequestSpec) -> (Verdict, Verdict) {
    let (a, cache) = simulate_with_cache(
        first,
        &first.request,
        Profile::Chromium,
        PreflightCache::new(),
        0,
    )
    .unwrap();
    let (b, _) = simulate_with_cache(first, again, Profile::Chromium, cache, 0).unwrap();
    (a, b)
}

// Behaviours learned from the differential harness (browser-tests/) against
// headless Chromium 156; docs/browser-differences.md has the table.

#[test]
fn the_missing_header_named_is_the_first_in_chromiums_header_order() {
    // Missing: pragma, dpr (2x) and accept ([x]); the greatest would be
    // pragma by luck here, so check a case where it is not: Chromium named
    // pragma although dpr and accept are missing too, and with `x-a` added
    // it still names pragma while the greatest would be x-a.
    let v = run(&case(
        "PATCH",
        &[
            ("range", "bytes=5-5"),
            ("pragma", "yes"),
            ("Dpr", "2x"),
            ("accept", "[x]"),
            ("x-a", "1"),
        ],
        Credentials::SameOrigin,
        Some((204, &[ACAO, ("access-control-allow-methods", "PATCH")])),
        None,
    ));
    assert_eq!(
        v.cors_error,
        Some(CorsError::HeaderDisallowedByPreflightResponse)
    );
    assert_eq!(v.failed_parameter.as_deref(), Some("pragma"));
    // Authorization is not special: with x-user-agent it comes first, as
    // Chromium reported it.
    let v = run(&case(
        "POST",
        &[("authorization", "Bearer t"), ("x-user-agent", "")],
        Credentials::Omit,
        Some((204, &[ACAO])),
        None,
    ));
    assert_eq!(v.failed_parameter.as_deref(), Some("authorization"));
}

#[test]
fn the_default_accept_counts_towards_the_1024_byte_budget() {
    let a = "a".repeat(128);
    let d = "1".repeat(128);
    let ct = format!("text/plain;a={}", "b".repeat(115));
    let d7 = "1".repeat(127);
    // 1,023 bytes of safelisted values plus `Accept: */*` is 1,026.
    let v = run(&case(
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
        Credentials::SameOrigin,
        Some((
            204,
            &[
                ACAO,
                (
                    "access-control-allow-headers",
                    "accept-language, content-language, content-type, width, viewport-width, rtt, dpr, device-memory",
                ),
            ],
        )),
        None,
    ));
    assert!(v.preflight);
    assert!(v.requests[0]
        .request_headers
        .as_deref()
        .unwrap()
        .starts_with("accept,accept-language,"));
    assert_eq!(v.failed_parameter.as_deref(), Some("accept"));
}

#[test]
fn a_combined_value_is_trimmed_again() {
    // 127 bytes, ", " and an empty value: 128 bytes once trimmed.
    let a = "a".repeat(127);
    let v = run(&case(
        "GET",
        &[("accept", &a), ("accept", "")],
        Credentials::SameOrigin,
        None,
        Some((200, &[ACAO])),
    ));
    assert!(!v.preflight && v.allowed);
    let v = run(&case(
        "GET",
        &[("accept", ""), ("accept", &a)],
        Credentials::SameOrigin,
        Some((204, &[ACAO])),
        None,
    ));
    assert!(v.preflight, "a leading comma is not whitespace");
}

#[test]
fn a_non_latin_1_header_fails_before_the_method_is_checked() {
    let v = run(&case(
        "TRACE",
        &[("x-a", "smile \u{263a}")],
        Credentials::SameOrigin,
        None,
        None,
    ));
    assert!(v
        .js_error
        .unwrap()
        .ends_with("String contains non ISO-8859-1 code point."));
}

#[test]
fn credentials_in_a_location_are_refused_before_the_redirect_counts() {
    let c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((302, &[ACAO, ("location", "http://u:p@127.0.0.1:18003/y")])),
    );
    let v = run(&c);
    assert_eq!(v.cors_error, Some(CorsError::RedirectContainsCredentials));
    assert_eq!(
        v.console_message.as_deref(),
        Some("Access to fetch at 'http://127.0.0.1:18002/x' from origin 'http://127.0.0.1:18001' has been blocked by CORS policy: Redirect location '' contains a username and password, which is disallowed for cross-origin requests.")
    );
}

#[test]
fn a_same_origin_redirect_to_a_url_with_credentials_is_blocked() {
    let mut c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((302, &[("location", "http://u:p@127.0.0.1:18001/y")])),
    );
    c.request.url = format!("{PAGE}/x");
    c.redirects = vec![hop(None, (200, &[]))];
    let v = run(&c);
    assert!(!v.allowed && v.cors_error.is_none());
    assert_eq!(v.network_error.as_deref(), Some("blocked:origin"));
    assert_eq!(v.requests.len(), 1);
}

#[test]
fn client_hints_are_dropped_on_a_redirect_except_to_the_pages_origin() {
    let hints = [
        ("device-memory", "x"),
        ("dpr", "x"),
        ("width", "x"),
        ("viewport-width", "x"),
        ("rtt", "x"),
        ("downlink", "x"),
        ("ect", "x"),
        ("save-data", "off"),
    ];
    let all = (
        "access-control-allow-headers",
        "device-memory, dpr, width, viewport-width, rtt, downlink, ect, save-data",
    );
    let mut same = case(
        "GET",
        &hints,
        Credentials::SameOrigin,
        Some((204, &[ACAO, all])),
        Some((307, &[ACAO, ("location", "/y")])),
    );
    same.redirects = vec![hop(Some((204, &[ACAO, all])), (200, &[ACAO]))];
    let v = run(&same);
    assert!(v.allowed);
    assert_eq!(v.requests[2].request_headers.as_deref(), Some("save-data"));
    let mut to_page = same.clone();
    to_page.response = Some(ResponseSpec {
        status: 307,
        headers: vec![
            ("access-control-allow-origin".into(), PAGE.into()),
            ("location".into(), format!("{PAGE}/y")),
        ],
    });
    let null = ("access-control-allow-origin", "null");
    to_page.redirects = vec![hop(Some((204, &[null, all])), (200, &[null]))];
    let v = run(&to_page);
    assert!(v.allowed);
    assert_eq!(
        v.requests[2].request_headers.as_deref(),
        Some("device-memory,downlink,dpr,ect,rtt,save-data,viewport-width,width")
    );
}

#[test]
fn odd_locations() {
    // An empty Location is no redirect: the 302 is the response.
    let mut c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((302, &[ACAO, ("location", "")])),
    );
    assert!(run(&c).allowed);
    // Two different Locations: Chromium's HTTP parser refuses the response.
    c.response = Some(ResponseSpec {
        status: 302,
        headers: vec![
            ("access-control-allow-origin".into(), PAGE.into()),
            ("location".into(), "".into()),
            ("location".into(), "/y".into()),
        ],
    });
    assert_eq!(
        run(&c).network_error.as_deref(),
        Some("net::ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION")
    );
    // A 300 is not followed.
    let c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((300, &[ACAO, ("location", "/y")])),
    );
    assert!(run(&c).allowed);
}

#[test]
fn redirects_to_other_schemes() {
    let to = |location: &str| {
        run(&case(
            "GET",
            &[],
            Credentials::SameOrigin,
            None,
            Some((302, &[ACAO, ("location", location)])),
        ))
    };
    for unsafe_target in [
        "data:,x",
        "file:///etc/hosts",
        "about:blank",
        "blob:http://a/b",
    ] {
        assert_eq!(
            to(unsafe_target).network_error.as_deref(),
            Some("net::ERR_UNSAFE_REDIRECT"),
            "{unsafe_target}"
        );
    }
    let v = to("ftp://127.0.0.1/x");
    assert_eq!(v.cors_error, Some(CorsError::CorsDisabledScheme));
    assert_eq!(v.failed_parameter.as_deref(), Some(""));
    assert_eq!(
        v.console_message.as_deref(),
        Some("Access to fetch at 'ftp://127.0.0.1/x' (redirected from 'http://127.0.0.1:18002/x') from origin 'http://127.0.0.1:18001' has been blocked by CORS policy: Cross origin requests are only supported for protocol schemes: chrome, chrome-experimental-site-token-provider, chrome-extension, chrome-untrusted, data, http, https, isolated-app.")
    );
}

fn cached_put(headers: &[(&str, &str)], allow: &str, response: (u16, &[(&str, &str)])) -> Case {
    case(
        "PUT",
        headers,
        Credentials::SameOrigin,
        Some((
            204,
            &[
                ACAO,
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-headers", allow),
                ("access-control-max-age", "60"),
            ],
        )),
        Some(response),
    )
}

#[test]
fn a_failed_response_leaves_the_preflight_cache_alone() {
    let c = cached_put(&[], "", (200, &[]));
    let (a, b) = twice(&c, &c.request);
    assert_eq!(a.cors_error, Some(CorsError::MissingAllowOriginHeader));
    assert!(!b.preflight, "Chromium reuses the cached preflight");
}

#[test]
fn conditional_requests_skip_the_preflight_cache_but_fill_it() {
    let c = cached_put(
        &[("x-a", "1"), ("if-none-match", "\"x\"")],
        "x-a, if-none-match",
        (200, &[ACAO]),
    );
    let (_, b) = twice(&c, &c.request);
    assert!(b.preflight, "no lookup for a conditional request");
    let mut plain = c.request.clone();
    plain.headers.truncate(1);
    let (_, b) = twice(&c, &plain);
    assert!(!b.preflight, "but its result was stored");
    // Cache-Control and Pragma do not change the cache mode.
    let c = cached_put(
        &[("x-a", "1"), ("cache-control", "no-cache")],
        "x-a, cache-control",
        (200, &[ACAO]),
    );
    assert!(!twice(&c, &c.request).1.preflight);
}

#[test]
fn a_tainted_origin_never_hits_the_preflight_cache() {
    let mut c = cached_put(
        &[],
        "",
        (307, &[ACAO, ("location", "http://127.0.0.1:18003/z")]),
    );
    let star = ("access-control-allow-origin", "*");
    c.redirects = vec![hop(
        Some((
            204,
            &[
                star,
                ("access-control-allow-methods", "PUT"),
                ("access-control-max-age", "60"),
            ],
        )),
        (200, &[star]),
    )];
    let (a, b) = twice(&c, &c.request);
    assert!(a.allowed && b.allowed);
    let legs: Vec<Leg> = b.requests.iter().map(|r| r.leg).collect();
    // The first URL's preflight is cached; the tainted second hop's is not.
    assert_eq!(legs, [Leg::Actual, Leg::Preflight, Leg::Actual]);
}

#[test]
fn a_cached_star_does_not_cover_authorization() {
    let c = case(
        "POST",
        &[("ect", "5g"), ("authorization", "Basic dTpw")],
        Credentials::SameOrigin,
        Some((
            200,
            &[
                ACAO,
                ("access-control-allow-headers", "*"),
                ("access-control-max-age", "60"),
            ],
        )),
        Some((200, &[ACAO])),
    );
    let (a, b) = twice(&c, &c.request);
    assert!(a.allowed && a.preflight, "the preflight's * covers it");
    assert!(b.preflight, "the cached * does not");
    let mut only_ect = c.request.clone();
    only_ect.headers.truncate(1);
    assert!(!twice(&c, &only_ect).1.preflight);
}

#[test]
fn the_fix_names_only_headers_that_were_sent_but_hidden() {
    let mut c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((200, &[ACAO, ("x-hidden", "1")])),
    );
    c.request.read_headers = vec!["x-hidden".into(), "x-absent".into()];
    let v = run(&c);
    assert!(v.allowed);
    assert!(
        v.fix.summary.contains("x-hidden") && !v.fix.summary.contains("x-absent"),
        "{}",
        v.fix.summary
    );
    let mut c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((200, &[ACAO])),
    );
    c.request.read_headers = vec!["x-absent".into()];
    assert!(run(&c).fix.summary.starts_with("Nothing to fix"));
}

fn lna_case(page: &str, url: &str, network: lna::LocalNetwork) -> Case {
    let mut c = case(
        "GET",
        &[],
        Credentials::SameOrigin,
        None,
        Some((200, &[("access-control-allow-origin", "*")])),
    );
    c.origin = page.into();
    c.request.url = url.into();
    c.local_network = network;
    c
}

#[test]
fn chromium_blocks_a_public_page_fetching_loopback_without_the_permission() {
    let v = run(&lna_case(
        "https://8.8.8.8",
        "http://127.0.0.1:9000/x",
        lna::LocalNetwork::default(),
    ));
    assert!(!v.allowed && !v.preflight && !v.actual_sent);
    assert_eq!(
        v.cors_error,
        Some(CorsError::LocalNetworkAccessPermissionDenied)
    );
    assert_eq!(
        v.console_message.as_deref(),
        Some("Access to fetch at 'http://127.0.0.1:9000/x' from origin 'https://8.8.8.8' has been blocked by CORS policy: Permission was denied for this request to access the `loopback` address space.")
    );
    assert_eq!(v.fetch_error.as_deref(), Some("TypeError: Failed to fetch"));
    assert!(
        v.fix.summary.contains("Local Network Access"),
        "{}",
        v.fix.summary
    );
    assert!(
        v.fix.summary.contains("loopback-network"),
        "{}",
        v.fix.summary
    );
    assert!(v.fix.response_headers.is_empty() && v.fix.preflight_headers.is_empty());
}

#[test]
fn granted_local_network_access_leaves_only_cors() {
    let network = lna::LocalNetwork {
        page_address_space: Some(lna::AddressSpace::Public),
        permission: lna::LnaPermission::Granted,
        ..Default::default()
    };
    let v = run(&lna_case(
        "https://app.example",
        "http://192.168.1.20/x",
        network,
    ));
    assert!(v.allowed && v.actual_sent);
}

#[test]
fn an_http_public_page_is_blocked_as_insecure_local_network() {
    let network = lna::LocalNetwork {
        page_address_space: Some(lna::AddressSpace::Public),
        permission: lna::LnaPermission::Granted,
        ..Default::default()
    };
    let v = run(&lna_case(
        "http://app.example",
        "http://localhost:3000/x",
        network,
    ));
    assert_eq!(v.cors_error, Some(CorsError::InsecureLocalNetwork));
    assert!(v
        .console_message
        .as_deref()
        .is_some_and(|m| m.ends_with("The request client is not a secure context and the resource is in more-private address space `loopback`.")));
}

#[test]
fn a_redirect_into_the_local_network_is_checked_too() {
    let mut c = lna_case(
        "https://8.8.8.8",
        "https://1.1.1.1/x",
        lna::LocalNetwork::default(),
    );
    c.response = Some(ResponseSpec {
        status: 302,
        headers: vec![
            ("location".into(), "http://10.0.0.7/y".into()),
            ("access-control-allow-origin".into(), "*".into()),
        ],
    });
    c.redirects = vec![HopSpec {
        preflight_response: None,
        response: ResponseSpec {
            status: 200,
            headers: vec![("access-control-allow-origin".into(), "*".into())],
        },
    }];
    let v = run(&c);
    assert_eq!(v.requests.len(), 1, "only the public hop reaches a server");
    assert_eq!(
        v.cors_error,
        Some(CorsError::LocalNetworkAccessPermissionDenied)
    );
    assert_eq!(
        v.failed_parameter.as_deref(),
        Some(""),
        "as DevTools reports it"
    );
    assert!(v
        .console_message
        .as_deref()
        .is_some_and(|m| m.ends_with("access the `local` address space.")));
}

#[test]
fn firefox_and_webkit_apply_no_local_network_check_but_say_chromium_would() {
    let c = lna_case(
        "https://8.8.8.8",
        "http://127.0.0.1:9000/x",
        lna::LocalNetwork::default(),
    );
    for profile in [Profile::Firefox, Profile::WebKit] {
        let v = simulate(&c, profile).unwrap();
        assert!(v.allowed, "{profile:?}");
        assert!(
            v.trace
                .iter()
                .any(|e| e.text.contains("Local Network Access")),
            "{profile:?}"
        );
    }
}

fn twice_in(profile: Profile, first: &Case, again: &RequestSpec) -> (Verdict, Verdict) {
    let (a, cache) =
        simulate_with_cache(first, &first.request, profile, PreflightCache::new(), 0).unwrap();
    let (b, _) = simulate_with_cache(first, again, profile, cache, 0).unwrap();
    (a, b)
}

#[test]
fn webkit_caches_a_preflight_whose_method_passed_and_header_failed() {
    // Observed in WebKitGTK 2.50 (harness seed 2, gen-0730).
    let c = cached_put(&[("x-c", "")], "", (200, &[ACAO]));
    let mut plain = c.request.clone();
    plain.headers.clear();
    let (a, b) = twice_in(Profile::WebKit, &c, &plain);
    assert_eq!(
        a.cors_error,
        Some(CorsError::HeaderDisallowedByPreflightResponse)
    );
    assert!(!b.preflight && b.allowed, "served from the stored result");
    let (_, b) = twice_in(Profile::Chromium, &c, &plain);
    assert!(
        b.preflight,
        "Chromium stores nothing from a failed preflight"
    );
}

#[test]
fn a_cached_preflight_still_makes_firefox_and_webkit_preflight_after_a_redirect() {
    // Observed in Firefox 153 and WebKitGTK 2.50 (harness seed 2, gen-0794).
    let mut c = case(
        "DELETE",
        &[],
        Credentials::Omit,
        Some((
            204,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "DELETE"),
                ("access-control-max-age", "60"),
            ],
        )),
        Some((
            303,
            &[
                ("location", "http://127.0.0.1:18002/y"),
                ("access-control-allow-origin", "*"),
            ],
        )),
    );
    let allow = vec![("access-control-allow-origin".to_owned(), "*".to_owned())];
    c.redirects = vec![HopSpec {
        // A failing preflight: nothing for /y is cached.
        preflight_response: Some(ResponseSpec {
            status: 404,
            headers: allow.clone(),
        }),
        response: ResponseSpec {
            status: 200,
            headers: allow,
        },
    }];
    for profile in [Profile::Firefox, Profile::WebKit] {
        let (_, b) = twice_in(profile, &c, &c.request);
        let preflights: Vec<&str> = b
            .requests
            .iter()
            .filter(|r| r.leg == Leg::Preflight)
            .map(|r| r.url.as_str())
            .collect();
        assert_eq!(
            preflights,
            ["http://127.0.0.1:18002/y"],
            "{profile:?}: {:#?}",
            b.trace
        );
    }
    let (_, b) = twice_in(Profile::Chromium, &c, &c.request);
    assert!(
        !b.preflight && b.allowed,
        "Chromium decides per hop: a GET needs none"
    );
}

#[test]
fn firefox_refuses_a_data_redirect_before_checking_its_cors_headers() {
    // Observed in Firefox 153 (harness seed 1, gen-0193).
    let c = case(
        "GET",
        &[],
        Credentials::Omit,
        None,
        Some((
            308,
            &[
                ("location", "data:,x"),
                ("access-control-allow-origin", "https://elsewhere.example"),
            ],
        )),
    );
    let v = simulate(&c, Profile::Firefox).unwrap();
    assert_eq!(v.network_error.as_deref(), Some("NS_ERROR_DOM_BAD_URI"));
    assert_eq!(v.cors_error, None);
    assert_eq!(
        v.console_message.as_deref(),
        Some("Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://127.0.0.1:18002/x. (Reason: CORS request did not succeed). Status code: (null).")
    );
    // Chromium checks the redirect response first, and so does Firefox for
    // other schemes (gen-0766: ftp:, gen-1581: about:).
    let v = run(&c);
    assert_eq!(v.cors_error, Some(CorsError::AllowOriginMismatch));
    let mut ftp = c.clone();
    if let Some(r) = ftp.response.as_mut() {
        r.headers[0].1 = "ftp://127.0.0.1/x".into();
    }
    let v = simulate(&ftp, Profile::Firefox).unwrap();
    assert_eq!(v.cors_error, Some(CorsError::AllowOriginMismatch));
}

#[test]
fn webkit_drops_the_cached_result_when_a_preflight_fails_its_cors_check() {
    // Observed in WebKitGTK 2.50 (harness seed 2, gen-1515): an
    // uncredentialed PUT caches `*`; a credentialed one fails on that `*`;
    // the next uncredentialed PUT is preflighted again.
    let c = case(
        "PUT",
        &[("x-a", "1")],
        Credentials::SameOrigin,
        Some((
            204,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-headers", "x-a"),
                ("access-control-max-age", "60"),
            ],
        )),
        Some((200, &[ACAO])),
    );
    let mut credentialed = c.request.clone();
    credentialed.credentials = Credentials::Include;
    // (Chromium evicts the entry on the credentialed lookup already, and
    // Firefox clears it on any failure, so all three preflight again.)
    for profile in [Profile::WebKit, Profile::Chromium, Profile::Firefox] {
        let (first, cache) =
            simulate_with_cache(&c, &c.request, profile, PreflightCache::new(), 0).unwrap();
        assert!(first.allowed);
        let (second, cache) = simulate_with_cache(&c, &credentialed, profile, cache, 0).unwrap();
        assert_eq!(
            second.cors_error,
            Some(CorsError::PreflightWildcardOriginNotAllowed)
        );
        let (third, _) = simulate_with_cache(&c, &c.request, profile, cache, 0).unwrap();
        assert!(third.preflight, "{profile:?}");
    }
}
