//! HTTP/1.1 message heads toward the upstream: the request head written
//! from a request hyper has already parsed and the gateway has rewritten,
//! and the response head read back with `httparse`, with its body framing
//! worked out by RFC 9112 §6.3.

use std::fmt;
use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};

/// The most header fields a response head may carry (hyper's default).
const MAX_HEADERS: usize = 100;

/// The largest response head accepted (hyper's client default buffer).
pub(crate) const MAX_HEAD_BYTES: usize = 8192 + 4096 * MAX_HEADERS;

/// Appends `method target HTTP/1.1`, the fields and the blank line to
/// `out`. `fields` is handed the function that writes one field, and calls
/// it for each (the gateway rewrites some fields as it writes them; see
/// `crate::headers::ForwardedFields`).
///
/// Every part comes from `http` types that already refuse CR, LF and NUL,
/// so nothing a client sent can split the head.
pub(crate) fn write_request_head(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    fields: impl FnOnce(&mut dyn FnMut(&HeaderName, &HeaderValue)),
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    fields(&mut |name, value| {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
    out.extend_from_slice(b"\r\n");
}

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body: a response to HEAD, or a 204 or 304.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the upstream closes the connection.
    UntilClose,
}

/// A parsed final response head.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    /// The status code.
    pub(crate) status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub(crate) version: Version,
    /// The header fields, hop-by-hop ones included (the proxy strips them).
    pub(crate) headers: HeaderMap,
    /// How the body is delimited.
    pub(crate) framing: Framing,
    /// Whether the connection may carry another request after this
    /// response's body.
    pub(crate) keep_alive: bool,
}

/// Why a response head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// Not HTTP/1.x, or not a valid head.
    Malformed(&'static str),
    /// Larger than [`MAX_HEAD_BYTES`] or with more than 100 fields.
    TooLarge,
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::Malformed(why) => write!(f, "malformed response head: {why}"),
            HeadError::TooLarge => write!(
                f,
                "response head larger than {MAX_HEAD_BYTES} bytes or {MAX_HEADERS} fields"
            ),
        }
    }
}

impl std::error::Error for HeadError {}

/// Where one header field's name and value sit in the head's bytes.
type FieldSpan = (usize, usize, usize, usize);

/// What parsing response heads keeps from one head to the next, per
/// connection: scratch space for the fields' places, and the last head's
/// field names.
#[derive(Debug, Default)]
pub(crate) struct HeadScratch {
    spans: Vec<FieldSpan>,
    names: FieldNames,
}

/// The field names of the last response head, as the upstream wrote them
/// and as parsed. An upstream answers with the same names in the same
/// order, and comparing a name's bytes with last time's costs a fraction
/// of parsing it again (a name `http` does not know is an allocation, too).
#[derive(Debug, Default)]
struct FieldNames {
    /// The names' bytes as written, one after the other.
    raw: Vec<u8>,
    /// Where each name's bytes end in `raw`, and the name they parse to.
    parsed: Vec<(usize, HeaderName)>,
}

impl FieldNames {
    /// The name of field `index` of a head, written as `raw`. Called for
    /// a head's fields in order, from 0: the names before `index` are this
    /// head's, and a name that differs from last time's replaces it and
    /// all after it.
    fn name(&mut self, index: usize, raw: &[u8]) -> Result<HeaderName, HeadError> {
        let start = match index {
            0 => 0,
            _ => self.parsed[index - 1].0,
        };
        if let Some((end, name)) = self.parsed.get(index) {
            if self.raw[start..*end] == *raw {
                return Ok(name.clone());
            }
        }
        let name =
            HeaderName::from_bytes(raw).map_err(|_| HeadError::Malformed("invalid header name"))?;
        self.parsed.truncate(index);
        self.raw.truncate(start);
        self.raw.extend_from_slice(raw);
        self.parsed.push((self.raw.len(), name.clone()));
        Ok(name)
    }
}

