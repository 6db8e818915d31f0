//! Wait statistics: how often and how long producers waited on a full buffer and consumers on an empty one.

use std::time::Duration;

/// A snapshot of a buffer's counters, read by [`BoundedBuffer::stats`](crate::BoundedBuffer::stats).
///
/// The counters are updated under the buffer's locks, and the clock is read only when a thread
/// actually has to wait, so keeping them costs the fast path nothing measurable.
///
/// The wait figures say where the time goes: producers that wait long on a full buffer mean the
/// consumers are the bottleneck; consumers that wait long on an empty buffer mean the producers
/// are.
///
/// ```
/// use pc_buffer::BoundedBuffer;
///
/// let buffer = BoundedBuffer::new(4).unwrap();
/// buffer.put(1).unwrap();
/// buffer.put(2).unwrap();
/// buffer.get().unwrap();
/// let stats = buffer.stats();
/// assert_eq!((stats.items_put, stats.items_got, stats.high_water), (2, 1, 2));
/// assert_eq!(stats.put_waits, 0); // never full, so no producer waited
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferStats {
    /// The most items the buffer can hold.
    pub capacity: usize,
    /// Items in the buffer when the snapshot was taken.
    pub len: usize,
    /// The most items the buffer has held at once.
    pub high_water: usize,
    /// Whether the buffer was closed when the snapshot was taken.
    pub closed: bool,
    /// Producers blocked on a full buffer when the snapshot was taken.
    pub producers_waiting: usize,
    /// Consumers blocked on an empty buffer when the snapshot was taken.
    pub consumers_waiting: usize,
    /// Items put so far.
    pub items_put: u64,
    /// Items taken so far.
    pub items_got: u64,
    /// Waits of blocking or timed put calls that found the buffer full. A single put counts
    /// once however often it waited; a batch put that does not fit at once goes in over
    /// several rounds and counts once per round that waited.
    pub put_waits: u64,
    /// Total time put calls spent waiting for room.
    ///
    /// In a buffer of capacity 2 or more made by
    /// [`for_batches`](crate::BoundedBuffer::for_batches), a wait is timed from the moment the
    /// waiting thread first yields its core or parks: a wait that ends while the thread still
    /// spins (a fraction of a microsecond) is counted in [`put_waits`](Self::put_waits) and adds
    /// no time. That layout hands most batches over within such a spin, where reading the clock
    /// twice would cost as much as the hand-over itself. Every other buffer times each wait from
    /// its start.
    pub put_wait_time: Duration,
    /// Blocking or timed get calls (single or batch) that found the buffer empty, each counted
    /// once however often it waited.
    pub get_waits: u64,
    /// Total time get calls spent waiting for an item, timed as
    /// [`put_wait_time`](Self::put_wait_time) is.
    pub get_wait_time: Duration,
}
