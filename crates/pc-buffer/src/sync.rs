//! The synchronisation primitives the buffer is built on: loom's models under `cfg(all(test, loom))`, std's otherwise.
//!
//! Every lock, wait and notify in this crate goes through these re-exports, so the loom models in
//! `src/tests/loom_*.rs` check exactly the code users run. Doctests and integration tests are not
//! `cfg(test)` builds of the library, so they always see std types.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

/// How a thread waits a little before it parks: crossbeam's `Backoff` (a few spins, then a few
/// `yield_now`s) with std.
#[cfg(not(all(test, loom)))]
pub(crate) use crossbeam_utils::Backoff;

/// Under loom, a backoff of a single yield: loom explores what happens while the thread is
/// away instead of spinning through it, and a stale hint is one of the interleavings.
#[cfg(all(test, loom))]
pub(crate) struct Backoff(std::cell::Cell<bool>);

#[cfg(all(test, loom))]
impl Backoff {
    pub(crate) fn new() -> Self {
        Self(std::cell::Cell::new(false))
    }

    pub(crate) fn snooze(&self) {
        self.0.set(true);
        loom::thread::yield_now();
    }

    pub(crate) fn is_completed(&self) -> bool {
        self.0.get()
    }
}
