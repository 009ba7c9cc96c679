//! A compiled origin allowlist: exact origins in a hash set, patterns in
//! label-aware matchers. Matching works on the raw `Origin` bytes and never
//! allocates.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use http::HeaderValue;

use crate::origin::{parse_serialized, OriginParts};
use crate::pattern::OriginEntry;

/// Below this many exact origins a linear scan beats hashing.
const LINEAR_SCAN_MAX: usize = 8;

/// A set of allowed origins compiled from validated entries.
#[derive(Debug, Clone, Default)]
pub struct OriginSet {
    any: bool,
    null: bool,
    exact_small: Vec<ExactOrigin>,
    exact_large: HashSet<ExactOrigin>,
    subdomains: Vec<SubdomainRule>,
    any_ports: Vec<AnyPortRule>,
    /// The entries as written, for "nearest allowed" hints.
    display: Vec<String>,
}

/// An exact origin, held as the header value to send back: interned, so
/// answering with it never touches a reference count. Hashed and compared
/// by its bytes.
#[derive(Debug, Clone)]
struct ExactOrigin(HeaderValue, usize);

impl PartialEq for ExactOrigin {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes() == other.0.as_bytes()
    }
}

impl Eq for ExactOrigin {}

impl Hash for ExactOrigin {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_bytes().hash(state)
    }
}

impl Borrow<[u8]> for ExactOrigin {
    fn borrow(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// How an origin matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginMatch<'a> {
    /// `*`.
    Any,
    /// An exact entry: the policy's own copy of the origin, and its index
    /// among the exact entries (see [`OriginSet::exact_origins`]).
    Exact(&'a HeaderValue, usize),
    /// `null` or a pattern: the answer must echo the request's bytes.
    Pattern,
}

#[derive(Debug, Clone)]
struct SubdomainRule {
    scheme: Box<str>,
    /// The base with its leading dot, `.example.com`, so a suffix match is
    /// always at a label boundary.
    dotted_base: Box<str>,
    port: Option<u16>,
}

#[derive(Debug, Clone)]
struct AnyPortRule {
    scheme: Box<str>,
    host: Box<str>,
}

impl OriginSet {
    /// Compiles validated entries. Callers validate first; this never fails.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a OriginEntry>) -> Self {
        let mut set = OriginSet::default();
        let mut exact = Vec::new();
        for entry in entries {
            match entry {
                OriginEntry::Any => {
                    set.any = true;
                    set.display.push("*".into());
                }
                OriginEntry::Null => {
                    set.null = true;
                    set.display.push("null".into());
                }
                OriginEntry::Exact { origin, .. } => {
                    // Validated origins are visible ASCII, so this never falls through.
                    if let Some(value) = crate::intern::header_value(origin) {
                        let index = exact.len();
                        exact.push(ExactOrigin(value, index));
                    }
                    set.display.push(origin.clone());
                }
                OriginEntry::Subdomain { scheme, base, port } => {
                    set.subdomains.push(SubdomainRule {
                        scheme: scheme.as_str().into(),
                        dotted_base: format!(".{base}").into(),
                        port: *port,
                    });
                    set.display.push(match port {
                        Some(p) => format!("{scheme}://*.{base}:{p}"),
                        None => format!("{scheme}://*.{base}"),
                    });
                }
                OriginEntry::AnyPort { scheme, host } => {
                    set.any_ports.push(AnyPortRule {
                        scheme: scheme.as_str().into(),
                        host: host.as_str().into(),
                    });
                    set.display.push(format!("{scheme}://{host}:*"));
                }
            }
        }
        if exact.len() <= LINEAR_SCAN_MAX {
            set.exact_small = exact;
        } else {
            set.exact_large = exact.into_iter().collect();
        }
        set
    }

    /// Whether the set allows every origin (`*`).
    pub fn is_any(&self) -> bool {
        self.any
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.display.is_empty()
    }

    /// Whether `origin` (the raw `Origin` header value) is allowed.
    pub fn matches(&self, origin: &[u8]) -> bool {
        self.lookup(origin).is_some()
    }

    /// How `origin` (the raw `Origin` header value) is allowed, if it is.
    pub fn lookup(&self, origin: &[u8]) -> Option<OriginMatch<'_>> {
        if self.any {
            return Some(OriginMatch::Any);
        }
        if origin == b"null" {
            return self.null.then_some(OriginMatch::Pattern);
        }
        let exact = if self.exact_large.is_empty() {
            self.exact_small.iter().find(|o| o.0.as_bytes() == origin)
        } else {
            self.exact_large.get(origin)
        };
        if let Some(entry) = exact {
            return Some(OriginMatch::Exact(&entry.0, entry.1));
        }
        if self.subdomains.is_empty() && self.any_ports.is_empty() {
            return None;
        }
        let parts = parse_serialized(origin)?;
        self.matches_pattern(&parts).then_some(OriginMatch::Pattern)
    }

