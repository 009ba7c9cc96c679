//! One HTTP/1.1 connection to an upstream, driven inline by the request
//! that uses it: the request head is written and the response read by the
//! request's own task, with no connection task, channel or wake-up between
//! them.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method};
use http_body::Frame;
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::decode::{DecodeError, Decoder};
use super::head::{parse_response_head, HeadError, HeadScratch, ResponseHead};

/// How much room each read makes in the buffer.
const READ_CHUNK: usize = 16 * 1024;

/// An upstream connection and its buffers, kept across requests.
pub(crate) struct Conn {
    io: TcpStream,
    read_buf: BytesMut,
    /// The last request head's buffer, lent to the next request to write
    /// its head into (see [`Conn::lend_head_buffer`]).
    head_buf: Vec<u8>,
    scratch: HeadScratch,
    /// The response deadline's timer, kept across requests: moving a
    /// registered timer's deadline later is one atomic store, where a timer
    /// per request is registered with the runtime's timer wheel and removed
    /// again every time.
    timer: Option<Pin<Box<Sleep>>>,
    /// Requests written on this connection so far (`keepalive_requests`).
    served: u32,
}

/// What an idle connection's socket holds ([`Conn::idle_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdleState {
    /// Open, and nothing to read: it may take the next request.
    Silent,
    /// The upstream closed it (its keep-alive timeout, say).
    Closed,
    /// The upstream sent bytes no request asked for. Whatever they are,
    /// the next request written on this connection would be answered by
    /// them: the connection is closed, and the upstream named in a warning.
    StrayBytes,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.io.peer_addr().ok())
            .field("buffered", &self.read_buf.len())
            .finish()
    }
}

/// Why an exchange failed.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// Writing the request failed.
    Write(io::Error),
    /// Reading the response failed.
    Read(io::Error),
    /// The upstream closed the connection before a complete response head.
    Closed,
    /// The response head is not valid HTTP/1.x.
    Head(HeadError),
    /// The deadline passed before the response head was complete.
    TimedOut,
    /// Response bytes arrived before the request head was fully written:
    /// they cannot be this request's answer, which the upstream has not
    /// read yet.
    EarlyResponse,
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeError::Write(_) => f.write_str("sending the request failed"),
            ExchangeError::Read(_) => f.write_str("reading the response failed"),
            ExchangeError::Closed => {
                f.write_str("the upstream closed the connection before answering")
            }
            ExchangeError::Head(e) => e.fmt(f),
            ExchangeError::TimedOut => f.write_str("the upstream did not answer in time"),
            ExchangeError::EarlyResponse => f.write_str(
                "the upstream sent a response before the request head was fully written",
            ),
        }
    }
}

impl std::error::Error for ExchangeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExchangeError::Write(e) | ExchangeError::Read(e) => Some(e),
            ExchangeError::Closed | ExchangeError::TimedOut | ExchangeError::EarlyResponse => None,
            ExchangeError::Head(e) => Some(e),
        }
    }
}

/// A failed exchange, and whether the upstream may never have seen the
/// request: no byte of an answer came back.
#[derive(Debug)]
pub(crate) struct Failed {
    /// What went wrong.
    pub(crate) error: ExchangeError,
    /// Nothing was received before the failure.
    pub(crate) unanswered: bool,
}

/// Why a response body could not be read to its end.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The socket failed.
    Io(io::Error),
    /// The body's framing is broken, or it was cut short.
    Decode(DecodeError),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Io(e) => write!(f, "reading the upstream's body failed: {e}"),
            BodyError::Decode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BodyError {}

impl Conn {
    /// Wraps a connected socket.
    pub(crate) fn new(io: TcpStream) -> Box<Conn> {
        Box::new(Conn {
            io,
            read_buf: BytesMut::new(),
            head_buf: Vec::new(),
            scratch: HeadScratch::default(),
            timer: None,
            served: 0,
        })
    }

