//! What `fetch()` rejects with, as the page's script sees it (`String(e)`),
//! per engine: every CORS failure and network error looks the same to the
//! script, and only the wording differs between engines; the `TypeError`s
//! thrown before anything is sent each have their own text per engine.

use super::profile::Profile;

/// The rejection for a CORS failure or a network error.
pub(super) fn network(profile: Profile) -> &'static str {
    match profile {
        Profile::Chromium => "TypeError: Failed to fetch",
        Profile::Firefox => "TypeError: NetworkError when attempting to fetch resource.",
        Profile::WebKit => "TypeError: Load failed",
    }
}

/// Why `fetch()` threw before sending anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thrown {
    /// The URL does not parse.
    UrlInvalid(String),
    /// The URL has a username or password.
    UrlCredentials(String),
    /// A header name or value holds a character above U+00FF: the
    /// character's index in that string (UTF-16 units) and its code unit.
    NotByteString {
        /// Where the character is.
        index: usize,
        /// Its UTF-16 code unit.
        unit: u16,
    },
    /// The method is not a token.
    InvalidMethod(String),
    /// The method is `CONNECT`, `TRACE` or `TRACK`.
    ForbiddenMethod(String),
    /// A header name is not a token.
    InvalidName(String),
    /// A header value holds NUL, CR or LF (after trimming): the name as
    /// written, and the value.
    InvalidValue(String, Vec<u8>),
}

const CHROMIUM: &str = "Failed to execute 'fetch' on 'Window': ";
const FIREFOX: &str = "Window.fetch: ";

impl Thrown {
    /// The error's message (what follows `TypeError: `) in `profile`.
    pub fn message(&self, profile: Profile) -> String {
        match profile {
            Profile::Chromium => self.chromium(),
            Profile::Firefox => self.firefox(),
            Profile::WebKit => self.webkit(),
        }
    }

    fn chromium(&self) -> String {
        let detail = match self {
            Thrown::UrlInvalid(url) => format!("Failed to parse URL from {url}"),
            Thrown::UrlCredentials(url) => format!(
                "Request cannot be constructed from a URL that includes credentials: {url}"
            ),
            Thrown::NotByteString { .. } => "Failed to read the 'headers' property from 'RequestInit': String contains non ISO-8859-1 code point.".to_owned(),
            Thrown::InvalidMethod(m) => format!("'{m}' is not a valid HTTP method."),
            Thrown::ForbiddenMethod(m) => format!("'{m}' HTTP method is unsupported."),
            Thrown::InvalidName(_) => "Invalid name".to_owned(),
            Thrown::InvalidValue(..) => "Invalid value".to_owned(),
        };
        format!("{CHROMIUM}{detail}")
    }

    fn firefox(&self) -> String {
        let detail = match self {
            Thrown::UrlInvalid(url) => format!("{url} is not a valid URL."),
            Thrown::UrlCredentials(url) => format!("{url} is an url with embedded credentials."),
            Thrown::NotByteString { index, unit } => format!(
                "Cannot convert element of element of sequence<sequence<ByteString>> branch of (sequence<sequence<ByteString>> or record<ByteString, ByteString>) to ByteString because the character at index {index} has value {unit} which is greater than 255."
            ),
            Thrown::InvalidMethod(m) | Thrown::ForbiddenMethod(m) => {
                format!("Invalid request method {m}.")
            }
            // Gecko lower-cases the name first, and prints the value as a
            // C string: up to its first NUL.
            Thrown::InvalidName(n) => format!("{} is an invalid header name.", n.to_lowercase()),
            Thrown::InvalidValue(_, v) => {
                let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                format!("{} is an invalid header value.", super::headers::latin1(&v[..end]))
            }
        };
        format!("{FIREFOX}{detail}")
    }

    fn webkit(&self) -> String {
        match self {
            Thrown::UrlInvalid(url) => format!("{url} cannot be parsed as a URL."),
            Thrown::UrlCredentials(_) => {
                "URL is not valid or contains user credentials.".to_owned()
            }
            Thrown::NotByteString { .. } => "Type error".to_owned(),
            Thrown::InvalidMethod(_) => "Method is not a valid HTTP token.".to_owned(),
            Thrown::ForbiddenMethod(_) => "Method is forbidden.".to_owned(),
            Thrown::InvalidName(n) => format!("Invalid header name: '{n}'"),
            Thrown::InvalidValue(n, v) => {
                format!(
                    "Header '{n}' has invalid value: '{}'",
                    super::headers::latin1(v)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_words_the_same_error_its_own_way() {
        let method = Thrown::ForbiddenMethod("TRACE".into());
        assert_eq!(
            method.message(Profile::Chromium),
            "Failed to execute 'fetch' on 'Window': 'TRACE' HTTP method is unsupported."
        );
        assert_eq!(
            method.message(Profile::Firefox),
            "Window.fetch: Invalid request method TRACE."
        );
        assert_eq!(method.message(Profile::WebKit), "Method is forbidden.");
        let value = Thrown::InvalidValue("X-A".into(), b"nul\0byte".to_vec());
        assert_eq!(
            value.message(Profile::Firefox),
            "Window.fetch: nul is an invalid header value."
        );
        assert_eq!(
            value.message(Profile::WebKit),
            "Header 'X-A' has invalid value: 'nul\0byte'"
        );
        assert_eq!(
            Thrown::InvalidName("Bad name".into()).message(Profile::Firefox),
            "Window.fetch: bad name is an invalid header name."
        );
    }
}
