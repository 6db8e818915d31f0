//! [`BoundedBuffer`]: a queue split in two halves behind two `Mutex`es, the front for consumers and the back for producers, with a `Condvar` for producers waiting for room and one for consumers waiting for items; at capacity 1 it hands every operation to the one-slot buffer of `slot.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::ops::Range;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::backoff::{Spinners, back_off};
use crate::err::{
    CapacityError, GetError, GetTimeoutError, PutError, PutTimeoutError, TryGetError, TryPutError,
};
use crate::iter::{Iter, TryIter};
use crate::slot::SlotBuffer;
use crate::stats::BufferStats;
use crate::sync::{AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard};
use crate::waiters::Waiters;

/// The queue never preallocates room for more than this many items, so that a huge capacity
/// used as "practically unbounded" does not reserve memory up front.
const MAX_PREALLOCATED: usize = 4096;

/// The smallest capacity at which a consumer that comes to move the back's items to the front
/// and finds a producer holding the back lock waits before taking it (see
/// [`BoundedBuffer::lock_back_to_refill`]). Below it a refill moves a few dozen items at most,
/// and waiting measured slower (capacity 16, four producers and four consumers: 0.96x).
const REFILL_WAIT_MIN_CAPACITY: usize = 256;

/// The most pauses that consumer waits: about 3 µs on the machine of BENCHMARKS.md.
const REFILL_PAUSES: usize = 256;

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
///         buffer.close(); // the original's `mark_complete`
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
/// in atomics, so a producer sees the room a consumer made without taking the front lock. In a
/// buffer of capacity 256 or more, a single get that comes for the back's items while a
/// producer is putting waits a moment (at most a few microseconds) before it takes them, so
/// that it moves a longer run and the producer keeps its lock meanwhile.
///
/// # Capacity 1
///
/// A buffer of capacity 1 is laid out differently: one lock, the slot holding the item and a
/// word of state that waiting threads read without the lock share one cache line, so that an
/// item costs one line to the consumer and one back. There every item is a round trip between
/// the two sides, and the split above, which keeps the lock, the items and each count on lines
/// of their own, would move four lines per item instead.
///
/// # Panics and poisoning
///
/// The buffer never runs user code while it holds a lock (no `Drop`, no callback), and its
/// invariants hold at every unlock. If a thread nevertheless panics while holding a lock (for
/// example on an allocation failure), the lock is poisoned; the buffer deliberately recovers
/// from the poison and stays fully usable by every other thread, since the state it protects is
/// consistent.
pub struct BoundedBuffer<T> {
    /// The consumers' half, on a cache line of its own with its lock word.
    front: CachePadded<Mutex<Front<T>>>,
    /// The producers' half, on a cache line of its own with its lock word.
    back: CachePadded<Mutex<Back<T>>>,
    /// Items taken so far (wrapping): the number the next item taken leaves with. Stored under
    /// the front lock by every take. Producers read it only when their last reading says the
    /// buffer is full, so while there is room this line stays with the consumers.
    got: CachePadded<AtomicUsize>,
    /// Items put so far (wrapping), stored under the back lock by every put. Read by
    /// [`len`](Self::len), by consumers backing off and by a producer about to park.
    put: CachePadded<AtomicUsize>,
    /// Producers wait here while the buffer is full. Paired with the front lock: room is made
    /// under it, so a producer registers and waits there and no take can slip in between.
    not_full: Condvar,
    /// Consumers wait here while the buffer is empty. Paired with the back lock: items arrive
    /// under it.
    not_empty: Condvar,
    /// What threads backing off watch besides the counts, without a lock.
    flags: CachePadded<Flags>,
    /// Threads backing off right now: it picks how long to back off, nothing more. On its own
    /// line: only waiting threads touch it.
    spinning: CachePadded<Spinners>,
    capacity: usize,
    /// At capacity 1, the buffer itself: every operation goes there, and the halves above stay
    /// empty (see [`SlotBuffer`]).
    one: Option<SlotBuffer<T>>,
}

/// Flags read without a lock, each written under one lock and only when it changes. Only a
/// hint for threads backing off, except `closed`, which a producer about to park reads under
/// the front lock (see [`BoundedBuffer::close`] for why that is enough).
struct Flags {
    /// Set once, under the back lock, by [`BoundedBuffer::close`].
    closed: AtomicBool,
    /// A consumer has been notified and has not yet taken the back lock again (written under
    /// the back lock).
    getter_waking: AtomicBool,
    /// A producer has been notified and has not yet taken the front lock again (written under
    /// the front lock).
    putter_waking: AtomicBool,
}

