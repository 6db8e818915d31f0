//! Workloads shared by the criterion benches: each moves a known set of `usize` items through a bounded queue and checks what arrived, so a fast wrong queue cannot win.
//!
//! A workload is written once, generic over [`Queue`]; each implementation under comparison
//! (pc-buffer and its peers) implements that trait. Every workload returns a [`Tally`] of what
//! the consumer received and panics if it differs from what the producers sent.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::{Arc, mpsc};
use std::thread;

use pc_buffer::BoundedBuffer;

/// A bounded queue under measurement, seen through its producer and consumer handles.
pub trait Queue {
    /// What the benches call it.
    const NAME: &'static str;
    /// The producer's handle; cloned for each producer thread.
    type Sender: Clone + Send;
    /// The consumer's handle.
    type Receiver: Send;

    /// A queue that holds at most `capacity` items.
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver);
    /// Puts `item`, blocking while the queue is full.
    fn put(tx: &Self::Sender, item: usize);
    /// Takes an item, blocking while the queue is empty.
    fn get(rx: &Self::Receiver) -> usize;
}

/// pc-buffer's [`BoundedBuffer`], shared by both sides through an `Arc`.
pub enum PcBuffer {}

impl Queue for PcBuffer {
    const NAME: &'static str = "pc-buffer";
    type Sender = Arc<BoundedBuffer<usize>>;
    type Receiver = Arc<BoundedBuffer<usize>>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let buffer = Arc::new(BoundedBuffer::new(capacity).expect("capacity is not zero"));
        (Arc::clone(&buffer), buffer)
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.put(item).expect("buffer is open");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> usize {
        rx.get().expect("buffer is open")
    }
}

/// std's `sync_channel`.
pub enum StdSyncChannel {}

impl Queue for StdSyncChannel {
    const NAME: &'static str = "std-sync_channel";
    type Sender = mpsc::SyncSender<usize>;
    type Receiver = mpsc::Receiver<usize>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        mpsc::sync_channel(capacity)
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.send(item).expect("receiver is alive");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> usize {
        rx.recv().expect("a sender is alive")
    }
}

/// What the consumers of a workload received: how many items and their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Items received.
    pub count: usize,
    /// Sum of the items received (wrapping).
    pub sum: usize,
}

impl Tally {
    /// The tally of `producers` producers that each send `0..n / producers`.
    pub fn expected(producers: usize, n: usize) -> Self {
        let per = n / producers;
        Self {
            count: per * producers,
            sum: producers.wrapping_mul(per * per.saturating_sub(1) / 2),
        }
    }

    /// Counts one received item.
    #[inline]
    pub fn add(&mut self, item: usize) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(item);
    }

    /// Panics unless this tally is what `producers` producers sending `n` items in all produce.
    pub fn check(self, producers: usize, n: usize) -> Self {
        assert_eq!(
            self,
            Self::expected(producers, n),
            "items lost or corrupted"
        );
        self
    }
}

/// A shape of traffic through a queue; [`run`](Self::run) moves `n` items through a `Q` of a
/// given capacity that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// One thread puts, then gets, in chunks of the capacity ([`seq`]).
    Seq,
    /// This many producer threads feed one consumer ([`producers_to_one`]).
    ProducersToOne(usize),
}

impl Workload {
    /// The workloads the benches measure, with their names.
    pub const ALL: [(&'static str, Workload); 3] = [
        ("seq", Workload::Seq),
        ("spsc", Workload::ProducersToOne(1)),
        ("mpsc", Workload::ProducersToOne(4)),
    ];

    /// Moves `n` items through a `Q` of `capacity` and returns the checked tally.
    pub fn run<Q: Queue>(self, capacity: usize, n: usize) -> Tally {
        match self {
            Workload::Seq => seq::<Q>(capacity, n),
            Workload::ProducersToOne(producers) => producers_to_one::<Q>(capacity, producers, n),
        }
    }
}

/// One thread puts `n` items then gets them, in chunks of `capacity`.
pub fn seq<Q: Queue>(capacity: usize, n: usize) -> Tally {
    let (tx, rx) = Q::bounded(capacity);
    let mut tally = Tally::default();
    let mut next = 0;
    while next < n {
        let end = (next + capacity).min(n);
        for i in next..end {
            Q::put(&tx, i);
        }
        for _ in next..end {
            tally.add(Q::get(&rx));
        }
        next = end;
    }
    tally.check(1, n)
}

/// `producers` threads put `n` items in all, one consumer (the calling thread) takes them.
pub fn producers_to_one<Q: Queue>(capacity: usize, producers: usize, n: usize) -> Tally {
    let (tx, rx) = Q::bounded(capacity);
    let per = n / producers;
    thread::scope(|s| {
        for _ in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    Q::put(&tx, i);
                }
            });
        }
        drop(tx);
        let mut tally = Tally::default();
        for _ in 0..per * producers {
            tally.add(Q::get(&rx));
        }
        tally
    })
    .check(producers, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_workloads<Q: Queue>() {
        for capacity in [1, 16, 1024] {
            for (_, workload) in Workload::ALL {
                let producers = match workload {
                    Workload::Seq => 1,
                    Workload::ProducersToOne(producers) => producers,
                };
                assert_eq!(
                    workload.run::<Q>(capacity, 4000),
                    Tally::expected(producers, 4000)
                );
            }
        }
    }

    #[test]
    fn pc_buffer_workloads_deliver_everything() {
        all_workloads::<PcBuffer>();
    }

    #[test]
    fn std_workloads_deliver_everything() {
        all_workloads::<StdSyncChannel>();
    }

    #[test]
    #[should_panic(expected = "items lost or corrupted")]
    fn a_missing_item_is_caught() {
        let mut tally = Tally::expected(1, 10);
        tally.count -= 1;
        tally.check(1, 10);
    }
}
