//! Which side a thread waits on, and the waits of the layouts with a single lock (the slot of capacity 1 and the batch queue): lock only once a hint read without the lock says the thread can go on, back off, then park on the side's `Condvar` with counted waiters.
//!
//! Both layouts keep their lock word, their items and a few words that waiting threads read
//! without the lock on one cache line, so that a hand-over costs that line to the other side
//! and back. A thread that cannot go on reads those words, not the lock: a thread spinning on
//! the lock of a full (empty) buffer would take the line away from the thread about to empty
//! (fill) it. Each layout says through [`OneLock`] what its state is, when a side can go on and
//! what it publishes; the waiting itself, written once here, is checked by the loom models of
//! both.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::backoff::back_off_lone;
use crate::lock::{Condvar, Refused, lock, remaining};
use crate::sync::{Mutex, MutexGuard};
use crate::waiters::Waiters;

/// Which side of a buffer a thread waits on.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    /// A producer waiting for room.
    Put,
    /// A consumer waiting for an item.
    Get,
}

/// What a layout with a single lock tells [`wait_for`].
pub(crate) trait OneLock {
    /// What the lock protects.
    type State;

    /// Whether a wait is timed from its start, or only from the first yield (see [`Waited`]).
    const TIMED_FROM_START: bool;

    /// The lock.
    fn mutex(&self) -> &Mutex<Self::State>;

    /// Read without the lock, as a hint: whether `side` can proceed (or never will, closed),
    /// and whether a thread of the other side, which would let it proceed, was notified and is
    /// still waking up.
    fn hint(&self, side: Side) -> (bool, bool);

    /// Under the lock: whether `side` can proceed (`Ok`) or never will (`Err(Closed)`);
    /// `None` to wait.
    fn done(&self, side: Side, state: &Self::State) -> Option<Result<(), Refused>>;

    /// The waiters of `side`.
    fn waiters(side: Side, state: &mut Self::State) -> &mut Waiters;

    /// The condition variable `side` waits on.
    fn condvar(&self, side: Side) -> &Condvar;

    /// Stores what threads read without the lock, if it changed; under the lock, before
    /// unlocking.
    fn publish(&self, state: &Self::State);
}

/// Whether an operation waited, and since when its wait is timed.
///
/// The batched layout times a wait from the moment the thread first yields its core (or parks),
/// not from its first look. Most of its hand-overs between two running threads end while the
/// waiting one spins, a fraction of a microsecond, and reading the clock when such a wait begins
/// and again when it ends costs about as much as the hand-over. A wait that ends while spinning
/// is counted, and adds no time.
///
/// The slot of capacity 1 times every wait from its start: there the clock read at the start
/// also delays the waiting thread's first look at the slot's line by a few dozen nanoseconds,
/// which leaves that line to the other side a moment longer (BENCHMARKS.md, "One slot at
/// capacity 1").
#[derive(Clone, Copy)]
pub(crate) enum Waited {
    /// The operation went on at once.
    No,
    /// It waited, and was done before its first yield.
    Briefly,
    /// It waited, and yielded or parked from this moment on.
    Since(Instant),
}

impl Waited {
    /// Starts the clock if it has not started yet.
    fn start(&mut self) {
        if !matches!(self, Waited::Since(_)) {
            *self = Waited::Since(Instant::now());
        }
    }
}

/// The lock of `buffer`, once `side` can proceed (`Ok`) or cannot ever, or not before
/// `deadline` (`Err`), and whether the thread waited (the caller counts the wait after
/// unlocking).
#[inline]
pub(crate) fn wait_for<L: OneLock>(
    buffer: &L,
    side: Side,
    deadline: Option<Instant>,
) -> (MutexGuard<'_, L::State>, Result<(), Refused>, Waited) {
    // Lock only when the hint says this side can go on: taking the lock of a full (empty)
    // buffer would take the line from the thread about to empty (fill) it.
    if buffer.hint(side).0 {
        let state = lock(buffer.mutex());
        if let Some(done) = buffer.done(side, &state) {
            return (state, done, Waited::No);
        }
        return wait_for_slow(buffer, side, deadline, Some(state));
    }
    wait_for_slow(buffer, side, deadline, None)
}

