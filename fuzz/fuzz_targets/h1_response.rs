//! The gateway's own HTTP/1 response parser and body decoder on arbitrary
//! upstream bytes, read in arbitrary pieces: they never panic or loop,
//! never hand out more body bytes than they were given, and end the same
//! (status, body, trailers, what is left over) however the bytes are cut,
//! because a hostile upstream chooses how its bytes arrive.
#![no_main]

use corsica_gateway::__fuzz::{replay, Ending};
use http::Method;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Byte 0: the request method (bit 7) and how many piece lengths follow
    // (bits 0-3); then the piece lengths, one byte each; then the wire.
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let method = if control & 0x80 != 0 {
        Method::HEAD
    } else {
        Method::GET
    };
    let count = usize::from(control & 0x0f).min(rest.len());
    let (lengths, wire) = rest.split_at(count);
    let pieces: Vec<usize> = lengths.iter().map(|&b| usize::from(b) + 1).collect();

    let whole = replay(wire, &[], &method);
    let cut = replay(wire, &pieces, &method);
    let bytewise = replay(wire, &[1], &method);
    assert_eq!(whole, cut, "cutting the bytes changed the outcome");
    assert_eq!(whole, bytewise, "reading byte by byte changed the outcome");
    assert!(whole.body.len() + whole.left_over <= wire.len());
    if whole.ending == Ending::Complete && method == Method::HEAD {
        assert!(whole.body.is_empty(), "a body for a HEAD request");
    }
});
