//! # corsica-store
//!
//! Tenant origins from a live store, for the gateway and the tower layer.
//!
//! A policy with `origins_from = "redis://HOST:PORT/DB"` (and optionally
//! `origin_set = "NAME"`) allows its static `origins` plus the members of
//! that set. [`OriginStores::get`] starts one sync task per set that:
//!
//! - loads the set, validating every member under the policy's rules
//!   ([`corsica::policy::OriginRules`]); a refused member is logged once
//!   with its reason and fix, counted, and never matched;
//! - applies each published change as a delta and swaps the new snapshot in
//!   atomically ([`corsica::LiveOrigins`]);
//! - when the store is unreachable, keeps serving the last known set
//!   (fail-static, never open), marks it stale ([`SyncStatus`]), retries with
//!   backoff (100 ms doubling to 5 s) and reloads in full on reconnect.
//!
//! Redis layout: see [`redis`](crate::redis::set_key); PostgreSQL schema:
//! [`postgres::SCHEMA`]. Writers ([`RedisWriter`], [`PostgresWriter`])
//! announce every change in the same transaction as the write.
#![warn(missing_docs)]

pub mod change;
mod error;
mod hub;
pub mod postgres;
pub mod redis;
mod status;
mod sync;
mod writer;

pub use error::{redact, StoreError};
pub use hub::{OriginStores, StoreSet};
pub use postgres::PostgresWriter;
pub use redis::RedisWriter;
pub use status::SyncStatus;
pub use writer::OriginWriter;
