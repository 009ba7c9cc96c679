//! A validated, compiled CORS policy.
//!
//! A [`Policy`] can only be obtained through validation ([`Policy::builder`],
//! [`Policy::from_toml`], [`Policy::from_config`]), so holding one means
//! every validation rule passed. Compilation turns the lists into
//! matchers and pre-rendered header values, so answering a request is
//! lookups and reference-count bumps.

mod builder;
mod config;
mod rules;
mod store_ref;
mod validate;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

pub use builder::PolicyBuilder;
pub use config::{
    closest_key, toml_diagnostic, Located, LocatedList, PolicyConfig, PolicyKey, KEYS,
};
pub use rules::{CheckedOrigin, OriginRules};
pub use store_ref::{
    check_set_name, store_kind, StoreKind, StoreRef, DEFAULT_ORIGIN_SET, MAX_SET_NAME,
};
pub use validate::ListRule;

use crate::diagnostic::{ConfigError, Diagnostic};
use crate::origin_set::OriginSet;
use validate::Validated;

/// Policies with at most this many exact origins keep a ready preflight
/// answer per origin (a few hundred bytes each).
pub(crate) const READY_ORIGINS: usize = 64;

/// The `Vary` value of every preflight response.
pub(crate) const PREFLIGHT_VARY: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
);

/// A validated CORS policy, compiled for fast decisions.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) origins: OriginSet,
    pub(crate) credentials: bool,
    pub(crate) methods: ListRule,
    pub(crate) request_headers: ListRule,
    pub(crate) expose_headers: ListRule,
    pub(crate) max_age: Option<i64>,
    pub(crate) opt_ins: OptIns,
    pub(crate) rendered: Rendered,
    store: Option<StoreRef>,
    warnings: Vec<Diagnostic>,
}

/// The `dangerously_*` opt-ins a policy was built with, re-applied to
/// origins that a dynamic source returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct OptIns {
    pub null: bool,
    pub insecure: bool,
    pub public_suffix: bool,
}

/// Header values rendered once when the policy is built.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// `Access-Control-Allow-Methods`, unless methods are `*` (then the
    /// requested method is echoed) or no method beyond the safelisted ones is allowed.
    pub allow_methods: Option<HeaderValue>,
    /// `Access-Control-Allow-Headers` for an explicit list.
    pub allow_headers: Option<HeaderValue>,
    /// `Access-Control-Expose-Headers`.
    pub expose_headers: Option<HeaderValue>,
    /// For policies with at most [`READY_ORIGINS`] exact origins, the
    /// template with each one's `Access-Control-Allow-Origin` already in
    /// place, indexed like [`OriginSet::exact_origins`].
    pub origin_templates: Vec<HeaderMap>,
    /// Every header an allowed preflight carries. The per-request ones
    /// (`Access-Control-Allow-Origin`, `-Allow-Headers`, and `-Allow-Methods`
    /// when echoed) hold placeholders so that filling them in replaces a
    /// value in place and never grows the map.
    pub preflight_template: HeaderMap,
    /// Whether the answer depends on the request's origin, which calls for
    /// `Vary: Origin` on every response.
    pub vary_on_origin: bool,
}

impl Policy {
    /// Starts building a policy in Rust.
    ///
    /// ```
    /// let policy = corsica::Policy::builder()
    ///     .origins(["https://app.example.com"])
    ///     .methods(["PUT", "DELETE"])
    ///     .request_headers(["content-type"])
    ///     .credentials(true)
    ///     .build()
    ///     .expect("a valid policy");
    /// assert!(policy.allows_origin(b"https://app.example.com"));
    /// ```
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// Parses and validates a policy written in TOML, with the policy keys
    /// at the top level.
    ///
    /// ```
    /// let policy = corsica::Policy::from_toml(r#"origins = ["https://app.example.com"]"#).unwrap();
    /// assert!(!policy.allows_origin(b"https://evil.example"));
    /// ```
    pub fn from_toml(source: &str) -> Result<Policy, ConfigError> {
        let read = config::read_toml(source)?;
        if read.problems.is_empty() {
            return Policy::from_config(&read.config);
        }
        // Every problem in one run: the keys that could not be read, and
        // what validation finds in the rest (but that they are missing).
        let mut diagnostics = match Policy::from_config(&read.config) {
            Ok(_) => Vec::new(),
            Err(ConfigError { diagnostics }) => diagnostics,
        };
        diagnostics.retain(|d| !read.removed.contains(&d.key));
        diagnostics.extend(read.problems);
        diagnostics.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
        Err(ConfigError { diagnostics })
    }

