//! Every rule a policy must satisfy, checked at once when it is built.
//!
//! A policy that would expose users is refused unless the user names the
//! matching `dangerously_*` opt-in; a policy that could never work as
//! written (a trailing slash, a forbidden header) is refused with the fix.

use std::collections::HashSet;

use super::config::{Located, LocatedList, PolicyConfig};
use crate::diagnostic::Diagnostic;
use crate::header_names::{
    is_forbidden_request_header, is_forbidden_response_header, is_safelisted_response_header,
};
use crate::method;
use crate::origin::is_loopback_host;
use crate::pattern::{parse_entry, OriginEntry};
use crate::token::is_token;

/// Chromium caps `Access-Control-Max-Age` at two hours.
pub const CHROMIUM_MAX_AGE_CAP: i64 = 7200;
/// The largest `max_age` corsica accepts: Firefox's cap of 24 hours.
pub const MAX_AGE_LIMIT: i64 = 86400;

/// The validated content of a policy, ready to compile.
#[derive(Debug, Clone, Default)]
pub struct Validated {
    /// The parsed origin entries.
    pub origins: Vec<OriginEntry>,
    /// Whether credentials are allowed.
    pub credentials: bool,
    /// Allowed methods.
    pub methods: ListRule,
    /// Allowed request headers, lower case.
    pub request_headers: ListRule,
    /// Exposed response headers, lower case.
    pub expose_headers: ListRule,
    /// The effective max-age (`None` sends no header).
    pub max_age: Option<i64>,
    /// Where more origins come from (`origins_from`, `origin_set`).
    pub store: Option<super::StoreRef>,
}

/// A list that may be the wildcard `*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRule {
    /// `*` was given (only possible without credentials).
    pub any: bool,
    /// The explicit items: methods as written, header names lower-cased.
    pub items: Vec<String>,
}

fn flag(value: &Option<Located<bool>>) -> bool {
    value.as_ref().is_some_and(|v| v.value)
}

/// Checks every rule, returning all diagnostics (errors and warnings) and,
/// when there is no error, the validated policy.
pub fn validate(config: &PolicyConfig) -> (Vec<Diagnostic>, Option<Validated>) {
    let mut diags = Vec::new();
    let credentials = flag(&config.credentials);
    let origins = validate_origins(config, credentials, &mut diags);
    let methods = validate_methods(config.methods.as_ref(), credentials, &mut diags);
    let request_headers = validate_headers(
        HeaderList::Request,
        config.request_headers.as_ref(),
        credentials,
        &mut diags,
    );
    let expose_headers = validate_headers(
        HeaderList::Expose,
        config.expose_headers.as_ref(),
        credentials,
        &mut diags,
    );
    let max_age = validate_max_age(config.max_age.as_ref(), &mut diags);
    let store = super::store_ref::validate(config, &mut diags);
    diags.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    if diags.iter().any(Diagnostic::is_error) {
        return (diags, None);
    }
    let validated = Validated {
        origins,
        credentials,
        methods,
        request_headers,
        expose_headers,
        max_age,
        store,
    };
    (diags, Some(validated))
}

