//! An upstream's response body, from any of the clients. When it has been
//! read to the end, the connection it came on goes back to the worker's
//! idle stack; one dropped before its end is closed with its connection,
//! since the rest of the body is still on the wire.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::uri::Authority;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;

use super::h1;
use super::idle::{HyperConn, Idle, IdleConns};
use super::whole::Whole;
use crate::router::Keepalive;

/// A response body's error, from any upstream client.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// An upstream response body.
pub(crate) struct ResponseBody {
    inner: Inner,
}

enum Inner {
    /// From hyper's client.
    Hyper(HyperBody),
    /// All of it, read with the head; its connection is already back.
    Buffered(Whole),
    /// Streamed from a direct connection.
    Direct(DirectBody),
}

/// A body from hyper's client.
struct HyperBody {
    body: Incoming,
    /// `None`: the connection is not pooled here, or no longer.
    checkin: Option<Checkin>,
}

/// A body still arriving on a direct connection.
struct DirectBody {
    conn: Option<Box<h1::Conn>>,
    decoder: h1::Decoder,
    keep_alive: bool,
    pool: Arc<IdleConns>,
    authority: Authority,
    keepalive: Keepalive,
}

/// Returns a hyper connection to its pool.
pub(super) struct Checkin {
    pool: Arc<IdleConns>,
    authority: Authority,
    conn: HyperConn,
    keepalive: Keepalive,
}

impl Checkin {
    /// Returns `sender`'s connection to `authority` to `pool` at the end of
    /// its response body.
    pub(super) fn new(
        pool: Arc<IdleConns>,
        authority: Authority,
        conn: HyperConn,
        keepalive: Keepalive,
    ) -> Checkin {
        Checkin {
            pool,
            authority,
            conn,
            keepalive,
        }
    }

    /// Gives the connection back to the pool once hyper can take the next
    /// request on it.
    fn release(self) {
        let Checkin {
            pool,
            authority,
            mut conn,
            keepalive,
        } = self;
        // Usually hyper is ready for the next request by the time the body's
        // last frame is read. It is not while the request body is still
        // uploading (the upstream answered early): pooling the connection
        // then would make the next request wait behind that upload.
        if !keepalive.allows_another(conn.served) {
            return;
        }
        if conn.sender.is_ready() {
            pool.checkin(authority, Idle::Hyper(conn), keepalive);
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if conn.sender.ready().await.is_ok() {
                    pool.checkin(authority, Idle::Hyper(conn), keepalive);
                }
            });
        }
    }
}

/// A body read from a pooled connection: what the two kinds of them,
/// hyper's and the gateway's own, do alike with each frame.
trait Pooled {
    /// The error of a frame, boxed on its way out.
    type Error: Into<BodyError>;

    /// The next frame off the connection.
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>>;

    /// Whether the whole body has been read.
    fn is_done(&self) -> bool;

    /// Gives the connection back to the pool, if it can take another
    /// request.
    fn release(&mut self);

    /// Forgets the connection: a broken body leaves it unusable.
    fn abandon(&mut self);

    /// The next frame; the connection goes back at the body's end, and is
    /// closed when the body breaks.
    #[inline]
    fn poll_pooled(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let polled = self.poll_next(cx);
        match &polled {
            Poll::Ready(None) => self.release(),
            Poll::Ready(Some(Ok(_))) if self.is_done() => self.release(),
            Poll::Ready(Some(Err(_))) => self.abandon(),
            _ => {}
        }
        polled.map(|frame| frame.map(|result| result.map_err(Into::into)))
    }

    /// At the body's drop: the connection goes back if the body was read
    /// to its end.
    #[inline]
    fn release_if_done(&mut self) {
        if self.is_done() {
            self.release();
        }
    }
}

impl Pooled for HyperBody {
    type Error = hyper::Error;

    #[inline]
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    /// hyper stops polling a body that says it has ended, and never polls
    /// an empty one (204, 304, HEAD): those are done too.
    #[inline]
    fn is_done(&self) -> bool {
        self.body.is_end_stream()
    }

