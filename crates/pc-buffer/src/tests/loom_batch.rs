//! Loom models of the batch operations running against the single-item ones, in the two-lock buffer and in the buffer made for batches.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{
    Make, assert_consistent, drain_batches, model, numbers_follow_put_order, queue_layouts,
    two_getters_take_one_each,
};
use crate::BoundedBuffer;

/// A batch put larger than the capacity against single gets: the batch is delivered in order,
/// in several locked steps, and the consumer's waits and the producer's waits wake each other.
#[test]
fn batch_put_against_single_get() {
    for make in queue_layouts() {
        model(move || {
            let buffer = Arc::new(make(2).unwrap());
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
}

/// Single puts from two producers against one batch get: the buffer starts full, so both
/// producers may block; one batch get then frees both slots and must wake both producers, since
/// nothing else will (the consumer joins them before taking anything more). The batch takes
/// everything into an empty `Vec`, so the buffer swaps allocations with it, and the producers
/// then put into the allocation the consumer brought.
#[test]
fn one_batch_get_wakes_every_producer_it_made_room_for() {
    for make in queue_layouts() {
        model(move || {
            let buffer = Arc::new(make(2).unwrap());
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
}

/// A batch put waking two blocked single getters: one batch of two items must wake both.
#[test]
fn batch_put_wakes_every_getter_it_can_serve() {
    for make in queue_layouts() {
        model(move || {
            two_getters_take_one_each(make, |buffer| buffer.put_batch(vec![1, 2]).unwrap())
        });
    }
}

/// A batch get racing close: items put before close are all delivered, the batch get returns
/// the closed error only once the buffer is drained.
#[test]
fn batch_get_drains_before_reporting_close() {
    for make in queue_layouts() {
        model(move || {
            let buffer = Arc::new(make(2).unwrap());
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
}

/// Two consumers taking numbered batches and single numbered items while a producer puts 0, 1,
/// 2 (so each value is its position in put order): in every interleaving each item carries its
/// value as its number, and the two consumers' numbers are exactly 0, 1, 2 between them. The
/// pipeline's input indices rest on this.
#[test]
fn numbers_follow_put_order_between_consumers() {
    numbers_follow_put_order_between_consumers_in(BoundedBuffer::new);
}

/// As above, in the buffer made for batches (a test of its own, so that CI's deeper bound can
/// leave out this larger model: see `.ci/run`).
#[test]
fn numbers_follow_put_order_between_consumers_batched() {
    numbers_follow_put_order_between_consumers_in(BoundedBuffer::for_batches);
}

fn numbers_follow_put_order_between_consumers_in(make: Make<usize>) {
    model(move || {
        numbers_follow_put_order(make, 2, 2, 3, |buffer| {
            buffer.put_batch(vec![0, 1, 2]).unwrap()
        })
    });
}

/// Spawns a producer that puts each of `rounds` with `put_batch_from` from one reused `Vec` of
/// capacity 2, checks that the `Vec` comes back empty with its room every time, and returns the
/// items handed back.
fn spawn_batch_producer(
    buffer: &Arc<BoundedBuffer<i32>>,
    rounds: Vec<[i32; 2]>,
) -> thread::JoinHandle<Vec<i32>> {
    let buffer = buffer.clone();
    thread::spawn(move || {
        let (mut batch, mut returned) = (Vec::with_capacity(2), Vec::new());
        for round in rounds {
            batch.extend(round);
            if let Err(err) = buffer.put_batch_from(&mut batch) {
                returned.extend(err.into_inner());
            }
            assert!(batch.is_empty() && batch.capacity() >= 2);
        }
        returned
    })
}

/// Batches put from a reused `Vec` against batch gets into a reused `Vec`, at capacity 2 where
/// every batch of two fits only into an empty buffer: each put that finds the back queue empty
/// swaps its allocation in, each get that takes everything swaps it out, and the rest move
/// items. In every interleaving the items arrive once each, in order, and the producer's `Vec`
/// comes back empty with room for the next batch.
#[test]
fn batch_put_from_swaps_allocations_with_an_empty_back() {
    for make in queue_layouts() {
        model(move || {
            let buffer = Arc::new(make(2).unwrap());
            let producer = spawn_batch_producer(&buffer, vec![[1, 2], [3, 4]]);
            let (mut received, mut out) = (Vec::new(), Vec::with_capacity(2));
            while received.len() < 4 {
                buffer.get_batch_into(&mut out, 2).unwrap();
                received.append(&mut out);
            }
            assert_eq!(producer.join().unwrap(), []);
            assert_eq!(received, [1, 2, 3, 4]);
            assert_consistent(&buffer);
        });
    }
}

/// A batch put that would swap its allocation in, racing close: the batch is either delivered
/// whole (and drained after the close) or handed back whole, never both and never in part, and
/// the producer's `Vec` is left empty either way.
#[test]
fn batch_put_from_racing_close_delivers_or_hands_back_every_item() {
    for make in queue_layouts() {
        model(move || {
            let buffer = Arc::new(make(2).unwrap());
            let producer = spawn_batch_producer(&buffer, vec![[1, 2]]);
            buffer.close();
            let mut delivered = Vec::new();
            while let Ok(item) = buffer.get() {
                delivered.push(item);
            }
            let returned = producer.join().unwrap();
            assert!(
                (delivered == [1, 2] && returned.is_empty())
                    || (delivered.is_empty() && returned == [1, 2]),
                "delivered {delivered:?}, handed back {returned:?}"
            );
            assert_consistent(&buffer);
        });
    }
}

/// A batch put into a producers' side that already holds an item, racing a get and close at
/// capacity 3: the batch of two fits, with an allocation large enough to be swapped in, but the
/// side is not empty, so the put must move its items behind the one already there. Whatever the
/// interleaving, the item already there is delivered first, the batch's items follow in order
/// up to where close cut it, exactly the rest is handed back, and the caller's `Vec` never comes
/// back holding an item it did not give (a swap into a side that holds items would hand it the
/// old ones).
#[test]
fn batch_put_into_a_side_holding_items_racing_close_hands_back_only_its_own_rest() {
    for make in queue_layouts() {
        model(move || {
            let buffer = Arc::new(make(3).unwrap());
            buffer.put(1).unwrap();
            let producer = {
                let buffer = buffer.clone();
                thread::spawn(move || {
                    let mut batch = Vec::with_capacity(3);
                    batch.extend([10, 11]);
                    let returned = match buffer.put_batch_from(&mut batch) {
                        Ok(()) => Vec::new(),
                        Err(err) => err.into_inner(),
                    };
                    assert!(batch.is_empty(), "the batch's Vec came back with {batch:?}");
                    returned
                })
            };
            let first = buffer.get();
            buffer.close();
            let returned = producer.join().unwrap();
            let mut delivered: Vec<i32> = first.into_iter().collect();
            while let Ok(item) = buffer.get() {
                delivered.push(item);
            }
            let mut all = delivered.clone();
            all.extend(&returned);
            assert_eq!(
                all,
                [1, 10, 11],
                "delivered {delivered:?}, back {returned:?}"
            );
            assert_consistent(&buffer);
        });
    }
}
