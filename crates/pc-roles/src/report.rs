//! [`RoleReport`]: what one producer or consumer did during a run and where its time went, measured with a [`Clock`].

use std::time::{Duration, Instant};

/// What one role did during a run: how many items it handled and where its time went.
///
/// `busy + blocked + paced` is the role's whole running time, up to the few instructions between
/// measurements. A producer is busy while it pulls items from its source and runs its callback;
/// a consumer is busy while its work and callback run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleReport {
    /// Items handled: put into the buffer by a producer, processed (successfully or not) by a
    /// consumer.
    pub items: usize,
    /// Time spent producing or processing items, callbacks included.
    pub busy: Duration,
    /// Time spent inside buffer operations: waiting for room (producer) or for items (consumer).
    pub blocked: Duration,
    /// Time spent in the per-item delay.
    pub paced: Duration,
}

impl RoleReport {
    /// Ends a busy stretch at `clock`, sleeps for `delay` and counts the sleep as paced. Does
    /// nothing if `delay` is zero.
    ///
    /// Called once per item: the check stays inline and the sleep is out of line, so that the
    /// compiler inlines the check into the roles' loops in every build. When it did not (a
    /// call per item, and the report kept in memory across it), the pipeline at capacity 1024
    /// ran at 0.8x in the comparison runner (see BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn pace(&mut self, delay: Duration, clock: &mut Clock) {
        if !delay.is_zero() {
            self.sleep_paced(delay, clock);
        }
    }

    #[cold]
    #[inline(never)]
    fn sleep_paced(&mut self, delay: Duration, clock: &mut Clock) {
        self.busy += clock.lap();
        std::thread::sleep(delay);
        self.paced += clock.lap();
    }
}

/// Splits a thread's running time into consecutive laps, reading the clock once per boundary.
///
/// Each lap ends where the next one starts, so the laps add up to the whole time, and a loop
/// that alternates between two kinds of work (busy, then blocked on a buffer) reads the clock
/// twice per turn: a clock read costs tens of nanoseconds, as much as a buffer operation.
///
/// ```
/// use std::time::Duration;
/// use pc_roles::Clock;
///
/// let buffer = pc_roles::BoundedBuffer::new(4).unwrap();
/// let mut clock = Clock::start();
/// let (mut busy, mut blocked) = (Duration::ZERO, Duration::ZERO);
/// for i in 0..3 {
///     let item = i * i; // the work
///     busy += clock.lap(); // the time since the last lap ended
///     buffer.put(item).unwrap();
///     blocked += clock.lap();
/// }
/// println!("busy {busy:?}, blocked {blocked:?}");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    last: Instant,
}

impl Clock {
    /// Starts the first lap now.
    pub fn start() -> Self {
        Self {
            last: Instant::now(),
        }
    }

    /// The time since the last lap ended (or since the start), and starts the next lap.
    #[inline]
    pub fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let lap = now - self.last;
        self.last = now;
        lap
    }
}
