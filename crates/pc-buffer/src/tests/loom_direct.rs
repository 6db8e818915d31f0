//! Loom models of a capacity-1 buffer whose consumers take straight from the back: numbering shared with takes through the front, and waking the producer.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{assert_consistent, model, numbers_follow_put_order};
use crate::BoundedBuffer;

/// At capacity 1 a single get takes the item straight from the back, a batch get through the
/// front: with one consumer of each kind and a producer putting 0, 1 (each value its position
/// in put order), every item carries its value as its number in every interleaving, so the
/// front catches up with the takes it did not see before numbering an item.
#[test]
fn numbers_at_capacity_one_follow_put_order_across_both_ways_of_taking() {
    model(|| {
        numbers_follow_put_order(1, 1, 2, |buffer| {
            for i in 0..2 {
                buffer.put(i).unwrap();
            }
        })
    });
}

/// A producer parks on a full capacity-1 buffer while the consumer takes straight from the
/// back, without the front lock the producer waits under; no close, so a producer left parked
/// is a deadlock, which loom reports. A `try_put` after both takes finds room: the takes were
/// counted.
#[test]
fn a_take_straight_from_the_back_wakes_the_parked_producer() {
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
