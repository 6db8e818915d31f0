//! The pipeline's job handed over by two spinning threads through minimal buffers, lock-free and locked: not peers, the bounds the hardware sets on a two-thread hand-off at a given capacity.
//!
//! At small capacities every hand-off is a round trip between the cores, whatever the buffer is
//! made of. The buffers here do nothing else: one producer, one consumer, no parking, no closing,
//! no callbacks, no counts beyond what the hand-off needs, and threads that spin instead of
//! sleeping. What they carry per second at capacity 1 and 16 is about the most a buffer of that
//! shape can carry between two threads on the machine, and the comparison runner prints it next
//! to `Pipeline::process`, so that its pipeline rows can be read against it.
//!
//! - [`Handoff::StampedRing`]: each slot has a cache line of its own with a stamp saying whether
//!   it is full, so an item and its "full" flag travel together: one line to the consumer and
//!   one back per item. Best at capacity 1.
//! - [`Handoff::CountedRing`]: a plain array of slots and two counters on lines of their own; the
//!   producer fills all the room it sees, then publishes its count, and the consumer takes all it
//!   sees: a few lines per run of items. Best at larger capacities.
//! - [`Handoff::LockedSlot`] (capacity 1 only): a `Mutex<Option<u64>>` and a "full" flag on one
//!   cache line; each side spins reading the flag, then locks. The lock, the item and the flag
//!   travel together.
//! - [`Handoff::LockedQueue`]: a `Mutex<VecDeque<u64>>` and its length on one cache line; each
//!   side spins reading the length, then locks and moves all it can. The items live in the
//!   queue's allocation, on lines of their own.
//! - [`Handoff::SwappedQueue`]: a `Mutex<Vec<u64>>` and its length on one cache line, as
//!   [`Handoff::LockedQueue`], but no item moves under the lock: the producer fills a `Vec` of
//!   its own while it waits and swaps it in when the queue is empty (or appends what fits), and
//!   the consumer swaps the whole queue out for its empty `Vec`. Each side then touches the
//!   items outside the lock, and a hand-over costs the lock's line alone.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::Tally;

/// Which minimal buffer carries the items (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// A lock-free ring with one cache line per slot, holding the item and its stamp.
    StampedRing,
    /// A lock-free ring: an array of slots, a put count and a taken count, each count on a cache
    /// line of its own.
    CountedRing,
    /// One item under a `Mutex`, with a "full" flag on the lock's cache line. Capacity 1 only.
    LockedSlot,
    /// A `Mutex<VecDeque>` with its length on the lock's cache line.
    LockedQueue,
    /// A `Mutex<Vec>` with its length on the lock's cache line, whose allocations the two sides
    /// swap instead of moving items under the lock.
    SwappedQueue,
}

/// One producer thread sends `0..n` as `u64`s through `handoff` of `capacity` to one consumer
/// thread, which collects them into a `Vec` (identity work): `pc_benches::pipeline` with one
/// consumer, handed over by spinning threads. Returns the time the job took, the check of the
/// output excluded, or `None` if `handoff` has no buffer of that capacity
/// ([`Handoff::LockedSlot`] beyond 1).
///
/// # Panics
///
/// If `capacity` is zero, or if the output is not `0..n` (count and sum).
pub fn spin_handoff(handoff: Handoff, capacity: usize, n: usize) -> Option<Duration> {
    let started = Instant::now();
    let out = hand_over(handoff, capacity, n)?;
    let elapsed = started.elapsed();
    Tally::of(&out).check(1, n);
    Some(elapsed)
}

/// Runs the job and returns what the consumer collected, in the order it took the items.
fn hand_over(handoff: Handoff, capacity: usize, n: usize) -> Option<Vec<u64>> {
    assert!(capacity > 0, "a buffer needs room for at least one item");
    let n = n as u64;
    Some(match handoff {
        Handoff::StampedRing => stamped_ring(capacity, n),
        Handoff::CountedRing => counted_ring(capacity, n),
        Handoff::LockedSlot if capacity == 1 => locked_slot(n),
        Handoff::LockedSlot => return None,
        Handoff::LockedQueue => locked_queue(capacity, n),
        Handoff::SwappedQueue => swapped_queue(capacity, n),
    })
}

