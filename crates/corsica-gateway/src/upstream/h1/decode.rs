//! Cutting a response body out of the bytes read from the upstream: by
//! length, by chunks, or until the close. A state machine over a buffer,
//! with no I/O, so every framing edge is tested without a socket.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body::Frame;

use super::head::Framing;

/// The longest chunk-size line accepted, extensions included.
const MAX_CHUNK_LINE: usize = 4096;
/// The largest trailer section accepted.
const MAX_TRAILERS: usize = 16 * 1024;
/// The most trailer fields accepted.
const MAX_TRAILER_FIELDS: usize = 64;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The chunked framing is broken.
    Chunk(&'static str),
    /// The upstream closed the connection before the body's end.
    Truncated,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Chunk(why) => write!(f, "malformed chunked body: {why}"),
            DecodeError::Truncated => f.write_str("the upstream closed before the body's end"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Where a body's decoding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// This many bytes of a `Content-Length` body remain.
    Length(u64),
    /// Expecting a chunk-size line.
    ChunkSize,
    /// This many bytes of the current chunk remain.
    ChunkData(u64),
    /// Expecting the CRLF after a chunk's data.
    ChunkEnd,
    /// After the last chunk: trailer fields, then a blank line.
    Trailers,
    /// Everything until the connection closes.
    UntilClose,
    /// The body is complete.
    Done,
}

/// A body's decoder.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
}

impl Decoder {
    /// A decoder for a body with this framing.
    pub(crate) fn new(framing: Framing) -> Decoder {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Decoder { state }
    }

    /// Whether the whole body has been decoded.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The bytes still expected, when known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The next frame that `buf` holds, taking its bytes out of `buf`.
    /// `Ok(None)`: more bytes are needed (or the body is done).
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<Frame<Bytes>>, DecodeError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Length(left) => {
                    return Ok(self.counted(buf, left, State::Length, State::Done))
                }
                State::UntilClose => {
                    return Ok(take(buf, u64::MAX).map(Frame::data));
                }
                State::ChunkSize => {
                    let Some(size) = chunk_size(buf)? else {
                        return Ok(None);
                    };
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::ChunkData(left) => {
                    return Ok(self.counted(buf, left, State::ChunkData, State::ChunkEnd))
                }
                State::ChunkEnd => {
                    if buf.len() < 2 {
                        return Ok(None);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(DecodeError::Chunk("chunk data longer than its size"));
                    }
                    buf.advance(2);
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(trailers) = trailers(buf)? else {
                        return Ok(None);
                    };
                    self.state = State::Done;
                    return Ok(trailers.map(Frame::trailers));
                }
            }
        }
    }

    /// Up to `left` bytes of a counted run (a length, a chunk) as a frame;
    /// the state becomes `more` of what is left, or `end` at the run's end.
    fn counted(
        &mut self,
        buf: &mut BytesMut,
        left: u64,
        more: fn(u64) -> State,
        end: State,
    ) -> Option<Frame<Bytes>> {
        let data = take(buf, left)?;
        let rest = left - data.len() as u64;
        self.state = if rest == 0 { end } else { more(rest) };
        Some(Frame::data(data))
    }

    /// The connection closed: the end of an until-close body, or an error.
    pub(crate) fn end_of_input(&mut self) -> Result<(), DecodeError> {
        match self.state {
            State::UntilClose | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(DecodeError::Truncated),
        }
    }
}

/// Up to `max` bytes from the front of `buf`; `None` when it is empty.
fn take(buf: &mut BytesMut, max: u64) -> Option<Bytes> {
    if buf.is_empty() {
        return None;
    }
    let n = usize::try_from(max).unwrap_or(usize::MAX).min(buf.len());
    Some(buf.split_to(n).freeze())
}

