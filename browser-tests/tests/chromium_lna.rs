//! Local Network Access in real Chromium: a page declared public (with
//! `--ip-address-space-overrides`) fetching the loopback API origin, with
//! the permission denied and granted over DevTools, must agree with the
//! simulator told the same. Chromium missing is a failure, not a skip.

use corsica::browser::lna::LnaPermission;
use corsica::browser::CorsError;
use corsica_browser_tests::lna::run_lna;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_local_network_access_agrees_with_the_simulator() {
    for permission in [LnaPermission::Denied, LnaPermission::Granted] {
        let run = run_lna(permission)
            .await
            .unwrap_or_else(|e| panic!("the LNA test could not run against Chromium: {e}"));
        println!("{} with the permission {permission:?}:", run.version);
        for (id, verdicts, disagreements) in &run.results {
            let v = &verdicts[0];
            println!(
                "  {id}: allowed {}, error {:?}, console {:?}",
                v.allowed, v.cors_error, v.console_message
            );
            for d in disagreements {
                println!("    ✗ {d}");
            }
        }
        // The prediction itself: blocked for loopback when denied, allowed
        // when granted, and the page's own origin never blocked.
        let blocked: Vec<bool> = run
            .results
            .iter()
            .map(|(_, v, _)| v[0].cors_error == Some(CorsError::LocalNetworkAccessPermissionDenied))
            .collect();
        match permission {
            LnaPermission::Denied => assert_eq!(blocked, [true, true, false]),
            _ => assert_eq!(blocked, [false, false, false]),
        }
        let failing: Vec<&String> = run
            .results
            .iter()
            .filter(|(_, _, d)| !d.is_empty())
            .map(|(id, _, _)| id)
            .collect();
        assert!(
            failing.is_empty(),
            "{permission:?}: Chromium disagrees with the simulator on {failing:?} (see above)"
        );
    }
}
