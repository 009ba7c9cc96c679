//! [`Gateway`]: binds the listeners, serves connections, reloads and shuts
//! down gracefully.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::HeaderValue;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::balance::{Balancer, Handoff, Live};
use crate::config::GatewayConfig;
use crate::conn::{ConnService, Peer};
use crate::control::{stopped, Control, ReloadStatus};
use crate::handle::{Handle, Inner, Started};
use crate::linger::Lingering;
use crate::metrics::Metrics;
use crate::options::Options;
use crate::reload;
use crate::routes::Generation;
use crate::timed_io::{ConnState, TimedIo};
use crate::{admin, tls, upstream};

/// Why the gateway could not start.
#[derive(Debug)]
pub enum ServeError {
    /// A listener could not be bound.
    Bind {
        /// `listen` or `admin_listen`.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    Tls(String),
    /// The upstream client could not be set up (an unusable extra CA).
    Client(String),
    /// The configuration file could not be watched.
    Watch(String),
    /// A worker thread could not be started.
    Worker(String),
}

impl ServeError {
    /// Whether the listen address is taken by another process.
    pub fn is_addr_in_use(&self) -> bool {
        matches!(self, ServeError::Bind { source, .. } if source.kind() == io::ErrorKind::AddrInUse)
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Bind { what, addr, source } => {
                write!(f, "cannot listen on {addr} ({what}): {source}")
            }
            ServeError::Tls(message) => write!(f, "TLS: {message}"),
            ServeError::Client(message) => write!(f, "upstream client: {message}"),
            ServeError::Watch(message) => {
                write!(f, "cannot watch the configuration file: {message}")
            }
            ServeError::Worker(message) => write!(f, "cannot start a worker thread: {message}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A bound gateway, ready to [`run`](Gateway::run).
pub struct Gateway {
    listener: TcpListener,
    admin: Option<TcpListener>,
    inner: Arc<Inner>,
    control: mpsc::UnboundedReceiver<Control>,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.listener.local_addr().ok())
            .field(
                "admin",
                &self.admin.as_ref().and_then(|a| a.local_addr().ok()),
            )
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Binds the listeners and loads TLS, so that every startup problem is
    /// reported before anything is served.
    pub async fn bind(config: GatewayConfig, options: Options) -> Result<Gateway, ServeError> {
        let listen = options.listen_override.unwrap_or(config.listen);
        // Worker threads each get their own socket on the same address
        // (SO_REUSEPORT), so the kernel spreads connections across them.
        let listener = bind_listener(listen, options.threads > 1)?;
        let admin = match config.admin_listen {
            Some(addr) => Some(bind("admin_listen", addr).await?),
            None => None,
        };
        let tls = match &config.tls {
            Some(files) => Some(tls::acceptor(&files.cert, &files.key).map_err(ServeError::Tls)?),
            None => None,
        };
        let roots = tls::upstream_roots(&options.upstream_ca, config.upstream_ca.as_deref())
            .map_err(ServeError::Client)?;
        let metrics = Arc::new(Metrics::new());
        let clients = upstream::clients(
            config.timeouts.connect,
            &roots,
            options.threads.max(1),
            &metrics,
        )
        .map_err(|e| ServeError::Client(e.to_string()))?;
        let started = Started {
            listen: config.listen,
            admin_listen: config.admin_listen,
            tls: config.tls.is_some(),
            log_format: config.log_format,
        };
        let stores = Arc::new(corsica_store::OriginStores::new());
        let generation = Generation::build(0, config, (clients, roots), tls, &metrics, &stores)
            .map_err(ServeError::Client)?;
        let (control_tx, control) = mpsc::unbounded_channel();
        if options.handle_signals {
            // From here, not from `run`: whoever bound the gateway may say
            // it is up (the CLI logs "listening") before `run` starts, and
            // a SIGTERM in between must drain, not kill on the spot. A
            // signal that comes early waits in the channel for `run`.
            reload::spawn_signal_handler(control_tx.clone());
        }
        let (status, _) = watch::channel(ReloadStatus::default());
        let inner = Arc::new(Inner {
            current: Arc::new(ArcSwap::from_pointee(generation)),
            stores,
            metrics,
            options,
            control: control_tx,
            status,
            started,
        });
        Ok(Gateway {
            listener,
            admin,
            inner,
            control,
        })
    }

    /// The address the gateway listens on (with the port the OS chose, for `:0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.inner.started.listen)
    }

    /// The admin listener's address, if there is one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|a| a.local_addr().ok())
    }

