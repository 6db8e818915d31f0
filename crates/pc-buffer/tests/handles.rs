//! Put and get handles: the last put handle closes the buffer, the last get handle makes puts fail with their items back, a panicking thread's handle unwinds, and both handles are whole buffers to generic code.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::DropCounter;
use pc_buffer::{
    BoundedBuffer, Buffer, BufferPutError, BufferStats, GetError, GetHandle, PutError, PutHandle,
    PutTimeoutError, TryPutError,
};

/// Each layout, split into handles: the slot, two halves, one queue for batches.
fn each_layout_handles<T>() -> [(PutHandle<T>, GetHandle<T>); 3] {
    [
        BoundedBuffer::new(1).unwrap().into_handles(),
        BoundedBuffer::new(3).unwrap().into_handles(),
        BoundedBuffer::for_batches(3).unwrap().into_handles(),
    ]
}

/// Returns once `condition` holds for the buffer's stats (its own bookkeeping, no sleep).
fn until(stats: impl Fn() -> BufferStats, condition: impl Fn(&BufferStats) -> bool) {
    while !condition(&stats()) {
        thread::yield_now();
    }
}

#[test]
fn a_panicking_producer_closes_its_side_and_every_item_put_is_delivered() {
    for (put, get) in each_layout_handles::<u64>() {
        let delivered = {
            let steady = {
                let put = put.clone();
                thread::spawn(move || (0..200).for_each(|i| put.put(i).unwrap()))
            };
            let failing = {
                let put = put.clone();
                thread::spawn(move || {
                    for i in 1000..1050 {
                        put.put(i).unwrap();
                    }
                    panic!("a producer fails half way");
                })
            };
            drop(put);
            // Ends only because the failing producer's handle unwound with it.
            let delivered: Vec<u64> = get.iter().collect();
            steady.join().unwrap();
            assert!(failing.join().is_err());
            delivered
        };
        let mut sorted = delivered;
        sorted.sort_unstable();
        let expected: Vec<u64> = (0..200).chain(1000..1050).collect();
        assert_eq!(sorted, expected);
        assert!(get.is_closed());
        assert_eq!(get.get(), Err(GetError));
    }
}

#[test]
fn a_panicking_consumer_fails_every_put_with_its_item_and_strands_the_rest() {
    for (put, get) in each_layout_handles::<u64>() {
        let taken = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (consumer, handed_back) = {
            // The only get handle goes with the consumer when it panics.
            let consumer = {
                let taken = Arc::clone(&taken);
                thread::spawn(move || {
                    for _ in 0..5 {
                        let item = get.get().unwrap();
                        taken.lock().unwrap().push(item);
                    }
                    panic!("the consumer fails");
                })
            };
            let producers: Vec<_> = (0..3u64)
                .map(|p| {
                    let put = put.clone();
                    thread::spawn(move || {
                        let mut i = 0;
                        loop {
                            match put.put(p * 1000 + i) {
                                Ok(()) => i += 1,
                                Err(err) => return (i, err),
                            }
                        }
                    })
                })
                .collect();
            let handed_back: Vec<(u64, PutError<u64>)> =
                producers.into_iter().map(|p| p.join().unwrap()).collect();
            (consumer.join(), handed_back)
        };
        assert!(consumer.is_err());
        let taken = taken.lock().unwrap().len() as u64;
        assert_eq!(taken, 5);
        let mut put_count = 0;
        for (p, (succeeded, err)) in handed_back.into_iter().enumerate() {
            assert!(err.is_no_consumer(), "{err:?}");
            assert_eq!(
                err.to_string(),
                "putting into a buffer with no consumer left"
            );
            // The item handed back is the one after the last that went in.
            assert_eq!(err.into_inner(), p as u64 * 1000 + succeeded);
            put_count += succeeded;
        }
        // Every item put was taken or is stranded in the buffer.
        assert_eq!(put_count, taken + put.len() as u64);
        assert!(put.len() <= put.capacity());
    }
}

#[test]
fn the_last_get_handle_strands_the_items_and_the_last_handle_drops_them_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (put, get) = pc_buffer::handles(4).unwrap();
    for id in 0..3 {
        put.put(DropCounter::new(id, &drops)).unwrap();
    }
    assert_eq!(get.get().unwrap().id, 0);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let second = get.clone();
    drop(get);
    // A get handle is left: puts still work.
    put.put(DropCounter::new(3, &drops)).unwrap();
    drop(second);
    let err = put.put(DropCounter::new(4, &drops)).unwrap_err();
    assert!(err.is_no_consumer());
    assert_eq!(err.into_inner().id, 4);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    let rest = put
        .put_batch(vec![
            DropCounter::new(5, &drops),
            DropCounter::new(6, &drops),
        ])
        .unwrap_err();
    assert!(rest.is_no_consumer());
    let ids: Vec<usize> = rest.into_inner().iter().map(|d| d.id).collect();
    assert_eq!(ids, [5, 6]);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    assert_eq!(put.len(), 3, "items 1, 2 and 3 are stranded");
    drop(put);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        7,
        "each item dropped exactly once"
    );
}

