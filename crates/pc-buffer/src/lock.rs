//! What both layouts of the buffer share: why an operation could not go on, and locks and waits that recover from poisoning.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use crate::sync::{Backoff, Condvar, Mutex, MutexGuard, try_lock};

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

/// Takes `mutex`, recovering from poisoning: the state is consistent at every unlock (see the
/// docs of [`BoundedBuffer`](crate::BoundedBuffer)), so a panic elsewhere must not make the
/// buffer unusable.
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
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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

/// One wait on `condvar`, at most `timeout` long, recovering from poisoning.
pub(crate) fn wait<'a, S>(
    condvar: &Condvar,
    guard: MutexGuard<'a, S>,
    timeout: Option<Duration>,
) -> MutexGuard<'a, S> {
    match timeout {
        None => condvar.wait(guard).unwrap_or_else(PoisonError::into_inner),
        Some(timeout) => {
            condvar
                .wait_timeout(guard, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0
        }
    }
}
