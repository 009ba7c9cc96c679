//! [`Shared`]: the configuration a [`crate::CorsLayer`] and every service
//! it wraps hold together.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use arc_swap::ArcSwap;
use corsica::{LiveOrigins, Policy};

use crate::observe::CorsObserver;
use crate::source::OriginSource;

/// The state every [`crate::Cors`] service built from one layer shares.
pub(crate) struct Shared {
    /// The policy in force, swapped whole by `reconfigure`.
    pub policy: Arc<ArcSwap<Policy>>,
    /// Debug mode, switchable while serving.
    pub debug: AtomicBool,
    /// Report-only mode: decide and report, enforce nothing.
    pub report_only: bool,
    /// Preflights go to the inner service instead of being answered.
    pub forward_preflights: bool,
    /// WebSocket handshakes are held to the policy's origin rule.
    pub check_websockets: bool,
    /// Every request's decision goes into its extensions, not only the
    /// ones the inner service must act on.
    pub every_decision_to_inner: bool,
    /// Consulted for origins the static policy does not allow.
    pub source: Option<Arc<dyn OriginSource>>,
    /// A store's set, allowed beside the policy's own origins.
    pub stored: Option<Arc<LiveOrigins>>,
    /// Told about every decision.
    pub observer: Option<Arc<dyn CorsObserver>>,
}
