//! `Access-Control-Request-Headers` from a hostile client: the bounded
//! parser, and a whole preflight decision around it. Nothing may panic,
//! and a denial never carries CORS headers.
#![no_main]

use corsica::{Decision, Policy};
use http::header::{HeaderMap, HeaderValue};
use http::Method;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = corsica::__private::check_request_headers(data, |name| name.eq_ignore_ascii_case(b"x-token"));
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let policy = Policy::builder()
        .origins(["https://app.example"])
        .request_headers(["content-type", "x-token"])
        .build()
        .expect("valid policy");
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_static("https://app.example"));
    headers.insert(
        "access-control-request-method",
        HeaderValue::from_static("GET"),
    );
    headers.insert("access-control-request-headers", value);
    match policy.decide(&Method::OPTIONS, &headers) {
        Decision::Preflight(p) => {
            let out = p.headers();
            if !p.is_allowed() {
                assert!(!out.contains_key("access-control-allow-origin"));
            }
        }
        Decision::Forward(_) => panic!("OPTIONS with Origin and ACRM is a preflight"),
    }
});