/// Parses a `chunk-size [; extensions] CRLF` line off the front of `buf`.
fn chunk_size(buf: &mut BytesMut) -> Result<Option<u64>, DecodeError> {
    let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_CHUNK_LINE {
            return Err(DecodeError::Chunk("chunk-size line too long"));
        }
        return Ok(None);
    };
    if lf > MAX_CHUNK_LINE {
        return Err(DecodeError::Chunk("chunk-size line too long"));
    }
    if lf == 0 || buf[lf - 1] != b'\r' {
        return Err(DecodeError::Chunk("chunk-size line without CRLF"));
    }
    let line = &buf[..lf - 1];
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(DecodeError::Chunk("chunk size is not hexadecimal"));
    }
    // 16 significant hex digits fill a u64; more would overflow. Leading
    // zeros are allowed, as hyper allows them.
    let zeros = line[..digits].iter().take_while(|&&b| b == b'0').count();
    if digits - zeros > 16 {
        return Err(DecodeError::Chunk("chunk size too large"));
    }
    let rest = &line[digits..];
    let after_space = rest.trim_ascii_start();
    if !after_space.is_empty() && after_space[0] != b';' {
        return Err(DecodeError::Chunk("unexpected bytes after the chunk size"));
    }
    let size = line[..digits]
        .iter()
        .fold(0u64, |n, &b| (n << 4) | u64::from(hex_value(b)));
    buf.advance(lf + 1);
    Ok(Some(size))
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// Parses the trailer section after the last chunk. `Ok(Some(None))`: it
/// was empty.
fn trailers(buf: &mut BytesMut) -> Result<Option<Option<HeaderMap>>, DecodeError> {
    if buf.starts_with(b"\r\n") {
        buf.advance(2);
        return Ok(Some(None));
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_TRAILER_FIELDS];
    let (len, parsed) = match httparse::parse_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete((len, parsed))) => (len, parsed),
        Ok(httparse::Status::Partial) if buf.len() > MAX_TRAILERS => {
            return Err(DecodeError::Chunk("trailer section too large"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(DecodeError::Chunk("malformed trailer section")),
    };
    let mut map = HeaderMap::with_capacity(parsed.len());
    for field in parsed {
        let name = http::HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| DecodeError::Chunk("malformed trailer name"))?;
        let value = http::HeaderValue::from_bytes(field.value)
            .map_err(|_| DecodeError::Chunk("malformed trailer value"))?;
        map.append(name, value);
    }
    buf.advance(len);
    Ok(Some(Some(map)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data, the trailers and the bytes left over.
    type Decoded = (Vec<u8>, Option<HeaderMap>, Vec<u8>);

    /// Decodes `wire` fed in pieces of `step` bytes.
    fn run(framing: Framing, wire: &[u8], step: usize) -> Result<Decoded, DecodeError> {
        let mut decoder = Decoder::new(framing);
        let mut buf = BytesMut::new();
        let mut data = Vec::new();
        let mut trailers = None;
        for piece in wire.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(frame) = decoder.decode(&mut buf)? {
                match frame.into_data() {
                    Ok(bytes) => data.extend_from_slice(&bytes),
                    Err(frame) => trailers = frame.into_trailers().ok(),
                }
            }
            if decoder.is_done() {
                break;
            }
        }
        if !decoder.is_done() {
            decoder.end_of_input()?;
        }
        Ok((data, trailers, buf.to_vec()))
    }

    #[test]
    fn lengths_stop_at_their_end() {
        for step in [1, 3, 100] {
            let (data, _, rest) = run(Framing::Length(5), b"helloGET", step).unwrap();
            assert_eq!(data, b"hello");
            assert!(step == 1 || !rest.is_empty());
        }
        assert_eq!(
            run(Framing::Length(5), b"hel", 10),
            Err(DecodeError::Truncated)
        );
        assert!(Decoder::new(Framing::Length(0)).is_done());
        assert!(Decoder::new(Framing::Empty).is_done());
    }

    #[test]
    fn chunks_are_joined_and_trailers_kept() {
        let wire = b"5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nx-checksum: 1\r\n\r\nNEXT";
        for step in [1, 2, 7, 1000] {
            let (data, trailers, rest) = run(Framing::Chunked, wire, step).unwrap();
            assert_eq!(data, b"hello world", "step {step}");
            assert_eq!(trailers.unwrap()["x-checksum"], "1");
            if step == 1000 {
                assert_eq!(rest, b"NEXT");
            }
        }
        let (data, trailers, _) =
            run(Framing::Chunked, b"A\r\n0123456789\r\n0\r\n\r\n", 4).unwrap();
        assert_eq!((data.len(), trailers), (10, None));
        // Leading zeros do not count toward the size limit.
        let (data, _, _) = run(
            Framing::Chunked,
            b"00000000000000000003\r\nabc\r\n000\r\n\r\n",
            5,
        )
        .unwrap();
        assert_eq!(data, b"abc");
    }

    #[test]
    fn broken_chunks_are_errors() {
        for bad in [
            &b"x\r\nhello\r\n0\r\n\r\n"[..],
            b"5\nhello\r\n0\r\n\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"11111111111111111\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"0\r\nbad trailer\r\n\r\n",
        ] {
            assert!(
                matches!(run(Framing::Chunked, bad, 64), Err(DecodeError::Chunk(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let endless = vec![b'1'; MAX_CHUNK_LINE + 2];
        assert!(run(Framing::Chunked, &endless, 64).is_err());
        assert_eq!(
            run(Framing::Chunked, b"5\r\nhel", 64),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn until_close_takes_everything() {
        let (data, _, _) = run(Framing::UntilClose, b"all of it", 2).unwrap();
        assert_eq!(data, b"all of it");
    }
}
