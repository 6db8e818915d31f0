//! How long a thread that cannot go on waits without the lock before it parks: spins measured in time, yields, and more yields while the thread it waits for is waking up.
//!
//! A hand-off between running threads should cost no sleep and no wake-up: the other side usually
//! acts within microseconds. Parking is right when threads outnumber cores, since it frees a core
//! for a thread that can go on; on this kind of machine a wake-up costs tens of microseconds.
//! Everything here only reads the buffer's hint and yields: it decides how long to wait, never
//! whether to proceed, which is always decided again under the lock.

#[cfg(not(all(test, loom)))]
use std::cell::Cell;
#[cfg(not(all(test, loom)))]
use std::hint::spin_loop;
#[cfg(not(all(test, loom)))]
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
#[cfg(not(all(test, loom)))]
use std::time::{Duration, Instant};

use crate::sync::Backoff;

/// How long one pause (`spin_loop`) took on the machine the spin counts here and in
/// crossbeam's `Backoff` were tuned on. What a pause costs differs about sixfold between x86
/// generations (Skylake made it about 140 cycles, from about 10): counted in pauses, the same
/// backoff waited 0.4 µs on one machine and 0.07 µs on the next, short enough that threads
/// parked where they should have waited, and a wake-up costs tens of microseconds.
#[cfg(not(all(test, loom)))]
const REFERENCE_PAUSE: Duration = Duration::from_nanos(25);

/// How many pauses make one reference pause on this machine; 0 until measured.
#[cfg(not(all(test, loom)))]
static PAUSES_PER_REFERENCE: AtomicU32 = AtomicU32::new(0);

/// How many pauses make one [`REFERENCE_PAUSE`] here, measured once per process (a few
/// microseconds): the fastest of a few rounds, since a round the scheduler interrupted only
/// reads slower. Between 1 and 16, so a machine where a pause is slower than the reference
/// waits as crossbeam's backoff would.
#[cfg(not(all(test, loom)))]
fn pauses_per_reference() -> u32 {
    let known = PAUSES_PER_REFERENCE.load(Ordering::Relaxed);
    if known != 0 {
        return known;
    }
    const PAUSES: u32 = 64;
    let fastest = (0..4)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..PAUSES {
                spin_loop();
            }
            started.elapsed()
        })
        .min()
        .unwrap_or(REFERENCE_PAUSE * PAUSES);
    let per_reference = (REFERENCE_PAUSE * PAUSES).as_nanos() / fastest.as_nanos().max(1);
    let per_reference = per_reference.clamp(1, 16) as u32;
    // Threads that measure at once store about the same value; any of them will do.
    PAUSES_PER_REFERENCE.store(per_reference, Ordering::Relaxed);
    per_reference
}

/// crossbeam-utils' `Backoff` (spins of 1, 2, 4, ... 64 pauses, then yields, done after 10
/// steps), with each pause as long as a [`REFERENCE_PAUSE`] on any machine.
#[cfg(not(all(test, loom)))]
pub(crate) struct TimedBackoff {
    step: Cell<u32>,
    pauses_per_reference: u32,
}

#[cfg(not(all(test, loom)))]
impl TimedBackoff {
    const SPIN_LIMIT: u32 = 6;
    const YIELD_LIMIT: u32 = 10;

    pub(crate) fn new() -> Self {
        Self {
            step: Cell::new(0),
            pauses_per_reference: pauses_per_reference(),
        }
    }

    fn pause(&self) {
        let pauses = (1 << self.step.get().min(Self::SPIN_LIMIT)) * self.pauses_per_reference;
        for _ in 0..pauses {
            spin_loop();
        }
    }

    /// Spins, a little longer each time up to a limit.
    pub(crate) fn spin(&self) {
        self.pause();
        if self.step.get() <= Self::SPIN_LIMIT {
            self.step.set(self.step.get() + 1);
        }
    }

    /// Spins, a little longer each time, then yields.
    pub(crate) fn snooze(&self) {
        if self.step.get() <= Self::SPIN_LIMIT {
            self.pause();
        } else {
            std::thread::yield_now();
        }
        if self.step.get() <= Self::YIELD_LIMIT {
            self.step.set(self.step.get() + 1);
        }
    }

    /// Whether it is time to park.
    pub(crate) fn is_completed(&self) -> bool {
        self.step.get() > Self::YIELD_LIMIT
    }
}

/// How many growing spins (1, 2, 4, 8 pauses) a thread that waits alone makes before yielding.
#[cfg(not(all(test, loom)))]
const LONE_SPINS: u32 = 4;

