//! Response headers as a browser reads them: names are case-insensitive,
//! values are bytes with surrounding whitespace trimmed, and repeated
//! headers are read as one value joined by `", "`.

/// A response's header list, in order, names as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    list: Vec<(String, Vec<u8>)>,
}

impl ResponseHeaders {
    /// Builds a list from name/value pairs.
    pub fn new(list: Vec<(String, Vec<u8>)>) -> Self {
        ResponseHeaders { list }
    }

    /// Builds a list from text values (scenario files).
    pub fn from_text(list: &[(String, String)]) -> Self {
        ResponseHeaders {
            list: list
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    /// Every value of `name`, trimmed, joined by `", "` (Fetch "get").
    /// `None` when the header is absent.
    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for (n, v) in &self.list {
            if n.eq_ignore_ascii_case(name) {
                let v = trim(v);
                match &mut out {
                    None => out = Some(v.to_vec()),
                    Some(joined) => {
                        joined.extend_from_slice(b", ");
                        joined.extend_from_slice(v);
                    }
                }
            }
        }
        out
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.list.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The distinct names, lower case, in order of first appearance.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (n, _) in &self.list {
            let lower = n.to_ascii_lowercase();
            if !out.contains(&lower) {
                out.push(lower);
            }
        }
        out
    }

    /// The raw list.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.list.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }
}

/// Trims HTTP whitespace (SP, HT) from both ends, as header parsing does.
pub fn trim(value: &[u8]) -> &[u8] {
    crate::token::trim_ows(value)
}

/// Decodes header bytes as a browser exposes them to scripts: Latin-1.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_headers_join_with_comma_space() {
        let h = ResponseHeaders::new(vec![
            ("Access-Control-Allow-Origin".into(), b" * ".to_vec()),
            ("access-control-allow-origin".into(), b"*".to_vec()),
        ]);
        assert_eq!(h.get("ACCESS-CONTROL-ALLOW-ORIGIN").unwrap(), b"*, *");
        assert_eq!(h.get("x"), None);
        assert_eq!(h.names(), ["access-control-allow-origin"]);
    }
}
