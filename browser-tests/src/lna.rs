//! Local Network Access in real Chromium: the page's `IP:port` is declared
//! public with `--ip-address-space-overrides`, the `loopback-network`
//! permission is set over DevTools, and a few fetches to the loopback API
//! origin are compared with the simulator told the same (page public,
//! permission as set).

use corsica::browser::lna::{AddressSpace, LnaPermission, LocalNetwork};
use corsica::browser::{Case, Credentials, Profile, RequestSpec, ResponseSpec, Verdict};

use crate::compare::{compare_for, predict, Disagreement};
use crate::driver::{BrowserDriver, Chromium, DriverError, Job};
use crate::scenario::Scenario;
use crate::server::{case_path, Ports, Server};

/// The outcome of one LNA run.
#[derive(Debug)]
pub struct LnaRun {
    /// The Chromium version.
    pub version: String,
    /// Each scenario's id, prediction and disagreements.
    pub results: Vec<(String, Vec<Verdict>, Vec<Disagreement>)>,
}

fn scenarios(ports: Ports, run: &str, permission: LnaPermission) -> Vec<Scenario> {
    let page = ports.page_origin();
    let network = LocalNetwork {
        page_address_space: Some(AddressSpace::Public),
        target_address_space: None,
        permission,
    };
    let allow = |extra: &[(&str, &str)]| ResponseSpec {
        status: 200,
        headers: [("access-control-allow-origin", page.as_str())]
            .iter()
            .chain(extra)
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    };
    let make = |i: usize, port: u16, method: &str, headers: &[(&str, &str)]| Scenario {
        case: Case {
            id: format!("lna-{i}"),
            origin: page.clone(),
            request: RequestSpec {
                url: format!("{}{}", Ports::origin(port), case_path(run, i, 0)),
                method: method.into(),
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                credentials: Credentials::SameOrigin,
                read_headers: vec![],
                force_preflight: false,
            },
            preflight_response: Some(ResponseSpec {
                status: 204,
                headers: vec![
                    ("access-control-allow-origin".into(), page.clone()),
                    ("access-control-allow-methods".into(), "PUT".into()),
                    ("access-control-allow-headers".into(), "x-a".into()),
                ],
            }),
            response: Some(allow(&[])),
            redirects: vec![],
            local_network: network,
        },
        follow_ups: vec![],
    };
    vec![
        // A simple GET to the loopback API origin.
        make(0, ports.api, "GET", &[]),
        // A preflighted PUT.
        make(1, ports.api, "PUT", &[("x-a", "1")]),
        // The page's own origin (public → public): never a local network request.
        make(2, ports.page, "GET", &[]),
    ]
}

/// Runs the LNA scenarios in Chromium with the page declared public and the
/// `loopback-network` permission `granted` or `denied`.
pub async fn run_lna(permission: LnaPermission) -> Result<LnaRun, DriverError> {
    let setting = match permission {
        LnaPermission::Granted => "granted",
        LnaPermission::Denied => "denied",
        LnaPermission::Prompt => {
            return Err(DriverError(
                "a prompt cannot be answered in headless Chromium".into(),
            ))
        }
    };
    let server = Server::start()
        .await
        .map_err(|e| DriverError(format!("cannot start the scripted server: {e}")))?;
    let ports = server.ports();
    let run = format!("lna{setting}");
    let scenarios = scenarios(ports, &run, permission);
    for (i, s) in scenarios.iter().enumerate() {
        server.install(&run, i, &s.case);
    }
    let overrides = format!(
        "--ip-address-space-overrides=127.0.0.1:{}=public",
        ports.page
    );
    let mut chromium = Chromium::launch_with(&ports.page_url(), &run, &[overrides]).await?;
    for name in ["loopback-network", "local-network"] {
        chromium
            .set_permission(name, setting, &ports.page_origin())
            .await?;
    }
    let jobs: Vec<Job> = scenarios
        .iter()
        .enumerate()
        .map(|(key, s)| Job {
            key,
            fetches: s.fetches(),
        })
        .collect();
    let observed = chromium.run(&jobs).await;
    let version = chromium.version().to_owned();
    chromium.close().await;
    let observed = observed?;
    let mut results = Vec::new();
    for ((i, s), obs) in scenarios.iter().enumerate().zip(&observed) {
        let verdicts = predict(s, Profile::Chromium).map_err(DriverError)?;
        let arrivals = server.arrivals(&run, i);
        let disagreements = compare_for(Profile::Chromium, &verdicts, obs, &arrivals);
        results.push((s.case.id.clone(), verdicts, disagreements));
    }
    Ok(LnaRun { version, results })
}
