//! corsica's tower layer against tower-http's `CorsLayer`, around the same
//! trivial service, with equivalent allowlists, in one run.
//!
//! Run: `cargo bench --bench middleware`
//!
//! Each group times one request through the middleware: building the
//! request is setup (not timed); the call and the (immediately ready)
//! response future are timed.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response};
use tower::{service_fn, Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer as TowerCors};

type Body = ();

fn trivial() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    service_fn(|_req: Request<Body>| {
        let mut res = Response::new(());
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        std::future::ready(Ok::<_, Infallible>(res))
    })
}

/// Polls a future that the middleware resolves without waiting.
fn run<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the trivial service never waits"),
    }
}

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const REQUEST_HEADERS: [&str; 2] = ["content-type", "x-token"];
const EXPOSE: [&str; 1] = ["x-request-id"];
const ORIGINS: [&str; 3] = [
    "https://app.example.com",
    "https://admin.example.com",
    "https://staging.example.com",
];

fn corsica_layer(origins: &[String]) -> corsica_tower::CorsLayer {
    let policy = corsica::Policy::builder()
        .origins(origins)
        .methods(["PUT", "DELETE"])
        .request_headers(REQUEST_HEADERS)
        .expose_headers(EXPOSE)
        .credentials(true)
        .max_age(600)
        .build()
        .expect("valid policy");
    corsica_tower::CorsLayer::new(policy)
}

fn tower_layer(origin: AllowOrigin) -> TowerCors {
    TowerCors::new()
        .allow_origin(origin)
        .allow_methods(METHODS.map(|m| m.parse::<Method>().unwrap()))
        .allow_headers(REQUEST_HEADERS.map(HeaderName::from_static))
        .expose_headers(EXPOSE.map(HeaderName::from_static))
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

fn request(method: Method, headers: &[(&'static str, &str)]) -> Request<Body> {
    let mut req = Request::builder().method(method).uri("/items");
    for (name, value) in headers {
        req = req.header(*name, HeaderValue::from_str(value).unwrap());
    }
    req.body(()).unwrap()
}

/// Benchmarks one request shape through both layers.
fn group<C, T>(
    c: &mut Criterion,
    name: &str,
    mut corsica: C,
    mut tower: T,
    make: impl Fn() -> Request<Body> + Copy,
    check: impl Fn(&Response<Body>),
) where
    C: Service<Request<Body>, Response = Response<Body>>,
    C::Error: std::fmt::Debug,
    T: Service<Request<Body>, Response = Response<Body>>,
    T::Error: std::fmt::Debug,
{
    // Both must give the browser the same answer before they are compared.
    check(&run(corsica.call(make())).unwrap());
    check(&run(tower.call(make())).unwrap());
    let mut g = c.benchmark_group(name);
    g.bench_function(BenchmarkId::from_parameter("corsica"), |b| {
        b.iter_batched(
            make,
            |req| black_box(run(corsica.call(req))),
            BatchSize::SmallInput,
        )
    });
    let mut base = trivial();
    g.bench_function(BenchmarkId::from_parameter("baseline"), |b| {
        b.iter_batched(
            make,
            |req| black_box(run(base.call(req))),
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::from_parameter("tower-http"), |b| {
        b.iter_batched(
            make,
            |req| black_box(run(tower.call(req))),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn allowed(res: &Response<Body>) {
    assert!(
        res.headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "{res:?}"
    );
}

fn denied(res: &Response<Body>) {
    assert!(
        !res.headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "{res:?}"
    );
}

fn benches(c: &mut Criterion) {
    let three: Vec<String> = ORIGINS.iter().map(|s| s.to_string()).collect();
    let three_values: Vec<HeaderValue> = ORIGINS
        .iter()
        .map(|s| HeaderValue::from_static(s))
        .collect();
    let corsica3 = || corsica_layer(&three).layer(trivial());
    let tower3 = || tower_layer(AllowOrigin::list(three_values.clone())).layer(trivial());

    group(
        c,
        "non_cors",
        corsica3(),
        tower3(),
        || request(Method::GET, &[]),
        |_| (),
    );
    group(
        c,
        "actual_allowed",
        corsica3(),
        tower3(),
        || request(Method::GET, &[("origin", "https://admin.example.com")]),
        allowed,
    );
    group(
        c,
        "preflight_allowed",
        corsica3(),
        tower3(),
        || {
            request(
                Method::OPTIONS,
                &[
                    ("origin", "https://admin.example.com"),
                    ("access-control-request-method", "PUT"),
                    ("access-control-request-headers", "content-type,x-token"),
                ],
            )
        },
        |res| {
            allowed(res);
            assert!(res
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_METHODS));
        },
    );
    group(
        c,
        "preflight_denied",
        corsica3(),
        tower3(),
        || {
            request(
                Method::OPTIONS,
                &[
                    ("origin", "https://evil.example.net"),
                    ("access-control-request-method", "PUT"),
                ],
            )
        },
        denied,
    );

    // 1,000 exact origins plus 10 subdomain patterns. tower-http has no
    // patterns, so it gets what its users write: a predicate over the same
    // list (tower-http's `AllowOrigin::list` is a Vec scan) plus the
    // patterns as dot-anchored suffix checks.
    let mut many: Vec<String> = (0..1000)
        .map(|i| format!("https://app{i:04}.customers.example.com"))
        .collect();
    let patterns: Vec<String> = (0..10)
        .map(|i| format!("https://*.tenant{i}.example.net"))
        .collect();
    let exact_values: Vec<HeaderValue> = many
        .iter()
        .map(|o| HeaderValue::from_str(o).unwrap())
        .collect();
    let suffixes: Vec<String> = (0..10).map(|i| format!(".tenant{i}.example.net")).collect();
    many.extend(patterns);
    let predicate = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        exact_values.contains(origin)
            || origin.to_str().is_ok_and(|o| {
                o.strip_prefix("https://").is_some_and(|host| {
                    suffixes
                        .iter()
                        .any(|s| host.ends_with(s.as_str()) && host.len() > s.len())
                })
            })
    });
    group(
        c,
        "actual_allowed_1000_origins",
        corsica_layer(&many).layer(trivial()),
        tower_layer(predicate).layer(trivial()),
        || {
            request(
                Method::GET,
                &[("origin", "https://app0500.customers.example.com")],
            )
        },
        allowed,
    );
}

criterion_group! {
    name = middleware;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(middleware);
