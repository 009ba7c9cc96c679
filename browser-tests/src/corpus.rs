//! The corpus: seeded random cases ([`crate::random`]) plus the
//! hand-written edge cases ([`crate::edge`]), as `corsica::browser::Case`s
//! whose URLs point at the harness's three ports.

use crate::random::{random_case, random_follow_ups};
use crate::rng::Rng;
use crate::scenario::{Place, Scenario};
use crate::server::Ports;

/// The whole corpus for one run.
pub fn corpus(seed: u64, count: usize, ports: Ports, run: &str) -> Vec<Scenario> {
    let mut rng = Rng::new(seed);
    let mut out: Vec<Scenario> = (0..count)
        .map(|index| {
            let place = Place { ports, run, index };
            // Each case gets its own stream, so a case can be regenerated
            // from (seed, index) alone.
            let mut case_rng = Rng::new(rng.next_u64());
            let repeat = case_rng.chance(7);
            let case = random_case(&mut case_rng, &place, repeat);
            let follow_ups = if repeat {
                random_follow_ups(&mut case_rng, &case.request)
            } else {
                Vec::new()
            };
            Scenario { case, follow_ups }
        })
        .collect();
    for (index, edge) in (count..).zip(crate::edge::cases()) {
        let place = Place { ports, run, index };
        out.push(edge.build(&place));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> Ports {
        Ports {
            page: 1001,
            api: 1002,
            other: 1003,
        }
    }

    #[test]
    fn the_corpus_is_a_function_of_the_seed() {
        let a = corpus(5, 50, ports(), "r");
        let b = corpus(5, 50, ports(), "r");
        let c = corpus(6, 50, ports(), "r");
        let json = |s: &[Scenario]| {
            serde_json::to_string(&s.iter().map(|x| &x.case).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c));
    }

    #[test]
    fn every_case_simulates_and_has_a_unique_url() {
        let all = corpus(1, 400, ports(), "r");
        let mut urls = std::collections::HashSet::new();
        for s in &all {
            let path = s
                .case
                .request
                .url
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            assert!(urls.insert(path), "{}", s.case.id);
            corsica::browser::simulate(&s.case, corsica::browser::Profile::Chromium)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
