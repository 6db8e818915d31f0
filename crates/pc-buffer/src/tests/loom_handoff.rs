//! Loom models of items passing through a tiny buffer, in each of its layouts: FIFO hand-off and no lost wake-up with two producers.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{Make, assert_consistent, drain, model};
use crate::{BoundedBuffer, GetError};

/// One producer hands `capacity + 2` items to one consumer: the last puts have to wait for the
/// consumer, and the consumer for the producer. Every item arrives, in order.
fn handoff_is_fifo_and_lossless(capacity: usize, make: Make<usize>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        let items: Vec<usize> = (0..capacity + 2).collect();
        let producer = {
            let buffer = buffer.clone();
            let items = items.clone();
            thread::spawn(move || {
                for item in items {
                    buffer.put(item).unwrap();
                }
                buffer.close();
            })
        };
        let received = drain(&buffer);
        producer.join().unwrap();
        assert_eq!(received, items);
        assert_eq!(buffer.get(), Err(GetError));
        assert_consistent(&buffer);
    });
}

#[test]
fn capacity_one_handoff_is_fifo_and_lossless() {
    handoff_is_fifo_and_lossless(1, BoundedBuffer::new);
}

#[test]
fn two_lock_handoff_is_fifo_and_lossless() {
    handoff_is_fifo_and_lossless(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn batched_handoff_is_fifo_and_lossless() {
    handoff_is_fifo_and_lossless(2, BoundedBuffer::for_batches);
}

/// Two producers compete for room while one consumer takes exactly as many items as they put,
/// without close: a lost wake-up on either side leaves a thread blocked forever, which loom
/// reports as a deadlock. Each producer puts two items, so that at capacity 1 and 2 either may
/// have to wait.
fn two_producers_one_consumer(capacity: usize, make: Make<usize>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        let mine = |first: usize| -> Vec<usize> { vec![first, first + 1] };
        let producers: Vec<_> = [mine(0), mine(10)]
            .into_iter()
            .map(|items| {
                let buffer = buffer.clone();
                thread::spawn(move || {
                    for item in items {
                        buffer.put(item).unwrap();
                    }
                })
            })
            .collect();
        let received: Vec<usize> = (0..4).map(|_| buffer.get().unwrap()).collect();
        for producer in producers {
            producer.join().unwrap();
        }
        // Each producer's items arrive in the order it put them.
        let from = |small: bool| -> Vec<usize> {
            received
                .iter()
                .copied()
                .filter(|&i| (i < 10) == small)
                .collect()
        };
        assert_eq!(from(true), mine(0));
        assert_eq!(from(false), mine(10));
        assert!(buffer.is_empty());
        assert_consistent(&buffer);
    });
}

#[test]
fn two_producers_one_consumer_capacity_one_no_lost_wakeup() {
    two_producers_one_consumer(1, BoundedBuffer::new);
}

#[test]
fn two_producers_one_consumer_two_locks_no_lost_wakeup() {
    two_producers_one_consumer(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn two_producers_one_consumer_batched_no_lost_wakeup() {
    two_producers_one_consumer(2, BoundedBuffer::for_batches);
}
