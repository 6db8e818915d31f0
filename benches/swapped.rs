//! [`SwappedBuffer`]: the swapped queue of [`Handoff::SwappedQueue`](crate::Handoff::SwappedQueue) as a [`Buffer`], so that the roles of `pc-roles` can run over the fastest hand-off measured at small capacities, and their own cost be told apart from pc-buffer's.
//!
//! Not a buffer to use: its waits spin (yielding now and then) and never park, so a thread waiting
//! on it holds a core, and it keeps no statistics (its `_waited` operations add nothing). What it
//! keeps of a buffer's contract is what the roles rely on: first in, first out; at most `capacity`
//! items; `close` refuses later puts, handing their items back, and lets gets drain what is left;
//! timeouts end a wait.

use std::convert::Infallible;
use std::mem;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use pc_roles::{Buffer, BufferGetError, BufferPutError, BufferStats};

/// A `Mutex<Vec<T>>` with its length and the closed flag on the lock's cache line. A batch put
/// that fits into the empty queue swaps its `Vec` in, and a batch get that takes everything
/// into an empty `Vec` swaps the queue out, so no item moves under the lock; each side waits
/// by reading the length and locks once it says the side can go on.
#[repr(align(64))]
pub struct SwappedBuffer<T> {
    /// The queue's length; written under the lock, read without it.
    len: AtomicUsize,
    /// Set once, under the lock, by `close`.
    closed: AtomicBool,
    queue: Mutex<Vec<T>>,
    capacity: usize,
}

impl<T> SwappedBuffer<T> {
    /// An empty buffer of `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is zero.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "a buffer needs room for at least one item");
        Self {
            len: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            queue: Mutex::new(Vec::with_capacity(capacity)),
            capacity,
        }
    }

    /// Spins (yielding now and then) while `waiting()` and the buffer is open, until
    /// `deadline`; whether the deadline passed first.
    fn wait_while(&self, deadline: Option<Instant>, waiting: impl Fn(usize) -> bool) -> bool {
        let mut spins = 0u32;
        while waiting(self.len.load(Ordering::Acquire)) && !self.closed.load(Ordering::Acquire) {
            spins += 1;
            if spins.is_multiple_of(1024) {
                if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    return true;
                }
                thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        false
    }

    /// Puts all of `items`, a run at a time, waiting for room until `deadline`; hands back the
    /// items not put, with the reason.
    fn put_until(
        &self,
        items: &mut Vec<T>,
        deadline: Option<Instant>,
    ) -> Result<(), BufferPutError<Vec<T>, Infallible>> {
        while !items.is_empty() {
            let timed_out = self.wait_while(deadline, |len| len == self.capacity);
            let mut queue = self.queue.lock().expect("never poisoned");
            if self.closed.load(Ordering::Relaxed) {
                return Err(BufferPutError::Closed(mem::take(items)));
            }
            if queue.len() == self.capacity {
                if timed_out {
                    return Err(BufferPutError::Timeout(mem::take(items)));
                }
                continue;
            }
            if queue.is_empty() && items.len() <= self.capacity {
                mem::swap(&mut *queue, items);
            } else {
                let fits = (self.capacity - queue.len()).min(items.len());
                queue.extend(items.drain(..fits));
            }
            self.len.store(queue.len(), Ordering::Release);
        }
        Ok(())
    }

    /// Takes up to `max` items into `out`, waiting for one until `deadline`.
    fn get_until(
        &self,
        out: &mut Vec<T>,
        max: usize,
        deadline: Option<Instant>,
    ) -> Result<usize, BufferGetError<Infallible>> {
        loop {
            let timed_out = self.wait_while(deadline, |len| len == 0);
            let mut queue = self.queue.lock().expect("never poisoned");
            if queue.is_empty() {
                if self.closed.load(Ordering::Relaxed) {
                    return Err(BufferGetError::Closed);
                }
                if timed_out {
                    return Err(BufferGetError::Timeout);
                }
                continue;
            }
            let n = queue.len().min(max);
            if n == queue.len() && out.is_empty() {
                mem::swap(&mut *queue, out);
            } else {
                out.extend(queue.drain(..n));
            }
            self.len.store(queue.len(), Ordering::Release);
            return Ok(n);
        }
    }
}

impl<T> Buffer<T> for SwappedBuffer<T> {
    type TransportError = Infallible;

