//! The layer in front of a tonic server (as for gRPC-web from a browser):
//! tonic accepts it as a layer, and preflights over HTTP/1.1 are answered.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use corsica::Policy;
use corsica_tower::CorsLayer;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tonic::body::Body;
use tonic::server::NamedService;

/// A stand-in gRPC service: answers every call with an empty 200.
#[derive(Clone)]
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "corsica.test.Echo";
}

impl tower::Service<Request<Body>> for Echo {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        Box::pin(async { Ok(Response::new(Body::empty())) })
    }
}

#[tokio::test]
async fn tonic_serves_preflights_through_the_layer() {
    let policy = Policy::from_toml(
        r#"origins = ["https://app.example"]
request_headers = ["content-type", "x-grpc-web", "x-user-agent"]
expose_headers = ["grpc-status", "grpc-message"]"#,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tokio_stream_from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .accept_http1(true)
            .layer(CorsLayer::new(policy))
            .add_service(Echo)
            .serve_with_incoming(incoming),
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri(format!("http://{addr}/corsica.test.Echo/Say"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web")
        .body(Empty::new())
        .unwrap();
    let res = client.request(preflight).await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let call = Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/corsica.test.Echo/Say"))
        .header("origin", "https://app.example")
        .header("content-type", "application/grpc-web")
        .body(Empty::new())
        .unwrap();
    let res = client.request(call).await.unwrap();
    assert_eq!(
        res.headers()["access-control-expose-headers"],
        "grpc-status, grpc-message"
    );
    let _ = res.into_body().collect().await;
}

/// Adapts a listener into the stream of connections tonic serves.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let next = listener.accept().await.map(|(s, _)| s);
        Some((next, listener))
    })
}
