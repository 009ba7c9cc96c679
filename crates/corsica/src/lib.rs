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
//!
//! The public surface is what this page lists: the server side's types at
//! the top, the simulator in [`browser`], the policy's configuration in
//! [`policy`], and diagnostics and their rendering in [`diagnostic`]. The
//! rest of the engine (parsers, header tables, the simulator's steps) is
//! private, so that it can change without breaking a caller.
#![warn(missing_docs)]

mod acrh;
pub mod browser;
pub mod diagnostic;
mod header_names;
mod intern;
mod method;
mod origin;
mod origin_set;
mod pattern;
pub mod policy;
mod server;
mod stored;
mod token;

pub use acrh::{AcrhError, MAX_ACRH_LEN};
pub use diagnostic::{ConfigError, Diagnostic, Palette, Severity};
pub use method::FORBIDDEN_METHODS;
pub use origin::{is_ip_host, parse_serialized as parse_origin, OriginParts, MAX_HOST_LEN};
pub use origin_set::{OriginMatch, OriginSet};
pub use pattern::OriginEntry;
pub use policy::{Policy, PolicyBuilder, PolicyConfig};
pub use server::{Decision, Denial, Forward, ForwardPlan, Preflight, PreflightPlan, RequestKind};
pub use stored::{LiveOrigins, Refused, StoredOrigins, MAX_PATTERNS};

/// Engine internals that the fuzz targets and the engine's own integration
/// tests drive directly.
///
/// **Not a stable API**: anything here may change or go away in any
/// release. It is public only because those callers live outside the
/// crate; applications use the items at the crate root, [`browser`] and
/// [`policy`].
#[doc(hidden)]
pub mod __private {
    pub use crate::acrh::check as check_request_headers;
    pub use crate::browser::safelist::{check as check_safelisted_request_header, Unsafe};
    pub use crate::method::{is_safelisted as is_safelisted_method, normalize as normalize_method};
    pub use crate::pattern::{parse_entry, MalformedOrigin, OriginEntry, OriginEntryError};
}
