//! Unit tests that need the crate's private parts: the loom models of the wait/notify logic and the std tests loom cannot express.
//!
//! The loom models build only with `RUSTFLAGS="--cfg loom"`; the std tests only without it,
//! because under loom every lock must be taken inside a model.

#[cfg(loom)]
mod loom_batch;
#[cfg(loom)]
mod loom_close;
#[cfg(loom)]
mod loom_halves;
#[cfg(loom)]
mod loom_handles;
#[cfg(loom)]
mod loom_handoff;
#[cfg(loom)]
mod loom_slot;
#[cfg(loom)]
mod loom_spurious;
#[cfg(loom)]
mod loom_support;

#[cfg(not(loom))]
mod panic_while_locked;
#[cfg(not(loom))]
mod refill_wait;
#[cfg(not(loom))]
mod spurious_std;
