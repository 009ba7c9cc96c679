//! [`SyncStatus`]: what `/healthz` and `/metrics` say about one store set.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The state of one set's synchronisation, updated by its sync task and
/// read by the admin endpoints. Every field is a lone atomic: readers may
/// see one update before another, never a torn value.
#[derive(Debug, Default)]
pub struct SyncStatus {
    stale: AtomicBool,
    ever_synced: AtomicBool,
    members: AtomicU64,
    invalid: AtomicU64,
    /// Milliseconds since the Unix epoch of the last full load or applied change.
    last_sync_ms: AtomicU64,
    resyncs: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl SyncStatus {
    /// A status for a set not yet loaded: stale until the first sync.
    pub fn new() -> Self {
        let status = SyncStatus::default();
        status.stale.store(true, Ordering::Relaxed);
        status
    }

    /// Whether the replica may be missing changes: the store is unreachable
    /// (or has not answered yet) and the last known set is served.
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    /// Whether the set was ever loaded (if not, only static origins are served).
    pub fn ever_synced(&self) -> bool {
        self.ever_synced.load(Ordering::Relaxed)
    }

    /// Valid members in the current snapshot.
    pub fn members(&self) -> u64 {
        self.members.load(Ordering::Relaxed)
    }

    /// Members the policy's rules refuse.
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Ordering::Relaxed)
    }

    /// Full loads done (the first one and one per reconnect or resync message).
    pub fn resyncs(&self) -> u64 {
        self.resyncs.load(Ordering::Relaxed)
    }

    /// Seconds since the last sync, or `None` before the first.
    pub fn last_sync_age_secs(&self) -> Option<f64> {
        if !self.ever_synced() {
            return None;
        }
        let last = self.last_sync_ms.load(Ordering::Relaxed);
        Some(now_ms().saturating_sub(last) as f64 / 1000.0)
    }

    pub(crate) fn synced(&self, members: usize, invalid: usize, full: bool) {
        self.members.store(members as u64, Ordering::Relaxed);
        self.invalid.store(invalid as u64, Ordering::Relaxed);
        self.last_sync_ms.store(now_ms(), Ordering::Relaxed);
        self.ever_synced.store(true, Ordering::Relaxed);
        if full {
            self.resyncs.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_stale(&self, stale: bool) {
        self.stale.store(stale, Ordering::Relaxed);
    }
}