fn validate_origins(
    config: &PolicyConfig,
    credentials: bool,
    diags: &mut Vec<Diagnostic>,
) -> Vec<OriginEntry> {
    let from_store = config.origins_from.is_some();
    let Some(list) = &config.origins else {
        if from_store {
            // The store supplies every origin; none are static.
            return Vec::new();
        }
        diags.push(Diagnostic::error(
            "origins-missing",
            "origins",
            "the policy has no `origins`, so it would allow no cross-origin request",
            "add origins = [\"https://app.example.com\"] with the origins of the pages that call this API",
        ));
        return Vec::new();
    };
    if list.value.is_empty() && !from_store {
        diags.push(
            Diagnostic::error(
                "origins-empty",
                "origins",
                "`origins` is empty, so the policy would allow no cross-origin request",
                "list the origins of the pages that call this API, e.g. [\"https://app.example.com\"]",
            )
            .at(list.span.clone()),
        );
    }
    let allow_null = flag(&config.dangerously_allow_null_origin);
    let allow_insecure = flag(&config.dangerously_allow_insecure_origins);
    let allow_psl = flag(&config.dangerously_allow_public_suffix_wildcards);
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let (mut used_null, mut used_insecure, mut used_psl) = (false, false, false);
    for (i, item) in list.value.iter().enumerate() {
        let key = format!("origins[{i}]");
        let at = item.span.clone();
        let entry = match parse_entry(&item.value) {
            Ok(entry) => entry,
            Err(e) => {
                diags.push(Diagnostic::error(e.code(), key, e.reason(), e.fix()).at(at));
                continue;
            }
        };
        if !seen.insert(entry.clone()) {
            diags.push(
                Diagnostic::error(
                    "duplicate-origin",
                    key,
                    format!("\"{}\" is listed twice", item.value),
                    "remove the duplicate entry",
                )
                .at(at),
            );
            continue;
        }
        match &entry {
            OriginEntry::Any if credentials => diags.push(
                Diagnostic::error(
                    "wildcard-with-credentials",
                    key.clone(),
                    "\"*\" together with credentials = true would let every website read your users' data with their cookies; browsers also refuse `Access-Control-Allow-Origin: *` on credentialed requests",
                    "list the exact origins that need credentials, or set credentials = false for a public API",
                )
                .at(at.clone()),
            ),
            OriginEntry::Any if from_store => diags.push(
                Diagnostic::error(
                    "wildcard-with-origins-from",
                    key.clone(),
                    "\"*\" already allows every origin, so the origins in `origins_from` would be meaningless",
                    "keep either \"*\" alone or `origins_from` with specific origins",
                )
                .at(at.clone()),
            ),
            OriginEntry::Any if list.value.len() > 1 => diags.push(
                Diagnostic::error(
                    "wildcard-with-other-origins",
                    key.clone(),
                    "\"*\" already allows every origin, so the other entries are meaningless",
                    "keep either \"*\" alone or only the specific origins",
                )
                .at(at.clone()),
            ),
            OriginEntry::Null => {
                used_null = true;
                if !allow_null {
                    diags.push(
                        Diagnostic::error(
                            "null-origin",
                            key.clone(),
                            "\"null\" is the origin of every sandboxed iframe, data: URL and file: page, so any website can send `Origin: null` and be allowed",
                            "remove \"null\"; if you really must serve opaque origins, set dangerously_allow_null_origin = true",
                        )
                        .at(at.clone()),
                    );
                }
            }
            _ => {}
        }
        if let (Some(scheme), Some(host)) = (entry.scheme(), entry.host()) {
            let insecure = scheme == "http" && !is_loopback_host(host);
            if insecure {
                used_insecure |= credentials;
                let secure = item.value.replacen("http://", "https://", 1);
                let refused = Diagnostic::error(
                    "insecure-origin-with-credentials",
                    key.clone(),
                    format!("\"{}\" is plain http: anyone on the network path can inject script into that origin and read credentialed responses", item.value),
                    format!("use \"{secure}\", or set dangerously_allow_insecure_origins = true"),
                );
                let warned = Diagnostic::warning(
                    "insecure-origin",
                    key.clone(),
                    format!(
                        "\"{}\" is plain http, so a network attacker can impersonate it",
                        item.value
                    ),
                    format!("prefer \"{secure}\""),
                );
                diags.extend(
                    risk(credentials, allow_insecure, refused, warned).map(|d| d.at(at.clone())),
                );
            }
        }
        if let OriginEntry::Subdomain { base, .. } = &entry {
            if is_public_suffix(base) {
                used_psl |= credentials;
                let reason = format!(
                    "\"{}\" matches subdomains of the public suffix \"{base}\", which anyone can register",
                    item.value
                );
                let refused = Diagnostic::error(
                    "public-suffix-wildcard",
                    key.clone(),
                    format!("{reason}; with credentials any of them could read your users' data"),
                    "list the exact origins you trust, or set dangerously_allow_public_suffix_wildcards = true",
                );
                let warned = Diagnostic::warning(
                    "public-suffix-wildcard",
                    key.clone(),
                    reason,
                    "list the exact origins you trust",
                );
                diags.extend(
                    risk(credentials, allow_psl, refused, warned).map(|d| d.at(at.clone())),
                );
            }
        }
        entries.push(entry);
    }
    warn_covered_origins(list, &entries, diags);
    warn_unused_opt_in(
        config.dangerously_allow_null_origin.as_ref(),
        used_null,
        "dangerously_allow_null_origin",
        "no \"null\" origin is listed",
        diags,
    );
    warn_unused_opt_in(
        config.dangerously_allow_insecure_origins.as_ref(),
        used_insecure,
        "dangerously_allow_insecure_origins",
        "no http origin is listed together with credentials",
        diags,
    );
    warn_unused_opt_in(
        config.dangerously_allow_public_suffix_wildcards.as_ref(),
        used_psl,
        "dangerously_allow_public_suffix_wildcards",
        "no pattern over a public suffix is listed together with credentials",
        diags,
    );
    entries
}

