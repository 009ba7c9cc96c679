//! The proxies `corsica export` renders for.

/// A proxy to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// nginx, core modules only: from nginx 1.23 as the engine answers but
    /// for `", "` in an origin under `*`; on older nginx it grants no CORS
    /// (see [`crate::nginx::Reader::Core`]).
    Nginx,
    /// nginx 1.22 or later with the Lua module, which reads repeated
    /// request headers (see [`crate::nginx::Reader::Lua`]).
    NginxLua,
    /// HAProxy 2.6 or later.
    Haproxy,
    /// Envoy 1.40 or later.
    Envoy,
    /// Caddy 2.6 or later.
    Caddy,
}

impl Target {
    /// The target's name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Nginx => "nginx",
            Target::NginxLua => "nginx-lua",
            Target::Haproxy => "haproxy",
            Target::Envoy => "envoy",
            Target::Caddy => "caddy",
        }
    }
}
