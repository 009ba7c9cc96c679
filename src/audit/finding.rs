//! Findings: the class vocabulary, severities and the fix for each class.

use serde::Serialize;

/// The kinds of CORS misconfiguration the audit reports. The names are a
/// public contract (JSON, SARIF rule ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    OriginReflection,
    NullOrigin,
    PrefixMatch,
    SuffixMatch,
    SubstringMatch,
    UnescapedDot,
    InsecureOrigin,
    AnySubdomain,
    SpecialCharacters,
    WildcardCredentials,
    MissingVary,
    ThirdPartyOrigin,
}

/// Every class, for SARIF rules and docs.
pub const CLASSES: [Class; 12] = [
    Class::OriginReflection,
    Class::NullOrigin,
    Class::PrefixMatch,
    Class::SuffixMatch,
    Class::SubstringMatch,
    Class::UnescapedDot,
    Class::InsecureOrigin,
    Class::AnySubdomain,
    Class::SpecialCharacters,
    Class::WildcardCredentials,
    Class::MissingVary,
    Class::ThirdPartyOrigin,
];

impl Class {
    /// The kebab-case id.
    pub fn id(&self) -> &'static str {
        match self {
            Class::OriginReflection => "origin-reflection",
            Class::NullOrigin => "null-origin",
            Class::PrefixMatch => "prefix-match",
            Class::SuffixMatch => "suffix-match",
            Class::SubstringMatch => "substring-match",
            Class::UnescapedDot => "unescaped-dot",
            Class::InsecureOrigin => "insecure-origin",
            Class::AnySubdomain => "any-subdomain",
            Class::SpecialCharacters => "special-characters",
            Class::WildcardCredentials => "wildcard-credentials",
            Class::MissingVary => "missing-vary",
            Class::ThirdPartyOrigin => "third-party-origin",
        }
    }

    /// One line: what the server does wrong.
    pub fn title(&self) -> &'static str {
        match self {
            Class::OriginReflection => "The server reflects any Origin into Access-Control-Allow-Origin",
            Class::NullOrigin => "The server trusts the `null` origin, which any sandboxed iframe can send",
            Class::PrefixMatch => "The server trusts origins that merely start with the trusted origin",
            Class::SuffixMatch => "The server trusts origins that merely end with the trusted domain (no dot boundary)",
            Class::SubstringMatch => "The server trusts origins that are a substring of the trusted one",
            Class::UnescapedDot => "The server's origin pattern has an unescaped dot, which matches any character",
            Class::InsecureOrigin => "An https API trusts the plain-http version of the origin",
            Class::AnySubdomain => "The server trusts every subdomain",
            Class::SpecialCharacters => "The server's origin parser is confused by special characters in the host",
            Class::WildcardCredentials => "The server sends `Access-Control-Allow-Origin: *` together with credentials",
            Class::MissingVary => "Access-Control-Allow-Origin depends on the Origin, but Vary does not say so",
            Class::ThirdPartyOrigin => "The server trusts a code-hosting site where anyone can publish script",
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            Class::OriginReflection => "Never copy the Origin header into the response. Compare it with an exact allowlist; with corsica: origins = [\"https://app.example.com\"].",
            Class::NullOrigin => "Remove `null` from the allowlist: sandboxed iframes, data: URLs and file: pages all send it.",
            Class::PrefixMatch | Class::SuffixMatch | Class::SubstringMatch | Class::UnescapedDot | Class::SpecialCharacters => {
                "Compare the whole origin byte for byte against a list, or match subdomains only at a dot boundary (corsica: origins = [\"https://*.example.com\"]). Never use startsWith/endsWith/contains or hand-written regexes."
            }
            Class::InsecureOrigin => "Trust only https origins: anyone on the network path can inject script into an http page and use its origin.",
            Class::AnySubdomain => "List the subdomains that need access. Trusting all of them means a takeover of, or an XSS on, any subdomain reads your API.",
            Class::WildcardCredentials => "Browsers refuse `*` with credentials, and libraries that emit it often fall back to reflecting the origin. Send `*` only without credentials (public data), or exact origins with credentials.",
            Class::MissingVary => "Send `Vary: Origin` on every response whose Access-Control-Allow-Origin depends on the request's Origin, including responses to requests without one; otherwise caches serve one origin's answer to another.",
            Class::ThirdPartyOrigin => "Remove shared hosting origins (github.io, codepen.io, …) from the allowlist; list your own origins instead.",
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not exploitable by itself.
    Info,
    /// A weakness with limited impact (public data, or needs more).
    Low,
    /// Exploitable with a precondition (a network attacker, a cache).
    Medium,
    /// An attacker's page can read users' data with their cookies.
    High,
}

impl Severity {
    /// Lower case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// A request sent and the response seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// What was sent.
    pub request: EvidenceRequest,
    /// What came back.
    pub response: EvidenceResponse,
}

/// The request part of the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// The response part of the evidence (CORS-relevant headers only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

/// One finding on one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The class (a stable id).
    pub class: Class,
    /// How bad it is.
    pub severity: Severity,
    /// The `Origin` sent.
    pub origin: String,
    /// What was found, in a sentence.
    pub description: String,
    /// What to do.
    pub fix: String,
    /// The requests and responses that prove it.
    pub evidence: Vec<Evidence>,
}

/// The severity of a hit. `credentialed` means the browser would let the
/// attacker's page read the response with the user's cookies (the exact
/// origin plus `Access-Control-Allow-Credentials: true`).
pub fn severity(class: Class, origin: &str, credentialed: bool) -> Severity {
    match class {
        // Origins any outsider can obtain: a registrable name, a sandbox, a
        // shared host.
        Class::OriginReflection
        | Class::NullOrigin
        | Class::PrefixMatch
        | Class::SuffixMatch
        | Class::SubstringMatch
        | Class::UnescapedDot
        | Class::ThirdPartyOrigin => {
            if credentialed {
                Severity::High
            } else {
                Severity::Low
            }
        }
        // `_` is sent by Chromium and Firefox; other characters only by
        // some engines, so exploitation depends on the victim's browser.
        Class::SpecialCharacters => match (credentialed, origin.contains('_')) {
            (true, true) => Severity::High,
            (true, false) => Severity::Medium,
            (false, _) => Severity::Low,
        },
        // Needs a network attacker (MITM on http).
        Class::InsecureOrigin => {
            if credentialed {
                Severity::Medium
            } else {
                Severity::Low
            }
        }
        // Needs a compromised subdomain; often a deliberate choice.
        Class::AnySubdomain => {
            if credentialed {
                Severity::Low
            } else {
                Severity::Info
            }
        }
        Class::WildcardCredentials => Severity::Low,
        Class::MissingVary => Severity::Low,
    }
}
