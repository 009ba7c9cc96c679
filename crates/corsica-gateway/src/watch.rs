//! Watching the configuration file, and the TLS files it names, for
//! changes.
//!
//! Events are not matched by file name: a Kubernetes ConfigMap mounts
//! `corsica.toml` as a symlink into `..data/`, and an update swaps the
//! `..data` symlink, so no event ever names `corsica.toml`; editors write a
//! copy and rename it over; cert-manager renews certificates in place. So
//! any change in the directory of a watched file (or of its symlink's
//! target) only prompts a look: each file's identity and metadata, read
//! through symlinks, are compared with what they were at the last reload,
//! and a reload is asked for when one of them differs. A change elsewhere
//! in those directories costs a few `stat` calls.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use crate::control::{Control, ReloadStatus};
use crate::routes::Generation;

/// Editors write a file in several steps; a reload waits this long after
/// the last change...
const DEBOUNCE: Duration = Duration::from_millis(200);

/// ...but no longer than this after the first: a directory that is always
/// busy (a log file written beside the configuration) must not put the
/// reload off for ever.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// How long the watch waits to learn that a reload it asked for is done.
const RELOAD_WAIT: Duration = Duration::from_secs(10);

/// What a file is, as far as noticing a change goes: where its symlinks
/// lead, which inode that is, and its size and modification time. `None`
/// when it cannot be read (deleted, say): that is a change too.
type Fingerprint = Option<(PathBuf, u64, u64, Option<SystemTime>)>;

fn fingerprint(path: &Path) -> Fingerprint {
    let target = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&target).ok()?;
    Some((target, inode(&meta), meta.len(), meta.modified().ok()))
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// The files whose change means a reload: the configuration file, and the
/// certificate, key and upstream CA file the running configuration names.
fn watched_files(config: &Path, current: &ArcSwap<Generation>) -> Vec<PathBuf> {
    let mut files = vec![config.to_path_buf()];
    let generation = current.load();
    if let Some(tls) = &generation.config.tls {
        files.extend([tls.cert.clone(), tls.key.clone()]);
    }
    files.extend(generation.config.upstream_ca.clone());
    files
}

/// The directories to watch for `file`: its own, and that of the file its
/// symlinks lead to.
fn directories(file: &Path) -> Vec<PathBuf> {
    let parent = |p: &Path| match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut dirs = vec![parent(file)];
    if let Ok(target) = std::fs::canonicalize(file) {
        dirs.push(parent(&target));
    }
    dirs
}

/// Keeps the watch alive; dropping it stops watching.
pub(crate) struct ConfigWatch {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConfigWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching `config` (and the TLS files of the configuration in
/// `current`), asking `control` for a reload when one of them changes.
pub(crate) fn watch(
    config: &Path,
    current: Arc<ArcSwap<Generation>>,
    control: mpsc::UnboundedSender<Control>,
    mut reloads: watch::Receiver<ReloadStatus>,
) -> Result<ConfigWatch, String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Reads (a reload opening the file) are not changes.
        if matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| e.to_string())?;
    let config = config.to_path_buf();
    let mut watched = HashSet::new();
    // The configuration's directories must be watched; the TLS files' are
    // watched if they can be (SIGHUP re-reads those too).
    watch_directories(&mut watcher, &mut watched, std::slice::from_ref(&config))?;
    if let Err(error) = watch_directories(
        &mut watcher,
        &mut watched,
        &watched_files(&config, &current),
    ) {
        tracing::warn!(target: "corsica::gateway", %error, "cannot watch the TLS files' directory; SIGHUP reloads renewed certificates");
    }
    // Taken now, so that a change made once this returns is seen as one.
    let mut seen: Vec<Fingerprint> = watched_files(&config, &current)
        .iter()
        .map(|f| fingerprint(f))
        .collect();
    let task = tokio::spawn(async move {
        while rx.recv().await.is_some() {
            let until = tokio::time::Instant::now() + MAX_DELAY;
            loop {
                let wait =
                    DEBOUNCE.min(until.saturating_duration_since(tokio::time::Instant::now()));
                match tokio::time::timeout(wait, rx.recv()).await {
                    Ok(Some(())) if tokio::time::Instant::now() < until => continue,
                    Ok(Some(())) | Err(_) => break,
                    Ok(None) => return,
                }
            }
            let before = watched_files(&config, &current);
            let now: Vec<Fingerprint> = before.iter().map(|f| fingerprint(f)).collect();
            if now == seen {
                continue;
            }
            // Taken before the reload reads the files: a change made while
            // it runs is still a change.
            seen = now;
            reloads.borrow_and_update();
            if control.send(Control::Reload).is_err() {
                return;
            }
            // Once the reload is done, the running configuration may name
            // other TLS files, and a symlink may lead elsewhere: take their
            // fingerprints and watch where they are now.
            let _ = tokio::time::timeout(RELOAD_WAIT, reloads.changed()).await;
            let files = watched_files(&config, &current);
            if files != before {
                seen = files.iter().map(|f| fingerprint(f)).collect();
            }
            if let Err(error) = watch_directories(&mut watcher, &mut watched, &files) {
                tracing::warn!(target: "corsica::gateway", %error, "cannot watch a directory of the configuration; SIGHUP still reloads");
            }
        }
    });
    Ok(ConfigWatch { task })
}

fn watch_directories(
    watcher: &mut RecommendedWatcher,
    watched: &mut HashSet<PathBuf>,
    files: &[PathBuf],
) -> Result<(), String> {
    for dir in files.iter().flat_map(|f| directories(f)) {
        if watched.contains(&dir) {
            continue;
        }
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        watched.insert(dir);
    }
    Ok(())
}
