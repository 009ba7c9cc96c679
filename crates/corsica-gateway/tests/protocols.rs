//! HTTP versions and TLS, on both sides of the gateway: TLS termination
//! with HTTP/1.1 and HTTP/2 chosen by ALPN, HTTP/2 with prior knowledge on
//! plain TCP, and `https://` upstreams verified before use.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use corsica_gateway::Options;
use http::{Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;

/// A self-signed certificate for `localhost`, written to PEM files.
struct TestCert {
    der: CertificateDer<'static>,
    cert_path: std::path::PathBuf,
    key_path: std::path::PathBuf,
    key_pem: String,
}

fn test_cert(name: &str) -> TestCert {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = temp_dir(name);
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let cert_pem = generated.cert.pem();
    let key_pem = generated.signing_key.serialize_pem();
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, &key_pem).unwrap();
    TestCert {
        der: generated.cert.der().clone(),
        cert_path,
        key_path,
        key_pem,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS client configuration that trusts `cert` alone.
fn trusting(cert: &TestCert) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A client that trusts `cert` and offers only `alpn`.
fn tls_client(
    cert: &TestCert,
    http2: bool,
) -> Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
> {
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(trusting(cert))
        .https_only();
    let connector = if http2 {
        builder.enable_http2().build()
    } else {
        builder.enable_http1().build()
    };
    let mut client = Client::builder(TokioExecutor::new());
    client.http2_only(http2);
    client.build(connector)
}

async fn tls_get(
    client: &Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
    url: &str,
    headers: &[(&str, &str)],
    method: Method,
) -> Reply {
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = tokio::time::timeout(
        PATIENCE,
        client.request(req.body(Full::new(Bytes::new())).unwrap()),
    )
    .await
    .expect("in time")
    .expect("a response");
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

fn tls_config(upstream: SocketAddr, cert: &TestCert) -> String {
    config_text(
        upstream,
        &format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.cert_path.display(),
            cert.key_path.display()
        ),
    )
}

#[tokio::test]
async fn tls_is_terminated_with_http1_and_http2_by_alpn() {
    let (upstream, calls) = echo_upstream().await;
    let cert = test_cert("tls-termination");
    let gw = gateway(&tls_config(upstream, &cert)).await;
    let url = format!("https://localhost:{}/items", gw.addr.port());

    let h1 = tls_client(&cert, false);
    let reply = tls_get(&h1, &url, &[("origin", APP)], Method::GET).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.version, Version::HTTP_11);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    assert_eq!(reply.json()["headers"]["x-forwarded-proto"], "https");

    let h2 = tls_client(&cert, true);
    let reply = tls_get(&h2, &url, &[("origin", APP)], Method::GET).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.version, Version::HTTP_2);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    // The upstream got an HTTP/1.1 request with the client's host forwarded.
    assert_eq!(reply.json()["version"], "HTTP/1.1");
    assert_eq!(
        reply.json()["headers"]["x-forwarded-host"],
        format!("localhost:{}", gw.addr.port())
    );
    let pre = tls_get(
        &h2,
        &url,
        &[("origin", APP), ("access-control-request-method", "PUT")],
        Method::OPTIONS,
    )
    .await;
    assert_eq!(pre.status, StatusCode::NO_CONTENT);
    assert_eq!(pre.version, Version::HTTP_2);
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("PUT, DELETE")
    );
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn plain_http2_with_prior_knowledge_is_served() {
    let (upstream, _) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let mut builder = Client::builder(TokioExecutor::new());
    builder.http2_only(true);
    let client = builder.build_http::<Full<Bytes>>();
    let reply = send(&client, Method::GET, &gw.url("/x"), &[("origin", APP)], b"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.version, Version::HTTP_2);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn an_http2_host_that_differs_from_the_authority_is_a_400() {
    let (upstream, calls) = echo_upstream().await;
    let gw = gateway(&config_text(upstream, "")).await;
    let mut builder = Client::builder(TokioExecutor::new());
    builder.http2_only(true);
    let client = builder.build_http::<Full<Bytes>>();
    let url = gw.url("/x");
    let reply = send(
        &client,
        Method::GET,
        &url,
        &[("origin", APP), ("host", "internal.example")],
        b"",
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
    assert_eq!(calls.get(), 0, "the request must not reach the upstream");
    // The same Host as the :authority is fine, in any case.
    let authority = gw.addr.to_string().to_uppercase();
    let reply = send(
        &client,
        Method::GET,
        &url,
        &[("origin", APP), ("host", &authority)],
        b"",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[tokio::test]
async fn an_h2c_upstream_is_spoken_to_in_http2_with_prior_knowledge() {
    let (upstream, calls) = echo_upstream().await;
    let toml = format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\nupstream_http2 = true\n\n[policy]\n{POLICY}\n\n[[routes]]\npath_prefix = \"/h1\"\nupstream = \"http://{upstream}\"\n"
    );
    let gw = gateway(&toml).await;
    let client = client();
    for _ in 0..3 {
        let reply = send(
            &client,
            Method::GET,
            &gw.url("/grpcish"),
            &[("origin", APP)],
            b"",
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.json()["version"], "HTTP/2.0");
        assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    }
    // gRPC needs `te: trailers` to reach an HTTP/2 upstream; other TE
    // values are hop-by-hop and stay behind.
    let reply = send(
        &client,
        Method::POST,
        &gw.url("/grpc.Service/Call"),
        &[
            ("te", "gzip, trailers"),
            ("content-type", "application/grpc"),
        ],
        b"",
    )
    .await;
    assert_eq!(reply.json()["headers"]["te"], "trailers");
    // A route with its own upstream and no upstream_http2 speaks HTTP/1.1.
    let reply = send(
        &client,
        Method::GET,
        &gw.url("/h1/x"),
        &[("te", "trailers")],
        b"",
    )
    .await;
    assert_eq!(reply.json()["version"], "HTTP/1.1");
    assert!(
        reply.json()["headers"]["te"].is_null(),
        "TE is hop-by-hop on HTTP/1.1"
    );
    assert_eq!(calls.get(), 5);
}

/// An HTTPS upstream (HTTP/1.1 and HTTP/2 by ALPN) that echoes its version.
async fn https_upstream(cert: &TestCert) -> SocketAddr {
    let certs = vec![cert.der.clone()];
    let key = rustls_pemfile::private_key(&mut cert.key_pem.as_bytes())
        .unwrap()
        .unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    |req: Request<hyper::body::Incoming>| async move {
                        let body = serde_json::json!({
                            "version": format!("{:?}", req.version()),
                            "host": req.uri().authority().map(|a| a.to_string())
                                .or_else(|| req.headers().get("host").and_then(|h| h.to_str().ok()).map(str::to_owned)),
                        });
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from(body.to_string()),
                        )))
                    },
                );
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

