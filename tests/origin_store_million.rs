//! A million origins in a real `redis-server`: the CLI's bulk load and a
//! replica that loads and matches them. In a file of its own, so that cargo
//! runs it alone: its seconds of CPU must not slow the 1-second propagation
//! checks of the other store tests.

mod store_support;

use std::time::Duration;

use store_support::{origins_cli, temp_dir, wait_for, Gateway, Redis};

const PROPAGATION: Duration = Duration::from_secs(1);

fn gateway_file(redis: &Redis) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"\n[policy]\norigins = [\"https://static.example\"]\nmethods = [\"PUT\"]\ncredentials = true\norigins_from = \"{}\"\n",
        redis.url()
    )
}

/// A million members: the CLI's bulk load (validated, one transaction, one
/// resync message) and a replica that loads them all and matches them.
#[test]
fn a_million_origins_load_and_match() {
    const N: usize = 1_000_000;
    let redis = Redis::start("million");
    let dir = temp_dir("million");
    let gw = Gateway::start(&dir, "gw", &gateway_file(&redis));
    let synced = wait_for(Duration::from_secs(10), || {
        gw.metric("corsica_store_stale{") == Some(0.0)
    });
    assert!(synced.is_some(), "{:?}", gw.log());
    let list = dir.join("million.txt");
    let mut text = String::with_capacity(N * 40);
    for i in 0..N {
        text.push_str(&format!("https://tenant{i}.customer.example\n"));
    }
    std::fs::write(&list, text).unwrap();
    let (code, out, err) = origins_cli(&[
        "add",
        "--store",
        &redis.url(),
        "--from-file",
        list.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("added 1000000 of 1000000"), "{out}");
    // A debug build validates a million members in well under a minute.
    let loaded = wait_for(Duration::from_secs(120), || {
        gw.metric("corsica_store_members{") == Some(N as f64)
    });
    assert!(loaded.is_some(), "{:?}", gw.log());
    for origin in [
        "https://tenant0.customer.example",
        "https://tenant999999.customer.example",
        "https://tenant500000.customer.example",
    ] {
        assert_eq!(gw.allows(origin), Some(true), "{origin}");
    }
    assert_eq!(
        gw.allows("https://tenant1000000.customer.example"),
        Some(false)
    );
    // A change on top of the million arrives as fast as on a small set.
    let (code, _, err) = origins_cli(&[
        "remove",
        "--store",
        &redis.url(),
        "https://tenant7.customer.example",
    ]);
    assert_eq!(code, 0, "{err}");
    let took = wait_for(PROPAGATION, || {
        gw.allows("https://tenant7.customer.example") == Some(false)
    });
    assert!(took.is_some(), "a removal from a 1M set took over 1 s");
}