    fn put(&self, item: T) -> Result<(), BufferPutError<T, Infallible>> {
        self.put_until(&mut vec![item], None)
            .map_err(|err| err.map(|mut items| items.pop().expect("the one item")))
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), BufferPutError<T, Infallible>> {
        self.put_until(&mut vec![item], Instant::now().checked_add(timeout))
            .map_err(|err| err.map(|mut items| items.pop().expect("the one item")))
    }

    fn put_batch_from(&self, items: &mut Vec<T>) -> Result<(), BufferPutError<Vec<T>, Infallible>> {
        self.put_until(items, None)
    }

    fn get(&self) -> Result<T, BufferGetError<Infallible>> {
        let mut out = Vec::with_capacity(1);
        self.get_until(&mut out, 1, None)?;
        Ok(out.pop().expect("one item taken"))
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, BufferGetError<Infallible>> {
        let mut out = Vec::with_capacity(1);
        self.get_until(&mut out, 1, Instant::now().checked_add(timeout))?;
        Ok(out.pop().expect("one item taken"))
    }

    fn get_batch_into(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<usize, BufferGetError<Infallible>> {
        if max == 0 {
            return Ok(0);
        }
        self.get_until(out, max, None)
    }

    // The waits are not timed (no statistics are kept), so the `_waited` operations add
    // nothing: timing each call from outside, as the trait's defaults do, would put two clock
    // reads per batch on the roles over this buffer that the roles over pc-buffer do not pay.

    fn put_waited(&self, item: T, _: &mut Duration) -> Result<(), BufferPutError<T, Infallible>> {
        self.put(item)
    }

    fn put_batch_from_waited(
        &self,
        items: &mut Vec<T>,
        _: &mut Duration,
    ) -> Result<(), BufferPutError<Vec<T>, Infallible>> {
        self.put_batch_from(items)
    }

    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        _: &mut Duration,
    ) -> Result<usize, BufferGetError<Infallible>> {
        self.get_batch_into(out, max)
    }

    fn close(&self) -> Result<(), Infallible> {
        let _queue = self.queue.lock().expect("never poisoned");
        self.closed.store(true, Ordering::Release);
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    /// No statistics are kept: the capacity and the length, the rest zero.
    fn stats(&self) -> BufferStats {
        let mut stats = BufferStats::default();
        stats.capacity = self.capacity;
        stats.len = self.len();
        stats.closed = self.is_closed();
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_single_items_keep_their_order_across_swaps() {
        let buffer = SwappedBuffer::new(4);
        let received = thread::scope(|s| {
            s.spawn(|| {
                let mut batch = Vec::with_capacity(4);
                for round in 0..100u32 {
                    batch.extend(round * 10..round * 10 + 3);
                    buffer.put_batch_from(&mut batch).unwrap();
                    assert!(batch.is_empty());
                    buffer.put(round * 10 + 3).unwrap();
                }
                buffer.close().unwrap();
            });
            let (mut received, mut out) = (Vec::new(), Vec::new());
            while buffer.get_batch_into(&mut out, 3).is_ok() {
                assert!(out.len() <= 3);
                received.append(&mut out);
            }
            received
        });
        let expected: Vec<u32> = (0..100).flat_map(|r| r * 10..r * 10 + 4).collect();
        assert_eq!(received, expected);
    }

    #[test]
    fn close_hands_back_refused_items_and_lets_gets_drain() {
        let buffer = SwappedBuffer::new(2);
        buffer.put_batch_from(&mut vec![1, 2]).unwrap();
        assert_eq!(buffer.len(), 2);
        buffer.close().unwrap();
        let mut refused = vec![3, 4];
        match buffer.put_batch_from(&mut refused) {
            Err(BufferPutError::Closed(items)) => assert_eq!(items, [3, 4]),
            other => panic!("expected the closed error, got {other:?}"),
        }
        assert!(refused.is_empty());
        assert_eq!((buffer.get().ok(), buffer.get().ok()), (Some(1), Some(2)));
        assert!(matches!(buffer.get(), Err(BufferGetError::Closed)));
    }

    #[test]
    fn timeouts_end_a_wait_and_hand_the_item_back() {
        let buffer = SwappedBuffer::new(1);
        assert!(matches!(
            buffer.get_timeout(Duration::from_millis(1)),
            Err(BufferGetError::Timeout)
        ));
        buffer.put(7).unwrap();
        match buffer.put_timeout(8, Duration::from_millis(1)) {
            Err(BufferPutError::Timeout(item)) => assert_eq!(item, 8),
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert_eq!(buffer.stats().len, 1);
    }
}
