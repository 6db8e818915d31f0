//! Loom models of the batch operations running against the single-item ones.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{
    assert_consistent, drain_batches, model, numbers_follow_put_order, two_getters_take_one_each,
};
use crate::BoundedBuffer;

/// A batch put larger than the capacity against single gets: the batch is delivered in order,
/// in several locked steps, and the consumer's waits and the producer's waits wake each other.
#[test]
fn batch_put_against_single_get() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(2).unwrap());
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || buffer.put_batch(vec![1, 2, 3]).unwrap())
        };
        let received: Vec<i32> = (0..3).map(|_| buffer.get().unwrap()).collect();
        producer.join().unwrap();
        assert_eq!(received, [1, 2, 3]);
        assert_consistent(&buffer);
    });
}

/// Single puts from two producers against one batch get: the buffer starts full, so both
/// producers may block; one batch get then frees both slots and must wake both producers, since
/// nothing else will (the consumer joins them before taking anything more). The batch takes
/// everything into an empty `Vec`, so the buffer swaps allocations with it, and the producers
/// then put into the allocation the consumer brought.
#[test]
fn one_batch_get_wakes_every_producer_it_made_room_for() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(2).unwrap());
        buffer.put_batch(vec![1, 2]).unwrap();
        let producers: Vec<_> = [3, 4]
            .into_iter()
            .map(|item| {
                let buffer = buffer.clone();
                thread::spawn(move || buffer.put(item).unwrap())
            })
            .collect();
        let mut received = Vec::new();
        assert_eq!(buffer.get_batch_into(&mut received, 2), Ok(2));
        assert_eq!(received, [1, 2]);
        for producer in producers {
            producer.join().unwrap();
        }
        received.extend(buffer.try_iter());
        received[2..].sort_unstable();
        assert_eq!(received, [1, 2, 3, 4]);
        assert_consistent(&buffer);
    });
}

/// A batch put waking two blocked single getters: one batch of two items must wake both.
#[test]
fn batch_put_wakes_every_getter_it_can_serve() {
    model(|| two_getters_take_one_each(|buffer| buffer.put_batch(vec![1, 2]).unwrap()));
}

/// A batch get racing close: items put before close are all delivered, the batch get returns
/// the closed error only once the buffer is drained.
#[test]
fn batch_get_drains_before_reporting_close() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(2).unwrap());
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                buffer.put_batch(vec![1, 2, 3]).unwrap();
                buffer.close();
            })
        };
        let received = drain_batches(&buffer, 2);
        producer.join().unwrap();
        assert_eq!(received, [1, 2, 3]);
        assert_consistent(&buffer);
    });
}

/// Two consumers taking numbered batches and single numbered items while a producer puts 0, 1,
/// 2 (so each value is its position in put order): in every interleaving each item carries its
/// value as its number, and the two consumers' numbers are exactly 0, 1, 2 between them. The
/// pipeline's input indices rest on this.
#[test]
fn numbers_follow_put_order_between_consumers() {
    model(|| numbers_follow_put_order(2, 2, 3, |buffer| buffer.put_batch(vec![0, 1, 2]).unwrap()));
}
