//! The network side of `check` and `audit`: an HTTP client that sends what
//! the simulated browser asks for, and errors a person can act on.

mod client;
mod error;
mod tls;

pub use client::{Client, RawResponse};
pub use error::NetError;