fn https_upstream_config(port: u16) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"https://localhost:{port}\"\nadmin_listen = \"127.0.0.1:0\"\n\n[policy]\n{POLICY}\n"
    )
}

#[tokio::test]
async fn an_untrusted_https_upstream_is_refused() {
    let cert = test_cert("untrusted-upstream");
    let upstream = https_upstream(&cert).await;
    // Only the webpki roots: a self-signed certificate must not pass.
    let gw = gateway(&https_upstream_config(upstream.port())).await;
    let reply = get(&gw.url("/x"), &[("origin", APP)]).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.json()["error"], "upstream_unavailable");
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn a_trusted_https_upstream_speaks_http2_by_alpn() {
    let cert = test_cert("trusted-upstream");
    let upstream = https_upstream(&cert).await;
    let options = Options {
        upstream_ca: vec![cert.der.clone()],
        ..Options::default()
    };
    let gw = gateway_with(&https_upstream_config(upstream.port()), options).await;
    let reply = get(&gw.url("/x"), &[("origin", APP)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.json()["version"], "HTTP/2.0");
    assert_eq!(
        reply.json()["host"],
        format!("localhost:{}", upstream.port())
    );
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn upstream_ca_in_the_file_trusts_an_internal_ca() {
    let cert = test_cert("upstream-ca-key");
    let upstream = https_upstream(&cert).await;
    let config = https_upstream_config(upstream.port()).replace(
        "admin_listen",
        &format!(
            "upstream_ca = \"{}\"\nadmin_listen",
            cert.cert_path.display()
        ),
    );
    let gw = gateway(&config).await;
    let reply = get(&gw.url("/x"), &[("origin", APP)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    // A file that holds no certificate is refused where it is named.
    let err = corsica_gateway::config::load_str(&https_upstream_config(upstream.port()).replace(
        "admin_listen",
        "upstream_ca = \"/nonexistent/ca.pem\"\nadmin_listen",
    ))
    .unwrap_err();
    assert_eq!(err.diagnostics[0].code, "upstream-ca");
    assert!(err.diagnostics[0].span.is_some());
}

/// Sends a 1 MB upload to a gateway whose limit is 1000 bytes, while
/// reading its answer; returns what was read, and the write error that
/// stopped the upload, if one did. A client like curl gives up on such an
/// error ("Send failure: Broken pipe") without reading the answer.
async fn upload_over_the_limit<S>(stream: S) -> (String, Option<std::io::Error>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut read, mut write) = tokio::io::split(stream);
    let writer = tokio::spawn(async move {
        let head = format!("POST /items HTTP/1.1\r\nHost: localhost\r\nOrigin: {APP}\r\nContent-Length: 999424\r\n\r\n");
        write.write_all(head.as_bytes()).await?;
        // Paced, as a real upload is: the writes after the gateway's
        // answer must not meet a reset.
        let chunk = vec![b'x'; 16 * 1024];
        for _ in 0..61 {
            write.write_all(&chunk).await?;
            write.flush().await?;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        write.flush().await
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, read.read_to_end(&mut answer)).await;
    let sent = tokio::time::timeout(PATIENCE, writer).await;
    let error = match sent {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(error))) => Some(error),
        _ => Some(std::io::ErrorKind::TimedOut.into()),
    };
    (String::from_utf8_lossy(&answer).into_owned(), error)
}

#[tokio::test]
async fn a_413_reaches_a_client_still_uploading_over_tls_and_plain_tcp() {
    let (upstream, _) = echo_upstream().await;
    let cert = test_cert("linger");
    let limit = "[limits]\nmax_body_bytes = 1000\n";
    let tls_gw = gateway(&format!("{}{limit}", tls_config(upstream, &cert))).await;
    let plain_gw = gateway(&config_text(upstream, limit)).await;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(trusting(&cert)));
    for attempt in 0..3 {
        let tcp = tokio::net::TcpStream::connect(tls_gw.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let (answer, error) = upload_over_the_limit(tls).await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "TLS, attempt {attempt}: {answer:?}"
        );
        assert!(answer.contains("access-control-allow-origin"), "{answer}");
        assert!(
            error.is_none(),
            "TLS, attempt {attempt}: the upload broke off: {error:?}"
        );
        let tcp = tokio::net::TcpStream::connect(plain_gw.addr).await.unwrap();
        let (answer, error) = upload_over_the_limit(tcp).await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "plain, attempt {attempt}: {answer:?}"
        );
        assert!(
            error.is_none(),
            "plain, attempt {attempt}: the upload broke off: {error:?}"
        );
    }
}

/// hyper's HTTP/2 client sends a request body from a task of its own and
/// reports only a reset stream when the body fails: the gateway must still
/// know it was the client that stopped (408), not blame the upstream (502).
#[tokio::test]
async fn a_client_that_stops_its_body_gets_408_through_an_http2_upstream_too() {
    let (upstream, _) = echo_upstream().await;
    let toml = format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\nupstream_http2 = true\nadmin_listen = \"127.0.0.1:0\"\n\n[policy]\n{POLICY}\n\n[timeouts]\nbody_read = \"300ms\"\n\n[limits]\nmax_body_bytes = 10\n"
    );
    let gw = gateway(&toml).await;
    let answer = raw(
        gw.addr,
        b"POST /items HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nContent-Length: 5\r\n\r\nabc",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("access-control-allow-origin: https://app.example"),
        "{answer}"
    );
    // A chunked body over the limit is found out while it streams: 413.
    let answer = raw(
        gw.addr,
        b"POST /items HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let text = metrics(&gw).await;
    assert_eq!(
        metric(&text, "corsica_upstream_errors_total{kind=\"protocol\"}"),
        0.0,
        "the upstream is not to blame"
    );
}

/// A WebSocket handshake to an `https://` upstream that prefers HTTP/2 is
/// still an HTTP/1.1 upgrade: HTTP/2 cannot carry `Upgrade`, and the
/// upstream would see a plain GET.
#[tokio::test]
async fn a_websocket_reaches_an_https_upstream_that_prefers_http2() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    let cert = test_cert("wss-upstream");
    let certs = vec![cert.der.clone()];
    let key = rustls_pemfile::private_key(&mut cert.key_pem.as_bytes())
        .unwrap()
        .unwrap();
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let upstream = tcp_upstream("127.0.0.1:0", move |stream| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() && ws.send(message).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let options = Options {
        upstream_ca: vec![cert.der.clone()],
        ..Options::default()
    };
    let gw = gateway_with(&https_upstream_config(upstream.port()), options).await;
    let mut request = format!("ws://{}/chat", gw.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("origin", APP.parse().unwrap());
    let stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut ws, _) =
        tokio::time::timeout(PATIENCE, tokio_tungstenite::client_async(request, stream))
            .await
            .expect("the handshake completes in time")
            .expect("the upstream upgraded");
    ws.send(Message::text("over wss")).await.unwrap();
    let echo = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("an echo in time")
        .expect("an echo")
        .unwrap();
    assert_eq!(echo, Message::text("over wss"));
}
