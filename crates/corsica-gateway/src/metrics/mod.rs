//! Prometheus metrics, served by the admin listener at `/metrics`.
//!
//! | metric | labels |
//! | --- | --- |
//! | `corsica_requests_total` | `kind` = `preflight`, `actual`, `non_cors` |
//! | `corsica_cors_decisions_total` | `kind`, `outcome` = `allowed`/`denied`, `report_only` |
//! | `corsica_cors_denied_total` | `kind`, `reason` = the engine's `Denial::code()`, `report_only` |
//! | `corsica_upstream_errors_total` | `kind` = `connect`, `timeout`, `protocol` |
//! | `corsica_request_duration_seconds` | histogram, until the response head |
//! | `corsica_open_connections` | gauge, `worker` = the worker thread serving them |
//! | `corsica_store_members` | gauge, `store` (password redacted), `set`: valid members of an `origins_from` set |
//! | `corsica_store_invalid_members` | gauge, `store`, `set`: members the policy's rules refuse (never matched) |
//! | `corsica_store_stale` | gauge, `store`, `set`: 1 while the store is unreachable and the last known set is served |
//! | `corsica_store_last_sync_age_seconds` | gauge, `store`, `set`: since the last load or applied change; -1 before the first |
//! | `corsica_upstream_stray_responses_total` | `upstream` = host:port; bytes an upstream sent on a connection that no request was waiting on (idle, or not yet fully written to); each closes its connection |
//!
//! CORS counters are fed by the `corsica-tower` observer hook, so they count
//! exactly what the layer decided. Report-only decisions carry
//! `report_only="true"`: a would-be denial is visible without being
//! enforced. The label sets on the hot path are created up front and kept
//! as handles, so counting is an atomic add, not a map lookup, and the hot
//! counters are kept per worker thread and summed when scraped.

mod sharded;

#[cfg(test)]
use std::sync::Arc;

use corsica::RequestKind;
use corsica_tower::{CorsEvent, Outcome};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub(crate) use sharded::set_worker;
use sharded::{ShardedCounter, ShardedHistogram};

type Labels3 = [(&'static str, &'static str); 3];

/// Which way talking to the upstream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamError {
    /// No connection (refused, unreachable, TLS failure).
    Connect,
    /// No answer in time (connect or response timeout).
    Timeout,
    /// A connection, but no valid HTTP answer (reset, garbage).
    Protocol,
}

impl UpstreamError {
    fn index(self) -> usize {
        match self {
            UpstreamError::Connect => 0,
            UpstreamError::Timeout => 1,
            UpstreamError::Protocol => 2,
        }
    }
}

