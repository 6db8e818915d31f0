//! Spurious wake-ups on real threads: they must neither shorten a timed wait nor lose an item.

use std::thread;
use std::time::{Duration, Instant};

use crate::{BoundedBuffer, CapacityError, GetTimeoutError, PutTimeoutError};

/// Wakes every waiter of both condition variables without changing the state, the way a
/// spurious wake-up looks to them, until `done` says to stop.
fn storm(buffer: &BoundedBuffer<u32>, done: &std::sync::atomic::AtomicBool) {
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        buffer.wake_all_spuriously();
        thread::yield_now();
    }
}

#[test]
fn spurious_wakeups_do_not_shorten_timed_waits() {
    // Capacity 1 is the one-slot buffer, 3 the two-lock buffer or the batched one: each has
    // its own timed waits.
    type Make = fn(usize) -> Result<BoundedBuffer<u32>, CapacityError>;
    let layouts: [(usize, Make); 3] = [
        (1, BoundedBuffer::new),
        (3, BoundedBuffer::new),
        (3, BoundedBuffer::for_batches),
    ];
    for (capacity, make) in layouts {
        let timeout = Duration::from_millis(50);
        let empty = make(capacity).unwrap();
        let full = make(capacity).unwrap();
        full.put_batch((0..capacity as u32).collect()).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|s| {
            s.spawn(|| storm(&empty, &done));
            s.spawn(|| storm(&full, &done));
            let started = Instant::now();
            assert_eq!(empty.get_timeout(timeout), Err(GetTimeoutError::Timeout));
            assert!(started.elapsed() >= timeout);
            let started = Instant::now();
            assert_eq!(
                full.put_timeout(10, timeout),
                Err(PutTimeoutError::Timeout(10))
            );
            assert!(started.elapsed() >= timeout);
            done.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(empty.waiting(), (0, 0));
        assert_eq!(full.waiting(), (0, 0));
        // A timed-out wait clears its "waking" flag like any other wait: loom cannot time out,
        // so this is where that path is checked.
        assert!(empty.published_is_current() && full.published_is_current());
        assert_eq!(full.len(), capacity);
    }
}

#[test]
fn spurious_wakeups_lose_no_item_and_leak_no_waiter() {
    for buffer in [BoundedBuffer::new(2), BoundedBuffer::for_batches(2)] {
        spurious_wakeups_lose_no_item_and_leak_no_waiter_in(buffer.unwrap());
    }
}

fn spurious_wakeups_lose_no_item_and_leak_no_waiter_in(buffer: BoundedBuffer<u32>) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let received: Vec<u32> = thread::scope(|s| {
        s.spawn(|| storm(&buffer, &done));
        let producers: Vec<_> = (0..2u32)
            .map(|p| {
                let buffer = &buffer;
                s.spawn(move || {
                    for i in 0..20_000 {
                        buffer.put(p * 100_000 + i).unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| s.spawn(|| buffer.iter().collect::<Vec<_>>()))
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        buffer.close();
        let all = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        all
    });
    let mut sorted = received;
    sorted.sort_unstable();
    let expected: Vec<u32> = (0..2u32)
        .flat_map(|p| (0..20_000).map(move |i| p * 100_000 + i))
        .collect();
    assert_eq!(sorted, expected);
    assert_eq!(buffer.waiting(), (0, 0));
    assert!(buffer.published_is_current());
}
