//! Whole upstream responses fed through the head parser and the body
//! decoder in given pieces, as a connection reads them, with no socket.
//! The property tests and the `h1_response` fuzz target both drive the
//! parser through this one path, so what they check is what `Conn` does
//! with the same bytes.

use bytes::BytesMut;
use http::{HeaderMap, Method};

use super::decode::Decoder;
use super::head::{parse_response_head, Framing, HeadScratch};

/// How a replayed response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The head and the whole body were read.
    Complete,
    /// The bytes ran out before the head or the body was complete.
    Incomplete,
    /// The head parser refused the bytes.
    HeadRefused,
    /// The decoder refused the body's framing.
    BodyRefused,
}

/// What the parser and the decoder made of one response's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// How it ended.
    pub ending: Ending,
    /// The final status code, once a head was parsed.
    pub status: Option<u16>,
    /// The body's bytes, as decoded so far.
    pub body: Vec<u8>,
    /// How many trailer fields a chunked body carried.
    pub trailer_fields: usize,
    /// Bytes read after the complete response (a pipelined or stray one).
    pub left_over: usize,
}

/// Feeds `wire` to a fresh connection's parser in pieces whose lengths
/// are taken from `pieces` in turn (cycled, a zero read as one), for a
/// request with `method`; the connection closes after the last byte.
pub fn replay(wire: &[u8], pieces: &[usize], method: &Method) -> Replayed {
    let mut cuts = Cuts {
        wire,
        at: 0,
        pieces,
        next: 0,
    };
    let mut buf = BytesMut::new();
    let mut scratch = HeadScratch::default();
    let mut done = Replayed {
        ending: Ending::Incomplete,
        status: None,
        body: Vec::new(),
        trailer_fields: 0,
        left_over: 0,
    };
    let head = loop {
        match parse_response_head(&mut buf, method, &mut scratch, &mut HeaderMap::new()) {
            Ok(Some(head)) => break head,
            Ok(None) => match cuts.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => return done,
            },
            Err(_) => {
                done.ending = Ending::HeadRefused;
                return done;
            }
        }
    };
    done.status = Some(head.status.as_u16());
    let mut decoder = Decoder::new(head.framing);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(frame)) => match frame.into_data() {
                Ok(data) => done.body.extend_from_slice(&data),
                Err(frame) => {
                    done.trailer_fields += frame.into_trailers().map_or(0, |t| t.len());
                }
            },
            Ok(None) if decoder.is_done() => {
                done.ending = Ending::Complete;
                done.left_over = buf.len() + cuts.rest();
                return done;
            }
            Ok(None) => match cuts.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => {
                    done.ending = match decoder.end_of_input() {
                        Ok(()) => Ending::Complete,
                        Err(_) => Ending::Incomplete,
                    };
                    debug_assert!(
                        done.ending == Ending::Incomplete || head.framing == Framing::UntilClose
                    );
                    return done;
                }
            },
            Err(_) => {
                done.ending = Ending::BodyRefused;
                return done;
            }
        }
    }
}

/// `wire` cut into the pieces a reader would get.
struct Cuts<'a> {
    wire: &'a [u8],
    at: usize,
    pieces: &'a [usize],
    next: usize,
}

impl<'a> Cuts<'a> {
    /// The next piece, or `None` once every byte was handed out.
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at == self.wire.len() {
            return None;
        }
        let len = match self.pieces {
            [] => self.wire.len(),
            pieces => pieces[self.next % pieces.len()].max(1),
        };
        self.next += 1;
        let end = self.wire.len().min(self.at + len);
        let piece = &self.wire[self.at..end];
        self.at = end;
        Some(piece)
    }

    /// The bytes not handed out yet.
    fn rest(&self) -> usize {
        self.wire.len() - self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_response_in_one_byte_pieces_is_read_whole_with_its_trailers() {
        let wire = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-a: 1\r\n\r\nEXTRA";
        let got = replay(wire, &[1], &Method::GET);
        assert_eq!(got.ending, Ending::Complete);
        assert_eq!(got.status, Some(200));
        assert_eq!(got.body, b"abc");
        assert_eq!(got.trailer_fields, 1);
        assert_eq!(got.left_over, 5);
    }

    #[test]
    fn a_body_cut_short_by_the_close_is_incomplete() {
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc";
        let got = replay(wire, &[], &Method::GET);
        assert_eq!(
            (got.ending, got.body.as_slice()),
            (Ending::Incomplete, &b"abc"[..])
        );
    }

    #[test]
    fn a_head_response_has_no_body_whatever_its_length_says() {
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc";
        let got = replay(wire, &[2, 7], &Method::HEAD);
        assert_eq!((got.ending, got.left_over), (Ending::Complete, 3));
    }

    #[test]
    fn conflicting_framing_is_refused_as_a_head() {
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabc";
        assert_eq!(replay(wire, &[], &Method::GET).ending, Ending::HeadRefused);
    }
}