    /// Validates and compiles a configuration, reporting every problem at once.
    pub fn from_config(config: &PolicyConfig) -> Result<Policy, ConfigError> {
        let (diagnostics, validated) = validate::validate(config);
        match validated {
            Some(v) => {
                let opt_ins = OptIns {
                    null: config
                        .dangerously_allow_null_origin
                        .as_ref()
                        .is_some_and(|v| v.value),
                    insecure: config
                        .dangerously_allow_insecure_origins
                        .as_ref()
                        .is_some_and(|v| v.value),
                    public_suffix: config
                        .dangerously_allow_public_suffix_wildcards
                        .as_ref()
                        .is_some_and(|v| v.value),
                };
                Ok(Policy::compile(v, opt_ins, diagnostics))
            }
            None => Err(ConfigError { diagnostics }),
        }
    }

    fn compile(v: Validated, opt_ins: OptIns, warnings: Vec<Diagnostic>) -> Policy {
        let origins = OriginSet::new(&v.origins);
        let exact: Vec<HeaderValue> = origins.exact_origins().into_iter().cloned().collect();
        // Only a credential-free `*` answers every origin the same way.
        let vary_on_origin = !origins.is_any() || v.credentials;
        let allow_methods = if v.methods.any || v.methods.items.is_empty() {
            None
        } else {
            Some(join(&v.methods.items))
        };
        let allow_headers = if v.request_headers.any || v.request_headers.items.is_empty() {
            None
        } else {
            Some(join(&v.request_headers.items))
        };
        let expose_headers = if v.expose_headers.any {
            Some(HeaderValue::from_static("*"))
        } else if v.expose_headers.items.is_empty() {
            None
        } else {
            Some(join(&v.expose_headers.items))
        };
        // -1 means "do not cache": every engine reads a max-age of 0 that way.
        let max_age = v
            .max_age
            .and_then(|n| crate::intern::header_value(&n.max(0).to_string()));

        let mut template = HeaderMap::with_capacity(8);
        template.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        if v.credentials {
            template.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        let methods_placeholder = allow_methods
            .clone()
            .unwrap_or(HeaderValue::from_static("*"));
        template.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods_placeholder);
        template.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            allow_headers
                .clone()
                .unwrap_or(HeaderValue::from_static("*")),
        );
        if let Some(max_age) = &max_age {
            template.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
        }
        template.insert(header::VARY, PREFLIGHT_VARY);

