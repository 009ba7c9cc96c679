//! # corsica playground
//!
//! A web page where a developer sees a real cross-origin `fetch()` beside
//! corsica's prediction, step by step, with the fix.
//!
//! [`Playground::start`] listens on three ports of 127.0.0.1, three
//! origins:
//!
//! - the **page origin** serves the page (embedded HTML, CSS and plain
//!   JavaScript, [`assets`]) and the JSON endpoints it calls ([`page`]):
//!   `/runs` makes a composed case concrete for one run, `/simulate` is the
//!   engine's browser simulator, `/lint` the policy diagnostics;
//! - the **API origin** answers the page's `fetch()` exactly as composed,
//!   scripted headers or a corsica policy deciding, and records what
//!   reached it ([`api`]);
//! - the **redirect origin** is a third origin for cross-origin redirects.
//!
//! Every URL of a run carries the run's id and hop in its path
//! ([`compose`]), so the browser's requests are exactly the composed ones:
//! no extra header that would change the preflight.

#![warn(missing_docs)]

pub mod api;
pub mod assets;
pub mod compose;
pub mod engine;
pub mod gallery;
pub mod page;
pub mod reply;
pub mod runs;
pub mod server;

pub use compose::Ports;
pub use server::Playground;
