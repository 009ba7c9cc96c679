//! The origin grammar, on both sides: request `Origin` bytes and policy
//! entries. Nothing may panic, and the two sides must agree: an entry that
//! parses as an exact origin is matched by its own text and by nothing
//! else that differs from it.
#![no_main]

use corsica::__private::{parse_entry, OriginEntry};
use corsica::{parse_origin, OriginSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_origin(data);
    if let Some(parts) = parsed {
        // A parsed request origin re-serializes to exactly its input.
        let port = parts.port.map(|p| format!(":{p}")).unwrap_or_default();
        assert_eq!(
            format!("{}://{}{}", parts.scheme, parts.host, port).as_bytes(),
            data
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_entry(text) {
        Ok(entry) => {
            let set = OriginSet::new([&entry]);
            if let OriginEntry::Exact { origin, .. } = &entry {
                assert_eq!(origin, text, "an exact entry is already canonical");
                assert!(set.matches(origin.as_bytes()));
                assert!(!set.matches(format!("{origin}/").as_bytes()));
                assert!(!set.matches(format!("{origin}.evil.example").as_bytes()));
            }
            if let OriginEntry::Subdomain { base, .. } = &entry {
                assert!(
                    !set.matches(format!("https://evil{base}").as_bytes()),
                    "suffix without a dot boundary"
                );
            }
        }
        Err(e) => {
            // Every refusal explains itself.
            assert!(!e.reason().is_empty() && !e.fix().is_empty());
            if let Some(suggestion) = &e.suggestion {
                assert!(
                    parse_entry(suggestion).is_ok(),
                    "a suggestion must be valid: {suggestion}"
                );
            }
        }
    }
});
