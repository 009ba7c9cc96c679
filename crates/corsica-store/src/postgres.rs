//! PostgreSQL: one table for every set, changes pushed by a trigger with
//! `NOTIFY`.
//!
//! [`SCHEMA`] is what `corsica origins init` runs:
//!
//! - table `corsica_origins (set_name text, origin text, added_at
//!   timestamptz)`, primary key `(set_name, origin)`;
//! - a row trigger that, on every insert, update and delete, sends
//!   `NOTIFY corsica_origins` with the payload `SET\n+ORIGIN` or
//!   `SET\n-ORIGIN`, and a statement trigger that sends `SET\n*` for every
//!   set on `TRUNCATE` (a full resync);
//! - bulk writers set `corsica.bulk = 'on'` in their transaction, which
//!   silences the row trigger, and send one `*` instead of a million rows.
//!
//! A replica listens before it loads the set, so no change falls between
//! the two (as with Redis, applying every later change to a snapshot taken
//! after listening converges to the table).

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::change::{Change, MAX_DELTA};
use crate::error::{redact, StoreError};

/// The channel every change is announced on.
pub const CHANNEL: &str = "corsica_origins";

/// How long connecting, and any one statement, may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How often an idle listener checks that the server still answers.
const PING_EVERY: Duration = Duration::from_secs(2);

/// The schema `corsica origins init` creates (idempotent).
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS corsica_origins (
    set_name  text        NOT NULL,
    origin    text        NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (set_name, origin)
);
CREATE OR REPLACE FUNCTION corsica_origins_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('corsica.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM pg_notify('corsica_origins', OLD.set_name || E'\n-' || OLD.origin);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('corsica_origins', NEW.set_name || E'\n+' || NEW.origin);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION corsica_origins_notify_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('corsica_origins', E'*\n*');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS corsica_origins_changed ON corsica_origins;
CREATE TRIGGER corsica_origins_changed
    AFTER INSERT OR UPDATE OR DELETE ON corsica_origins
    FOR EACH ROW EXECUTE FUNCTION corsica_origins_notify();
DROP TRIGGER IF EXISTS corsica_origins_truncated ON corsica_origins;
CREATE TRIGGER corsica_origins_truncated
    AFTER TRUNCATE ON corsica_origins
    FOR EACH STATEMENT EXECUTE FUNCTION corsica_origins_notify_truncate();
"#;

async fn timed<T>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StoreError::new(what, e)),
        Err(_) => Err(StoreError::new(
            what,
            format!("no answer in {} s", TIMEOUT.as_secs()),
        )),
    }
}

/// Whether the URL asks for TLS (`?sslmode=require`).
fn wants_tls(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, v)| k == "sslmode" && v != "disable" && v != "prefer")
    })
}

/// A rustls connector that checks the server's certificate against the
/// platform's trust store (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured).
fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A certificate the store cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(StoreError(
            "TLS to PostgreSQL: no trusted CA certificate found (set SSL_CERT_FILE)".into(),
        ));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::new("TLS to PostgreSQL", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A client whose connection is driven by its own task; notifications
/// arrive on the returned channel, which closes when the connection ends.
/// `?sslmode=require` connects with TLS and a verified certificate; without
/// it, in plain text.
async fn connect(url: &str) -> Result<(Client, mpsc::UnboundedReceiver<String>), StoreError> {
    let what = format!("connecting to postgres store {}", redact(url));
    if wants_tls(url) {
        let tls = tls_connector()?;
        let (client, connection) = timed(&what, tokio_postgres::connect(url, tls)).await?;
        Ok((client, drive(connection)))
    } else {
        let (client, connection) = timed(&what, tokio_postgres::connect(url, NoTls)).await?;
        Ok((client, drive(connection)))
    }
}

/// Polls `connection` on its own task, forwarding notifications.
fn drive<S, T>(mut connection: tokio_postgres::Connection<S, T>) -> mpsc::UnboundedReceiver<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(target: "corsica::store", %error, "postgres connection ended");
                    return;
                }
            }
        }
    });
    rx
}

