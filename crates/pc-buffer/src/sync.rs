//! Every difference between loom and std builds: the primitives the buffer is built on, and the waits that only delay (try-locks, spin hints, yields), which loom builds leave out.
//!
//! Every lock, wait and notify in this crate goes through this module, so the loom models in
//! `src/tests/loom_*.rs` check exactly the code users run, and no other file has a `cfg(loom)`.
//! Doctests and integration tests are not `cfg(test)` builds of the library, so they always see
//! std types.
//!
//! Under loom, a delay decides nothing (every decision is taken again under a lock), and each
//! look it takes, each spin and each yield, is an interleaving more to explore. A yield would
//! also hide interleavings: loom does not run a thread that yielded again while another can
//! run, so a producer backing off on a full buffer would never park before a model's `close`.
//! And loom 0.7's `try_lock` reports false deadlocks (tokio-rs/loom#376). So loom builds take
//! one look where std builds would spin or yield, and never try a lock.

#[cfg(all(test, loom))]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize};
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

    /// Whether waits that only delay may spin and yield.
    pub(crate) const DELAYS: bool = false;

    /// Never takes the lock: callers go on to the blocking path.
    #[inline]
    pub(crate) fn try_lock<S>(_: &Mutex<S>) -> Option<MutexGuard<'_, S>> {
        None
    }

    /// A pause inside a spin: nothing.
    #[inline]
    pub(crate) fn spin_loop() {}

    /// A backoff that is over before it starts.
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Self
        }

        pub(crate) fn spin(&self) {}

        pub(crate) fn snooze(&self) {}

        pub(crate) fn is_completed(&self) -> bool {
            true
        }
    }

    /// A yield to the scheduler: nothing.
    #[inline]
    pub(crate) fn yield_now() {}
}

#[cfg(not(all(test, loom)))]
mod imp {
    pub(crate) use crossbeam_utils::Backoff;
    pub(crate) use std::hint::spin_loop;
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize};
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use std::thread::yield_now;

    /// Whether waits that only delay may spin and yield.
    pub(crate) const DELAYS: bool = true;

    /// Takes `mutex` if it is free right now, recovering from poisoning as
    /// [`lock`](crate::lock::lock) does.
    #[inline]
    pub(crate) fn try_lock<S>(mutex: &Mutex<S>) -> Option<MutexGuard<'_, S>> {
        match mutex.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

pub(crate) use imp::*;
