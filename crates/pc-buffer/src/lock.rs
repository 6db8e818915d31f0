//! What every layout of the buffer shares: why an operation could not go on, taking a lock, and the condition variables threads sleep on.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::sync::{
    AtomicUsize, Backoff, Mutex, MutexGuard, ParkCondvar, ParkMutex, lock_blocking, try_lock,
};

/// Why an operation could not go on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Refused {
    /// The buffer is closed (and, for a consumer, empty).
    Closed,
    /// The deadline passed first.
    TimedOut,
    /// A `try_*` operation found the buffer full (a put) or empty (a get), and does not wait.
    WouldBlock,
}

/// How long a batch get waits for an item.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Wait {
    /// Not at all: an empty buffer refuses with [`Refused::WouldBlock`].
    Never,
    /// Until the deadline (`None`: for as long as it takes).
    Until(Option<Instant>),
}

/// Why a wait ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Notified or woken spuriously: check again.
    Woken,
    /// The deadline passed first.
    TimedOut,
}

/// Takes `mutex`. A panic while holding it releases it on the way out: the state is consistent
/// at every unlock (see the docs of [`BoundedBuffer`](crate::BoundedBuffer)).
#[inline]
pub(crate) fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    // The uncontended case, inlined into every operation: one compare-and-swap.
    if let Some(guard) = try_lock(mutex) {
        return guard;
    }
    lock_contended(mutex)
}

/// Takes `mutex` when another thread holds it.
#[cold]
#[inline(never)]
fn lock_contended<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    // Spin and then yield before blocking on the lock: critical sections are a few dozen
    // instructions, so the holder is about to release it, and a thread that parks costs the
    // holder a wake-up syscall.
    let backoff = Backoff::new();
    while !backoff.is_completed() {
        backoff.snooze();
        if let Some(guard) = try_lock(mutex) {
            return guard;
        }
    }
    lock_blocking(mutex)
}

/// The time left until `deadline` (`None`: no deadline), or `TimedOut` if it has passed. Time
/// left is measured against the fixed deadline, so a spurious wake-up neither shortens nor
/// lengthens the total wait.
pub(crate) fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, Wake> {
    match deadline {
        None => Ok(None),
        Some(deadline) => {
            let now = Instant::now();
            if now >= deadline {
                Err(Wake::TimedOut)
            } else {
                Ok(Some(deadline - now))
            }
        }
    }
}

/// A condition variable for the buffer's locks, which no thread can sleep on (see
/// [`sync`](crate::sync)): a thread waits on a lock and a condition variable of its own, and an
/// epoch counts the notifies.
///
/// A waiter reads the epoch while it still holds the buffer's lock, then sleeps under the
/// inner lock only if the epoch has not moved since. A notifier that decided to notify under the
/// buffer's lock, after the waiter registered there (see [`Waiters`](crate::waiters::Waiters)),
/// moves the epoch under the inner lock: either before the waiter takes the inner lock (the
/// waiter sees the new epoch and does not sleep) or once the waiter sleeps (the notify wakes
/// it). No notify is lost. A waiter may return with no notify meant for it, as from any
/// condition variable, and checks again under the buffer's lock.
pub(crate) struct Condvar {
    epoch: AtomicUsize,
    lock: ParkMutex<()>,
    sleepers: ParkCondvar,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self {
            epoch: AtomicUsize::new(0),
            lock: ParkMutex::new(()),
            sleepers: ParkCondvar::new(),
        }
    }

    /// Releases `guard` (a guard of `mutex`), waits for a notify, at most `timeout` long,
    /// and takes `mutex` again.
    pub(crate) fn wait<'a, S>(
        &self,
        mutex: &'a Mutex<S>,
        guard: MutexGuard<'a, S>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, S> {
        // Relaxed: read under the buffer's lock, which orders it before the increment of any
        // notify decided after this thread registered.
        let epoch = self.epoch.load(Ordering::Relaxed);
        drop(guard);
        {
            let inner = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            // Relaxed: the inner lock orders every increment before or after this read.
            if self.epoch.load(Ordering::Relaxed) == epoch {
                match timeout {
                    None => drop(self.sleepers.wait(inner)),
                    Some(timeout) => drop(self.sleepers.wait_timeout(inner, timeout)),
                }
            }
        }
        lock(mutex)
    }

    /// Wakes one waiting thread, if any.
    pub(crate) fn notify_one(&self) {
        self.advance();
        self.sleepers.notify_one();
    }

    /// Wakes every waiting thread.
    pub(crate) fn notify_all(&self) {
        self.advance();
        self.sleepers.notify_all();
    }

    /// Moves the epoch, under the inner lock.
    fn advance(&self) {
        let _inner = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }
}