    /// A handle to reload or stop the gateway once it runs.
    pub fn handle(&self) -> Handle {
        Handle::new(self.inner.clone())
    }

    /// Serves until shut down (by a [`Handle`], or a signal with
    /// [`Options::handle_signals`]), then drains requests in flight.
    pub async fn run(self) -> Result<(), ServeError> {
        let Gateway {
            listener,
            admin,
            inner,
            mut control,
        } = self;
        let (stop_tx, stop) = watch::channel(false);
        let draining = Arc::new(AtomicBool::new(false));

        // Set up everything that can fail before serving a single request.
        let _watcher = match (&inner.options.config_path, inner.options.watch_config) {
            (Some(path), true) => {
                let current = inner.current.clone();
                Some(
                    crate::watch::watch(
                        path,
                        current,
                        inner.control.clone(),
                        inner.status.subscribe(),
                    )
                    .map_err(ServeError::Watch)?,
                )
            }
            _ => None,
        };

        let (abort_tx, abort) = watch::channel(false);
        let main = serve_listener(listener, &inner, &stop, &abort)?;
        // The admin listener outlives the drain, so that `/healthz` can
        // say "draining" while requests in flight finish.
        let (admin_stop_tx, admin_stop) = watch::channel(false);
        let admin = admin.map(|listener| {
            tokio::spawn(admin::serve(
                listener,
                inner.metrics.clone(),
                inner.stores.clone(),
                draining.clone(),
                admin_stop,
            ))
        });

        while let Some(message) = control.recv().await {
            match message {
                Control::Reload => reload::reload(&inner).await,
                Control::Shutdown => break,
                Control::Abort => {
                    let _ = abort_tx.send(true);
                    break;
                }
            }
        }
        tracing::info!(target: "corsica::gateway", timeout = ?drain_timeout(&inner), "shutting down: no new connections; draining requests in flight (a second Ctrl-C or SIGTERM stops at once)");
        draining.store(true, Ordering::Relaxed);
        let _ = stop_tx.send(true);
        let drained = async {
            for worker in main {
                let _ = worker.await;
            }
        };
        tokio::pin!(drained);
        loop {
            tokio::select! {
                _ = &mut drained => break,
                message = control.recv() => match message {
                    Some(Control::Abort) => {
                        tracing::warn!(target: "corsica::gateway", "second shutdown signal: closing the connections of requests still in flight");
                        let _ = abort_tx.send(true);
                    }
                    Some(_) => {}
                    None => {
                        (&mut drained).await;
                        break;
                    }
                },
            }
        }
        let _ = admin_stop_tx.send(true);
        if let Some(admin) = admin {
            let _ = admin.await;
        }
        tracing::info!(target: "corsica::gateway", "stopped");
        Ok(())
    }
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { what, addr, source })
}

/// Binds the client listener. With `shared`, the socket allows other
/// sockets of this process to bind the same address (SO_REUSEPORT), one per
/// worker: the kernel then balances new connections across the workers by
/// hash, where one shared accept queue let whichever worker woke first take
/// most of them (measured: two-thirds of the connections on one of two
/// workers, which capped throughput at one saturated core).
fn bind_listener(addr: SocketAddr, shared: bool) -> Result<TcpListener, ServeError> {
    let error = |source| ServeError::Bind {
        what: "listen",
        addr,
        source,
    };
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(error)?;
    socket.set_reuseaddr(true).map_err(error)?;
    #[cfg(unix)]
    if shared {
        ensure_port_free(addr).map_err(error)?;
        socket.set_reuseport(true).map_err(error)?;
    }
    socket.bind(addr).map_err(error)?;
    socket.listen(1024).map_err(error)
}

