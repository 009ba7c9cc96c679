//! Hot reload: on SIGHUP, on a change to the configuration file, or on
//! [`Handle::reload`](crate::Handle::reload).
//!
//! A valid file becomes a new route table that is swapped in atomically;
//! requests in flight finish on the table they started with, so a reload
//! under load fails no request. An invalid file is refused with every
//! problem logged (file:line:col) and the running configuration stays.
//! Listener addresses, turning TLS on or off, and the log format are fixed
//! at start: changing them logs that a restart is needed. Everything else
//! (routes, policies, upstreams, timeouts, limits, debug, and the TLS
//! certificate itself) applies to the next request or connection.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use corsica::ConfigError;

use crate::config::{load_str, read_config_file, GatewayConfig};
use crate::control::{Control, ReloadOutcome};
use crate::handle::Inner;
use crate::routes::Generation;
use crate::{tls, upstream};

/// How long reading, checking and applying a configuration file may take
/// before the reload is refused. Reading happens off the control task, so
/// the admin endpoints and signals are served meanwhile either way; this
/// bounds how long a stuck file system can hold a reload.
pub(crate) const RELOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Re-reads the configuration file and applies it, or refuses it.
///
/// The file is read, parsed and applied on the blocking pool, never on the
/// control task that also serves `/healthz`, `/metrics` and the signals.
pub(crate) async fn reload(inner: &Arc<Inner>) {
    let outcome = match inner.options.config_path.clone() {
        Some(path) => {
            let name = path.display().to_string();
            let worker = {
                let inner = inner.clone();
                tokio::task::spawn_blocking(move || load_and_apply(&inner, &path))
            };
            match tokio::time::timeout(RELOAD_TIMEOUT, worker).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(e)) => ReloadOutcome::Rejected {
                    errors: format!("reading {name} failed: {e}"),
                },
                Err(_) => ReloadOutcome::Rejected {
                    errors: format!(
                        "reading and checking {name} took longer than {} s; is it on a file system that hangs?",
                        RELOAD_TIMEOUT.as_secs()
                    ),
                },
            }
        }
        None => ReloadOutcome::Rejected {
            errors: "there is no configuration file to reload (the gateway was started without --config)".into(),
        },
    };
    match &outcome {
        ReloadOutcome::Applied {
            generation,
            warnings,
        } => {
            for warning in warnings {
                tracing::warn!(target: "corsica::gateway", "{warning}");
            }
            tracing::info!(target: "corsica::gateway", generation, "configuration reloaded");
        }
        ReloadOutcome::Rejected { errors } => {
            tracing::error!(target: "corsica::gateway", "configuration refused; the previous one keeps serving:\n{errors}");
        }
    }
    inner.status.send_modify(|status| {
        status.attempts += 1;
        status.last = Some(outcome);
    });
}

fn load_and_apply(inner: &Inner, path: &Path) -> ReloadOutcome {
    let name = path.display().to_string();
    let source = match read_config_file(path) {
        Ok(source) => source,
        Err(e) => {
            return ReloadOutcome::Rejected {
                errors: format!("cannot read {name}: {e}"),
            }
        }
    };
    let config = match load_str(&source) {
        Ok(config) => config,
        Err(error) => {
            return ReloadOutcome::Rejected {
                errors: render_refusal(&error, &name, &source),
            }
        }
    };
    let mut warnings = restart_needed(inner, &config);
    if !config.warnings.is_empty() {
        let rendered = corsica::diagnostic::render(
            &config.warnings,
            &name,
            Some(&source),
            &corsica::Palette::PLAIN,
        );
        warnings.push(rendered);
    }
    match apply(inner, config) {
        Ok(generation) => ReloadOutcome::Applied {
            generation,
            warnings,
        },
        Err(errors) => ReloadOutcome::Rejected { errors },
    }
}

/// The refusal of a file that did not load, for the log.
///
/// A file that is not TOML at all may not be a configuration file at all:
/// the path may have been pointed at `/etc/passwd` or a key file. Its lines
/// must not end up in the log, so a syntax error names the place (file,
/// line, column) and the reason, but quotes nothing. A file that parsed is
/// the operator's own configuration, and its lines are quoted as `lint`
/// quotes them.
fn render_refusal(error: &ConfigError, name: &str, source: &str) -> String {
    use std::fmt::Write;
    if !error.diagnostics.iter().any(|d| d.code == "toml-syntax") {
        return error.render(name, Some(source));
    }
    let mut out = String::new();
    for d in &error.diagnostics {
        let place = match &d.span {
            Some(span) => {
                let at = corsica::diagnostic::line_col(source, span.start);
                format!("{name}:{}:{}", at.line, at.col)
            }
            None => name.to_owned(),
        };
        let _ = writeln!(
            out,
            "error[{}]: {}\n  --> {place}\n   = fix: {}\n",
            d.code, d.reason, d.fix
        );
    }
    out
}