/// Parses the final response head at the start of `buf`, consuming it and
/// any interim (1xx) heads before it. `Ok(None)`: the head is not complete
/// yet; read more into `buf` and call again. `scratch` is kept by the
/// connection. The response's header map is `storage`, taken
/// and refilled: the caller passes the request's map, which has served its
/// purpose once the answer is complete, so that no map is allocated.
pub(crate) fn parse_response_head(
    buf: &mut BytesMut,
    request_method: &Method,
    scratch: &mut HeadScratch,
    storage: &mut HeaderMap,
) -> Result<Option<ResponseHead>, HeadError> {
    loop {
        let Some((len, code, minor)) = locate_head(buf, &mut scratch.spans)? else {
            return Ok(None);
        };
        let bytes = buf.split_to(len).freeze();
        let status = StatusCode::from_u16(code)
            .map_err(|_| HeadError::Malformed("the status code is out of range"))?;
        if status.is_informational() {
            if status == StatusCode::SWITCHING_PROTOCOLS {
                // Only a handshake asks for an upgrade, and handshakes are
                // never sent on these connections.
                return Err(HeadError::Malformed(
                    "101 to a request that asked for no upgrade",
                ));
            }
            // 100 Continue, 103 Early Hints: the final answer follows.
            continue;
        }
        let (headers, present) = header_map(&bytes, scratch, std::mem::take(storage))?;
        let version = if minor == 1 {
            Version::HTTP_11
        } else {
            Version::HTTP_10
        };
        return Ok(Some(finish(
            status,
            version,
            headers,
            present,
            request_method,
        )?));
    }
}

/// Finds a complete head in `buf`: its length, status code and minor
/// version, with the spans of its fields recorded in `spans`.
fn locate_head(
    buf: &BytesMut,
    spans: &mut Vec<FieldSpan>,
) -> Result<Option<(usize, u16, u8)>, HeadError> {
    // Left uninitialised: httparse writes the fields it finds, and filling
    // 100 empty ones first cost more than parsing a small head.
    let mut fields = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut fields,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(HeadError::TooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(error) => return Err(HeadError::Malformed(parse_error(error))),
    };
    if len > MAX_HEAD_BYTES {
        return Err(HeadError::TooLarge);
    }
    let (Some(code), Some(minor)) = (response.code, response.version) else {
        return Err(HeadError::Malformed("no status line"));
    };
    let base = buf.as_ptr() as usize;
    spans.clear();
    for field in response.headers.iter() {
        // httparse hands out slices of `buf`: their offsets locate them.
        let name = field.name.as_ptr() as usize - base;
        let value = field.value.as_ptr() as usize - base;
        spans.push((name, field.name.len(), value, field.value.len()));
    }
    Ok(Some((len, code, minor)))
}

/// What httparse's error means, in words for the log.
fn parse_error(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine | httparse::Error::Token => "invalid line ending or token",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Version => "not an HTTP/1.x response",
        httparse::Error::TooManyHeaders => "too many header fields",
    }
}

/// Room for the headers the gateway adds to a response on its way to the
/// client (the CORS headers, `Vary`): without it, a map sized to the
/// upstream's headers alone is reallocated and rehashed on every response.
const ADDED_HEADERS: usize = 6;

/// Which of the fields that decide the framing a head carries, noted while
/// its map is built: most responses have no `Transfer-Encoding` or
/// `Connection`, and looking each up again costs more than the note.
#[derive(Debug, Clone, Copy, Default)]
struct FramingFields {
    transfer_encoding: bool,
    content_length: bool,
    connection: bool,
}

/// Fills `headers` (cleared first, its capacity kept) with the head's
/// fields, sharing the head's bytes instead of copying each value.
fn header_map(
    bytes: &Bytes,
    scratch: &mut HeadScratch,
    mut headers: HeaderMap,
) -> Result<(HeaderMap, FramingFields), HeadError> {
    headers.clear();
    headers.reserve(scratch.spans.len() + ADDED_HEADERS);
    let mut present = FramingFields::default();
    for (index, &(name_at, name_len, value_at, value_len)) in scratch.spans.iter().enumerate() {
        let name = scratch
            .names
            .name(index, &bytes[name_at..name_at + name_len])?;
        let value = HeaderValue::from_maybe_shared(bytes.slice(value_at..value_at + value_len))
            .map_err(|_| HeadError::Malformed("invalid header value"))?;
        if name == header::TRANSFER_ENCODING {
            present.transfer_encoding = true;
        } else if name == header::CONTENT_LENGTH {
            present.content_length = true;
        } else if name == header::CONNECTION {
            present.connection = true;
        }
        headers.append(name, value);
    }
    Ok((headers, present))
}

