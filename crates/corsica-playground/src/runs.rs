//! The runs the page has asked for: each one's concrete case, the policy
//! that answers it (if any), and what reached the API and redirect origins.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use corsica::browser::Case;
use corsica::Policy;
use serde::Serialize;

/// How many runs are kept; older ones are forgotten.
const KEEP: usize = 256;

/// A request as it reached the API or the redirect origin, and the answer
/// it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arrival {
    /// `api`, `redirect` or `page`: which origin it reached.
    pub at: &'static str,
    /// The hop of the run (0 is the URL the script fetched).
    pub hop: usize,
    /// Whether it is a CORS preflight (`OPTIONS` with
    /// `Access-Control-Request-Method`).
    pub preflight: bool,
    /// The method on the wire.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Every request header, in order (values decoded as Latin-1).
    pub headers: Vec<(String, String)>,
    /// The status answered.
    pub status: u16,
    /// The headers answered, in order.
    pub response_headers: Vec<(String, String)>,
}

/// One run: what the origins answer, and what they saw.
#[derive(Debug, Clone)]
pub struct Run {
    /// The concrete case (absolute URLs, placeholders filled in).
    pub case: Case,
    /// When set, this policy answers instead of the case's scripted headers.
    pub policy: Option<Arc<Policy>>,
    /// Requests that arrived, in order.
    pub arrivals: Vec<Arrival>,
    /// Composed answers that could not be sent as written.
    pub problems: Vec<String>,
}

/// Every run of this playground.
#[derive(Debug)]
pub struct Runs {
    inner: Mutex<(u64, BTreeMap<u64, Run>)>,
}

impl Default for Runs {
    fn default() -> Self {
        // Start ids from the clock, so a restarted playground on the same
        // ports never reuses a URL the browser has cached a preflight for.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() % 1_000_000 * 1000)
            .unwrap_or_default();
        Runs {
            inner: Mutex::new((start, BTreeMap::new())),
        }
    }
}

impl Runs {
    /// Reserves an id for a new run.
    pub fn next_id(&self) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.0 += 1;
        inner.0
    }

    /// Stores a run under `id`, forgetting the oldest beyond [`KEEP`].
    pub fn insert(&self, id: u64, run: Run) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.1.insert(id, run);
        while inner.1.len() > KEEP {
            inner.1.pop_first();
        }
    }

    /// A copy of run `id`.
    pub fn get(&self, id: u64) -> Option<Run> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.1.get(&id).cloned()
    }

    /// Records what reached an origin for run `id`.
    pub fn record(&self, id: u64, arrival: Arrival, problems: Vec<String>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(run) = inner.1.get_mut(&id) {
            run.arrivals.push(arrival);
            run.problems.extend(problems);
        }
    }
}
