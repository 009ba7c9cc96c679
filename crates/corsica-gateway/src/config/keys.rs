//! Every unknown key of a gateway file, found before it is deserialized.
//!
//! serde's `deny_unknown_fields` stops at the first unknown key, and hides
//! every other problem of the file behind it: a file with five typos took
//! five runs to clean up. So the parsed document is first walked against
//! the file's shape; each unknown key gets its own diagnostic, and is
//! removed, so that the rest of the file is still checked in the same run.
//! (`deny_unknown_fields` stays on the structs as a backstop.)

use corsica::policy::{self, closest_key};
use corsica::Diagnostic;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// What a key holds, as far as checking its keys goes.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A value with no keys of its own.
    Value,
    /// A table with these keys.
    Table(&'static [Key]),
    /// An array of tables with these keys (`[[routes]]`).
    Tables(&'static [Key]),
}

/// A key: its name, what it holds, and a value to show in a fix when the
/// one written has the wrong type.
type Key = (&'static str, Shape, &'static str);

/// The keys of a policy table: the engine's own list, every key a plain value.
const POLICY: &[Key] = &{
    let mut keys = [("", Shape::Value, ""); policy::KEYS.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = (policy::KEYS[i].name, Shape::Value, policy::KEYS[i].example);
        i += 1;
    }
    keys
};

/// Whether `name` is a key of a policy table.
fn is_policy_key(name: &str) -> bool {
    policy::KEYS.iter().any(|k| k.name == name)
}

/// The keys of a `[[routes]]` entry.
pub(super) const ROUTE_KEYS: [&str; 10] = [
    "path_prefix",
    "host",
    "policy",
    "cors",
    "forward_preflight",
    "mode",
    "upstream",
    "upstream_http2",
    "keepalive",
    "keepalive_requests",
];

const ROUTE: &[Key] = &[
    ("path_prefix", Shape::Value, "\"/api\""),
    ("host", Shape::Value, "\"api.example.com\""),
    (
        "policy",
        Shape::Table(POLICY),
        "{ origins = [\"https://app.example.com\"] }",
    ),
    ("cors", Shape::Value, "false"),
    ("forward_preflight", Shape::Value, "true"),
    ("mode", Shape::Value, "\"report-only\""),
    ("upstream", Shape::Value, "\"http://127.0.0.1:3000\""),
    ("upstream_http2", Shape::Value, "true"),
    ("keepalive", Shape::Value, "false"),
    ("keepalive_requests", Shape::Value, "1000"),
];

/// The whole file.
const FILE: &[Key] = &[
    ("listen", Shape::Value, "\"127.0.0.1:8080\""),
    ("upstream", Shape::Value, "\"http://127.0.0.1:3000\""),
    ("upstream_http2", Shape::Value, "true"),
    ("keepalive", Shape::Value, "false"),
    ("keepalive_requests", Shape::Value, "1000"),
    ("upstream_ca", Shape::Value, "\"internal-ca.pem\""),
    ("admin_listen", Shape::Value, "\"127.0.0.1:9090\""),
    (
        "tls",
        Shape::Table(&[
            ("cert", Shape::Value, "\"cert.pem\""),
            ("key", Shape::Value, "\"key.pem\""),
        ]),
        "{ cert = \"cert.pem\", key = \"key.pem\" }",
    ),
    (
        "policy",
        Shape::Table(POLICY),
        "{ origins = [\"https://app.example.com\"] }",
    ),
    (
        "routes",
        Shape::Tables(ROUTE),
        "[{ path_prefix = \"/api\" }]",
    ),
    (
        "timeouts",
        Shape::Table(&[
            ("connect", Shape::Value, "\"5s\""),
            ("header_read", Shape::Value, "\"10s\""),
            ("upstream_response", Shape::Value, "\"60s\""),
            ("body_read", Shape::Value, "\"60s\""),
            ("idle", Shape::Value, "\"90s\""),
            ("drain", Shape::Value, "\"30s\""),
        ]),
        "{ connect = \"5s\" }",
    ),
    (
        "limits",
        Shape::Table(&[
            ("max_header_bytes", Shape::Value, "65536"),
            ("max_body_bytes", Shape::Value, "10485760"),
            ("max_header_count", Shape::Value, "100"),
        ]),
        "{ max_body_bytes = 10485760 }",
    ),
    (
        "log",
        Shape::Table(&[
            ("format", Shape::Value, "\"json\""),
            ("debug", Shape::Value, "true"),
        ]),
        "{ format = \"json\" }",
    ),
];

/// Reports and removes every key of `doc` that a gateway file does not have.
pub(super) fn prune_unknown(doc: &mut DeTable<'_>, diags: &mut Vec<Diagnostic>) {
    prune(doc, FILE, "", diags);
}

fn prune(table: &mut DeTable<'_>, shape: &'static [Key], path: &str, diags: &mut Vec<Diagnostic>) {
    let shape_of = |name: &str| shape.iter().find(|(k, ..)| *k == name).map(|&(_, s, _)| s);
    let mut unknown_keys = Vec::new();
    for key in table.keys() {
        let name: &str = key.get_ref();
        if shape_of(name).is_none() {
            diags.push(unknown(name, key.span(), shape, path));
            unknown_keys.push(name.to_owned());
        }
    }
    for name in &unknown_keys {
        table.remove(name.as_str());
    }
    for (key, value) in table.iter_mut() {
        let name: &str = key.get_ref();
        if let Some(inner) = shape_of(name) {
            descend(value, inner, &format!("{path}{name}"), diags);
        }
    }
}

/// Checks the keys under a known key. A value of the wrong type is left
/// for deserialization to report.
fn descend(
    value: &mut Spanned<DeValue<'_>>,
    shape: Shape,
    path: &str,
    diags: &mut Vec<Diagnostic>,
) {
    match (value.get_mut(), shape) {
        (DeValue::Table(table), Shape::Table(keys)) => {
            prune(table, keys, &format!("{path}."), diags)
        }
        (DeValue::Array(items), Shape::Tables(keys)) => {
            for (i, item) in items.iter_mut().enumerate() {
                if let DeValue::Table(table) = item.get_mut() {
                    prune(table, keys, &format!("{path}[{i}]."), diags);
                }
            }
        }
        _ => {}
    }
}

/// The diagnostic for an unknown key: where it belongs when it is a key of
/// another table (a policy key at the top, say), or the closest valid key.
fn unknown(
    name: &str,
    span: std::ops::Range<usize>,
    shape: &'static [Key],
    path: &str,
) -> Diagnostic {
    let valid: Vec<&str> = shape.iter().map(|(k, ..)| *k).collect();
    let at_top = path.is_empty();
    let in_route = path.starts_with("routes[") && !path.contains(".policy.");
    let fix = if at_top && is_policy_key(name) {
        format!(
            "`{name}` is a policy key: move it under [policy] (or under a route's [routes.policy])"
        )
    } else if at_top && ROUTE_KEYS.contains(&name) {
        format!("`{name}` is a route key: move it into a [[routes]] entry")
    } else if in_route && is_policy_key(name) {
        format!(
            "`{name}` is a policy key: move it into this route's policy table ([routes.policy])"
        )
    } else {
        let hint = match closest_key(name, &valid) {
            Some(k) => format!("did you mean `{k}`? "),
            None => String::new(),
        };
        format!("{hint}valid keys here: {}", valid.join(", "))
    };
    let place = if at_top {
        "at the top of a gateway file".to_owned()
    } else {
        format!("in `{}`", path.trim_end_matches('.'))
    };
    Diagnostic::error(
        "unknown-key",
        format!("{path}{name}"),
        format!("unknown key `{name}` {place}"),
        fix,
    )
    .at(Some(span))
}

/// Removes the value at `path` (as [`key_at`] names it, such as
/// `routes[0].policy.origins`) from `doc`; whether there was one.
pub(super) fn remove_at(doc: &mut DeTable<'_>, path: &str) -> bool {
    let (parents, last) = match path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, path),
    };
    let mut table = doc;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(value) = table.get_mut(name) else {
            return false;
        };
        let value = match (value.get_mut(), index) {
            (DeValue::Array(items), Some(i)) => match items.get_mut(i) {
                Some(item) => item.get_mut(),
                None => return false,
            },
            (value, None) => value,
            _ => return false,
        };
        let DeValue::Table(inner) = value else {
            return false;
        };
        table = inner;
    }
    table.remove(last).is_some()
}

