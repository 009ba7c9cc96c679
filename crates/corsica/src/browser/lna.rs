//! Local Network Access (Chromium 142 and later): a page in a more public
//! address space that fetches a less public one (public → local or
//! loopback, local → loopback) needs the user's `local-network` or
//! `loopback-network` permission. It is not a CORS header problem: no
//! header on either response changes it.
//!
//! Address spaces follow Chromium's `ip_address_space_util.cc` (as listed
//! in the project's reference notes): an IP literal is classified by the
//! IANA special-purpose ranges below; `localhost` and `*.localhost` are
//! loopback; any other name is unknown to the simulator (DNS is not its
//! job) and needs the caller's `--target-address-space`/`--page-address-space`,
//! which also override what an IP literal says.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// An address space, from the most private to the most public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressSpace {
    /// `127.0.0.0/8`, `::1`, `0.0.0.0`, `::`, and `localhost` names.
    Loopback,
    /// Private ranges: `10/8`, `172.16/12`, `192.168/16`, `169.254/16`,
    /// `100.64/10`, the rest of `0/8`, `fc00::/7`, `fe80::/10`,
    /// `fec0::/10`, `2001:db8::/32`, `3fff::/20`.
    Local,
    /// Everything else.
    Public,
}

impl AddressSpace {
    /// The name Chromium uses in its messages (`loopback`, `local`, `public`).
    pub fn as_str(&self) -> &'static str {
        match self {
            AddressSpace::Loopback => "loopback",
            AddressSpace::Local => "local",
            AddressSpace::Public => "public",
        }
    }

    /// Parses `loopback`, `local` (or its alias `private`) and `public`.
    pub fn parse(text: &str) -> Option<AddressSpace> {
        match text.trim().to_ascii_lowercase().as_str() {
            "loopback" => Some(AddressSpace::Loopback),
            "local" | "private" => Some(AddressSpace::Local),
            "public" => Some(AddressSpace::Public),
            _ => None,
        }
    }

    /// The permission that lets a page reach this space: `loopback-network`
    /// or `local-network` (Chrome 145 split them; before, both were
    /// `local-network-access`).
    pub fn permission(&self) -> &'static str {
        match self {
            AddressSpace::Loopback => "loopback-network",
            AddressSpace::Local | AddressSpace::Public => "local-network",
        }
    }
}

/// The address space of a URL's host when the URL alone decides it: an IP
/// literal or a `localhost` name. `None` for any other name.
pub fn of_url(url: &str) -> Option<AddressSpace> {
    let url = Url::parse(url).ok()?;
    match url.host()? {
        Host::Ipv4(ip) => Some(of_ip(IpAddr::V4(ip))),
        Host::Ipv6(ip) => Some(of_ip(IpAddr::V6(ip))),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then_some(AddressSpace::Loopback)
        }
    }
}

/// The address space of an IP address.
pub fn of_ip(ip: IpAddr) -> AddressSpace {
    match ip {
        IpAddr::V4(v4) => of_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => of_v4(v4),
            None => of_v6(v6),
        },
    }
}

fn of_v4(ip: Ipv4Addr) -> AddressSpace {
    let [a, b, ..] = ip.octets();
    if a == 127 || ip.is_unspecified() {
        return AddressSpace::Loopback;
    }
    let local = a == 10
        || a == 0
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 169 && b == 254)
        || (a == 100 && (64..128).contains(&b));
    if local {
        AddressSpace::Local
    } else {
        AddressSpace::Public
    }
}

fn of_v6(ip: Ipv6Addr) -> AddressSpace {
    if ip.is_loopback() || ip.is_unspecified() {
        return AddressSpace::Loopback;
    }
    let s = ip.segments();
    let local = (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] & 0xfff0) == 0x3ff0;
    if local {
        AddressSpace::Local
    } else {
        AddressSpace::Public
    }
}

/// The state of the page's Local Network Access permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LnaPermission {
    /// Not decided: Chromium shows the prompt, and the fetch waits for the
    /// user. The simulator predicts the outcome without the permission.
    #[default]
    Prompt,
    /// The user allowed it.
    Granted,
    /// The user blocked it.
    Denied,
}

