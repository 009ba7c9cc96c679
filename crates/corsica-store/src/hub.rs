//! [`OriginStores`]: one sync task per (store, set, rules), shared by every
//! route and layer that reads the set, and kept across gateway reloads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use corsica::policy::{OriginRules, StoreRef};
use corsica::LiveOrigins;
use tokio::task::JoinHandle;

use crate::status::SyncStatus;

/// One set being kept in sync. Dropping the last handle stops its task.
#[derive(Debug)]
pub struct StoreSet {
    store: StoreRef,
    live: Arc<LiveOrigins>,
    status: Arc<SyncStatus>,
    task: JoinHandle<()>,
}

impl StoreSet {
    /// The store and set.
    pub fn store(&self) -> &StoreRef {
        &self.store
    }

    /// The current members, for `CorsLayer::with_store`.
    pub fn live(&self) -> &Arc<LiveOrigins> {
        &self.live
    }

    /// Whether the set is stale, how many members it has, when it last synced.
    pub fn status(&self) -> &SyncStatus {
        &self.status
    }
}

impl Drop for StoreSet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Key = (StoreRef, OriginRules);

/// The sets a process keeps in sync.
#[derive(Debug, Default)]
pub struct OriginStores {
    sets: Mutex<HashMap<Key, Weak<StoreSet>>>,
}

impl OriginStores {
    /// An empty registry.
    pub fn new() -> Self {
        OriginStores::default()
    }

    /// The set `store` validated under `rules`: the running one if any
    /// holder still has it, else a new one whose sync task starts now.
    /// Must be called inside a Tokio runtime.
    pub fn get(&self, store: &StoreRef, rules: OriginRules) -> Arc<StoreSet> {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.retain(|_, weak| weak.strong_count() > 0);
        let key = (store.clone(), rules);
        if let Some(set) = sets.get(&key).and_then(Weak::upgrade) {
            return set;
        }
        let live = Arc::new(LiveOrigins::new(rules));
        let status = Arc::new(SyncStatus::new());
        let task = tokio::spawn(crate::sync::run(
            store.clone(),
            rules,
            live.clone(),
            status.clone(),
        ));
        let set = Arc::new(StoreSet {
            store: store.clone(),
            live,
            status,
            task,
        });
        sets.insert(key, Arc::downgrade(&set));
        set
    }

    /// Every set still in use.
    pub fn sets(&self) -> Vec<Arc<StoreSet>> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = sets.values().filter_map(Weak::upgrade).collect();
        all.sort_by(|a, b| (&a.store.url, &a.store.set).cmp(&(&b.store.url, &b.store.set)));
        all
    }
}
