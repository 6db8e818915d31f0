//! [`SlotBuffer`]: the buffer of capacity 1, whose lock, item and the state waiting threads watch share one cache line.
//!
//! At capacity 1 every item is a round trip between a producer and a consumer, and what a round
//! trip costs is the number of cache lines that cross between the cores. Here the lock word,
//! the slot holding the item and a state word that threads backing off read without the lock
//! all sit on one line, so one line goes to the consumer and one comes back per item (the
//! two-lock layout of [`BoundedBuffer`](crate::BoundedBuffer) at larger capacities keeps the
//! lock, the queue's allocation and each count on lines of their own, which pays at larger
//! capacities and costs four lines per item at capacity 1).
//!
//! The slot stays a layout of its own instead of the batch queue at capacity 1, because that
//! queue, tried in its place, missed the bound of 10% slower at capacity 1 that a merge was
//! allowed (BENCHMARKS.md, "One slot at capacity 1").

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::layout::Layout;
use crate::lock::{Condvar, Refused, Wait, lock};
use crate::one_lock::{OneLock, Side, Waits, wait_for};
use crate::stats::BufferStats;
use crate::sync::{AtomicUsize, Mutex, MutexGuard};
use crate::waiters::Waiters;

/// The slot holds an item.
const FULL: usize = 1;
/// The buffer is closed.
const CLOSED: usize = 1 << 1;
/// A producer has been notified and has not yet taken the lock again.
const PUTTER_WAKING: usize = 1 << 2;
/// A consumer has been notified and has not yet taken the lock again.
const GETTER_WAKING: usize = 1 << 3;

/// A bounded buffer of capacity 1 (see the module docs).
pub(crate) struct SlotBuffer<T> {
    line: CachePadded<Line<T>>,
    /// Producers wait here while the slot is full.
    not_full: Condvar,
    /// Consumers wait here while the slot is empty.
    not_empty: Condvar,
    /// The producers' waits and the consumers' waits, each on a cache line of its own and
    /// counted after unlocking. At capacity 1 nearly every operation waits: counted under the
    /// lock, next to the slot, they would put a second line on the way of every item.
    put_waits: CachePadded<Waits>,
    get_waits: CachePadded<Waits>,
}

/// What shares the cache line: the state word first, then the lock word and the slot.
#[repr(C)]
struct Line<T> {
    /// `FULL`, `CLOSED`, `PUTTER_WAKING` and `GETTER_WAKING` as of the last unlock: stored
    /// under the lock when it changes, read without it by threads backing off and by
    /// [`SlotBuffer::len`]. A hint, except `CLOSED` for [`SlotBuffer::is_closed`]: every
    /// decision is taken again under the lock.
    state: AtomicUsize,
    slot: Mutex<Slot<T>>,
}

/// The state under the lock. `repr(C)`, and small: with the state word and the lock word it
/// fits one cache line (for items of up to 8 bytes; a larger item spills onto the next).
#[repr(C)]
pub(crate) struct Slot<T> {
    item: Option<T>,
    /// Items put so far: the item in the slot, if any, is numbered `put - 1`.
    put: u64,
    /// Producers blocked on `not_full`.
    putters: Waiters,
    /// Consumers blocked on `not_empty`.
    getters: Waiters,
    closed: bool,
}

impl<T> Slot<T> {
    /// Items taken so far: every item put, except the one in the slot.
    fn got(&self) -> u64 {
        self.put - u64::from(self.item.is_some())
    }

    fn state(&self) -> usize {
        let mut state = 0;
        if self.item.is_some() {
            state |= FULL;
        }
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
}

impl<T> SlotBuffer<T> {
    pub(crate) fn new() -> Self {
        Self {
            line: CachePadded::new(Line {
                state: AtomicUsize::new(0),
                slot: Mutex::new(Slot {
                    item: None,
                    put: 0,
                    closed: false,
                    putters: Waiters::default(),
                    getters: Waiters::default(),
                }),
            }),
            not_full: Condvar::new(),
            not_empty: Condvar::new(),
            put_waits: CachePadded::new(Waits::new()),
            get_waits: CachePadded::new(Waits::new()),
        }
    }

