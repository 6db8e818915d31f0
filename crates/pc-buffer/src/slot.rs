//! [`SlotBuffer`]: the buffer of capacity 1, whose lock, item and the state waiting threads watch share one cache line.
//!
//! At capacity 1 every item is a round trip between a producer and a consumer, and what a round
//! trip costs is the number of cache lines that cross between the cores. Here the lock word,
//! the slot holding the item and a state word that threads backing off read without the lock
//! all sit on one line, so one line goes to the consumer and one comes back per item (the
//! two-lock layout of [`BoundedBuffer`](crate::BoundedBuffer) at larger capacities keeps the
//! lock, the queue's allocation and each count on lines of their own, which pays at larger
//! capacities and costs four lines per item at capacity 1). Measured in BENCHMARKS.md.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::backoff::back_off_lone;
use crate::lock::{Refused, lock, remaining, wait};
use crate::stats::BufferStats;
use crate::sync::{AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard};
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
    /// lock, next to the slot, they would put a second line on the way of every item, and
    /// measured 2.9x to 5.2x slower.
    put_waits: CachePadded<Waits>,
    get_waits: CachePadded<Waits>,
}

/// How many operations of one side waited, and for how long in all.
struct Waits {
    count: AtomicU64,
    nanos: AtomicU64,
}

impl Waits {
    fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
        }
    }

    /// Counts a wait that began at `started`, if it did.
    #[inline]
    fn add(&self, started: Option<Instant>) {
        if let Some(started) = started {
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            // Relaxed: the totals are statistics, read as a snapshot.
            self.count.fetch_add(1, Ordering::Relaxed);
            self.nanos.fetch_add(nanos, Ordering::Relaxed);
        }
    }

    fn read(&self) -> (u64, Duration) {
        let nanos = self.nanos.load(Ordering::Relaxed);
        (
            self.count.load(Ordering::Relaxed),
            Duration::from_nanos(nanos),
        )
    }
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
struct Slot<T> {
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

    /// Stores the state word if it changed; under the lock, before unlocking. Only the lock
    /// holder writes it, and it sits on the line the lock holder already has, so reading it back
    /// costs nothing and no copy is kept.
    #[inline]
    fn publish(&self, slot: &Slot<T>) {
        let state = slot.state();
        if state != self.line.state.load(Ordering::Relaxed) {
            self.line.state.store(state, Ordering::Release);
        }
    }

    /// Puts `item`, waiting for the slot to empty until `deadline` (`None`: for as long as it
    /// takes). Hands the item back with the reason when the buffer is closed or the deadline
    /// passes first.
    #[inline]
    pub(crate) fn put_until(&self, item: T, deadline: Option<Instant>) -> Result<(), (T, Refused)> {
        let (slot, outcome, started) = self.wait_for(Side::Put, deadline);
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
        self.put_waits.add(started);
        outcome
    }

