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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
        }
    }
}

impl std::error::Error for ExchangeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExchangeError::Write(e) | ExchangeError::Read(e) => Some(e),
            ExchangeError::Closed | ExchangeError::TimedOut => None,
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
        self.io
            .write_all(head)
            .await
            .map_err(ExchangeError::Write)?;
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

    /// Whether the connection can carry the next request: its exchange
    /// left nothing unread behind it.
    pub(crate) fn is_clean(&self) -> bool {
        self.read_buf.is_empty()
    }

    /// Whether an idle connection is still open and silent. An upstream
    /// that closed it (its keep-alive timeout) or sent stray bytes makes
    /// the socket readable. `try_read` asks the reactor first: when it has
    /// seen nothing since the last read came up short, no system call is
    /// made; otherwise one non-blocking read settles it. Unlike
    /// `poll_read_ready`, it takes nothing from the task's cooperative
    /// budget, which would make it answer "not readable" without looking.
    pub(crate) fn is_idle_usable(&mut self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::h1::head::Framing;
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

    #[tokio::test]
    async fn a_connection_carries_one_request_after_another() {
        let mut conn = conn_to(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false).await;
        for _ in 0..3 {
            let head = get(&mut conn).await.unwrap();
            assert_eq!(head.framing, Framing::Length(2));
            assert_eq!(body(&mut conn, head.framing).await.unwrap(), b"ok");
            assert!(conn.is_clean());
            tokio::task::yield_now().await;
            assert!(conn.is_idle_usable());
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
            if !conn.is_idle_usable() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the close was never noticed");
    }
}
