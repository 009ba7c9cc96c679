//! Static header values for policy data.
//!
//! A `HeaderValue` built from a `&'static str` clones and drops without
//! touching a reference count; one built at runtime costs an atomic
//! increment and decrement per response, which measured as a fifth of the
//! time to answer a preflight. So the values a policy renders (allowed
//! methods and headers, exact origins, max-age) are interned: each distinct
//! string is leaked once and shared by every policy that uses it, so
//! reloading the same configuration costs nothing.
//!
//! The pool is capped. Past [`POOL_LIMIT_BYTES`], values fall back to
//! ordinary reference-counted ones, so a process that reloads ever-changing
//! policies cannot grow without bound.

use std::collections::HashSet;
use std::sync::Mutex;

use http::HeaderValue;

/// The most bytes the pool will ever hold.
pub const POOL_LIMIT_BYTES: usize = 4 << 20;

struct Pool {
    strings: HashSet<&'static str>,
    bytes: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// A header value for `s`: static when the pool has room, reference-counted
/// otherwise. `None` if `s` is not a valid header value.
pub fn header_value(s: &str) -> Option<HeaderValue> {
    // `from_static` accepts visible ASCII and spaces only.
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return HeaderValue::from_str(s).ok();
    }
    let mut guard = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pool = guard.get_or_insert_with(|| Pool {
        strings: HashSet::new(),
        bytes: 0,
    });
    if let Some(existing) = pool.strings.get(s) {
        return Some(HeaderValue::from_static(existing));
    }
    if pool.bytes + s.len() > POOL_LIMIT_BYTES {
        return HeaderValue::from_str(s).ok();
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    pool.strings.insert(leaked);
    pool.bytes += leaked.len();
    Some(HeaderValue::from_static(leaked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_deduplicates() {
        let a = header_value("GET, PUT, X-Interned-Test").unwrap();
        let b = header_value("GET, PUT, X-Interned-Test").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.as_bytes().as_ptr(),
            b.as_bytes().as_ptr(),
            "one leaked copy"
        );
    }

    #[test]
    fn invalid_values_are_refused() {
        assert!(header_value("a\nb").is_none());
        assert!(
            header_value("caf\u{e9}").is_some(),
            "obs-text is valid, just not static"
        );
    }
}