/// What the caller knows about the network beyond the URLs: the address
/// spaces of names the simulator cannot resolve, and the permission state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LocalNetwork {
    /// The page's address space when its host is a name (ignored for an IP
    /// literal or `localhost`).
    #[serde(default)]
    pub page_address_space: Option<AddressSpace>,
    /// The target's address space when its host is a name.
    #[serde(default)]
    pub target_address_space: Option<AddressSpace>,
    /// The page's permission.
    #[serde(default)]
    pub permission: LnaPermission,
}

impl LocalNetwork {
    /// Whether nothing is set (for serialization).
    pub fn is_default(&self) -> bool {
        *self == LocalNetwork::default()
    }
}

/// Why Chromium blocks a request before sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LnaBlock {
    /// A secure page without the permission (denied, or never granted).
    PermissionDenied(AddressSpace),
    /// A page that is not a secure context: it cannot be granted the
    /// permission, and Chromium blocks without a prompt.
    InsecureContext(AddressSpace),
}

/// The address spaces of a fetch, where known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spaces {
    /// The page's space.
    pub page: Option<AddressSpace>,
    /// The target's space.
    pub target: Option<AddressSpace>,
}

/// The spaces of `page_origin` and `url`: the caller's inputs when given
/// (they override, as Chromium's `--ip-address-space-overrides` does, so a
/// page on `127.0.0.1` can be declared public), else what the URL says.
pub fn spaces(page_origin: &str, url: &str, network: &LocalNetwork) -> Spaces {
    Spaces {
        page: network.page_address_space.or_else(|| of_url(page_origin)),
        target: network.target_address_space.or_else(|| of_url(url)),
    }
}

/// Whether a request from `page_origin` to `url` is a local network
/// request that Chromium blocks, given the permission. Same-origin
/// requests and spaces the simulator does not know are never blocked.
pub fn check(page_origin: &str, url: &str, network: &LocalNetwork) -> Option<LnaBlock> {
    let Spaces {
        page: Some(page),
        target: Some(target),
    } = spaces(page_origin, url, network)
    else {
        return None;
    };
    if target >= page || same_origin(page_origin, url) {
        return None;
    }
    if !is_secure_context(page_origin) {
        return Some(LnaBlock::InsecureContext(target));
    }
    match network.permission {
        LnaPermission::Granted => None,
        LnaPermission::Prompt | LnaPermission::Denied => Some(LnaBlock::PermissionDenied(target)),
    }
}