/// Works out the framing and whether the connection can be reused.
fn finish(
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    present: FramingFields,
    request_method: &Method,
) -> Result<ResponseHead, HeadError> {
    let bodiless = *request_method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let chunked_last = if present.transfer_encoding {
        last_transfer_coding_is_chunked(&headers)
    } else {
        None
    };
    if chunked_last.is_some() && version == Version::HTTP_10 && !bodiless {
        // RFC 9112 §6.1: faulty framing (hyper's client refuses it too).
        return Err(HeadError::Malformed(
            "Transfer-Encoding in an HTTP/1.0 response",
        ));
    }
    // A response without a body has no framing to get wrong: its length
    // (a HEAD's, say) is passed on as it is, as hyper does.
    let length = if bodiless || !present.content_length {
        None
    } else {
        content_length(&headers)?
    };
    let framing = match (bodiless, chunked_last, length) {
        (true, _, _) => Framing::Empty,
        // A transfer coding wins over Content-Length; one that does not
        // end in chunked runs to the close.
        (false, Some(true), _) => Framing::Chunked,
        (false, Some(false), _) => Framing::UntilClose,
        (false, None, Some(length)) => Framing::Length(length),
        (false, None, None) => Framing::UntilClose,
    };
    // Both framings at once is how smuggling starts: read this response by
    // the transfer coding, then drop the connection. (`strip_hop_by_hop`
    // drops the Content-Length before the response goes on.)
    let ambiguous = chunked_last.is_some() && length.is_some();
    let says = |token: &[u8]| {
        present.connection && crate::headers::has_token(&headers, header::CONNECTION, token)
    };
    let persistent = match version {
        Version::HTTP_11 => !says(b"close"),
        // HTTP/1.0 closes unless it says otherwise.
        _ => says(b"keep-alive"),
    };
    let keep_alive = persistent && framing != Framing::UntilClose && !ambiguous;
    Ok(ResponseHead {
        status,
        version,
        headers,
        framing,
        keep_alive,
    })
}

