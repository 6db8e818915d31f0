//! Loom models of items passing through a tiny buffer: FIFO hand-off and no lost wake-up with two producers.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{assert_consistent, drain, model};
use crate::{BoundedBuffer, GetError};

/// One producer hands three items to one consumer through a single slot: each put but the first
/// has to wait for the consumer, each get for the producer. Every item arrives, in order.
#[test]
fn capacity_one_handoff_is_fifo_and_lossless() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(1).unwrap());
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                for i in 0..3 {
                    buffer.put(i).unwrap();
                }
                buffer.close();
            })
        };
        let received = drain(&buffer);
        producer.join().unwrap();
        assert_eq!(received, [0, 1, 2]);
        assert_eq!(buffer.get(), Err(GetError));
        assert_consistent(&buffer);
    });
}

/// Two producers compete for one slot while one consumer takes exactly as many items as they
/// put, without close: a lost wake-up on either side leaves a thread blocked forever, which loom
/// reports as a deadlock.
#[test]
fn two_producers_one_consumer_capacity_one_no_lost_wakeup() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(1).unwrap());
        let producers: Vec<_> = [[1, 2], [10, 20]]
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
        let received: Vec<i32> = (0..4).map(|_| buffer.get().unwrap()).collect();
        for producer in producers {
            producer.join().unwrap();
        }
        // Each producer's items arrive in the order it put them.
        let from = |small: bool| -> Vec<i32> {
            received
                .iter()
                .copied()
                .filter(|&i| (i < 10) == small)
                .collect()
        };
        assert_eq!(from(true), [1, 2]);
        assert_eq!(from(false), [10, 20]);
        assert!(buffer.is_empty());
        assert_consistent(&buffer);
    });
}
