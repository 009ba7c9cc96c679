//! `origins_from` and `origin_set`: where a policy's stored origins live.
//!
//! The engine does no I/O: it only checks that the location is one a store
//! client can use (a supported scheme, a host, no fragment) and that the
//! set's name is safe to put into a Redis key or an SQL value. Connecting is
//! the job of `corsica-store`.

use super::config::PolicyConfig;
use crate::diagnostic::Diagnostic;

/// The set used when `origins_from` is given without `origin_set`.
pub const DEFAULT_ORIGIN_SET: &str = "default";

/// The longest accepted set name.
pub const MAX_SET_NAME: usize = 64;

/// The kind of store an `origins_from` URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreKind {
    /// `redis://` or `rediss://` (TLS).
    Redis,
    /// `postgres://` or `postgresql://`.
    Postgres,
}

/// A validated `origins_from` / `origin_set` pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreRef {
    /// The store's URL, as written.
    pub url: String,
    /// The set's name (`"default"` unless `origin_set` says otherwise).
    pub set: String,
    /// The kind of store, from the URL's scheme.
    pub kind: StoreKind,
}

/// The kind of store `url` names, or a reason and a fix.
pub fn store_kind(url: &str) -> Result<StoreKind, (&'static str, String, String)> {
    let parsed = url::Url::parse(url).map_err(|e| {
        (
            "origins-from-invalid",
            format!("\"{url}\" is not a URL: {e}"),
            "write redis://HOST:PORT/DB or postgres://USER@HOST:PORT/DB".to_owned(),
        )
    })?;
    let kind = match parsed.scheme() {
        "redis" | "rediss" => StoreKind::Redis,
        "postgres" | "postgresql" => StoreKind::Postgres,
        other => {
            return Err((
                "origins-from-scheme",
                format!("\"{other}\" is not a store corsica reads origins from"),
                "use redis://, rediss:// (TLS) or postgres:// (add ?sslmode=require for TLS)"
                    .to_owned(),
            ))
        }
    };
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err((
            "origins-from-invalid",
            format!("\"{url}\" names no host"),
            "write the host and port, e.g. redis://127.0.0.1:6379/0".to_owned(),
        ));
    }
    if parsed.fragment().is_some() {
        return Err((
            "origins-from-invalid",
            format!("\"{url}\" has a fragment, which no store reads"),
            "remove the part from `#` on".to_owned(),
        ));
    }
    Ok(kind)
}

/// Whether `name` is a usable set name: 1 to [`MAX_SET_NAME`] of
/// `A-Z a-z 0-9 _ - .`, so it can go into a Redis key, a channel name and an
/// SQL value without quoting questions.
pub fn check_set_name(name: &str) -> Result<(), (String, String)> {
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    if name.is_empty() || name.len() > MAX_SET_NAME || !name.bytes().all(ok_char) {
        return Err((
            format!("\"{name}\" is not a valid set name"),
            format!("use 1 to {MAX_SET_NAME} letters, digits, `_`, `-` or `.`"),
        ));
    }
    Ok(())
}

/// Checks `origins_from` and `origin_set`, returning the pair when both are valid.
pub(super) fn validate(config: &PolicyConfig, diags: &mut Vec<Diagnostic>) -> Option<StoreRef> {
    let Some(from) = &config.origins_from else {
        if let Some(set) = &config.origin_set {
            diags.push(
                Diagnostic::error(
                    "origin-set-without-store",
                    "origin_set",
                    "`origin_set` names a set, but no `origins_from` says which store holds it",
                    "add origins_from = \"redis://127.0.0.1:6379/0\", or remove origin_set",
                )
                .at(set.span.clone()),
            );
        }
        return None;
    };
    let kind = match store_kind(&from.value) {
        Ok(kind) => Some(kind),
        Err((code, reason, fix)) => {
            diags.push(Diagnostic::error(code, "origins_from", reason, fix).at(from.span.clone()));
            None
        }
    };
    let set = match &config.origin_set {
        None => Some(DEFAULT_ORIGIN_SET.to_owned()),
        Some(set) => match check_set_name(&set.value) {
            Ok(()) => Some(set.value.clone()),
            Err((reason, fix)) => {
                diags.push(
                    Diagnostic::error("origin-set-invalid", "origin_set", reason, fix)
                        .at(set.span.clone()),
                );
                None
            }
        },
    };
    Some(StoreRef {
        url: from.value.clone(),
        set: set?,
        kind: kind?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    #[test]
    fn a_store_may_stand_in_for_static_origins() {
        let p = Policy::from_toml("origins_from = \"redis://127.0.0.1:6379/0\"").unwrap();
        let store = p.origin_store().unwrap();
        assert_eq!(store.set, "default");
        assert_eq!(store.kind, StoreKind::Redis);
        assert!(!p.allows_origin(b"https://a.example"));
        let p = Policy::from_toml(
            "origins = []\norigins_from = \"postgres://corsica@127.0.0.1:5432/app?sslmode=require\"\norigin_set = \"tenants-eu\"",
        )
        .unwrap();
        let store = p.origin_store().unwrap();
        assert_eq!(
            (store.set.as_str(), store.kind),
            ("tenants-eu", StoreKind::Postgres)
        );
    }

    #[test]
    fn bad_locations_and_names_are_refused_with_a_fix() {
        for (src, code) in [
            ("origins_from = \"mysql://h/db\"", "origins-from-scheme"),
            ("origins_from = \"not a url\"", "origins-from-invalid"),
            ("origins_from = \"redis:///0\"", "origins-from-invalid"),
            (
                "origins_from = \"redis://h:6379/0\"\norigin_set = \"a b\"",
                "origin-set-invalid",
            ),
            (
                "origins = [\"https://a.example\"]\norigin_set = \"x\"",
                "origin-set-without-store",
            ),
            (
                "origins = [\"*\"]\norigins_from = \"redis://h:6379/0\"",
                "wildcard-with-origins-from",
            ),
        ] {
            let err = Policy::from_toml(src).unwrap_err();
            let codes: Vec<_> = err.diagnostics.iter().map(|d| d.code).collect();
            assert_eq!(codes, [code], "{src}");
            assert!(err.diagnostics[0].span.is_some(), "{src}");
            assert!(!err.diagnostics[0].fix.is_empty(), "{src}");
        }
    }

    #[test]
    fn without_a_store_origins_are_still_required() {
        let err = Policy::from_toml("origins = []").unwrap_err();
        assert_eq!(err.diagnostics[0].code, "origins-empty");
    }
}