/// Keeps one client connection counted in `corsica_open_connections`.
#[derive(Debug)]
pub(crate) struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Latency buckets, in seconds: 100 µs to 10 s.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    requests: [ShardedCounter; 3],
    // [kind: preflight, actual][outcome: allowed, denied][report_only: false, true]
    decisions: [[[ShardedCounter; 2]; 2]; 2],
    denied: Family<Labels3, Counter>,
    upstream_errors: [Counter; 3],
    duration: ShardedHistogram,
    open_connections: Family<[(&'static str, String); 1], Gauge>,
    stray_responses: Family<[(&'static str, String); 1], Counter>,
    store: StoreGauges,
}

type StoreLabels = [(&'static str, String); 2];

/// The `corsica_store_*` gauges, set from each set's status when scraped.
struct StoreGauges {
    members: Family<StoreLabels, Gauge>,
    invalid: Family<StoreLabels, Gauge>,
    stale: Family<StoreLabels, Gauge>,
    age: Family<StoreLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
}

impl StoreGauges {
    fn register(registry: &mut Registry) -> StoreGauges {
        let gauges = StoreGauges {
            members: Family::default(),
            invalid: Family::default(),
            stale: Family::default(),
            age: Family::default(),
        };
        registry.register(
            "corsica_store_members",
            "Valid members of an origins_from set",
            gauges.members.clone(),
        );
        registry.register(
            "corsica_store_invalid_members",
            "Members of an origins_from set that the policy refuses; never matched",
            gauges.invalid.clone(),
        );
        registry.register(
            "corsica_store_stale",
            "1 while the store is unreachable and the last known set is served",
            gauges.stale.clone(),
        );
        registry.register(
            "corsica_store_last_sync_age_seconds",
            "Seconds since the set was last loaded or changed; -1 before the first load",
            gauges.age.clone(),
        );
        gauges
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric, each series at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();

        let requests_family =
            Family::<[(&'static str, &'static str); 1], ShardedCounter>::default();
        registry.register(
            "corsica_requests",
            "Requests received, by CORS kind",
            requests_family.clone(),
        );
        let requests = [
            RequestKind::Preflight,
            RequestKind::Actual,
            RequestKind::NonCors,
        ]
        .map(|k| requests_family.get_or_create_owned(&[("kind", k.as_str())]));

        let decisions_family = Family::<Labels3, ShardedCounter>::default();
        registry.register(
            "corsica_cors_decisions",
            "CORS decisions, by kind and outcome",
            decisions_family.clone(),
        );
        let decisions = ["preflight", "actual"].map(|kind| {
            ["allowed", "denied"].map(|outcome| {
                ["false", "true"].map(|report_only| {
                    decisions_family.get_or_create_owned(&[
                        ("kind", kind),
                        ("outcome", outcome),
                        ("report_only", report_only),
                    ])
                })
            })
        });

        let denied = Family::<Labels3, Counter>::default();
        registry.register(
            "corsica_cors_denied",
            "CORS requests denied (or, report-only, that would be), by reason",
            denied.clone(),
        );

        let errors_family = Family::<[(&'static str, &'static str); 1], Counter>::default();
        registry.register(
            "corsica_upstream_errors",
            "Requests that failed talking to the upstream, by kind",
            errors_family.clone(),
        );
        let upstream_errors = ["connect", "timeout", "protocol"]
            .map(|kind| errors_family.get_or_create_owned(&[("kind", kind)]));

        let duration = ShardedHistogram::default();
        registry.register(
            "corsica_request_duration_seconds",
            "Time from receiving a request to sending the response head",
            duration.clone(),
        );

        let open_connections = Family::<[(&'static str, String); 1], Gauge>::default();
        registry.register(
            "corsica_open_connections",
            "Client connections open, by worker thread",
            open_connections.clone(),
        );

        let stray_responses = Family::<[(&'static str, String); 1], Counter>::default();
        registry.register(
            "corsica_upstream_stray_responses",
            "Bytes an upstream sent that no request asked for (each closed its connection), by upstream",
            stray_responses.clone(),
        );
        let store = StoreGauges::register(&mut registry);

        Metrics {
            registry,
            requests,
            decisions,
            denied,
            upstream_errors,
            duration,
            open_connections,
            stray_responses,
            store,
        }
    }

    /// Counts bytes `upstream` sent that no request asked for.
    pub(crate) fn stray_response(&self, upstream: &str) {
        self.stray_responses
            .get_or_create(&[("upstream", upstream.to_owned())])
            .inc();
    }

    /// Counts a request by kind.
    pub(crate) fn request(&self, kind: RequestKind) {
        let i = match kind {
            RequestKind::Preflight => 0,
            RequestKind::Actual => 1,
            RequestKind::NonCors => 2,
        };
        self.requests[i].inc();
    }

    /// Counts one CORS decision (the `CorsLayer` observer).
    pub(crate) fn observe(&self, event: &CorsEvent<'_>) {
        let kind = match event.kind {
            RequestKind::Preflight => 0,
            RequestKind::Actual => 1,
            RequestKind::NonCors => return,
        };
        let report_only = usize::from(event.report_only);
        match event.outcome {
            Outcome::NotCors => {}
            Outcome::Allowed => {
                self.decisions[kind][0][report_only].inc();
            }
            Outcome::Denied(denial) => {
                self.decisions[kind][1][report_only].inc();
                let labels: Labels3 = [
                    ("kind", event.kind.as_str()),
                    ("reason", denial.code()),
                    (
                        "report_only",
                        if event.report_only { "true" } else { "false" },
                    ),
                ];
                self.denied.get_or_create(&labels).inc();
            }
        }
    }

    /// Counts a client connection open on `worker` until the guard drops.
    /// Once per connection, so the label lookup is not on the request path.
    pub(crate) fn open_connection(&self, worker: usize) -> OpenConnection {
        let gauge = self
            .open_connections
            .get_or_create_owned(&[("worker", worker.to_string())]);
        gauge.inc();
        OpenConnection(gauge)
    }

    /// Counts a failure talking to the upstream.
    pub(crate) fn upstream_error(&self, kind: UpstreamError) {
        self.upstream_errors[kind.index()].inc();
    }

    /// Records how long a request took until its response head.
    pub(crate) fn duration(&self, seconds: f64) {
        self.duration.observe(seconds);
    }

    /// Sets the `corsica_store_*` gauges from the sets in use (called
    /// before each scrape, so sets no longer used disappear).
    pub(crate) fn observe_stores(&self, sets: &[std::sync::Arc<corsica_store::StoreSet>]) {
        let g = &self.store;
        g.members.clear();
        g.invalid.clear();
        g.stale.clear();
        g.age.clear();
        for set in sets {
            let labels: StoreLabels = [
                ("store", corsica_store::redact(&set.store().url)),
                ("set", set.store().set.clone()),
            ];
            let status = set.status();
            let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            g.members
                .get_or_create(&labels)
                .set(count(status.members()));
            g.invalid
                .get_or_create(&labels)
                .set(count(status.invalid()));
            g.stale
                .get_or_create(&labels)
                .set(i64::from(status.is_stale()));
            g.age
                .get_or_create(&labels)
                .set(status.last_sync_age_secs().unwrap_or(-1.0));
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_starts_at_zero_and_counts() {
        let m = Metrics::new();
        m.request(RequestKind::Preflight);
        m.upstream_error(UpstreamError::Timeout);
        m.duration(0.002);
        let text = m.encode();
        assert!(
            text.contains("corsica_requests_total{kind=\"preflight\"} 1"),
            "{text}"
        );
        assert!(text.contains("corsica_requests_total{kind=\"non_cors\"} 0"));
        assert!(text.contains(
            "corsica_cors_decisions_total{kind=\"actual\",outcome=\"denied\",report_only=\"true\"} 0"
        ));
        assert!(text.contains("corsica_upstream_errors_total{kind=\"timeout\"} 1"));
        assert!(text.contains("corsica_request_duration_seconds_count 1"));
    }

    #[test]
    fn worker_shards_are_summed_when_scraped() {
        let m = Arc::new(Metrics::new());
        m.request(RequestKind::Actual);
        m.duration(0.0004);
        let other = m.clone();
        std::thread::spawn(move || {
            set_worker(3);
            other.request(RequestKind::Actual);
            other.duration(2.0);
        })
        .join()
        .unwrap();
        let text = m.encode();
        assert!(
            text.contains("corsica_requests_total{kind=\"actual\"} 2"),
            "{text}"
        );
        assert!(text.contains("corsica_request_duration_seconds_count 2"));
        assert!(text.contains("corsica_request_duration_seconds_sum 2.0004"));
        assert!(text.contains("corsica_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("corsica_request_duration_seconds_bucket{le=\"2.5\"} 2"));
        assert!(text.contains("corsica_request_duration_seconds_bucket{le=\"+Inf\"} 2"));
    }

    #[test]
    fn denials_are_counted_by_reason() {
        let m = Metrics::new();
        let policy = corsica::Policy::from_toml("origins = [\"https://a.example\"]").unwrap();
        let origin = http::HeaderValue::from_static("https://b.example");
        let denial = corsica::Denial::OriginNotAllowed(&origin);
        m.observe(&CorsEvent {
            kind: RequestKind::Actual,
            outcome: Outcome::Denied(&denial),
            policy: &policy,
            report_only: true,
        });
        let text = m.encode();
        assert!(text.contains(
            "corsica_cors_denied_total{kind=\"actual\",reason=\"origin_not_allowed\",report_only=\"true\"} 1"
        ), "{text}");
        assert!(text.contains(
            "corsica_cors_decisions_total{kind=\"actual\",outcome=\"denied\",report_only=\"true\"} 1"
        ));
    }
}
