//! Loom models of close: consumers drain everything exactly once, and close wakes every blocked producer and consumer, in each layout of the buffer.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{Make, assert_consistent, drain, model};
use crate::{BoundedBuffer, GetError, PutError};

/// One producer, two consumers, close after `capacity + 1` items (so that the producer may have
/// to wait too): every item is delivered to exactly one consumer and both consumers return once
/// the buffer is closed and drained.
fn one_producer_two_consumers_with_close(capacity: usize, make: Make<usize>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let buffer = buffer.clone();
                thread::spawn(move || drain(&buffer))
            })
            .collect();
        let items: Vec<usize> = (1..=capacity + 1).collect();
        for &item in &items {
            buffer.put(item).unwrap();
        }
        buffer.close();
        let mut all: Vec<usize> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, items);
        assert_consistent(&buffer);
    });
}

#[test]
fn one_producer_two_consumers_with_close_deliver_each_item_once() {
    one_producer_two_consumers_with_close(1, BoundedBuffer::new);
}

#[test]
fn one_producer_two_consumers_with_close_deliver_each_item_once_two_locks() {
    one_producer_two_consumers_with_close(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn one_producer_two_consumers_with_close_deliver_each_item_once_batched() {
    one_producer_two_consumers_with_close(2, BoundedBuffer::for_batches);
}

/// A producer blocked on a full buffer is woken by close and gets its item back; the items that
/// were already in the buffer are still delivered, in order.
fn close_wakes_blocked_producer(capacity: usize, make: Make<usize>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        buffer.put_batch((0..capacity).collect()).unwrap();
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || buffer.put(10))
        };
        buffer.close();
        assert_eq!(producer.join().unwrap(), Err(PutError::Closed(10)));
        for item in 0..capacity {
            assert_eq!(buffer.get(), Ok(item));
        }
        assert_eq!(buffer.get(), Err(GetError));
        assert_consistent(&buffer);
    });
}

#[test]
fn close_wakes_blocked_producer_and_hands_item_back() {
    close_wakes_blocked_producer(1, BoundedBuffer::new);
}

#[test]
fn close_wakes_blocked_producer_and_hands_item_back_two_locks() {
    close_wakes_blocked_producer(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn close_wakes_blocked_producer_and_hands_item_back_batched() {
    close_wakes_blocked_producer(2, BoundedBuffer::for_batches);
}

/// Two consumers blocked on an empty buffer are both woken by close (one `notify_one` would
/// leave the other blocked forever).
fn close_wakes_blocked_consumers(capacity: usize, make: Make<i32>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let buffer = buffer.clone();
                thread::spawn(move || drain(&buffer))
            })
            .collect();
        buffer.close();
        for consumer in consumers {
            assert_eq!(consumer.join().unwrap(), Vec::<i32>::new());
        }
        assert_eq!(buffer.get(), Err(GetError));
        assert_consistent(&buffer);
    });
}

#[test]
fn close_wakes_every_blocked_consumer() {
    close_wakes_blocked_consumers(1, BoundedBuffer::new);
}

#[test]
fn close_wakes_every_blocked_consumer_two_locks() {
    close_wakes_blocked_consumers(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn close_wakes_every_blocked_consumer_batched() {
    close_wakes_blocked_consumers(2, BoundedBuffer::for_batches);
}

/// Two producers blocked on a full buffer are both woken by close, each with its own item back
/// (a close that wakes only one leaves the other parked forever, which loom reports).
fn close_wakes_blocked_producers(capacity: usize, make: Make<usize>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        buffer.put_batch((0..capacity).collect()).unwrap();
        let producers: Vec<_> = [10, 11]
            .into_iter()
            .map(|item| {
                let buffer = buffer.clone();
                thread::spawn(move || buffer.put(item))
            })
            .collect();
        buffer.close();
        let back: Vec<_> = producers.into_iter().map(|p| p.join().unwrap()).collect();
        assert_eq!(back, [Err(PutError::Closed(10)), Err(PutError::Closed(11))]);
        assert_eq!(drain(&buffer), (0..capacity).collect::<Vec<_>>());
        assert_consistent(&buffer);
    });
}

#[test]
fn close_wakes_every_blocked_producer() {
    close_wakes_blocked_producers(1, BoundedBuffer::new);
}

#[test]
fn close_wakes_every_blocked_producer_two_locks() {
    close_wakes_blocked_producers(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn close_wakes_every_blocked_producer_batched() {
    close_wakes_blocked_producers(2, BoundedBuffer::for_batches);
}

/// A consumer that comes after close, to an empty buffer and to one holding an item: it
/// takes the item, then sees the end at once, with a single get and with a batch get; it
/// never parks (a get that waits on a closed buffer would wait forever, which loom reports).
fn a_consumer_after_close_never_blocks(capacity: usize, make: Make<usize>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        buffer.put(5).unwrap();
        let closer = {
            let buffer = buffer.clone();
            thread::spawn(move || buffer.close())
        };
        let late = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                while buffer.get_batch_into(&mut out, 2).is_ok() {}
                out
            })
        };
        assert!(closer.join().unwrap());
        // Closed: this get finds either the item or the end, without waiting for a put.
        let mine = buffer.get().ok();
        let theirs = late.join().unwrap();
        let mut all: Vec<usize> = mine.into_iter().chain(theirs).collect();
        all.sort_unstable();
        assert_eq!(all, [5]);
        assert_eq!(buffer.get(), Err(GetError));
        assert_consistent(&buffer);
    });
}

#[test]
fn a_consumer_that_comes_after_close_never_blocks() {
    a_consumer_after_close_never_blocks(1, BoundedBuffer::new);
}

#[test]
fn a_consumer_that_comes_after_close_never_blocks_two_locks() {
    a_consumer_after_close_never_blocks(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn a_consumer_that_comes_after_close_never_blocks_batched() {
    a_consumer_after_close_never_blocks(2, BoundedBuffer::for_batches);
}
