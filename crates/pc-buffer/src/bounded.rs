//! [`BoundedBuffer`]: the public face of the buffer, which runs every operation through the [`Layout`] of one of three layouts: two halves behind two `Mutex`es (`halves.rs`), at capacity 1 one slot under one `Mutex` (`slot.rs`), or for batch hand-offs one queue under one `Mutex` (`batched.rs`).

use std::fmt;
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::batched::BatchedBuffer;
use crate::err::{
    CapacityError, GetError, GetTimeoutError, PutError, PutTimeoutError, TryGetError, TryPutError,
};
use crate::halves::HalvesBuffer;
use crate::iter::{Iter, TryIter};
use crate::layout::Layout;
use crate::lock::{Refused, Wait};
use crate::slot::SlotBuffer;
use crate::stats::BufferStats;

/// A bounded blocking FIFO buffer shared by producers and consumers.
///
/// [`put`](Self::put) blocks while the buffer is full (backpressure), [`get`](Self::get)
/// blocks while it is empty. [`close`](Self::close) ends the stream: producers get their item
/// back in the error, consumers still drain every item already in the buffer and only then see
/// [`GetError`].
///
/// The buffer is `Sync`: share it by reference with [`std::thread::scope`] or through an
/// [`Arc`](std::sync::Arc).
///
/// ```
/// use pc_buffer::BoundedBuffer;
///
/// let buffer = BoundedBuffer::new(10).unwrap();
/// let received: Vec<u32> = std::thread::scope(|s| {
///     s.spawn(|| {
///         for i in 0..100 {
///             buffer.put(i).unwrap(); // waits whenever 10 items are in flight
///         }
///         buffer.close(); // the Python design's `mark_complete`
///     });
///     buffer.iter().collect() // ends once closed and drained
/// });
/// assert_eq!(received, (0..100).collect::<Vec<_>>());
/// ```
///
/// # Two locks
///
/// Producers and consumers do not share a lock. The items are kept in two queues: producers
/// append to the *back* queue under the back lock, consumers take from the *front* queue under
/// the front lock, and a consumer that finds the front empty takes the whole back queue in one
/// swap (holding both locks, front first). Every item in the front is older than every item
/// in the back, so the buffer stays first in, first out. A producer and a consumer working at
/// the same time touch different locks and different cache lines, and a hand-over moves a whole
/// run of items at once. The count of items put and the count of items taken are published
/// in atomics, so a producer sees the room a consumer made without taking the front lock. A
/// single get that comes for the back's items while a producer is putting waits a moment before
/// it takes them (a fraction of a microsecond in a small buffer, a few microseconds at most in a
/// large one), so that it moves a longer run and the producer keeps its lock meanwhile.
///
/// # Capacity 1
///
/// A buffer of capacity 1 is laid out differently: one lock, the slot holding the item and a
/// word of state that waiting threads read without the lock share one cache line, so that an
/// item costs one line to the consumer and one back. There every item is a round trip between
/// the two sides, and the split above, which keeps the lock, the items and each count on lines
/// of their own, would move four lines per item instead.
///
/// # Made for batches
///
/// [`for_batches`](Self::for_batches) makes a buffer that behaves exactly the same, laid out
/// for producers and consumers that move whole batches: one queue under one lock, whose lock
/// word, queue and published length share a cache line (as at capacity 1), and a
/// [`put_batch_from`](Self::put_batch_from) that fits into the empty queue swaps allocations with
/// it, as a [`get_batch_into`](Self::get_batch_into) that takes everything does. A batch then
/// crosses between the two sides as one line each way, and no item moves under the lock. A
/// single lock costs when single puts and gets overlap: use [`new`](Self::new) for them.
///
/// # Panics
///
/// The buffer never runs user code while it holds a lock (no `Drop`, no callback), and its
/// invariants hold at every unlock. If a thread nevertheless panics while holding a lock (for
/// example on an allocation failure), unwinding releases the lock, and the buffer stays fully
/// usable by every other thread, since the state it protects is consistent.
pub struct BoundedBuffer<T> {
    layout: Layouts<T>,
}

