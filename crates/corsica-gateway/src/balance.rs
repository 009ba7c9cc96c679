//! Spreads client connections evenly over the worker threads.
//!
//! Each worker accepts on its own `SO_REUSEPORT` socket, and the kernel
//! picks the socket by a hash of the client's address and port. With 64
//! connections over two workers that gives splits such as 40/24 as often as
//! 32/32 (measured: one worker using 62 % of the gateway's CPU and the other
//! idling). Connections on the busier worker wait longer for their turn,
//! which is what p99 at saturation shows. So a worker that holds more
//! connections than the least-loaded one passes each connection it accepts
//! to that one. The cost is paid once per connection (deregistering and
//! registering the socket, one wake-up), never per request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A connection accepted by one worker, to be served by another.
#[derive(Debug)]
pub(crate) struct Handoff {
    /// The client's socket, out of the accepting worker's reactor.
    pub(crate) stream: std::net::TcpStream,
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// Counts the connection on the worker that will serve it.
    pub(crate) live: Live,
}

/// The open connections of every worker, and their inboxes.
#[derive(Debug)]
pub(crate) struct Balancer {
    live: Box<[AtomicUsize]>,
    inboxes: Box<[mpsc::UnboundedSender<Handoff>]>,
}

/// Counts one open connection on a worker until it is dropped.
#[derive(Debug)]
pub(crate) struct Live {
    balancer: Arc<Balancer>,
    worker: usize,
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(count) = self.balancer.live.get(self.worker) {
            count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Balancer {
    /// A balancer for `workers` workers, with each worker's inbox.
    pub(crate) fn new(workers: usize) -> (Arc<Balancer>, Vec<mpsc::UnboundedReceiver<Handoff>>) {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| mpsc::unbounded_channel()).unzip();
        let balancer = Balancer {
            live: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
            inboxes: senders.into_boxed_slice(),
        };
        (Arc::new(balancer), receivers)
    }

    /// Counts a connection on `worker`.
    fn open(self: &Arc<Self>, worker: usize) -> Live {
        if let Some(count) = self.live.get(worker) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        Live {
            balancer: Arc::clone(self),
            worker,
        }
    }

    /// The worker with the fewest open connections, if it has fewer than
    /// `me`. Ties stay where they are, so an even split moves nothing.
    fn least_loaded_other(&self, me: usize) -> Option<usize> {
        let mine = self.live.get(me)?.load(Ordering::Relaxed);
        let (least, count) = self
            .live
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .enumerate()
            .min_by_key(|&(_, count)| count)?;
        (count < mine).then_some(least)
    }

    /// Decides where a connection that worker `me` accepted is served.
    /// Returns it, counted, when that is `me`; otherwise hands it to the
    /// least-loaded worker and returns `None`. A connection that cannot be
    /// handed over (that worker is shutting down) is served here.
    pub(crate) fn place(
        self: &Arc<Self>,
        me: usize,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Option<(TcpStream, Live)> {
        let Some((other, inbox)) = self
            .least_loaded_other(me)
            .and_then(|other| Some((other, self.inboxes.get(other)?)))
        else {
            return Some((stream, self.open(me)));
        };
        // Counted on the receiver now, so that the next accept (here or on
        // another worker) already sees this connection where it is going.
        let live = self.open(other);
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(target: "corsica::gateway", %peer, %error, "cannot move a connection to another worker");
                return None;
            }
        };
        let returned = inbox.send(Handoff { stream, peer, live }).err()?.0;
        drop(returned.live);
        let stream = TcpStream::from_std(returned.stream).ok()?;
        Some((stream, self.open(me)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_even_split_moves_nothing_and_the_busier_worker_gives_way() {
        let (balancer, _inboxes) = Balancer::new(3);
        assert_eq!(balancer.least_loaded_other(0), None, "all empty");
        let a = balancer.open(0);
        assert_eq!(balancer.least_loaded_other(0), Some(1));
        let b = balancer.open(1);
        let c = balancer.open(2);
        assert_eq!(balancer.least_loaded_other(0), None, "1 each");
        let d = balancer.open(0);
        assert_eq!(balancer.least_loaded_other(0), Some(1));
        assert_eq!(balancer.least_loaded_other(1), None);
        drop((a, d));
        assert_eq!(balancer.least_loaded_other(1), Some(0), "closing counts");
        drop((b, c));
        assert_eq!(balancer.least_loaded_other(7), None, "no such worker");
    }
}
