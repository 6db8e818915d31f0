//! [`BoundedBuffer`]: a queue behind one `Mutex`, with a `Condvar` for producers waiting for room and one for consumers waiting for items.

use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::ops::Range;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use crossbeam_utils::CachePadded;
use std::time::{Duration, Instant};

use crate::backoff::{Spinners, back_off};
use crate::err::{
    CapacityError, GetError, GetTimeoutError, PutError, PutTimeoutError, TryGetError, TryPutError,
};
use crate::iter::{Iter, TryIter};
use crate::stats::{BufferStats, Counters};
use crate::sync::{AtomicUsize, Condvar, Mutex, MutexGuard};
use crate::waiters::Waiters;

/// The queue never preallocates room for more than this many items, so that a huge capacity
/// used as "practically unbounded" does not reserve memory up front.
const MAX_PREALLOCATED: usize = 4096;

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
/// # Panics and poisoning
///
/// The buffer never runs user code while it holds its lock (no `Drop`, no callback), and its
/// invariants hold at every unlock. If a thread nevertheless panics while holding the lock (for
/// example on an allocation failure), the lock is poisoned; the buffer deliberately recovers
/// from the poison and stays fully usable by every other thread, since the state it protects is
/// consistent.
pub struct BoundedBuffer<T> {
    /// On a cache line of its own, so that the lock word and the fields every operation touches
    /// (see [`State`]) share one line, and nothing else does.
    state: CachePadded<Mutex<State<T>>>,
    /// Producers wait here while the buffer is full.
    pub(crate) not_full: Condvar,
    /// Consumers wait here while the buffer is empty.
    pub(crate) not_empty: Condvar,
    /// `EMPTY | FULL | CLOSED | GETTER_WAKING | PUTTER_WAKING`, published under the lock
    /// whenever one of them changes: a thread about to park watches it, without the lock, to see
    /// whether it can go on after all, or whether a thread of the other side is waking up and
    /// will soon let it go on. Only a hint: the decision is always taken again under the lock.
    /// On its own cache line, so watching it does not slow down the lock word, and stored only
    /// on a change, so a producer and a consumer passing items through a buffer that is neither
    /// empty nor full do not pass this line back and forth.
    hint: CachePadded<AtomicUsize>,
    /// Threads backing off right now: it picks how long to back off, nothing more. On its own
    /// line: only waiting threads touch it.
    spinning: CachePadded<Spinners>,
    capacity: usize,
}

/// The bit of `hint` that says the buffer holds no item.
const EMPTY: u8 = 1;
/// The bit of `hint` that says the buffer holds `capacity` items.
const FULL: u8 = 1 << 1;
/// The bit of `hint` that says the buffer is closed.
const CLOSED: u8 = 1 << 2;
/// The bit of `hint` that says a consumer has been notified and has not yet taken the lock again.
const GETTER_WAKING: u8 = 1 << 3;
/// The bit of `hint` that says a producer has been notified and has not yet taken the lock again.
const PUTTER_WAKING: u8 = 1 << 4;

/// Everything behind the lock.
///
/// `repr(C)` keeps the fields every put and get touches first, so that with the mutex's own
/// word they fill the buffer's first cache line (8 + 32 + 8 + 8 + 1 + 1 bytes on 64-bit
/// targets) and a hand-off between a producer and a consumer moves that one line. The counters
/// come after: only producers write them on their fast path.
#[repr(C)]
pub(crate) struct State<T> {
    queue: VecDeque<T>,
    /// Producers blocked on `not_full`.
    putters: Waiters,
    /// Consumers blocked on `not_empty`.
    getters: Waiters,
    closed: bool,
    /// The value last stored in the buffer's `hint`, so that it is stored only when it changes.
    published: u8,
    counters: Counters,
}

impl<T> State<T> {
    #[inline]
    fn push(&mut self, item: T) {
        self.queue.push_back(item);
        self.count_put(1);
    }

