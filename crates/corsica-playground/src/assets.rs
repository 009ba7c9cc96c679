//! The page's files, embedded in the binary: no CDN, no build step.

/// An embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its text.
    pub body: &'static str,
}

const INDEX: &str = include_str!("../assets/index.html");
const APP: &str = include_str!("../assets/app.js");
const DIAGRAM: &str = include_str!("../assets/diagram.js");
const STYLE: &str = include_str!("../assets/style.css");

/// The file served at `path`, if any.
pub fn get(path: &str) -> Option<Asset> {
    let (content_type, body) = match path {
        "/" | "/index.html" => ("text/html; charset=utf-8", INDEX),
        "/app.js" => ("text/javascript; charset=utf-8", APP),
        "/diagram.js" => ("text/javascript; charset=utf-8", DIAGRAM),
        "/style.css" => ("text/css; charset=utf-8", STYLE),
        _ => return None,
    };
    Some(Asset { content_type, body })
}
