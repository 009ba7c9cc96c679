//! What the corpus is made of: a [`Scenario`] (a case and the fetches that
//! follow it) and the [`Place`] that gives a case its unique URLs. Both the
//! random generator and the hand-written cases build these, so they live
//! here, below both.

use corsica::browser::{Case, RequestSpec};

use crate::server::{case_path, Ports};

/// One page-side scenario: a case, and optionally further fetches of the
/// same URL made after it (preflight-cache scenarios). The server answers
/// every fetch with the case's scripted responses.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The case (the first fetch).
    pub case: Case,
    /// Later fetches of `case.request.url`, made one after another.
    pub follow_ups: Vec<RequestSpec>,
}

impl Scenario {
    /// Every fetch the page makes, in order.
    pub fn fetches(&self) -> Vec<RequestSpec> {
        let mut all = vec![self.case.request.clone()];
        all.extend(self.follow_ups.iter().cloned());
        all
    }
}

/// Where a case lives: the ports, the run token and the case's index,
/// which together make its URLs unique (so the preflight cache and the
/// HTTP cache never carry anything from one case to another).
#[derive(Debug, Clone)]
pub struct Place<'a> {
    /// The server's ports.
    pub ports: Ports,
    /// The run token.
    pub run: &'a str,
    /// The case's index in the run.
    pub index: usize,
}

impl Place<'_> {
    /// The URL of hop `hop` on `port`.
    pub fn url(&self, port: u16, hop: usize) -> String {
        format!("{}{}", Ports::origin(port), self.path(hop))
    }

    /// The path of hop `hop`.
    pub fn path(&self, hop: usize) -> String {
        case_path(self.run, self.index, hop)
    }
}
