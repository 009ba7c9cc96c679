//! [`OriginRules`]: a policy's rules for origins that come from outside its
//! file (an origin source, a store), so that each is judged exactly as if it
//! had been listed in `origins`.

use super::builder::single_origin_config;
use super::validate;
use super::OptIns;
use crate::diagnostic::Diagnostic;
use crate::pattern::{parse_entry, OriginEntry};

/// The context in which a policy validates an origin: whether it allows
/// credentials, and its `dangerously_*` opt-ins. Two policies with equal
/// rules accept exactly the same origins, so a store's set compiled under
/// one serves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OriginRules {
    pub(crate) credentials: bool,
    pub(crate) opt_ins: OptIns,
}

/// One origin entry that passed a policy's [`OriginRules`]: an exact
/// origin or a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckedOrigin(pub(crate) OriginEntry);

impl CheckedOrigin {
    /// The serialized origin, if the entry is exact (not a pattern or `null`).
    pub fn exact(&self) -> Option<&str> {
        match &self.0 {
            OriginEntry::Exact { origin, .. } => Some(origin),
            _ => None,
        }
    }
}

impl OriginRules {
    /// Checks one entry (`https://a.example`, `https://*.example.com`, …)
    /// with every rule `origins` has, in this context. `*` is refused: a
    /// source outside the policy file must never be a way to allow every
    /// origin. On refusal, the diagnostics (errors only) say why and how to
    /// fix it; their key is `what`.
    pub fn check(&self, raw: &str, what: &str) -> Result<CheckedOrigin, Vec<Diagnostic>> {
        if parse_entry(raw) == Ok(OriginEntry::Any) {
            return Err(vec![Diagnostic::error(
                "dynamic-wildcard",
                what,
                "\"*\" from outside the policy file would allow every origin",
                "store exact origins or patterns; put \"*\" in the static policy if the API is public",
            )]);
        }
        let single = single_origin_config(raw, self.credentials, self.opt_ins);
        let (diags, validated) = validate::validate(&single);
        let errors: Vec<Diagnostic> = diags
            .into_iter()
            .filter(Diagnostic::is_error)
            .map(|mut d| {
                // The single-entry policy calls it `origins[0]`.
                d.key = what.to_owned();
                d
            })
            .collect();
        match validated {
            Some(mut v) if errors.is_empty() && v.origins.len() == 1 => {
                Ok(CheckedOrigin(v.origins.remove(0)))
            }
            _ => Err(errors),
        }
    }

    /// Whether credentialed requests are allowed in this context.
    pub fn credentials(&self) -> bool {
        self.credentials
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    #[test]
    fn the_policy_context_decides() {
        let with = Policy::from_toml("origins = [\"https://a.example\"]\ncredentials = true")
            .unwrap()
            .origin_rules();
        let without = Policy::from_toml("origins = [\"https://a.example\"]")
            .unwrap()
            .origin_rules();
        let insecure = Policy::from_toml(
            "origins = [\"https://a.example\"]\ncredentials = true\ndangerously_allow_insecure_origins = true",
        )
        .unwrap()
        .origin_rules();
        let http = "http://t.example";
        assert_eq!(
            with.check(http, "member").unwrap_err()[0].code,
            "insecure-origin-with-credentials"
        );
        assert_eq!(without.check(http, "member").unwrap().exact(), Some(http));
        assert_eq!(insecure.check(http, "member").unwrap().exact(), Some(http));
        let err = with.check("*", "member").unwrap_err();
        assert_eq!(err[0].code, "dynamic-wildcard");
        let err = without.check("https://A.example/", "member").unwrap_err();
        assert_eq!(err[0].key, "member");
        assert!(!err[0].fix.is_empty());
        assert!(without
            .check("https://*.example.com", "m")
            .unwrap()
            .exact()
            .is_none());
        assert_eq!(
            with.check("https://*.github.io", "m").unwrap_err()[0].code,
            "public-suffix-wildcard"
        );
    }
}
