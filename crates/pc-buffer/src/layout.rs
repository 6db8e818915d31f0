//! [`Layout`]: the one interface of the buffer's layouts, through which `BoundedBuffer` runs every operation.

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::lock::{Refused, Wait};
use crate::stats::BufferStats;

/// What every layout of the buffer does, with one semantics: first in, first out; items
/// numbered 0, 1, 2, ... in the order they leave; a closed buffer refuses puts and drains
/// before it refuses gets; an operation that cannot deliver hands its items back with the
/// reason ([`Refused`]), which the public methods turn into their errors; `wait_time` grows by
/// the time an operation waited.
pub(crate) trait Layout<T> {
    /// The most items the buffer holds at once.
    fn capacity(&self) -> usize;

    /// Puts `item`, waiting for room until `deadline` (`None`: for as long as it takes).
    fn put_until(
        &self,
        item: T,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
    ) -> Result<(), (T, Refused)>;

    /// Puts `item` if there is room right now.
    fn try_put(&self, item: T) -> Result<(), (T, Refused)>;

    /// Puts every item of `items` in order, waiting for room as often as needed, and leaves
    /// `items` empty; hands back the items not delivered if the buffer closes first.
    fn put_from(&self, items: &mut Vec<T>, wait_time: &mut Duration) -> Result<(), Vec<T>>;

    /// Takes the front item with its number, waiting for one until `deadline` (`None`: for as
    /// long as it takes).
    fn get_until(
        &self,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
    ) -> Result<(usize, T), Refused>;

    /// Takes the front item with its number if there is one right now.
    fn try_get(&self) -> Result<(usize, T), Refused>;

    /// Appends up to `max` items to `out`, waiting as `wait` says while the buffer is empty,
    /// and returns their numbers; `max == 0` takes nothing and waits for nothing.
    fn get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
        wait: Wait,
        wait_time: &mut Duration,
    ) -> Result<Range<usize>, Refused>;

    /// Closes the buffer and wakes every waiting thread; `false` if it was closed already.
    fn close(&self) -> bool;

    /// Whether the buffer is closed.
    fn is_closed(&self) -> bool;

    /// The items in the buffer right now.
    fn len(&self) -> usize;

    /// A snapshot of the counters.
    fn stats(&self) -> BufferStats;

    /// Wakes every waiting thread without changing the state.
    #[cfg(test)]
    fn wake_all_spuriously(&self);

    /// Threads counted as waiting on (the put side, the get side).
    #[cfg(test)]
    fn waiting(&self) -> (usize, usize);

    /// Whether the published counts and flags say exactly what the state says now.
    #[cfg(test)]
    fn published_is_current(&self) -> bool;
}
