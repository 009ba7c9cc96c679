//! The decision for an actual request makes no heap allocation. A counting
//! global allocator proves it: it counts, per thread, every allocation made
//! while the engine decides.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use corsica::{Decision, Policy};
use http::header::{self, HeaderMap, HeaderValue};
use http::Method;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

fn request(origin: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    // Built from runtime bytes, as a server's parser would, not from a static.
    headers.insert(
        header::ORIGIN,
        HeaderValue::from_bytes(origin.as_bytes()).unwrap(),
    );
    headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    headers
}

fn policies() -> Vec<Policy> {
    let many: Vec<String> = (0..1000)
        .map(|i| format!("https://app{i}.example.com"))
        .collect();
    vec![
        Policy::builder()
            .origins([
                "https://app.example.com",
                "https://*.tenant.example",
                "http://localhost:*",
            ])
            .expose_headers(["x-request-id"])
            .credentials(true)
            .build()
            .unwrap(),
        Policy::builder()
            .origins(many.iter().chain([&"https://*.tenant.example".to_owned()]))
            .build()
            .unwrap(),
        Policy::builder()
            .origins(["*"])
            .expose_headers(["*"])
            .build()
            .unwrap(),
    ]
}

#[test]
fn deciding_an_actual_request_never_allocates() {
    for policy in policies() {
        for origin in [
            "https://app.example.com",
            "https://app500.example.com",
            "https://a.tenant.example",
            "http://localhost:5173",
            "https://evil.example",
            "null",
        ] {
            let headers = request(origin);
            let (count, allowed) =
                allocations_during(|| match policy.decide(&Method::GET, &headers) {
                    Decision::Forward(f) => f.is_allowed(),
                    Decision::Preflight(_) => unreachable!("a GET is never a preflight"),
                });
            assert_eq!(
                count, 0,
                "{origin} allocated {count} times (allowed: {allowed})"
            );
        }
    }
}

#[test]
fn applying_the_decision_to_a_sized_response_never_allocates() {
    let policy = &policies()[0];
    let headers = request("https://app.example.com");
    let mut response = HeaderMap::with_capacity(16);
    response.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let (count, ()) = allocations_during(|| match policy.decide(&Method::GET, &headers) {
        Decision::Forward(f) => {
            let plan = f.to_plan();
            plan.apply(&mut response);
        }
        Decision::Preflight(_) => unreachable!(),
    });
    assert_eq!(count, 0);
    assert_eq!(
        response[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    assert_eq!(response[header::VARY], "Origin");
}

#[test]
fn deciding_against_a_store_set_never_allocates() {
    let policy = Policy::builder()
        .origins(["https://static.example"])
        .origins_from("redis://127.0.0.1:6379/0")
        .credentials(true)
        .build()
        .unwrap();
    let members: Vec<String> = (0..10_000)
        .map(|i| format!("https://tenant{i}.customer.example"))
        .chain(["https://*.wild.example".to_owned()])
        .collect();
    let (base, _) = corsica::StoredOrigins::build(policy.origin_rules(), &members);
    // A snapshot with an overlay (added and removed members) too.
    let (changed, _) = base.with_changes(
        &["https://new.customer.example"],
        &["https://tenant1.customer.example"],
    );
    let live = corsica::LiveOrigins::new(policy.origin_rules());
    live.store(changed);
    for (origin, expected) in [
        ("https://tenant5000.customer.example", true),
        ("https://new.customer.example", true),
        ("https://a.wild.example", true),
        ("https://static.example", true),
        ("https://tenant1.customer.example", false),
        ("https://evil.example", false),
    ] {
        let headers = request(origin);
        let (count, allowed) = allocations_during(|| {
            let stored = live.load();
            match policy.decide_stored(&Method::GET, &headers, &stored) {
                Decision::Forward(f) => f.is_allowed(),
                Decision::Preflight(_) => unreachable!("a GET is never a preflight"),
            }
        });
        assert_eq!(allowed, expected, "{origin}");
        assert_eq!(count, 0, "{origin} allocated {count} times");
    }
}

#[test]
fn the_counter_counts() {
    // Guards the guard: if counting were broken, the tests above would pass vacuously.
    let (count, v) = allocations_during(|| vec![1u8; 64]);
    assert!(count >= 1 && v.len() == 64);
}
