//! Workloads shared by the criterion benches: each moves a known set of `usize` items through a bounded queue and checks what arrived, so a fast wrong queue cannot win.
//!
//! Every workload returns a [`Tally`] of what the consumers received and panics if it differs
//! from what the producers sent.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::mpsc;
use std::thread;

use pc_buffer::BoundedBuffer;

/// What the consumers of a workload received: how many items and their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Items received.
    pub count: usize,
    /// Sum of the items received (wrapping).
    pub sum: usize,
}

impl Tally {
    /// The tally of `0..n` spread over `producers` producers that each send `0..n / producers`.
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

    /// Adds another consumer's tally.
    pub fn merge(mut self, other: Tally) -> Self {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self
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

/// One thread puts `n` items then gets them, in chunks of `capacity`.
pub fn seq_buffer(capacity: usize, n: usize) -> Tally {
    let buffer = BoundedBuffer::new(capacity).unwrap();
    let mut tally = Tally::default();
    let mut next = 0;
    while next < n {
        let end = (next + capacity).min(n);
        for i in next..end {
            buffer.put(i).unwrap();
        }
        for _ in next..end {
            tally.add(buffer.get().unwrap());
        }
        next = end;
    }
    tally.check(1, n)
}

/// [`seq_buffer`] for std's `sync_channel`.
pub fn seq_sync_channel(capacity: usize, n: usize) -> Tally {
    let (tx, rx) = mpsc::sync_channel(capacity);
    let mut tally = Tally::default();
    let mut next = 0;
    while next < n {
        let end = (next + capacity).min(n);
        for i in next..end {
            tx.send(i).unwrap();
        }
        for _ in next..end {
            tally.add(rx.recv().unwrap());
        }
        next = end;
    }
    tally.check(1, n)
}

/// `producers` threads put `n` items in all into one buffer, one consumer thread (the caller)
/// takes them.
pub fn mpsc_buffer(capacity: usize, producers: usize, n: usize) -> Tally {
    let buffer = BoundedBuffer::new(capacity).unwrap();
    let per = n / producers;
    thread::scope(|s| {
        for _ in 0..producers {
            s.spawn(|| {
                for i in 0..per {
                    buffer.put(i).unwrap();
                }
            });
        }
        let mut tally = Tally::default();
        for _ in 0..per * producers {
            tally.add(buffer.get().unwrap());
        }
        tally
    })
    .check(producers, n)
}

/// [`mpsc_buffer`] for std's `sync_channel`.
pub fn mpsc_sync_channel(capacity: usize, producers: usize, n: usize) -> Tally {
    let (tx, rx) = mpsc::sync_channel(capacity);
    let per = n / producers;
    thread::scope(|s| {
        for _ in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    tx.send(i).unwrap();
                }
            });
        }
        drop(tx);
        let mut tally = Tally::default();
        for item in rx {
            tally.add(item);
        }
        tally
    })
    .check(producers, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_deliver_everything() {
        for capacity in [1, 16, 1024] {
            assert_eq!(seq_buffer(capacity, 5000), Tally::expected(1, 5000));
            assert_eq!(seq_sync_channel(capacity, 5000), Tally::expected(1, 5000));
            for producers in [1, 4] {
                assert_eq!(mpsc_buffer(capacity, producers, 4000).count, 4000);
                assert_eq!(mpsc_sync_channel(capacity, producers, 4000).count, 4000);
            }
        }
    }

    #[test]
    #[should_panic(expected = "items lost or corrupted")]
    fn a_missing_item_is_caught() {
        let mut tally = Tally::expected(1, 10);
        tally.count -= 1;
        tally.check(1, 10);
    }
}
