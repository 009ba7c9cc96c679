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

pub(crate) use conn::{Conn, ExchangeError};
pub(crate) use decode::Decoder;
pub(crate) use head::{Framing, ResponseHead};