    #[inline]
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        lock(&self.line.slot)
    }

    /// Puts `item` into the empty slot, then wakes a consumer if one is parked.
    #[inline]
    fn fill(&self, mut slot: MutexGuard<'_, Slot<T>>, item: T) {
        slot.item = Some(item);
        slot.put += 1;
        let wake = slot.getters.signal(1);
        self.publish(&slot);
        // Notify after the state change and after unlocking: the woken consumer finds the item
        // and does not block again on the lock this thread would still hold.
        drop(slot);
        if wake > 0 {
            self.not_empty.notify_one();
        }
    }

    /// Takes the item from the full slot with its number, then wakes a producer if one is
    /// parked.
    #[inline]
    fn take(&self, mut slot: MutexGuard<'_, Slot<T>>) -> (usize, T) {
        let item = slot.item.take().expect("the caller found the slot full");
        let number = (slot.put - 1) as usize;
        let wake = slot.putters.signal(1);
        self.publish(&slot);
        // As in `fill`: notify after the state change and after unlocking.
        drop(slot);
        if wake > 0 {
            self.not_full.notify_one();
        }
        (number, item)
    }

    /// Panics while holding the lock, for the tests.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn panic_while_locked(&self) {
        let _slot = self.lock();
        panic!("boom while holding the slot's lock");
    }

    /// Whether a thread holds the lock right now.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_locked(&self) -> bool {
        self.line.slot.is_locked()
    }
}

impl<T> Layout<T> for SlotBuffer<T> {
    fn capacity(&self) -> usize {
        1
    }

    /// Puts every item of `items`, one at a time: a batch cannot move more than one item into
    /// a slot of one.
    fn put_from(&self, items: &mut Vec<T>, wait_time: &mut Duration) -> Result<(), Vec<T>> {
        let mut items = items.drain(..);
        while let Some(item) = items.next() {
            if let Err((item, _)) = self.put_until(item, None, wait_time) {
                return Err(std::iter::once(item).chain(items).collect());
            }
        }
        Ok(())
    }

    /// Puts `item`, waiting for the slot to empty until `deadline` (`None`: for as long as it
    /// takes). Hands the item back with the reason when the buffer is closed or the deadline
    /// passes first.
    #[inline]
    fn put_until(
        &self,
        item: T,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
    ) -> Result<(), (T, Refused)> {
        let (slot, outcome, waited) = wait_for(self, Side::Put, deadline);
        let outcome = match outcome {
            Ok(()) => {
                self.fill(slot, item);
                Ok(())
            }
            Err(refused) => {
                drop(slot);
                Err((item, refused))
            }
        };
        self.put_waits.add(waited, wait_time);
        outcome
    }

    /// Puts `item` if the slot is empty right now; `Refused::WouldBlock` if it is full.
    fn try_put(&self, item: T) -> Result<(), (T, Refused)> {
        let slot = self.lock();
        match self.done(Side::Put, &slot) {
            Some(Ok(())) => {
                self.fill(slot, item);
                Ok(())
            }
            Some(Err(refused)) => Err((item, refused)),
            None => Err((item, Refused::WouldBlock)),
        }
    }

    /// Takes the item with its number, waiting for one until `deadline` (`None`: for as long as
    /// it takes). `Refused::Closed` once the buffer is closed and empty.
    #[inline]
    fn get_until(
        &self,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
    ) -> Result<(usize, T), Refused> {
        let (slot, outcome, waited) = wait_for(self, Side::Get, deadline);
        let outcome = match outcome {
            Ok(()) => Ok(self.take(slot)),
            Err(refused) => {
                drop(slot);
                Err(refused)
            }
        };
        self.get_waits.add(waited, wait_time);
        outcome
    }

    /// Takes the item with its number if there is one right now; `Refused::WouldBlock` if the
    /// slot is empty.
    fn try_get(&self) -> Result<(usize, T), Refused> {
        let slot = self.lock();
        match self.done(Side::Get, &slot) {
            Some(Ok(())) => Ok(self.take(slot)),
            Some(Err(refused)) => Err(refused),
            None => Err(Refused::WouldBlock),
        }
    }

