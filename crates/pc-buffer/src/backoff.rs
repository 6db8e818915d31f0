//! How long a thread that cannot go on waits without a lock before it parks: spins, yields, and more yields while the thread it waits for is waking up.
//!
//! A hand-off between running threads should cost no sleep and no wake-up: the other side usually
//! acts within microseconds. Parking is right when threads outnumber cores, since it frees a core
//! for a thread that can go on; on this kind of machine a wake-up costs tens of microseconds.
//! Everything here only reads the buffer's counts and flags and yields: it decides how long to wait, never
//! whether to proceed, which is always decided again under a lock.

// A plain std atomic in both builds: the count is a hint that decides nothing, and loom builds
// never back off (see `sync`).
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sync::{Backoff, DELAYS, yield_now};

/// How many growing spins (1, 2, 4, 8 pauses) a thread that waits alone makes before yielding.
const LONE_SPINS: u32 = 4;

/// How many times a thread that waits alone yields before it parks: a few dozen microseconds on
/// an idle core, about the time another thread needs to be scheduled again on a busy one.
const LONE_YIELDS: u32 = 64;

/// How many more times a thread yields, beyond its usual backoff, while the thread it waits for
/// is known to be waking up. A wake-up takes several microseconds on a busy machine, longer than
/// the usual backoff; parking meanwhile would make the woken thread pay for a wake-up in turn, and
/// the two sides would go on handing every item over through the scheduler. Yielding also gives
/// the waking thread the core if it is waiting for one.
const WAKING_YIELDS: u32 = 64;

/// How many threads are backing off on one buffer right now.
#[derive(Debug, Default)]
pub(crate) struct Spinners {
    count: AtomicUsize,
}

/// Counts a thread in [`Spinners`] while it backs off, and out when dropped.
struct Spinning<'a> {
    count: &'a AtomicUsize,
    /// Whether no other thread was backing off when this one started.
    alone: bool,
}

impl<'a> Spinning<'a> {
    fn enter(spinners: &'a Spinners) -> Self {
        let count = &spinners.count;
        let alone = count.fetch_add(1, Ordering::Relaxed) == 0;
        Self { count, alone }
    }
}

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
///   cores. (Not only one thread per side backing off and the rest parking at once: every
///   wake-up costs more than the whole backoff.)
/// - Either way, while the hint says the thread this one waits for was notified and is still
///   waking up, keep yielding ([`WAKING_YIELDS`]) rather than park: it is about to make room or
///   put an item. Without this, once one side parks (say a consumer started before its
///   producer), every later hand-off tends to go through a wake-up, since each wake-up outlasts
///   the other side's backoff, which then parks in turn.
///
/// Under loom, one look at the hint and no yield (see `sync`): the rest reads the hint and
/// yields, so it cannot change a decision, and it would multiply the interleavings to explore.
/// A yield would also hide interleavings: with a yield here, no model noticed a `close` that
/// forgot to wake parked producers. The models check the hint itself instead
/// (`assert_consistent`).
pub(crate) fn back_off(spinners: &Spinners, look: impl Fn() -> (bool, bool)) {
    if !DELAYS {
        let _ = look();
        return;
    }
    let counted = Spinning::enter(spinners);
    if counted.alone {
        if lone(&look) {
            return;
        }
    } else {
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if look().0 {
                return;
            }
            backoff.snooze();
        }
    }
    while_waking(&look);
}

/// [`back_off`] for a buffer whose waiting threads all watch one cache line, the one its lock
/// lives on (the slot of capacity 1 and the batched queue): every thread backs off as if alone,
/// with no count of threads backing off. At capacity 1 both sides back off on nearly every item,
/// and the count's two read-modify-writes on a shared line per back-off cost more than the whole
/// hand-off; two threads backing off at the same moment, a producer waiting for room and a
/// consumer for the item, would also see each other and both take the crowded path to parking.
/// With four producers and four consumers the lone schedule, which parks after its yields, holds
/// too (BENCHMARKS.md, "Lone backoff").
///
/// `on_yield` runs once, when the spins are over and the thread is about to yield for the first
/// time (the waits start their clock there: see [`Waited`](crate::one_lock::Waited)).
///
/// Under loom, one look, then `on_yield`, and no yield (see `sync`). The slot's threads back
/// off *before* they lock, and loom does not run a thread that yielded again while another can
/// run: a producer that backed off could then never park before the consumer's next step, and
/// the models would miss every interleaving in which it does.
pub(crate) fn back_off_lone(look: impl Fn() -> (bool, bool), on_yield: impl FnOnce()) {
    if !DELAYS {
        let _ = look();
        on_yield();
        return;
    }
    if spin(&look) {
        return;
    }
    on_yield();
    if yield_lone(&look) {
        return;
    }
    while_waking(&look);
}

/// The lone schedule's spins: a few growing ones. Returns whether `look` said ready.
fn spin(look: &impl Fn() -> (bool, bool)) -> bool {
    let backoff = Backoff::new();
    for _ in 0..LONE_SPINS {
        if look().0 {
            return true;
        }
        backoff.spin();
    }
    false
}

/// The lone schedule's yields, after its spins. Returns whether `look` said ready.
fn yield_lone(look: &impl Fn() -> (bool, bool)) -> bool {
    for _ in 0..LONE_YIELDS {
        if look().0 {
            return true;
        }
        yield_now();
    }
    false
}

/// The lone schedule: [`spin()`], then [`yield_lone`]. Returns whether `look` said ready.
fn lone(look: &impl Fn() -> (bool, bool)) -> bool {
    spin(look) || yield_lone(look)
}

/// Yields while `look` says the other side is waking up and this thread is not ready yet
/// ([`WAKING_YIELDS`] at most).
fn while_waking(look: &impl Fn() -> (bool, bool)) {
    for _ in 0..WAKING_YIELDS {
        match look() {
            (true, _) | (false, false) => return,
            (false, true) => yield_now(),
        }
    }
}