/// Spins while `busy()`, with a yield now and then, so that a thread that shares its core with
/// the other side (a busy machine) lets it run instead of spinning out its time slice.
#[inline]
fn spin_while(mut busy: impl FnMut() -> bool) {
    let mut spins = 0u32;
    while busy() {
        spins += 1;
        if spins.is_multiple_of(1024) {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Runs `produce` on a thread of its own and `consume` on another; returns what `consume`
/// collected.
fn pair(produce: impl FnOnce() + Send, consume: impl FnOnce() -> Vec<u64> + Send) -> Vec<u64> {
    thread::scope(|s| {
        s.spawn(produce);
        s.spawn(consume)
            .join()
            .expect("the consumer does not panic")
    })
}

/// A slot of [`Handoff::StampedRing`], alone on its cache line.
#[repr(align(64))]
struct Slot {
    /// `2 * i`: empty, waiting for the `i`-th item; `2 * i + 1`: holds the `i`-th item. Two
    /// values per position, so that "full with item `i`" and "empty for item `i + capacity`"
    /// differ even at capacity 1.
    stamp: AtomicU64,
    item: AtomicU64,
}

fn stamped_ring(capacity: usize, n: u64) -> Vec<u64> {
    let cap = capacity as u64;
    let slots: Vec<Slot> = (0..cap)
        .map(|i| Slot {
            stamp: AtomicU64::new(2 * i),
            item: AtomicU64::new(0),
        })
        .collect();
    let slot = |i: u64| &slots[(i % cap) as usize];
    pair(
        || {
            for i in 0..n {
                let slot = slot(i);
                spin_while(|| slot.stamp.load(Ordering::Acquire) != 2 * i);
                slot.item.store(i, Ordering::Relaxed);
                // Release: the consumer that sees the stamp sees the item.
                slot.stamp.store(2 * i + 1, Ordering::Release);
            }
        },
        || {
            let mut out = Vec::with_capacity(n as usize);
            for i in 0..n {
                let slot = slot(i);
                spin_while(|| slot.stamp.load(Ordering::Acquire) != 2 * i + 1);
                out.push(slot.item.load(Ordering::Relaxed));
                // The slot now waits for the item one lap later.
                slot.stamp.store(2 * (i + cap), Ordering::Release);
            }
            out
        },
    )
}

/// A count of [`Handoff::CountedRing`], alone on its cache lines (two, against the
/// adjacent-line prefetcher).
#[repr(align(128))]
struct Count(AtomicU64);

/// The counted ring; the producer waits for `room` free slots and the consumer for a run of
/// `run` items (both at most what is left of the job) before they act.
fn counted_ring(capacity: usize, n: u64) -> Vec<u64> {
    let cap = capacity as u64;
    let slots: Vec<AtomicU64> = (0..cap).map(|_| AtomicU64::new(0)).collect();
    // Items put so far, and items taken so far.
    let (put, taken) = (Count(AtomicU64::new(0)), Count(AtomicU64::new(0)));
    pair(
        || {
            let (mut next, mut taken_seen) = (0, 0);
            while next < n {
                if next - taken_seen == cap {
                    // Full as last seen: read the taken count only now, so that while there is
                    // room its line stays with the consumer.
                    spin_while(|| {
                        taken_seen = taken.0.load(Ordering::Acquire);
                        next - taken_seen == cap
                    });
                }
                let end = (taken_seen + cap).min(n);
                for i in next..end {
                    slots[(i % cap) as usize].store(i, Ordering::Relaxed);
                }
                next = end;
                put.0.store(next, Ordering::Release);
            }
        },
        || {
            let mut out = Vec::with_capacity(n as usize);
            let mut next = 0;
            while next < n {
                let mut end = next;
                spin_while(|| {
                    end = put.0.load(Ordering::Acquire);
                    end == next
                });
                out.extend((next..end).map(|i| slots[(i % cap) as usize].load(Ordering::Relaxed)));
                next = end;
                taken.0.store(next, Ordering::Release);
            }
            out
        },
    )
}

/// [`Handoff::LockedSlot`]: the flag, the lock and the item on one cache line.
#[repr(align(64))]
struct LockedSlot {
    /// Whether `slot` holds an item; written under the lock, read without it.
    full: AtomicBool,
    slot: Mutex<Option<u64>>,
}

fn locked_slot(n: u64) -> Vec<u64> {
    let line = LockedSlot {
        full: AtomicBool::new(false),
        slot: Mutex::new(None),
    };
    let lock = || line.slot.lock().expect("never poisoned");
    pair(
        || {
            for i in 0..n {
                // The flag is a hint; the lock decides, so check the slot again under it.
                loop {
                    spin_while(|| line.full.load(Ordering::Acquire));
                    let mut slot = lock();
                    if slot.is_none() {
                        *slot = Some(i);
                        line.full.store(true, Ordering::Release);
                        break;
                    }
                }
            }
        },
        || {
            let mut out = Vec::with_capacity(n as usize);
            while (out.len() as u64) < n {
                spin_while(|| !line.full.load(Ordering::Acquire));
                if let Some(item) = lock().take() {
                    out.push(item);
                    line.full.store(false, Ordering::Release);
                }
            }
            out
        },
    )
}

/// [`Handoff::LockedQueue`]: the length and the lock on one cache line, the items in the
/// queue's allocation.
#[repr(align(64))]
struct LockedQueue {
    /// The queue's length; written under the lock, read without it.
    len: AtomicUsize,
    queue: Mutex<VecDeque<u64>>,
}

fn locked_queue(capacity: usize, n: u64) -> Vec<u64> {
    let line = LockedQueue {
        len: AtomicUsize::new(0),
        queue: Mutex::new(VecDeque::with_capacity(capacity)),
    };
    let lock = || line.queue.lock().expect("never poisoned");
    pair(
        || {
            let mut next = 0;
            while next < n {
                spin_while(|| line.len.load(Ordering::Acquire) == capacity);
                let mut queue = lock();
                while queue.len() < capacity && next < n {
                    queue.push_back(next);
                    next += 1;
                }
                line.len.store(queue.len(), Ordering::Release);
            }
        },
        || {
            let mut out = Vec::with_capacity(n as usize);
            while (out.len() as u64) < n {
                spin_while(|| line.len.load(Ordering::Acquire) == 0);
                let mut queue = lock();
                out.extend(queue.drain(..));
                line.len.store(0, Ordering::Release);
            }
            out
        },
    )
}

/// [`Handoff::SwappedQueue`]: the length and the lock on one cache line, the items in
/// allocations that change hands.
#[repr(align(64))]
struct SwappedQueue {
    /// The queue's length; written under the lock, read without it.
    len: AtomicUsize,
    queue: Mutex<Vec<u64>>,
}

fn swapped_queue(capacity: usize, n: u64) -> Vec<u64> {
    let line = SwappedQueue {
        len: AtomicUsize::new(0),
        queue: Mutex::new(Vec::with_capacity(capacity)),
    };
    let lock = || line.queue.lock().expect("never poisoned");
    pair(
        || {
            let (mut next, mut batch) = (0, Vec::with_capacity(capacity));
            while next < n || !batch.is_empty() {
                // Written into the producer's own allocation, before it waits.
                while batch.len() < capacity && next < n {
                    batch.push(next);
                    next += 1;
                }
                spin_while(|| line.len.load(Ordering::Acquire) == capacity);
                let mut queue = lock();
                if queue.is_empty() {
                    std::mem::swap(&mut *queue, &mut batch);
                } else {
                    let fits = (capacity - queue.len()).min(batch.len());
                    queue.extend(batch.drain(..fits));
                }
                line.len.store(queue.len(), Ordering::Release);
            }
        },
        || {
            let (mut out, mut taken) =
                (Vec::with_capacity(n as usize), Vec::with_capacity(capacity));
            while (out.len() as u64) < n {
                spin_while(|| line.len.load(Ordering::Acquire) == 0);
                {
                    let mut queue = lock();
                    std::mem::swap(&mut *queue, &mut taken);
                    line.len.store(0, Ordering::Release);
                }
                // Read outside the lock.
                out.extend_from_slice(&taken);
                taken.clear();
            }
            out
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Handoff; 5] = [
        Handoff::StampedRing,
        Handoff::CountedRing,
        Handoff::LockedSlot,
        Handoff::LockedQueue,
        Handoff::SwappedQueue,
    ];

    #[test]
    fn every_handoff_delivers_every_item_in_order() {
        for handoff in ALL {
            for capacity in [1, 2, 3, 16, 1024] {
                for n in [0, 1, 5, 10_007] {
                    let expected = (handoff != Handoff::LockedSlot || capacity == 1)
                        .then(|| (0..n as u64).collect::<Vec<_>>());
                    assert_eq!(
                        hand_over(handoff, capacity, n),
                        expected,
                        "{handoff:?}/{capacity}/{n}"
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "at least one item")]
    fn zero_capacity_is_refused() {
        hand_over(Handoff::CountedRing, 0, 10);
    }
}
