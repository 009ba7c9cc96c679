//! # corsica
//!
//! A sans-IO CORS engine. It has two halves that share every rule:
//!
//! - the **server** side: a [`Policy`], validated when it is built, decides
//!   how to answer any request ([`Policy::decide`]);
//! - the **browser** side: a simulator that predicts what Chromium does with
//!   a request and the server's responses, down to its error name and
//!   console message ([`browser`]).
//!
//! The engine does no I/O and needs no async runtime: it reads `http` types
//! and returns data. The tower middleware (`corsica-tower`), the gateway and
//! the CLI all call it; none of them re-implements a rule.
//!
//! ```
//! use http::{header, HeaderMap, Method};
//! use corsica::{Decision, Policy};
//!
//! let policy = Policy::builder()
//!     .origins(["https://app.example.com"])
//!     .methods(["PUT"])
//!     .credentials(true)
//!     .build()?;
//!
//! let mut request = HeaderMap::new();
//! request.insert(header::ORIGIN, "https://app.example.com".parse()?);
//! let Decision::Forward(forward) = policy.decide(&Method::GET, &request) else { unreachable!() };
//! let mut response = HeaderMap::new();
//! forward.apply(&mut response);
//! assert_eq!(response[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod acrh;
pub mod browser;
pub mod diagnostic;
pub mod header_names;
mod intern;
pub mod loopback;
pub mod method;
pub mod origin;
pub mod origin_set;
pub mod pattern;
pub mod policy;
pub mod server;
pub mod token;

pub use diagnostic::{ConfigError, Diagnostic, Palette, Severity};
pub use origin_set::{OriginMatch, OriginSet};
pub use policy::{Policy, PolicyBuilder, PolicyConfig};
pub use server::{Decision, Denial, Forward, ForwardPlan, Preflight, PreflightPlan, RequestKind};
