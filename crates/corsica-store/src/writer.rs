//! [`OriginWriter`]: the writer for whichever store a URL names, for
//! `corsica origins`.

use corsica::policy::{store_kind, StoreKind};

use crate::error::StoreError;
use crate::postgres::PostgresWriter;
use crate::redis::RedisWriter;

/// Writes one set of a Redis or PostgreSQL store.
pub enum OriginWriter {
    /// `redis://` / `rediss://`.
    Redis(RedisWriter),
    /// `postgres://`.
    Postgres(PostgresWriter),
}

impl OriginWriter {
    /// Connects to the store `url` names, for set `set`.
    pub async fn connect(url: &str, set: &str) -> Result<Self, StoreError> {
        match store_kind(url).map_err(|(_, reason, fix)| StoreError(format!("{reason}; {fix}")))? {
            StoreKind::Redis => Ok(OriginWriter::Redis(RedisWriter::connect(url, set).await?)),
            StoreKind::Postgres => Ok(OriginWriter::Postgres(
                PostgresWriter::connect(url, set).await?,
            )),
            _ => Err(StoreError(format!("{url}: not a store this build writes"))),
        }
    }

    /// Prepares the store (PostgreSQL: the table and triggers; Redis:
    /// checks that the key is a set or absent).
    pub async fn init(&mut self) -> Result<(), StoreError> {
        match self {
            OriginWriter::Redis(w) => w.init().await,
            OriginWriter::Postgres(w) => w.init().await,
        }
    }

    /// Adds and removes members in one transaction that also announces the
    /// change; returns how many were added and removed.
    pub async fn change(
        &mut self,
        add: &[String],
        remove: &[String],
    ) -> Result<(usize, usize), StoreError> {
        match self {
            OriginWriter::Redis(w) => w.change(add, remove).await,
            OriginWriter::Postgres(w) => w.change(add, remove).await,
        }
    }

    /// Every member, sorted.
    pub async fn list(&mut self) -> Result<Vec<String>, StoreError> {
        match self {
            OriginWriter::Redis(w) => w.list().await,
            OriginWriter::Postgres(w) => w.list().await,
        }
    }
}
