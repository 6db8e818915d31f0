//! Loom models of close: consumers drain everything exactly once, and close wakes every blocked producer and consumer.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{assert_consistent, drain, model};
use crate::{BoundedBuffer, GetError, PutError};

/// One producer, two consumers, close after two items: every item is delivered to exactly one
/// consumer and both consumers return once the buffer is closed and drained.
#[test]
fn one_producer_two_consumers_with_close_deliver_each_item_once() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(1).unwrap());
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let buffer = buffer.clone();
                thread::spawn(move || drain(&buffer))
            })
            .collect();
        buffer.put(1).unwrap();
        buffer.put(2).unwrap();
        buffer.close();
        let mut all: Vec<i32> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, [1, 2]);
        assert_consistent(&buffer);
    });
}

/// A producer blocked on a full buffer is woken by close and gets its item back; the item that
/// was already in the buffer is still delivered.
#[test]
fn close_wakes_blocked_producer_and_hands_item_back() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(1).unwrap());
        buffer.put(1).unwrap();
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || buffer.put(2))
        };
        buffer.close();
        assert_eq!(producer.join().unwrap(), Err(PutError(2)));
        assert_eq!(buffer.get(), Ok(1));
        assert_eq!(buffer.get(), Err(GetError));
        assert_consistent(&buffer);
    });
}

/// Two consumers blocked on an empty buffer are both woken by close (one `notify_one` would
/// leave the other blocked forever).
#[test]
fn close_wakes_every_blocked_consumer() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::<i32>::new(1).unwrap());
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