    /// Puts `item` if the slot is empty right now; `Refused::WouldBlock` if it is full.
    pub(crate) fn try_put(&self, item: T) -> Result<(), (T, Refused)> {
        let slot = self.lock();
        match Side::Put.done(&slot) {
            Some(Ok(())) => {
                self.fill(slot, item);
                Ok(())
            }
            Some(Err(refused)) => Err((item, refused)),
            None => Err((item, Refused::WouldBlock)),
        }
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

    /// Takes the item with its number, waiting for one until `deadline` (`None`: for as long as
    /// it takes). `Refused::Closed` once the buffer is closed and empty.
    #[inline]
    pub(crate) fn get_until(&self, deadline: Option<Instant>) -> Result<(usize, T), Refused> {
        let (slot, outcome, started) = self.wait_for(Side::Get, deadline);
        let outcome = match outcome {
            Ok(()) => Ok(self.take(slot)),
            Err(refused) => {
                drop(slot);
                Err(refused)
            }
        };
        self.get_waits.add(started);
        outcome
    }

    /// Takes the item with its number if there is one right now; `Refused::WouldBlock` if the
    /// slot is empty.
    pub(crate) fn try_get(&self) -> Result<(usize, T), Refused> {
        let slot = self.lock();
        match Side::Get.done(&slot) {
            Some(Ok(())) => Ok(self.take(slot)),
            Some(Err(refused)) => Err(refused),
            None => Err(Refused::WouldBlock),
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

    /// Puts every item of `items`, one at a time (a batch cannot move more than one item into a
    /// slot of one). Hands back the items not put if the buffer is closed first.
    pub(crate) fn put_all(&self, mut items: impl Iterator<Item = T>) -> Result<(), Vec<T>> {
        while let Some(item) = items.next() {
            if let Err((item, _)) = self.put_until(item, None) {
                return Err(std::iter::once(item).chain(items).collect());
            }
        }
        Ok(())
    }

    /// A batch get: waits for the item (a slot of one holds no more), appends it to `out`, and
    /// returns its number as a range. `max == 0` takes nothing and waits for nothing.
    pub(crate) fn get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<Range<usize>, Refused> {
        if max == 0 {
            let next = self.lock().got() as usize;
            return Ok(next..next);
        }
        let (number, item) = self.get_until(None)?;
        out.push(item);
        Ok(number..number.wrapping_add(1))
    }

    /// Closes the buffer; `false` if it was closed already. Wakes every waiting thread: the
    /// producers to hand their items back, the consumers to take the item left or to return.
    pub(crate) fn close(&self) -> bool {
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

    pub(crate) fn is_closed(&self) -> bool {
        self.line.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// 1 if the slot holds an item as of the last unlock, 0 otherwise.
    pub(crate) fn len(&self) -> usize {
        self.line.state.load(Ordering::Acquire) & FULL
    }

    pub(crate) fn stats(&self) -> BufferStats {
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

    /// The lock, once `side` can proceed (`Ok`) or cannot ever, or not before `deadline`
    /// (`Err`), and when the thread began to wait if it did (the caller counts the wait after
    /// unlocking).
    #[inline]
    fn wait_for(
        &self,
        side: Side,
        deadline: Option<Instant>,
    ) -> (
        MutexGuard<'_, Slot<T>>,
        Result<(), Refused>,
        Option<Instant>,
    ) {
        // Lock only when the state word says this side can go on: taking the lock of a full
        // (empty) slot would take the line from the thread about to empty (fill) it.
        if side.ready(self.line.state.load(Ordering::Relaxed)) {
            let slot = self.lock();
            if let Some(done) = side.done(&slot) {
                return (slot, done, None);
            }
            return self.wait_for_slow(side, deadline, Some(slot));
        }
        self.wait_for_slow(side, deadline, None)
    }

    /// [`wait_for`](Self::wait_for) once `side` must wait: `slot` is the lock if the caller
    /// holds it, `None` if the state word said to wait (then back off first). Backs off once
    /// without the lock, then parks on the side's `Condvar`, as often as needed.
    #[cold]
    #[inline(never)]
    fn wait_for_slow<'a>(
        &'a self,
        side: Side,
        deadline: Option<Instant>,
        slot: Option<MutexGuard<'a, Slot<T>>>,
    ) -> (
        MutexGuard<'a, Slot<T>>,
        Result<(), Refused>,
        Option<Instant>,
    ) {
        let started = Instant::now();
        // Whether there is time to back off (for a wait with a deadline, whether it has not
        // passed yet).
        let time_left = || deadline.is_none_or(|deadline| Instant::now() < deadline);
        let mut backed_off = false;
        let mut slot = match slot {
            Some(slot) => slot,
            None => {
                if time_left() {
                    backed_off = true;
                    self.back_off(side);
                }
                self.lock()
            }
        };
        // A loop, not a single wait: returning from a wait does not mean this thread may
        // proceed. The wake-up may be spurious, or the item or room may have gone to a thread
        // that never waited. Only the check under the lock decides.
        let outcome = loop {
            if let Some(done) = side.done(&slot) {
                break done;
            }
            if !backed_off && time_left() {
                backed_off = true;
                drop(slot);
                self.back_off(side);
                slot = self.lock();
                continue;
            }
            let timeout = match remaining(deadline) {
                Ok(timeout) => timeout,
                Err(_) => break Err(Refused::TimedOut),
            };
            let condvar = match side {
                Side::Put => &self.not_full,
                Side::Get => &self.not_empty,
            };
            // Registered under the lock, after the check above: a thread that changes the slot
            // after this sees the count and notifies, and accounts for the thread it wakes
            // (`Waiters::signal`); this thread takes that signal off, or removes itself if it
            // woke for another reason (`Waiters::unregister`).
            side.waiters(&mut slot).register();
            slot = wait(condvar, slot, timeout);
            side.waiters(&mut slot).unregister();
            // This thread may have been the one a notifier counted as waking.
            self.publish(&slot);
            // Back off again before parking again: the slot may have been refilled (emptied)
            // by a thread that never waited, and will change again soon.
            backed_off = false;
        };
        (slot, outcome, Some(started))
    }

    /// Waits a little, without the lock, while the state word says `side` cannot proceed.
    fn back_off(&self, side: Side) {
        back_off_lone(|| {
            let state = self.line.state.load(Ordering::Acquire);
            (side.ready(state), state & side.other_waking() != 0)
        });
    }

    /// Panics while holding the lock, so that the tests can poison it.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn panic_while_locked(&self) {
        let _slot = self.lock();
        panic!("boom while holding the slot's lock");
    }

    /// Whether a panic while holding the lock has poisoned it.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_poisoned(&self) -> bool {
        self.line.slot.is_poisoned()
    }

    /// See `BoundedBuffer::wake_all_spuriously`.
    #[cfg(test)]
    pub(crate) fn wake_all_spuriously(&self) {
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    /// Threads counted as waiting on (the put side, the get side).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> (usize, usize) {
        let slot = self.lock();
        (slot.putters.waiting(), slot.getters.waiting())
    }

    /// Whether the state word says exactly what the state under the lock says now.
    #[cfg(test)]
    pub(crate) fn published_is_current(&self) -> bool {
        let slot = self.lock();
        self.line.state.load(Ordering::Relaxed) == slot.state()
    }
}

/// Which side of the slot a thread waits on.
#[derive(Clone, Copy)]
enum Side {
    /// A producer waiting for the slot to empty.
    Put,
    /// A consumer waiting for an item.
    Get,
}

impl Side {
    /// Whether the state word says this side can proceed, or never will (closed): the
    /// threads backing off stop backing off then.
    fn ready(self, state: usize) -> bool {
        let full = state & FULL != 0;
        state & CLOSED != 0
            || match self {
                Side::Put => !full,
                Side::Get => full,
            }
    }

    /// Whether this side can proceed (`Ok`) or never will (`Err(Closed)`); `None` to wait.
    fn done<T>(self, slot: &Slot<T>) -> Option<Result<(), Refused>> {
        match self {
            Side::Put if slot.closed => Some(Err(Refused::Closed)),
            Side::Put if slot.item.is_none() => Some(Ok(())),
            Side::Get if slot.item.is_some() => Some(Ok(())),
            Side::Get if slot.closed => Some(Err(Refused::Closed)),
            _ => None,
        }
    }

    /// The bit saying a thread of the other side was notified and is waking up.
    fn other_waking(self) -> usize {
        match self {
            Side::Put => GETTER_WAKING,
            Side::Get => PUTTER_WAKING,
        }
    }

    fn waiters<T>(self, slot: &mut Slot<T>) -> &mut Waiters {
        match self {
            Side::Put => &mut slot.putters,
            Side::Get => &mut slot.getters,
        }
    }
}