/// Fails with `AddrInUse` when something already listens on `addr`.
///
/// SO_REUSEPORT lets any socket of the same user that also sets it bind a
/// port in use: a second gateway (a stale one with an older, looser
/// policy, or a demo) would join the first's and silently take part of
/// its connections. A socket bound without SO_REUSEPORT finds the port
/// busy as any other program would; SO_REUSEADDR keeps connections left in
/// TIME_WAIT by an earlier run from counting as a listener. The probe is
/// closed before the workers' sockets bind, so two gateways started in the
/// same instant could still both pass it.
#[cfg(unix)]
fn ensure_port_free(addr: SocketAddr) -> io::Result<()> {
    if addr.port() == 0 {
        // The kernel picks a free port of its own.
        return Ok(());
    }
    let probe = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    probe.set_reuseaddr(true)?;
    probe.bind(addr)
}

/// Another socket on the address `listener` is bound to, for a worker.
/// Where SO_REUSEPORT is unavailable the workers share one socket.
fn worker_listener(listener: &std::net::TcpListener) -> io::Result<std::net::TcpListener> {
    #[cfg(unix)]
    {
        let addr = listener.local_addr()?;
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        socket.listen(1024)?.into_std()
    }
    #[cfg(not(unix))]
    {
        listener.try_clone()
    }
}