fn same_origin(page_origin: &str, url: &str) -> bool {
    match (Url::parse(page_origin), Url::parse(url)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// A potentially trustworthy origin: HTTPS, or loopback / `localhost`.
fn is_secure_context(page_origin: &str) -> bool {
    let Ok(url) = Url::parse(page_origin) else {
        return false;
    };
    url.scheme() == "https" || of_url(page_origin) == Some(AddressSpace::Loopback)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted() -> LocalNetwork {
        LocalNetwork {
            permission: LnaPermission::Granted,
            ..LocalNetwork::default()
        }
    }

    #[test]
    fn ip_literals_follow_the_special_purpose_ranges() {
        let cases = [
            ("http://127.0.0.1:8080/", AddressSpace::Loopback),
            ("http://127.200.0.1/", AddressSpace::Loopback),
            ("http://0.0.0.0/", AddressSpace::Loopback),
            ("http://[::1]/", AddressSpace::Loopback),
            ("http://localhost:3000/", AddressSpace::Loopback),
            ("http://api.localhost/", AddressSpace::Loopback),
            ("http://10.0.0.5/", AddressSpace::Local),
            ("http://172.16.0.1/", AddressSpace::Local),
            ("http://172.31.255.255/", AddressSpace::Local),
            ("http://192.168.1.1/", AddressSpace::Local),
            ("http://169.254.169.254/", AddressSpace::Local),
            ("http://100.64.0.1/", AddressSpace::Local),
            ("http://[fd00::1]/", AddressSpace::Local),
            ("http://[fe80::1]/", AddressSpace::Local),
            ("http://[::ffff:192.168.0.1]/", AddressSpace::Local),
            ("http://172.32.0.1/", AddressSpace::Public),
            ("http://8.8.8.8/", AddressSpace::Public),
            ("http://[2606:4700::1111]/", AddressSpace::Public),
        ];
        for (url, space) in cases {
            assert_eq!(of_url(url), Some(space), "{url}");
        }
        assert_eq!(of_url("https://app.example/"), None);
    }

    #[test]
    fn a_public_page_needs_the_permission_for_loopback_and_local() {
        let none = LocalNetwork::default();
        assert_eq!(
            check("https://8.8.8.8", "http://127.0.0.1:9000/x", &none),
            Some(LnaBlock::PermissionDenied(AddressSpace::Loopback))
        );
        assert_eq!(
            check("https://8.8.8.8", "http://192.168.0.2/x", &none),
            Some(LnaBlock::PermissionDenied(AddressSpace::Local))
        );
        assert_eq!(
            check("https://8.8.8.8", "http://127.0.0.1/x", &granted()),
            None
        );
    }

    #[test]
    fn a_name_needs_the_callers_address_space() {
        let none = LocalNetwork::default();
        // app.example is unknown: nothing is predicted.
        assert_eq!(
            check("https://app.example", "http://localhost:8080/", &none),
            None
        );
        let public = LocalNetwork {
            page_address_space: Some(AddressSpace::Public),
            ..LocalNetwork::default()
        };
        assert_eq!(
            check("https://app.example", "http://localhost:8080/", &public),
            Some(LnaBlock::PermissionDenied(AddressSpace::Loopback))
        );
        let target = LocalNetwork {
            page_address_space: Some(AddressSpace::Public),
            target_address_space: Some(AddressSpace::Local),
            ..LocalNetwork::default()
        };
        assert_eq!(
            check("https://app.example", "https://nas.example/", &target),
            Some(LnaBlock::PermissionDenied(AddressSpace::Local))
        );
        // The caller's input overrides an IP literal, as Chromium's
        // --ip-address-space-overrides does.
        let overridden = LocalNetwork {
            target_address_space: Some(AddressSpace::Public),
            ..public
        };
        assert_eq!(
            check("https://app.example", "http://10.1.2.3/", &overridden),
            None
        );
        let page_public = LocalNetwork {
            page_address_space: Some(AddressSpace::Public),
            ..LocalNetwork::default()
        };
        assert_eq!(
            check("http://127.0.0.1:1", "http://127.0.0.1:2/", &page_public),
            Some(LnaBlock::PermissionDenied(AddressSpace::Loopback)),
            "a loopback page declared public is still a secure context"
        );
    }

    #[test]
    fn more_public_or_equal_targets_and_same_origin_are_not_local_network_requests() {
        let none = LocalNetwork::default();
        assert_eq!(
            check("http://127.0.0.1:1", "http://127.0.0.1:2/", &none),
            None
        );
        assert_eq!(check("http://192.168.0.1", "https://8.8.8.8/", &none), None);
        assert_eq!(check("http://10.0.0.1", "http://10.0.0.2/", &none), None);
        // local → loopback is less public.
        assert_eq!(
            check("https://10.0.0.1", "http://127.0.0.1/", &none),
            Some(LnaBlock::PermissionDenied(AddressSpace::Loopback))
        );
    }

    #[test]
    fn an_insecure_public_page_is_blocked_without_a_prompt() {
        assert_eq!(
            check("http://8.8.8.8", "http://127.0.0.1/", &granted()),
            Some(LnaBlock::InsecureContext(AddressSpace::Loopback))
        );
    }

    #[test]
    fn spaces_parse_with_the_private_alias() {
        assert_eq!(AddressSpace::parse("private"), Some(AddressSpace::Local));
        assert_eq!(
            AddressSpace::parse("Loopback"),
            Some(AddressSpace::Loopback)
        );
        assert_eq!(AddressSpace::parse("intranet"), None);
        assert_eq!(AddressSpace::Loopback.permission(), "loopback-network");
        assert_eq!(AddressSpace::Local.permission(), "local-network");
    }
}
