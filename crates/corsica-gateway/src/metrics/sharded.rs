//! Per-worker counters and histogram, summed when scraped.
//!
//! Every worker thread counts into its own cache line, so the counters on
//! the hot path are never written by two cores: with one shared atomic (or
//! prometheus-client's histogram, which takes a write lock per
//! observation), every request would bounce those lines between cores,
//! which costs more the more cores serve. The types implement
//! prometheus-client's `EncodeMetric`, so they register and encode like
//! its own.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::BUCKETS;

thread_local! {
    /// Which shard this thread counts into: its worker index (see
    /// [`set_worker`]); 0 on threads that are not gateway workers.
    static SHARD: Cell<usize> = const { Cell::new(0) };
}

/// Shards per metric. Workers beyond this share shards, which is correct,
/// only slower.
const SHARDS: usize = 16;

/// Marks the current thread as gateway worker `worker`, so that its counts
/// go to its own shard: counters written by one core only are never
/// bounced between caches, which counters shared by every worker were, on
/// every request.
pub(crate) fn set_worker(worker: usize) {
    SHARD.with(|s| s.set(worker % SHARDS));
}

fn shard() -> usize {
    SHARD.with(Cell::get)
}

/// An atomic on its own cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Slot(AtomicU64);

/// A counter kept per worker and summed when scraped.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShardedCounter(Arc<[Slot; SHARDS]>);

impl ShardedCounter {
    /// Adds one.
    pub(crate) fn inc(&self) {
        self.0[shard()].0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

impl TypedMetric for ShardedCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for ShardedCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// One worker's share of the latency histogram.
#[derive(Debug, Default)]
#[repr(align(64))]
struct HistogramShard {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    /// The sum in nanoseconds: integer adds need no compare-and-swap loop.
    sum_nanos: AtomicU64,
}

/// The latency histogram, kept per worker and summed when scraped.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShardedHistogram(Arc<[HistogramShard; SHARDS]>);

impl ShardedHistogram {
    /// Records one observation.
    pub(crate) fn observe(&self, seconds: f64) {
        let shard = &self.0[shard()];
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        shard.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        shard.count.fetch_add(1, Ordering::Relaxed);
        // Saturating float-to-int conversion: negative or NaN becomes 0.
        let nanos = (seconds * 1e9) as u64;
        shard.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl EncodeMetric for ShardedHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut counts = [0u64; BUCKETS.len() + 1];
        let (mut count, mut sum_nanos) = (0u64, 0u64);
        for shard in self.0.iter() {
            for (total, bucket) in counts.iter_mut().zip(&shard.buckets) {
                *total += bucket.load(Ordering::Relaxed);
            }
            count += shard.count.load(Ordering::Relaxed);
            sum_nanos = sum_nanos.wrapping_add(shard.sum_nanos.load(Ordering::Relaxed));
        }
        // The encoder accumulates; `f64::MAX` is rendered as `+Inf`.
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(counts)
            .collect();
        encoder.encode_histogram::<NoLabelSet>(sum_nanos as f64 / 1e9, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}
