//! Tenant origins from a real PostgreSQL (Debian's package, run as a
//! non-root user on a loopback port): the table and triggers made by
//! `corsica origins init`, three replicas, invalid rows, and the database
//! going down and coming back. PostgreSQL must be installed
//! (./scripts/test.sh installs it); these tests fail, never skip, without it.

mod store_support;

use std::time::Duration;

use store_support::{origins_cli, raw_add, temp_dir, wait_for, Gateway, Postgres};

const PROPAGATION: Duration = Duration::from_secs(1);

fn gateway_file(pg: &Postgres, extra: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"\n[policy]\norigins = [\"https://static.example\"]\nmethods = [\"PUT\"]\ncredentials = true\norigins_from = \"{}\"\n{extra}",
        pg.url()
    )
}

fn wait_synced(g: &Gateway) {
    let synced = wait_for(Duration::from_secs(15), || {
        g.metric("corsica_store_stale{") == Some(0.0)
    });
    assert!(synced.is_some(), "a replica never synced: {:?}", g.log());
}

#[test]
fn three_replicas_follow_the_table_and_survive_an_outage() {
    let mut pg = Postgres::start("pg");
    let url = pg.url();
    let (code, out, err) = origins_cli(&["init", "--store", &url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("table corsica_origins"), "{out}");
    // init is idempotent.
    let (code, _, err) = origins_cli(&["init", "--store", &url]);
    assert_eq!(code, 0, "{err}");

    let dir = temp_dir("pg");
    let file = gateway_file(&pg, "");
    let replicas: Vec<Gateway> = (0..3)
        .map(|i| Gateway::start(&dir, &format!("replica{i}"), &file))
        .collect();
    for g in &replicas {
        wait_synced(g);
    }
    let tenant = "https://shop.customer.example";
    let (code, _, err) = origins_cli(&["add", "--store", &url, tenant]);
    assert_eq!(code, 0, "{err}");
    for (i, g) in replicas.iter().enumerate() {
        let took = wait_for(PROPAGATION, || g.allows(tenant) == Some(true));
        assert!(
            took.is_some(),
            "replica {i} did not allow {tenant} within 1 s"
        );
    }
    // Another set's rows do not leak into this one.
    let (code, _, err) =
        origins_cli(&["add", "--store", &url, "--set", "eu", "https://eu.example"]);
    assert_eq!(code, 0, "{err}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(replicas[0].allows("https://eu.example"), Some(false));

    // Rows written around the CLI are validated by each replica.
    raw_add(
        &url,
        "default",
        &["http://plain.example", "*", "https://ok.example"],
    );
    assert!(
        wait_for(PROPAGATION, || replicas[1].allows("https://ok.example")
            == Some(true))
        .is_some()
    );
    assert_eq!(replicas[1].allows("http://plain.example"), Some(false));
    assert_eq!(replicas[1].allows("https://any.example"), Some(false));
    assert_eq!(
        replicas[1].metric("corsica_store_invalid_members{"),
        Some(2.0)
    );

    let (code, _, err) = origins_cli(&["remove", "--store", &url, tenant]);
    assert_eq!(code, 0, "{err}");
    for (i, g) in replicas.iter().enumerate() {
        let took = wait_for(PROPAGATION, || g.allows(tenant) == Some(false));
        assert!(
            took.is_some(),
            "replica {i} still allowed {tenant} 1 s after its removal"
        );
    }

    // The database goes down: the last set keeps serving, stale, never more.
    pg.down();
    for g in &replicas {
        let stale = wait_for(Duration::from_secs(10), || {
            g.admin_get("/healthz").1.starts_with("stale\n")
        });
        assert!(stale.is_some(), "{:?}", g.admin_get("/healthz"));
        assert_eq!(g.allows("https://ok.example"), Some(true));
        assert_eq!(g.allows(tenant), Some(false));
    }
    pg.up();
    for g in &replicas {
        wait_synced(g);
    }
    let (code, _, err) = origins_cli(&["add", "--store", &url, "https://after.example"]);
    assert_eq!(code, 0, "{err}");
    for (i, g) in replicas.iter().enumerate() {
        let took = wait_for(PROPAGATION, || {
            g.allows("https://after.example") == Some(true)
        });
        assert!(
            took.is_some(),
            "replica {i} missed a change after the database came back"
        );
    }
    let (_, listed, _) = origins_cli(&["list", "--store", &url]);
    assert_eq!(
        listed,
        "*\nhttp://plain.example\nhttps://after.example\nhttps://ok.example\n"
    );
}

/// A bulk load (over 10,000 rows) silences the row trigger and sends one
/// resync; a replica then holds every row. A plain `INSERT` by another tool
/// is announced by the trigger like the CLI's.
#[test]
fn a_bulk_load_arrives_as_one_resync_and_foreign_inserts_are_seen() {
    let pg = Postgres::start("pgbulk");
    let url = pg.url();
    let (code, _, err) = origins_cli(&["init", "--store", &url]);
    assert_eq!(code, 0, "{err}");
    let dir = temp_dir("pgbulk");
    let gw = Gateway::start(&dir, "gw", &gateway_file(&pg, ""));
    wait_synced(&gw);
    let list = dir.join("bulk.txt");
    let text: String = (0..20_000)
        .map(|i| format!("https://t{i}.bulk.example\n"))
        .collect();
    std::fs::write(&list, text).unwrap();
    let (code, out, err) = origins_cli(&[
        "add",
        "--store",
        &url,
        "--from-file",
        list.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let loaded = wait_for(Duration::from_secs(30), || {
        gw.metric("corsica_store_members{") == Some(20_000.0)
    });
    assert!(loaded.is_some(), "{:?}", gw.log());
    assert_eq!(gw.allows("https://t19999.bulk.example"), Some(true));
    // The bulk rows were not announced one by one: one full load followed.
    let loads = gw
        .log()
        .iter()
        .filter(|l| l.contains("origin set loaded"))
        .count();
    assert_eq!(loads, 2, "{:?}", gw.log());

    // Another tool's plain SQL, through the same trigger.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .execute(
                "INSERT INTO corsica_origins (set_name, origin) VALUES ('default', 'https://sql.example')",
                &[],
            )
            .await
            .unwrap();
    });
    assert!(wait_for(PROPAGATION, || gw.allows("https://sql.example")
        == Some(true))
    .is_some());
}

/// `?sslmode=require`: TLS with rustls, the server's certificate checked
/// against the trust store (a test CA given with `SSL_CERT_FILE`).
#[test]
fn tls_to_postgres_with_a_verified_certificate() {
    use store_support::origins_cli_env;
    let pg = Postgres::start_tls("pgtls");
    let url = pg.url();
    let ca = pg.ca.clone().unwrap();
    let env = [("SSL_CERT_FILE", ca.to_str().unwrap())];
    let (code, out, err) = origins_cli_env(&["init", "--store", &url], &env);
    assert_eq!(code, 0, "{out}{err}");
    let dir = temp_dir("pgtls");
    let gw = Gateway::start_env(&dir, "gw", &gateway_file(&pg, ""), &env);
    wait_synced(&gw);
    let tenant = "https://tls.customer.example";
    let (code, out, err) = origins_cli_env(&["add", "--store", &url, tenant], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(wait_for(PROPAGATION, || gw.allows(tenant) == Some(true)).is_some());
    // Without the CA the certificate is refused: nothing is written.
    let (code, _, err) = origins_cli(&["add", "--store", &url, "https://x.example"]);
    assert_eq!(code, 2, "{err}");
    let (_, listed, _) = origins_cli_env(&["list", "--store", &url], &env);
    assert_eq!(listed, format!("{tenant}\n"));
}
