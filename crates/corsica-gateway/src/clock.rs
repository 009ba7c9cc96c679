//! A cheap clock for deadlines counted in seconds.
//!
//! The connection deadlines (`header_read`, `idle`), the upstream pool's
//! idle stamps and the upstream response timeout all read the time on
//! every request, and none of them needs better than a few milliseconds.
//! Linux's `CLOCK_MONOTONIC_COARSE` is the same clock as `Instant`'s, at
//! the resolution of the scheduler tick (4 ms here), and is read from the
//! vDSO without touching the time-stamp counter: 3 ns a read against 22 ns
//! on this machine's VM, where those reads were 5 % of the gateway's user
//! time per proxied request.
//!
//! Elsewhere this is `Instant::now()`.

use tokio::time::Instant;

/// The current time, within one scheduler tick (a few milliseconds) of
/// `Instant::now()`, ahead or behind. Never goes backwards.
pub(crate) fn coarse_now() -> Instant {
    imp::now()
}

/// An `Instant` as a number, for an atomic: nanoseconds since the first
/// stamp taken. Instants before that one are stamped 0.
pub(crate) fn stamp(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(origin()).as_nanos()).unwrap_or(u64::MAX)
}

/// The `Instant` a [`stamp`] stands for.
pub(crate) fn from_stamp(stamp: u64) -> Instant {
    origin() + std::time::Duration::from_nanos(stamp)
}

fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::OnceLock;
    use std::time::Duration;

    use tokio::time::Instant;

    /// A fine `Instant` and the coarse clock's reading at the same moment,
    /// so that coarse readings can be turned into `Instant`s.
    struct Base {
        instant: Instant,
        coarse: Duration,
    }

    static BASE: OnceLock<Base> = OnceLock::new();

    fn coarse() -> Option<Duration> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the call's duration.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        let secs = u64::try_from(ts.tv_sec).ok()?;
        let nanos = u32::try_from(ts.tv_nsec).ok()?;
        (status == 0).then(|| Duration::new(secs, nanos))
    }

    pub(super) fn now() -> Instant {
        // Both clocks count from the same origin, so the offset between
        // them is fixed but for the coarse one's lag of up to a tick.
        let base = BASE.get_or_init(|| Base {
            coarse: coarse().unwrap_or_default(),
            instant: Instant::now(),
        });
        match coarse() {
            Some(now) => base.instant + now.saturating_sub(base.coarse),
            None => Instant::now(),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use tokio::time::Instant;

    pub(super) fn now() -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn tracks_the_fine_clock_within_a_few_ticks() {
        for _ in 0..3 {
            let coarse = coarse_now();
            let fine = Instant::now();
            let apart = if coarse > fine {
                coarse - fine
            } else {
                fine - coarse
            };
            assert!(apart < Duration::from_millis(25), "{apart:?} apart");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    #[test]
    fn never_goes_backwards() {
        let mut last = coarse_now();
        for _ in 0..100_000 {
            let now = coarse_now();
            assert!(now >= last);
            last = now;
        }
    }
}
