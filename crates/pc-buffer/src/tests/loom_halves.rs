//! Loom models of the two halves: items a consumer moves from the back to the front stay there for any consumer to take, and order holds across swaps and top-ups.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{assert_consistent, drain_batches, model, two_getters_take_one_each};
use crate::BoundedBuffer;

/// Two consumers each take exactly one item while the producer puts two, without close. A
/// consumer that takes the back's items leaves the rest in the front; a consumer woken for an
/// item that another one moved must look at the front again, not park on the back (it would
/// never be woken: that item was already put). Loom reports such a park as a deadlock.
#[test]
fn items_moved_to_the_front_are_taken_by_whichever_consumer_comes() {
    model(|| {
        two_getters_take_one_each(BoundedBuffer::new, |buffer| {
            buffer.put(1).unwrap();
            buffer.put(2).unwrap();
        })
    });
}

/// A producer puts four items through three slots while a consumer takes batches of two: the
/// batches come from the front, from swaps of the whole back and from top-ups that append part
/// of the back to a short front, and the producer has to wait for room. Every item arrives
/// once, in put order, and the consumer sees the end only once the buffer is closed.
#[test]
fn batches_keep_put_order_across_swaps_and_top_ups() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(3).unwrap());
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                for item in 0..4 {
                    buffer.put(item).unwrap();
                }
                buffer.close();
            })
        };
        let received = drain_batches(&buffer, 2);
        producer.join().unwrap();
        assert_eq!(received, [0, 1, 2, 3]);
        assert_consistent(&buffer);
    });
}
