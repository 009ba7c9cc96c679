//! The three loopback origins: each a hyper HTTP/1.1 server on its own
//! port of 127.0.0.1.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::compose::Ports;
use crate::reply::Body;
use crate::runs::Runs;
use crate::{api, page};

/// A running playground. Dropping it stops the three servers.
#[derive(Debug)]
pub struct Playground {
    ports: Ports,
    tasks: Vec<JoinHandle<()>>,
}

impl Playground {
    /// Starts the page origin on `port` of 127.0.0.1 (0 picks a free one),
    /// and the API and redirect origins on free ports.
    pub async fn start(port: u16) -> std::io::Result<Playground> {
        let bind = |port: u16| TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)));
        let page = bind(port).await?;
        let api = bind(0).await?;
        let redirect = bind(0).await?;
        let ports = Ports {
            page: page.local_addr()?.port(),
            api: api.local_addr()?.port(),
            redirect: redirect.local_addr()?.port(),
        };
        let runs = Arc::new(Runs::default());
        let page_runs = runs.clone();
        let page_task = tokio::spawn(serve(page, move |request| {
            page::answer(page_runs.clone(), ports, request)
        }));
        let origin = |at: &'static str| {
            let runs = runs.clone();
            move |request| {
                let response = api::answer(&runs, at, &request);
                async move { response }
            }
        };
        let api_task = tokio::spawn(serve(api, origin("api")));
        let redirect_task = tokio::spawn(serve(redirect, origin("redirect")));
        Ok(Playground {
            ports,
            tasks: vec![page_task, api_task, redirect_task],
        })
    }

    /// The three ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The URL to open: the page origin's page.
    pub fn url(&self) -> String {
        format!("{}/", Ports::origin(self.ports.page))
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Accepts connections on `listener` forever, answering each request with
/// `handler`.
async fn serve<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(http::Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = http::Response<Body>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = handler(request);
                async move { Ok::<_, Infallible>(response.await) }
            });
            // A browser that closes a connection mid-request is no error
            // of ours.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