/// The consumers' half: the oldest items, and what only consumers change.
///
/// `repr(C)` keeps everything a take writes here (the queue, `got`) on the first cache line,
/// with the mutex word; the fields after `putter_waking` are written only when a consumer
/// waits. A consumer that moves the back's items here, or takes one from the back, writes the
/// first line of [`Back`], never the line producers only read.
#[repr(C)]
pub(crate) struct Front<T> {
    queue: VecDeque<T>,
    /// Items taken so far, as the front last knew it; the next item taken from the front leaves
    /// numbered `got as usize`. Exact under the front lock. A `u64`, so that it is also the exact total for [`BufferStats`] on 32-bit targets, with
    /// no second counter to write on every take.
    got: u64,
    /// Producers blocked on `not_full`.
    putters: Waiters,
    /// The value last stored in `Flags::putter_waking`.
    putter_waking: bool,
    get_waits: u64,
    get_wait_time: Duration,
}

/// The producers' half: the newest items, and what only producers change.
///
/// Laid out as [`Front`]: a put writes only the first cache line (the queue, `put`,
/// `got_seen`); it reads `closed` and `high_water` on the second, which is written only when a
/// consumer parks, on close, and when the high-water mark rises.
#[repr(C)]
pub(crate) struct Back<T> {
    queue: VecDeque<T>,
    /// Items put so far (see `Front::got` for why a `u64`).
    put: u64,
    /// `BoundedBuffer::got` as this side last read it. Items are only ever taken, so
    /// `put - got_seen` is at least the number of items in the buffer: room computed from it
    /// is never more than the real room, and is read again before a producer waits.
    got_seen: usize,
    /// Consumers blocked on `not_empty`.
    getters: Waiters,
    closed: bool,
    /// The value last stored in `Flags::getter_waking`.
    getter_waking: bool,
    high_water: usize,
    put_waits: u64,
    put_wait_time: Duration,
}

/// Which side of the buffer a thread waits on.
#[derive(Clone, Copy)]
enum Side {
    /// A producer waiting for room.
    Put,
    /// A consumer waiting for an item.
    Get,
}

/// Why an operation could not go on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Refused {
    /// The buffer is closed (and, for a consumer, empty).
    Closed,
    /// The deadline passed first.
    TimedOut,
}

/// Why a wait ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Notified or woken spuriously: check again.
    Woken,
    /// The deadline passed first.
    TimedOut,
}

