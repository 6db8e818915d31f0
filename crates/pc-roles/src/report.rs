//! [`RoleReport`]: what one producer or consumer did during a run and where its time went.

use std::time::{Duration, Instant};

/// What one role did during a run: how many items it handled and where its time went.
///
/// `busy + blocked + paced` is the role's whole running time, up to the few instructions between
/// measurements. A producer is busy while it pulls items from its source and runs its callback;
/// a consumer is busy while its work and callback run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleReport {
    /// Items handled: put into the buffer by a producer, processed (successfully or not) by a
    /// consumer.
    pub items: usize,
    /// Time spent producing or processing items, callbacks included.
    pub busy: Duration,
    /// Time spent inside buffer operations: waiting for room (producer) or for items (consumer).
    pub blocked: Duration,
    /// Time spent in the per-item delay.
    pub paced: Duration,
}

impl RoleReport {
    /// Sleeps for `delay` (nothing if it is zero) and counts the time as paced.
    pub(crate) fn pace(&mut self, delay: Duration) {
        if !delay.is_zero() {
            let started = Instant::now();
            std::thread::sleep(delay);
            self.paced += started.elapsed();
        }
    }
}