/// How many times a thread that waits alone yields before it parks: a few dozen microseconds on
/// an idle core, about the time another thread needs to be scheduled again on a busy one.
#[cfg(not(all(test, loom)))]
const LONE_YIELDS: u32 = 64;

/// How many more times a thread yields, beyond its usual backoff, while the thread it waits for
/// is known to be waking up. A wake-up takes several microseconds on a busy machine, longer than
/// the usual backoff; parking meanwhile would make the woken thread pay for a wake-up in turn, and
/// the two sides would go on handing every item over through the scheduler. Yielding also gives
/// the waking thread the core if it is waiting for one.
#[cfg(not(all(test, loom)))]
const WAKING_YIELDS: u32 = 64;

/// How many threads are backing off on one buffer right now.
#[derive(Debug, Default)]
pub(crate) struct Spinners {
    #[cfg(not(all(test, loom)))]
    count: AtomicUsize,
}

/// Counts a thread in [`Spinners`] while it backs off, and out when dropped.
#[cfg(not(all(test, loom)))]
struct Spinning<'a> {
    count: &'a AtomicUsize,
    /// Whether no other thread was backing off when this one started.
    alone: bool,
}

#[cfg(not(all(test, loom)))]
impl<'a> Spinning<'a> {
    fn enter(spinners: &'a Spinners) -> Self {
        let count = &spinners.count;
        let alone = count.fetch_add(1, Ordering::Relaxed) == 0;
        Self { count, alone }
    }
}

#[cfg(not(all(test, loom)))]
impl Drop for Spinning<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits while `look` says (not ready, _), for a bounded time; `look` returns whether the
/// waiting thread can proceed and whether a thread of the other side, which would let it
/// proceed, is waking up.
///
/// - Alone (no other thread backing off on this buffer: most likely one producer and one
///   consumer), spin only briefly, then yield: if the other thread runs on another core, a yield
///   returns at once and this polls about every half microsecond; if both share a core, spinning
///   would only keep the other thread from running, and each yield hands it the core.
/// - With others backing off too, threads may outnumber cores: crossbeam's short backoff (a few
///   microseconds of spins, then a few yields), then park, so the threads that can go on get the
///   cores. (Letting only one thread per side back off and parking the rest at once was measured
///   and is far slower: every wake-up costs more than the whole backoff.)
/// - Either way, while the hint says the thread this one waits for was notified and is still
///   waking up, keep yielding ([`WAKING_YIELDS`]) rather than park: it is about to make room or
///   put an item. Without this, once one side parks (say a consumer started before its
///   producer), every later hand-off tends to go through a wake-up, since each wake-up outlasts
///   the other side's backoff, which then parks in turn.
///
/// Under loom, only a one-yield backoff: the rest reads the hint and yields, so it cannot change
/// a decision, and it would multiply the interleavings to explore. The models check the hint
/// itself instead (`assert_consistent`).
pub(crate) fn back_off(spinners: &Spinners, look: impl Fn() -> (bool, bool)) {
    #[cfg(all(test, loom))]
    {
        let _ = spinners;
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if look().0 {
                return;
            }
            backoff.snooze();
        }
    }
    #[cfg(not(all(test, loom)))]
    {
        let counted = Spinning::enter(spinners);
        let backoff = Backoff::new();
        if counted.alone {
            for _ in 0..LONE_SPINS {
                if look().0 {
                    return;
                }
                backoff.spin();
            }
            for _ in 0..LONE_YIELDS {
                if look().0 {
                    return;
                }
                std::thread::yield_now();
            }
        } else {
            while !backoff.is_completed() {
                if look().0 {
                    return;
                }
                backoff.snooze();
            }
        }
        for _ in 0..WAKING_YIELDS {
            match look() {
                (true, _) | (false, false) => return,
                (false, true) => std::thread::yield_now(),
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{TimedBackoff, pauses_per_reference};

    #[test]
    fn the_pause_scale_is_measured_once_and_stays_in_bounds() {
        let first = pauses_per_reference();
        assert!((1..=16).contains(&first), "{first}");
        assert_eq!(pauses_per_reference(), first);
        assert_eq!(TimedBackoff::new().pauses_per_reference, first);
    }

    #[test]
    fn a_timed_backoff_has_crossbeams_steps() {
        // Spinning alone never says "park"; snoozing does after seven spins and four yields.
        let spinning = TimedBackoff::new();
        for _ in 0..20 {
            spinning.spin();
        }
        assert!(!spinning.is_completed());
        let snoozing = TimedBackoff::new();
        for _ in 0..=TimedBackoff::YIELD_LIMIT {
            assert!(!snoozing.is_completed());
            snoozing.snooze();
        }
        assert!(snoozing.is_completed());
    }
}
