//! What the generator knows about the request at each hop of a chain, to
//! script responses that match it.

use corsica::browser::Credentials;

use crate::server::Ports;

/// The request as it reaches one hop: where it is, and what a response
/// must allow for it to pass.
#[derive(Debug, Clone)]
pub(super) struct Hop {
    /// The page's port (origin A).
    pub page: u16,
    /// The port this hop's request goes to.
    pub port: u16,
    /// The method on the wire.
    pub method: String,
    /// The header names the request carries, lower-case, sorted, unique.
    pub header_names: Vec<String>,
    /// The credentials mode.
    pub credentials: Credentials,
    /// Whether a cross-origin redirect has made the origin opaque (`null`).
    pub tainted: bool,
}

impl Hop {
    /// The `Origin` the request carries at this hop.
    pub fn origin(&self) -> String {
        if self.tainted {
            "null".to_owned()
        } else {
            Ports::origin(self.page)
        }
    }

    /// Whether the request includes credentials.
    pub fn include(&self) -> bool {
        self.credentials == Credentials::Include
    }
}