impl<T> BoundedBuffer<T> {
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
        // At capacity 1 the halves stay unused (see `one`): no allocation for them.
        let keep = if capacity == 1 {
            0
        } else {
            capacity.min(MAX_PREALLOCATED)
        };
        Ok(Self {
            front: CachePadded::new(Mutex::new(Front {
                queue: VecDeque::with_capacity(keep),
                got: 0,
                putters: Waiters::default(),
                putter_waking: false,
                get_waits: 0,
                get_wait_time: Duration::ZERO,
            })),
            back: CachePadded::new(Mutex::new(Back {
                queue: VecDeque::with_capacity(keep),
                put: 0,
                got_seen: 0,
                getters: Waiters::default(),
                closed: false,
                getter_waking: false,
                high_water: 0,
                put_waits: 0,
                put_wait_time: Duration::ZERO,
            })),
            got: CachePadded::new(AtomicUsize::new(0)),
            put: CachePadded::new(AtomicUsize::new(0)),
            not_full: Condvar::new(),
            not_empty: Condvar::new(),
            flags: CachePadded::new(Flags {
                closed: AtomicBool::new(false),
                getter_waking: AtomicBool::new(false),
                putter_waking: AtomicBool::new(false),
            }),
            spinning: CachePadded::new(Spinners::default()),
            capacity,
            one: (capacity == 1).then(SlotBuffer::new),
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
        if let Some(one) = &self.one {
            return one
                .put_until(item, None)
                .map_err(|(item, _)| PutError(item));
        }
        match self.back_with_room(None) {
            Ok(back) => {
                self.push(back, item);
                Ok(())
            }
            Err(_) => Err(PutError(item)),
        }
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
        if let Some(one) = &self.one {
            return one.try_put(item).map_err(|(item, refused)| match refused {
                Refused::Closed => TryPutError::Closed(item),
                Refused::TimedOut => TryPutError::Full(item),
            });
        }
        let mut back = self.lock_back();
        if back.closed {
            return Err(TryPutError::Closed(item));
        }
        if self.room(&mut back) == 0 {
            return Err(TryPutError::Full(item));
        }
        self.push(back, item);
        Ok(())
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
        let outcome = match &self.one {
            Some(one) => one.put_until(item, Some(deadline)),
            None => match self.back_with_room(Some(deadline)) {
                Ok(back) => {
                    self.push(back, item);
                    Ok(())
                }
                Err(refused) => Err((item, refused)),
            },
        };
        outcome.map_err(|(item, refused)| match refused {
            Refused::Closed => PutTimeoutError::Closed(item),
            Refused::TimedOut => PutTimeoutError::Timeout(item),
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
    pub fn put_batch(&self, items: Vec<T>) -> Result<(), PutError<Vec<T>>> {
        self.put_all(items.into_iter())
    }

    /// Like [`put_batch`](Self::put_batch), but moves the items out of `items` and leaves it
    /// empty with its capacity, so a producer that fills one `Vec` again and again allocates it
    /// once.
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
        self.put_all(items.drain(..))
    }

    /// Puts every item of `items`, a run at a time; on close hands back the rest.
    fn put_all(&self, mut items: impl ExactSizeIterator<Item = T>) -> Result<(), PutError<Vec<T>>> {
        if let Some(one) = &self.one {
            return one.put_all(items).map_err(PutError);
        }
        while items.len() > 0 {
            let Ok(mut back) = self.back_with_room(None) else {
                return Err(PutError(items.collect()));
            };
            let room = self.room(&mut back);
            let pushed = items.len().min(room);
            // One bulk copy into the queue: `items` knows its length, so `extend` reserves
            // once and moves the run without a check per item.
            back.queue.extend(items.by_ref().take(pushed));
            self.count_put(back, pushed);
        }
        Ok(())
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
        if let Some(one) = &self.one {
            return one
                .get_until(None)
                .map(|(_, item)| item)
                .map_err(|_| GetError);
        }
        match self.front_with_items(None) {
            Ok(front) => Ok(self.pop(front).1),
            Err(_) => Err(GetError),
        }
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
        if let Some(one) = &self.one {
            return one
                .try_get()
                .map(|(_, item)| item)
                .map_err(|refused| match refused {
                    Refused::Closed => TryGetError::Closed,
                    Refused::TimedOut => TryGetError::Empty,
                });
        }
        let mut front = self.lock_front();
        if front.queue.is_empty() {
            match self.refill(&mut front, false) {
                Ok(()) => {}
                Err(Some(Refused::Closed)) => return Err(TryGetError::Closed),
                Err(_) => return Err(TryGetError::Empty),
            }
        }
        Ok(self.pop(front).1)
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
    /// `max == 0` returns an empty vector at once. See [`get_batch_into`](Self::get_batch_into)
    /// to reuse an allocation.
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
    /// buffer is empty; returns how many were appended (at least one, unless `max == 0`).
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
        self.get_batch_numbered(out, max)
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
        if let Some(one) = &self.one {
            return one.get_batch_numbered(out, max).map_err(|_| GetError);
        }
        if max == 0 {
            let next = self.got.load(Ordering::Acquire);
            return Ok(next..next);
        }
        // The queues' own allocation: a batch that takes everything swaps it for `out`'s when
        // `out` is empty and at least this large, so that later puts still find room without
        // allocating under a lock.
        let keep = self.capacity.min(MAX_PREALLOCATED);
        // Make room in `out` before taking the lock, so that the critical section is the queue
        // operation alone and not an allocation (a batch never exceeds the capacity).
        out.reserve(max.min(keep));
        let mut front = self.lock_front();
        if front.queue.len() < max {
            // Short of a full batch: top it up from the back, so a batch takes all it can.
            if let Err(found) = self.top_up(&mut front, max) {
                front = match self.front_with_items_slow(front, found, None) {
                    Ok(front) => front,
                    Err(_) => return Err(GetError),
                };
            }
        }
        let len = front.queue.len();
        let n = len.min(max);
        let first = front.got as usize;
        let taken_whole = if n == len && out.is_empty() && out.capacity() >= keep {
            // Taking everything into an empty `out`: swap the two allocations, so the critical
            // section moves no item at all, and the cache lines holding them are read by this
            // thread after the unlock.
            let empty = VecDeque::from(mem::take(out));
            Some(mem::replace(&mut front.queue, empty))
        } else {
            out.extend(front.queue.drain(..n));
            None
        };
        self.count_taken(front, n);
        if let Some(taken) = taken_whole {
            // In place: free when the ring does not wrap, one move of the items when it does.
            *out = Vec::from(taken);
        }
        Ok(first..first.wrapping_add(n))
    }

    /// Takes the item at the front with its number (see
    /// [`get_batch_numbered`](Self::get_batch_numbered)), waiting while the buffer is empty.
    pub fn get_numbered(&self) -> Result<(usize, T), GetError> {
        if let Some(one) = &self.one {
            return one.get_until(None).map_err(|_| GetError);
        }
        match self.front_with_items(None) {
            Ok(front) => Ok(self.pop(front)),
            Err(_) => Err(GetError),
        }
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
        let outcome = match &self.one {
            Some(one) => one.get_until(Some(deadline)),
            None => self
                .front_with_items(Some(deadline))
                .map(|front| self.pop(front)),
        };
        outcome.map_err(|refused| match refused {
            Refused::Closed => GetTimeoutError::Closed,
            Refused::TimedOut => GetTimeoutError::Timeout,
        })
    }

    /// Closes the buffer (the original's `mark_complete`): no more items are accepted, and every
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
        if let Some(one) = &self.one {
            return one.close();
        }
        let mut back = self.lock_back();
        if back.closed {
            return false;
        }
        back.closed = true;
        // A producer decides to park under the front lock, reading `closed` there: the
        // atomic, stored here before the front lock is taken below. Either it sees `true`, or
        // it registered before that lock is taken below and holds it until it waits: it is
        // woken there.
        self.flags.closed.store(true, Ordering::SeqCst);
        let wake_getters = back.getters.signal_all();
        self.publish_back(&mut back);
        drop(back);
        if wake_getters {
            self.not_empty.notify_all();
        }
        let mut front = self.lock_front();
        let wake_putters = front.putters.signal_all();
        self.publish_front(&mut front);
        drop(front);
        if wake_putters {
            self.not_full.notify_all();
        }
        true
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
        if let Some(one) = &self.one {
            return one.is_closed();
        }
        self.flags.closed.load(Ordering::SeqCst)
    }

    /// The number of items in the buffer right now (the original's `size`).
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
        if let Some(one) = &self.one {
            return one.len();
        }
        // Taken first, then put: every item counted in `got` was counted in `put` before it
        // could be taken, so the difference never goes below zero. It may exceed the capacity
        // if puts land in between, hence the `min`.
        let got = self.got.load(Ordering::Acquire);
        let put = self.put.load(Ordering::Acquire);
        put.wrapping_sub(got).min(self.capacity)
    }

    /// Whether the buffer holds no item right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer holds `capacity` items right now.
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// The most items the buffer holds at once.
    pub fn capacity(&self) -> usize {
        self.capacity
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
        if let Some(one) = &self.one {
            return one.stats();
        }
        let front = self.lock_front();
        let back = self.lock_back();
        // Exact under both locks; ahead of `front.got` only by takes straight from the back.
        let got = self.got.load(Ordering::Acquire);
        BufferStats {
            capacity: self.capacity,
            len: (back.put as usize).wrapping_sub(got),
            high_water: back.high_water,
            closed: back.closed,
            producers_waiting: front.putters.waiting(),
            consumers_waiting: back.getters.waiting(),
            items_put: back.put,
            items_got: front.got + got.wrapping_sub(front.got as usize) as u64,
            put_waits: back.put_waits,
            put_wait_time: back.put_wait_time,
            get_waits: front.get_waits,
            get_wait_time: front.get_wait_time,
        }
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

    /// Takes the front lock (see [`lock`]).
    #[inline]
    pub(crate) fn lock_front(&self) -> MutexGuard<'_, Front<T>> {
        lock(&self.front)
    }

    /// Takes the back lock (see [`lock`]). Never take the front lock while holding it: the
    /// order is front, then back.
    #[inline]
    pub(crate) fn lock_back(&self) -> MutexGuard<'_, Back<T>> {
        lock(&self.back)
    }

