//! [`HalvesBuffer`]: the buffer of capacity 2 and more, a queue split in two halves behind two `Mutex`es, the front for consumers and the back for producers, with a `Condvar` for producers waiting for room and one for consumers waiting for items.
//!
//! Producers append to the back queue under the back lock; consumers take from the front queue
//! under the front lock, and a consumer that finds the front empty moves the whole back queue
//! there in one swap, holding both locks (front first, then back). The count of items put and
//! the count of items taken are published in atomics on lines of their own, so that each side
//! sees the other's progress without taking its lock. The user-facing description is on
//! [`BoundedBuffer`](crate::BoundedBuffer), which hands every operation to this type or, at
//! capacity 1, to [`SlotBuffer`](crate::slot::SlotBuffer).

use std::collections::VecDeque;
use std::mem;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::backoff::{Spinners, back_off};
use crate::layout::Layout;
use crate::lock::{Condvar, Refused, Wait, Wake, lock, remaining};
use crate::one_lock::Side;
use crate::stats::BufferStats;
use crate::sync::{AtomicBool, AtomicUsize, DELAYS, Mutex, MutexGuard, spin_loop, try_lock};
use crate::waiters::Waiters;

/// The queue never preallocates room for more than this many items, so that a huge capacity
/// used as "practically unbounded" does not reserve memory up front.
const MAX_PREALLOCATED: usize = 4096;

/// The fewest pauses a consumer waits when it comes to move the back's items to the front and
/// finds a producer holding the back lock (see [`HalvesBuffer::lock_back_to_refill`]); the three
/// bounds are BENCHMARKS.md's "Refill pauses".
pub(crate) const REFILL_PAUSES_MIN: usize = 16;

/// The most pauses that consumer waits below capacity 256, where a quarter of the capacity
/// takes over (see [`HalvesBuffer::refill_pauses`]).
const REFILL_PAUSES_SMALL: usize = 64;

/// The most pauses that consumer waits, at any capacity.
pub(crate) const REFILL_PAUSES_MAX: usize = 256;

/// The two-lock buffer (see the module docs).
pub(crate) struct HalvesBuffer<T> {
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
}

/// Flags read without a lock, each written under one lock and only when it changes. Only a
/// hint for threads backing off, except `closed`, which a producer about to park reads under
/// the front lock (see [`HalvesBuffer::close`] for why that is enough).
struct Flags {
    /// Set once, under the back lock, by [`HalvesBuffer::close`].
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
/// waits. A consumer that moves the back's items here writes the first line of [`Back`], never
/// the line producers only read.
#[repr(C)]
pub(crate) struct Front<T> {
    queue: VecDeque<T>,
    /// Items taken so far: the next item taken leaves numbered `got as usize`. Exact under the
    /// front lock. A `u64`, so that it is also the exact total for [`BufferStats`] on 32-bit
    /// targets, with no second counter to write on every take.
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
    /// `HalvesBuffer::got` as this side last read it. Items are only ever taken, so
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

impl<T> HalvesBuffer<T> {
    /// An empty buffer of `capacity` items (at least 2: capacity 1 is the slot's).
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity >= 2);
        let keep = capacity.min(MAX_PREALLOCATED);
        Self {
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
        }
    }

