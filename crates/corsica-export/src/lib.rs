//! `corsica export`: a validated gateway configuration compiled into the
//! configuration of a proxy people already run.
//!
//! One pipeline for every target: the file is checked for what the target
//! cannot express ([`refuse`]), the validated [`GatewayConfig`] is lowered
//! to a target-neutral [`plan::Plan`] (routes from the gateway's router,
//! answers from the engine), and one module per target renders the plan.

#![warn(missing_docs)]

use corsica::Diagnostic;
use corsica_gateway::config::{GatewayConfig, GatewayFile};

pub mod caddy;
pub mod envoy;
pub mod haproxy;
pub mod nginx;
pub mod plan;
pub mod probe;
pub mod refuse;
pub mod regex;
pub mod snippet;
mod target;

pub use target::Target;

/// Whether to print a whole configuration or the part to paste.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A configuration that runs as it is.
    Whole,
    /// Only the part to paste into an existing configuration, with a
    /// comment that says where it goes.
    Fragment,
}

/// Renders `config` for `target`. `file` is the same configuration as
/// written, whose spans the refusals point at. `Err` holds every feature
/// the target cannot express exactly; then nothing must be printed.
pub fn export(
    file: &GatewayFile,
    config: &GatewayConfig,
    target: Target,
    shape: Shape,
) -> Result<String, Vec<Diagnostic>> {
    let refused = refuse::refusals(file, target);
    if !refused.is_empty() {
        return Err(refused);
    }
    let plan = plan::lower(config);
    Ok(match (target, shape) {
        (Target::Nginx, Shape::Whole) => nginx::whole(&plan, nginx::Reader::Core),
        (Target::Nginx, Shape::Fragment) => nginx::fragment(&plan, nginx::Reader::Core),
        (Target::NginxLua, Shape::Whole) => nginx::whole(&plan, nginx::Reader::Lua),
        (Target::NginxLua, Shape::Fragment) => nginx::fragment(&plan, nginx::Reader::Lua),
        (Target::Haproxy, Shape::Whole) => haproxy::whole(&plan),
        (Target::Haproxy, Shape::Fragment) => haproxy::fragment(&plan),
        (Target::Envoy, Shape::Whole) => envoy::whole(&plan),
        (Target::Envoy, Shape::Fragment) => envoy::fragment(&plan),
        (Target::Caddy, Shape::Whole) => caddy::whole(&plan),
        (Target::Caddy, Shape::Fragment) => caddy::fragment(&plan),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A method name may hold `$` or `%`, which each target's value syntax
    /// reads as a variable or a command; every target must keep it literal.
    #[test]
    fn dollar_and_percent_in_names_stay_literal() {
        let source = "listen = \"127.0.0.1:8080\"\nupstream = \"http://127.0.0.1:3000\"\n\
                      [policy]\norigins = [\"https://app.example.com\"]\nmethods = [\"X$Y\", \"P%Q\"]\n";
        let config = corsica_gateway::config::load_str(source).unwrap();
        let file: GatewayFile = toml::from_str(source).unwrap();
        let nginx = export(&file, &config, Target::Nginx, Shape::Whole).unwrap();
        assert!(nginx.contains("\"X${corsica_dollar}Y, P%Q\""), "{nginx}");
        let haproxy = export(&file, &config, Target::Haproxy, Shape::Whole).unwrap();
        assert!(haproxy.contains("\"X\\$Y, P%%Q\""), "{haproxy}");
        let envoy = export(&file, &config, Target::Envoy, Shape::Whole).unwrap();
        assert!(envoy.contains("\"X$Y, P%%Q\""), "{envoy}");
    }
}
