//! Loom models of the buffer of capacity 1, one slot under one lock: numbering shared by single and batch gets, and waking the producer parked on the full slot.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{assert_consistent, model, numbers_follow_put_order};
use crate::BoundedBuffer;

/// With a consumer taking single items and one taking batches from the slot while a producer
/// puts 0, 1 (each value its position in put order), every item carries its value as its
/// number in every interleaving.
#[test]
fn numbers_at_capacity_one_follow_put_order_across_both_ways_of_taking() {
    model(|| {
        numbers_follow_put_order(BoundedBuffer::new, 1, 1, 2, |buffer| {
            for i in 0..2 {
                buffer.put(i).unwrap();
            }
        })
    });
}

/// A producer parks on the full slot while the consumer takes; no close, so a producer left
/// parked is a deadlock, which loom reports. A `try_put` after both takes finds room: the takes
/// were counted.
#[test]
fn a_take_wakes_the_producer_parked_on_the_full_slot() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(1).unwrap());
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                buffer.put(1).unwrap();
                buffer.put(2).unwrap(); // parks until the consumer takes 1
            })
        };
        assert_eq!(buffer.get(), Ok(1));
        assert_eq!(buffer.get(), Ok(2));
        producer.join().unwrap();
        assert_eq!(buffer.try_put(3), Ok(()));
        assert_eq!(buffer.stats().items_got, 2);
        assert_consistent(&buffer);
    });
}
