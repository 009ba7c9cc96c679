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
use crate::postgres::PostgresFeed;
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
    Postgres(PostgresFeed),
}

impl Feed {
    async fn connect(store: &StoreRef) -> Result<Feed, StoreError> {
        match store.kind {
            StoreKind::Redis => Ok(Feed::Redis(
                RedisFeed::connect(&store.url, &store.set).await?,
            )),
            StoreKind::Postgres => Ok(Feed::Postgres(
                PostgresFeed::connect(&store.url, &store.set).await?,
            )),
            _ => Err(StoreError(format!(
                "{}: this build of corsica cannot read this kind of store",
                redact(&store.url)
            ))),
        }
    }

    async fn snapshot(&mut self) -> Result<Vec<String>, StoreError> {
        match self {
            Feed::Redis(feed) => feed.snapshot().await,
            Feed::Postgres(feed) => feed.snapshot().await,
        }
    }

    /// A change that has already arrived, without waiting.
    fn ready(&mut self) -> Option<Result<Change, StoreError>> {
        match self {
            Feed::Redis(feed) => feed.ready(),
            Feed::Postgres(feed) => feed.ready(),
        }
    }

    async fn next(&mut self) -> Result<Change, StoreError> {
        match self {
            Feed::Redis(feed) => feed.next().await,
            Feed::Postgres(feed) => feed.next().await,
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

/// Changes are applied in batches of at most this many messages.
const MAX_BATCH: usize = 10_000;

/// Waits for the next change, then takes every change that has already
/// arrived too (up to [`MAX_BATCH`]), so that a burst of single-member
/// messages becomes one snapshot, not thousands. The last operation on a
/// member wins. `None` asks for a full reload.
async fn next_batch(feed: &mut Feed) -> Result<Option<(Vec<String>, Vec<String>)>, StoreError> {
    let mut batch = Batch::default();
    let mut change = feed.next().await?;
    for _ in 0..MAX_BATCH {
        if !batch.push(change) {
            return Ok(None);
        }
        match feed.ready() {
            Some(next) => change = next?,
            None => break,
        }
    }
    Ok(Some(batch.finish()))
}

/// Changes merged in arrival order: the last operation on a member wins.
#[derive(Default)]
struct Batch {
    present: std::collections::HashMap<String, bool>,
    order: Vec<String>,
}

impl Batch {
    /// Adds one message; `false` if it asks for a full reload instead.
    fn push(&mut self, change: Change) -> bool {
        let Change::Delta { add, remove } = change else {
            return false;
        };
        // Within one message additions come before removals.
        let ops = add
            .into_iter()
            .map(|m| (m, true))
            .chain(remove.into_iter().map(|m| (m, false)));
        for (member, present) in ops {
            if self.present.insert(member.clone(), present).is_none() {
                self.order.push(member);
            }
        }
        true
    }

    /// The members to add and to remove (disjoint).
    fn finish(self) -> (Vec<String>, Vec<String>) {
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for member in self.order {
            if self.present[&member] {
                add.push(member);
            } else {
                remove.push(member);
            }
        }
        (add, remove)
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
        loop {
            let Some((add, remove)) = next_batch(&mut feed).await? else {
                break;
            };
            let (next, refused) = live.load().with_changes(&add, &remove);
            log.report(refused);
            status.synced(next.len(), next.invalid(), false);
            live.store(next);
            tracing::debug!(target: "corsica::store", set = %store.set, added = add.len(), removed = remove.len(), "origin set changed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(add: &[&str], remove: &[&str]) -> Change {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Change::Delta {
            add: own(add),
            remove: own(remove),
        }
    }

    #[test]
    fn a_batch_keeps_the_last_operation_on_each_member() {
        let mut batch = Batch::default();
        assert!(batch.push(delta(&["x", "y"], &[])));
        assert!(batch.push(delta(&[], &["x", "z"])));
        assert!(batch.push(delta(&["z"], &[])));
        assert!(batch.push(delta(&[], &["w"])));
        let (add, remove) = batch.finish();
        assert_eq!(add, ["y", "z"]);
        assert_eq!(remove, ["x", "w"]);
        assert!(!Batch::default().push(Change::Resync));
    }
}
