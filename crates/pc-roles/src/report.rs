//! [`RoleReport`]: what one producer or consumer did during a run and where its time went, measured with a [`Clock`].

use std::time::{Duration, Instant};

/// What one role did during a run: how many items it handled and where its time went.
///
/// `busy + blocked + paced` is the role's whole running time. `blocked` is what the buffer's
/// operations said they waited ([`Buffer::put_waited`](pc_buffer::Buffer::put_waited) and its
/// siblings), `paced` the delays slept, and `busy` the rest: pulling items from the source or
/// processing them, the callbacks, and the buffer operations' own cost when they did not wait.
///
/// The role reads the clock at its start and end and around each delay, never around a buffer
/// operation: [`BoundedBuffer`](pc_buffer::BoundedBuffer) reads it only when an operation
/// waits. Timing every operation from outside takes two clock reads per batch, about as long as
/// the hand-over itself (BENCHMARKS.md, "Blocked time from the buffer").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleReport {
    /// Items handled: put into the buffer by a producer, processed (successfully or not) by a
    /// consumer.
    pub items: usize,
    /// Time spent producing or processing items, callbacks and the buffer operations that did
    /// not wait included: the running time neither blocked nor paced.
    pub busy: Duration,
    /// Time buffer operations waited: for room (producer) or for items (consumer), as the
    /// buffer measures it. For a [`BoundedBuffer`](pc_buffer::BoundedBuffer), the role's share
    /// of [`BufferStats::put_wait_time`](pc_buffer::BufferStats::put_wait_time) or
    /// [`get_wait_time`](pc_buffer::BufferStats::get_wait_time): a wait is timed from its start,
    /// or in the layout made for batches from its first yield.
    pub blocked: Duration,
    /// Time spent in the per-item delay.
    pub paced: Duration,
}

impl RoleReport {
    /// Sleeps for `delay` and counts the sleep as paced. Does nothing if `delay` is zero.
    ///
    /// Called once per item: the check stays inline and the sleep is out of line, so that the
    /// compiler inlines the check into the roles' loops in every build: a call per item would
    /// also keep the report in memory across it, in the hottest loop of every run.
    #[inline(always)]
    pub(crate) fn pace(&mut self, delay: Duration) {
        if !delay.is_zero() {
            self.sleep_paced(delay);
        }
    }

    #[cold]
    #[inline(never)]
    fn sleep_paced(&mut self, delay: Duration) {
        let started = Instant::now();
        std::thread::sleep(delay);
        self.paced += started.elapsed();
    }

    /// Ends a role that ran since `started`: busy is the time it was neither blocked nor
    /// paced.
    pub(crate) fn end(&mut self, started: Instant) {
        let accounted = self.blocked.saturating_add(self.paced);
        self.busy = started.elapsed().saturating_sub(accounted);
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
