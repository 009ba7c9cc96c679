//! Building a policy in Rust. The builder fills the same [`PolicyConfig`]
//! that TOML does, so both paths go through one validator.

use super::config::{Located, PolicyConfig};
use super::{OptIns, Policy};
use crate::diagnostic::ConfigError;

/// Builds a [`Policy`]; nothing is checked until [`PolicyBuilder::build`],
/// which reports every problem at once.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PolicyBuilder {
    config: PolicyConfig,
}

fn list<I, S>(items: I) -> Option<Located<Vec<Located<String>>>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    Some(Located::new(
        items
            .into_iter()
            .map(|s| Located::new(s.as_ref().to_owned()))
            .collect(),
    ))
}

impl PolicyBuilder {
    /// The allowed origins: exact (`https://app.example.com`), `*`, a
    /// subdomain pattern (`https://*.example.com`), a port pattern
    /// (`http://localhost:*`) or `null` (with its opt-in).
    pub fn origins<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, origins: I) -> Self {
        self.config.origins = list(origins);
        self
    }

    /// Methods allowed beyond `GET`, `HEAD` and `POST`, compared
    /// case-sensitively (browsers send `patch` as written). Accepts
    /// `http::Method` values too.
    pub fn methods<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, methods: I) -> Self {
        self.config.methods = list(methods);
        self
    }

    /// Request headers a preflight may ask for. Accepts `http::HeaderName` values too.
    pub fn request_headers<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, headers: I) -> Self {
        self.config.request_headers = list(headers);
        self
    }

    /// Response headers scripts may read beyond the safelisted ones.
    pub fn expose_headers<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, headers: I) -> Self {
        self.config.expose_headers = list(headers);
        self
    }

    /// Whether credentialed requests (cookies, HTTP authentication) are allowed.
    pub fn credentials(mut self, allow: bool) -> Self {
        self.config.credentials = Some(Located::new(allow));
        self
    }

    /// How long browsers may cache a preflight, in seconds (`-1` disables caching).
    pub fn max_age(mut self, seconds: i64) -> Self {
        self.config.max_age = Some(Located::new(seconds));
        self
    }

    /// Allows plain-`http` origins together with credentials. A network
    /// attacker can then read credentialed responses.
    pub fn dangerously_allow_insecure_origins(mut self) -> Self {
        self.config.dangerously_allow_insecure_origins = Some(Located::new(true));
        self
    }

    /// Allows `*.` patterns over a public suffix (`https://*.github.io`)
    /// together with credentials. Anyone who registers a name there is trusted.
    pub fn dangerously_allow_public_suffix_wildcards(mut self) -> Self {
        self.config.dangerously_allow_public_suffix_wildcards = Some(Located::new(true));
        self
    }

    /// Allows the `null` origin, which every sandboxed iframe can send.
    pub fn dangerously_allow_null_origin(mut self) -> Self {
        self.config.dangerously_allow_null_origin = Some(Located::new(true));
        self
    }

    /// Adds the members of a store's set to the allowed origins
    /// (`origins_from`): `redis://HOST:PORT/DB` or `postgres://USER@HOST:PORT/DB`.
    pub fn origins_from(mut self, url: impl Into<String>) -> Self {
        self.config.origins_from = Some(Located::new(url.into()));
        self
    }

    /// The set of `origins_from` to read (`origin_set`, default `"default"`).
    pub fn origin_set(mut self, name: impl Into<String>) -> Self {
        self.config.origin_set = Some(Located::new(name.into()));
        self
    }

    /// Validates and compiles the policy.
    pub fn build(self) -> Result<Policy, ConfigError> {
        Policy::from_config(&self.config)
    }

    /// The configuration built so far.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }
}

/// A one-origin configuration carrying a policy's credentials and opt-ins,
/// used to validate an origin from a dynamic source.
pub(super) fn single_origin_config(
    origin: &str,
    credentials: bool,
    opt_ins: OptIns,
) -> PolicyConfig {
    PolicyConfig {
        origins: list([origin]),
        credentials: Some(Located::new(credentials)),
        dangerously_allow_null_origin: Some(Located::new(opt_ins.null)),
        dangerously_allow_insecure_origins: Some(Located::new(opt_ins.insecure)),
        dangerously_allow_public_suffix_wildcards: Some(Located::new(opt_ins.public_suffix)),
        ..PolicyConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_from_http_types() {
        let policy = Policy::builder()
            .origins(["https://a.example"])
            .methods([http::Method::PUT, http::Method::PATCH])
            .request_headers([http::header::CONTENT_TYPE])
            .build()
            .unwrap();
        assert_eq!(policy.methods().items, ["PUT", "PATCH"]);
        assert_eq!(policy.request_headers().items, ["content-type"]);
    }

    #[test]
    fn reports_every_error_without_panicking() {
        let err = Policy::builder()
            .origins(["*", "https://a.example/"])
            .methods(["TRACE"])
            .credentials(true)
            .max_age(100_000)
            .build()
            .unwrap_err();
        assert!(err.errors().count() >= 4, "{err}");
    }
}
