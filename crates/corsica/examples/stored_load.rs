//! How long validating and compiling a store's set takes, and how much
//! memory it holds per origin.
//!
//! Run: `cargo run --release -p corsica --example stored_load -- 1000000`
//!
//! The members are generated one at a time (as a store's scan hands them
//! over), so the resident-set growth measured is the compiled set's own:
//! the hash set of exact origins with each origin's bytes. Linux only (it
//! reads /proc/self/statm).

use std::time::Instant;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's resident field");
    pages * 4096
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("a count"));
    let policy = corsica::Policy::builder()
        .origins_from("redis://127.0.0.1:6379/0")
        .credentials(true)
        .build()
        .expect("valid policy");
    let before = resident_bytes();
    let started = Instant::now();
    let (set, refused) = corsica::StoredOrigins::build(
        policy.origin_rules(),
        (0..n).map(|i| format!("https://tenant{i}.customer.example")),
    );
    let took = started.elapsed();
    let after = resident_bytes();
    assert!(refused.is_empty() && set.len() == n);
    assert!(set.contains(b"https://tenant0.customer.example"));
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!(
        "{n} origins: validated and compiled in {:.2} s ({:.2} µs each); resident set +{:.1} MiB, {per:.0} bytes per origin",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n as f64,
        (after - before) as f64 / (1 << 20) as f64,
    );
}
