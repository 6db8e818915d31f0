//! Every operation of `BoundedBuffer` on a single thread: construction, put/get, try and batch variants, close, iteration, stats and errors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{DropCounter, Opaque, each_layout, queue_layouts};
use pc_buffer::{
    BoundedBuffer, CapacityError, GetError, GetTimeoutError, PutError, PutTimeoutError,
    TryGetError, TryPutError,
};

#[test]
fn zero_capacity_is_an_error_value() {
    let err = BoundedBuffer::<u8>::new(0).unwrap_err();
    assert_eq!(err, CapacityError);
    assert_eq!(err.to_string(), "buffer capacity must be at least 1, got 0");
    assert_eq!(
        BoundedBuffer::<u8>::for_batches(0).unwrap_err(),
        CapacityError
    );
    for capacity in [1, 2] {
        let buffer = BoundedBuffer::<u8>::new(capacity).unwrap();
        assert_eq!(buffer.capacity(), capacity);
        let buffer = BoundedBuffer::<u8>::for_batches(capacity).unwrap();
        assert_eq!(buffer.capacity(), capacity);
    }
}

#[test]
fn huge_capacity_does_not_preallocate() {
    // Would abort on allocation if the capacity were reserved up front.
    for buffer in queue_layouts(usize::MAX) {
        buffer.put(1u64).unwrap();
        assert_eq!(buffer.get(), Ok(1));
        assert!(!buffer.is_full());
    }
}

