//! Turning responses into findings. Every response is judged with the
//! browser simulator's CORS check (the exact-match rule), never with a
//! second copy of it.

use std::collections::BTreeMap;

use corsica::browser::{cors_check, latin1, Credentials, ResponseHeaders};

use super::finding::{
    severity, Class, Evidence, EvidenceRequest, EvidenceResponse, Finding, Severity,
};
use super::probes::Probe;
use crate::net::RawResponse;

/// A request the audit sent and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The headers sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The response.
    pub response: RawResponse,
}

impl Exchange {
    fn headers(&self) -> ResponseHeaders {
        ResponseHeaders::new(self.response.headers.clone())
    }

    /// The evidence: the request, and the response's CORS-relevant headers.
    pub fn evidence(&self) -> Evidence {
        let relevant = |n: &str| {
            let n = n.to_ascii_lowercase();
            n.starts_with("access-control-") || n == "vary" || n == "cache-control"
        };
        Evidence {
            request: EvidenceRequest {
                method: self.method.clone(),
                url: self.url.clone(),
                headers: self
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), latin1(v)))
                    .collect(),
            },
            response: EvidenceResponse {
                status: self.response.status,
                headers: self
                    .response
                    .headers
                    .iter()
                    .filter(|(n, _)| relevant(n))
                    .map(|(n, v)| (n.clone(), latin1(v)))
                    .collect(),
            },
        }
    }
}

/// What one probe origin got back: the simple request and the preflight.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// The probe.
    pub probe: Probe,
    /// The simple `GET`.
    pub simple: Option<Exchange>,
    /// The `OPTIONS` preflight.
    pub preflight: Option<Exchange>,
}

/// Whether a browser at `origin` could read this response: without
/// credentials, and with them. A literal `*` is a public API, not a trust
/// decision about this origin.
fn readable(exchange: &Exchange, origin: &str, preflight: bool) -> Option<bool> {
    let headers = exchange.headers();
    if headers.get("access-control-allow-origin").as_deref() == Some(b"*") {
        return None;
    }
    if preflight && !(200..=299).contains(&exchange.response.status) {
        return None;
    }
    cors_check(&headers, origin, Credentials::Omit).ok()?;
    Some(cors_check(&headers, origin, Credentials::Include).is_ok())
}

/// All findings for one URL.
pub fn judge(
    baseline: Option<&Exchange>,
    trusted: Option<&Exchange>,
    trusted_origin: &str,
    results: &[ProbeResult],
) -> Vec<Finding> {
    let mut by_class: BTreeMap<Class, Finding> = BTreeMap::new();
    for result in results {
        let mut evidence = Vec::new();
        let mut credentialed = false;
        for (exchange, preflight) in [(&result.simple, false), (&result.preflight, true)] {
            let Some(exchange) = exchange else { continue };
            if let Some(with_credentials) = readable(exchange, &result.probe.origin, preflight) {
                credentialed |= with_credentials;
                evidence.push(exchange.evidence());
            }
        }
        if evidence.is_empty() {
            continue;
        }
        let class = result.probe.class;
        let sev = severity(class, &result.probe.origin, credentialed);
        let description = format!(
            "{}: a page on {} can read responses{}.",
            class.title(),
            result.probe.origin,
            if credentialed {
                " with the user's cookies (Access-Control-Allow-Credentials: true)"
            } else {
                " (without credentials)"
            }
        );
        let finding = Finding {
            class,
            severity: sev,
            origin: result.probe.origin.clone(),
            description,
            fix: class.fix().to_owned(),
            evidence,
        };
        match by_class.get(&class) {
            Some(existing) if existing.severity >= sev => {}
            _ => {
                by_class.insert(class, finding);
            }
        }
    }
    // Reflecting any origin explains every other origin class: report the cause.
    if by_class.contains_key(&Class::OriginReflection) {
        by_class.retain(|class, _| matches!(class, Class::OriginReflection));
    }
    let all: Vec<&Exchange> = baseline
        .into_iter()
        .chain(trusted)
        .chain(
            results
                .iter()
                .flat_map(|r| r.simple.iter().chain(r.preflight.iter())),
        )
        .collect();
    if let Some(e) = all.iter().find(|e| {
        let h = e.headers();
        h.get("access-control-allow-origin").as_deref() == Some(b"*")
            && h.get("access-control-allow-credentials").as_deref() == Some(b"true")
    }) {
        let origin = e
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("origin"))
            .map(|(_, v)| latin1(v))
            .unwrap_or_default();
        by_class.insert(
            Class::WildcardCredentials,
            Finding {
                class: Class::WildcardCredentials,
                severity: severity(Class::WildcardCredentials, &origin, false),
                origin,
                description: Class::WildcardCredentials.title().to_owned() + ": browsers refuse this combination, and it often signals a library that reflects origins in another configuration.",
                fix: Class::WildcardCredentials.fix().to_owned(),
                evidence: vec![e.evidence()],
            },
        );
    }
    if let Some(f) = missing_vary(baseline, trusted, trusted_origin, results) {
        by_class.insert(Class::MissingVary, f);
    }
    let mut findings: Vec<Finding> = by_class.into_values().collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.class.cmp(&b.class)));
    findings
}

fn varies_on_origin(headers: &ResponseHeaders) -> bool {
    headers.get("vary").is_some_and(|v| {
        latin1(&v)
            .split(',')
            .any(|t| matches!(t.trim().to_ascii_lowercase().as_str(), "origin" | "*"))
    })
}

/// `Vary: Origin` is missing when the allowed origin depends on the
/// request's `Origin`: the trusted origin is echoed, but a request without
/// an `Origin` (or from elsewhere) gets a different answer.
fn missing_vary(
    baseline: Option<&Exchange>,
    trusted: Option<&Exchange>,
    trusted_origin: &str,
    results: &[ProbeResult],
) -> Option<Finding> {
    let trusted = trusted?;
    let th = trusted.headers();
    let echoed =
        th.get("access-control-allow-origin").as_deref() == Some(trusted_origin.as_bytes());
    if !echoed || varies_on_origin(&th) {
        return None;
    }
    let acao = |e: &Exchange| e.headers().get("access-control-allow-origin");
    let differs = baseline.is_some_and(|b| acao(b) != acao(trusted))
        || results
            .iter()
            .filter_map(|r| r.simple.as_ref())
            .any(|e| acao(e) != acao(trusted));
    if !differs {
        return None;
    }
    let cacheable = th.get("cache-control").is_some_and(|c| {
        let c = latin1(&c).to_ascii_lowercase();
        c.contains("public") || c.contains("s-maxage")
    });
    let mut evidence = vec![trusted.evidence()];
    if let Some(b) = baseline {
        evidence.push(b.evidence());
    }
    Some(Finding {
        class: Class::MissingVary,
        severity: if cacheable { Severity::Medium } else { severity(Class::MissingVary, trusted_origin, false) },
        origin: trusted_origin.to_owned(),
        description: format!(
            "{}: the response for {trusted_origin} carries its origin in Access-Control-Allow-Origin, other requests get a different value, and Vary lacks Origin{}.",
            Class::MissingVary.title(),
            if cacheable { " while Cache-Control lets shared caches store it" } else { "" }
        ),
        fix: Class::MissingVary.fix().to_owned(),
        evidence,
    })
}
