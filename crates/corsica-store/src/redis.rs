//! Redis: one set per origin set, changes pushed by pub/sub.
//!
//! - The members of set `NAME` are the Redis set `corsica:origins:NAME`.
//! - Every change is published on `corsica:origins:NAME:changes` in the
//!   same `MULTI` transaction as the `SADD`/`SREM`, so a replica that
//!   subscribed before loading the set and applies every message after it
//!   ends with the same members as the store (see [`crate::change`]).

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};

use crate::change::Change;
use crate::error::{redact, StoreError};

/// How long connecting, and any one command, may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How often an idle subscription checks that the server still answers.
const PING_EVERY: Duration = Duration::from_secs(2);
/// Members asked for per `SSCAN` round.
const SCAN_COUNT: usize = 20_000;
/// Bounds the `SSCAN` loop: enough rounds for 100 million members.
const MAX_SCAN_ROUNDS: usize = 100_000_000 / SCAN_COUNT;

/// The Redis key holding the members of set `set`.
pub fn set_key(set: &str) -> String {
    format!("corsica:origins:{set}")
}

/// The channel on which changes to set `set` are published.
pub fn channel(set: &str) -> String {
    format!("corsica:origins:{set}:changes")
}

async fn timed<T>(
    what: &str,
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StoreError::new(what, e)),
        Err(_) => Err(StoreError::new(
            what,
            format!("no answer in {} s", TIMEOUT.as_secs()),
        )),
    }
}

fn client(url: &str) -> Result<redis::Client, StoreError> {
    redis::Client::open(url)
        .map_err(|e| StoreError::new(&format!("redis store {}", redact(url)), e))
}

async fn connection(url: &str) -> Result<MultiplexedConnection, StoreError> {
    let client = client(url)?;
    let what = format!("connecting to redis store {}", redact(url));
    timed(&what, client.get_multiplexed_async_connection()).await
}

/// All members of `set`, read with `SSCAN` so that a large set never blocks
/// the server for long.
async fn members(con: &mut MultiplexedConnection, set: &str) -> Result<Vec<String>, StoreError> {
    let key = set_key(set);
    let mut all = Vec::new();
    let mut cursor: u64 = 0;
    for _ in 0..MAX_SCAN_ROUNDS {
        let (next, batch): (u64, Vec<String>) = timed(
            "reading the origin set",
            redis::cmd("SSCAN")
                .arg(&key)
                .arg(cursor)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(con),
        )
        .await?;
        all.extend(batch);
        if next == 0 {
            return Ok(all);
        }
        cursor = next;
    }
    Err(StoreError(format!(
        "the set {key} did not finish scanning in {MAX_SCAN_ROUNDS} rounds"
    )))
}

/// A replica's view of one Redis set: a subscription opened before the
/// first load, so that no change falls between the two.
pub(crate) struct RedisFeed {
    set: String,
    con: MultiplexedConnection,
    changes: PubSubStream,
}

impl RedisFeed {
    /// Subscribes to the set's channel, then opens a command connection.
    pub(crate) async fn connect(url: &str, set: &str) -> Result<Self, StoreError> {
        let client = client(url)?;
        let what = format!("subscribing to redis store {}", redact(url));
        let mut pubsub = timed(&what, client.get_async_pubsub()).await?;
        timed(&what, pubsub.subscribe(channel(set))).await?;
        let con = connection(url).await?;
        Ok(RedisFeed {
            set: set.to_owned(),
            con,
            changes: pubsub.into_on_message(),
        })
    }

    /// Every member of the set.
    pub(crate) async fn snapshot(&mut self) -> Result<Vec<String>, StoreError> {
        members(&mut self.con, &self.set).await
    }

    /// A change already received, without waiting.
    pub(crate) fn ready(&mut self) -> Option<Result<Change, StoreError>> {
        use futures_util::FutureExt;
        // Polling a stream's `next` once and dropping it loses nothing.
        match self.changes.next().now_or_never()? {
            Some(message) => {
                let payload: String = message.get_payload().unwrap_or_default();
                Some(Ok(Change::parse(&payload)))
            }
            None => Some(Err(StoreError("the redis subscription closed".into()))),
        }
    }

    /// The next change; an error once the server stops answering.
    pub(crate) async fn next(&mut self) -> Result<Change, StoreError> {
        loop {
            tokio::select! {
                message = self.changes.next() => {
                    let Some(message) = message else {
                        return Err(StoreError("the redis subscription closed".into()));
                    };
                    let payload: String = message.get_payload().unwrap_or_default();
                    return Ok(Change::parse(&payload));
                }
                _ = tokio::time::sleep(PING_EVERY) => {
                    // A silent network can leave the subscription open
                    // and dead; a ping on the other connection notices.
                    let _: String = timed("pinging the redis store", redis::cmd("PING").query_async(&mut self.con)).await?;
                }
            }
        }
    }
}

/// Writes to one Redis set for `corsica origins`.
pub struct RedisWriter {
    set: String,
    con: MultiplexedConnection,
}

impl RedisWriter {
    /// Connects to the store at `url`, for set `set`.
    pub async fn connect(url: &str, set: &str) -> Result<Self, StoreError> {
        Ok(RedisWriter {
            set: set.to_owned(),
            con: connection(url).await?,
        })
    }

    /// Adds and removes members and publishes the change, in one
    /// transaction. Returns how many members were added and removed.
    pub async fn change(
        &mut self,
        add: &[String],
        remove: &[String],
    ) -> Result<(usize, usize), StoreError> {
        let key = set_key(&self.set);
        let mut pipe = redis::pipe();
        pipe.atomic();
        // Large loads go in chunks, so no single command is huge.
        for chunk in add.chunks(10_000) {
            pipe.sadd(&key, chunk);
        }
        for chunk in remove.chunks(10_000) {
            pipe.srem(&key, chunk);
        }
        pipe.publish(channel(&self.set), Change::encode(add, remove));
        let counts: Vec<i64> =
            timed("writing the origin set", pipe.query_async(&mut self.con)).await?;
        let add_chunks = add.chunks(10_000).len();
        let added: i64 = counts.iter().take(add_chunks).sum();
        let removed: i64 = counts
            .iter()
            .skip(add_chunks)
            .take(remove.chunks(10_000).len())
            .sum();
        Ok((added.max(0) as usize, removed.max(0) as usize))
    }

    /// Every member, sorted.
    pub async fn list(&mut self) -> Result<Vec<String>, StoreError> {
        let mut all = members(&mut self.con, &self.set).await?;
        all.sort_unstable();
        Ok(all)
    }

    /// Redis needs no schema: a set exists once it has a member. Checks
    /// that the server answers and that the key is a set (or absent).
    pub async fn init(&mut self) -> Result<(), StoreError> {
        let key = set_key(&self.set);
        let kind: String = timed(
            "checking the origin set",
            redis::cmd("TYPE").arg(&key).query_async(&mut self.con),
        )
        .await?;
        match kind.as_str() {
            "set" | "none" => Ok(()),
            other => Err(StoreError(format!(
                "{key} holds a {other}, not a set; remove it or choose another --set"
            ))),
        }
    }

    /// Deletes the set and tells replicas to reload (used by tests and bulk replacements).
    pub async fn clear(&mut self) -> Result<(), StoreError> {
        let key = set_key(&self.set);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).publish(channel(&self.set), "*");
        timed(
            "clearing the origin set",
            pipe.query_async::<()>(&mut self.con),
        )
        .await
    }
}
