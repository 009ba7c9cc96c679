//! What every fuzz target of a configuration loader asserts of a refusal.

use corsica::ConfigError;

/// A refused `text` has at least one error, every span lies inside the
/// text, and the rendered report is not empty.
pub fn assert_refusal_well_formed(refusal: &ConfigError, text: &str) {
    assert!(refusal.errors().count() > 0, "refused without an error");
    for d in &refusal.diagnostics {
        if let Some(span) = &d.span {
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "{span:?} outside {} bytes",
                text.len()
            );
        }
    }
    assert!(!refusal.render("fuzz.toml", Some(text)).is_empty());
}
