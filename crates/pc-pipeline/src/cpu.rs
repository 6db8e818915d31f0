//! Per-thread CPU time from the operating system, which tells a stage that computes from one that sleeps or waits on I/O.

use std::time::Duration;

/// The CPU time the calling thread has used so far, if the operating system tells it.
///
/// A system call on most systems (about a microsecond), so a worker reads it at its start and
/// end only.
#[cfg(unix)]
pub(crate) fn thread_cpu() -> Option<Duration> {
    use rustix::time::{ClockId, clock_gettime};
    let time = clock_gettime(ClockId::ThreadCPUTime);
    let secs = u64::try_from(time.tv_sec).ok()?;
    let nanos = u32::try_from(time.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

/// Elsewhere the time is unknown, and a worker's busy time counts as CPU time.
#[cfg(not(unix))]
pub(crate) fn thread_cpu() -> Option<Duration> {
    None
}

/// The CPU time a thread uses from its start to its end.
pub(crate) struct CpuClock(Option<Duration>);

impl CpuClock {
    pub(crate) fn start() -> Self {
        Self(thread_cpu())
    }

    /// The CPU time used since the start; `None` if the system does not tell.
    pub(crate) fn used(&self) -> Option<Duration> {
        Some(thread_cpu()?.saturating_sub(self.0?))
    }
}

/// The share of `busy` a thread spent on a core, given the CPU time it used over its whole run
/// (`None`: unknown, taken as all of it). Waits that spin use CPU too, so the share is capped
/// at 1.
pub(crate) fn on_cpu_ratio(cpu: Option<Duration>, busy: Duration) -> f64 {
    match cpu {
        None => 1.0,
        Some(_) if busy.is_zero() => 1.0,
        Some(cpu) => (cpu.as_secs_f64() / busy.as_secs_f64()).min(1.0),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_thread_that_computes_uses_cpu_and_one_that_sleeps_does_not() {
        let clock = CpuClock::start();
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let computing = clock.used();
        let clock = CpuClock::start();
        std::thread::sleep(Duration::from_millis(20));
        let sleeping = clock.used();
        if let (Some(computing), Some(sleeping)) = (computing, sleeping) {
            // The sleeping thread used a small fraction of what the computing one did, however
            // loaded the machine is: a computing thread only accrues CPU time.
            assert!(
                sleeping * 4 < computing,
                "{sleeping:?} against {computing:?}"
            );
        }
    }

    #[test]
    fn the_on_cpu_ratio_is_capped_and_defaults_to_one() {
        let ms = Duration::from_millis;
        assert_eq!(on_cpu_ratio(None, ms(10)), 1.0);
        assert_eq!(on_cpu_ratio(Some(ms(20)), ms(10)), 1.0);
        assert_eq!(on_cpu_ratio(Some(ms(5)), ms(10)), 0.5);
        assert_eq!(on_cpu_ratio(Some(ms(5)), Duration::ZERO), 1.0);
    }
}
