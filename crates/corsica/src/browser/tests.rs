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
fn acrh_is_sorted_lower_case_and_the_greatest_missing_name_is_reported() {
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