    /// An empty buffer for the next request's head: the previous head's,
    /// so that a connection's requests reuse one allocation. Give it back
    /// with [`Conn::return_head_buffer`].
    pub(crate) fn lend_head_buffer(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.head_buf);
        buf.clear();
        buf
    }

    /// Takes back a head buffer for the next request.
    pub(crate) fn return_head_buffer(&mut self, buf: Vec<u8>) {
        self.head_buf = buf;
    }

    /// Sends `head`, a serialized request without a body (for `method`),
    /// and reads the response head, giving up at `deadline`. The body's
    /// first bytes may already be buffered: read them with
    /// [`Conn::poll_frame`] or [`Conn::take_buffered`].
    ///
    /// The response head's header map is `headers`' storage (an empty
    /// map, kept for its allocation).
    pub(crate) async fn exchange(
        &mut self,
        method: &Method,
        head: &[u8],
        headers: &mut HeaderMap,
        deadline: Instant,
    ) -> Result<ResponseHead, Failed> {
        let mut timer = match self.timer.take() {
            Some(mut timer) => {
                timer.as_mut().reset(deadline);
                timer
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        let mut received = false;
        let outcome = {
            let mut exchange = pin!(self.send_and_read_head(method, head, headers, &mut received));
            poll_fn(|cx| match exchange.as_mut().poll(cx) {
                Poll::Ready(result) => Poll::Ready(Some(result)),
                Poll::Pending => timer.as_mut().poll(cx).map(|()| None),
            })
            .await
        };
        self.timer = Some(timer);
        match outcome {
            Some(Ok(head)) => Ok(head),
            Some(Err(error)) => Err(Failed {
                error,
                unanswered: !received,
            }),
            // A request the upstream is slow to answer was received: it is
            // never sent again, whatever came back.
            None => Err(Failed {
                error: ExchangeError::TimedOut,
                unanswered: false,
            }),
        }
    }

    /// [`Conn::exchange`], noting in `received` whether any byte came back.
    async fn send_and_read_head(
        &mut self,
        method: &Method,
        head: &[u8],
        headers: &mut HeaderMap,
        received: &mut bool,
    ) -> Result<ResponseHead, ExchangeError> {
        self.served = self.served.saturating_add(1);
        self.write_head(head).await?;
        loop {
            if !self.read_buf.is_empty() {
                *received = true;
                let parsed =
                    parse_response_head(&mut self.read_buf, method, &mut self.scratch, headers);
                if let Some(head) = parsed.map_err(ExchangeError::Head)? {
                    return Ok(head);
                }
            }
            self.read_buf.reserve(READ_CHUNK);
            let read = self.io.read_buf(&mut self.read_buf).await;
            if read.map_err(ExchangeError::Read)? == 0 {
                return Err(ExchangeError::Closed);
            }
        }
    }

    /// Writes the request head. Usually one write takes it all; when the
    /// socket's buffer fills, the rest waits for the socket to be writable,
    /// and a socket that turns readable first holds response bytes for a
    /// request the upstream has not finished reading: not this request's
    /// answer, so a protocol error rather than a response.
    async fn write_head(&mut self, head: &[u8]) -> Result<(), ExchangeError> {
        let mut written = 0;
        while written < head.len() {
            match self.io.try_write(&head[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let ready = self
                        .io
                        .ready(Interest::WRITABLE | Interest::READABLE)
                        .await
                        .map_err(ExchangeError::Write)?;
                    if ready.is_readable() {
                        match self.idle_state() {
                            IdleState::Silent => {}
                            IdleState::StrayBytes => return Err(ExchangeError::EarlyResponse),
                            IdleState::Closed => return Err(ExchangeError::Closed),
                        }
                    }
                }
                Err(e) => return Err(ExchangeError::Write(e)),
            }
        }
        Ok(())
    }

    /// Requests written on this connection so far.
    pub(crate) fn served(&self) -> u32 {
        self.served
    }

    /// The whole body at once, when it is all buffered already (`length`
    /// bytes, and nothing after them).
    pub(crate) fn take_buffered(&mut self, length: u64) -> Option<Bytes> {
        (self.read_buf.len() as u64 == length).then(|| self.read_buf.split().freeze())
    }

    /// The body's next frame, reading from the socket as needed.
    /// `Ready(None)`: the body has ended.
    pub(crate) fn poll_frame(
        &mut self,
        decoder: &mut Decoder,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        loop {
            match decoder.decode(&mut self.read_buf) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) if decoder.is_done() => return Poll::Ready(None),
                Ok(None) => {}
                Err(error) => return Poll::Ready(Some(Err(BodyError::Decode(error)))),
            }
            if let Err(error) = ready!(self.io.poll_read_ready(cx)) {
                return Poll::Ready(Some(Err(BodyError::Io(error))));
            }
            self.read_buf.reserve(READ_CHUNK);
            match self.io.try_read_buf(&mut self.read_buf) {
                Ok(0) => {
                    return match decoder.end_of_input() {
                        Ok(()) => Poll::Ready(None),
                        Err(error) => Poll::Ready(Some(Err(BodyError::Decode(error)))),
                    }
                }
                Ok(_) => {}
                // Readiness was stale; polling again registers for the next.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Some(Err(BodyError::Io(error)))),
            }
        }
    }

    /// The socket, for a client that takes over an idle connection (only
    /// clean connections are idle, so no buffered byte is lost).
    pub(crate) fn into_stream(self) -> TcpStream {
        self.io
    }

    /// What an idle connection's socket holds. An upstream
    /// that closed it (its keep-alive timeout) or sent stray bytes makes
    /// the socket readable. `try_read` asks the reactor first: when it has
    /// seen nothing since the last read came up short, no system call is
    /// made; otherwise one non-blocking read settles it. Unlike
    /// `poll_read_ready`, it takes nothing from the task's cooperative
    /// budget, which would make it answer "not readable" without looking.
    pub(crate) fn idle_state(&mut self) -> IdleState {
        if !self.read_buf.is_empty() {
            return IdleState::StrayBytes;
        }
        let mut probe = [0u8; 1];
        match self.io.try_read(&mut probe) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => IdleState::Silent,
            Ok(0) | Err(_) => IdleState::Closed,
            Ok(_) => IdleState::StrayBytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::h1::head::Framing;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A connection to a server that answers every request with `answer`
    /// (then closes, when `close` is set).
    async fn conn_to(answer: &'static [u8], close: bool) -> Box<Conn> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            loop {
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                socket.write_all(answer).await.unwrap();
                if close {
                    return;
                }
            }
        });
        Conn::new(TcpStream::connect(addr).await.unwrap())
    }

    /// A serialized `GET /`.
    const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: upstream\r\n\r\n";

    async fn get(conn: &mut Conn) -> Result<ResponseHead, Failed> {
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        conn.exchange(&Method::GET, GET, &mut HeaderMap::new(), deadline)
            .await
    }

    async fn body(conn: &mut Conn, framing: Framing) -> Result<Vec<u8>, BodyError> {
        let mut decoder = Decoder::new(framing);
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| conn.poll_frame(&mut decoder, cx)).await {
            if let Ok(data) = frame?.into_data() {
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    }

    /// An upstream that answers before it has read the request head: the
    /// head is too large for the socket buffers, so writing it waits, and
    /// the bytes that come meanwhile are nobody's answer.
    #[tokio::test]
    async fn a_response_before_the_head_is_written_is_a_protocol_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            // Hold the connection without reading, so the head cannot drain.
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            drop(socket);
        });
        let mut conn = Conn::new(TcpStream::connect(addr).await.unwrap());
        let mut head = b"GET / HTTP/1.1\r\nhost: upstream\r\nx-pad: ".to_vec();
        head.resize(head.len() + 32 * 1024 * 1024, b'p');
        head.extend_from_slice(b"\r\n\r\n");
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let failed = conn
            .exchange(&Method::GET, &head, &mut HeaderMap::new(), deadline)
            .await
            .unwrap_err();
        assert!(
            matches!(failed.error, ExchangeError::EarlyResponse),
            "{:?}",
            failed.error
        );
        server.abort();
    }

    #[tokio::test]
    async fn a_connection_carries_one_request_after_another() {
        let mut conn = conn_to(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false).await;
        for _ in 0..3 {
            let head = get(&mut conn).await.unwrap();
            assert_eq!(head.framing, Framing::Length(2));
            assert_eq!(body(&mut conn, head.framing).await.unwrap(), b"ok");
            assert!(conn.read_buf.is_empty(), "nothing is left unread");
            tokio::task::yield_now().await;
            assert_eq!(conn.idle_state(), IdleState::Silent);
        }
    }

    #[tokio::test]
    async fn chunked_and_until_close_bodies_arrive_whole() {
        let mut conn = conn_to(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            false,
        )
        .await;
        let head = get(&mut conn).await.unwrap();
        assert_eq!(body(&mut conn, head.framing).await.unwrap(), b"abc");

        let mut conn = conn_to(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", true).await;
        let head = get(&mut conn).await.unwrap();
        assert!(!head.keep_alive);
        assert_eq!(
            body(&mut conn, head.framing).await.unwrap(),
            b"until the end"
        );
    }

    #[tokio::test]
    async fn an_upstream_that_does_not_answer_times_out_and_is_not_retried() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Reads requests and answers the second one only.
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut heads = 0;
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 {
                    return;
                }
                heads += buf[..n].windows(4).filter(|w| w == b"\r\n\r\n").count();
                if heads == 2 {
                    let answer = b"HTTP/1.1 204 No Content\r\n\r\n";
                    socket.write_all(answer).await.unwrap();
                }
            }
        });
        let mut conn = Conn::new(TcpStream::connect(addr).await.unwrap());
        let soon = Instant::now() + std::time::Duration::from_millis(50);
        let failed = conn
            .exchange(&Method::GET, GET, &mut HeaderMap::new(), soon)
            .await
            .unwrap_err();
        assert!(
            matches!(failed.error, ExchangeError::TimedOut),
            "{failed:?}"
        );
        assert!(!failed.unanswered, "a request that timed out was received");
        // The same timer serves a later deadline. (The pool never reuses a
        // connection after a timeout; this only shows the timer re-armed.)
        let head = get(&mut conn).await.unwrap();
        assert_eq!(head.status, http::StatusCode::NO_CONTENT);
    }

    #[tokio::test]
    async fn a_body_cut_short_is_an_error() {
        let mut conn = conn_to(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true).await;
        let head = get(&mut conn).await.unwrap();
        assert!(matches!(
            body(&mut conn, head.framing).await,
            Err(BodyError::Decode(DecodeError::Truncated))
        ));
    }

    #[tokio::test]
    async fn a_silent_close_is_unanswered_and_garbage_is_not() {
        let mut conn = conn_to(b"", true).await;
        let failed = get(&mut conn).await.unwrap_err();
        assert!(failed.unanswered, "{failed:?}");
        assert!(matches!(failed.error, ExchangeError::Closed));

        let mut conn = conn_to(b"garbage garbage\r\n\r\n", true).await;
        let failed = get(&mut conn).await.unwrap_err();
        assert!(!failed.unanswered);
        assert!(matches!(failed.error, ExchangeError::Head(_)));
    }

    #[tokio::test]
    async fn a_closed_idle_connection_is_noticed() {
        let mut conn = conn_to(b"HTTP/1.1 204 No Content\r\n\r\n", true).await;
        get(&mut conn).await.unwrap();
        // The server has closed; let the reactor see it.
        for _ in 0..50 {
            if conn.idle_state() != IdleState::Silent {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the close was never noticed");
    }
}
