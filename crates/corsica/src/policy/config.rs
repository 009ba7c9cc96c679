//! The policy as written: TOML (through serde) or the Rust builder. Every
//! value remembers where it came from so diagnostics can point at it.

use std::ops::Range;

use serde::{Deserialize, Deserializer};

use crate::diagnostic::{ConfigError, Diagnostic};

/// A value with the byte span it was read from, if it was read from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written, as a byte range into the source text.
    pub span: Option<Range<usize>>,
}

impl<T> Located<T> {
    /// A value that did not come from text (the builder).
    pub fn new(value: T) -> Self {
        Located { value, span: None }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(deserializer)?;
        let span = spanned.span();
        Ok(Located {
            value: spanned.into_inner(),
            span: Some(span),
        })
    }
}

/// A list of strings, each with its own span.
pub type LocatedList = Located<Vec<Located<String>>>;

/// A CORS policy as configured. The key names are a public contract:
/// `origins`, `methods`, `request_headers`, `expose_headers`, `credentials`,
/// `max_age`, the `dangerously_*` opt-ins, `origins_from` and `origin_set`
/// ([`KEYS`] lists them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Allowed origins: exact, `*`, `https://*.example.com`, `http://localhost:*`, or `null`.
    pub origins: Option<LocatedList>,
    /// Methods allowed beyond the always-allowed `GET`, `HEAD` and `POST`; `*` for any.
    pub methods: Option<LocatedList>,
    /// Request headers a preflight may ask for; `*` for any.
    pub request_headers: Option<LocatedList>,
    /// Response headers scripts may read beyond the safelisted ones; `*` for all.
    pub expose_headers: Option<LocatedList>,
    /// Whether credentialed requests (cookies, HTTP auth) are allowed.
    pub credentials: Option<Located<bool>>,
    /// Seconds a browser may cache a preflight; `-1` disables caching.
    pub max_age: Option<Located<i64>>,
    /// Allows `http://` origins (other than loopback) together with credentials.
    pub dangerously_allow_insecure_origins: Option<Located<bool>>,
    /// Allows `*.` patterns over a public suffix (`https://*.github.io`) with credentials.
    pub dangerously_allow_public_suffix_wildcards: Option<Located<bool>>,
    /// Allows the `null` origin.
    pub dangerously_allow_null_origin: Option<Located<bool>>,
    /// A live store whose set adds origins to `origins`:
    /// `redis://HOST:PORT/DB`, `rediss://…`, `postgres://USER@HOST:PORT/DB`.
    /// Each member is validated as if it were listed in `origins`.
    pub origins_from: Option<Located<String>>,
    /// The name of the set in `origins_from` (default `"default"`), so that
    /// routes can use different sets of one store.
    pub origin_set: Option<Located<String>>,
}

/// One key of a policy table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyKey {
    /// The key as written in TOML.
    pub name: &'static str,
    /// A value of the right type, for a fix to show when the value written
    /// has the wrong one.
    pub example: &'static str,
}

/// Every key of a policy table, in [`PolicyConfig`]'s order: the one list
/// that a policy file and the gateway's file (whose `[policy]` and
/// `[routes.policy]` tables hold these keys) check keys against and draw
/// their "did you mean" hints from.
pub const KEYS: &[PolicyKey] = &[
    key("origins", "[\"https://app.example.com\"]"),
    key("methods", "[\"PUT\", \"DELETE\"]"),
    key("request_headers", "[\"content-type\"]"),
    key("expose_headers", "[\"x-request-id\"]"),
    key("credentials", "true"),
    key("max_age", "600"),
    key("dangerously_allow_insecure_origins", "true"),
    key("dangerously_allow_public_suffix_wildcards", "true"),
    key("dangerously_allow_null_origin", "true"),
    key("origins_from", "\"redis://127.0.0.1:6379/0\""),
    key("origin_set", "\"default\""),
];

const fn key(name: &'static str, example: &'static str) -> PolicyKey {
    PolicyKey { name, example }
}

/// The names of [`KEYS`], as the "did you mean" hints take them.
const KEY_NAMES: [&str; KEYS.len()] = {
    let mut names = [""; KEYS.len()];
    let mut i = 0;
    while i < KEYS.len() {
        names[i] = KEYS[i].name;
        i += 1;
    }
    names
};

impl PolicyConfig {
    /// Parses a policy file whose top level holds the policy keys.
    pub fn from_toml(source: &str) -> Result<PolicyConfig, ConfigError> {
        let read = read_toml(source)?;
        if read.problems.is_empty() {
            Ok(read.config)
        } else {
            Err(ConfigError {
                diagnostics: read.problems,
            })
        }
    }
}

/// A policy file read as far as it goes: serde stops at the first unknown
/// key or value of the wrong type, so each is reported, its key removed,
/// and the rest read again, for one run to report every problem.
pub(crate) struct ReadPolicy {
    /// The keys that could be read.
    pub(crate) config: PolicyConfig,
    /// Why the others could not.
    pub(crate) problems: Vec<Diagnostic>,
    /// The keys removed, whose absence validation need not report again.
    pub(crate) removed: Vec<String>,
}