/// The diagnostic for an origin entry that only credentials make
/// dangerous: with them, an error unless its `dangerously_*` opt-in is set
/// (and nothing when it is); without them, a warning.
fn risk(
    credentials: bool,
    opted_in: bool,
    refused: Diagnostic,
    warned: Diagnostic,
) -> Option<Diagnostic> {
    match (credentials, opted_in) {
        (true, false) => Some(refused),
        (true, true) => None,
        (false, _) => Some(warned),
    }
}

/// An exact origin that a pattern in the same list already matches.
fn warn_covered_origins(list: &LocatedList, entries: &[OriginEntry], diags: &mut Vec<Diagnostic>) {
    let patterns = crate::origin_set::OriginSet::new(
        entries
            .iter()
            .filter(|e| !matches!(e, OriginEntry::Exact { .. } | OriginEntry::Any)),
    );
    for (i, item) in list.value.iter().enumerate() {
        if let Ok(OriginEntry::Exact { origin, .. }) = parse_entry(&item.value) {
            if patterns.matches(origin.as_bytes()) {
                diags.push(
                    Diagnostic::warning(
                        "redundant-origin",
                        format!("origins[{i}]"),
                        format!("\"{origin}\" is already matched by a pattern in the list"),
                        "remove the entry",
                    )
                    .at(item.span.clone()),
                );
            }
        }
    }
}

fn warn_unused_opt_in(
    value: Option<&Located<bool>>,
    used: bool,
    key: &str,
    why: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(v) = value {
        if v.value && !used {
            diags.push(
                Diagnostic::warning(
                    "unused-opt-in",
                    key,
                    format!("{key} = true has no effect: {why}"),
                    format!("remove {key}"),
                )
                .at(v.span.clone()),
            );
        }
    }
}

/// Whether `domain` is itself a public suffix (`com`, `co.uk`, `github.io`),
/// per the public-suffix list compiled into the `psl` crate.
pub fn is_public_suffix(domain: &str) -> bool {
    match psl::suffix(domain.as_bytes()) {
        Some(suffix) => {
            suffix.as_bytes() == domain.as_bytes() && (suffix.is_known() || !domain.contains('.'))
        }
        None => false,
    }
}