/// What the new file changes that only a restart can apply.
fn restart_needed(inner: &Inner, config: &GatewayConfig) -> Vec<String> {
    let started = &inner.started;
    let mut notes = Vec::new();
    if config.listen != started.listen && inner.options.listen_override.is_none() {
        notes.push(format!(
            "`listen` changed from {} to {}: restart the gateway to listen on the new address",
            started.listen, config.listen
        ));
    }
    if config.admin_listen != started.admin_listen {
        notes.push(
            "`admin_listen` changed: restart the gateway to move the admin listener".to_owned(),
        );
    }
    if config.tls.is_some() != started.tls {
        notes.push(
            "[tls] was added or removed: restart the gateway to switch between HTTP and HTTPS"
                .to_owned(),
        );
    }
    if config.log_format != started.log_format {
        notes.push("[log] format changed: restart the gateway to switch log formats".to_owned());
    }
    notes
}

/// Builds the new generation and swaps it in.
fn apply(inner: &Inner, config: GatewayConfig) -> Result<u64, String> {
    let old = inner.current.load_full();
    // TLS can be re-keyed live (new certificate files), not switched on or off.
    let tls = match (&config.tls, inner.started.tls) {
        (Some(files), true) => Some(tls::acceptor(&files.cert, &files.key)?),
        _ => old.tls.clone(),
    };
    // Keep the upstream clients, and their pooled connections, unless the
    // connect timeout or the trusted CAs changed (upstream_ca is re-read:
    // a renewed CA file applies to new connections).
    let roots = tls::upstream_roots(&inner.options.upstream_ca, config.upstream_ca.as_deref())?;
    let clients =
        if config.timeouts.connect == old.config.timeouts.connect && roots == old.upstream_roots {
            old.clients.clone()
        } else {
            upstream::clients(
                config.timeouts.connect,
                &roots,
                inner.options.threads.max(1),
                &inner.metrics,
            )
            .map_err(|e| e.to_string())?
        };
    let id = old.id + 1;
    let generation = Generation::build(
        id,
        config,
        (clients, roots),
        tls,
        &inner.metrics,
        &inner.stores,
    )?;
    inner.current.store(std::sync::Arc::new(generation));
    Ok(id)
}

/// SIGHUP reloads; SIGTERM and Ctrl-C shut down gracefully.
///
/// The handlers are registered before this returns, so a signal sent once
/// the gateway serves is never met by the default action (which for SIGHUP
/// and SIGTERM is to die on the spot).
pub(crate) fn spawn_signal_handler(control: mpsc::UnboundedSender<Control>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (mut hangup, mut terminate) = match (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(h), Ok(t)) => (h, t),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(target: "corsica::gateway", error = %e, "cannot listen for SIGHUP and SIGTERM; Ctrl-C still stops the gateway");
                tokio::spawn(async move {
                    let _ = tokio::signal::ctrl_c().await;
                    let _ = control.send(Control::Shutdown);
                });
                return;
            }
        };
        tokio::spawn(async move {
            // The first SIGTERM or Ctrl-C drains; a second stops at once.
            let mut stopping = false;
            loop {
                let signal = tokio::select! {
                    _ = hangup.recv() => {
                        tracing::info!(target: "corsica::gateway", "SIGHUP: reloading the configuration");
                        if control.send(Control::Reload).is_err() {
                            return;
                        }
                        continue;
                    }
                    _ = terminate.recv() => "SIGTERM",
                    _ = tokio::signal::ctrl_c() => "Ctrl-C",
                };
                let order = if stopping {
                    tracing::info!(target: "corsica::gateway", "{signal} again: stopping now");
                    Control::Abort
                } else {
                    tracing::info!(target: "corsica::gateway", "{signal}: shutting down");
                    Control::Shutdown
                };
                stopping = true;
                if control.send(order).is_err() {
                    return;
                }
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = control.send(Control::Shutdown);
    });
}