/// How a buffer keeps its items: chosen once, by capacity, in [`BoundedBuffer::new`], or by
/// [`BoundedBuffer::for_batches`].
#[expect(
    clippy::large_enum_variant,
    reason = "a buffer is made once and shared; boxing the larger layout would add a pointer \
              to follow on every operation to save a few hundred bytes at capacity 1"
)]
enum Layouts<T> {
    /// Capacity 2 and more: the two-lock buffer (see [`HalvesBuffer`]).
    Halves(HalvesBuffer<T>),
    /// Capacity 1: the one-slot buffer (see [`SlotBuffer`]).
    Slot(SlotBuffer<T>),
    /// Capacity 2 and more, made for batches: one queue under one lock (see
    /// [`BatchedBuffer`]).
    Batched(BatchedBuffer<T>),
}

/// A total of waits that nobody reads, for the operations that do not report their waits.
fn unreported() -> Duration {
    Duration::ZERO
}

impl<T> BoundedBuffer<T> {
    /// The layout every operation runs on.
    #[inline]
    fn layout(&self) -> &dyn Layout<T> {
        match &self.layout {
            Layouts::Halves(buffer) => buffer,
            Layouts::Slot(buffer) => buffer,
            Layouts::Batched(buffer) => buffer,
        }
    }