        Policy {
            origins,
            store: v.store,
            credentials: v.credentials,
            methods: v.methods,
            request_headers: v.request_headers,
            expose_headers: v.expose_headers,
            max_age: v.max_age,
            opt_ins,
            rendered: Rendered {
                allow_methods,
                allow_headers,
                expose_headers,
                origin_templates: if exact.len() <= READY_ORIGINS {
                    exact
                        .iter()
                        .map(|origin| {
                            let mut ready = template.clone();
                            ready.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                            ready
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                preflight_template: template,
                vary_on_origin,
            },
            warnings,
        }
    }

    /// Warnings found while validating: the policy works, but maybe not as meant.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Whether `origin` (raw `Origin` header bytes) is allowed by the static allowlist.
    pub fn allows_origin(&self, origin: &[u8]) -> bool {
        self.origins.matches(origin)
    }

    /// Whether credentialed requests are allowed.
    pub fn credentials(&self) -> bool {
        self.credentials
    }

    /// Whether every origin is allowed (`*`).
    pub fn allows_any_origin(&self) -> bool {
        self.origins.is_any()
    }

    /// The origin entries as written, for display and export.
    pub fn origin_entries(&self) -> &[String] {
        self.origins.entries()
    }

    /// The origin entries, parsed: what exporters render into another
    /// server's matcher language, so that they never re-read the strings.
    pub fn parsed_origins(&self) -> Vec<crate::OriginEntry> {
        // Every entry was validated when the policy was built, so none fails.
        self.origins
            .entries()
            .iter()
            .filter_map(|e| crate::pattern::parse_entry(e).ok())
            .collect()
    }

    /// The allowed methods beyond `GET`, `HEAD` and `POST`.
    pub fn methods(&self) -> &ListRule {
        &self.methods
    }

    /// The allowed request headers (lower case).
    pub fn request_headers(&self) -> &ListRule {
        &self.request_headers
    }

    /// The exposed response headers (lower case).
    pub fn expose_headers(&self) -> &ListRule {
        &self.expose_headers
    }

    /// The configured `max_age`, if any (`-1` disables caching).
    pub fn max_age(&self) -> Option<i64> {
        self.max_age
    }

    /// Whether responses depend on the request's `Origin` (and so need `Vary: Origin`).
    pub fn varies_on_origin(&self) -> bool {
        self.rendered.vary_on_origin
    }

    /// The allowed origin entry most similar to `origin`, for hints.
    pub fn nearest_origin(&self, origin: &str) -> Option<&str> {
        self.origins.nearest(origin)
    }

    /// Validates origins returned by a dynamic source with the same rules as
    /// configured ones (and the same opt-ins). `*` is always refused there:
    /// a source must not be a way to allow every origin. Valid entries are
    /// compiled; each refused entry yields a diagnostic.
    pub fn compile_dynamic_origins<S: AsRef<str>>(
        &self,
        entries: &[S],
    ) -> (OriginSet, Vec<Diagnostic>) {
        let rules = self.origin_rules();
        let mut accepted = Vec::new();
        let mut diagnostics = Vec::new();
        for (i, raw) in entries.iter().enumerate() {
            match rules.check(raw.as_ref(), &format!("dynamic origins[{i}]")) {
                Ok(CheckedOrigin(entry)) => accepted.push(entry),
                Err(errors) => diagnostics.extend(errors),
            }
        }
        (OriginSet::new(&accepted), diagnostics)
    }

    /// The rules this policy applies to origins from outside its file: a
    /// store's members are validated under them.
    pub fn origin_rules(&self) -> OriginRules {
        OriginRules {
            credentials: self.credentials,
            opt_ins: self.opt_ins,
        }
    }

    /// Where the policy's stored origins live (`origins_from`, `origin_set`),
    /// if it has any.
    pub fn origin_store(&self) -> Option<&StoreRef> {
        self.store.as_ref()
    }
}

/// Joins names into one comma-separated header value.
fn join(items: &[String]) -> HeaderValue {
    // Items are validated tokens, which are always valid header bytes.
    crate::intern::header_value(&items.join(", ")).unwrap_or_else(|| HeaderValue::from_static(""))
}

/// Names of the CORS response headers corsica owns; an application's own
/// values for them are replaced, so there is one source of truth.
///
/// `Access-Control-Allow-Private-Network` (Private Network Access, which
/// Chromium asked of public pages reaching private addresses) is among
/// them though no policy grants it: an application that sent it would
/// widen, past the policy, which pages may reach it.
pub const CORS_RESPONSE_HEADERS: [HeaderName; 7] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_ALLOW_METHODS,
    header::ACCESS_CONTROL_ALLOW_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
    HeaderName::from_static("access-control-allow-private-network"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_file_reports_unknown_keys_wrong_types_and_the_rest_in_one_run() {
        let err = Policy::from_toml(
            "origin = [\"https://a.example\"]\ncredentials = \"yes\"\nmax_age = -5\nmethods = [\"TRACE\"]\n",
        )
        .unwrap_err();
        let codes: Vec<_> = err
            .diagnostics
            .iter()
            .map(|d| (d.code, d.key.as_str()))
            .collect();
        for expected in [
            ("unknown-key", "origin"),
            ("wrong-type", "credentials"),
            ("max-age-out-of-range", "max_age"),
            ("method-forbidden", "methods[0]"),
            ("origins-missing", "origins"),
        ] {
            assert!(
                codes.contains(&expected),
                "{expected:?} missing from {codes:?}"
            );
        }
        // `credentials` is reported once, as of the wrong type.
        assert_eq!(codes.iter().filter(|(_, k)| *k == "credentials").count(), 1);
    }

    #[test]
    fn compiles_pre_rendered_values() {
        let p = Policy::from_toml(
            "origins = [\"https://a.example\"]\nmethods = [\"PUT\", \"PATCH\"]\nrequest_headers = [\"Content-Type\"]\nexpose_headers = [\"X-Id\"]\nmax_age = -1",
        )
        .unwrap();
        assert_eq!(p.rendered.allow_methods.as_ref().unwrap(), "PUT, PATCH");
        assert_eq!(p.rendered.allow_headers.as_ref().unwrap(), "content-type");
        assert_eq!(p.rendered.expose_headers.as_ref().unwrap(), "x-id");
        assert_eq!(
            p.rendered.preflight_template[http::header::ACCESS_CONTROL_MAX_AGE],
            "0"
        );
        assert!(p.varies_on_origin());
    }

    #[test]
    fn a_public_api_does_not_vary() {
        let p = Policy::from_toml("origins = [\"*\"]").unwrap();
        assert!(!p.varies_on_origin());
    }

    #[test]
    fn dynamic_origins_obey_the_same_rules() {
        let p = Policy::from_toml("origins = [\"https://a.example\"]\ncredentials = true").unwrap();
        let (set, diags) = p.compile_dynamic_origins(&[
            "https://t1.example",
            "*",
            "null",
            "http://t2.example",
            "https://t3.example/",
        ]);
        assert!(set.matches(b"https://t1.example"));
        assert!(!set.matches(b"http://t2.example"));
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                "dynamic-wildcard",
                "null-origin",
                "insecure-origin-with-credentials",
                "origin-trailing-slash"
            ]
        );
    }
}
