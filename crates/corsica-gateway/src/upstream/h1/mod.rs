//! The gateway's own HTTP/1.1 client for requests without a body to
//! `http://` upstreams: the common case of a proxied API (GET, HEAD,
//! DELETE, OPTIONS).
//!
//! hyper's client runs each connection as a task of its own and hands it
//! every request through a channel; the request's task then waits for the
//! answer through another. For a proxy that is two task wake-ups and two
//! channel hand-overs per request on top of the work itself, and profiling
//! put the gateway's upstream side at well over what nginx spends there.
//! Here the request's own task writes the head and reads the response, on
//! a connection it has checked out of the worker's pool. Requests with a
//! body, and WebSocket handshakes, still go through hyper's client, which
//! reads an early response while the upload is still going.
//!
//! The client side is the narrow one to own: the request was parsed and
//! validated by hyper's server and is written from `http` types, and the
//! response is re-framed by hyper's server before the client sees it, so
//! nothing here decides how the client's connection is delimited.

mod conn;
mod decode;
mod head;
pub(crate) mod replay;

pub(crate) use conn::{BodyError, Conn, ExchangeError, Failed, IdleState};
pub(crate) use decode::Decoder;
pub(crate) use head::{write_request_head, Framing, ResponseHead};

/// Arbitrary upstream bytes, fed in arbitrary pieces: the head parser and
/// the decoder never panic, never hand out more bytes than they were given,
/// and decode the same however the bytes are split.
#[cfg(test)]
mod properties {
    use bytes::BytesMut;
    use http::Method;
    use proptest::prelude::*;

    use super::head::{parse_response_head, HeadScratch};
    use super::replay::{replay, Ending};
    use http::HeaderMap;

    /// A well-formed response with a random body in one of the three
    /// framings (chunks of random sizes, with an extension now and then),
    /// and the body it carries.
    fn framed() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        let chunks = proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..6);
        (0..3u8, chunks).prop_map(|(kind, chunks)| {
            let body: Vec<u8> = chunks.concat();
            let mut out = Vec::new();
            match kind {
                0 => {
                    out.extend_from_slice(
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).as_bytes(),
                    );
                    out.extend_from_slice(&body);
                }
                1 => {
                    out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
                    for (i, chunk) in chunks.iter().enumerate() {
                        let ext = if i % 2 == 1 { ";x=y" } else { "" };
                        out.extend_from_slice(format!("{:x}{ext}\r\n", chunk.len()).as_bytes());
                        out.extend_from_slice(chunk);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b"0\r\nx-sum: 1\r\n\r\n");
                }
                _ => {
                    out.extend_from_slice(b"HTTP/1.0 200 OK\r\n\r\n");
                    out.extend_from_slice(&body);
                }
            }
            (out, body)
        })
    }

    /// Parses and decodes `bytes` fed in pieces of `step`; the body, or
    /// `None` for any error or an incomplete message.
    fn run(bytes: &[u8], step: usize) -> Option<Vec<u8>> {
        let replayed = replay(bytes, &[step], &Method::GET);
        (replayed.ending == Ending::Complete).then_some(replayed.body)
    }

    /// A response head with random field names, from a small alphabet so
    /// that heads in a row share some and differ in others.
    fn head_with_names() -> impl Strategy<Value = String> {
        proptest::collection::vec("[aAbB-]{1,3}", 0..5).prop_map(|names| {
            let mut head = String::from("HTTP/1.1 204 No Content\r\n");
            for (i, name) in names.iter().enumerate() {
                head.push_str(&format!("{name}: {i}\r\n"));
            }
            head.push_str("\r\n");
            head
        })
    }

    /// The fields of `head`, parsed with `scratch`.
    fn fields(head: &str, scratch: &mut HeadScratch) -> Vec<(String, Vec<u8>)> {
        let mut buf = BytesMut::from(head.as_bytes());
        let parsed = parse_response_head(&mut buf, &Method::GET, scratch, &mut HeaderMap::new());
        let head = parsed.unwrap().unwrap();
        head.headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    proptest! {
        #[test]
        fn every_framing_decodes_the_same_however_it_is_split(
            (wire, body) in framed(),
            step in 1usize..48,
        ) {
            prop_assert_eq!(run(&wire, step), Some(body));
        }

        #[test]
        fn names_remembered_from_earlier_heads_parse_as_the_names_written(
            heads in proptest::collection::vec(head_with_names(), 1..6),
        ) {
            let mut remembering = HeadScratch::default();
            for head in &heads {
                let fresh = fields(head, &mut HeadScratch::default());
                prop_assert_eq!(fields(head, &mut remembering), fresh);
            }
        }

        #[test]
        fn any_bytes_decode_without_panic_and_the_same_however_split(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            step in 1usize..40,
        ) {
            let whole = run(&bytes, bytes.len().max(1));
            prop_assert_eq!(&whole, &run(&bytes, step));
            if let Some(body) = whole {
                prop_assert!(body.len() <= bytes.len());
            }
        }

        #[test]
        fn any_bytes_in_uneven_pieces_end_the_same_as_in_one_piece(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            pieces in proptest::collection::vec(1usize..24, 1..5),
            head in any::<bool>(),
        ) {
            let method = if head { Method::HEAD } else { Method::GET };
            prop_assert_eq!(replay(&bytes, &pieces, &method), replay(&bytes, &[], &method));
        }
    }
}
