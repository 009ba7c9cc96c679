//! `https://` and h2c upstreams, exported: each target must reach them as
//! `corsica serve` does (a certificate checked for the URL's host against
//! `upstream_ca`; HTTP/2 with prior knowledge), and a target that cannot
//! must refuse to export them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};

mod export_support;
use export_support::{
    assert_refused, compare, free_port, req, run_export, scratch, send, serve_corsica, Req, Seen,
};

/// A self-signed certificate for `san` (a DNS name or an IP address), its
/// key, and its PEM text. Each has its own subject: OpenSSL and BoringSSL
/// look a trust anchor up by subject, so two anchors with one subject in a
/// CA file would hide each other.
fn certificate(san: &str, subject: &str) -> ((rcgen::Certificate, rcgen::KeyPair), String) {
    let mut params = rcgen::CertificateParams::new(vec![san.to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    ((cert, key), pem)
}

/// An HTTPS upstream with `cert` that answers as [`upstream`] does.
fn tls_upstream(
    name: &'static str,
    (cert, key): &(rcgen::Certificate, rcgen::KeyPair),
) -> SocketAddr {
    use std::sync::Arc;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a TLS upstream");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nx-upstream: {name}\r\nAccess-Control-Allow-Origin: *\r\n\
                     Content-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = tls.write_all(reply.as_bytes());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.conn.complete_io(&mut tls.sock);
            });
        }
    });
    addr
}

/// `https://` upstreams are verified as `corsica serve` verifies them: a
/// certificate from `upstream_ca` that names the URL's host is accepted, an
/// untrusted one and one for another name are refused (502, with the
/// policy's CORS headers). Every target must answer as `corsica serve`.
#[test]
fn https_upstreams_are_verified_on_every_target_as_corsica_serve_verifies_them() {
    let dir = scratch("https");
    let (named, named_pem) = certificate("localhost", "corsica test named");
    let (numeric, numeric_pem) = certificate("127.0.0.1", "corsica test numeric");
    let (stranger, _) = certificate("localhost", "corsica test stranger");
    let ca = dir.join("upstream-ca.pem");
    std::fs::write(&ca, format!("{named_pem}{numeric_pem}")).unwrap();
    let named = tls_upstream("named", &named);
    let numeric = tls_upstream("numeric", &numeric);
    let stranger = tls_upstream("stranger", &stranger);
    // nginx and HAProxy check DNS names only; an IP-address upstream is
    // refused for them (checked below), so they run the file without it.
    let file_for = |port: u16, ip_route: bool| {
        let text = format!(
            r#"listen = "127.0.0.1:{port}"
upstream = "https://localhost:{named}"
upstream_ca = "{ca}"

[timeouts]
connect = "2s"
upstream_response = "2s"

[policy]
origins = ["https://app.example.com"]
credentials = true

[[routes]]
path_prefix = "/ip"
upstream = "https://127.0.0.1:{numeric}"

[[routes]]
path_prefix = "/untrusted"
upstream = "https://localhost:{stranger}"

[[routes]]
path_prefix = "/wrong-name"
upstream = "https://localhost:{numeric}"

[[routes]]
path_prefix = "/"
"#,
            named = named.port(),
            numeric = numeric.port(),
            stranger = stranger.port(),
            ca = ca.display(),
        );
        if ip_route {
            text
        } else {
            text.replace(
                &format!(
                    "[[routes]]\npath_prefix = \"/ip\"\nupstream = \"https://127.0.0.1:{}\"\n\n",
                    numeric.port()
                ),
                "",
            )
        }
    };
    let app = "https://app.example.com";
    let requests = [
        req("GET", "/x", &[("Origin", app)]),
        req("GET", "/ip/x", &[("Origin", app)]),
        req("GET", "/untrusted/x", &[("Origin", app)]),
        req("GET", "/wrong-name/x", &[("Origin", app)]),
    ];
    let corsica_port = free_port();
    let _corsica = serve_corsica(&dir, &file_for(corsica_port, true), corsica_port);
    let ours: Vec<Seen> = requests
        .iter()
        .map(|r| send(corsica_port, r).unwrap().0)
        .collect();
    let statuses: Vec<(u16, Option<&str>)> = ours
        .iter()
        .map(|s| (s.status, s.upstream.as_deref()))
        .collect();
    assert_eq!(
        statuses,
        [
            (200, Some("named")),
            (200, Some("numeric")),
            (502, None),
            (502, None)
        ],
        "corsica serve itself"
    );
    let mut diffs = Vec::new();
    for target in ["nginx-lua", "haproxy", "envoy", "caddy"] {
        let port = free_port();
        let checks_ip = matches!(target, "envoy" | "caddy");
        if !checks_ip {
            assert_refused(target, &dir, &file_for(port, true), "routes[0].upstream");
        }
        let running = run_export(target, &dir, &file_for(port, checks_ip), port);
        // Without the IP-address route, /ip falls to another one.
        let (asked, answers): (Vec<&Req>, Vec<&Seen>) = requests
            .iter()
            .zip(&ours)
            .filter(|(r, _)| checks_ip || !r.path.starts_with("/ip"))
            .unzip();
        diffs.extend(compare(&running, port, &asked, &answers));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An upstream that speaks HTTP/2 with prior knowledge only (h2c), as a
/// gRPC server does: it answers as [`upstream`] does, naming the protocol
/// version it was spoken to in, and an HTTP/1.1 client gets nothing.
fn h2c_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an h2c upstream");
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        |req: http::Request<hyper::body::Incoming>| async move {
                            let response = http::Response::builder()
                                .header("x-upstream", format!("h2c {:?}", req.version()))
                                .header("access-control-allow-origin", "*")
                                .body(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
                });
            }
        });
    });
    addr
}

/// `upstream_http2 = true` (h2c) on HAProxy, Envoy and Caddy answers as
/// `corsica serve` does; nginx, which proxies in HTTP/1.x only, refuses to
/// export it.
#[test]
fn h2c_upstreams_are_spoken_to_in_http2_on_every_target_that_can() {
    let dir = scratch("h2c");
    let h2c = h2c_upstream();
    let file_for = |port: u16| {
        format!(
            "listen = \"127.0.0.1:{port}\"\nupstream = \"http://{h2c}\"\nupstream_http2 = true\n\n\
             [policy]\norigins = [\"https://app.example.com\"]\ncredentials = true\n"
        )
    };
    let app = "https://app.example.com";
    let requests = [
        req("GET", "/x", &[("Origin", app)]),
        req("GET", "/x", &[("Origin", "https://evil.example")]),
        req("POST", "/x", &[]),
    ];
    let corsica_port = free_port();
    let _corsica = serve_corsica(&dir, &file_for(corsica_port), corsica_port);
    let ours: Vec<Seen> = requests
        .iter()
        .map(|r| send(corsica_port, r).unwrap().0)
        .collect();
    assert!(
        ours.iter()
            .all(|s| s.status == 200 && s.upstream.as_deref() == Some("h2c HTTP/2.0")),
        "corsica serve itself: {ours:?}"
    );
    for target in ["nginx", "nginx-lua"] {
        assert_refused(target, &dir, &file_for(free_port()), "upstream_http2");
    }
    let asked: Vec<&Req> = requests.iter().collect();
    let answers: Vec<&Seen> = ours.iter().collect();
    let mut diffs = Vec::new();
    for target in ["haproxy", "envoy", "caddy"] {
        let port = free_port();
        let running = run_export(target, &dir, &file_for(port), port);
        diffs.extend(compare(&running, port, &asked, &answers));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