    /// The room producers can count on, from their last reading of `got`; reads it again when
    /// that says full, so zero means full right now.
    #[inline]
    fn room(&self, back: &mut Back<T>) -> usize {
        let held = (back.put as usize).wrapping_sub(back.got_seen);
        if held < self.capacity {
            return self.capacity - held;
        }
        back.got_seen = self.got.load(Ordering::Acquire);
        self.capacity - (back.put as usize).wrapping_sub(back.got_seen)
    }

    /// Appends `item` (the caller checked for room) and wakes a consumer if one is parked.
    #[inline]
    fn push(&self, mut back: MutexGuard<'_, Back<T>>, item: T) {
        back.queue.push_back(item);
        self.count_put(back, 1);
    }

    /// Counts `n` items just appended, publishes them, and wakes up to `n` parked consumers,
    /// after unlocking.
    #[inline]
    fn count_put(&self, mut back: MutexGuard<'_, Back<T>>, n: usize) {
        back.put += n as u64;
        let put = back.put as usize;
        self.put.store(put, Ordering::Release);
        if put.wrapping_sub(back.got_seen) > back.high_water {
            // Possibly a new high-water mark: `got_seen` may be old, so read `got` again before
            // raising it. Once the mark is reached this costs one compare per put.
            back.got_seen = self.got.load(Ordering::Acquire);
            back.high_water = back.high_water.max(put.wrapping_sub(back.got_seen));
        }
        let wake = back.getters.signal(n);
        if wake > 0 {
            self.publish_back(&mut back);
        }
        // Notify after the state change and after unlocking: the woken consumer finds the item
        // and does not immediately block again on the lock we would still hold.
        drop(back);
        self.notify(&self.not_empty, wake);
    }

