//! The sync task of one set: load it, apply every change, and on any
//! failure keep the last known snapshot (fail-static), mark it stale,
//! retry with backoff and reload in full once the store answers again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corsica::policy::{OriginRules, StoreKind, StoreRef};
use corsica::{LiveOrigins, Refused, StoredOrigins};

use crate::change::Change;
use crate::error::{redact, StoreError};
use crate::redis::RedisFeed;
use crate::status::SyncStatus;

/// The first retry's delay; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest delay between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Refused members are logged one by one up to this many per set; past it,
/// only counted (a store full of junk must not flood the log).
const MAX_LOGGED_REFUSALS: usize = 1000;

enum Feed {
    Redis(RedisFeed),
}

impl Feed {
    async fn connect(store: &StoreRef) -> Result<Feed, StoreError> {
        match store.kind {
            StoreKind::Redis => Ok(Feed::Redis(
                RedisFeed::connect(&store.url, &store.set).await?,
            )),
            _ => Err(StoreError(format!(
                "{}: this build of corsica reads origins from Redis only",
                redact(&store.url)
            ))),
        }
    }

    async fn snapshot(&mut self) -> Result<Vec<String>, StoreError> {
        match self {
            Feed::Redis(feed) => feed.snapshot().await,
        }
    }

    async fn next(&mut self) -> Result<Change, StoreError> {
        match self {
            Feed::Redis(feed) => feed.next().await,
        }
    }
}

/// Logs each refused member once per set, with its reason and fix.
struct RefusalLog {
    seen: HashSet<String>,
    set: String,
}

impl RefusalLog {
    fn report(&mut self, refused: Vec<Refused>) {
        for r in refused {
            if self.seen.len() >= MAX_LOGGED_REFUSALS || self.seen.contains(&r.member) {
                continue;
            }
            for d in &r.diagnostics {
                tracing::warn!(target: "corsica::store", set = %self.set, member = %r.member, code = d.code, reason = %d.reason, fix = %d.fix, "stored origin ignored: it is never matched");
            }
            self.seen.insert(r.member);
            if self.seen.len() == MAX_LOGGED_REFUSALS {
                tracing::warn!(target: "corsica::store", set = %self.set, "{MAX_LOGGED_REFUSALS} refused members logged; further ones are only counted in /metrics");
            }
        }
    }
}

/// Keeps `live` in step with `store` until the task is aborted.
pub(crate) async fn run(
    store: StoreRef,
    rules: OriginRules,
    live: Arc<LiveOrigins>,
    status: Arc<SyncStatus>,
) {
    let where_ = format!("{} set \"{}\"", redact(&store.url), store.set);
    let mut log = RefusalLog {
        seen: HashSet::new(),
        set: store.set.clone(),
    };
    let mut backoff = FIRST_BACKOFF;
    let mut failures: u64 = 0;
    loop {
        let Err(error) = session(&store, rules, &live, &status, &mut log, &mut backoff).await;
        status.set_stale(true);
        failures += 1;
        // The first failure of a streak is a warning; repeats are debug
        // lines, so a long outage does not fill the log.
        let level_warn = failures == 1 || failures.is_power_of_two();
        if status.ever_synced() {
            let members = live.load().len();
            if level_warn {
                tracing::warn!(target: "corsica::store", store = %where_, %error, members, retry_in_ms = backoff.as_millis() as u64, "origin store unreachable: serving the last known set (stale) and retrying");
            }
        } else if level_warn {
            tracing::warn!(target: "corsica::store", store = %where_, %error, retry_in_ms = backoff.as_millis() as u64, "origin store unreachable and no set loaded yet: serving only the static `origins` until it answers");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: load, then apply changes until something fails.
async fn session(
    store: &StoreRef,
    rules: OriginRules,
    live: &LiveOrigins,
    status: &SyncStatus,
    log: &mut RefusalLog,
    backoff: &mut Duration,
) -> Result<std::convert::Infallible, StoreError> {
    let mut feed = Feed::connect(store).await?;
    loop {
        let started = Instant::now();
        let members = feed.snapshot().await?;
        let count = members.len();
        // Validating a million members takes a few seconds of CPU: off the
        // async workers, so requests keep being served meanwhile.
        let (set, refused) =
            tokio::task::spawn_blocking(move || StoredOrigins::build(rules, members))
                .await
                .map_err(|e| StoreError::new("compiling the origin set", e))?;
        log.report(refused);
        status.synced(set.len(), set.invalid(), true);
        tracing::info!(target: "corsica::store", set = %store.set, members = count, valid = set.len(), invalid = set.invalid(), ms = started.elapsed().as_millis() as u64, "origin set loaded");
        live.store(set);
        status.set_stale(false);
        *backoff = FIRST_BACKOFF;
        // A resync message ends this loop and reloads the set.
        while let Change::Delta { add, remove } = feed.next().await? {
            let (next, refused) = live.load().with_changes(&add, &remove);
            log.report(refused);
            status.synced(next.len(), next.invalid(), false);
            live.store(next);
            tracing::debug!(target: "corsica::store", set = %store.set, added = add.len(), removed = remove.len(), "origin set changed");
        }
    }
}