    #[inline]
    fn release(&mut self) {
        if let Some(checkin) = self.checkin.take() {
            checkin.release();
        }
    }

    #[inline]
    fn abandon(&mut self) {
        self.checkin = None;
    }
}

impl Pooled for DirectBody {
    type Error = h1::BodyError;

    #[inline]
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h1::BodyError>>> {
        match self.conn.as_mut() {
            Some(conn) => conn.poll_frame(&mut self.decoder, cx),
            None => Poll::Ready(None),
        }
    }

    #[inline]
    fn is_done(&self) -> bool {
        self.decoder.is_done()
    }

    fn release(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A connection that holds bytes past the body's end is refused (and
        // reported) by the pool's checkin.
        if self.keep_alive {
            self.pool
                .checkin(self.authority.clone(), Idle::Direct(conn), self.keepalive);
        }
    }

    #[inline]
    fn abandon(&mut self) {
        self.conn = None;
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Hyper(hyper) => f
                .debug_struct("ResponseBody")
                .field("body", &hyper.body)
                .field("pooled", &hyper.checkin.is_some())
                .finish(),
            Inner::Buffered(data) => f
                .debug_struct("ResponseBody")
                .field("buffered", &data.size_hint().lower())
                .finish(),
            Inner::Direct(direct) => f
                .debug_struct("ResponseBody")
                .field("conn", &direct.conn)
                .field("decoder", &direct.decoder)
                .finish(),
        }
    }
}

impl ResponseBody {
    /// A body from hyper's client that returns its connection through
    /// `checkin` at its end (`None`: the connection is not pooled here).
    pub(super) fn hyper(body: Incoming, checkin: Option<Checkin>) -> ResponseBody {
        ResponseBody {
            inner: Inner::Hyper(HyperBody { body, checkin }),
        }
    }

    /// A body from a connection pooled elsewhere.
    pub(super) fn unpooled(body: Incoming) -> ResponseBody {
        ResponseBody::hyper(body, None)
    }

    /// The body of a direct exchange on `conn`, to `authority`. When it is
    /// already complete (no body, or all of it read with the head), the
    /// connection goes back to `pool` at once, before the response is even
    /// written to the client.
    pub(super) fn direct(
        pool: &Arc<IdleConns>,
        authority: &Authority,
        mut conn: Box<h1::Conn>,
        framing: h1::Framing,
        keep_alive: bool,
        keepalive: Keepalive,
    ) -> ResponseBody {
        let whole = match framing {
            h1::Framing::Empty => Some(None),
            h1::Framing::Length(length) => conn.take_buffered(length).map(Some),
            h1::Framing::Chunked | h1::Framing::UntilClose => None,
        };
        if let Some(data) = whole {
            if keep_alive {
                pool.checkin(authority.clone(), Idle::Direct(conn), keepalive);
            }
            return ResponseBody {
                inner: Inner::Buffered(Whole::new(data.filter(|d| !d.is_empty()))),
            };
        }
        ResponseBody {
            inner: Inner::Direct(DirectBody {
                conn: Some(conn),
                decoder: h1::Decoder::new(framing),
                keep_alive,
                pool: pool.clone(),
                authority: authority.clone(),
                keepalive,
            }),
        }
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.get_mut().inner {
            Inner::Hyper(hyper) => hyper.poll_pooled(cx),
            Inner::Buffered(data) => data.poll_frame(),
            Inner::Direct(direct) => direct.poll_pooled(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Hyper(hyper) => hyper.body.is_end_stream(),
            Inner::Buffered(data) => data.is_end_stream(),
            Inner::Direct(direct) => direct.conn.is_none() || direct.decoder.is_done(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Hyper(hyper) => hyper.body.size_hint(),
            Inner::Buffered(data) => data.size_hint(),
            Inner::Direct(direct) => match direct.decoder.remaining() {
                Some(left) => SizeHint::with_exact(left),
                None => SizeHint::default(),
            },
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        match &mut self.inner {
            Inner::Hyper(hyper) => hyper.release_if_done(),
            Inner::Direct(direct) => direct.release_if_done(),
            Inner::Buffered(_) => {}
        }
    }
}