/// `None` without `Transfer-Encoding`; otherwise whether its last coding
/// is `chunked`.
fn last_transfer_coding_is_chunked(headers: &HeaderMap) -> Option<bool> {
    let last = headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .next_back()?;
    let coding = last.as_bytes().rsplit(|&b| b == b',').next().unwrap_or(b"");
    Some(coding.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// The `Content-Length`, if any. Several values (in one field or many) must
/// all agree, as RFC 9112 §6.3 asks; anything else is refused.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, HeadError> {
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        for item in value.as_bytes().split(|&b| b == b',') {
            let item = item.trim_ascii();
            if item.is_empty() || item.len() > 19 || !item.iter().all(u8::is_ascii_digit) {
                return Err(HeadError::Malformed("invalid Content-Length"));
            }
            let parsed = std::str::from_utf8(item)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(HeadError::Malformed("invalid Content-Length"))?;
            match length {
                Some(seen) if seen != parsed => {
                    return Err(HeadError::Malformed("conflicting Content-Length values"))
                }
                _ => length = Some(parsed),
            }
        }
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, method: Method) -> Result<Option<ResponseHead>, HeadError> {
        let mut buf = BytesMut::from(raw.as_bytes());
        parse_response_head(
            &mut buf,
            &method,
            &mut HeadScratch::default(),
            &mut HeaderMap::new(),
        )
    }

    fn head(raw: &str) -> ResponseHead {
        parse(raw, Method::GET).unwrap().unwrap()
    }

    #[test]
    fn request_heads_are_written_as_given() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("api:8080"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let mut out = Vec::new();
        write_request_head(&mut out, &Method::GET, "/items?q=1", |field| {
            headers.iter().for_each(|(name, value)| field(name, value))
        });
        assert_eq!(
            out,
            b"GET /items?q=1 HTTP/1.1\r\nhost: api:8080\r\nx-a: 1\r\nx-a: 2\r\n\r\n"
        );
    }

    /// Parses each head in turn on one connection's scratch: the field
    /// names, as `(name, value)` pairs.
    fn fields_in_turn(heads: &[&str]) -> Vec<Vec<(String, String)>> {
        let mut scratch = HeadScratch::default();
        heads
            .iter()
            .map(|raw| {
                let mut buf = BytesMut::from(raw.as_bytes());
                let head = parse_response_head(
                    &mut buf,
                    &Method::GET,
                    &mut scratch,
                    &mut HeaderMap::new(),
                )
                .unwrap()
                .unwrap();
                head.headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn field_names_remembered_from_the_last_head_are_the_names_written() {
        let heads = [
            "HTTP/1.1 200 OK\r\nContent-Type: a\r\nX-Request-Id: 1\r\nContent-Length: 0\r\n\r\n",
            // The same names: all from last time.
            "HTTP/1.1 200 OK\r\nContent-Type: b\r\nX-Request-Id: 2\r\nContent-Length: 0\r\n\r\n",
            // Another name of the same length in the middle, another case,
            // fewer fields, then more.
            "HTTP/1.1 200 OK\r\nContent-Type: c\r\nX-Request-Ix: 3\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-type: d\r\nX-Request-Ix: 4\r\nContent-Length: 0\r\nVary: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ];
        let expected: Vec<Vec<(String, String)>> = heads
            .iter()
            .map(|raw| fields_in_turn(&[raw]).remove(0))
            .collect();
        assert_eq!(fields_in_turn(&heads), expected);
        assert_eq!(
            expected[2],
            [("content-type", "c"), ("x-request-ix", "3")]
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), true));
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        let h = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        let h = head("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Empty, true));
        let h = head("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n");
        assert_eq!(h.framing, Framing::Empty);
        // No body, so a length that makes no sense breaks nothing.
        let h = parse(
            "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
            Method::HEAD,
        )
        .unwrap()
        .unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Empty, true));
        let h = parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", Method::HEAD)
            .unwrap()
            .unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::Empty, true));
    }

    #[test]
    fn connections_are_reused_only_when_safe() {
        let h =
            head("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(h.version, Version::HTTP_10);
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
        assert!(h.keep_alive);
        assert!(matches!(
            parse(
                "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Method::GET
            ),
            Err(HeadError::Malformed(_))
        ));
        // Both framings: read by the transfer coding, never reused.
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, false));
    }

    #[test]
    fn content_length_must_be_one_number() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(4));
        for bad in ["4, 5", "-1", "+4", "0x10", "", "99999999999999999999"] {
            let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert!(
                matches!(parse(&raw, Method::GET), Err(HeadError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn interim_heads_are_skipped_and_partial_heads_wait() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Id: 7\r\n\r\nok"[..],
        );
        let h = parse_response_head(
            &mut buf,
            &Method::GET,
            &mut HeadScratch::default(),
            &mut HeaderMap::new(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.status, StatusCode::CREATED);
        assert_eq!(h.headers["x-id"], "7");
        assert!(!h.headers.contains_key("link"));
        assert_eq!(&buf[..], b"ok");
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Le", Method::GET)
            .unwrap()
            .is_none());
    }

    #[test]
    fn garbage_and_oversized_heads_are_refused() {
        for bad in [
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/2 200\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            assert!(
                matches!(parse(bad, Method::GET), Err(HeadError::Malformed(_))),
                "{bad:?}"
            );
        }
        let many: String = (0..MAX_HEADERS + 1)
            .map(|i| format!("x-{i}: v\r\n"))
            .collect();
        let raw = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert_eq!(parse(&raw, Method::GET).unwrap_err(), HeadError::TooLarge);
        let endless = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(
            parse(&endless, Method::GET).unwrap_err(),
            HeadError::TooLarge
        );
    }
}