    fn matches_pattern(&self, o: &OriginParts<'_>) -> bool {
        self.subdomains.iter().any(|rule| {
            *rule.scheme == *o.scheme
                && rule.port == o.port
                && o.host.len() > rule.dotted_base.len()
                && o.host.ends_with(&*rule.dotted_base)
        }) || self
            .any_ports
            .iter()
            .any(|rule| *rule.scheme == *o.scheme && *rule.host == *o.host)
    }

    /// The allowed entry most similar to `origin`, for debug messages.
    pub fn nearest(&self, origin: &str) -> Option<&str> {
        self.display
            .iter()
            .map(|entry| (edit_distance(entry, origin), entry))
            .min_by_key(|(d, _)| *d)
            .map(|(_, e)| e.as_str())
    }

    /// The exact origins, in the order their [`OriginMatch::Exact`] index
    /// counts.
    pub fn exact_origins(&self) -> Vec<&HeaderValue> {
        let mut all: Vec<&ExactOrigin> = self
            .exact_small
            .iter()
            .chain(self.exact_large.iter())
            .collect();
        all.sort_by_key(|e| e.1);
        all.into_iter().map(|e| &e.0).collect()
    }

    /// The entries as written.
    pub fn entries(&self) -> &[String] {
        &self.display
    }
}

/// Levenshtein distance over bytes, bounded to keep hostile input cheap.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), &b.as_bytes()[..b.len().min(300)]);
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse_entry;

    fn set(entries: &[&str]) -> OriginSet {
        let parsed: Vec<_> = entries.iter().map(|e| parse_entry(e).unwrap()).collect();
        OriginSet::new(&parsed)
    }

    #[test]
    fn exact_origins_match_byte_for_byte() {
        let s = set(&["https://app.example.com"]);
        assert!(s.matches(b"https://app.example.com"));
        assert!(!s.matches(b"https://app.example.com/"));
        assert!(!s.matches(b"https://APP.example.com"));
        assert!(!s.matches(b"http://app.example.com"));
        assert!(!s.matches(b"https://app.example.com.evil.com"));
        assert!(!s.matches(b"null"));
    }

    #[test]
    fn large_sets_use_the_hash_path() {
        let owned: Vec<String> = (0..100)
            .map(|i| format!("https://a{i}.example.com"))
            .collect();
        let entries: Vec<&str> = owned.iter().map(String::as_str).collect();
        let s = set(&entries);
        assert!(s.matches(b"https://a99.example.com"));
        assert!(!s.matches(b"https://a100.example.com"));
    }

    #[test]
    fn subdomain_patterns_match_at_a_label_boundary() {
        let s = set(&["https://*.example.com"]);
        assert!(s.matches(b"https://a.example.com"));
        assert!(s.matches(b"https://a.b.example.com"));
        assert!(!s.matches(b"https://example.com"));
        assert!(!s.matches(b"https://evilexample.com"));
        assert!(!s.matches(b"https://a.example.com.evil.com"));
        assert!(!s.matches(b"http://a.example.com"));
        assert!(!s.matches(b"https://a.example.com:8443"));
        assert!(!s.matches(b"https://.example.com"));
        assert!(!s.matches(b"https://a_b%60.example.com"));
        assert!(!s.matches(b"https://A.example.com"));
    }

    #[test]
    fn port_patterns_match_every_port_of_one_host() {
        let s = set(&["http://localhost:*"]);
        assert!(s.matches(b"http://localhost:3000"));
        assert!(s.matches(b"http://localhost"));
        assert!(!s.matches(b"http://localhost.evil.com:3000"));
        assert!(!s.matches(b"https://localhost:3000"));
        assert!(!s.matches(b"http://localhost:03000"));
    }

    #[test]
    fn null_and_any() {
        assert!(set(&["null"]).matches(b"null"));
        assert!(set(&["*"]).matches(b"https://whatever.example"));
    }

    #[test]
    fn nearest_entry_is_the_most_similar() {
        let s = set(&["https://app.example.com", "https://admin.example.org"]);
        assert_eq!(
            s.nearest("https://app.example.co"),
            Some("https://app.example.com")
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
