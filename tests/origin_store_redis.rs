//! Tenant origins from a real `redis-server`: three `corsica serve`
//! replicas sharing one set, changes made with `corsica origins`, invalid
//! members, the store going down and coming back, and a reload while
//! connected. `redis-server` must be installed (./scripts/test.sh installs
//! it); these tests fail, never skip, without it.

mod store_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use store_support::{origins_cli, raw_add, temp_dir, wait_for, Gateway, Redis};

/// A change must reach every replica within this long.
const PROPAGATION: Duration = Duration::from_secs(1);

fn gateway_file(redis: &Redis, extra: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"\n[policy]\norigins = [\"https://static.example\"]\nmethods = [\"PUT\"]\ncredentials = true\norigins_from = \"{}\"\n{extra}",
        redis.url()
    )
}

/// Waits until every replica has loaded the set once (its members gauge is
/// there and it is not stale).
fn wait_synced(gateways: &[&Gateway]) {
    for g in gateways {
        let synced = wait_for(Duration::from_secs(10), || {
            g.metric("corsica_store_stale{") == Some(0.0)
        });
        assert!(synced.is_some(), "a replica never synced: {:?}", g.log());
    }
}

#[test]
fn a_change_reaches_three_replicas_within_a_second_under_load() {
    let redis = Redis::start("three");
    let dir = temp_dir("three");
    let file = gateway_file(&redis, "");
    let replicas: Vec<Gateway> = (0..3)
        .map(|i| Gateway::start(&dir, &format!("replica{i}"), &file))
        .collect();
    let all: Vec<&Gateway> = replicas.iter().collect();
    wait_synced(&all);
    let tenant = "https://shop.customer.example";
    for g in &all {
        assert_eq!(g.allows(tenant), Some(false));
        assert_eq!(g.allows("https://static.example"), Some(true));
    }

    let stop = AtomicBool::new(false);
    let (answered, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        // Load: every replica gets preflights without pause while the set
        // changes; each must be answered 204 or 403.
        for g in &all {
            let (stop, answered, failed) = (&stop, &answered, &failed);
            scope.spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(30);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match g.try_allows("https://static.example") {
                        Some(true) => answered.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        for (change, allowed) in [("add", true), ("remove", false)] {
            // The second counts from before the CLI starts, for all three.
            let written = Instant::now();
            let (code, out, err) = origins_cli(&[change, "--store", &redis.url(), tenant]);
            assert_eq!(code, 0, "{out}{err}");
            for (i, g) in all.iter().enumerate() {
                let left = PROPAGATION.saturating_sub(written.elapsed());
                let took = wait_for(left, || g.allows(tenant) == Some(allowed));
                assert!(
                    took.is_some(),
                    "replica {i} did not see the {change} of {tenant} within 1 s of the write"
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed under load"
    );
    assert!(answered.load(Ordering::Relaxed) > 0);
    for g in &all {
        assert_eq!(g.metric("corsica_store_members{"), Some(0.0));
    }
    let (code, out, _) = origins_cli(&["list", "--store", &redis.url()]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn the_cli_refuses_a_batch_with_any_invalid_origin_and_writes_nothing() {
    let redis = Redis::start("cli");
    let dir = temp_dir("cli");
    let list = dir.join("tenants.txt");
    std::fs::write(
        &list,
        "# tenants\nhttps://a.example\n\nhttp://b.example\nhttps://c.example/\n",
    )
    .unwrap();
    let (code, out, err) = origins_cli(&[
        "add",
        "--store",
        &redis.url(),
        "--from-file",
        list.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    // lint's format: code, file:line:col, the line, the fix.
    assert!(
        err.contains("error[insecure-origin-with-credentials]"),
        "{err}"
    );
    assert!(
        err.contains(&format!("--> {}:4:1", list.display())),
        "{err}"
    );
    assert!(err.contains("error[origin-trailing-slash]"), "{err}");
    assert!(err.contains("fix: write \"https://c.example\""), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    let (code, out, _) = origins_cli(&["list", "--store", &redis.url()]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "a refused batch wrote something"
    );

    // With a policy without credentials, plain http is allowed (as in `origins`).
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "origins = [\"https://static.example\"]\n").unwrap();
    let (code, out, err) = origins_cli(&[
        "add",
        "--store",
        &redis.url(),
        "--set",
        "eu",
        "--policy",
        policy.to_str().unwrap(),
        "http://b.example",
        "https://a.example",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, _) = origins_cli(&["list", "--store", &redis.url(), "--set", "eu"]);
    assert_eq!(out, "http://b.example\nhttps://a.example\n");
    let (_, out, _) = origins_cli(&[
        "list",
        "--store",
        &redis.url(),
        "--set",
        "eu",
        "--format",
        "json",
    ]);
    assert_eq!(out, "[\"http://b.example\",\"https://a.example\"]\n");
    // A bad set name or store is a usage error, exit 2.
    let (code, _, err) = origins_cli(&["list", "--store", &redis.url(), "--set", "a b"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = origins_cli(&["list", "--store", "mysql://h/db"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn invalid_members_are_never_matched_logged_once_and_counted() {
    let redis = Redis::start("invalid");
    let dir = temp_dir("invalid");
    let gw = Gateway::start(&dir, "gw", &gateway_file(&redis, ""));
    wait_synced(&[&gw]);
    // Written around the CLI: plain http with credentials, a wildcard, junk.
    raw_add(
        &redis.url(),
        "default",
        &[
            "http://plain.example",
            "*",
            "https://ok.example",
            "not an origin",
        ],
    );
    let took = wait_for(PROPAGATION, || {
        gw.allows("https://ok.example") == Some(true)
    });
    assert!(took.is_some(), "the valid member never arrived");
    assert_eq!(gw.allows("http://plain.example"), Some(false));
    assert_eq!(
        gw.allows("https://anything.example"),
        Some(false),
        "\"*\" must never open the set"
    );
    assert_eq!(gw.metric("corsica_store_invalid_members{"), Some(3.0));
    assert_eq!(gw.metric("corsica_store_members{"), Some(1.0));
    // The same junk again (a resync on reconnect sees it again): no new log line.
    raw_add(&redis.url(), "default", &["http://plain.example"]);
    std::thread::sleep(Duration::from_millis(300));
    let log = gw.log();
    let lines: Vec<_> = log
        .iter()
        .filter(|l| {
            l.contains("stored origin ignored") && l.contains("member=http://plain.example")
        })
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("insecure-origin-with-credentials"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("fix="), "{}", lines[0]);
}

#[test]
fn a_store_outage_keeps_the_last_set_and_never_allows_more() {
    let mut redis = Redis::start("outage");
    let dir = temp_dir("outage");
    let gw = Gateway::start(&dir, "gw", &gateway_file(&redis, ""));
    wait_synced(&[&gw]);
    assert_eq!(gw.admin_get("/healthz"), (200, healthz_ok()));
    let (code, _, err) = origins_cli(&["add", "--store", &redis.url(), "https://a.example"]);
    assert_eq!(code, 0, "{err}");
    assert!(wait_for(PROPAGATION, || gw.allows("https://a.example") == Some(true)).is_some());

    redis.down();
    let stale = wait_for(Duration::from_secs(10), || {
        gw.admin_get("/healthz").1.starts_with("stale\n")
    });
    assert!(
        stale.is_some(),
        "/healthz never said stale: {:?}",
        gw.admin_get("/healthz")
    );
    let (status, body) = gw.admin_get("/healthz");
    assert_eq!(status, 200, "a stale replica still serves: {body}");
    assert!(
        body.contains("serving the last known set (1 members"),
        "{body}"
    );
    assert_eq!(gw.metric("corsica_store_stale{"), Some(1.0));
    // The last known set keeps serving; nothing else is allowed.
    for _ in 0..20 {
        assert_eq!(gw.allows("https://a.example"), Some(true));
        assert_eq!(gw.allows("https://b.example"), Some(false));
        std::thread::sleep(Duration::from_millis(25));
    }

    // Back, empty (no persistence): the full resync drops a.example.
    redis.up();
    let resynced = wait_for(Duration::from_secs(15), || {
        gw.metric("corsica_store_stale{") == Some(0.0)
    });
    assert!(
        resynced.is_some(),
        "no resync after the store came back: {:?}",
        gw.log()
    );
    assert_eq!(gw.allows("https://a.example"), Some(false));
    assert_eq!(gw.admin_get("/healthz"), (200, healthz_ok()));
    let (code, _, err) = origins_cli(&["add", "--store", &redis.url(), "https://b.example"]);
    assert_eq!(code, 0, "{err}");
    assert!(wait_for(PROPAGATION, || gw.allows("https://b.example") == Some(true)).is_some());
}

#[test]
fn a_replica_that_starts_without_its_store_serves_the_static_origins() {
    let mut redis = Redis::start("late");
    let url = redis.url();
    redis.down();
    let dir = temp_dir("late");
    let gw = Gateway::start(&dir, "gw", &gateway_file(&redis, ""));
    let said = wait_for(Duration::from_secs(5), || {
        gw.log()
            .iter()
            .any(|l| l.contains("serving only the static `origins`"))
    });
    assert!(said.is_some(), "{:?}", gw.log());
    let (status, body) = gw.admin_get("/healthz");
    assert_eq!(status, 200);
    assert!(
        body.contains("never loaded: serving only the static origins"),
        "{body}"
    );
    assert_eq!(gw.allows("https://static.example"), Some(true));
    assert_eq!(gw.allows("https://a.example"), Some(false));
    redis.up();
    let (code, _, err) = origins_cli(&["add", "--store", &url, "https://a.example"]);
    assert_eq!(code, 0, "{err}");
    // The retry backoff is at most 5 s, and the load follows it.
    let took = wait_for(Duration::from_secs(10), || {
        gw.allows("https://a.example") == Some(true)
    });
    assert!(took.is_some(), "{:?}", gw.log());
}

#[test]
fn a_reload_while_connected_switches_sets_without_a_gap() {
    let redis = Redis::start("reload");
    let dir = temp_dir("reload");
    let gw = Gateway::start(&dir, "gw", &gateway_file(&redis, ""));
    wait_synced(&[&gw]);
    for (set, origin) in [
        ("default", "https://d.example"),
        ("eu", "https://eu.example"),
    ] {
        let (code, _, err) = origins_cli(&["add", "--store", &redis.url(), "--set", set, origin]);
        assert_eq!(code, 0, "{err}");
    }
    assert!(wait_for(PROPAGATION, || gw.allows("https://d.example") == Some(true)).is_some());
    assert_eq!(gw.allows("https://eu.example"), Some(false));

    std::fs::write(&gw.config, gateway_file(&redis, "origin_set = \"eu\"\n")).unwrap();
    gw.reload();
    let switched = wait_for(Duration::from_secs(10), || {
        gw.allows("https://eu.example") == Some(true)
    });
    assert!(switched.is_some(), "{:?}", gw.log());
    assert_eq!(gw.allows("https://d.example"), Some(false));
    // A reload that keeps the set keeps its connection and snapshot.
    let resyncs_before = gw
        .log()
        .iter()
        .filter(|l| l.contains("origin set loaded"))
        .count();
    std::fs::write(
        &gw.config,
        gateway_file(&redis, "origin_set = \"eu\"\nmax_age = 60\n"),
    )
    .unwrap();
    gw.reload();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(gw.allows("https://eu.example"), Some(true));
    let resyncs_after = gw
        .log()
        .iter()
        .filter(|l| l.contains("origin set loaded"))
        .count();
    assert_eq!(
        resyncs_before, resyncs_after,
        "the kept set was reloaded from scratch"
    );
    // Still connected: a change still arrives.
    let (code, _, err) = origins_cli(&[
        "add",
        "--store",
        &redis.url(),
        "--set",
        "eu",
        "https://eu2.example",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(wait_for(PROPAGATION, || gw.allows("https://eu2.example")
        == Some(true))
    .is_some());
}

fn healthz_ok() -> String {
    "ok".to_owned()
}

#[test]
fn members_are_judged_under_the_policy_in_force_after_a_reload() {
    let redis = Redis::start("rules");
    let dir = temp_dir("rules");
    let without = gateway_file(&redis, "").replace("credentials = true\n", "");
    let gw = Gateway::start(&dir, "gw", &without);
    wait_synced(&[&gw]);
    let plain = "http://plain.example";
    // Without credentials, plain http is allowed, as it would be in `origins`.
    let policy = dir.join("open.toml");
    std::fs::write(&policy, "origins = [\"https://static.example\"]\n").unwrap();
    let (code, _, err) = origins_cli(&[
        "add",
        "--store",
        &redis.url(),
        "--policy",
        policy.to_str().unwrap(),
        plain,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(wait_for(PROPAGATION, || gw.allows(plain) == Some(true)).is_some());
    // With credentials the same member is refused: never matched, counted.
    std::fs::write(&gw.config, gateway_file(&redis, "")).unwrap();
    gw.reload();
    let refused = wait_for(Duration::from_secs(10), || gw.allows(plain) == Some(false));
    assert!(refused.is_some(), "{:?}", gw.log());
    let counted = wait_for(Duration::from_secs(5), || {
        gw.metric("corsica_store_invalid_members{") == Some(1.0)
    });
    assert!(counted.is_some(), "{:?}", gw.admin_get("/metrics"));
}

#[test]
fn an_application_layer_shares_the_set_with_the_gateways() {
    use corsica_store::OriginStores;
    use tower::{service_fn, Layer, ServiceExt};

    let redis = Redis::start("tower");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let policy = corsica::Policy::builder()
        .origins(["https://static.example"])
        .origins_from(redis.url())
        .credentials(true)
        .build()
        .unwrap();
    let stores = OriginStores::new();
    let set =
        rt.block_on(async { stores.get(policy.origin_store().unwrap(), policy.origin_rules()) });
    let layer = corsica_tower::CorsLayer::new(policy).with_store(set.live().clone());
    let ask = |origin: &str| {
        let svc = layer.layer(service_fn(|_req: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(()))
        }));
        let req = http::Request::builder()
            .uri("/")
            .header(http::header::ORIGIN, origin)
            .body(())
            .unwrap();
        rt.block_on(svc.oneshot(req))
            .unwrap()
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
    };
    let synced = wait_for(Duration::from_secs(10), || !set.status().is_stale());
    assert!(synced.is_some(), "the layer's set never synced");
    let tenant = "https://shop.customer.example";
    assert!(!ask(tenant));
    let (code, _, err) = origins_cli(&["add", "--store", &redis.url(), tenant]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_for(PROPAGATION, || ask(tenant)).is_some(),
        "the change never reached the layer"
    );
    assert!(!ask("https://evil.example"));
}

/// `rediss://`: TLS to Redis, the server's certificate checked against the
/// trust store (here a test CA given with `SSL_CERT_FILE`, which the
/// platform-certificate loader reads).
#[test]
fn tls_to_redis_with_a_verified_certificate() {
    use store_support::origins_cli_env;
    let redis = Redis::start_tls("tls");
    let ca = redis.ca.clone().unwrap();
    let env = [("SSL_CERT_FILE", ca.to_str().unwrap())];
    let dir = temp_dir("tls");
    let gw = Gateway::start_env(&dir, "gw", &gateway_file(&redis, ""), &env);
    wait_synced(&[&gw]);
    let tenant = "https://tls.customer.example";
    let (code, out, err) = origins_cli_env(&["add", "--store", &redis.url(), tenant], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(wait_for(PROPAGATION, || gw.allows(tenant) == Some(true)).is_some());
    // Without the CA the certificate is refused: the CLI fails and writes nothing.
    let (code, _, err) = origins_cli(&["add", "--store", &redis.url(), "https://x.example"]);
    assert_eq!(code, 2, "{err}");
    let (_, listed, _) = origins_cli_env(&["list", "--store", &redis.url()], &env);
    assert_eq!(listed, format!("{tenant}\n"));
}
