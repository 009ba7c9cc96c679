//! The TOML policy loader on arbitrary text: it returns a policy or
//! diagnostics, never panics, and every diagnostic's span lies in the text.
#![no_main]

use corsica::Policy;
use corsica_fuzz::assert_refusal_well_formed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_toml(text) {
        Ok(policy) => {
            for w in policy.warnings() {
                assert!(!w.is_error());
            }
        }
        Err(e) => assert_refusal_well_formed(&e, text),
    }
});