    /// Puts every item of `items`, a run at a time, waiting for room as often as needed; on
    /// close hands back the items not put.
    pub(crate) fn put_all(
        &self,
        mut items: impl ExactSizeIterator<Item = T>,
        wait_time: &mut Duration,
    ) -> Result<(), Vec<T>> {
        while items.len() > 0 {
            let Ok(mut back) = self.back_with_room(None, wait_time) else {
                return Err(items.collect());
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

    /// The room the queues keep allocated: what a swap of allocations must leave them.
    #[inline]
    fn kept(&self) -> usize {
        self.capacity.min(MAX_PREALLOCATED)
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
    /// nor do batch gets, which take what is there: a batch is already the long run the wait is for.
    #[inline]
    fn refill(&self, front: &mut Front<T>, patient: bool) -> Result<(), Option<Refused>> {
        debug_assert!(front.queue.is_empty());
        let mut back = if patient {
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
    /// [`lock_back_to_refill`](Self::lock_back_to_refill)): twice the capacity, between
    /// [`REFILL_PAUSES_MIN`] and [`REFILL_PAUSES_SMALL`], and from capacity 256 on a quarter of
    /// it, [`REFILL_PAUSES_MAX`] at most. So 16 pauses up to capacity 8, 32 at 16, 64 from 32
    /// to 256, 256 from 1024. The larger the buffer, the longer the run a producer can add
    /// before it fills the buffer and has to stop, so the longer a consumer can wait without
    /// holding a producer up.
    #[inline]
    pub(crate) fn refill_pauses(&self) -> usize {
        let small = self
            .capacity
            .saturating_mul(2)
            .clamp(REFILL_PAUSES_MIN, REFILL_PAUSES_SMALL);
        let large = (self.capacity / 4).min(REFILL_PAUSES_MAX);
        small.max(large)
    }

    /// The back lock, for a consumer that found the front empty and will wait for items anyway.
    ///
    /// If a producer holds the lock, it is putting right now and more items are on the way: the
    /// consumer waits [`refill_pauses`](Self::refill_pauses) pauses before it takes the lock as
    /// usual. Taking it at once would move a short run and take the lock's cache line away from the
    /// producer in the middle of its stream: the lock's own retries come after 1, 2, 4 and 8
    /// pauses, each one a compare-and-swap that pulls the line over while the producer still holds
    /// it. A consumer that keeps up with a producer would then come back every few items, each time
    /// costing the producer a miss on its lock and on a fresh set of item lines. Too long a wait
    /// costs instead: the producers fill a small buffer meanwhile and have to stop, so the wait
    /// grows with the capacity (BENCHMARKS.md, "Refill pauses"). A consumer of a sparse stream rarely finds
    /// the lock held, and then waits no longer than this. The wait is never a condition: the refill
    /// takes whatever the back holds after it. It holds the front lock meanwhile, on purpose: other
    /// consumers would find the front empty too and go for the same back lock, and the run this one
    /// moves is theirs to take as well.
    #[inline]
    fn lock_back_to_refill(&self) -> MutexGuard<'_, Back<T>> {
        if let Some(back) = try_lock(&self.back) {
            return back;
        }
        // A delay that decides nothing: none under loom (see `sync`), where `try_lock` never
        // takes the lock either.
        if DELAYS {
            for _ in 0..self.refill_pauses() {
                spin_loop();
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
        wait_time: &mut Duration,
    ) -> Result<MutexGuard<'_, Back<T>>, Refused> {
        let mut back = self.lock_back();
        if !back.closed && self.room(&mut back) > 0 {
            return Ok(back);
        }
        self.back_with_room_slow(back, deadline, wait_time)
    }

    /// [`back_with_room`](Self::back_with_room) once the buffer is full or closed: back off,
    /// then park on `not_full` under the front lock, as often as needed.
    #[cold]
    #[inline(never)]
    fn back_with_room_slow<'a>(
        &'a self,
        mut back: MutexGuard<'a, Back<T>>,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
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
        let waited = started.elapsed();
        back.put_waits += 1;
        back.put_wait_time += waited;
        *wait_time += waited;
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
        let mut front = self.not_full.wait(&self.front, front, timeout);
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
        wait_time: &mut Duration,
    ) -> Result<MutexGuard<'_, Front<T>>, Refused> {
        let mut front = self.lock_front();
        // An empty front takes the back's items right here: one more lock, no call, no clock.
        if front.queue.is_empty() {
            if let Err(found) = self.refill(&mut front, deadline.is_none()) {
                return self.front_with_items_slow(front, found, deadline, wait_time);
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
        wait_time: &mut Duration,
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
            let waited = started.elapsed();
            front.get_waits += 1;
            front.get_wait_time += waited;
            *wait_time += waited;
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
        let mut back = self.not_empty.wait(&self.back, back, timeout);
        back.getters.unregister();
        self.publish_back(&mut back);
        Wake::Woken
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

    /// Whether a thread holds the (front, back) lock right now.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn locks_held(&self) -> (bool, bool) {
        (self.front.is_locked(), self.back.is_locked())
    }
}

impl<T> Layout<T> for HalvesBuffer<T> {
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
        match self.back_with_room(deadline, wait_time) {
            Ok(back) => {
                self.push(back, item);
                Ok(())
            }
            Err(refused) => Err((item, refused)),
        }
    }

    /// Puts `item` if there is room right now; `Refused::WouldBlock` if the buffer is full.
    fn try_put(&self, item: T) -> Result<(), (T, Refused)> {
        let mut back = self.lock_back();
        if back.closed {
            return Err((item, Refused::Closed));
        }
        if self.room(&mut back) == 0 {
            return Err((item, Refused::WouldBlock));
        }
        self.push(back, item);
        Ok(())
    }

    /// Puts every item of `items`, as [`put_all`](Self::put_all) does, and leaves `items` empty
    /// with at least its capacity; on close hands back the items not put.
    ///
    /// When the back queue is empty and the whole batch fits, the batch's `Vec` becomes the back
    /// queue and `items` gets the queue's empty allocation, as a batch get that takes everything
    /// swaps with its `Vec`. The critical section then moves no item, and the items' cache lines
    /// were written by the producer before it took the lock: copied in under the lock, they would
    /// be written into the allocation a consumer last read, one miss per line while every other
    /// thread waits for the lock (BENCHMARKS.md, "Batch swaps"). The swap needs an allocation
    /// from `items` at least as large as the one the queue keeps, so that later puts do not
    /// allocate under the lock, and one from the queue at least as large as `items`', so that the
    /// caller gets back what it gave.
    ///
    /// When the swap does not apply, the first run goes in under the lock already held, and the
    /// rest through [`put_all`](Self::put_all).
    fn put_from(&self, items: &mut Vec<T>, wait_time: &mut Duration) -> Result<(), Vec<T>> {
        if items.is_empty() {
            // Nothing to deliver, so nothing to refuse, closed or not (as `put_all`).
            return Ok(());
        }
        let Ok(mut back) = self.back_with_room(None, wait_time) else {
            #[expect(
                clippy::drain_collect,
                reason = "`items` keeps its allocation for the caller, as on every other path"
            )]
            let rest = items.drain(..).collect();
            return Err(rest);
        };
        let room = self.room(&mut back);
        if items.len() <= room
            && back.queue.is_empty()
            && items.capacity() >= self.kept()
            && back.queue.capacity() >= items.capacity()
        {
            let n = items.len();
            // The back is empty, so the batch is the whole back queue, in order.
            let empty = mem::replace(&mut back.queue, VecDeque::from(mem::take(items)));
            self.count_put(back, n);
            // Free: the deque is empty.
            *items = Vec::from(empty);
            return Ok(());
        }
        let mut rest = items.drain(..);
        let pushed = rest.len().min(room);
        back.queue.extend(rest.by_ref().take(pushed));
        self.count_put(back, pushed);
        self.put_all(rest, wait_time)
    }

    /// Takes the front item with its number, waiting for one until `deadline` (`None`: for
    /// as long as it takes). `Refused::Closed` once the buffer is closed and empty.
    #[inline]
    fn get_until(
        &self,
        deadline: Option<Instant>,
        wait_time: &mut Duration,
    ) -> Result<(usize, T), Refused> {
        self.front_with_items(deadline, wait_time)
            .map(|front| self.pop(front))
    }

    /// Takes the front item with its number if there is one right now;
    /// `Refused::WouldBlock` if the buffer is empty.
    fn try_get(&self) -> Result<(usize, T), Refused> {
        let mut front = self.lock_front();
        if front.queue.is_empty() {
            if let Err(found) = self.refill(&mut front, false) {
                return Err(found.unwrap_or(Refused::WouldBlock));
            }
        }
        Ok(self.pop(front))
    }

    /// A batch get: appends up to `max` items to `out`, waiting as `wait` says while the buffer
    /// is empty, and returns their numbers. `max == 0` takes nothing and waits for nothing. See
    /// [`BoundedBuffer::get_batch_into`](crate::BoundedBuffer::get_batch_into) for when the
    /// allocations are swapped.
    fn get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
        wait: Wait,
        wait_time: &mut Duration,
    ) -> Result<Range<usize>, Refused> {
        if max == 0 {
            let next = self.got.load(Ordering::Acquire);
            return Ok(next..next);
        }
        // The queues' own allocation: a batch that takes everything swaps it for `out`'s when
        // `out` is empty and at least this large, so that later puts still find room without
        // allocating under a lock.
        let keep = self.kept();
        // Make room in `out` before taking the lock, so that the critical section is the queue
        // operation alone and not an allocation (a batch never exceeds the capacity).
        out.reserve(max.min(keep));
        let mut front = self.lock_front();
        if front.queue.len() < max {
            // Short of a full batch: top it up from the back, so a batch takes all it can.
            if let Err(found) = self.top_up(&mut front, max) {
                let Wait::Until(deadline) = wait else {
                    return Err(found.unwrap_or(Refused::WouldBlock));
                };
                front = self.front_with_items_slow(front, found, deadline, wait_time)?;
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

    /// Closes the buffer; `false` if it was closed already. Wakes every waiting thread.
    fn close(&self) -> bool {
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
    fn is_closed(&self) -> bool {
        self.flags.closed.load(Ordering::SeqCst)
    }

    /// The number of items in the buffer, as the published counts say.
    fn len(&self) -> usize {
        // Taken first, then put: every item counted in `got` was counted in `put` before it
        // could be taken, so the difference never goes below zero. It may exceed the capacity
        // if puts land in between, hence the `min`.
        let got = self.got.load(Ordering::Acquire);
        let put = self.put.load(Ordering::Acquire);
        put.wrapping_sub(got).min(self.capacity)
    }

    /// A snapshot of the counters, exact: taken under both locks.
    fn stats(&self) -> BufferStats {
        let front = self.lock_front();
        let back = self.lock_back();
        BufferStats {
            capacity: self.capacity,
            len: (back.put - front.got) as usize,
            high_water: back.high_water,
            closed: back.closed,
            producers_waiting: front.putters.waiting(),
            consumers_waiting: back.getters.waiting(),
            items_put: back.put,
            items_got: front.got,
            put_waits: back.put_waits,
            put_wait_time: back.put_wait_time,
            get_waits: front.get_waits,
            get_wait_time: front.get_wait_time,
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
        let front = self.lock_front();
        let back = self.lock_back();
        (front.putters.waiting(), back.getters.waiting())
    }

    #[cfg(test)]
    /// Whether the published counts and flags say exactly what the state says now.
    fn published_is_current(&self) -> bool {
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
}