/// Checks the shared shape of a list: duplicates (by `key`), and `*` with credentials.
fn list_items<'a>(
    list: Option<&'a LocatedList>,
    name: &str,
    credentials: bool,
    fold: impl Fn(&str) -> String,
    diags: &mut Vec<Diagnostic>,
    what_star_means: &str,
) -> (bool, Vec<(usize, &'a Located<String>)>) {
    let mut any = false;
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let Some(list) = list else {
        return (false, items);
    };
    for (i, item) in list.value.iter().enumerate() {
        let key = format!("{name}[{i}]");
        if !seen.insert(fold(&item.value)) {
            diags.push(
                Diagnostic::error(
                    duplicate_code(name),
                    key,
                    format!("\"{}\" is listed twice in `{name}`", item.value),
                    "remove the duplicate entry",
                )
                .at(item.span.clone()),
            );
            continue;
        }
        if item.value == "*" {
            if credentials {
                diags.push(
                    Diagnostic::error(
                        "wildcard-with-credentials",
                        key,
                        format!("\"*\" in `{name}` means {what_star_means} only for requests without credentials; browsers read it as a literal name \"*\" when credentials = true"),
                        format!("list the {name} explicitly"),
                    )
                    .at(item.span.clone()),
                );
            } else {
                any = true;
            }
            continue;
        }
        items.push((i, item));
    }
    (any, items)
}

/// The stable code for a duplicate entry in list `name`.
fn duplicate_code(name: &str) -> &'static str {
    match name {
        "methods" => "duplicate-method",
        "request_headers" => "duplicate-request-header",
        _ => "duplicate-expose-header",
    }
}

fn validate_methods(
    list: Option<&LocatedList>,
    credentials: bool,
    diags: &mut Vec<Diagnostic>,
) -> ListRule {
    let (any, items) = list_items(
        list,
        "methods",
        credentials,
        |m| m.to_owned(),
        diags,
        "every method",
    );
    let mut out = Vec::new();
    for (i, item) in items {
        let key = format!("methods[{i}]");
        let m = item.value.as_str();
        let at = item.span.clone();
        if !is_token(m.as_bytes()) {
            diags.push(
                Diagnostic::error(
                    "method-invalid",
                    key,
                    format!("\"{m}\" is not a valid HTTP method name"),
                    "write a method name such as \"PUT\" or \"PATCH\"",
                )
                .at(at),
            );
        } else if method::is_forbidden(m) {
            diags.push(
                Diagnostic::error(
                    "method-forbidden",
                    key,
                    format!("browsers never send {m} requests (it is a forbidden method)"),
                    format!("remove \"{m}\""),
                )
                .at(at),
            );
        } else if !method::survives_normalization(m) {
            let upper = method::normalize(m);
            diags.push(
                Diagnostic::error(
                    "method-case",
                    key,
                    format!("browsers upper-case \"{m}\" to \"{upper}\" before sending it, and methods are compared case-sensitively, so this entry can never match"),
                    format!("write \"{upper}\""),
                )
                .at(at),
            );
        } else {
            out.push(m.to_owned());
        }
    }
    ListRule { any, items: out }
}

/// The two header lists of a policy, which share their checks: a header
/// name, and one that the list can use.
#[derive(Debug, Clone, Copy)]
enum HeaderList {
    /// `request_headers`: names a preflight may ask for.
    Request,
    /// `expose_headers`: response headers scripts may read.
    Expose,
}

impl HeaderList {
    fn key(self) -> &'static str {
        match self {
            HeaderList::Request => "request_headers",
            HeaderList::Expose => "expose_headers",
        }
    }

    /// What `*` stands for in the list.
    fn every(self) -> &'static str {
        match self {
            HeaderList::Request => "every header",
            HeaderList::Expose => "every response header",
        }
    }

    /// The fix for an item that is not a header name.
    fn example(self) -> &'static str {
        match self {
            HeaderList::Request => {
                "write a header name such as \"content-type\" or \"x-requested-with\""
            }
            HeaderList::Expose => "write a header name such as \"x-request-id\"",
        }
    }

    /// The code and reason refusing `h`, when the list can never use it.
    fn refusal(self, h: &str) -> Option<(&'static str, String)> {
        match self {
            HeaderList::Request if is_forbidden_request_header(h) => Some((
                "header-forbidden",
                format!("\"{h}\" is a forbidden request header: only the browser sets it, scripts cannot, so a preflight never asks for it"),
            )),
            HeaderList::Expose if is_forbidden_response_header(h) => Some((
                "expose-set-cookie",
                format!("\"{h}\" can never be exposed: browsers hide Set-Cookie from scripts whatever the server says"),
            )),
            _ => None,
        }
    }

    /// The code and reason of a warning when listing `h` changes nothing.
    /// A safelisted request header is never such a name: a
    /// `Content-Type: application/json` still needs a preflight.
    fn needless(self, h: &str) -> Option<(&'static str, String)> {
        match self {
            HeaderList::Expose if is_safelisted_response_header(h) => Some((
                "expose-safelisted",
                format!("\"{h}\" is always readable by scripts; listing it changes nothing"),
            )),
            _ => None,
        }
    }
}