    /// Takes the front item (the caller made sure there is one) with its number.
    #[inline]
    fn pop(&self, mut front: MutexGuard<'_, Front<T>>) -> (usize, T) {
        let number = front.got as usize;
        let item = front
            .queue
            .pop_front()
            .expect("the caller made sure the front holds an item");
        self.count_taken(front, 1);
        (number, item)
    }

    /// Counts `n` items just taken, publishes the room they made, and wakes up to `n` parked
    /// producers, after unlocking.
    #[inline]
    fn count_taken(&self, mut front: MutexGuard<'_, Front<T>>, n: usize) {
        front.got += n as u64;
        self.got.store(front.got as usize, Ordering::Release);
        let wake = front.putters.signal(n);
        if wake > 0 {
            self.publish_front(&mut front);
        }
        drop(front);
        self.notify(&self.not_full, wake);
    }

    /// Moves the back queue to the (empty) front in one swap of allocations, holding both
    /// locks. `Err(Some(Closed))` if there is nothing to move and the buffer is closed,
    /// `Err(None)` if there is nothing to move. `patient`: the caller is a single get that
    /// blocks without a deadline, and may wait a little for a longer run (see
    /// [`lock_back_to_refill`](Self::lock_back_to_refill)); `try_get` and deadlines do not wait,
    /// nor do batch gets, which take what is there (waiting measured 0.95x to 0.98x for them).
    #[inline]
    fn refill(&self, front: &mut Front<T>, patient: bool) -> Result<(), Option<Refused>> {
        debug_assert!(front.queue.is_empty());
        let mut back = if patient && self.refill_pauses() > 0 {
            self.lock_back_to_refill()
        } else {
            self.lock_back()
        };
        if back.queue.is_empty() {
            return Err(back.closed.then_some(Refused::Closed));
        }
        // The front is empty, so nothing older than the back's items is left: after the swap
        // the front holds every item, oldest first, and the back the front's empty allocation.
        mem::swap(&mut front.queue, &mut back.queue);
        Ok(())
    }

    /// Pauses a patient refill waits when a producer holds the back lock (see
    /// [`lock_back_to_refill`](Self::lock_back_to_refill)): a quarter of the capacity,
    /// [`REFILL_PAUSES`] at most, and none below [`REFILL_WAIT_MIN_CAPACITY`].
    #[inline]
    fn refill_pauses(&self) -> usize {
        if self.capacity >= REFILL_WAIT_MIN_CAPACITY {
            (self.capacity / 4).min(REFILL_PAUSES)
        } else {
            0
        }
    }