/// Starts the accept loops: one on the caller's runtime, or one per worker
/// thread, each on its own single-threaded runtime and its own copy of the
/// listening socket. Each completes once it has drained its connections.
fn serve_listener(
    listener: TcpListener,
    inner: &Arc<Inner>,
    stop: &watch::Receiver<bool>,
    abort: &watch::Receiver<bool>,
) -> Result<Vec<tokio::sync::oneshot::Receiver<()>>, ServeError> {
    let threads = inner.options.threads;
    if threads == 0 {
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let (inner, stop, abort) = (inner.clone(), stop.clone(), abort.clone());
        tokio::spawn(async move {
            accept_loop(listener, inner, (stop, abort), 0, None).await;
            let _ = done_tx.send(());
        });
        return Ok(vec![done]);
    }
    let worker_error = |e: io::Error| ServeError::Worker(e.to_string());
    let listener = listener.into_std().map_err(worker_error)?;
    let mut done = Vec::with_capacity(threads);
    let (balancer, inboxes) = Balancer::new(threads);
    for (worker, inbox) in inboxes.into_iter().enumerate() {
        let copy = if worker == 0 {
            listener.try_clone()
        } else {
            worker_listener(&listener)
        }
        .map_err(worker_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(worker_error)?;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let signals = (stop.clone(), abort.clone());
        let inner = inner.clone();
        let balance = Some((balancer.clone(), inbox));
        std::thread::Builder::new()
            .name(format!("corsica-worker-{worker}"))
            .spawn(move || {
                crate::metrics::set_worker(worker);
                runtime.block_on(async move {
                    match TcpListener::from_std(copy) {
                        Ok(listener) => {
                            accept_loop(listener, inner, signals, worker, balance).await
                        }
                        Err(error) => {
                            tracing::error!(target: "corsica::gateway", worker, %error, "worker cannot listen");
                        }
                    }
                });
                let _ = done_tx.send(());
            })
            .map_err(worker_error)?;
        done.push(done_rx);
    }
    Ok(done)
}

/// A worker's share of the [`Balancer`]: the balancer, and the inbox of
/// connections other workers hand to this one.
type Balance = (Arc<Balancer>, mpsc::UnboundedReceiver<Handoff>);

/// What the accept loop waits for.
enum Arrival {
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    HandedOver(Handoff),
}

/// The next connection another worker hands over; never, without a balancer.
async fn handed_over(balance: &mut Option<Balance>) -> Handoff {
    match balance {
        Some((_, inbox)) => match inbox.recv().await {
            Some(handoff) => handoff,
            // Every worker holds the balancer, and with it the senders.
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Accepts client connections until `stop`, then drains them. With a
/// balancer, also serves the connections other workers hand over, and
/// hands over its own when it holds more than another worker.
/// How long a shutdown waits for requests in flight: the file's
/// `timeouts.drain`, else [`Options::drain_timeout`].
fn drain_timeout(inner: &Inner) -> Duration {
    inner
        .current
        .load()
        .config
        .timeouts
        .drain
        .unwrap_or(inner.options.drain_timeout)
}

/// Accepts connections until `stop`, then waits for the requests in
/// flight, until the drain timeout or `abort`.
async fn accept_loop(
    listener: TcpListener,
    inner: Arc<Inner>,
    (mut stop, mut abort): (watch::Receiver<bool>, watch::Receiver<bool>),
    worker: usize,
    mut balance: Option<Balance>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let arrival = tokio::select! {
            biased;
            _ = stopped(&mut stop) => break,
            handoff = handed_over(&mut balance) => Arrival::HandedOver(handoff),
            accepted = listener.accept() => Arrival::Accepted(accepted),
        };
        match arrival {
            Arrival::HandedOver(Handoff { stream, peer, live }) => {
                match TcpStream::from_std(stream) {
                    Ok(stream) => {
                        connection(stream, peer, &inner, graceful.watcher(), worker, Some(live))
                    }
                    Err(error) => {
                        tracing::debug!(target: "corsica::gateway", %peer, %error, "cannot take over a connection from another worker");
                    }
                }
            }
            Arrival::Accepted(Ok((stream, peer))) => {
                let placed = match &balance {
                    Some((balancer, _)) => balancer
                        .place(worker, stream, peer)
                        .map(|(stream, live)| (stream, Some(live))),
                    None => Some((stream, None)),
                };
                if let Some((stream, live)) = placed {
                    connection(stream, peer, &inner, graceful.watcher(), worker, live);
                }
            }
            Arrival::Accepted(Err(error)) => {
                // Out of file descriptors, typically: pause instead of spinning.
                tracing::warn!(target: "corsica::gateway", %error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    let open = graceful.count();
    let timeout = drain_timeout(&inner);
    tokio::select! {
        drained = tokio::time::timeout(timeout, graceful.shutdown()) => {
            if drained.is_err() {
                tracing::warn!(target: "corsica::gateway", connections = open, ?timeout, "requests still in flight after the drain timeout (timeouts.drain); closing their connections");
            }
        }
        _ = stopped(&mut abort) => {}
    }
}

/// Serves one client connection on its own task. `live` counts it on this
/// worker for the balancer until the task ends.
fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    inner: &Arc<Inner>,
    watcher: Watcher,
    worker: usize,
    live: Option<Live>,
) {
    // Responses are written whole by hyper; Nagle's delay would only add latency.
    let _ = stream.set_nodelay(true);
    let generation = inner.current.load_full();
    let state = Arc::new(ConnState::new(inner.metrics.clone()));
    let ip = peer.ip().to_canonical().to_string();
    let client = Peer {
        ip: HeaderValue::from_str(&ip).unwrap_or(HeaderValue::from_static("unknown")),
        proto: HeaderValue::from_static(if generation.tls.is_some() {
            "https"
        } else {
            "http"
        }),
        conn: state.clone(),
        worker,
    };
    let current = inner.current.clone();
    let metrics = inner.metrics.clone();
    tokio::spawn(async move {
        let _live = live;
        let _open = metrics.open_connection(worker);
        let timeouts = generation.config.timeouts;
        let stream = Lingering::new(stream, state.clone());
        match &generation.tls {
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                let tls = match tokio::time::timeout(timeouts.header_read, handshake).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(error)) => {
                        tracing::debug!(target: "corsica::gateway", %peer, %error, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(target: "corsica::gateway", %peer, "TLS handshake timed out");
                        return;
                    }
                };
                let io = TimedIo::new(tls, state, timeouts.header_read, timeouts.idle);
                serve(io, &generation, current, client, watcher).await;
            }
            None => {
                let io = TimedIo::new(stream, state, timeouts.header_read, timeouts.idle);
                serve(io, &generation, current, client, watcher).await;
            }
        }
    });
}

async fn serve<S>(
    io: TimedIo<S>,
    generation: &Generation,
    current: Arc<ArcSwap<Generation>>,
    client: Peer,
    watcher: Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = ConnService::new(current, client);
    let conn = generation
        .http
        .serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(error) = watcher.watch(conn).await {
        // Clients that go away mid-request are routine, not worth a warning.
        tracing::debug!(target: "corsica::gateway", %error, "connection ended with an error");
    }
}