/// Reads a policy file; `Err` only for TOML that does not parse at all.
pub(crate) fn read_toml(source: &str) -> Result<ReadPolicy, ConfigError> {
    let mut doc = toml::de::DeTable::parse(source).map_err(|e| ConfigError {
        diagnostics: vec![toml_diagnostic(&e, &KEY_NAMES)],
    })?;
    let mut problems = Vec::new();
    let mut removed = Vec::new();
    loop {
        let attempt = doc.clone();
        match PolicyConfig::deserialize(toml::de::Deserializer::from(attempt)) {
            Ok(config) => {
                return Ok(ReadPolicy {
                    config,
                    problems,
                    removed,
                })
            }
            Err(e) => {
                let mut diag = toml_diagnostic(&e, &KEY_NAMES);
                let key = e.span().and_then(|at| {
                    doc.get_ref().iter().find_map(|(key, value)| {
                        let covers = |span: Range<usize>| {
                            span.start <= at.start && at.start < span.end.max(span.start + 1)
                        };
                        (covers(key.span()) || covers(value.span()))
                            .then(|| key.get_ref().to_string())
                    })
                });
                let Some(key) = key else {
                    problems.push(diag);
                    return Err(ConfigError {
                        diagnostics: problems,
                    });
                };
                diag.key = key.clone();
                problems.push(diag);
                doc.get_mut().remove(key.as_str());
                removed.push(key);
            }
        }
    }
}

/// Turns a TOML or serde error into a diagnostic with a span, a reason and a fix.
/// `known_keys` feeds the "did you mean" hint for unknown keys.
pub fn toml_diagnostic(err: &toml::de::Error, known_keys: &[&str]) -> Diagnostic {
    let message = err.message().trim().to_owned();
    let (code, fix) = if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or("");
        let hint = match closest_key(key, known_keys) {
            Some(k) => format!("did you mean `{k}`? "),
            None => String::new(),
        };
        (
            "unknown-key",
            format!("{hint}valid keys here: {}", known_keys.join(", ")),
        )
    } else if message.starts_with("missing field") {
        ("missing-key", "add the key".to_owned())
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        ("wrong-type", "write a value of the expected type (lists are [\"a\", \"b\"], booleans are true or false, numbers are bare)".to_owned())
    } else {
        (
            "toml-syntax",
            "fix the TOML syntax at this position".to_owned(),
        )
    };
    Diagnostic::error(code, "", message, fix).at(err.span())
}

/// The known key closest to `key`, if it is close enough to be a typo.
pub fn closest_key<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (levenshtein(k, key), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_spans() {
        let src = "origins = [\"https://a.example\"]\ncredentials = true\n";
        let cfg = PolicyConfig::from_toml(src).unwrap();
        let origins = cfg.origins.unwrap();
        let first = &origins.value[0];
        assert_eq!(&src[first.span.clone().unwrap()], "\"https://a.example\"");
        assert_eq!(&src[cfg.credentials.unwrap().span.unwrap()], "true");
    }

    #[test]
    fn the_key_table_names_every_field_and_each_example_has_its_type() {
        let file: String = KEYS
            .iter()
            .map(|k| format!("{} = {}\n", k.name, k.example))
            .collect();
        let cfg = PolicyConfig::from_toml(&file).unwrap();
        // Destructured whole, so that a new field fails to compile here
        // until it is in the table too.
        let PolicyConfig {
            origins,
            methods,
            request_headers,
            expose_headers,
            credentials,
            max_age,
            dangerously_allow_insecure_origins,
            dangerously_allow_public_suffix_wildcards,
            dangerously_allow_null_origin,
            origins_from,
            origin_set,
        } = cfg;
        assert!(origins.is_some() && methods.is_some() && request_headers.is_some());
        assert!(expose_headers.is_some() && credentials.is_some() && max_age.is_some());
        assert!(dangerously_allow_insecure_origins.is_some());
        assert!(dangerously_allow_public_suffix_wildcards.is_some());
        assert!(dangerously_allow_null_origin.is_some());
        assert!(origins_from.is_some() && origin_set.is_some());
    }

    #[test]
    fn unknown_keys_are_errors_with_a_hint() {
        let err = PolicyConfig::from_toml("orgins = [\"https://a.example\"]\n").unwrap_err();
        let d = &err.diagnostics[0];
        assert_eq!(d.code, "unknown-key");
        assert!(d.fix.contains("did you mean `origins`?"), "{}", d.fix);
        assert_eq!(d.span, Some(0..6));
    }

    #[test]
    fn wrong_types_are_errors() {
        let err =
            PolicyConfig::from_toml("origins = [\"https://a.example\"]\ncredentials = \"yes\"\n")
                .unwrap_err();
        assert_eq!(err.diagnostics[0].code, "wrong-type");
        assert!(err.diagnostics[0].span.is_some());
    }
}