/// The key whose value covers `span` (where a wrong-type error points),
/// as a path such as `routes[0].policy.origins`, and a value of the right
/// type for it.
pub(super) fn key_at(
    doc: &DeTable<'_>,
    span: &std::ops::Range<usize>,
) -> Option<(String, &'static str)> {
    find(doc, FILE, "", span)
}

fn find(
    table: &DeTable<'_>,
    shape: &'static [Key],
    path: &str,
    span: &std::ops::Range<usize>,
) -> Option<(String, &'static str)> {
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let Some(&(_, inner, example)) = shape.iter().find(|(k, ..)| *k == name) else {
            continue;
        };
        let here = format!("{path}{name}");
        // The span of a `[table]` or `[[tables]]` need not cover its keys,
        // so tables are searched whatever their span says.
        let deeper = match (value.get_ref(), inner) {
            (DeValue::Table(t), Shape::Table(keys)) => find(t, keys, &format!("{here}."), span),
            (DeValue::Array(items), Shape::Tables(keys)) => {
                items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| match item.get_ref() {
                        DeValue::Table(t) => find(t, keys, &format!("{here}[{i}]."), span),
                        _ => None,
                    })
            }
            _ => None,
        };
        if deeper.is_some() {
            return deeper;
        }
        if value.span().start <= span.start && span.end <= value.span().end {
            return Some((here, example));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::GATEWAY_KEYS;
    use super::*;

    #[test]
    fn the_shape_lists_the_same_keys_as_the_structs() {
        let top: Vec<&str> = FILE.iter().map(|(k, ..)| *k).collect();
        assert_eq!(top, GATEWAY_KEYS);
        let policy: Vec<&str> = POLICY.iter().map(|(k, ..)| *k).collect();
        let engine: Vec<&str> = policy::KEYS.iter().map(|k| k.name).collect();
        assert_eq!(policy, engine);
        let route: Vec<&str> = ROUTE.iter().map(|(k, ..)| *k).collect();
        assert_eq!(route, ROUTE_KEYS);
    }
}