    /// Counts `n` items just added to the queue, and the high-water mark they may have set.
    #[inline]
    fn count_put(&mut self, n: usize) {
        self.counters.items_put += n as u64;
        if self.queue.len() > self.counters.high_water {
            self.counters.high_water = self.queue.len();
        }
    }

    /// Items taken so far: the number the item now at the front will have when it leaves.
    #[inline]
    fn items_got(&self) -> u64 {
        self.counters.items_put - self.queue.len() as u64
    }

    #[inline]
    fn waiters(&mut self, side: Side) -> &mut Waiters {
        match side {
            Side::Put => &mut self.putters,
            Side::Get => &mut self.getters,
        }
    }
}

/// Which side of the buffer a thread waits on.
#[derive(Clone, Copy)]
enum Side {
    /// A producer waiting for room.
    Put,
    /// A consumer waiting for an item.
    Get,
}

/// Why a wait ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// The condition holds (room for a producer, an item for a consumer) or the buffer is closed.
    Ready,
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
        Ok(Self {
            state: CachePadded::new(Mutex::new(State {
                queue: VecDeque::with_capacity(capacity.min(MAX_PREALLOCATED)),
                putters: Waiters::default(),
                getters: Waiters::default(),
                closed: false,
                published: EMPTY,
                counters: Counters::default(),
            })),
            not_full: Condvar::new(),
            not_empty: Condvar::new(),
            hint: CachePadded::new(AtomicUsize::new(EMPTY as usize)),
            spinning: CachePadded::new(Spinners::default()),
            capacity,
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
        let (state, _) = self.wait(self.lock(), Side::Put, None);
        self.put_locked(state, item).map_err(PutError)
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
        let state = self.lock();
        if !state.closed && state.queue.len() >= self.capacity {
            return Err(TryPutError::Full(item));
        }
        self.put_locked(state, item).map_err(TryPutError::Closed)
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
        match self.wait(self.lock(), Side::Put, Some(deadline)) {
            (_, Wake::TimedOut) => Err(PutTimeoutError::Timeout(item)),
            (state, Wake::Ready) => self
                .put_locked(state, item)
                .map_err(PutTimeoutError::Closed),
        }
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
        while items.len() > 0 {
            let (mut state, _) = self.wait(self.lock(), Side::Put, None);
            if state.closed {
                self.publish(&mut state);
                return Err(PutError(items.collect()));
            }
            let room = self.capacity - state.queue.len();
            let pushed = items.len().min(room);
            // One bulk copy into the queue: `items` knows its length, so `extend` reserves
            // once and moves the run without a check per item.
            state.queue.extend(items.by_ref().take(pushed));
            state.count_put(pushed);
            self.publish(&mut state);
            let wake = state.getters.signal(pushed);
            drop(state);
            self.notify(&self.not_empty, wake);
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
        let (state, _) = self.wait(self.lock(), Side::Get, None);
        self.get_locked(state).ok_or(GetError)
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
        let state = self.lock();
        let closed = state.closed;
        self.get_locked(state).ok_or(if closed {
            TryGetError::Closed
        } else {
            TryGetError::Empty
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
        match self.wait(self.lock(), Side::Get, Some(deadline)) {
            (_, Wake::TimedOut) => Err(GetTimeoutError::Timeout),
            (state, Wake::Ready) => self.get_locked(state).ok_or(GetTimeoutError::Closed),
        }
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
    /// the batch takes every item, the buffer and `out` swap allocations instead of moving the
    /// items one by one while the lock is held: `out` may come back with another allocation,
    /// of at least the room it had. Reusing one `Vec` for every batch, drained in between,
    /// gets this every time a consumer keeps up.
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
        if max == 0 {
            let next = self.lock().items_got() as usize;
            return Ok(next..next);
        }
        // The queue's own allocation: a batch that takes everything swaps it for `out`'s when
        // `out` is empty and at least this large, so that later puts still find room without
        // allocating under the lock.
        let keep = self.capacity.min(MAX_PREALLOCATED);
        // Make room in `out` before taking the lock, so that the critical section is the queue
        // operation alone and not an allocation (a batch never exceeds the capacity).
        out.reserve(max.min(keep));
        let (mut state, _) = self.wait(self.lock(), Side::Get, None);
        let len = state.queue.len();
        let n = len.min(max);
        if n == 0 {
            // `wait` returned Ready on an empty buffer: it is closed. A woken consumer ends
            // here: its waking bit goes.
            self.publish(&mut state);
            return Err(GetError);
        }
        let first = state.items_got() as usize;
        let taken_whole = if n == len && out.is_empty() && out.capacity() >= keep {
            // Taking everything into an empty `out`: swap the two allocations, so the critical
            // section moves no item at all, and the cache lines holding them are read by this
            // thread after the unlock, while producers already fill the other allocation.
            let empty = VecDeque::from(mem::take(out));
            Some(mem::replace(&mut state.queue, empty))
        } else {
            out.extend(state.queue.drain(..n));
            None
        };
        self.publish(&mut state);
        let wake = state.putters.signal(n);
        drop(state);
        self.notify(&self.not_full, wake);
        if let Some(taken) = taken_whole {
            // In place: free when the ring does not wrap, one move of the items when it does.
            *out = Vec::from(taken);
        }
        Ok(first..first + n)
    }

    /// Takes the item at the front with its number (see
    /// [`get_batch_numbered`](Self::get_batch_numbered)), waiting while the buffer is empty.
    pub fn get_numbered(&self) -> Result<(usize, T), GetError> {
        let (state, _) = self.wait(self.lock(), Side::Get, None);
        self.get_numbered_locked(state).ok_or(GetError)
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
        match self.wait(self.lock(), Side::Get, Some(deadline)) {
            (_, Wake::TimedOut) => Err(GetTimeoutError::Timeout),
            (state, Wake::Ready) => self
                .get_numbered_locked(state)
                .ok_or(GetTimeoutError::Closed),
        }
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
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        state.closed = true;
        self.publish(&mut state);
        let wake_putters = state.putters.signal_all();
        let wake_getters = state.getters.signal_all();
        drop(state);
        if wake_putters {
            self.not_full.notify_all();
        }
        if wake_getters {
            self.not_empty.notify_all();
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
        self.lock().closed
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
        self.lock().queue.len()
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
        let state = self.lock();
        let c = &state.counters;
        BufferStats {
            capacity: self.capacity,
            len: state.queue.len(),
            high_water: c.high_water,
            closed: state.closed,
            producers_waiting: state.putters.waiting(),
            consumers_waiting: state.getters.waiting(),
            items_put: c.items_put,
            items_got: state.items_got(),
            put_waits: c.put_waits,
            put_wait_time: c.put_wait_time,
            get_waits: c.get_waits,
            get_wait_time: c.get_wait_time,
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

    /// Takes the lock, recovering from poisoning: the state is consistent at every unlock (see
    /// the type's docs), so a panic elsewhere must not make the buffer unusable.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The uncontended case, inlined into every operation: one compare-and-swap.
        #[cfg(not(all(test, loom)))]
        match self.state.try_lock() {
            Ok(state) => state,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => self.lock_contended(),
        }
        #[cfg(all(test, loom))]
        self.lock_contended()
    }

    /// Takes the lock when another thread holds it.
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) -> MutexGuard<'_, State<T>> {
        // Spin and then yield before blocking on the lock: critical sections are a few dozen
        // instructions, so the holder is about to release it, and a thread that parks costs the
        // holder a wake-up syscall. (Under loom, block at once: the model explores the
        // interleavings this would only shorten.)
        #[cfg(not(all(test, loom)))]
        {
            let backoff = crate::sync::Backoff::new();
            while !backoff.is_completed() {
                backoff.snooze();
                match self.state.try_lock() {
                    Ok(state) => return state,
                    Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                        return poisoned.into_inner();
                    }
                    Err(std::sync::TryLockError::WouldBlock) => {}
                }
            }
        }
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes `item` unless the buffer is closed (then hands it back), and wakes a consumer if
    /// one is parked. The caller has already made sure there is room.
    #[inline]
    fn put_locked(&self, mut state: MutexGuard<'_, State<T>>, item: T) -> Result<(), T> {
        if state.closed {
            // Nothing changed, but a woken producer ends here: its waking bit goes.
            self.publish(&mut state);
            return Err(item);
        }
        debug_assert!(state.queue.len() < self.capacity);
        state.push(item);
        self.publish(&mut state);
        let wake = state.getters.signal(1);
        // Notify after the state change and after unlocking: the woken consumer finds the item
        // and does not immediately block again on the lock we would still hold.
        drop(state);
        self.notify(&self.not_empty, wake);
        Ok(())
    }

    /// Pops the front item, if any, and wakes a producer if one is parked.
    #[inline]
    fn get_locked(&self, mut state: MutexGuard<'_, State<T>>) -> Option<T> {
        let Some(item) = state.queue.pop_front() else {
            // Closed and empty; a woken consumer ends here: its waking bit goes.
            self.publish(&mut state);
            return None;
        };
        self.publish(&mut state);
        let wake = state.putters.signal(1);
        drop(state);
        self.notify(&self.not_full, wake);
        Some(item)
    }

    /// [`get_locked`](Self::get_locked), with the number the item leaves with.
    #[inline]
    fn get_numbered_locked(&self, state: MutexGuard<'_, State<T>>) -> Option<(usize, T)> {
        let number = state.items_got() as usize;
        self.get_locked(state).map(|item| (number, item))
    }

    /// Threads counted as waiting on (the put side, the get side); both are zero whenever no
    /// thread is inside a blocking call.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> (usize, usize) {
        let state = self.lock();
        (state.putters.waiting(), state.getters.waiting())
    }

    /// Whether `hint` says exactly what [`publish`](Self::publish) would say now. Holds at every
    /// unlock at which no woken thread is still on its way back to the lock, so in particular
    /// once every thread of a model has returned.
    #[cfg(test)]
    pub(crate) fn hint_is_current(&self) -> bool {
        let mut state = self.lock();
        let stored = self.hint.load(Ordering::Relaxed);
        let published = state.published;
        self.publish(&mut state);
        stored == published as usize && published == state.published
    }

    /// Whether a panic while holding the lock has poisoned it (std only: loom cannot poison).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn state_is_poisoned(&self) -> bool {
        self.state.is_poisoned()
    }

    /// Publishes whether the buffer is empty, full or closed and which sides have a thread
    /// waking up to `hint`, if that changed; called under the lock after every change.
    #[inline]
    fn publish(&self, state: &mut State<T>) {
        let len = state.queue.len();
        let mut hint = 0;
        if len == 0 {
            hint |= EMPTY;
        }
        if len >= self.capacity {
            hint |= FULL;
        }
        if state.closed {
            hint |= CLOSED;
        }
        if state.getters.waking() {
            hint |= GETTER_WAKING;
        }
        if state.putters.waking() {
            hint |= PUTTER_WAKING;
        }
        if hint != state.published {
            state.published = hint;
            self.hint.store(hint as usize, Ordering::Relaxed);
        }
    }

    /// What `hint` says about `side`: whether it can proceed (room for a producer, an item for a
    /// consumer, or closed), and whether a thread of the other side, which would let it proceed,
    /// is waking up.
    #[inline]
    fn read_hint(&self, side: Side) -> (bool, bool) {
        let hint = self.hint.load(Ordering::Relaxed) as u8;
        let closed = hint & CLOSED != 0;
        match side {
            Side::Put => (closed || hint & FULL == 0, hint & GETTER_WAKING != 0),
            Side::Get => (closed || hint & EMPTY == 0, hint & PUTTER_WAKING != 0),
        }
    }

    /// Waits a little, without the lock, while `hint` says `side` cannot proceed; see
    /// [`back_off`](crate::backoff::back_off) for how long. Returns early as soon as the hint says
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

    /// Blocks on `side`'s condition variable until that side can proceed (room for a producer,
    /// an item for a consumer) or the buffer is closed, or until `deadline` passes.
    ///
    /// Returns at once, without touching the clock, if the side can already proceed: the fast
    /// path of every operation goes through here, and is inlined into it.
    #[inline]
    fn wait<'a>(
        &'a self,
        state: MutexGuard<'a, State<T>>,
        side: Side,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, State<T>>, Wake) {
        if self.ready(&state, side) {
            (state, Wake::Ready)
        } else {
            self.wait_slow(state, side, deadline)
        }
    }

    /// Whether `side` can proceed: room for a producer, an item for a consumer, or closed.
    #[inline]
    fn ready(&self, state: &State<T>, side: Side) -> bool {
        match side {
            Side::Put => state.closed || state.queue.len() < self.capacity,
            Side::Get => state.closed || !state.queue.is_empty(),
        }
    }

    /// [`wait`](Self::wait) once `side` cannot proceed: back off, then park.
    #[cold]
    #[inline(never)]
    fn wait_slow<'a>(
        &'a self,
        mut state: MutexGuard<'a, State<T>>,
        side: Side,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, State<T>>, Wake) {
        let ready = |state: &State<T>| self.ready(state, side);
        let condvar = match side {
            Side::Put => &self.not_full,
            Side::Get => &self.not_empty,
        };
        let started = Instant::now();
        let mut wake = Wake::Ready;
        if deadline.is_none_or(|deadline| started < deadline) {
            // Before parking, give the other side a moment without the lock.
            drop(state);
            self.back_off(side);
            state = self.lock();
        }
        // A `while`, not an `if`: returning from a wait does not mean this thread may proceed.
        // The wake-up may be spurious, a timeout, or meant for a slot that another thread (a
        // barging producer or consumer that never waited) took first. Only the re-checked
        // condition, under the lock, says whether to proceed.
        while !ready(&state) {
            let timeout = match deadline {
                None => None,
                Some(deadline) => {
                    // Time left is measured against the fixed deadline, so a spurious wake-up
                    // neither shortens nor lengthens the total wait.
                    let now = Instant::now();
                    if now >= deadline {
                        wake = Wake::TimedOut;
                        break;
                    }
                    Some(deadline - now)
                }
            };
            state.waiters(side).register();
            state = match timeout {
                None => condvar.wait(state).unwrap_or_else(PoisonError::into_inner),
                Some(timeout) => {
                    condvar
                        .wait_timeout(state, timeout)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            state.waiters(side).unregister();
        }
        // This thread is awake, and `hint` still says it is waking: on `Ready` the caller acts
        // in this same critical section and publishes then, so a thread of the other side
        // watching the hint never sees "no one is waking" before the item or the room this
        // thread brings (it would park just before being let through). On a timeout nothing
        // follows, so publish now; a bit left stale otherwise would only make the other side
        // yield a little longer.
        if wake == Wake::TimedOut {
            self.publish(&mut state);
        }
        let waited = started.elapsed();
        let counters = &mut state.counters;
        match side {
            Side::Put => {
                counters.put_waits += 1;
                counters.put_wait_time += waited;
            }
            Side::Get => {
                counters.get_waits += 1;
                counters.get_wait_time += waited;
            }
        }
        (state, wake)
    }
}

impl<T> fmt::Debug for BoundedBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("BoundedBuffer")
            .field("capacity", &self.capacity)
            .field("len", &state.queue.len())
            .field("closed", &state.closed)
            .field("waiting_producers", &state.putters.waiting())
            .field("waiting_consumers", &state.getters.waiting())
            .finish()
    }
}