fn validate_headers(
    kind: HeaderList,
    list: Option<&LocatedList>,
    credentials: bool,
    diags: &mut Vec<Diagnostic>,
) -> ListRule {
    let (any, items) = list_items(
        list,
        kind.key(),
        credentials,
        |h| h.to_ascii_lowercase(),
        diags,
        kind.every(),
    );
    let mut out = Vec::new();
    for (i, item) in items {
        let key = format!("{}[{i}]", kind.key());
        let h = item.value.as_str();
        let at = item.span.clone();
        if !is_token(h.as_bytes()) {
            diags.push(
                Diagnostic::error(
                    "header-invalid",
                    key,
                    format!("\"{h}\" is not a valid header name"),
                    kind.example(),
                )
                .at(at),
            );
        } else if let Some((code, reason)) = kind.refusal(h) {
            diags.push(Diagnostic::error(code, key, reason, format!("remove \"{h}\"")).at(at));
        } else {
            if let Some((code, reason)) = kind.needless(h) {
                diags
                    .push(Diagnostic::warning(code, key, reason, format!("remove \"{h}\"")).at(at));
            }
            out.push(h.to_ascii_lowercase());
        }
    }
    ListRule { any, items: out }
}

fn validate_max_age(value: Option<&Located<i64>>, diags: &mut Vec<Diagnostic>) -> Option<i64> {
    let v = value?;
    let at = v.span.clone();
    match v.value {
        n if !(-1..=MAX_AGE_LIMIT).contains(&n) => {
            diags.push(
                Diagnostic::error(
                    "max-age-out-of-range",
                    "max_age",
                    format!("max_age = {n} is outside -1..=86400"),
                    "use a number of seconds up to 86400, 0 to send no header (browsers then cache for 5 s), or -1 to disable preflight caching",
                )
                .at(at),
            );
            None
        }
        n if n > CHROMIUM_MAX_AGE_CAP => {
            diags.push(
                Diagnostic::warning(
                    "max-age-above-chromium-cap",
                    "max_age",
                    format!("max_age = {n} is above Chromium's cap of 7200 s; Chromium caches preflights for 7200 s at most (Firefox 86400 s, WebKit 600 s)"),
                    "use max_age = 7200 to say what Chromium will do",
                )
                .at(at),
            );
            Some(n)
        }
        0 => {
            diags.push(
                Diagnostic::warning(
                    "max-age-zero",
                    "max_age",
                    "max_age = 0 sends no Access-Control-Max-Age header, so browsers cache preflights for their default of 5 s",
                    "remove max_age to keep the default, or use -1 to disable preflight caching",
                )
                .at(at),
            );
            None
        }
        n => Some(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Vec<Diagnostic> {
        validate(&PolicyConfig::from_toml(src).unwrap()).0
    }

    fn codes(src: &str) -> Vec<&'static str> {
        check(src)
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect()
    }

    fn warnings(src: &str) -> Vec<&'static str> {
        check(src)
            .iter()
            .filter(|d| !d.is_error())
            .map(|d| d.code)
            .collect()
    }

    #[test]
    fn a_sound_policy_has_no_diagnostics() {
        let src = r#"
            origins = ["https://app.example.com", "https://*.example.org", "http://localhost:*"]
            methods = ["PUT", "PATCH", "DELETE"]
            request_headers = ["content-type", "authorization"]
            expose_headers = ["x-request-id"]
            credentials = true
            max_age = 600
        "#;
        assert!(check(src).is_empty(), "{:?}", check(src));
    }

    #[test]
    fn wildcard_with_credentials_is_refused_everywhere() {
        assert_eq!(
            codes("origins = [\"*\"]\ncredentials = true"),
            ["wildcard-with-credentials"]
        );
        assert_eq!(
            codes("origins = [\"https://a.example\"]\nmethods = [\"*\"]\nrequest_headers = [\"*\"]\nexpose_headers = [\"*\"]\ncredentials = true"),
            ["wildcard-with-credentials"; 3]
        );
        assert!(codes("origins = [\"*\"]\nmethods = [\"*\"]\nrequest_headers = [\"*\"]\nexpose_headers = [\"*\"]").is_empty());
    }

    #[test]
    fn null_and_file_need_the_opt_in() {
        assert_eq!(codes("origins = [\"null\"]"), ["null-origin"]);
        assert!(codes("origins = [\"null\"]\ndangerously_allow_null_origin = true").is_empty());
        assert_eq!(codes("origins = [\"file://\"]"), ["origin-file-scheme"]);
    }

    #[test]
    fn malformed_origins_are_refused() {
        assert_eq!(
            codes("origins = [\"https://a.example/\"]"),
            ["origin-trailing-slash"]
        );
        assert_eq!(
            codes("origins = [\"https://a.example/x\"]"),
            ["origin-has-path"]
        );
        assert_eq!(
            codes("origins = [\"https://a.example?q\"]"),
            ["origin-has-query"]
        );
        assert_eq!(
            codes("origins = [\"https://u@a.example\"]"),
            ["origin-has-userinfo"]
        );
        assert_eq!(
            codes("origins = [\"https://a.example:443\"]"),
            ["origin-default-port"]
        );
        assert_eq!(
            codes("origins = [\"https://A.example\"]"),
            ["origin-upper-case"]
        );
        assert_eq!(
            codes("origins = [\"https://ä.example\"]"),
            ["origin-non-ascii-host"]
        );
        let d = &check("origins = [\"https://ä.example\"]")[0];
        assert!(d.fix.contains("xn--4ca.example"), "{}", d.fix);
    }

    #[test]
    fn insecure_origins_with_credentials_need_the_opt_in() {
        assert_eq!(
            codes("origins = [\"http://a.example\"]\ncredentials = true"),
            ["insecure-origin-with-credentials"]
        );
        assert!(codes("origins = [\"http://a.example\"]\ncredentials = true\ndangerously_allow_insecure_origins = true").is_empty());
        assert!(codes("origins = [\"http://localhost:3000\"]\ncredentials = true").is_empty());
        assert_eq!(
            warnings("origins = [\"http://a.example\"]"),
            ["insecure-origin"]
        );
    }

    #[test]
    fn public_suffix_wildcards_with_credentials_need_the_opt_in() {
        assert_eq!(
            codes("origins = [\"https://*.github.io\"]\ncredentials = true"),
            ["public-suffix-wildcard"]
        );
        assert_eq!(
            codes("origins = [\"https://*.co.uk\"]\ncredentials = true"),
            ["public-suffix-wildcard"]
        );
        assert!(codes("origins = [\"https://*.github.io\"]\ncredentials = true\ndangerously_allow_public_suffix_wildcards = true").is_empty());
        assert_eq!(
            warnings("origins = [\"https://*.github.io\"]"),
            ["public-suffix-wildcard"]
        );
        assert!(codes("origins = [\"https://*.example.co.uk\"]\ncredentials = true").is_empty());
    }

    #[test]
    fn broad_patterns_are_always_refused() {
        assert_eq!(
            codes("origins = [\"https://*\"]"),
            ["origin-pattern-too-broad"]
        );
        assert_eq!(codes("origins = [\"*.com\"]"), ["origin-pattern-too-broad"]);
        assert_eq!(
            codes(
                "origins = [\"https://*.com\"]\ndangerously_allow_public_suffix_wildcards = true"
            ),
            ["origin-pattern-too-broad"]
        );
    }

    #[test]
    fn methods_are_checked() {
        assert_eq!(
            codes(
                "origins = [\"https://a.example\"]\nmethods = [\"TRACE\", \"connect\", \"TRACK\"]"
            ),
            ["method-forbidden"; 3]
        );
        assert_eq!(
            codes("origins = [\"https://a.example\"]\nmethods = [\"PU T\"]"),
            ["method-invalid"]
        );
        assert_eq!(
            codes("origins = [\"https://a.example\"]\nmethods = [\"delete\"]"),
            ["method-case"]
        );
        assert_eq!(
            codes("origins = [\"https://a.example\"]\nmethods = [\"PUT\", \"PUT\"]"),
            ["duplicate-method"]
        );
        assert!(
            codes("origins = [\"https://a.example\"]\nmethods = [\"PATCH\", \"patch\"]").is_empty()
        );
    }

    #[test]
    fn request_headers_are_checked() {
        for forbidden in [
            "cookie",
            "Host",
            "sec-fetch-mode",
            "proxy-authorization",
            "origin",
            "content-length",
        ] {
            let src =
                format!("origins = [\"https://a.example\"]\nrequest_headers = [\"{forbidden}\"]");
            assert_eq!(codes(&src), ["header-forbidden"], "{forbidden}");
        }
        assert_eq!(
            codes("origins = [\"https://a.example\"]\nrequest_headers = [\"x y\"]"),
            ["header-invalid"]
        );
        assert_eq!(
            codes("origins = [\"https://a.example\"]\nrequest_headers = [\"X-A\", \"x-a\"]"),
            ["duplicate-request-header"]
        );
    }

    #[test]
    fn expose_headers_are_checked() {
        assert_eq!(
            codes("origins = [\"https://a.example\"]\nexpose_headers = [\"Set-Cookie\"]"),
            ["expose-set-cookie"]
        );
        assert_eq!(
            warnings("origins = [\"https://a.example\"]\nexpose_headers = [\"content-type\"]"),
            ["expose-safelisted"]
        );
    }

    #[test]
    fn duplicates_and_empty_origins_are_refused() {
        assert_eq!(codes("origins = []"), ["origins-empty"]);
        assert_eq!(codes("credentials = true"), ["origins-missing"]);
        assert_eq!(
            codes("origins = [\"https://a.example\", \"https://a.example\"]"),
            ["duplicate-origin"]
        );
        assert_eq!(
            codes("origins = [\"*\", \"https://a.example\"]"),
            ["wildcard-with-other-origins"]
        );
    }

    #[test]
    fn max_age_is_bounded() {
        assert_eq!(
            codes("origins = [\"*\"]\nmax_age = 86401"),
            ["max-age-out-of-range"]
        );
        assert_eq!(
            codes("origins = [\"*\"]\nmax_age = -2"),
            ["max-age-out-of-range"]
        );
        assert!(codes("origins = [\"*\"]\nmax_age = -1").is_empty());
        assert_eq!(
            warnings("origins = [\"*\"]\nmax_age = 7201"),
            ["max-age-above-chromium-cap"]
        );
        assert_eq!(warnings("origins = [\"*\"]\nmax_age = 0"), ["max-age-zero"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let src = "origins = [\"*\", \"null\", \"https://a.example/\"]\nmethods = [\"TRACE\"]\ncredentials = true\nmax_age = 999999";
        let errors = codes(src);
        assert!(errors.len() >= 5, "{errors:?}");
    }

    #[test]
    fn unused_opt_ins_are_reported() {
        assert_eq!(
            warnings("origins = [\"https://a.example\"]\ndangerously_allow_null_origin = true"),
            ["unused-opt-in"]
        );
    }

    #[test]
    fn redundant_exact_origins_are_reported() {
        assert_eq!(
            warnings("origins = [\"https://a.example.com\", \"https://*.example.com\"]"),
            ["redundant-origin"]
        );
    }
}
