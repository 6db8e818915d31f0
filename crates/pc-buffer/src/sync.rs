//! Every difference between loom and std builds: the primitives the buffer is built on, and the waits that only delay (try-locks, spin hints, yields), which loom builds leave out.
//!
//! Every lock, wait and notify in this crate goes through this module, so the loom models in
//! `src/tests/loom_*.rs` check exactly the code users run, and no other file has a `cfg(loom)`.
//! Doctests and integration tests are not `cfg(test)` builds of the library, so they always see
//! std types.
//!
//! The buffer's own locks are spin locks (`spin`'s `SpinMutex`): taking one is a
//! compare-and-swap, releasing it a plain store. A lock that threads can sleep on must learn at
//! release whether one does, which costs a second read-modify-write on every release; here no
//! thread ever sleeps on these locks, only on the condition variables of
//! [`lock::Condvar`](crate::lock::Condvar), which sit on the `Park*` primitives below. Loom
//! builds model the buffer's locks with loom's `Mutex`: the same mutual exclusion.
//!
//! Under loom, a delay decides nothing (every decision is taken again under a lock), and each
//! look it takes, each spin and each yield, is an interleaving more to explore. A yield would
//! also hide interleavings: loom does not run a thread that yielded again while another can
//! run, so a producer backing off on a full buffer would never park before a model's `close`.
//! And loom 0.7's `try_lock` reports false deadlocks (tokio-rs/loom#376). So loom builds take
//! one look where std builds would spin or yield, and never try a lock.

#[cfg(all(test, loom))]
mod imp {
    use std::sync::PoisonError;

    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize};
    pub(crate) use loom::sync::{
        Arc, Condvar as ParkCondvar, Mutex, Mutex as ParkMutex, MutexGuard,
    };

    /// Whether waits that only delay may spin and yield.
    pub(crate) const DELAYS: bool = false;

    /// Never takes the lock: callers go on to the blocking path.
    #[inline]
    pub(crate) fn try_lock<S>(_: &Mutex<S>) -> Option<MutexGuard<'_, S>> {
        None
    }

    /// Takes the lock, however long another thread holds it.
    pub(crate) fn lock_blocking<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
    pub(crate) use std::sync::{Arc, Condvar as ParkCondvar, Mutex as ParkMutex};
    pub(crate) use std::thread::yield_now;

    /// The buffer's locks (see the module docs).
    pub(crate) type Mutex<T> = spin::mutex::SpinMutex<T>;

    /// A held lock of the buffer; dropping it releases the lock, also while unwinding.
    pub(crate) type MutexGuard<'a, T> = spin::mutex::SpinMutexGuard<'a, T>;

    /// Whether waits that only delay may spin and yield.
    pub(crate) const DELAYS: bool = true;

    /// Takes `mutex` if it is free right now.
    #[inline]
    pub(crate) fn try_lock<S>(mutex: &Mutex<S>) -> Option<MutexGuard<'_, S>> {
        mutex.try_lock()
    }

    /// Takes `mutex`, however long another thread holds it: yields the core between looks, so
    /// that a holder that was descheduled gets it back, and tries the lock only when a plain
    /// read says it is free, so that waiting threads do not take its line from the holder.
    #[cold]
    pub(crate) fn lock_blocking<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
        loop {
            if !mutex.is_locked() {
                if let Some(guard) = mutex.try_lock() {
                    return guard;
                }
            }
            yield_now();
        }
    }
}

pub(crate) use imp::*;
