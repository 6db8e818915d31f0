//! [`BatchedBuffer`]: the buffer for batch hand-offs, one queue under one lock whose lock word, queue and the words waiting threads read share one cache line, and whose batches swap allocations with the caller both ways.
//!
//! Made by [`BoundedBuffer::for_batches`](crate::BoundedBuffer::for_batches). When producers
//! put whole batches with `put_batch_from` and consumers take them with `get_batch_into`, a
//! batch that fits into the empty queue *becomes* the queue, and a batch get that takes every
//! item takes the queue's allocation: no item moves under the lock, and a hand-over costs the
//! one line of the lock, the queue's header and the published length, to the other side and
//! back. The two-lock layout keeps those on four lines (two locks, two counts), which pays
//! when single puts and gets overlap, and costs whole batches a line more each way
//! (BENCHMARKS.md, "Made for batches"). The waits are those of the slot of capacity 1
//! ([`crate::one_lock`]).

use std::collections::VecDeque;
use std::mem;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::layout::Layout;
use crate::lock::{Condvar, Refused, Wait, lock};
use crate::one_lock::{OneLock, Side, Waited, Waits, wait_for};
use crate::stats::BufferStats;
use crate::sync::{AtomicUsize, Mutex, MutexGuard};
use crate::waiters::Waiters;

/// The queue never preallocates room for more than this many items (as the two-lock layout).
const MAX_PREALLOCATED: usize = 4096;

/// The buffer is closed.
const CLOSED: usize = 1;
/// A producer has been notified and has not yet taken the lock again.
const PUTTER_WAKING: usize = 1 << 1;
/// A consumer has been notified and has not yet taken the lock again.
const GETTER_WAKING: usize = 1 << 2;

/// A bounded buffer of one queue under one lock (see the module docs).
pub(crate) struct BatchedBuffer<T> {
    line: CachePadded<Line<T>>,
    /// Producers wait here while the queue is full.
    not_full: Condvar,
    /// Consumers wait here while the queue is empty.
    not_empty: Condvar,
    /// The producers' waits and the consumers' waits, counted after unlocking.
    put_waits: CachePadded<Waits>,
    get_waits: CachePadded<Waits>,
    capacity: usize,
}

/// What shares the first cache line: the two published words, the lock word and the queue's
/// header and count of items taken (64 bytes on a 64-bit target). The rest of [`Queue`] is on
/// the next line, written only when a thread parks or wakes, on close and when the high-water
/// mark rises, and otherwise only read: it stays in both sides' caches.
#[repr(C)]
struct Line<T> {
    /// Items in the queue as of the last unlock: stored under the lock by every operation that
    /// changes it, read without it by waiting threads and by [`BatchedBuffer::len`].
    len: AtomicUsize,
    /// `CLOSED`, `PUTTER_WAKING` and `GETTER_WAKING` as of the last unlock, stored under the lock
    /// when it changes. A hint, as `len`, except `CLOSED` for [`BatchedBuffer::is_closed`]:
    /// every decision is taken again under the lock.
    state: AtomicUsize,
    queue: Mutex<Queue<T>>,
}

/// The state under the lock.
#[repr(C)]
pub(crate) struct Queue<T> {
    items: VecDeque<T>,
    /// Items taken so far: the next item taken leaves numbered `got as usize`; `got + len` items
    /// were put. Only takes write it, so a put writes nothing on this line but the queue and
    /// `len`.
    got: u64,
    /// Producers blocked on `not_full`.
    putters: Waiters,
    /// Consumers blocked on `not_empty`.
    getters: Waiters,
    closed: bool,
    high_water: usize,
}

impl<T> Queue<T> {
    fn state(&self) -> usize {
        let mut state = 0;
        if self.closed {
            state |= CLOSED;
        }
        if self.putters.waking() {
            state |= PUTTER_WAKING;
        }
        if self.getters.waking() {
            state |= GETTER_WAKING;
        }
        state
    }

    /// Items put so far.
    fn put(&self) -> u64 {
        self.got + self.items.len() as u64
    }
}

