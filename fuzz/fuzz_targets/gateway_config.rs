//! The gateway file loader on arbitrary text, then routing on it: the
//! loader returns a configuration or diagnostics (never panics, never
//! loops), every diagnostic's span lies in the text, and a configuration
//! it accepts routes any request target without panicking.
#![no_main]

use corsica_fuzz::assert_refusal_well_formed;
use corsica_gateway::config::load_str;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The text, and after a NUL byte an optional request target to route.
    let (text, target) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"/"[..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    match load_str(text) {
        Ok(config) => {
            if let Ok(uri) = http::Uri::try_from(target) {
                let _ = config.route_for_uri(&uri);
            }
        }
        Err(e) => assert_refusal_well_formed(&e, text),
    }
});