    /// The back lock, for a consumer that found the front empty and will wait for items anyway.
    ///
    /// If a producer holds the lock, it is putting right now and more items are on the way:
    /// the consumer waits [`refill_pauses`](Self::refill_pauses) pauses before it takes the
    /// lock as usual. Taking it at once would move a short run and
    /// take the lock's cache line away from the producer in the middle of its stream; a
    /// consumer that keeps up with a producer would then come back every few dozen items, each
    /// time costing the producer a miss on its lock and on a fresh set of item lines. Measured
    /// at capacity 1024 against taking the lock at once: 1.1x to 1.5x the throughput with one
    /// to four producers and one to four consumers. A consumer of a sparse stream rarely finds
    /// the lock held, and then waits no longer than this. The wait is never a condition: the refill takes whatever the back holds after it. It holds
    /// the front lock meanwhile, on purpose: other consumers would find the front empty too
    /// and go for the same back lock, and the run this one moves is theirs to take as well.
    #[inline]
    fn lock_back_to_refill(&self) -> MutexGuard<'_, Back<T>> {
        // Under loom, no `try_lock` (see `try_lock`): the wait is a delay that decides nothing.
        #[cfg(not(all(test, loom)))]
        {
            if let Some(back) = try_lock(&self.back) {
                return back;
            }
            for _ in 0..self.refill_pauses() {
                std::hint::spin_loop();
            }
        }
        self.lock_back()
    }

    /// Holding both locks, moves the back's items to the front: all of them in one swap of
    /// allocations when the front is empty ([`refill`](Self::refill), whose error it returns
    /// when both halves are empty), otherwise item by item until the front holds `max`. The
    /// front's items are older than the back's, so appending keeps the order.
    fn top_up(&self, front: &mut Front<T>, max: usize) -> Result<(), Option<Refused>> {
        if front.queue.is_empty() {
            return self.refill(front, false);
        }
        let mut back = self.lock_back();
        let wanted = max - front.queue.len();
        let moved = wanted.min(back.queue.len());
        front.queue.extend(back.queue.drain(..moved));
        Ok(())
    }

    /// The back lock, with room for at least one item, waiting for room until `deadline`.
    #[inline]
    fn back_with_room(
        &self,
        deadline: Option<Instant>,
    ) -> Result<MutexGuard<'_, Back<T>>, Refused> {
        let mut back = self.lock_back();
        if !back.closed && self.room(&mut back) > 0 {
            return Ok(back);
        }
        self.back_with_room_slow(back, deadline)
    }

    /// [`back_with_room`](Self::back_with_room) once the buffer is full or closed: back off,
    /// then park on `not_full` under the front lock, as often as needed.
    #[cold]
    #[inline(never)]
    fn back_with_room_slow<'a>(
        &'a self,
        mut back: MutexGuard<'a, Back<T>>,
        deadline: Option<Instant>,
    ) -> Result<MutexGuard<'a, Back<T>>, Refused> {
        if back.closed {
            return Err(Refused::Closed);
        }
        let started = Instant::now();
        let mut backed_off = false;
        // A loop, not a single wait: returning from a wait does not mean this thread may
        // proceed. The wake-up may be spurious, or meant for room that another producer (one
        // that never waited) took first. Only the check under the back lock decides.
        let outcome = loop {
            drop(back);
            if !backed_off && deadline.is_none_or(|deadline| started < deadline) {
                // Before parking, give the consumers a moment without any lock.
                backed_off = true;
                self.back_off(Side::Put);
            } else if self.park_putter(deadline) == Wake::TimedOut {
                back = self.lock_back();
                break Err(Refused::TimedOut);
            }
            back = self.lock_back();
            if back.closed {
                break Err(Refused::Closed);
            }
            if self.room(&mut back) > 0 {
                break Ok(());
            }
        };
        back.put_waits += 1;
        back.put_wait_time += started.elapsed();
        outcome.map(|()| back)
    }

    /// Parks a producer on `not_full` unless room was made or the buffer closed since it last
    /// looked; returns after one wait (the caller checks again) or at once.
    fn park_putter(&self, deadline: Option<Instant>) -> Wake {
        let mut front = self.lock_front();
        // Every take holds the front lock, so the producer registers under it alone; the back
        // lock, which the other producers keep busy, is not taken here. A `put` read early can
        // only show more room than there is, and then the caller just looks again; `close`
        // stores `closed` before taking the front lock.
        let put = self.put.load(Ordering::Acquire);
        let closed = self.flags.closed.load(Ordering::SeqCst);
        // Exact: every take so far happened before this thread took the front lock.
        let held = put.wrapping_sub(self.got.load(Ordering::Acquire));
        if held < self.capacity || closed {
            return Wake::Woken;
        }
        let timeout = match remaining(deadline) {
            Err(timed_out) => return timed_out,
            Ok(timeout) => timeout,
        };
        front.putters.register();
        let mut front = wait(&self.not_full, front, timeout);
        front.putters.unregister();
        self.publish_front(&mut front);
        Wake::Woken
    }

    /// The front lock, with at least one item in the front queue, waiting for one until
    /// `deadline`.
    #[inline]
    fn front_with_items(
        &self,
        deadline: Option<Instant>,
    ) -> Result<MutexGuard<'_, Front<T>>, Refused> {
        let mut front = self.lock_front();
        // An empty front takes the back's items right here: one more lock, no call, no clock.
        if front.queue.is_empty() {
            if let Err(found) = self.refill(&mut front, deadline.is_none()) {
                return self.front_with_items_slow(front, found, deadline);
            }
        }
        Ok(front)
    }

    /// [`front_with_items`](Self::front_with_items) once both halves were found empty (`found`
    /// is what [`refill`](Self::refill) said: `Some(Closed)` if closed too): back off, then
    /// park on `not_empty` under the back lock, as often as needed.
    #[cold]
    #[inline(never)]
    fn front_with_items_slow<'a>(
        &'a self,
        mut front: MutexGuard<'a, Front<T>>,
        mut found: Option<Refused>,
        deadline: Option<Instant>,
    ) -> Result<MutexGuard<'a, Front<T>>, Refused> {
        let mut started = None;
        let mut backed_off = false;
        // A loop, not a single wait: see `back_with_room_slow`. Each round looks at the front
        // and the back again, in lock order: another consumer may have moved the back's items
        // to the front while this one waited, and they are this one's to take as much as its.
        let outcome = loop {
            if let Some(refused) = found {
                break Err(refused);
            }
            let started = *started.get_or_insert_with(Instant::now);
            if !backed_off && deadline.is_none_or(|deadline| started < deadline) {
                // Before parking, give the producers a moment without any lock.
                backed_off = true;
                drop(front);
                self.back_off(Side::Get);
            } else if self.park_getter(front, deadline) == Wake::TimedOut {
                front = self.lock_front();
                break Err(Refused::TimedOut);
            }
            front = self.lock_front();
            if !front.queue.is_empty() {
                break Ok(());
            }
            match self.refill(&mut front, deadline.is_none()) {
                Ok(()) => break Ok(()),
                Err(refused) => found = refused,
            }
        };
        if let Some(started) = started {
            front.get_waits += 1;
            front.get_wait_time += started.elapsed();
        }
        outcome.map(|()| front)
    }

    /// Parks a consumer on `not_empty` unless an item arrived or the buffer closed since it
    /// looked (`front` is still locked and empty); returns after one wait (the caller checks
    /// the front and the back again) or at once.
    fn park_getter(&self, front: MutexGuard<'_, Front<T>>, deadline: Option<Instant>) -> Wake {
        let mut back = self.lock_back();
        if !back.queue.is_empty() || back.closed {
            return Wake::Woken;
        }
        let timeout = match remaining(deadline) {
            Err(timed_out) => return timed_out,
            Ok(timeout) => timeout,
        };
        // Registered while both halves are known to be empty, so every item put from now on
        // counts this thread as parked and wakes it. The front is released before waiting:
        // other consumers, some with deadlines, must not block on its lock meanwhile.
        back.getters.register();
        drop(front);
        let mut back = wait(&self.not_empty, back, timeout);
        back.getters.unregister();
        self.publish_back(&mut back);
        Wake::Woken
    }

    /// The buffer of capacity 1, if this is one (for the tests of its lock).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn slot(&self) -> Option<&SlotBuffer<T>> {
        self.one.as_ref()
    }

    /// Wakes every thread waiting on either condition variable without changing the state:
    /// what a spurious wake-up looks like to them.
    #[cfg(test)]
    pub(crate) fn wake_all_spuriously(&self) {
        match &self.one {
            Some(one) => one.wake_all_spuriously(),
            None => {
                self.not_empty.notify_all();
                self.not_full.notify_all();
            }
        }
    }

    /// Threads counted as waiting on (the put side, the get side); both are zero whenever no
    /// thread is inside a blocking call.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> (usize, usize) {
        if let Some(one) = &self.one {
            return one.waiting();
        }
        let front = self.lock_front();
        let back = self.lock_back();
        (front.putters.waiting(), back.getters.waiting())
    }

    /// Whether the published counts and flags say exactly what the state says now: holds at
    /// every unlock, so in particular once every thread of a model has returned.
    #[cfg(test)]
    pub(crate) fn published_is_current(&self) -> bool {
        if let Some(one) = &self.one {
            return one.published_is_current();
        }
        let front = self.lock_front();
        let back = self.lock_back();
        let flags = &self.flags;
        flags.putter_waking.load(Ordering::Relaxed) == front.putters.waking()
            && front.putter_waking == front.putters.waking()
            && flags.getter_waking.load(Ordering::Relaxed) == back.getters.waking()
            && back.getter_waking == back.getters.waking()
            && flags.closed.load(Ordering::Relaxed) == back.closed
            && (back.put as usize).wrapping_sub(self.got.load(Ordering::Relaxed))
                == front.queue.len() + back.queue.len()
            && self.got.load(Ordering::Relaxed) == front.got as usize
            && self.put.load(Ordering::Relaxed) == back.put as usize
    }

    /// Whether a panic while holding the (front, back) lock has poisoned it (std only: loom
    /// cannot poison).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn locks_poisoned(&self) -> (bool, bool) {
        (self.front.is_poisoned(), self.back.is_poisoned())
    }

    /// Stores whether a producer is waking, if that changed; under the front lock.
    #[inline]
    fn publish_front(&self, front: &mut Front<T>) {
        let waking = front.putters.waking();
        if waking != front.putter_waking {
            front.putter_waking = waking;
            self.flags.putter_waking.store(waking, Ordering::Relaxed);
        }
    }

    /// Stores whether a consumer is waking, if that changed; under the back lock.
    #[inline]
    fn publish_back(&self, back: &mut Back<T>) {
        let waking = back.getters.waking();
        if waking != back.getter_waking {
            back.getter_waking = waking;
            self.flags.getter_waking.store(waking, Ordering::Relaxed);
        }
    }

    /// Whether `side` can proceed (room for a producer, an item for a consumer, or closed),
    /// and whether a thread of the other side, which would let it proceed, is waking up; read
    /// without a lock, as a hint.
    #[inline]
    fn read_hint(&self, side: Side) -> (bool, bool) {
        let flags = &self.flags;
        let closed = flags.closed.load(Ordering::Relaxed);
        let got = self.got.load(Ordering::Relaxed);
        let held = self.put.load(Ordering::Relaxed).wrapping_sub(got);
        match side {
            Side::Put => (
                closed || held < self.capacity,
                flags.getter_waking.load(Ordering::Relaxed),
            ),
            Side::Get => (
                closed || held != 0,
                flags.putter_waking.load(Ordering::Relaxed),
            ),
        }
    }

    /// Waits a little, without a lock, while the hint says `side` cannot proceed; see
    /// [`back_off`] for how long. Returns early as soon as the hint says
    /// ready; the caller checks again under the lock either way.
    fn back_off(&self, side: Side) {
        back_off(&self.spinning, || self.read_hint(side));
    }

    #[inline]
    fn notify(&self, condvar: &Condvar, times: usize) {
        for _ in 0..times {
            condvar.notify_one();
        }
    }
}