#[test]
fn put_and_get_are_fifo_and_track_len() {
    for buffer in queue_layouts(3) {
        assert!(buffer.is_empty());
        for i in 0..3 {
            assert_eq!(buffer.len(), i);
            buffer.put(i).unwrap();
        }
        assert!(buffer.is_full());
        assert!(!buffer.is_empty());
        assert_eq!(buffer.get(), Ok(0));
        buffer.put(3).unwrap();
        assert_eq!(buffer.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
        assert!(buffer.is_empty());
    }
}

#[test]
fn try_put_reports_full_and_closed_with_the_item() {
    for (capacity, buffer) in each_layout() {
        for item in 0..capacity {
            assert_eq!(buffer.try_put(item), Ok(()));
        }
        let full = buffer.try_put(10).unwrap_err();
        assert!(full.is_full() && !full.is_closed());
        assert_eq!(full.to_string(), "putting into a full buffer");
        assert_eq!(full.into_inner(), 10);
        buffer.close();
        let closed = buffer.try_put(11).unwrap_err();
        assert!(closed.is_closed());
        assert_eq!(closed, TryPutError::Closed(11));
        assert_eq!(closed.to_string(), "putting into a closed buffer");
    }
}

#[test]
fn closed_takes_precedence_over_full() {
    for (capacity, buffer) in each_layout() {
        buffer.put_batch((0..capacity).collect()).unwrap();
        buffer.close();
        assert_eq!(buffer.try_put(10), Err(TryPutError::Closed(10)));
        assert_eq!(buffer.put(11), Err(PutError::Closed(11)));
        assert_eq!(
            buffer.put_timeout(12, std::time::Duration::from_secs(60)),
            Err(PutTimeoutError::Closed(12))
        );
    }
}

#[test]
fn try_get_reports_empty_then_closed() {
    for (_, buffer) in each_layout() {
        let empty = buffer.try_get().unwrap_err();
        assert!(empty.is_empty());
        assert_eq!(empty.to_string(), "getting from an empty buffer");
        buffer.put('x').unwrap();
        buffer.close();
        assert_eq!(buffer.try_get(), Ok('x'));
        let closed = buffer.try_get().unwrap_err();
        assert!(closed.is_closed());
        assert_eq!(closed, TryGetError::Closed);
    }
}

#[test]
fn close_is_idempotent_and_keeps_items_for_draining() {
    for buffer in queue_layouts(4) {
        buffer.put_batch(vec![1, 2, 3]).unwrap();
        assert!(!buffer.is_closed());
        assert!(buffer.close());
        assert!(!buffer.close());
        assert!(buffer.is_closed());
        let err = buffer.put(9).unwrap_err();
        assert_eq!(err.to_string(), "putting into a closed buffer");
        assert_eq!(err.into_inner(), 9);
        assert_eq!(buffer.get(), Ok(1));
        assert_eq!(buffer.get_batch(10), Ok(vec![2, 3]));
        assert_eq!(buffer.get(), Err(GetError));
        assert_eq!(
            GetError.to_string(),
            "getting from a closed and empty buffer"
        );
        assert_eq!(buffer.get_batch(10), Err(GetError));
        assert_eq!(
            buffer.get_timeout(std::time::Duration::from_secs(60)),
            Err(GetTimeoutError::Closed)
        );
    }
}

#[test]
fn blocking_iterator_ends_after_close_and_drain() {
    for buffer in queue_layouts(8) {
        buffer.put_batch((1..=5).collect()).unwrap();
        buffer.close();
        let mut seen = Vec::new();
        for item in &buffer {
            seen.push(item);
        }
        assert_eq!(seen, [1, 2, 3, 4, 5]);
        let mut iter = buffer.iter();
        assert_eq!(iter.next(), None);
        assert_eq!(iter.next(), None); // fused
    }
}

#[test]
fn try_iter_stops_at_empty_without_close() {
    for buffer in queue_layouts(8) {
        buffer.put_batch(vec![1, 2]).unwrap();
        assert_eq!(buffer.try_iter().collect::<Vec<_>>(), [1, 2]);
        buffer.put(3).unwrap();
        assert_eq!(buffer.try_iter().collect::<Vec<_>>(), [3]);
    }
}

#[test]
fn put_batch_larger_than_capacity_is_delivered_in_order() {
    for buffer in queue_layouts(3) {
        let received = std::thread::scope(|s| {
            s.spawn(|| buffer.put_batch((0..100).collect()).unwrap());
            (0..100).map(|_| buffer.get().unwrap()).collect::<Vec<_>>()
        });
        assert_eq!(received, (0..100).collect::<Vec<_>>());
        assert_eq!(buffer.stats().high_water, 3);
    }
}

#[test]
fn put_batch_on_closed_buffer_hands_back_everything_in_order() {
    for buffer in queue_layouts(3) {
        buffer.close();
        let err = buffer.put_batch(vec![Opaque(1), Opaque(2)]).unwrap_err();
        assert_eq!(format!("{err:?}"), "Closed(..)");
        let back: Vec<u32> = err.into_inner().into_iter().map(|o| o.0).collect();
        assert_eq!(back, [1, 2]);
    }
}

#[test]
fn put_batch_from_reuses_the_vec_and_delivers_in_order_past_capacity() {
    for buffer in queue_layouts(3) {
        let received = std::thread::scope(|s| {
            s.spawn(|| {
                let mut batch = Vec::with_capacity(10);
                let allocation = batch.as_ptr();
                for round in 0..10 {
                    batch.extend(round * 10..round * 10 + 10);
                    buffer.put_batch_from(&mut batch).unwrap();
                    // Emptied, and the same allocation is kept for the next round.
                    assert!(batch.is_empty());
                    assert_eq!((batch.capacity(), batch.as_ptr()), (10, allocation));
                }
            });
            (0..100).map(|_| buffer.get().unwrap()).collect::<Vec<_>>()
        });
        assert_eq!(received, (0..100).collect::<Vec<_>>());
        let stats = buffer.stats();
        assert_eq!(
            (stats.items_put, stats.items_got, stats.high_water),
            (100, 100, 3)
        );
    }
}

#[test]
fn put_batch_from_into_an_empty_back_hands_its_allocation_to_the_consumer() {
    for buffer in queue_layouts(8) {
        let mut batch = Vec::with_capacity(8);
        batch.extend(0..5);
        let given = batch.as_ptr();
        buffer.put_batch_from(&mut batch).unwrap();
        // Swapped: the caller holds the buffer's empty allocation, at least as large as its own.
        assert!(batch.is_empty() && batch.capacity() >= 8);
        assert_ne!(batch.as_ptr(), given);
        // A batch get that takes everything swaps too: the consumer gets the producer's very
        // allocation, with the items where the producer wrote them.
        let mut out = Vec::with_capacity(8);
        assert_eq!(buffer.get_batch_into(&mut out, 8), Ok(5));
        assert_eq!(out, [0, 1, 2, 3, 4]);
        assert_eq!(out.as_ptr(), given);
        let stats = buffer.stats();
        assert_eq!(
            (stats.items_put, stats.items_got, stats.high_water),
            (5, 5, 5)
        );
    }
}

#[test]
fn put_batch_from_moves_the_items_when_the_back_already_holds_some() {
    for buffer in queue_layouts(8) {
        let mut batch = Vec::with_capacity(8);
        batch.extend([0, 1]);
        buffer.put_batch_from(&mut batch).unwrap();
        // The back now holds 0 and 1: a swap would drop them, so these items are moved in behind.
        let kept = batch.as_ptr();
        batch.extend([2, 3]);
        buffer.put_batch_from(&mut batch).unwrap();
        assert!(batch.is_empty());
        assert_eq!(batch.as_ptr(), kept);
        assert_eq!(buffer.get_batch(8), Ok(vec![0, 1, 2, 3]));
    }
}

#[test]
fn put_batch_from_keeps_an_allocation_that_does_not_suit_the_buffer() {
    // Smaller than the buffer keeps: later puts would grow it under the lock.
    for buffer in queue_layouts(8) {
        let mut small = Vec::with_capacity(2);
        small.extend([0, 1]);
        let kept = small.as_ptr();
        buffer.put_batch_from(&mut small).unwrap();
        assert_eq!((small.as_ptr(), small.capacity()), (kept, 2));
    }
    // Larger than the buffer's: the caller would get back less than it gave.
    for buffer in queue_layouts(4) {
        let mut large = Vec::with_capacity(100);
        large.extend([0, 1, 2]);
        let kept = large.as_ptr();
        buffer.put_batch_from(&mut large).unwrap();
        assert_eq!((large.as_ptr(), large.capacity()), (kept, 100));
        assert_eq!(buffer.get_batch(4), Ok(vec![0, 1, 2]));
    }
}

#[test]
fn put_batch_from_larger_than_the_capacity_never_overfills_an_empty_buffer() {
    for buffer in queue_layouts(3) {
        // A consumer's large `Vec` swapped in: the empty buffer now has an allocation that
        // could hold the whole batch below, and must still take only 3 items of it at a time.
        let mut out = Vec::with_capacity(64);
        buffer.put_batch(vec![0, 1]).unwrap();
        assert_eq!(buffer.get_batch_into(&mut out, 64), Ok(2));
        let mut batch = Vec::with_capacity(32);
        batch.extend(2..12);
        let received = std::thread::scope(|s| {
            s.spawn(|| {
                buffer.put_batch_from(&mut batch).unwrap();
                buffer.close();
            });
            buffer.iter().collect::<Vec<_>>()
        });
        assert_eq!(received, (2..12).collect::<Vec<_>>());
        assert_eq!(buffer.stats().high_water, 3);
    }
}

#[test]
fn a_batch_get_into_a_small_vec_leaves_the_buffer_its_allocation() {
    for buffer in queue_layouts(8) {
        let mut batch = Vec::with_capacity(8);
        batch.extend([0, 1]);
        let given = batch.as_ptr();
        buffer.put_batch_from(&mut batch).unwrap();
        // `out` can hold the two items but not what the buffer keeps (8): swapping would leave
        // the buffer a small allocation to grow under its lock, so the items are moved.
        let mut out = Vec::new();
        assert_eq!(buffer.get_batch_into(&mut out, 2), Ok(2));
        assert_eq!(out, [0, 1]);
        assert_ne!(out.as_ptr(), given);
        // The buffer still takes a whole batch.
        batch.extend(2..10);
        buffer.put_batch_from(&mut batch).unwrap();
        assert_eq!(buffer.get_batch(8), Ok((2..10).collect::<Vec<_>>()));
    }
}

#[test]
fn put_batch_from_larger_than_the_room_left_waits_and_stays_in_order() {
    for buffer in queue_layouts(4) {
        buffer.put_batch(vec![0, 1, 2]).unwrap();
        // The consumer's take moves 1 and 2 to the front: the back is empty, but the room (2) is
        // less than the batch (3), so the batch goes in a run at a time and waits for the rest.
        assert_eq!(buffer.get(), Ok(0));
        let received = std::thread::scope(|s| {
            let consumer = s.spawn(|| {
                // Only once the batch is in as far as the room allows (3 and 4), so that the put
                // meets exactly that room.
                while buffer.stats().items_put < 5 {
                    std::thread::yield_now();
                }
                buffer.iter().collect::<Vec<_>>()
            });
            let mut batch = Vec::with_capacity(4);
            batch.extend([3, 4, 5]);
            buffer.put_batch_from(&mut batch).unwrap();
            buffer.close();
            consumer.join().unwrap()
        });
        assert_eq!(received, [1, 2, 3, 4, 5]);
        let stats = buffer.stats();
        assert_eq!((stats.items_put, stats.items_got), (6, 6));
        assert!(stats.high_water <= 4, "overfilled: {stats:?}");
    }
}

#[test]
fn put_batch_from_closed_midway_hands_back_exactly_the_undelivered_rest() {
    for buffer in queue_layouts(4) {
        let mut batch: Vec<u32> = (0..10).collect();
        let (err, got) = std::thread::scope(|s| {
            let producer = s.spawn(|| buffer.put_batch_from(&mut batch));
            // The first 4 fit; the producer then waits for room. Taking 2 lets 2 more in, then the
            // buffer closes: 6 delivered in all, 4 handed back.
            let mut got = vec![buffer.get().unwrap(), buffer.get().unwrap()];
            while buffer.stats().items_put < 6 {
                std::thread::yield_now();
            }
            buffer.close();
            got.extend(buffer.iter());
            (producer.join().unwrap().unwrap_err(), got)
        });
        assert!(batch.is_empty());
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        assert_eq!(err.into_inner(), [6, 7, 8, 9]);
    }
}

#[test]
fn empty_put_batch_succeeds_even_when_closed() {
    // Nothing to deliver means nothing is lost.
    let buffer = BoundedBuffer::<u8>::new(1).unwrap();
    buffer.close();
    assert_eq!(buffer.put_batch(Vec::new()), Ok(()));
}

#[test]
fn get_batch_respects_max_and_order() {
    for buffer in queue_layouts(10) {
        buffer.put_batch((0..10).collect()).unwrap();
        assert_eq!(buffer.get_batch(0), Ok(vec![]));
        assert_eq!(buffer.get_batch(4), Ok(vec![0, 1, 2, 3]));
        let mut out = vec![-1];
        assert_eq!(buffer.get_batch_into(&mut out, 100), Ok(6));
        assert_eq!(out, [-1, 4, 5, 6, 7, 8, 9]);
        assert_eq!(buffer.get_batch_into(&mut out, 0), Ok(0));
    }
}

#[test]
fn a_batch_taking_everything_swaps_allocations_and_keeps_order_when_the_ring_wraps() {
    for buffer in queue_layouts(4) {
        buffer.put_batch(vec![0, 1, 2]).unwrap();
        assert_eq!((buffer.get(), buffer.get()), (Ok(0), Ok(1)));
        buffer.put_batch(vec![3, 4, 5]).unwrap(); // the ring now wraps around its end
        let mut out = Vec::with_capacity(4);
        let mine = out.as_ptr();
        assert_eq!(buffer.get_batch_into(&mut out, 4), Ok(4));
        assert_eq!(out, [2, 3, 4, 5]);
        assert_ne!(out.as_ptr(), mine, "an empty out taking everything swaps");
        assert!(out.capacity() >= 4);
        // The buffer kept room for its whole capacity, and goes on in order.
        out.clear();
        for item in 6..10 {
            assert_eq!(buffer.try_put(item), Ok(()));
        }
        assert_eq!(buffer.try_put(10), Err(TryPutError::Full(10)));
        // Not everything: moved, not swapped; then appended to an `out` holding items.
        let kept = out.as_ptr();
        assert_eq!(buffer.get_batch_into(&mut out, 3), Ok(3));
        assert_eq!(out.as_ptr(), kept);
        assert_eq!(buffer.get_batch_into(&mut out, 4), Ok(1));
        assert_eq!(out, [6, 7, 8, 9]);
        let stats = buffer.stats();
        assert_eq!((stats.items_got, stats.high_water), (10, 4));
    }
}

#[test]
fn swapped_batches_drop_every_item_exactly_once() {
    for buffer in queue_layouts(3) {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut out = Vec::new();
        for round in 0..4 {
            let items = (0..3)
                .map(|i| DropCounter::new(3 * round + i, &drops))
                .collect();
            buffer.put_batch(items).unwrap();
            assert_eq!(buffer.get_batch_into(&mut out, 3), Ok(3));
            let ids: Vec<usize> = out.drain(..).map(|item| item.id).collect();
            assert_eq!(ids, [3 * round, 3 * round + 1, 3 * round + 2]);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 12);
        buffer.put(DropCounter::new(12, &drops)).unwrap();
        drop(buffer);
        drop(out);
        assert_eq!(drops.load(Ordering::SeqCst), 13);
    }
}

#[test]
fn numbered_gets_count_every_item_taken_in_put_order() {
    for buffer in queue_layouts(4) {
        let mut out = Vec::new();
        assert_eq!(buffer.get_batch_numbered(&mut out, 0), Ok(0..0));
        buffer.put_batch(vec!['a', 'b', 'c']).unwrap();
        assert_eq!(buffer.try_get(), Ok('a')); // number 0, taken without a number
        assert_eq!(buffer.get_numbered(), Ok((1, 'b')));
        buffer.put_batch(vec!['d', 'e', 'f']).unwrap();
        assert_eq!(buffer.get_batch_numbered(&mut out, 0), Ok(2..2)); // the next number
        out.push('z'); // appended to, not cleared
        assert_eq!(buffer.get_batch_numbered(&mut out, 3), Ok(2..5));
        assert_eq!(out, ['z', 'c', 'd', 'e']);
        assert_eq!(buffer.get(), Ok('f')); // number 5
        buffer.put('g').unwrap();
        buffer.close();
        // Still numbered after close, while draining.
        let deadline = Instant::now() + Duration::from_secs(60);
        assert_eq!(buffer.get_numbered_deadline(deadline), Ok((6, 'g')));
        assert_eq!(buffer.get_numbered(), Err(GetError));
        assert_eq!(buffer.get_batch_numbered(&mut out, 8), Err(GetError));
        assert_eq!(
            buffer.get_numbered_deadline(deadline),
            Err(GetTimeoutError::Closed)
        );
        assert_eq!(buffer.stats().items_got, 7);
    }
}

#[test]
fn a_numbered_get_times_out_on_an_empty_buffer_without_using_a_number() {
    for buffer in queue_layouts(2) {
        let past = Instant::now();
        assert_eq!(
            buffer.get_numbered_deadline(past),
            Err(GetTimeoutError::Timeout)
        );
        buffer.put(5_u8).unwrap();
        assert_eq!(buffer.get_numbered_deadline(past), Ok((0, 5)));
    }
}

#[test]
fn stats_count_items_and_high_water() {
    for buffer in queue_layouts(5) {
        buffer.put_batch(vec![1, 2, 3, 4]).unwrap();
        buffer.get_batch(3).unwrap();
        buffer.put(5).unwrap();
        buffer.try_get().unwrap();
        let stats = buffer.stats();
        assert_eq!(stats.capacity, 5);
        assert_eq!(stats.len, 1);
        assert_eq!(stats.high_water, 4);
        assert_eq!(stats.items_put, 5);
        assert_eq!(stats.items_got, 4);
        assert_eq!((stats.put_waits, stats.get_waits), (0, 0));
        assert_eq!((stats.producers_waiting, stats.consumers_waiting), (0, 0));
        assert!(!stats.closed);
        buffer.close();
        assert!(buffer.stats().closed);
    }
}

#[test]
fn errors_debug_without_item_debug() {
    assert_eq!(format!("{:?}", PutError::Closed(Opaque(1))), "Closed(..)");
    assert_eq!(format!("{:?}", TryPutError::Full(Opaque(1))), "Full(..)");
    assert_eq!(
        format!("{:?}", TryPutError::Closed(Opaque(1))),
        "Closed(..)"
    );
    assert_eq!(
        format!("{:?}", PutTimeoutError::Timeout(Opaque(1))),
        "Timeout(..)"
    );
    for buffer in queue_layouts(2) {
        buffer.put(Opaque(1)).unwrap();
        assert_eq!(
            format!("{buffer:?}"),
            "BoundedBuffer { capacity: 2, len: 1, closed: false, waiting_producers: 0, waiting_consumers: 0 }"
        );
    }
}

#[test]
fn errors_convert_and_keep_the_item() {
    assert_eq!(
        TryPutError::from(PutError::Closed(1)),
        TryPutError::Closed(1)
    );
    assert_eq!(
        PutTimeoutError::from(PutError::Closed(1)),
        PutTimeoutError::Closed(1)
    );
    assert_eq!(TryGetError::from(GetError), TryGetError::Closed);
    assert_eq!(GetTimeoutError::from(GetError), GetTimeoutError::Closed);
    assert_eq!(PutTimeoutError::Timeout(5).into_inner(), 5);
    assert!(PutTimeoutError::Timeout(5).is_timeout());
    assert!(PutTimeoutError::Closed(5).is_closed());
    assert!(GetTimeoutError::Timeout.is_timeout());
    assert!(GetTimeoutError::Closed.is_closed());
    // Errors are real `std::error::Error`s, usable with `?` into a boxed error.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(PutError::Closed(1));
    assert_eq!(boxed.to_string(), "putting into a closed buffer");
}

#[test]
fn dropping_the_buffer_drops_each_remaining_item_once() {
    for buffer in queue_layouts(8) {
        let drops = Arc::new(AtomicUsize::new(0));
        for id in 0..6 {
            buffer.put(DropCounter::new(id, &drops)).unwrap();
        }
        let first = buffer.get().unwrap();
        assert_eq!(first.id, 0);
        drop(first);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // An item handed back by a failed put is the caller's again: dropped once, by the caller.
        buffer.close();
        let back = buffer
            .put(DropCounter::new(99, &drops))
            .unwrap_err()
            .into_inner();
        assert_eq!(back.id, 99);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        drop(back);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        drop(buffer); // five items left inside
        assert_eq!(drops.load(Ordering::SeqCst), 7);
    }
}

#[test]
fn buffer_is_send_and_sync_for_send_items() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BoundedBuffer<String>>();
    assert_send_sync::<PutError<String>>();
}

