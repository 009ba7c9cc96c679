//! Matching against a store's set at 1,000 and 1,000,000 origins: the
//! engine's lookup alone, corsica's `CorsLayer::with_store` around a
//! trivial service, and tower-http's `AllowOrigin::list` (a `Vec` scanned
//! per request) with the same origins.
//!
//! Run: `cargo bench --bench stored_origins`
//!
//! The allowed origin asked for sits in the middle of the list, the
//! average case of tower-http's linear scan; the refused one is absent, its
//! worst case.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use http::header::{self, HeaderValue};
use http::{Request, Response};
use tower::{service_fn, Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer as TowerCors};

type Body = ();

fn trivial() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    service_fn(|_req: Request<Body>| std::future::ready(Ok::<_, Infallible>(Response::new(()))))
}

fn run<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the trivial service never waits"),
    }
}

fn origins(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://tenant{i}.customer.example"))
        .collect()
}

fn request(origin: &str) -> Request<Body> {
    Request::builder()
        .uri("/")
        .header(header::ORIGIN, origin)
        .body(())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    for n in [1_000, 1_000_000] {
        let all = origins(n);
        let hit = all[n / 2].clone();
        let miss = "https://evil.example".to_owned();
        let policy = corsica::Policy::builder()
            .origins(["https://static.example"])
            .origins_from("redis://127.0.0.1:6379/0")
            .credentials(true)
            .build()
            .unwrap();
        let (stored, refused) = corsica::StoredOrigins::build(policy.origin_rules(), &all);
        assert!(refused.is_empty());
        assert!(stored.contains(hit.as_bytes()) && !stored.contains(miss.as_bytes()));

        let mut group = c.benchmark_group(format!("stored_{n}"));
        if n > 10_000 {
            // tower-http's scan of a million entries takes milliseconds.
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(5));
        }
        for (name, origin) in [("hit", &hit), ("miss", &miss)] {
            group.bench_function(BenchmarkId::new("engine_contains", name), |b| {
                b.iter(|| black_box(&stored).contains(black_box(origin.as_bytes())))
            });
        }
        // A different member each time, spread over the whole set, so that
        // the lookups miss the CPU caches as a busy gateway's would.
        let spread: Vec<&[u8]> = (0..4096)
            .map(|i| all[(i * 7919 + 13) % n].as_bytes())
            .collect();
        group.bench_function(BenchmarkId::new("engine_contains", "hit_spread"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % spread.len();
                black_box(&stored).contains(black_box(spread[i]))
            })
        });

        let live = Arc::new(corsica::LiveOrigins::new(policy.origin_rules()));
        live.store(stored);
        let mut ours = corsica_tower::CorsLayer::new(policy)
            .with_store(live)
            .layer(trivial());
        let list: Vec<HeaderValue> = all.iter().map(|o| o.parse().unwrap()).collect();
        let mut theirs = TowerCors::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
            .layer(trivial());
        for (name, origin) in [("hit", &hit), ("miss", &miss)] {
            let expect = name == "hit";
            let ours_allows = run(ours.call(request(origin)))
                .unwrap()
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN);
            let theirs_allows = run(theirs.call(request(origin)))
                .unwrap()
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN);
            assert_eq!((ours_allows, theirs_allows), (expect, expect));
            group.bench_function(BenchmarkId::new("corsica_layer_with_store", name), |b| {
                b.iter_batched(
                    || request(origin),
                    |req| run(ours.call(req)),
                    BatchSize::SmallInput,
                )
            });
            group.bench_function(BenchmarkId::new("tower_http_list", name), |b| {
                b.iter_batched(
                    || request(origin),
                    |req| run(theirs.call(req)),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
