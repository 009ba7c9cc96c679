//! Text rendering of a browser verdict: a trace a person can follow,
//! request → preflight → response → checks → verdict → fix.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use corsica::browser::{Skipped, Stage, Verdict};

use crate::cli::FixFor;
use crate::snippet;

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const GREEN: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
const RED: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const BLUE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Blue)));
const YELLOW: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));

fn label(stage: Stage) -> &'static str {
    match stage {
        Stage::Request => "request",
        Stage::Classify => "classify",
        Stage::Cache => "cache",
        Stage::Preflight => "preflight",
        Stage::PreflightResponse => "response",
        Stage::Actual => "send",
        Stage::Response => "response",
        Stage::Redirect => "redirect",
        Stage::Verdict => "verdict",
    }
}

/// Renders one verdict, with its fix also in `fix_for`'s language when
/// that is a proxy.
pub fn verdict_for(v: &Verdict, fix_for: FixFor) -> String {
    let mut out = verdict(v);
    if let Some(s) = snippet::for_policy(&v.fix.policy, fix_for) {
        out.push_str(&snippet::text(&s, "the policy above", None, true));
    }
    out
}

/// Renders one verdict. Styles are ANSI codes; the caller's stream strips
/// them when the output is not a terminal.
pub fn verdict(v: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BOLD}── {} ──{BOLD:#}", v.id);
    for event in &v.trace {
        let (mark, style) = match event.ok {
            Some(true) => ("✓", GREEN),
            Some(false) => ("✗", RED),
            None => (" ", BLUE),
        };
        let mut lines = event.text.lines();
        let first = lines.next().unwrap_or("");
        let _ = writeln!(
            out,
            "{style}{:>9}{style:#} {style}{mark}{style:#} {first}",
            label(event.stage)
        );
        for line in lines {
            let _ = writeln!(out, "{:>9}   {DIM}{line}{DIM:#}", "");
        }
    }
    if let Some(why) = v.skipped_actual {
        let (style, result, detail) = match why {
            Skipped::PreflightPassed => {
                (GREEN, "PREFLIGHT PASSED", "the request itself was not sent")
            }
            Skipped::CachedPreflight => {
                (GREEN, "PREFLIGHT CACHED", "the request itself was not sent")
            }
            Skipped::SameOrigin => (
                GREEN,
                "SAME-ORIGIN",
                "CORS does not apply; the request was not sent",
            ),
            Skipped::NoPreflight => (
                YELLOW,
                "NOT CHECKED",
                "no preflight, and the request itself was not sent",
            ),
        };
        let _ = writeln!(out, "{style}{:>9}   {result}{style:#} ({detail})", "result");
    } else if v.allowed {
        let _ = writeln!(out, "{GREEN}{:>9}   ALLOWED{GREEN:#}", "result");
    } else {
        let _ = writeln!(out, "{RED}{:>9}   BLOCKED{RED:#}", "result");
    }
    if let Some(error) = &v.cors_error {
        let _ = writeln!(
            out,
            "{:>9}   {BOLD}{}{BOLD:#} (failed parameter: {:?})",
            "error",
            error.name(),
            v.failed_parameter.as_deref().unwrap_or("")
        );
    }
    if let Some(message) = &v.console_message {
        // Firefox prints some failures as several lines.
        for line in message.lines() {
            let _ = writeln!(out, "{:>9}   {YELLOW}{line}{YELLOW:#}", "console");
        }
    }
    if let Some(js) = &v.js_error {
        let _ = writeln!(out, "{:>9}   {YELLOW}TypeError: {js}{YELLOW:#}", "console");
    }
    if let Some(rejection) = &v.fetch_error {
        let _ = writeln!(
            out,
            "{:>9}   fetch() rejects with {YELLOW}{rejection}{YELLOW:#}",
            "script"
        );
    }
    let fix = &v.fix;
    let _ = writeln!(out, "{BOLD}{:>9}{BOLD:#}   {}", "fix", fix.summary);
    if !v.allowed || !fix.summary.starts_with("Nothing to fix") {
        if !fix.preflight_headers.is_empty() && v.preflight {
            let _ = writeln!(
                out,
                "{:>9}   the preflight (OPTIONS) response must carry:",
                ""
            );
            for (n, val) in &fix.preflight_headers {
                let _ = writeln!(out, "{:>9}     {n}: {val}", "");
            }
        }
        if !fix.response_headers.is_empty() {
            let _ = writeln!(out, "{:>9}   the response must carry:", "");
        }
        for (n, val) in &fix.response_headers {
            let _ = writeln!(out, "{:>9}     {n}: {val}", "");
        }
    }
    let _ = writeln!(out, "{:>9}   corsica policy that does exactly this:", "");
    for line in fix.policy.lines() {
        let _ = writeln!(out, "{:>9}     {DIM}{line}{DIM:#}", "");
    }
    out
}
