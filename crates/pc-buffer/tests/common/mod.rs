//! Helpers shared by the integration tests: waiting for a thread to block, and an item type that counts its drops.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use pc_buffer::{BoundedBuffer, BufferStats};

/// Capacities that give each of the buffer's two layouts: one slot at capacity 1, two locked
/// halves above it. Tests of behaviour that both must share run at each.
pub const BOTH_LAYOUTS: [usize; 2] = [1, 3];

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