#[test]
fn every_kind_of_put_says_no_consumer_is_left() {
    for (put, get) in each_layout_handles::<u32>() {
        drop(get);
        assert!(put.is_closed());
        assert_eq!(put.try_put(1), Err(TryPutError::NoConsumer(1)));
        assert_eq!(
            put.put_timeout(2, Duration::from_secs(60)),
            Err(PutTimeoutError::NoConsumer(2))
        );
        let mut batch = vec![3, 4];
        assert_eq!(
            put.put_batch_from(&mut batch),
            Err(PutError::NoConsumer(vec![3, 4]))
        );
        match Buffer::put(&put, 5) {
            Err(BufferPutError::NoConsumer(5)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_timed_put_blocked_on_a_full_buffer_fails_at_once_when_the_consumers_go() {
    for (put, get) in each_layout_handles::<u32>() {
        let capacity = put.capacity();
        put.put_batch((0..capacity as u32).collect()).unwrap();
        let blocked = {
            let put = put.clone();
            // An hour: the test hangs if the last consumer going does not wake it.
            thread::spawn(move || put.put_timeout(99, Duration::from_secs(3600)))
        };
        until(|| get.stats(), |s| s.producers_waiting == 1);
        drop(get);
        assert_eq!(
            blocked.join().unwrap(),
            Err(PutTimeoutError::NoConsumer(99))
        );
        assert_eq!(put.len(), capacity);
    }
}

#[test]
fn an_explicit_close_still_works_and_says_closed_while_consumers_remain() {
    for (put, get) in each_layout_handles::<u32>() {
        put.put(1).unwrap();
        assert!(get.close());
        assert_eq!(put.put(2), Err(PutError::Closed(2)));
        assert_eq!(get.iter().collect::<Vec<_>>(), [1]);
        // Closed explicitly, then the consumers go: puts now say why nobody will take them.
        drop(get);
        assert_eq!(put.put(3), Err(PutError::NoConsumer(3)));
    }
}

#[test]
fn consumers_drain_after_the_last_put_handle_goes() {
    for (put, get) in each_layout_handles::<u32>() {
        let waiting = {
            let get = get.clone();
            thread::spawn(move || get.get())
        };
        until(|| get.stats(), |s| s.consumers_waiting == 1);
        put.put(7).unwrap();
        assert_eq!(waiting.join().unwrap(), Ok(7));
        let blocked: Vec<_> = (0..2)
            .map(|_| {
                let get = get.clone();
                thread::spawn(move || get.get())
            })
            .collect();
        until(|| get.stats(), |s| s.consumers_waiting == 2);
        drop(put);
        for consumer in blocked {
            assert_eq!(consumer.join().unwrap(), Err(GetError));
        }
    }
}

#[test]
fn clones_racing_drops_close_only_when_the_last_handle_goes() {
    for _ in 0..200 {
        let (put, get) = pc_buffer::handles::<usize>(64).unwrap();
        thread::scope(|s| {
            for t in 0..4 {
                let put = put.clone();
                s.spawn(move || {
                    for i in 0..8 {
                        let again = put.clone();
                        again.put(t * 100 + i).unwrap();
                        drop(again);
                    }
                });
            }
        });
        // Four threads cloned and dropped 36 handles; the first one is still here.
        assert!(!get.is_closed());
        put.put(999).unwrap();
        drop(put);
        assert!(get.is_closed());
        let mut all: Vec<usize> = get.iter().collect();
        all.sort_unstable();
        let mut expected: Vec<usize> = (0..4)
            .flat_map(|t| (0..8).map(move |i| t * 100 + i))
            .collect();
        expected.push(999);
        assert_eq!(all, expected);
    }
}

/// Generic code over the trait sees each handle as a whole buffer.
fn move_through<B: Buffer<u32>>(into: &B, from: &B, items: u32) -> u32 {
    let mut sum = 0;
    for i in 0..items {
        into.put(i).unwrap();
        sum += from.get().unwrap();
    }
    sum
}

#[test]
fn handles_are_buffers_to_generic_code() {
    let (put, get) = pc_buffer::handles::<u32>(2).unwrap();
    assert_eq!(move_through(&put, &put, 10), 45);
    assert_eq!(move_through(&get, &get, 10), 45);
    assert_eq!(Buffer::capacity(&put), 2);
    let stats = Buffer::stats(&get);
    assert_eq!((stats.items_put, stats.items_got), (20, 20));
    drop(put);
    assert!(Buffer::is_closed(&get));
    assert!(format!("{get:?}").contains("closed: true"));
}
