//! Loom model of spurious wake-ups: the waiter bookkeeping must stay exact when threads wake without a notify meant for them.
//!
//! Loom itself does not wake threads spuriously, so a third thread does it: it calls
//! `notify_all` on both condition variables without changing the state, exactly what a
//! spurious wake-up looks like to the waiting threads.

use loom::sync::Arc;
use loom::thread;

use super::loom_support::{assert_consistent, model};
use crate::BoundedBuffer;

#[test]
fn spurious_wakeups_neither_lose_items_nor_leak_waiter_counts() {
    model(|| {
        let buffer = Arc::new(BoundedBuffer::new(1).unwrap());
        let producer = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                for i in 0..2 {
                    buffer.put(i).unwrap();
                }
            })
        };
        let noise = {
            let buffer = buffer.clone();
            thread::spawn(move || {
                buffer.wake_all_spuriously();
            })
        };
        let received: Vec<i32> = (0..2).map(|_| buffer.get().unwrap()).collect();
        producer.join().unwrap();
        noise.join().unwrap();
        assert_eq!(received, [0, 1]);
        assert_consistent(&buffer);
    });
}