/// [`wait_for`] once `side` must wait: `state` is the lock if the caller holds it, `None` if
/// the hint said to wait (then back off first). Backs off once without the lock, then parks on
/// the side's `Condvar`, as often as needed.
#[cold]
#[inline(never)]
fn wait_for_slow<'a, L: OneLock>(
    buffer: &'a L,
    side: Side,
    deadline: Option<Instant>,
    state: Option<MutexGuard<'a, L::State>>,
) -> (MutexGuard<'a, L::State>, Result<(), Refused>, Waited) {
    let mut waited = if L::TIMED_FROM_START {
        Waited::Since(Instant::now())
    } else {
        Waited::Briefly
    };
    // Whether there is time to back off (for a wait with a deadline, whether it has not
    // passed yet).
    let time_left = || deadline.is_none_or(|deadline| Instant::now() < deadline);
    let back_off = |waited: &mut Waited| back_off_lone(|| buffer.hint(side), || waited.start());
    let mut backed_off = false;
    let mut state = match state {
        Some(state) => state,
        None => {
            if time_left() {
                backed_off = true;
                back_off(&mut waited);
            }
            lock(buffer.mutex())
        }
    };
    // A loop, not a single wait: returning from a wait does not mean this thread may
    // proceed. The wake-up may be spurious, or the item or room may have gone to a thread
    // that never waited. Only the check under the lock decides.
    let outcome = loop {
        if let Some(done) = buffer.done(side, &state) {
            break done;
        }
        if !backed_off && time_left() {
            backed_off = true;
            drop(state);
            back_off(&mut waited);
            state = lock(buffer.mutex());
            continue;
        }
        let timeout = match remaining(deadline) {
            Ok(timeout) => timeout,
            Err(_) => break Err(Refused::TimedOut),
        };
        // Registered under the lock, after the check above: a thread that changes the state
        // after this sees the count and notifies, and accounts for the thread it wakes
        // (`Waiters::signal`); this thread takes that signal off, or removes itself if it
        // woke for another reason (`Waiters::unregister`).
        L::waiters(side, &mut state).register();
        waited.start();
        state = buffer.condvar(side).wait(buffer.mutex(), state, timeout);
        L::waiters(side, &mut state).unregister();
        // This thread may have been the one a notifier counted as waking.
        buffer.publish(&state);
        // Back off again before parking again: the buffer may have been refilled (emptied)
        // by a thread that never waited, and will change again soon.
        backed_off = false;
    };
    (state, outcome, waited)
}

/// How many operations of one side waited, and for how long in all, counted after unlocking
/// in atomics on a line of their own: counted under the lock, next to the items, they would
/// put a second line on the way of every hand-over that waits (at capacity 1, nearly every
/// one).
///
/// Std's atomics even under loom: they are statistics, which no decision reads, and as loom's
/// they would add two scheduling points to every wait in every model without checking anything.
pub(crate) struct Waits {
    count: AtomicU64,
    nanos: AtomicU64,
}

impl Waits {
    pub(crate) fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
        }
    }

    /// Counts a wait, if the operation waited, and its time since its clock started; adds that
    /// time to the caller's `total` too (see `BoundedBuffer::put_waited`).
    #[inline]
    pub(crate) fn add(&self, waited: Waited, total: &mut Duration) {
        // Relaxed: the totals are statistics, read as a snapshot.
        match waited {
            Waited::No => {}
            Waited::Briefly => {
                self.count.fetch_add(1, Ordering::Relaxed);
            }
            Waited::Since(started) => {
                let time = started.elapsed();
                let nanos = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
                self.count.fetch_add(1, Ordering::Relaxed);
                self.nanos.fetch_add(nanos, Ordering::Relaxed);
                *total += time;
            }
        }
    }

    /// How many waits, and how long in all.
    pub(crate) fn read(&self) -> (u64, Duration) {
        let nanos = self.nanos.load(Ordering::Relaxed);
        (
            self.count.load(Ordering::Relaxed),
            Duration::from_nanos(nanos),
        )
    }
}
