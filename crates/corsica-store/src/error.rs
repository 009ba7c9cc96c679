//! [`StoreError`]: why a store could not be read or written.

use std::fmt;

/// A store could not be reached, read or written. The message names the
/// store and the operation, and never holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// An error for `what`, with its cause.
    pub(crate) fn new(what: &str, cause: impl fmt::Display) -> Self {
        StoreError(format!("{what}: {cause}"))
    }
}

/// `url` with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("redis://:s3cret@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(super::redact("redis://127.0.0.1/0"), "redis://127.0.0.1/0");
    }
}
