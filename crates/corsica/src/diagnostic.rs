//! Configuration diagnostics: every problem with a reason, a fix and, when
//! the policy came from a file, the span it points at.

use std::fmt;
use std::ops::Range;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy works, but probably not as intended.
    Warning,
    /// The policy is refused.
    Error,
}

/// One problem found in a policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Whether the problem refuses the policy.
    pub severity: Severity,
    /// A stable kebab-case identifier, e.g. `wildcard-with-credentials`.
    pub code: &'static str,
    /// The configuration key it concerns, e.g. `origins[2]` or `policy.max_age`.
    pub key: String,
    /// Why it is a problem.
    pub reason: String,
    /// What to write instead.
    pub fix: String,
    /// Byte range in the source text, when the policy came from text.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl Diagnostic {
    /// The diagnostic as `corsica lint --format json` prints it (and the
    /// playground shows it inline): its fields, with the span as 1-based
    /// lines and columns of `source`.
    pub fn to_json(&self, source: &str) -> serde_json::Value {
        let (start, end) = match &self.span {
            Some(span) => (
                Some(line_col(source, span.start)),
                Some(line_col(source, span.end)),
            ),
            None => (None, None),
        };
        serde_json::json!({
            "severity": match self.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "code": self.code,
            "key": self.key,
            "reason": self.reason,
            "fix": self.fix,
            "line": start.map(|p| p.line),
            "column": start.map(|p| p.col),
            "end_line": end.map(|p| p.line),
            "end_column": end.map(|p| p.col),
        })
    }

    /// A new error.
    pub fn error(
        code: &'static str,
        key: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Error, code, key, reason, fix)
    }

    /// A new warning.
    pub fn warning(
        code: &'static str,
        key: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, code, key, reason, fix)
    }

    fn new(
        severity: Severity,
        code: &'static str,
        key: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            key: key.into(),
            reason: reason.into(),
            fix: fix.into(),
            span: None,
        }
    }

    /// Attaches a source span.
    pub fn at(mut self, span: Option<Range<usize>>) -> Self {
        self.span = span;
        self
    }

    /// Whether this diagnostic refuses the policy.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Prefixes the key with the table it sits in (`policy.`, `routes[1].policy.`).
    pub fn within(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.key = if self.key.is_empty() {
                prefix.trim_end_matches('.').to_owned()
            } else {
                format!("{prefix}{}", self.key)
            };
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{level}[{}]: {}: {} (fix: {})",
            self.code, self.key, self.reason, self.fix
        )
    }
}

/// A 1-based line and column (in characters) in a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LineCol {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
}

/// Converts a byte offset into a 1-based line and column.
pub fn line_col(source: &str, offset: usize) -> LineCol {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    LineCol {
        line,
        col: before[line_start..].chars().count() + 1,
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Terminal styles for [`render`]: ANSI escape codes, or empty strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Starts the "error" label.
    pub error: &'static str,
    /// Starts the "warning" label.
    pub warning: &'static str,
    /// Starts locations, gutters and carets.
    pub accent: &'static str,
    /// Ends any style.
    pub reset: &'static str,
}

impl Palette {
    /// No styling.
    pub const PLAIN: Palette = Palette {
        error: "",
        warning: "",
        accent: "",
        reset: "",
    };
    /// Bold red errors, bold yellow warnings, blue locations.
    pub const ANSI: Palette = Palette {
        error: "\x1b[1;31m",
        warning: "\x1b[1;33m",
        accent: "\x1b[1;34m",
        reset: "\x1b[0m",
    };
}

/// Renders diagnostics against their source like a compiler does:
///
/// ```text
/// error[origin-trailing-slash]: "https://a.example/" ends with a slash…
///   --> corsica.toml:2:12
///    |
///  2 | origins = ["https://a.example/"]
///    |            ^^^^^^^^^^^^^^^^^^^^
///    = key: origins[0]
///    = fix: write "https://a.example"
/// ```
pub fn render(
    diagnostics: &[Diagnostic],
    file: &str,
    source: Option<&str>,
    palette: &Palette,
) -> String {
    let mut out = String::new();
    for d in diagnostics {
        render_one(&mut out, d, file, source, palette);
    }
    out
}

fn render_one(out: &mut String, d: &Diagnostic, file: &str, source: Option<&str>, p: &Palette) {
    use fmt::Write;
    let (level, color) = match d.severity {
        Severity::Error => ("error", p.error),
        Severity::Warning => ("warning", p.warning),
    };
    let (accent, reset) = (p.accent, p.reset);
    let _ = writeln!(out, "{color}{level}[{}]{reset}: {}", d.code, d.reason);
    match (source, &d.span) {
        (Some(src), Some(span)) => {
            let start = line_col(src, span.start);
            let _ = writeln!(
                out,
                "  {accent}-->{reset} {file}:{}:{}",
                start.line, start.col
            );
            let text = src.lines().nth(start.line - 1).unwrap_or("");
            let gutter = start.line.to_string().len();
            let end = line_col(src, span.end);
            let width = if end.line == start.line {
                (end.col - start.col).max(1)
            } else {
                text.chars().count().saturating_sub(start.col - 1).max(1)
            };
            let pad = " ".repeat(gutter);
            let _ = writeln!(out, "{pad} {accent}|{reset}");
            let _ = writeln!(out, "{accent}{}{reset} {accent}|{reset} {text}", start.line);
            let _ = writeln!(
                out,
                "{pad} {accent}|{reset} {}{color}{}{reset}",
                " ".repeat(start.col - 1),
                "^".repeat(width)
            );
            if !d.key.is_empty() {
                let _ = writeln!(out, "{pad} {accent}={reset} key: {}", d.key);
            }
            let _ = writeln!(out, "{pad} {accent}={reset} fix: {}", d.fix);
        }
        _ => {
            let _ = writeln!(
                out,
                "  {accent}-->{reset} {file}{}",
                if d.key.is_empty() {
                    String::new()
                } else {
                    format!(": {}", d.key)
                }
            );
            let _ = writeln!(out, "   {accent}={reset} fix: {}", d.fix);
        }
    }
    out.push('\n');
}

/// A policy that could not be built: every diagnostic found, errors and
/// warnings alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// All diagnostics, in source order where spans are known.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// The diagnostics that refuse the policy.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Renders every diagnostic against the source text it came from.
    pub fn render(&self, file: &str, source: Option<&str>) -> String {
        render(&self.diagnostics, file, source, &Palette::PLAIN)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors().count();
        write!(
            f,
            "invalid CORS policy ({n} error{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let src = "a = 1\nb = \"é\" x";
        assert_eq!(line_col(src, 0), LineCol { line: 1, col: 1 });
        assert_eq!(line_col(src, 6), LineCol { line: 2, col: 1 });
        let x = src.find('x').unwrap();
        assert_eq!(line_col(src, x), LineCol { line: 2, col: 9 });
    }

    #[test]
    fn render_points_at_the_span() {
        let src = "origins = [\"https://a.example/\"]\n";
        let start = src.find('"').unwrap();
        let d = Diagnostic::error(
            "origin-trailing-slash",
            "origins[0]",
            "ends with a slash",
            "write \"https://a.example\"",
        )
        .at(Some(start..start + 20));
        let text = render(&[d], "corsica.toml", Some(src), &Palette::PLAIN);
        assert!(text.contains("--> corsica.toml:1:12"), "{text}");
        assert!(text.contains("^^^^^^^^^^^^^^^^^^^^"), "{text}");
        assert!(text.contains("fix: write \"https://a.example\""), "{text}");
    }
}