async fn members(client: &Client, set: &str) -> Result<Vec<String>, StoreError> {
    let rows = timed(
        "reading the origin set",
        client.query(
            "SELECT origin FROM corsica_origins WHERE set_name = $1",
            &[&set],
        ),
    )
    .await?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// A replica's view of one set in the table.
pub(crate) struct PostgresFeed {
    set: String,
    client: Client,
    notifications: mpsc::UnboundedReceiver<String>,
}

impl PostgresFeed {
    /// Listens on [`CHANNEL`] first, so the snapshot misses no change.
    pub(crate) async fn connect(url: &str, set: &str) -> Result<Self, StoreError> {
        let (client, notifications) = connect(url).await?;
        timed(
            "listening for changes",
            client.batch_execute("LISTEN corsica_origins"),
        )
        .await?;
        Ok(PostgresFeed {
            set: set.to_owned(),
            client,
            notifications,
        })
    }

    /// Every member of the set.
    pub(crate) async fn snapshot(&mut self) -> Result<Vec<String>, StoreError> {
        members(&self.client, &self.set).await
    }

    /// The next change to this set (others' are skipped).
    pub(crate) async fn next(&mut self) -> Result<Change, StoreError> {
        loop {
            tokio::select! {
                payload = self.notifications.recv() => {
                    let Some(payload) = payload else {
                        return Err(StoreError("the postgres connection closed".into()));
                    };
                    if let Some(change) = self.parse(&payload) {
                        return Ok(change);
                    }
                }
                _ = tokio::time::sleep(PING_EVERY) => {
                    timed("pinging the postgres store", self.client.simple_query("SELECT 1")).await?;
                }
            }
        }
    }

    /// A change already received, without waiting (others' sets skipped).
    pub(crate) fn ready(&mut self) -> Option<Result<Change, StoreError>> {
        loop {
            match self.notifications.try_recv() {
                Ok(payload) => {
                    if let Some(change) = self.parse(&payload) {
                        return Some(Ok(change));
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => return None,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    return Some(Err(StoreError("the postgres connection closed".into())))
                }
            }
        }
    }

    /// A notification's change, if it concerns this set.
    fn parse(&self, payload: &str) -> Option<Change> {
        notification(&self.set, payload)
    }
}

/// The change a notification announces to set `ours`, if it concerns it:
/// `SET\n+ORIGIN`, `SET\n-ORIGIN`, `SET\n*`, or `*\n*` for every set.
fn notification(ours: &str, payload: &str) -> Option<Change> {
    let (set, change) = payload.split_once('\n')?;
    match set {
        "*" => Some(Change::Resync),
        s if s == ours => Some(Change::parse(change)),
        _ => None,
    }
}

/// Writes to one set of the table for `corsica origins`.
pub struct PostgresWriter {
    set: String,
    client: Client,
}

impl PostgresWriter {
    /// Connects to the store at `url`, for set `set`.
    pub async fn connect(url: &str, set: &str) -> Result<Self, StoreError> {
        let (client, _notifications) = connect(url).await?;
        Ok(PostgresWriter {
            set: set.to_owned(),
            client,
        })
    }

    /// Creates the table and triggers ([`SCHEMA`]), if missing.
    pub async fn init(&mut self) -> Result<(), StoreError> {
        timed(
            "creating the corsica_origins table",
            self.client.batch_execute(SCHEMA),
        )
        .await
    }

    /// Adds and removes members in one transaction; the trigger announces
    /// each row, or one resync for a bulk change. Returns how many rows were
    /// added and removed.
    pub async fn change(
        &mut self,
        add: &[String],
        remove: &[String],
    ) -> Result<(usize, usize), StoreError> {
        let bulk = add.len() + remove.len() > MAX_DELTA;
        let tx = timed("starting a transaction", self.client.transaction()).await?;
        if bulk {
            timed(
                "bulk mode",
                tx.batch_execute("SET LOCAL corsica.bulk = 'on'"),
            )
            .await?;
        }
        let mut added = 0;
        for chunk in add.chunks(10_000) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            added += timed(
                "writing the origin set",
                tx.execute(
                    "INSERT INTO corsica_origins (set_name, origin) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
                    &[&self.set, &chunk],
                ),
            )
            .await?;
        }
        let mut removed = 0;
        for chunk in remove.chunks(10_000) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            removed += timed(
                "writing the origin set",
                tx.execute(
                    "DELETE FROM corsica_origins WHERE set_name = $1 AND origin = ANY($2::text[])",
                    &[&self.set, &chunk],
                ),
            )
            .await?;
        }
        if bulk {
            let payload = format!("{}\n*", self.set);
            timed(
                "announcing the change",
                tx.execute("SELECT pg_notify('corsica_origins', $1)", &[&payload]),
            )
            .await?;
        }
        timed("committing", tx.commit()).await?;
        Ok((added as usize, removed as usize))
    }

    /// Every member, sorted.
    pub async fn list(&mut self) -> Result<Vec<String>, StoreError> {
        let mut all = members(&self.client, &self.set).await?;
        all.sort_unstable();
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_for_other_sets_are_skipped() {
        assert_eq!(
            notification("default", "default\n+https://a.example"),
            Some(Change::Delta {
                add: vec!["https://a.example".into()],
                remove: vec![]
            })
        );
        assert_eq!(notification("default", "eu\n+https://a.example"), None);
        assert_eq!(notification("default", "*\n*"), Some(Change::Resync));
        assert_eq!(notification("default", "default\n*"), Some(Change::Resync));
        assert_eq!(notification("default", "garbage"), None);
    }

    #[test]
    fn only_sslmode_require_asks_for_tls() {
        assert!(wants_tls("postgres://u@h:5432/db?sslmode=require"));
        assert!(!wants_tls("postgres://u@h:5432/db"));
        assert!(!wants_tls("postgres://u@h:5432/db?sslmode=disable"));
        assert!(!wants_tls("postgres://u@h:5432/db?sslmode=prefer"));
    }
}
