//! Helpers shared by the integration tests: waiting for a thread to block, and an item type that counts its drops.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use pc_buffer::{BoundedBuffer, BufferStats};

/// A buffer in each of its three layouts, with its capacity: one slot at capacity 1, two locked
/// halves at capacity 3 (`new`), one locked queue at capacity 3 (`for_batches`). Tests of
/// behaviour that every layout must share run on each.
pub fn each_layout<T>() -> [(usize, BoundedBuffer<T>); 3] {
    [
        (1, BoundedBuffer::new(1).unwrap()),
        (3, BoundedBuffer::new(3).unwrap()),
        (3, BoundedBuffer::for_batches(3).unwrap()),
    ]
}

/// A buffer of `capacity` (at least 2) in each layout that holds more than one item: two locked
/// halves (`new`) and one locked queue (`for_batches`).
pub fn queue_layouts<T>(capacity: usize) -> [BoundedBuffer<T>; 2] {
    assert!(capacity >= 2, "capacity 1 is the slot in both");
    [
        BoundedBuffer::new(capacity).unwrap(),
        BoundedBuffer::for_batches(capacity).unwrap(),
    ]
}

/// Returns once `producers` producers and `consumers` consumers are blocked inside the buffer.
///
/// This polls the buffer's own bookkeeping (no sleep): when it returns, the threads are
/// registered as waiters, so whatever the test does next happens while they are blocked.
pub fn until_blocked<T>(buffer: &BoundedBuffer<T>, producers: usize, consumers: usize) {
    until(buffer, |stats| {
        stats.producers_waiting == producers && stats.consumers_waiting == consumers
    });
}

/// Returns once `condition` holds for the buffer's stats, polling its own bookkeeping.
pub fn until<T>(buffer: &BoundedBuffer<T>, condition: impl Fn(&BufferStats) -> bool) {
    while !condition(&buffer.stats()) {
        thread::yield_now();
    }
}

/// An item that counts how many times items of its family were dropped.
#[derive(Debug)]
pub struct DropCounter {
    /// Which item this is.
    pub id: usize,
    drops: Arc<AtomicUsize>,
}

impl DropCounter {
    /// An item counted in `drops`.
    pub fn new(id: usize, drops: &Arc<AtomicUsize>) -> Self {
        Self {
            id,
            drops: Arc::clone(drops),
        }
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A type that is neither `Debug` nor `Clone`, to show that errors need neither.
pub struct Opaque(pub u32);
