//! The built-in demo: what the walkthrough prints is what the gateway does.

mod common;

use common::*;
use corsica_gateway::{config, demo, Gateway, Options};
use http::{Method, StatusCode};

#[tokio::test]
async fn the_walkthrough_matches_what_the_gateway_answers() {
    let api = demo::start_api().await.unwrap();
    let text = demo::config(api, "127.0.0.1:0".parse().unwrap());
    let config = config::load_str(&text).unwrap();
    let gw = Gateway::bind(config, Options::default()).await.unwrap();
    let addr = gw.local_addr();
    tokio::spawn(gw.run());

    let policy = demo::policy().unwrap();
    let steps = demo::walkthrough(&policy);
    assert_eq!(steps.len(), 3);
    let client = client();
    for step in &steps {
        let curl = step.curl(addr);
        assert!(curl.starts_with("curl -i"), "{curl}");
        assert!(
            curl.contains(&format!("http://{addr}{}", step.path)),
            "{curl}"
        );
        let headers: Vec<(&str, &str)> =
            step.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = send(
            &client,
            step.method.clone(),
            &format!("http://{addr}{}", step.path),
            &headers,
            b"",
        )
        .await;
        assert_eq!(
            reply.status, step.status,
            "{}: {:?}",
            step.title, reply.headers
        );
        for (name, value) in &step.expect {
            assert!(
                reply
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .any(|v| v == value.as_str()),
                "{}: expected {name}: {value}, got {:?}",
                step.title,
                reply.headers
            );
        }
    }
    // The three stories: a preflight passes, the actual request passes, a
    // foreign origin is refused with the reason.
    assert_eq!(steps[0].status, StatusCode::NO_CONTENT);
    assert_eq!(steps[1].status, StatusCode::OK);
    assert_eq!(steps[2].status, StatusCode::FORBIDDEN);
    assert!(steps[2]
        .expect
        .iter()
        .any(|(k, v)| k == "x-corsica-debug" && v.contains("not in the allowlist")));
}

#[tokio::test]
async fn the_demo_api_works_through_the_gateway() {
    let api = demo::start_api().await.unwrap();
    let text = demo::config(api, "127.0.0.1:0".parse().unwrap());
    let gw = gateway(&text).await;
    let origin = [
        ("origin", demo::PAGE_ORIGIN),
        ("content-type", "application/json"),
    ];
    let list = get(&gw.url("/api/items"), &origin).await;
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    assert_eq!(
        list.header("access-control-allow-origin"),
        Some(demo::PAGE_ORIGIN)
    );
    let created = send(
        &client(),
        Method::POST,
        &gw.url("/api/items"),
        &origin,
        br#"{"name":"tea"}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.json()["name"], "tea");
    let id = created.json()["id"].as_u64().unwrap();
    let deleted = send(
        &client(),
        Method::DELETE,
        &gw.url(&format!("/api/items/{id}")),
        &origin,
        b"",
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        deleted.header("access-control-allow-origin"),
        Some(demo::PAGE_ORIGIN)
    );
    let again = send(
        &client(),
        Method::DELETE,
        &gw.url(&format!("/api/items/{id}")),
        &origin,
        b"",
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}