/// Takes `mutex`, recovering from poisoning: the state is consistent at every unlock (see the
/// type's docs), so a panic elsewhere must not make the buffer unusable.
#[inline]
pub(crate) fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    // The uncontended case, inlined into every operation: one compare-and-swap.
    #[cfg(not(all(test, loom)))]
    if let Some(guard) = try_lock(mutex) {
        return guard;
    }
    lock_contended(mutex)
}

/// Takes `mutex` if it is free right now, recovering from poisoning as [`lock`] does. Not under
/// loom: loom 0.7's `try_lock` reports false deadlocks (tokio-rs/loom#376).
#[cfg(not(all(test, loom)))]
#[inline]
fn try_lock<S>(mutex: &Mutex<S>) -> Option<MutexGuard<'_, S>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Takes `mutex` when another thread holds it.
#[cold]
#[inline(never)]
fn lock_contended<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    // Spin and then yield before blocking on the lock: critical sections are a few dozen
    // instructions, so the holder is about to release it, and a thread that parks costs the
    // holder a wake-up syscall. (Under loom, block at once: the model explores the
    // interleavings this would only shorten.)
    #[cfg(not(all(test, loom)))]
    {
        let backoff = crate::sync::Backoff::new();
        while !backoff.is_completed() {
            backoff.snooze();
            if let Some(guard) = try_lock(mutex) {
                return guard;
            }
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

impl<T> fmt::Debug for BoundedBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("BoundedBuffer")
            .field("capacity", &self.capacity)
            .field("len", &stats.len)
            .field("closed", &stats.closed)
            .field("waiting_producers", &stats.producers_waiting)
            .field("waiting_consumers", &stats.consumers_waiting)
            .finish()
    }
}
