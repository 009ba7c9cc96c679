//! A minimal Chrome DevTools Protocol client: commands are `{id, method,
//! params, sessionId}` frames over one WebSocket; replies are routed back
//! by id, and every event goes to one queue in arrival order. WebDriver
//! BiDi frames its commands, replies and events the same way, so the
//! Firefox driver uses this client too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// A protocol or transport failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdpError(pub String);

impl std::fmt::Display for CdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CdpError {}

/// An event the browser sent.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event name, e.g. `Network.loadingFailed`.
    pub method: String,
    /// Its parameters.
    pub params: Value,
    /// The session it belongs to (flattened target sessions).
    pub session_id: Option<String>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, CdpError>>>>>;

/// A connection to the browser's DevTools endpoint.
pub struct Cdp {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: AtomicU64,
    events: Option<mpsc::UnboundedReceiver<Event>>,
}

impl Cdp {
    /// Connects to a `ws://` DevTools URL.
    pub async fn connect(url: &str) -> Result<Cdp, CdpError> {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| CdpError(format!("cannot connect to {url}: {e}")))?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        let (event_tx, events) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(m) = to_send.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let routes = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                route(&routes, &event_tx, value);
            }
            // The browser went away: fail every command still waiting.
            let mut waiting = routes.lock().unwrap_or_else(PoisonError::into_inner);
            for (_, tx) in waiting.drain() {
                let _ = tx.send(Err(CdpError("the DevTools connection closed".into())));
            }
        });
        Ok(Cdp {
            outgoing,
            pending,
            next_id: AtomicU64::new(1),
            events: Some(events),
        })
    }

    /// Takes the event queue (once).
    pub fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<Event>> {
        self.events.take()
    }

    /// Sends a command and waits for its result.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            frame["sessionId"] = json!(s);
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, tx);
        self.outgoing
            .send(Message::Text(frame.to_string().into()))
            .map_err(|_| CdpError("the DevTools connection closed".into()))?;
        rx.await
            .map_err(|_| CdpError("the DevTools connection closed".into()))?
            .map_err(|e| CdpError(format!("{method}: {e}")))
    }
}

fn route(pending: &Pending, events: &mpsc::UnboundedSender<Event>, value: Value) {
    if let Some(id) = value.get("id").and_then(Value::as_u64) {
        let waiter = pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if let Some(tx) = waiter {
            let result = match value.get("error") {
                // WebDriver BiDi (same framing) puts the explanation
                // beside the error code.
                Some(e) => Err(CdpError(match value.get("message") {
                    Some(m) => format!("{e}: {m}"),
                    None => e.to_string(),
                })),
                None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
            };
            let _ = tx.send(result);
        }
        return;
    }
    if let Some(method) = value.get("method").and_then(Value::as_str) {
        let _ = events.send(Event {
            method: method.to_owned(),
            params: value.get("params").cloned().unwrap_or(Value::Null),
            session_id: value
                .get("sessionId")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
}
