//! Audit output: text for people, JSON for tools, SARIF 2.1.0 for code
//! scanning.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::{json, Value};

use super::finding::{Severity, CLASSES};
use super::UrlReport;

fn style(severity: Severity) -> Style {
    let color = match severity {
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Blue,
        Severity::Info => AnsiColor::White,
    };
    Style::new()
        .bold()
        .fg_color(Some(anstyle::Color::Ansi(color)))
}

/// Text: each URL, its findings most severe first, with evidence and fix.
pub fn text(reports: &[UrlReport]) -> String {
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(out, "{bold}{}{bold:#}  ({} requests)", r.target, r.requests);
        for e in &r.errors {
            let _ = writeln!(
                out,
                "  {}error{:#}: {e}",
                style(Severity::High),
                style(Severity::High)
            );
        }
        if let Some(t) = r.trusted.as_ref().filter(|t| !t.allowed) {
            let _ = writeln!(
                out,
                "  {}blocked{:#} the trusted origin's own GET is blocked in {}:",
                style(Severity::Medium),
                style(Severity::Medium),
                t.browser
            );
            for line in t.console_message.iter().flat_map(|m| m.lines()) {
                let _ = writeln!(out, "         console: {line}");
            }
            if let Some(e) = &t.fetch_error {
                let _ = writeln!(out, "         fetch() rejects with {e}");
            }
        }
        if r.findings.is_empty() && r.errors.is_empty() {
            let _ = writeln!(out, "  no findings");
        }
        for f in &r.findings {
            let s = style(f.severity);
            let _ = writeln!(
                out,
                "  {s}{:<6}{s:#} {bold}{}{bold:#}  Origin: {}",
                f.severity.as_str().to_uppercase(),
                f.class.id(),
                f.origin
            );
            let _ = writeln!(out, "         {}", f.description);
            for e in f.evidence.iter().take(2) {
                let _ = writeln!(
                    out,
                    "         {dim}> {} {}{dim:#}",
                    e.request.method, e.request.url
                );
                for (n, v) in &e.request.headers {
                    let _ = writeln!(out, "         {dim}> {n}: {v}{dim:#}");
                }
                let _ = writeln!(out, "         {dim}< {}{dim:#}", e.response.status);
                for (n, v) in &e.response.headers {
                    let _ = writeln!(out, "         {dim}< {n}: {v}{dim:#}");
                }
            }
            let _ = writeln!(out, "         fix: {}", f.fix);
        }
        out.push('\n');
    }
    out
}

/// JSON: one `{"target", "findings": [...]}` object per URL.
pub fn json(reports: &[UrlReport]) -> Value {
    serde_json::to_value(reports).unwrap_or(Value::Null)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.1",
        Severity::Medium => "5.3",
        Severity::Low => "3.1",
        Severity::Info => "0.0",
    }
}

/// SARIF 2.1.0, as GitHub code scanning accepts it: one rule per class, one
/// result per finding, located at the URL.
pub fn sarif(reports: &[UrlReport]) -> Value {
    let rules: Vec<Value> = CLASSES
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "name": c.id(),
                "shortDescription": { "text": c.title() },
                "fullDescription": { "text": c.title() },
                "help": { "text": c.fix(), "markdown": c.fix() },
                "helpUri": "https://fetch.spec.whatwg.org/#http-cors-protocol",
                "properties": {
                    "tags": ["security", "cors"],
                    "precision": "very-high",
                    // GitHub ranks alerts by the rule's worst case.
                    "security-severity": security_severity(super::finding::severity(*c, "_", true)),
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for f in &r.findings {
            let rule_index = CLASSES.iter().position(|c| *c == f.class).unwrap_or(0);
            results.push(json!({
                "ruleId": f.class.id(),
                "ruleIndex": rule_index,
                "level": level(f.severity),
                "message": { "text": format!("{} Fix: {}", f.description, f.fix) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": r.target } },
                    "message": { "text": format!("Origin: {}", f.origin) },
                }],
                "partialFingerprints": { "corsicaFinding/v1": format!("{}|{}|{}", r.target, f.class.id(), f.origin) },
                "properties": { "security-severity": security_severity(f.severity), "severity": f.severity.as_str(), "origin": f.origin },
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "corsica",
                "informationUri": "https://example.invalid/corsica",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}
