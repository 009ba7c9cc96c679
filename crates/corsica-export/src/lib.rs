//! `corsica export`: a validated gateway configuration compiled into the
//! configuration of a proxy people already run.
//!
//! One pipeline for every target: the file is checked for what the target
//! cannot express ([`refuse`]), the validated [`GatewayConfig`] is lowered
//! to a target-neutral [`plan::Plan`] (routes from the gateway's router,
//! answers from the engine), and one module per target renders the plan.

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

/// A proxy to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// nginx 1.22 or later.
    Nginx,
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
            Target::Haproxy => "haproxy",
            Target::Envoy => "envoy",
            Target::Caddy => "caddy",
        }
    }
}

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
        (Target::Nginx, Shape::Whole) => nginx::whole(&plan),
        (Target::Nginx, Shape::Fragment) => nginx::fragment(&plan),
        (Target::Haproxy, Shape::Whole) => haproxy::whole(&plan),
        (Target::Haproxy, Shape::Fragment) => haproxy::fragment(&plan),
        (Target::Envoy, Shape::Whole) => envoy::whole(&plan),
        (Target::Envoy, Shape::Fragment) => envoy::fragment(&plan),
        (Target::Caddy, Shape::Whole) => caddy::whole(&plan),
        (Target::Caddy, Shape::Fragment) => caddy::fragment(&plan),
    })
}