/// At capacity 1 (the one-slot buffer) single, numbered and batch gets share one numbering:
/// the numbers follow put order whichever way each item leaves, and the counts add up.
#[test]
fn numbers_at_capacity_1_follow_put_order_whichever_way_items_leave() {
    let buffer = BoundedBuffer::new(1).unwrap();
    let mut batch = Vec::new();
    for round in 0..3 {
        let base = round * 4;
        buffer.put(base).unwrap();
        assert_eq!(buffer.get_numbered(), Ok((base, base)));
        buffer.put(base + 1).unwrap();
        assert_eq!(
            buffer.get_batch_numbered(&mut batch, 4),
            Ok(base + 1..base + 2)
        );
        assert_eq!(batch, [base + 1]);
        batch.clear();
        buffer.put(base + 2).unwrap();
        assert_eq!(buffer.try_get(), Ok(base + 2));
        buffer.put(base + 3).unwrap();
        assert_eq!(
            buffer.get_numbered_deadline(Instant::now()),
            Ok((base + 3, base + 3))
        );
    }
    let stats = buffer.stats();
    assert_eq!((stats.items_put, stats.items_got, stats.len), (12, 12, 0));
}

#[test]
fn a_batch_get_of_zero_items_returns_nothing_at_once_in_every_layout() {
    for (_, buffer) in each_layout::<u32>() {
        // Empty and open: a get of one item would block; a get of none does not.
        assert_eq!(buffer.get_batch(0), Ok(vec![]));
        buffer.put(7).unwrap();
        let mut out = vec![1];
        assert_eq!(buffer.get_batch_into(&mut out, 0), Ok(0));
        assert_eq!(out, [1]);
        let numbers = buffer.get_batch_numbered(&mut out, 0).unwrap();
        assert!(numbers.is_empty());
        assert_eq!(numbers.start, 0, "the next number, unused");
        assert_eq!(buffer.len(), 1, "nothing was taken");
        buffer.close();
        assert_eq!(buffer.get(), Ok(7));
        // Closed and empty: still an empty result, not the end.
        assert_eq!(buffer.get_batch(0), Ok(vec![]));
        assert_eq!(buffer.get_batch(1), Err(GetError));
        let stats = buffer.stats();
        assert_eq!((stats.items_got, stats.get_waits), (1, 0));
    }
}

