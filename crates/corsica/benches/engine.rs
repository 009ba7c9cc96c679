//! The engine alone: how long a decision takes, without middleware.
//!
//! Run: `cargo bench -p corsica --bench engine`

use std::hint::black_box;
use std::time::Duration;

use corsica::{Decision, Policy};
use criterion::{criterion_group, criterion_main, Criterion};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in pairs {
        map.insert(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    map
}

fn benches(c: &mut Criterion) {
    let policy = Policy::builder()
        .origins([
            "https://app.example.com",
            "https://admin.example.com",
            "https://*.tenant.example.net",
        ])
        .methods(["PUT", "DELETE"])
        .request_headers(["content-type", "x-token"])
        .expose_headers(["x-request-id"])
        .credentials(true)
        .max_age(600)
        .build()
        .unwrap();
    let actual = headers(&[("origin", "https://admin.example.com")]);
    let pattern = headers(&[("origin", "https://a.tenant.example.net")]);
    let preflight = headers(&[
        ("origin", "https://admin.example.com"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type,x-token"),
    ]);
    let mut commas = String::from("x-token");
    commas.push_str(&",".repeat(4000));
    let mut hostile = headers(&[
        ("origin", "https://admin.example.com"),
        ("access-control-request-method", "PUT"),
    ]);
    hostile.insert(
        "access-control-request-headers",
        HeaderValue::from_str(&commas).unwrap(),
    );

    let mut g = c.benchmark_group("engine");
    g.bench_function("decide_actual_exact", |b| {
        b.iter(|| black_box(policy.decide(&Method::GET, black_box(&actual))).kind())
    });
    g.bench_function("decide_actual_pattern", |b| {
        b.iter(|| black_box(policy.decide(&Method::GET, black_box(&pattern))).kind())
    });
    g.bench_function("decide_preflight", |b| {
        b.iter(|| black_box(policy.decide(&Method::OPTIONS, black_box(&preflight))).kind())
    });
    g.bench_function("decide_preflight_4000_commas", |b| {
        b.iter(|| black_box(policy.decide(&Method::OPTIONS, black_box(&hostile))).kind())
    });
    g.bench_function("preflight_headers", |b| {
        b.iter(|| match policy.decide(&Method::OPTIONS, &preflight) {
            Decision::Preflight(p) => black_box(p.headers()),
            Decision::Forward(_) => unreachable!(),
        })
    });
    g.bench_function("actual_apply", |b| {
        b.iter(|| match policy.decide(&Method::GET, &actual) {
            Decision::Forward(f) => {
                let mut out = HeaderMap::with_capacity(8);
                f.apply(&mut out);
                black_box(out)
            }
            Decision::Preflight(_) => unreachable!(),
        })
    });
    g.finish();
}

criterion_group! {
    name = engine;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(engine);