impl<T> BatchedBuffer<T> {
    /// An empty buffer of `capacity` items (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity >= 1);
        Self {
            line: CachePadded::new(Line {
                len: AtomicUsize::new(0),
                state: AtomicUsize::new(0),
                queue: Mutex::new(Queue {
                    items: VecDeque::with_capacity(capacity.min(MAX_PREALLOCATED)),
                    got: 0,
                    putters: Waiters::default(),
                    getters: Waiters::default(),
                    closed: false,
                    high_water: 0,
                }),
            }),
            not_full: Condvar::new(),
            not_empty: Condvar::new(),
            put_waits: CachePadded::new(Waits::new()),
            get_waits: CachePadded::new(Waits::new()),
            capacity,
        }
    }

    /// The room the queue keeps allocated: what a swap of allocations must leave it.
    #[inline]
    fn kept(&self) -> usize {
        self.capacity.min(MAX_PREALLOCATED)
    }

    #[inline]
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        lock(&self.line.queue)
    }

    /// Puts every item of `items`, a run at a time, waiting for room as often as needed; on
    /// close hands back the items not put.
    pub(crate) fn put_all(
        &self,
        mut items: impl ExactSizeIterator<Item = T>,
        wait_time: &mut Duration,
    ) -> Result<(), Vec<T>> {
        while items.len() > 0 {
            let (mut queue, outcome, waited) = wait_for(self, Side::Put, None);
            if outcome.is_err() {
                drop(queue);
                self.put_waits.add(waited, wait_time);
                return Err(items.collect());
            }
            let pushed = items.len().min(self.capacity - queue.items.len());
            // `items` knows its length: `extend` reserves once and moves the run in bulk.
            queue.items.extend(items.by_ref().take(pushed));
            self.count_put(queue, pushed);
            self.put_waits.add(waited, wait_time);
        }
        Ok(())
    }

    /// Counts `n` items just put, publishes them, and wakes up to `n` parked consumers, after
    /// unlocking.
    #[inline]
    fn count_put(&self, mut queue: MutexGuard<'_, Queue<T>>, n: usize) {
        let len = queue.items.len();
        if len > queue.high_water {
            queue.high_water = len;
        }
        let wake = queue.getters.signal(n);
        self.line.len.store(len, Ordering::Release);
        if wake > 0 {
            self.publish(&queue);
        }
        // Notify after the state change and after unlocking: the woken consumer finds the items
        // and does not block again on the lock this thread would still hold.
        drop(queue);
        for _ in 0..wake {
            self.not_empty.notify_one();
        }
    }

    /// Takes the front item (the caller made sure there is one) with its number.
    #[inline]
    fn pop(&self, mut queue: MutexGuard<'_, Queue<T>>) -> (usize, T) {
        let number = queue.got as usize;
        let item = queue
            .items
            .pop_front()
            .expect("the caller made sure the queue holds an item");
        self.count_taken(queue, 1);
        (number, item)
    }

    /// Counts `n` items just taken, publishes the room they made, and wakes up to `n` parked
    /// producers, after unlocking.
    #[inline]
    fn count_taken(&self, mut queue: MutexGuard<'_, Queue<T>>, n: usize) {
        queue.got += n as u64;
        let wake = queue.putters.signal(n);
        self.line.len.store(queue.items.len(), Ordering::Release);
        if wake > 0 {
            self.publish(&queue);
        }
        // As in `count_put`: notify after the state change and after unlocking.
        drop(queue);
        for _ in 0..wake {
            self.not_full.notify_one();
        }
    }

    /// Panics while holding the lock, for the tests.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn panic_while_locked(&self) {
        let _queue = self.lock();
        panic!("boom while holding the batched buffer's lock");
    }

    /// Whether a thread holds the lock right now.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_locked(&self) -> bool {
        self.line.queue.is_locked()
    }
}

impl<T> Layout<T> for BatchedBuffer<T> {
    fn capacity(&self) -> usize {
        self.capacity
    }

    /// Puts `item`, waiting for room until `deadline` (`None`: for as long as it takes). Hands
    /// the item back with the reason when the buffer is closed or the deadline passes first.
    #[inline]
    fn put_until(
        &self,
        item: T,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
    ) -> Result<(), (T, Refused)> {
        let (mut queue, outcome, waited) = wait_for(self, Side::Put, deadline);
        let outcome = match outcome {
            Ok(()) => {
                queue.items.push_back(item);
                self.count_put(queue, 1);
                Ok(())
            }
            Err(refused) => {
                drop(queue);
                Err((item, refused))
            }
        };
        self.put_waits.add(waited, wait_time);
        outcome
    }

    /// Puts `item` if there is room right now; `Refused::WouldBlock` if the buffer is full.
    fn try_put(&self, item: T) -> Result<(), (T, Refused)> {
        let mut queue = self.lock();
        match self.done(Side::Put, &queue) {
            Some(Ok(())) => {
                queue.items.push_back(item);
                self.count_put(queue, 1);
                Ok(())
            }
            Some(Err(refused)) => Err((item, refused)),
            None => Err((item, Refused::WouldBlock)),
        }
    }

