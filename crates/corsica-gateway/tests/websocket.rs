//! WebSocket handshakes are proxied, and their `Origin` is checked against
//! the route's policy (cross-site WebSocket hijacking protection).

mod common;

use std::net::SocketAddr;

use common::*;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// An upstream that echoes every WebSocket message, and counts handshakes.
async fn ws_echo_upstream() -> (SocketAddr, Calls) {
    let calls = Calls::default();
    let counter = calls.clone();
    let addr = tcp_upstream("127.0.0.1:0", move |stream| {
        let counter = counter.clone();
        async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            counter.inc();
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    (addr, calls)
}

async fn connect(
    gateway: SocketAddr,
    origin: Option<&str>,
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, WsError> {
    let mut request = format!("ws://{gateway}/chat").into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    let stream = TcpStream::connect(gateway).await.unwrap();
    let (ws, _response) =
        tokio::time::timeout(PATIENCE, tokio_tungstenite::client_async(request, stream))
            .await
            .expect("the handshake completes in time")?;
    Ok(ws)
}

async fn echoes(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) {
    ws.send(Message::text("ping through the gateway"))
        .await
        .unwrap();
    let reply = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("an echo in time")
        .expect("an echo")
        .unwrap();
    assert_eq!(reply, Message::text("ping through the gateway"));
}

#[tokio::test]
async fn an_allowed_origin_upgrades_and_echoes() {
    let (upstream, calls) = ws_echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let mut ws = connect(gw.addr, Some(APP))
        .await
        .expect("the upgrade succeeds");
    echoes(&mut ws).await;
    // Both directions, several times.
    for i in 0..5 {
        ws.send(Message::binary(vec![i; 1000])).await.unwrap();
        let back = ws.next().await.unwrap().unwrap();
        assert_eq!(back, Message::binary(vec![i; 1000]));
    }
    ws.close(None).await.unwrap();
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_foreign_origin_gets_403_and_never_reaches_the_upstream() {
    let (upstream, calls) = ws_echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    match connect(gw.addr, Some(EVIL)).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(response
                .headers()
                .get("access-control-allow-origin")
                .is_none());
        }
        Err(other) => panic!("expected a 403, got {other}"),
        Ok(_) => panic!("a foreign origin must not upgrade"),
    }
    assert_eq!(calls.get(), 0);
    // `null` (sandboxed iframes, file://) is refused too.
    assert!(
        matches!(connect(gw.addr, Some("null")).await, Err(WsError::Http(r)) if r.status() == StatusCode::FORBIDDEN)
    );
}

#[tokio::test]
async fn a_handshake_without_origin_is_a_non_browser_client_and_passes() {
    let (upstream, calls) = ws_echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let mut ws = connect(gw.addr, None)
        .await
        .expect("non-browser clients may connect");
    echoes(&mut ws).await;
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn report_only_routes_let_a_foreign_origin_through() {
    let (upstream, _) = ws_echo_upstream().await;
    let routes = "[[routes]]\npath_prefix = \"/chat\"\nmode = \"report-only\"\n";
    let gw = gateway(&config_text(upstream, routes)).await;
    let mut ws = connect(gw.addr, Some(EVIL))
        .await
        .expect("report-only enforces nothing");
    echoes(&mut ws).await;
}

#[tokio::test]
async fn a_handshake_to_an_h2c_upstream_is_refused_with_the_reason() {
    let (upstream, calls) = ws_echo_upstream().await;
    let toml =
        config_text(upstream, "").replace("upstream = ", "upstream_http2 = true\nupstream = ");
    let gw = gateway(&toml).await;
    match connect(gw.addr, Some(APP)).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.contains("websocket_needs_http1_upstream"), "{body}");
            // The page may read why: the allowed origin gets its CORS headers.
            assert_eq!(
                response
                    .headers()
                    .get("access-control-allow-origin")
                    .unwrap(),
                APP
            );
        }
        Err(other) => panic!("expected a 502, got {other}"),
        Ok(_) => panic!("HTTP/2 with prior knowledge cannot carry the upgrade"),
    }
    assert_eq!(calls.get(), 0);
}

/// A tunnel in use stays open past `timeouts.idle`; a silent one is
/// closed after it.
#[tokio::test]
async fn a_silent_tunnel_is_closed_after_idle_and_a_busy_one_is_not() {
    let (upstream, _) = ws_echo_upstream().await;
    let gw = gateway(&config_text(upstream, "[timeouts]\nidle = \"600ms\"\n")).await;
    let mut busy = connect(gw.addr, Some(APP)).await.expect("upgrade");
    for _ in 0..8 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        echoes(&mut busy).await;
    }
    let mut silent = connect(gw.addr, Some(APP)).await.expect("upgrade");
    let started = std::time::Instant::now();
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), silent.next())
        .await
        .expect("the silent tunnel is closed by the gateway");
    assert!(
        !matches!(end, Some(Ok(Message::Text(_) | Message::Binary(_)))),
        "{end:?}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(500));
}