    /// Creates a buffer that holds at most `capacity` items.
    ///
    /// A capacity of zero is an error rather than a panic: a zero-capacity buffer could never
    /// accept an item.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::<String>::new(10).unwrap();
    /// assert_eq!(buffer.capacity(), 10);
    /// assert!(BoundedBuffer::<String>::new(0).is_err());
    /// ```
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError);
        }
        let layout = if capacity == 1 {
            Layouts::Slot(SlotBuffer::new())
        } else {
            Layouts::Halves(HalvesBuffer::new(capacity))
        };
        Ok(Self { layout })
    }

    /// Creates a buffer that holds at most `capacity` items, laid out for producers that put
    /// whole batches and consumers that take whole batches.
    ///
    /// It behaves exactly as a buffer made by [`new`](Self::new): same operations, same order,
    /// same errors, same statistics. Only the speed differs. This one keeps its items in one
    /// queue under one lock, whose lock word, queue and published length share a cache line,
    /// and a [`put_batch_from`](Self::put_batch_from) that fits into the empty queue swaps
    /// allocations with it as [`get_batch_into`](Self::get_batch_into) does on the other side:
    /// a hand-over of a whole batch then moves that one line to the other side and back, and no
    /// item under the lock. That is what a pipeline does, and [`pc-pipeline`] takes this layout
    /// for one producer and up to two consumers (BENCHMARKS.md, "Made for batches").
    ///
    /// Prefer [`new`](Self::new) when producers put and consumers get single items at the same
    /// time: there its two locks let a put and a get proceed together, where a single lock
    /// makes them take turns. At capacity 1 both make the same one-slot buffer.
    ///
    /// [`pc-pipeline`]: https://docs.rs/pc-pipeline
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::for_batches(16).unwrap();
    /// let mut batch = Vec::with_capacity(16);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         let mut chunk = Vec::with_capacity(16);
    ///         for i in 0..1000u64 {
    ///             chunk.push(i);
    ///             if chunk.len() == 16 {
    ///                 buffer.put_batch_from(&mut chunk).unwrap();
    ///             }
    ///         }
    ///         buffer.put_batch_from(&mut chunk).unwrap();
    ///         buffer.close();
    ///     });
    ///     let mut sum = 0;
    ///     while buffer.get_batch_into(&mut batch, 16).is_ok() {
    ///         sum += batch.drain(..).sum::<u64>();
    ///     }
    ///     assert_eq!(sum, (0..1000).sum());
    /// });
    /// assert!(BoundedBuffer::<u64>::for_batches(0).is_err());
    /// ```
    pub fn for_batches(capacity: usize) -> Result<Self, CapacityError> {
        if capacity <= 1 {
            return Self::new(capacity);
        }
        Ok(Self {
            layout: Layouts::Batched(BatchedBuffer::new(capacity)),
        })
    }

    /// Puts `item` at the back, waiting while the buffer is full.
    ///
    /// Returns the item inside [`PutError`] if the buffer is (or becomes, while waiting) closed.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(1).unwrap();
    /// buffer.put("a").unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| buffer.put("b").unwrap()); // waits until "a" is taken
    ///     assert_eq!(buffer.get(), Ok("a"));
    /// });
    /// assert_eq!(buffer.get(), Ok("b"));
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_waited(item, &mut unreported())
    }

    /// Like [`put`](Self::put), and adds to `waited` the time this call waited for room, as
    /// [`BufferStats::put_wait_time`] counts it (see there). A put that found room at once adds
    /// nothing, and reads no clock.
    ///
    /// For a role that reports where its time went: the buffer reads the clock only when it
    /// waits, while timing every call from outside would read it twice per call, which costs
    /// as much as a hand-over between two threads.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(1).unwrap();
    /// let mut waited = Duration::ZERO;
    /// buffer.put_waited(1, &mut waited).unwrap(); // room: no wait
    /// assert_eq!(waited, Duration::ZERO);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| buffer.put_waited(2, &mut waited).unwrap()); // waits until 1 is taken
    ///     assert_eq!(buffer.get(), Ok(1));
    /// });
    /// assert_eq!(buffer.get(), Ok(2));
    /// assert_eq!(waited, buffer.stats().put_wait_time); // the only wait there was
    /// ```
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    pub fn put_waited(&self, item: T, waited: &mut Duration) -> Result<(), PutError<T>> {
        self.layout()
            .put_until(item, None, waited)
            .map_err(|(item, _)| PutError::Closed(item))
    }

    /// Puts `item` if there is room right now, without waiting.
    ///
    /// ```
    /// use pc_buffer::{BoundedBuffer, TryPutError};
    ///
    /// let buffer = BoundedBuffer::new(1).unwrap();
    /// buffer.try_put(1).unwrap();
    /// assert_eq!(buffer.try_put(2), Err(TryPutError::Full(2)));
    /// buffer.close();
    /// assert_eq!(buffer.try_put(3), Err(TryPutError::Closed(3)));
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.layout()
            .try_put(item)
            .map_err(|(item, refused)| match refused {
                Refused::Closed => TryPutError::Closed(item),
                // A try has no deadline: `TimedOut` does not happen here.
                Refused::WouldBlock | Refused::TimedOut => TryPutError::Full(item),
            })
    }

    /// Puts `item`, waiting at most `timeout` for room.
    ///
    /// The wait is measured against a deadline, so spurious wake-ups neither shorten nor
    /// lengthen it. On timeout the item is handed back in [`PutTimeoutError::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use pc_buffer::{BoundedBuffer, PutTimeoutError};
    ///
    /// let buffer = BoundedBuffer::new(1).unwrap();
    /// buffer.put(1).unwrap();
    /// let err = buffer.put_timeout(2, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err, PutTimeoutError::Timeout(2));
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.put_deadline(item, deadline),
            // A timeout too far away to represent is no timeout at all.
            None => self.put(item).map_err(PutTimeoutError::from),
        }
    }

    /// Puts `item`, waiting for room until `deadline` at the latest.
    ///
    /// Useful when several operations share one time budget.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use pc_buffer::{BoundedBuffer, PutTimeoutError};
    ///
    /// let buffer = BoundedBuffer::new(2).unwrap();
    /// let deadline = Instant::now() + Duration::from_millis(20);
    /// for item in [1, 2] {
    ///     buffer.put_deadline(item, deadline).unwrap(); // room: no wait
    /// }
    /// assert_eq!(buffer.put_deadline(3, deadline), Err(PutTimeoutError::Timeout(3)));
    /// assert!(Instant::now() >= deadline);
    /// ```
    pub fn put_deadline(&self, item: T, deadline: Instant) -> Result<(), PutTimeoutError<T>> {
        let waited = &mut unreported();
        self.layout()
            .put_until(item, Some(deadline), waited)
            .map_err(|(item, refused)| match refused {
                Refused::Closed => PutTimeoutError::Closed(item),
                // Only a try is refused with `WouldBlock`.
                Refused::TimedOut | Refused::WouldBlock => PutTimeoutError::Timeout(item),
            })
    }

    /// Puts every item of `items` in order, waiting for room as often as needed, and taking the
    /// lock once per run of items that fits rather than once per item.
    ///
    /// If the buffer is (or becomes) closed, the items not yet delivered are handed back, in
    /// order, inside [`PutError`]; the ones before them were delivered. See
    /// [`put_batch_from`](Self::put_batch_from) to keep the `Vec`'s allocation for the next batch.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(8).unwrap();
    /// buffer.put_batch(vec![1, 2, 3]).unwrap();
    /// assert_eq!(buffer.len(), 3);
    /// buffer.close();
    /// assert_eq!(buffer.put_batch(vec![4, 5]).unwrap_err().into_inner(), vec![4, 5]);
    /// ```
    pub fn put_batch(&self, mut items: Vec<T>) -> Result<(), PutError<Vec<T>>> {
        self.put_batch_from_waited(&mut items, &mut unreported())
    }

    /// Like [`put_batch`](Self::put_batch), but moves the items out of `items` and leaves it
    /// empty with at least its capacity, so a producer that fills one `Vec` again and again
    /// allocates it once.
    ///
    /// A batch that fits while the back queue is empty (see [two locks](BoundedBuffer#two-locks))
    /// is not moved at all: `items`' allocation becomes the back queue and `items` gets the
    /// queue's empty one, at least as large, as [`get_batch_into`](Self::get_batch_into) swaps
    /// on the other side. The lock is then held for the swap alone, and the items were written
    /// by this thread before it took the lock.
    ///
    /// If the buffer is (or becomes) closed, `items` is left empty as well: the items not yet
    /// delivered are handed back, in order, inside [`PutError`].
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(8).unwrap();
    /// let mut batch = Vec::with_capacity(4);
    /// for round in 0..2 {
    ///     batch.extend([round * 10, round * 10 + 1]);
    ///     buffer.put_batch_from(&mut batch).unwrap();
    ///     assert!(batch.is_empty() && batch.capacity() >= 4); // ready for the next round
    /// }
    /// assert_eq!(buffer.get_batch(8).unwrap(), [0, 1, 10, 11]);
    /// buffer.close();
    /// batch.push(20);
    /// assert_eq!(buffer.put_batch_from(&mut batch).unwrap_err().into_inner(), [20]);
    /// ```
    pub fn put_batch_from(&self, items: &mut Vec<T>) -> Result<(), PutError<Vec<T>>> {
        self.put_batch_from_waited(items, &mut unreported())
    }

    /// Like [`put_batch_from`](Self::put_batch_from), and adds to `waited` the time this call
    /// waited for room, as [`put_waited`](Self::put_waited) does: every wait of a batch that
    /// goes in over several rounds.
    ///
    /// # Errors
    ///
    /// As [`put_batch_from`](Self::put_batch_from).
    pub fn put_batch_from_waited(
        &self,
        items: &mut Vec<T>,
        waited: &mut Duration,
    ) -> Result<(), PutError<Vec<T>>> {
        self.layout()
            .put_from(items, waited)
            .map_err(PutError::Closed)
    }

    /// Takes the item at the front, waiting while the buffer is empty.
    ///
    /// After [`close`](Self::close), the items still in the buffer are handed out as usual;
    /// only a closed *and* empty buffer returns [`GetError`].
    ///
    /// ```
    /// use pc_buffer::{BoundedBuffer, GetError};
    ///
    /// let buffer = BoundedBuffer::new(4).unwrap();
    /// buffer.put(7).unwrap();
    /// buffer.close();
    /// assert_eq!(buffer.get(), Ok(7)); // drained after close
    /// assert_eq!(buffer.get(), Err(GetError));
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.get_numbered().map(|(_, item)| item)
    }

    /// Takes the item at the front if there is one right now, without waiting.
    ///
    /// ```
    /// use pc_buffer::{BoundedBuffer, TryGetError};
    ///
    /// let buffer = BoundedBuffer::<u8>::new(4).unwrap();
    /// assert_eq!(buffer.try_get(), Err(TryGetError::Empty));
    /// buffer.close();
    /// assert_eq!(buffer.try_get(), Err(TryGetError::Closed));
    /// ```
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.layout()
            .try_get()
            .map(|(_, item)| item)
            .map_err(|refused| match refused {
                Refused::Closed => TryGetError::Closed,
                // A try has no deadline: `TimedOut` does not happen here.
                Refused::WouldBlock | Refused::TimedOut => TryGetError::Empty,
            })
    }

    /// Takes the item at the front, waiting at most `timeout` for one.
    ///
    /// The wait is measured against a deadline, so spurious wake-ups neither shorten nor
    /// lengthen it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pc_buffer::{BoundedBuffer, GetTimeoutError};
    ///
    /// let buffer = BoundedBuffer::<u8>::new(4).unwrap();
    /// assert_eq!(buffer.get_timeout(Duration::from_millis(10)), Err(GetTimeoutError::Timeout));
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.get_deadline(deadline),
            None => self.get().map_err(GetTimeoutError::from),
        }
    }

    /// Takes the item at the front, waiting for one until `deadline` at the latest.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(2).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| buffer.put("ready").unwrap());
    ///     assert_eq!(buffer.get_deadline(deadline), Ok("ready"));
    /// });
    /// ```
    pub fn get_deadline(&self, deadline: Instant) -> Result<T, GetTimeoutError> {
        self.get_numbered_deadline(deadline).map(|(_, item)| item)
    }

    /// Takes up to `max` items from the front in one locked step, waiting while the buffer is
    /// empty; returns them in order (at least one).
    ///
    /// `max == 0` returns an empty vector at once, whether the buffer is open or closed, and
    /// takes nothing: every layout and the [`Buffer`](crate::Buffer) trait's default agree. See
    /// [`get_batch_into`](Self::get_batch_into) to reuse an allocation.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(8).unwrap();
    /// buffer.put_batch((1..=5).collect()).unwrap();
    /// assert_eq!(buffer.get_batch(3).unwrap(), vec![1, 2, 3]);
    /// assert_eq!(buffer.get_batch(3).unwrap(), vec![4, 5]);
    /// ```
    pub fn get_batch(&self, max: usize) -> Result<Vec<T>, GetError> {
        let mut out = Vec::new();
        self.get_batch_into(&mut out, max)?;
        Ok(out)
    }

    /// Appends up to `max` items from the front to `out` in one locked step, waiting while the
    /// buffer is empty; returns how many were appended (at least one, unless `max == 0`, which
    /// returns `Ok(0)` at once, open or closed).
    ///
    /// Returns [`GetError`] only when the buffer is closed and empty.
    ///
    /// When `out` is empty, holds room for at least the capacity (or 4096 items, if less) and
    /// the batch takes every item of the consumers' half of the buffer (a batch that finds that
    /// half empty first takes the whole producers' half, see the type's docs), the buffer and
    /// `out` swap allocations instead of moving the items one by one while the lock is held:
    /// `out` may come back with another allocation, of at least the room it had. Reusing one
    /// `Vec` for every batch, drained in between, gets this every time a consumer keeps up.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(8).unwrap();
    /// buffer.put_batch(vec!['a', 'b', 'c']).unwrap();
    /// let mut out = Vec::with_capacity(8);
    /// assert_eq!(buffer.get_batch_into(&mut out, 8), Ok(3));
    /// assert_eq!(out, ['a', 'b', 'c']);
    /// ```
    pub fn get_batch_into(&self, out: &mut Vec<T>, max: usize) -> Result<usize, GetError> {
        self.get_batch_into_waited(out, max, &mut unreported())
    }

    /// Like [`get_batch_into`](Self::get_batch_into), and adds to `waited` the time this call
    /// waited for an item, as [`BufferStats::get_wait_time`] counts it; a call that found items
    /// at once adds nothing (see [`put_waited`](Self::put_waited)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(4).unwrap();
    /// let (mut out, mut waited) = (Vec::new(), Duration::ZERO);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| buffer.get_batch_into_waited(&mut out, 4, &mut waited).unwrap());
    ///     buffer.put_batch(vec![1, 2]).unwrap();
    /// });
    /// assert!(!out.is_empty());
    /// // Whether the consumer waited depends on which thread ran first; either way the buffer
    /// // counted the same wait it added.
    /// assert_eq!(waited, buffer.stats().get_wait_time);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`get_batch_into`](Self::get_batch_into).
    pub fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, GetError> {
        self.get_batch_numbered_waited(out, max, waited)
            .map(|numbers| numbers.len())
    }

    /// Like [`get_batch_into`](Self::get_batch_into), and tells the items' numbers: returns
    /// the numbers of the items appended, which are consecutive.
    ///
    /// Items leave the buffer numbered 0, 1, 2, ... in the order they leave it, whichever
    /// method takes them, and since the buffer is first in, first out that is also the order
    /// in which they were put: the `n`-th item put is the item numbered `n`. Consumers that
    /// share a buffer can put their results back in input order with these numbers, without
    /// carrying an index through the buffer. The numbers are counted in a `usize`, as
    /// [`Iterator::enumerate`] counts.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(8).unwrap();
    /// buffer.put_batch(vec!['a', 'b', 'c', 'd']).unwrap();
    /// assert_eq!(buffer.get(), Ok('a')); // number 0
    /// let mut out = Vec::new();
    /// assert_eq!(buffer.get_batch_numbered(&mut out, 2), Ok(1..3));
    /// assert_eq!(out, ['b', 'c']);
    /// assert_eq!(buffer.get_numbered(), Ok((3, 'd')));
    /// ```
    pub fn get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<Range<usize>, GetError> {
        self.get_batch_numbered_waited(out, max, &mut unreported())
    }

    /// Like [`get_batch_numbered`](Self::get_batch_numbered), and adds to `waited` the time
    /// this call waited for an item (see [`get_batch_into_waited`](Self::get_batch_into_waited)).
    ///
    /// # Errors
    ///
    /// As [`get_batch_numbered`](Self::get_batch_numbered).
    pub fn get_batch_numbered_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<Range<usize>, GetError> {
        self.layout()
            .get_batch_numbered(out, max, Wait::Until(None), waited)
            .map_err(|_| GetError)
    }

    /// Like [`get_batch_numbered`](Self::get_batch_numbered), without waiting: takes the items
    /// in the buffer right now, up to `max`.
    ///
    /// ```
    /// use pc_buffer::{BoundedBuffer, TryGetError};
    ///
    /// let buffer = BoundedBuffer::new(8).unwrap();
    /// let mut out = Vec::new();
    /// assert_eq!(buffer.try_get_batch_numbered(&mut out, 4), Err(TryGetError::Empty));
    /// buffer.put_batch(vec!['a', 'b']).unwrap();
    /// assert_eq!(buffer.try_get_batch_numbered(&mut out, 4), Ok(0..2));
    /// buffer.close();
    /// assert_eq!(buffer.try_get_batch_numbered(&mut out, 4), Err(TryGetError::Closed));
    /// assert_eq!(out, ['a', 'b']);
    /// ```
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] if the buffer is empty and open, [`TryGetError::Closed`] once it
    /// is closed and drained. `max == 0` takes nothing and succeeds, as in
    /// [`get_batch_into`](Self::get_batch_into).
    pub fn try_get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<Range<usize>, TryGetError> {
        let waited = &mut unreported();
        self.layout()
            .get_batch_numbered(out, max, Wait::Never, waited)
            .map_err(|refused| match refused {
                Refused::Closed => TryGetError::Closed,
                // A try has no deadline: `TimedOut` does not happen here.
                Refused::WouldBlock | Refused::TimedOut => TryGetError::Empty,
            })
    }

    /// Like [`get_batch_numbered`](Self::get_batch_numbered), waiting for an item until
    /// `deadline` at the latest; adds the time waited to `waited`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use pc_buffer::{BoundedBuffer, GetTimeoutError};
    ///
    /// let buffer = BoundedBuffer::new(8).unwrap();
    /// let (mut out, mut waited) = (Vec::new(), Duration::ZERO);
    /// let soon = Instant::now() + Duration::from_millis(1);
    /// assert_eq!(
    ///     buffer.get_batch_numbered_deadline(&mut out, 4, soon, &mut waited),
    ///     Err(GetTimeoutError::Timeout)
    /// );
    /// buffer.put(7).unwrap();
    /// assert_eq!(buffer.get_batch_numbered_deadline(&mut out, 4, soon, &mut waited), Ok(0..1));
    /// assert_eq!(out, [7]);
    /// ```
    ///
    /// # Errors
    ///
    /// [`GetTimeoutError::Timeout`] if no item came in time, [`GetTimeoutError::Closed`] once
    /// the buffer is closed and drained.
    pub fn get_batch_numbered_deadline(
        &self,
        out: &mut Vec<T>,
        max: usize,
        deadline: Instant,
        waited: &mut Duration,
    ) -> Result<Range<usize>, GetTimeoutError> {
        let wait = Wait::Until(Some(deadline));
        self.layout()
            .get_batch_numbered(out, max, wait, waited)
            .map_err(|refused| match refused {
                Refused::Closed => GetTimeoutError::Closed,
                // Only a try is refused with `WouldBlock`.
                Refused::TimedOut | Refused::WouldBlock => GetTimeoutError::Timeout,
            })
    }

    /// Takes the item at the front with its number (see
    /// [`get_batch_numbered`](Self::get_batch_numbered)), waiting while the buffer is empty.
    pub fn get_numbered(&self) -> Result<(usize, T), GetError> {
        let waited = &mut unreported();
        self.layout().get_until(None, waited).map_err(|_| GetError)
    }

    /// Takes the item at the front with its number (see
    /// [`get_batch_numbered`](Self::get_batch_numbered)), waiting for one until `deadline` at
    /// the latest.
    ///
    /// ```
    /// use std::time::Instant;
    /// use pc_buffer::{BoundedBuffer, GetTimeoutError};
    ///
    /// let buffer = BoundedBuffer::new(2).unwrap();
    /// buffer.put("first").unwrap();
    /// assert_eq!(buffer.get_numbered_deadline(Instant::now()), Ok((0, "first")));
    /// assert_eq!(buffer.get_numbered_deadline(Instant::now()), Err(GetTimeoutError::Timeout));
    /// ```
    pub fn get_numbered_deadline(&self, deadline: Instant) -> Result<(usize, T), GetTimeoutError> {
        let waited = &mut unreported();
        self.layout()
            .get_until(Some(deadline), waited)
            .map_err(|refused| {
                match refused {
                    Refused::Closed => GetTimeoutError::Closed,
                    // Only a try is refused with `WouldBlock`.
                    Refused::TimedOut | Refused::WouldBlock => GetTimeoutError::Timeout,
                }
            })
    }

    /// Closes the buffer (the Python design's `mark_complete`): no more items are accepted, and every
    /// blocked producer and consumer wakes up.
    ///
    /// Blocked producers get their item back in their error; consumers go on draining the items
    /// already in the buffer. Returns `true` if this call closed the buffer, `false` if it was
    /// already closed (closing is idempotent).
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::<u8>::new(1).unwrap();
    /// assert!(buffer.close());
    /// assert!(!buffer.close());
    /// assert!(buffer.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.layout().close()
    }

    /// Whether [`close`](Self::close) has been called.
    ///
    /// A closed buffer may still hold items for consumers to drain.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(2).unwrap();
    /// buffer.put(1).unwrap();
    /// buffer.close();
    /// assert!(buffer.is_closed() && !buffer.is_empty());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.layout().is_closed()
    }

    /// The number of items in the buffer right now (the Python design's `size`).
    ///
    /// Other threads may change it at any moment: use it for reporting, not to decide whether
    /// a put or get will block (use [`try_put`](Self::try_put) or [`try_get`](Self::try_get)).
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(3).unwrap();
    /// buffer.put_batch(vec!['a', 'b']).unwrap();
    /// assert_eq!(buffer.len(), 2);
    /// assert!(!buffer.is_empty() && !buffer.is_full());
    /// buffer.put('c').unwrap();
    /// assert!(buffer.is_full());
    /// ```
    pub fn len(&self) -> usize {
        self.layout().len()
    }

    /// Whether the buffer holds no item right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer holds `capacity` items right now.
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }

    /// The most items the buffer holds at once.
    pub fn capacity(&self) -> usize {
        self.layout().capacity()
    }

    /// A snapshot of the buffer's counters: items through, high-water mark, and how often and
    /// how long producers and consumers waited.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(1).unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| (0..100).for_each(|i| buffer.put(i).unwrap()));
    ///     (0..100).for_each(|_| drop(buffer.get().unwrap()));
    /// });
    /// let stats = buffer.stats();
    /// assert_eq!((stats.items_put, stats.items_got, stats.high_water), (100, 100, 1));
    /// println!("producers waited {:?}, consumers {:?}", stats.put_wait_time, stats.get_wait_time);
    /// ```
    pub fn stats(&self) -> BufferStats {
        self.layout().stats()
    }

    /// A blocking iterator that takes items until the buffer is closed and drained.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(4).unwrap();
    /// buffer.put_batch(vec![3, 4]).unwrap();
    /// buffer.close();
    /// assert_eq!(buffer.iter().map(|x| x * 10).collect::<Vec<_>>(), [30, 40]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { buffer: self }
    }

    /// A non-blocking iterator that takes the items in the buffer right now.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let buffer = BoundedBuffer::new(4).unwrap();
    /// buffer.put_batch(vec![1, 2]).unwrap();
    /// assert_eq!(buffer.try_iter().collect::<Vec<_>>(), [1, 2]); // does not wait for more
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { buffer: self }
    }

    /// The two-lock buffer, if this is one (for the tests of its locks).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn halves(&self) -> Option<&HalvesBuffer<T>> {
        match &self.layout {
            Layouts::Halves(buffer) => Some(buffer),
            Layouts::Slot(_) | Layouts::Batched(_) => None,
        }
    }

    /// The buffer of capacity 1, if this is one (for the tests of its lock).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn slot(&self) -> Option<&SlotBuffer<T>> {
        match &self.layout {
            Layouts::Slot(buffer) => Some(buffer),
            Layouts::Halves(_) | Layouts::Batched(_) => None,
        }
    }

    /// The batched buffer, if this is one (for the tests of its lock).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn batched(&self) -> Option<&BatchedBuffer<T>> {
        match &self.layout {
            Layouts::Batched(buffer) => Some(buffer),
            Layouts::Halves(_) | Layouts::Slot(_) => None,
        }
    }

    /// Wakes every thread waiting on either condition variable without changing the state:
    /// what a spurious wake-up looks like to them.
    #[cfg(test)]
    pub(crate) fn wake_all_spuriously(&self) {
        self.layout().wake_all_spuriously()
    }

    /// Threads counted as waiting on (the put side, the get side); both are zero whenever no
    /// thread is inside a blocking call.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> (usize, usize) {
        self.layout().waiting()
    }

    /// Whether the published counts and flags say exactly what the state says now: holds at
    /// every unlock, so in particular once every thread of a model has returned.
    #[cfg(test)]
    pub(crate) fn published_is_current(&self) -> bool {
        self.layout().published_is_current()
    }
}

impl<T> fmt::Debug for BoundedBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("BoundedBuffer")
            .field("capacity", &stats.capacity)
            .field("len", &stats.len)
            .field("closed", &stats.closed)
            .field("waiting_producers", &stats.producers_waiting)
            .field("waiting_consumers", &stats.consumers_waiting)
            .finish()
    }
}