#[test]
fn a_batch_try_takes_what_is_there_and_never_counts_a_wait_in_every_layout() {
    for (capacity, buffer) in each_layout::<usize>() {
        let mut out = Vec::new();
        assert_eq!(
            buffer.try_get_batch_numbered(&mut out, 4),
            Err(TryGetError::Empty),
            "capacity {capacity}"
        );
        buffer.put_batch((10..10 + capacity).collect()).unwrap();
        // At most `max` of what is there, numbered from 0.
        let first = capacity.min(2);
        assert_eq!(buffer.try_get_batch_numbered(&mut out, 2), Ok(0..first));
        assert_eq!(buffer.try_get_batch_numbered(&mut out, 0), Ok(first..first));
        while buffer.try_get_batch_numbered(&mut out, 8).is_ok() {}
        assert_eq!(out, (10..10 + capacity).collect::<Vec<_>>(), "in put order");
        buffer.close();
        assert_eq!(
            buffer.try_get_batch_numbered(&mut out, 4),
            Err(TryGetError::Closed),
            "capacity {capacity}"
        );
        let stats = buffer.stats();
        assert_eq!(
            (stats.items_got, stats.get_waits),
            (capacity as u64, 0),
            "a try never waits"
        );
    }
}

#[test]
fn a_batch_get_with_a_deadline_times_out_empty_and_takes_items_in_every_layout() {
    for (capacity, buffer) in each_layout::<u32>() {
        let (mut out, mut waited) = (Vec::new(), Duration::ZERO);
        let soon = Instant::now() + Duration::from_millis(2);
        assert_eq!(
            buffer.get_batch_numbered_deadline(&mut out, 4, soon, &mut waited),
            Err(GetTimeoutError::Timeout),
            "capacity {capacity}"
        );
        assert!(
            waited > Duration::ZERO,
            "capacity {capacity}: the wait is reported"
        );
        buffer.put(5).unwrap();
        assert_eq!(
            buffer.get_batch_numbered_deadline(&mut out, 4, Instant::now(), &mut waited),
            Ok(0..1),
            "capacity {capacity}: an item there is taken even past the deadline"
        );
        buffer.close();
        assert_eq!(
            buffer.get_batch_numbered_deadline(&mut out, 4, soon, &mut waited),
            Err(GetTimeoutError::Closed),
            "capacity {capacity}"
        );
        assert_eq!(out, [5], "capacity {capacity}");
    }
}
