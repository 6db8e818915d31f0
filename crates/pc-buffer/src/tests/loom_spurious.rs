//! Loom models of spurious wake-ups, in each layout of the buffer: the waiter bookkeeping must stay exact when threads wake without a notify meant for them.
//!
//! Loom itself does not wake threads spuriously, so a third thread does it: it calls
//! `notify_all` on both condition variables without changing the state, exactly what a
//! spurious wake-up looks like to the waiting threads.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{Make, assert_consistent, model};
use crate::BoundedBuffer;

/// A producer puts `capacity + 1` items (so it may wait for room) while the consumer takes
/// them (so it may wait for items) and a third thread wakes everyone spuriously.
fn spurious_wakeups(capacity: usize, make: Make<usize>) {
    model(move || {
        let buffer = Arc::new(make(capacity).unwrap());
        let items: Vec<usize> = (0..capacity + 1).collect();
        let producer = {
            let buffer = buffer.clone();
            let items = items.clone();
            thread::spawn(move || {
                for item in items {
                    buffer.put(item).unwrap();
                }
            })
        };
        let noise = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                buffer.wake_all_spuriously();
            })
        };
        let received: Vec<usize> = items.iter().map(|_| buffer.get().unwrap()).collect();
        producer.join().unwrap();
        noise.join().unwrap();
        assert_eq!(received, items);
        assert_consistent(&buffer);
    });
}

#[test]
fn spurious_wakeups_neither_lose_items_nor_leak_waiter_counts() {
    spurious_wakeups(1, BoundedBuffer::new);
}

#[test]
fn spurious_wakeups_neither_lose_items_nor_leak_waiter_counts_two_locks() {
    spurious_wakeups(2, BoundedBuffer::new);
}

/// As above, in the buffer made for batches: one queue under one lock.
#[test]
fn spurious_wakeups_neither_lose_items_nor_leak_waiter_counts_batched() {
    spurious_wakeups(2, BoundedBuffer::for_batches);
}