    /// A batch get: waits for the item as `wait` says (a slot of one holds no more), appends it
    /// to `out`, and returns its number as a range. `max == 0` takes nothing and waits for
    /// nothing.
    fn get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
        wait: Wait,
        wait_time: &mut Duration,
    ) -> Result<Range<usize>, Refused> {
        if max == 0 {
            let next = self.lock().got() as usize;
            return Ok(next..next);
        }
        let (number, item) = match wait {
            Wait::Never => self.try_get()?,
            Wait::Until(deadline) => self.get_until(deadline, wait_time)?,
        };
        out.push(item);
        Ok(number..number.wrapping_add(1))
    }

    /// Closes the buffer; `false` if it was closed already. Wakes every waiting thread: the
    /// producers to hand their items back, the consumers to take the item left or to return.
    fn close(&self) -> bool {
        let mut slot = self.lock();
        if slot.closed {
            return false;
        }
        slot.closed = true;
        let wake_getters = slot.getters.signal_all();
        let wake_putters = slot.putters.signal_all();
        self.publish(&slot);
        drop(slot);
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

    /// 1 if the slot holds an item as of the last unlock, 0 otherwise.
    fn len(&self) -> usize {
        self.line.state.load(Ordering::Acquire) & FULL
    }

    fn stats(&self) -> BufferStats {
        let (put_waits, put_wait_time) = self.put_waits.read();
        let (get_waits, get_wait_time) = self.get_waits.read();
        let slot = self.lock();
        BufferStats {
            capacity: 1,
            len: usize::from(slot.item.is_some()),
            high_water: usize::from(slot.put > 0),
            closed: slot.closed,
            producers_waiting: slot.putters.waiting(),
            consumers_waiting: slot.getters.waiting(),
            items_put: slot.put,
            items_got: slot.got(),
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
        let slot = self.lock();
        (slot.putters.waiting(), slot.getters.waiting())
    }

    #[cfg(test)]
    /// Whether the state word says exactly what the state under the lock says now.
    fn published_is_current(&self) -> bool {
        let slot = self.lock();
        self.line.state.load(Ordering::Relaxed) == slot.state()
    }
}

impl<T> OneLock for SlotBuffer<T> {
    type State = Slot<T>;

    /// See [`Waited`](crate::one_lock::Waited): here nearly every operation waits, so the wait is timed from its start.
    const TIMED_FROM_START: bool = true;

    #[inline]
    fn mutex(&self) -> &Mutex<Slot<T>> {
        &self.line.slot
    }

    #[inline]
    fn hint(&self, side: Side) -> (bool, bool) {
        let state = self.line.state.load(Ordering::Acquire);
        let full = state & FULL != 0;
        let ready = state & CLOSED != 0
            || match side {
                Side::Put => !full,
                Side::Get => full,
            };
        let other_waking = match side {
            Side::Put => GETTER_WAKING,
            Side::Get => PUTTER_WAKING,
        };
        (ready, state & other_waking != 0)
    }

    #[inline]
    fn done(&self, side: Side, slot: &Slot<T>) -> Option<Result<(), Refused>> {
        match side {
            Side::Put if slot.closed => Some(Err(Refused::Closed)),
            Side::Put if slot.item.is_none() => Some(Ok(())),
            Side::Get if slot.item.is_some() => Some(Ok(())),
            Side::Get if slot.closed => Some(Err(Refused::Closed)),
            _ => None,
        }
    }

    #[inline]
    fn waiters(side: Side, slot: &mut Slot<T>) -> &mut Waiters {
        match side {
            Side::Put => &mut slot.putters,
            Side::Get => &mut slot.getters,
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
    /// line the lock holder already has, so reading it back costs nothing and no copy is kept.
    #[inline]
    fn publish(&self, slot: &Slot<T>) {
        let state = slot.state();
        if state != self.line.state.load(Ordering::Relaxed) {
            self.line.state.store(state, Ordering::Release);
        }
    }
}
