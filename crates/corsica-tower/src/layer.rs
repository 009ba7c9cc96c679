//! [`CorsLayer`]: configuration shared by every service it wraps, with an
//! atomic swap for reconfiguration while serving.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use corsica::{LiveOrigins, Policy};
use tower_layer::Layer;

use crate::observe::CorsObserver;
use crate::service::Cors;
use crate::shared::Shared;
use crate::source::OriginSource;

/// A tower [`Layer`] that applies a validated [`Policy`].
///
/// ```
/// use corsica::{LiveOrigins, Policy};
/// use corsica_tower::CorsLayer;
///
/// let policy = Policy::builder()
///     .origins(["https://app.example.com"])
///     .methods(["PUT", "DELETE"])
///     .request_headers(["content-type"])
///     .credentials(true)
///     .build()?;
/// let layer = CorsLayer::new(policy);
/// // axum: Router::new().route(..).layer(layer)
/// # Ok::<(), corsica::ConfigError>(())
/// ```
///
/// Put it outside authentication and routing, so preflights (which never
/// carry credentials) reach it, and use one CORS layer per route, never two
/// stacked.
#[derive(Clone)]
pub struct CorsLayer {
    shared: Arc<Shared>,
}

impl CorsLayer {
    /// A layer enforcing `policy`.
    pub fn new(policy: Policy) -> Self {
        CorsLayer {
            shared: Arc::new(Shared {
                policy: Arc::new(ArcSwap::from_pointee(policy)),
                debug: AtomicBool::new(false),
                report_only: false,
                forward_preflights: false,
                check_websockets: false,
                every_decision_to_inner: true,
                source: None,
                stored: None,
                observer: None,
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = match Arc::try_unwrap(self.shared) {
            Ok(shared) => shared,
            Err(arc) => Shared {
                policy: Arc::new(ArcSwap::new(arc.policy.load_full())),
                debug: AtomicBool::new(arc.debug.load(Ordering::Relaxed)),
                report_only: arc.report_only,
                forward_preflights: arc.forward_preflights,
                check_websockets: arc.check_websockets,
                every_decision_to_inner: arc.every_decision_to_inner,
                source: arc.source.clone(),
                stored: arc.stored.clone(),
                observer: arc.observer.clone(),
            },
        };
        f(&mut shared);
        CorsLayer {
            shared: Arc::new(shared),
        }
    }

    /// Consults `source` for origins the static policy does not allow. See
    /// [`OriginSource`].
    #[must_use]
    pub fn with_origin_source(self, source: impl OriginSource) -> Self {
        self.edit(|s| s.source = Some(Arc::new(source)))
    }

    /// Also allows the members of a store's set, kept current by a sync
    /// task (`corsica_store::OriginStores`), so that an application and
    /// the gateways share one allowlist:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use corsica::{LiveOrigins, Policy, StoredOrigins};
    /// use corsica_tower::CorsLayer;
    ///
    /// let policy = Policy::builder()
    ///     .origins_from("redis://127.0.0.1:6379/0")
    ///     .build()?;
    /// // With corsica-store: `stores.get(policy.origin_store().unwrap(), policy.origin_rules()).live().clone()`.
    /// let live = Arc::new(LiveOrigins::new(policy.origin_rules()));
    /// let (set, _refused) = StoredOrigins::build(policy.origin_rules(), ["https://shop.customer.example"]);
    /// live.store(set);
    /// let layer = CorsLayer::new(policy).with_store(live);
    /// # Ok::<(), corsica::ConfigError>(())
    /// ```
    ///
    /// Lookups read the current snapshot without a lock or an allocation.
    /// A snapshot validated under other rules than the policy's (after
    /// [`reconfigure`](Self::reconfigure) changed credentials or opt-ins)
    /// allows nothing until it is rebuilt under the new rules.
    #[must_use]
    pub fn with_store(self, stored: Arc<LiveOrigins>) -> Self {
        self.edit(|s| s.stored = Some(stored))
    }

    /// Debug mode: a refused request's response carries an
    /// `x-corsica-debug` header saying why, and a `tracing` event at INFO
    /// level says the same. Off by default: the reason can reveal the
    /// allowlist.
    #[must_use]
    pub fn debug(self, on: bool) -> Self {
        self.shared.debug.store(on, Ordering::Relaxed);
        self
    }

    /// Report-only mode: evaluate and report every decision (to the
    /// observer and to `tracing`), but enforce nothing. Requests, preflights
    /// included, go to the inner service and responses are left untouched,
    /// but for those the inner service marks with
    /// [`ReportOnlyHeaders`](crate::ReportOnlyHeaders). For migrating a live
    /// API to a policy.
    #[must_use]
    pub fn report_only(self, on: bool) -> Self {
        self.edit(|s| s.report_only = on)
    }

    /// Forward preflights to the inner service instead of answering them,
    /// then write the policy's answer onto its response: the application's
    /// own CORS headers are replaced, its status and body kept. The
    /// application can make a preflight fail, never allow more than the
    /// policy does. For applications that must see their preflights.
    #[must_use]
    pub fn forward_preflights(self, on: bool) -> Self {
        self.edit(|s| s.forward_preflights = on)
    }

    /// Holds WebSocket handshakes to the policy's origin rule. Browsers
    /// apply no CORS to WebSockets, so a page from any origin could open
    /// one with the user's cookies (cross-site WebSocket hijacking).
    ///
    /// With this on, a handshake (an HTTP/1.1 `GET` with `Connection:
    /// upgrade` and `Upgrade: websocket`) from an origin the policy refuses
    /// is logged, and its [`CorsDecision`](crate::CorsDecision) says so
    /// ([`refuses_websocket`](crate::CorsDecision::refuses_websocket)): the
    /// inner service answers it, 403 in its own format, and the answer gets
    /// the policy's headers like any other response. A handshake without
    /// `Origin` comes from a non-browser client, which no browser policy
    /// concerns, and is let through. In report-only mode the refusal is
    /// logged and the handshake let through. Handshakes are judged by the
    /// static policy: an origin source is not asked about them, since the
    /// inner service must know before it runs.
    #[must_use]
    pub fn check_websockets(self, on: bool) -> Self {
        self.edit(|s| s.check_websockets = on)
    }

    /// Whether every request reaches the inner service with the layer's
    /// [`CorsDecision`](crate::CorsDecision) in its extensions (the
    /// default). With `false`, only decisions the inner service must act
    /// on are inserted: a WebSocket handshake the layer refuses (see
    /// [`check_websockets`](Self::check_websockets)). A request's first
    /// extension costs three small allocations (the map, its table, the
    /// value), about 4 % of the user-space work of a request proxied by
    /// `corsica serve`, which needs only the refusals.
    #[must_use]
    pub fn every_decision_to_inner(self, on: bool) -> Self {
        self.edit(|s| s.every_decision_to_inner = on)
    }

    /// Calls `observer` with every decision (for metrics).
    #[must_use]
    pub fn with_observer(self, observer: impl CorsObserver) -> Self {
        self.edit(|s| s.observer = Some(Arc::new(observer)))
    }

    /// Swaps in a new policy atomically. Requests already being decided keep
    /// the old one; every later request sees the new one.
    pub fn reconfigure(&self, policy: Policy) {
        self.shared.policy.store(Arc::new(policy));
    }

    /// Turns debug mode on or off while serving.
    pub fn set_debug(&self, on: bool) {
        self.shared.debug.store(on, Ordering::Relaxed);
    }

    /// Whether debug mode is on.
    pub fn is_debug(&self) -> bool {
        self.shared.debug.load(Ordering::Relaxed)
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.shared.policy.load_full()
    }
}

impl std::fmt::Debug for CorsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorsLayer")
            .field("policy", &self.shared.policy.load())
            .field("debug", &self.shared.debug.load(Ordering::Relaxed))
            .field("report_only", &self.shared.report_only)
            .field("forward_preflights", &self.shared.forward_preflights)
            .field("check_websockets", &self.shared.check_websockets)
            .field(
                "every_decision_to_inner",
                &self.shared.every_decision_to_inner,
            )
            .field("origin_source", &self.shared.source.is_some())
            .field("store", &self.shared.stored.is_some())
            .finish()
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors::new(inner, self.shared.clone())
    }
}