    /// Puts every item of `items`, as [`put_all`](Self::put_all) does, and leaves `items` empty
    /// with at least its capacity; on close hands back the items not put.
    ///
    /// When the queue is empty and the whole batch fits, the batch's `Vec` becomes the queue and
    /// `items` gets the queue's empty allocation, as a batch get that takes everything swaps with
    /// its `Vec`: the critical section moves no item. The conditions are those of the two-lock
    /// layout's swap (`HalvesBuffer::put_from`): `items`' allocation is at least what the queue
    /// keeps, so later puts do not allocate under the lock, and the queue's is at least `items`',
    /// so the caller gets back what it gave. Otherwise the first run goes in under the lock
    /// already held, and the rest through [`put_all`](Self::put_all).
    fn put_from(&self, items: &mut Vec<T>, wait_time: &mut Duration) -> Result<(), Vec<T>> {
        if items.is_empty() {
            // Nothing to deliver, so nothing to refuse, closed or not (as `put_all`).
            return Ok(());
        }
        let (mut queue, outcome, waited) = wait_for(self, Side::Put, None);
        if outcome.is_err() {
            drop(queue);
            self.put_waits.add(waited, wait_time);
            #[expect(
                clippy::drain_collect,
                reason = "`items` keeps its allocation for the caller, as on every other path"
            )]
            let rest = items.drain(..).collect();
            return Err(rest);
        }
        let room = self.capacity - queue.items.len();
        if items.len() <= room
            && queue.items.is_empty()
            && items.capacity() >= self.kept()
            && queue.items.capacity() >= items.capacity()
        {
            let n = items.len();
            // The queue is empty, so the batch is the whole queue, in order.
            let empty = mem::replace(&mut queue.items, VecDeque::from(mem::take(items)));
            self.count_put(queue, n);
            self.put_waits.add(waited, wait_time);
            // Free: the deque is empty.
            *items = Vec::from(empty);
            return Ok(());
        }
        let mut rest = items.drain(..);
        let pushed = rest.len().min(room);
        queue.items.extend(rest.by_ref().take(pushed));
        self.count_put(queue, pushed);
        self.put_waits.add(waited, wait_time);
        self.put_all(rest, wait_time)
    }

    /// Takes the front item with its number, waiting for one until `deadline` (`None`: for as
    /// long as it takes). `Refused::Closed` once the buffer is closed and empty.
    #[inline]
    fn get_until(
        &self,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
    ) -> Result<(usize, T), Refused> {
        let (queue, outcome, waited) = wait_for(self, Side::Get, deadline);
        let outcome = match outcome {
            Ok(()) => Ok(self.pop(queue)),
            Err(refused) => {
                drop(queue);
                Err(refused)
            }
        };
        self.get_waits.add(waited, wait_time);
        outcome
    }

    /// Takes the front item with its number if there is one right now; `Refused::WouldBlock` if
    /// the buffer is empty.
    fn try_get(&self) -> Result<(usize, T), Refused> {
        let queue = self.lock();
        match self.done(Side::Get, &queue) {
            Some(Ok(())) => Ok(self.pop(queue)),
            Some(Err(refused)) => Err(refused),
            None => Err(Refused::WouldBlock),
        }
    }

    /// A batch get: appends up to `max` items to `out`, waiting as `wait` says while the buffer
    /// is empty, and returns their numbers. `max == 0` takes nothing and waits for nothing. A
    /// batch that takes
    /// every item into an empty `out` of at least the room the queue keeps swaps allocations with
    /// the queue.
    fn get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
        wait: Wait,
        wait_time: &mut Duration,
    ) -> Result<Range<usize>, Refused> {
        if max == 0 {
            let next = self.lock().got as usize;
            return Ok(next..next);
        }
        let keep = self.kept();
        // Make room in `out` before taking the lock, so that the critical section is the queue
        // operation alone and not an allocation (a batch never exceeds the capacity).
        out.reserve(max.min(keep));
        let (mut queue, outcome, waited) = match wait {
            Wait::Until(deadline) => wait_for(self, Side::Get, deadline),
            Wait::Never => {
                let queue = self.lock();
                let outcome = self
                    .done(Side::Get, &queue)
                    .unwrap_or(Err(Refused::WouldBlock));
                (queue, outcome, Waited::No)
            }
        };
        if let Err(refused) = outcome {
            drop(queue);
            self.get_waits.add(waited, wait_time);
            return Err(refused);
        }
        let len = queue.items.len();
        let n = len.min(max);
        let first = queue.got as usize;
        let taken_whole = if n == len && out.is_empty() && out.capacity() >= keep {
            // Taking everything into an empty `out`: swap the two allocations, so the critical
            // section moves no item, and this thread reads the items' lines after the unlock.
            let empty = VecDeque::from(mem::take(out));
            Some(mem::replace(&mut queue.items, empty))
        } else {
            out.extend(queue.items.drain(..n));
            None
        };
        self.count_taken(queue, n);
        self.get_waits.add(waited, wait_time);
        if let Some(taken) = taken_whole {
            // In place: free when the ring does not wrap, one move of the items when it does.
            *out = Vec::from(taken);
        }
        Ok(first..first.wrapping_add(n))
    }

    /// Closes the buffer; `false` if it was closed already. Wakes every waiting thread: the
    /// producers to hand their items back, the consumers to drain what is left or to return.
    fn close(&self) -> bool {
        let mut queue = self.lock();
        if queue.closed {
            return false;
        }
        queue.closed = true;
        let wake_getters = queue.getters.signal_all();
        let wake_putters = queue.putters.signal_all();
        self.publish(&queue);
        drop(queue);
        if wake_getters {
            self.not_empty.notify_all();
        }
        if wake_putters {
            self.not_full.notify_all();
        }
        true
    }

    fn is_closed(&self) -> bool {
        self.line.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// The number of items as of the last unlock.
    fn len(&self) -> usize {
        self.line.len.load(Ordering::Acquire)
    }

    /// A snapshot of the counters, exact: taken under the lock.
    fn stats(&self) -> BufferStats {
        let (put_waits, put_wait_time) = self.put_waits.read();
        let (get_waits, get_wait_time) = self.get_waits.read();
        let queue = self.lock();
        BufferStats {
            capacity: self.capacity,
            len: queue.items.len(),
            high_water: queue.high_water,
            closed: queue.closed,
            producers_waiting: queue.putters.waiting(),
            consumers_waiting: queue.getters.waiting(),
            items_put: queue.put(),
            items_got: queue.got,
            put_waits,
            put_wait_time,
            get_waits,
            get_wait_time,
        }
    }

    #[cfg(test)]
    /// See `BoundedBuffer::wake_all_spuriously`.
    fn wake_all_spuriously(&self) {
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    #[cfg(test)]
    /// Threads counted as waiting on (the put side, the get side).
    fn waiting(&self) -> (usize, usize) {
        let queue = self.lock();
        (queue.putters.waiting(), queue.getters.waiting())
    }

    #[cfg(test)]
    /// Whether the published words say exactly what the state under the lock says now.
    fn published_is_current(&self) -> bool {
        let queue = self.lock();
        self.line.state.load(Ordering::Relaxed) == queue.state()
            && self.line.len.load(Ordering::Relaxed) == queue.items.len()
    }
}

impl<T> OneLock for BatchedBuffer<T> {
    type State = Queue<T>;

    /// See [`Waited`]: most waits here end while spinning, so a wait is timed from the first yield.
    const TIMED_FROM_START: bool = false;

    #[inline]
    fn mutex(&self) -> &Mutex<Queue<T>> {
        &self.line.queue
    }

    #[inline]
    fn hint(&self, side: Side) -> (bool, bool) {
        let len = self.line.len.load(Ordering::Acquire);
        let room_or_items = match side {
            Side::Put => len < self.capacity,
            Side::Get => len > 0,
        };
        // The state word only when the length says wait: it is on the same line, read once.
        if room_or_items {
            return (true, false);
        }
        let state = self.line.state.load(Ordering::Acquire);
        let other_waking = match side {
            Side::Put => GETTER_WAKING,
            Side::Get => PUTTER_WAKING,
        };
        (state & CLOSED != 0, state & other_waking != 0)
    }

    #[inline]
    fn done(&self, side: Side, queue: &Queue<T>) -> Option<Result<(), Refused>> {
        match side {
            Side::Put if queue.closed => Some(Err(Refused::Closed)),
            Side::Put if queue.items.len() < self.capacity => Some(Ok(())),
            Side::Get if !queue.items.is_empty() => Some(Ok(())),
            Side::Get if queue.closed => Some(Err(Refused::Closed)),
            _ => None,
        }
    }

    #[inline]
    fn waiters(side: Side, queue: &mut Queue<T>) -> &mut Waiters {
        match side {
            Side::Put => &mut queue.putters,
            Side::Get => &mut queue.getters,
        }
    }

    #[inline]
    fn condvar(&self, side: Side) -> &Condvar {
        match side {
            Side::Put => &self.not_full,
            Side::Get => &self.not_empty,
        }
    }

    /// Stores the state word if it changed. Only the lock holder writes it, and it sits on the
    /// line the lock holder already has. (The length is stored by every operation that changes
    /// it, in `count_put` and `count_taken`.)
    #[inline]
    fn publish(&self, queue: &Queue<T>) {
        let state = queue.state();
        if state != self.line.state.load(Ordering::Relaxed) {
            self.line.state.store(state, Ordering::Release);
        }
    }
}
