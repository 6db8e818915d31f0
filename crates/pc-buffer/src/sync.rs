//! The synchronisation primitives the buffer is built on: loom's models under `cfg(all(test, loom))`, std's otherwise.
//!
//! Every lock, wait and notify in this crate goes through these re-exports, so the loom models in
//! `src/tests/loom_*.rs` check exactly the code users run. Doctests and integration tests are not
//! `cfg(test)` builds of the library, so they always see std types.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize};

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize};
