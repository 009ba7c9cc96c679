//! The attacker origins the audit sends, derived from the trusted origin.
//! Each targets one class of misconfiguration found in real servers
//! (see docs/audit.md for the list, the sources and the severity rules).

use super::finding::Class;

/// One origin to send, and what it tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The class a hit proves.
    pub class: Class,
    /// The `Origin` value sent.
    pub origin: String,
}

/// The parts of the trusted origin the probes are built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    /// The serialized origin, e.g. `https://app.example.com`.
    pub origin: String,
    /// `https` or `http`.
    pub scheme: String,
    /// The host, e.g. `app.example.com`.
    pub host: String,
    /// `:port` or empty.
    pub port: String,
    /// The registrable domain (eTLD+1), e.g. `example.com`, or the host
    /// itself for IP addresses and single-label names.
    pub domain: String,
}

impl Trusted {
    /// Parses a serialized origin such as `https://app.example.com`.
    pub fn parse(origin: &str) -> Result<Trusted, String> {
        let parts = corsica::parse_origin(origin.as_bytes())
            .ok_or_else(|| format!("--trusted-origin {origin:?} is not an origin (scheme://host[:port], lower case, no path)"))?;
        if !matches!(parts.scheme, "http" | "https") {
            return Err(format!("--trusted-origin {origin:?} must be http or https"));
        }
        let host = parts.host.to_owned();
        let domain = if corsica::is_ip_host(&host) {
            host.clone()
        } else {
            psl::domain_str(&host).unwrap_or(&host).to_owned()
        };
        Ok(Trusted {
            origin: origin.to_owned(),
            scheme: parts.scheme.to_owned(),
            host,
            port: parts.port.map(|p| format!(":{p}")).unwrap_or_default(),
            domain,
        })
    }
}

/// Characters that naive origin parsers stop at. `_` is sent by Chromium
/// and Firefox; the others only by some engines (Safari).
pub const SPECIAL_CHARACTERS: [char; 14] = [
    '_', '-', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=',
];

/// Code-hosting and sandbox sites where anyone can run script.
const THIRD_PARTIES: [&str; 8] = [
    "https://{t}.github.io",
    "https://codepen.io",
    "https://s.codepen.io",
    "https://jsfiddle.net",
    "https://fiddle.jshell.net",
    "https://jsbin.com",
    "https://{t}.netlify.app",
    "https://{t}.vercel.app",
];

/// Every probe for a trusted origin. `token` makes attacker names unique
/// (`corsica-<token>`), so a hit cannot be a coincidence.
pub fn probes(t: &Trusted, token: &str) -> Vec<Probe> {
    let tag = format!("corsica-{token}");
    let (s, h, p, d) = (&t.scheme, &t.host, &t.port, &t.domain);
    let mut out = vec![
        Probe {
            class: Class::OriginReflection,
            origin: format!("https://{tag}.com"),
        },
        Probe {
            class: Class::OriginReflection,
            origin: format!("{s}://{tag}.example{p}"),
        },
        Probe {
            class: Class::NullOrigin,
            origin: "null".to_owned(),
        },
        Probe {
            class: Class::PrefixMatch,
            origin: format!("{s}://{h}.{tag}.net{p}"),
        },
        Probe {
            class: Class::SuffixMatch,
            origin: format!("{s}://{}{d}{p}", tag.replace('-', "")),
        },
    ];
    // `"https://app.example.com".contains(origin)`: a prefix of the trusted
    // host that is itself a registrable name (app.example.co).
    if h.len() > 3 && !h.ends_with('.') {
        let truncated = &h[..h.len() - 1];
        if !truncated.ends_with('.') {
            out.push(Probe {
                class: Class::SubstringMatch,
                origin: format!("{s}://{truncated}{p}"),
            });
        }
    }
    if let Some(i) = d.find('.') {
        if d.len() > 1 {
            out.push(Probe {
                class: Class::SubstringMatch,
                origin: format!("{s}://{}{p}", &d[1..]),
            });
        }
        // An unescaped dot in a regex matches any character: replace the dot
        // in front of the registrable domain (or inside it) with a letter.
        if h.len() > d.len() {
            let cut = h.len() - d.len() - 1;
            out.push(Probe {
                class: Class::UnescapedDot,
                origin: format!("{s}://{}x{}{p}", &h[..cut], &h[cut + 1..]),
            });
        } else {
            out.push(Probe {
                class: Class::UnescapedDot,
                origin: format!("{s}://{}x{}{p}", &d[..i], &d[i + 1..]),
            });
        }
    }
    if s == "https" {
        out.push(Probe {
            class: Class::InsecureOrigin,
            origin: format!("http://{h}{p}"),
        });
    }
    if !corsica::is_ip_host(h) {
        out.push(Probe {
            class: Class::AnySubdomain,
            origin: format!("{s}://{tag}.{d}{p}"),
        });
        if h != d {
            out.push(Probe {
                class: Class::AnySubdomain,
                origin: format!("{s}://{tag}.{h}{p}"),
            });
        }
    }
    for c in SPECIAL_CHARACTERS {
        out.push(Probe {
            class: Class::SpecialCharacters,
            origin: format!("{s}://{h}{c}.{tag}.net{p}"),
        });
    }
    out.push(Probe {
        class: Class::SpecialCharacters,
        origin: format!("{s}://{h}%60.{tag}.net{p}"),
    });
    for third in THIRD_PARTIES {
        out.push(Probe {
            class: Class::ThirdPartyOrigin,
            origin: third.replace("{t}", &tag),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_for_a_subdomain_origin() {
        let t = Trusted::parse("https://app.example.com").unwrap();
        assert_eq!(t.domain, "example.com");
        let all = probes(&t, "x1");
        let of = |class: Class| {
            all.iter()
                .filter(|p| p.class == class)
                .map(|p| p.origin.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            of(Class::PrefixMatch),
            ["https://app.example.com.corsica-x1.net"]
        );
        assert_eq!(of(Class::SuffixMatch), ["https://corsicax1example.com"]);
        assert_eq!(of(Class::UnescapedDot), ["https://appxexample.com"]);
        assert_eq!(of(Class::InsecureOrigin), ["http://app.example.com"]);
        assert!(of(Class::SubstringMatch).contains(&"https://app.example.co"));
        assert!(of(Class::AnySubdomain).contains(&"https://corsica-x1.example.com"));
        assert_eq!(of(Class::NullOrigin), ["null"]);
    }

    #[test]
    fn probes_keep_the_port() {
        let t = Trusted::parse("http://localhost:3000").unwrap();
        let all = probes(&t, "x1");
        assert!(all
            .iter()
            .any(|p| p.origin == "http://localhost.corsica-x1.net:3000"));
        assert!(all.iter().all(|p| p.class != Class::InsecureOrigin));
    }

    #[test]
    fn bad_trusted_origins_are_refused() {
        assert!(Trusted::parse("https://app.example.com/").is_err());
        assert!(Trusted::parse("ftp://x").is_err());
    }
}
