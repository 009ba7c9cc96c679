//! The gateway's configuration file: where to listen, where the API is, and
//! the CORS policy per route. Parsing reports spans; validation reports
//! every problem at once, with the same diagnostics as `corsica lint`.
//!
//! [`load_str`] reads the file in three steps, one module each: `keys`
//! reports every unknown key and prunes it, `file` is what serde reads the
//! rest into, and `validate` checks it section by section into the
//! [`GatewayConfig`] of `settings`. Which route a request gets is the
//! [`router`](crate::router)'s business; its types are re-exported here.

use corsica::policy::toml_diagnostic;
use corsica::ConfigError;
use serde::Deserialize;
use toml::de::DeTable;

mod file;
mod keys;
mod read;
mod settings;
#[cfg(test)]
mod tests;
mod validate;

// The types of `GatewayConfig::routes`, where readers of the file look for them.
pub use crate::router::{Mode, Route, RouteCors};
pub use file::{GatewayFile, LimitsFile, LogFile, RouteFile, TimeoutsFile, TlsFile};
pub use read::{read_config_file, ReadError, MAX_CONFIG_BYTES};
pub use settings::{GatewayConfig, Limits, LogFormat, Timeouts, Tls, DEFAULT_MAX_HEADER_COUNT};
pub use validate::parse_duration;

/// The top-level keys of a gateway file, for "did you mean" hints.
pub const GATEWAY_KEYS: [&str; 13] = [
    "listen",
    "upstream",
    "upstream_http2",
    "keepalive",
    "keepalive_requests",
    "upstream_ca",
    "admin_listen",
    "tls",
    "policy",
    "routes",
    "timeouts",
    "limits",
    "log",
];

/// The keys that mark a TOML file as a gateway file rather than a bare policy.
pub const GATEWAY_MARKERS: [&str; 6] = [
    "listen",
    "upstream",
    "admin_listen",
    "tls",
    "policy",
    "routes",
];

/// Whether a TOML document is a gateway file (it has a gateway key) rather
/// than a bare policy.
pub fn is_gateway_file(source: &str) -> bool {
    match source.parse::<toml::Table>() {
        Ok(table) => GATEWAY_MARKERS.iter().any(|k| table.contains_key(*k)),
        Err(_) => GATEWAY_MARKERS
            .iter()
            .any(|k| source.lines().any(|l| l.trim_start().starts_with(k))),
    }
}

/// Parses and validates a gateway file, reporting every problem at once:
/// every unknown key, and every problem of the rest of the file. The TLS
/// files it names are read, so that a missing or broken certificate is
/// reported here, at its key, and not only when the gateway starts.
pub fn load_str(source: &str) -> Result<GatewayConfig, ConfigError> {
    let mut doc = DeTable::parse(source).map_err(|e| ConfigError {
        diagnostics: vec![toml_diagnostic(&e, &[])],
    })?;
    let mut diags = Vec::new();
    keys::prune_unknown(doc.get_mut(), &mut diags);
    // A value of the wrong type stops deserialization at the first one.
    // Each is reported, removed, and deserialization tried again, so that
    // one run reports every such value and every other problem of the file.
    let mut removed = Vec::new();
    let mut wrong = Vec::new();
    let file = loop {
        let attempt = doc.clone();
        match GatewayFile::deserialize(toml::de::Deserializer::from(attempt)) {
            Ok(file) => break file,
            Err(e) => {
                // Unknown keys were pruned above, so no "did you mean" list
                // is needed here: this is a value of the wrong type, or the like.
                let mut diag = toml_diagnostic(&e, &[]);
                let found = e.span().and_then(|at| keys::key_at(doc.get_ref(), &at));
                if let Some((key, example)) = &found {
                    let name = key.rsplit(['.', ']']).next().unwrap_or(key).to_owned();
                    if diag.code == "wrong-type" {
                        diag.fix = format!("write {name} = {example}");
                    }
                    diag.key = key.clone();
                }
                wrong.push(diag);
                match found {
                    Some((key, _)) if keys::remove_at(doc.get_mut(), &key) => removed.push(key),
                    _ => {
                        diags.append(&mut wrong);
                        diags.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
                        return Err(ConfigError { diagnostics: diags });
                    }
                }
            }
        }
    };
    if wrong.is_empty() {
        return validate::validate(&file, diags);
    }
    // A removed value is reported already; what its absence makes
    // validation say of its key ("listen is missing") would repeat it.
    let mut diagnostics = match validate::validate(&file, diags) {
        Ok(_) => Vec::new(),
        Err(ConfigError { diagnostics }) => diagnostics,
    };
    diagnostics.retain(|d| !removed.contains(&d.key));
    diagnostics.append(&mut wrong);
    diagnostics.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    Err(ConfigError { diagnostics })
}
