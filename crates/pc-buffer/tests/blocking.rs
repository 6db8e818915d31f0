//! Blocking behaviour across threads: put waits while full, get waits while empty, close wakes everyone, and the wait statistics record it.

mod common;

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use common::{each_layout, queue_layouts, until, until_blocked};
use pc_buffer::{BoundedBuffer, GetError};

#[test]
fn put_blocks_while_full_until_a_get_makes_room() {
    for (capacity, buffer) in each_layout() {
        buffer.put_batch((0..capacity).collect()).unwrap();
        thread::scope(|s| {
            let producer = s.spawn(|| buffer.put(10));
            until_blocked(&buffer, 1, 0);
            assert_eq!(
                buffer.len(),
                capacity,
                "the blocked put must not have delivered"
            );
            assert_eq!(buffer.get(), Ok(0));
            assert_eq!(producer.join().unwrap(), Ok(()));
        });
        let rest: Vec<_> = buffer.try_iter().collect();
        assert_eq!(rest, (1..capacity).chain([10]).collect::<Vec<_>>());
        let stats = buffer.stats();
        assert_eq!(stats.put_waits, 1);
        assert!(stats.put_wait_time > std::time::Duration::ZERO);
        assert_eq!(stats.producers_waiting, 0);
    }
}

#[test]
fn get_blocks_while_empty_until_a_put() {
    for (_, buffer) in each_layout() {
        thread::scope(|s| {
            let consumer = s.spawn(|| buffer.get());
            until_blocked(&buffer, 0, 1);
            buffer.put("item").unwrap();
            assert_eq!(consumer.join().unwrap(), Ok("item"));
        });
        let stats = buffer.stats();
        assert_eq!(stats.get_waits, 1);
        assert!(stats.get_wait_time > std::time::Duration::ZERO);
        assert_eq!(stats.consumers_waiting, 0);
    }
}

#[test]
fn batch_get_blocks_for_at_least_one_item() {
    for buffer in queue_layouts(4) {
        thread::scope(|s| {
            let consumer = s.spawn(|| buffer.get_batch(4));
            until_blocked(&buffer, 0, 1);
            buffer.put(7).unwrap();
            assert_eq!(consumer.join().unwrap(), Ok(vec![7]));
        });
    }
}

#[test]
fn one_batch_get_wakes_every_producer_it_made_room_for() {
    for buffer in queue_layouts(3) {
        buffer.put_batch(vec![0, 0, 0]).unwrap();
        thread::scope(|s| {
            let producers: Vec<_> = (1..=3)
                .map(|i| {
                    let buffer = &buffer;
                    s.spawn(move || buffer.put(i))
                })
                .collect();
            until_blocked(&buffer, 3, 0);
            assert_eq!(buffer.get_batch(3), Ok(vec![0, 0, 0]));
            for producer in producers {
                assert_eq!(producer.join().unwrap(), Ok(()));
            }
        });
        let mut rest = buffer.get_batch(3).unwrap();
        rest.sort_unstable();
        assert_eq!(rest, [1, 2, 3]);
    }
}

#[test]
fn close_wakes_every_blocked_producer_with_its_item() {
    for (capacity, buffer) in each_layout() {
        buffer.put_batch((0..capacity).collect()).unwrap();
        thread::scope(|s| {
            let producers: Vec<_> = (10..14)
                .map(|i| {
                    let buffer = &buffer;
                    s.spawn(move || buffer.put(i))
                })
                .collect();
            until_blocked(&buffer, 4, 0);
            assert!(buffer.close());
            let mut back: Vec<usize> = producers
                .into_iter()
                .map(|p| p.join().unwrap().unwrap_err().into_inner())
                .collect();
            back.sort_unstable();
            assert_eq!(back, [10, 11, 12, 13]);
        });
        assert_eq!(
            buffer.iter().collect::<Vec<_>>(),
            (0..capacity).collect::<Vec<_>>()
        );
        assert_eq!(buffer.get(), Err(GetError));
    }
}

#[test]
fn close_wakes_every_blocked_consumer() {
    for buffer in queue_layouts::<u8>(2) {
        thread::scope(|s| {
            let consumers: Vec<_> = (0..4).map(|_| s.spawn(|| buffer.get())).collect();
            let batch_consumer = s.spawn(|| buffer.get_batch(8));
            until_blocked(&buffer, 0, 5);
            buffer.close();
            for consumer in consumers {
                assert_eq!(consumer.join().unwrap(), Err(GetError));
            }
            assert_eq!(batch_consumer.join().unwrap(), Err(GetError));
        });
        assert_eq!(buffer.stats().consumers_waiting, 0);
    }
}

#[test]
fn close_during_batch_put_hands_back_exactly_the_undelivered_items() {
    for buffer in queue_layouts(2) {
        thread::scope(|s| {
            let producer = s.spawn(|| buffer.put_batch((0..10).collect()));
            // The batch fills the buffer, then blocks with 8 items left.
            until_blocked(&buffer, 1, 0);
            assert_eq!(buffer.get(), Ok(0));
            // It delivers one more after the room is made, then blocks again. (Right after the
            // get it still counts as waiting, being woken, so wait for the refill too.)
            until(&buffer, |stats| {
                stats.len == 2 && stats.producers_waiting == 1
            });
            buffer.close();
            let back = producer.join().unwrap().unwrap_err().into_inner();
            let delivered: Vec<i32> = buffer.iter().collect();
            assert_eq!(delivered, [1, 2]);
            assert_eq!(back, (3..10).collect::<Vec<_>>());
        });
    }
}

#[test]
fn shared_through_arc_across_spawned_threads() {
    let buffer = Arc::new(BoundedBuffer::new(2).unwrap());
    let producer = {
        let buffer = Arc::clone(&buffer);
        thread::spawn(move || {
            for i in 0..1000u64 {
                buffer.put(i).unwrap();
            }
            buffer.close();
        })
    };
    let consumer = {
        let buffer = Arc::clone(&buffer);
        thread::spawn(move || buffer.iter().collect::<Vec<_>>())
    };
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), (0..1000).collect::<Vec<_>>());
}

/// Producers and consumers use different locks, and a producer learns of room through the count
/// of items taken: that count must be published by the take itself, so that once a `get` has
/// returned on one thread, a `try_put` that happens after it on another thread finds the room,
/// and a `try_get` after a `put` finds the item.
#[test]
fn a_take_or_a_put_is_seen_at_once_by_the_other_side() {
    let buffer = BoundedBuffer::new(1).unwrap();
    thread::scope(|s| {
        // Created inside the scope, so that a failed assertion here drops `next` and the
        // consumer's `recv` fails instead of waiting forever.
        let (took, seen) = mpsc::channel();
        let (next, go) = mpsc::channel::<()>();
        let buffer = &buffer;
        s.spawn(move || {
            for round in 0..2_000 {
                assert_eq!(buffer.get(), Ok(round));
                took.send(()).unwrap();
                go.recv().unwrap();
                assert_eq!(buffer.try_get(), Ok(-round), "an item put was not seen");
            }
        });
        buffer.put(0).unwrap();
        for round in 0..2_000 {
            seen.recv().unwrap();
            // The consumer has taken the only item: the room must be visible right now.
            assert_eq!(buffer.try_put(-round), Ok(()), "the room made was not seen");
            next.send(()).unwrap();
            if round + 1 < 2_000 {
                // The consumer took `-round` with `try_get` only after this `send`; put the
                // next round's item once the buffer is seen empty again.
                buffer.put(round + 1).unwrap();
            }
        }
    });
    assert!(buffer.is_empty());
}

#[test]
fn the_waited_operations_add_exactly_the_waits_the_stats_count() {
    for (capacity, buffer) in each_layout() {
        let mut waited = Duration::ZERO;
        // Room and items at once: nothing waits, nothing is added.
        buffer.put_waited(0, &mut waited).unwrap();
        let mut items = vec![1];
        if capacity > 1 {
            buffer
                .put_batch_from_waited(&mut items, &mut waited)
                .unwrap();
        }
        let mut out = Vec::new();
        buffer
            .get_batch_into_waited(&mut out, 1, &mut waited)
            .unwrap();
        assert_eq!((out.as_slice(), waited), ([0].as_slice(), Duration::ZERO));
        buffer.try_iter().for_each(drop);

        // A put that waits for room, a batch put that waits for room, a get that waits for an
        // item: each adds its own wait, which the stats count too.
        buffer.put_batch((0..capacity).collect()).unwrap();
        let (mut put_waited, mut batch_waited, mut get_waited) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        thread::scope(|s| {
            s.spawn(|| buffer.put_waited(10, &mut put_waited).unwrap());
            until_blocked(&buffer, 1, 0);
            assert_eq!(buffer.get(), Ok(0));
        });
        assert!(put_waited > Duration::ZERO);
        assert_eq!(put_waited, buffer.stats().put_wait_time);
        let mut batch = vec![11];
        thread::scope(|s| {
            s.spawn(|| {
                buffer
                    .put_batch_from_waited(&mut batch, &mut batch_waited)
                    .unwrap()
            });
            until_blocked(&buffer, 1, 0);
            assert_eq!(buffer.get(), Ok(if capacity == 1 { 10 } else { 1 }));
        });
        assert!(batch_waited > Duration::ZERO);
        assert_eq!(put_waited + batch_waited, buffer.stats().put_wait_time);
        buffer.try_iter().for_each(drop);
        thread::scope(|s| {
            let consumer = s.spawn(|| {
                let mut out = Vec::new();
                buffer
                    .get_batch_numbered_waited(&mut out, 4, &mut get_waited)
                    .map(|numbers| (numbers, out))
            });
            until_blocked(&buffer, 0, 1);
            buffer.put(20).unwrap();
            let (numbers, out) = consumer.join().unwrap().unwrap();
            assert_eq!((numbers.len(), out), (1, vec![20]));
        });
        assert!(get_waited > Duration::ZERO);
        assert_eq!(get_waited, buffer.stats().get_wait_time);
        assert_eq!(buffer.stats().put_waits, 2);
    }
}

#[test]
fn a_consumer_that_comes_after_close_takes_what_is_left_then_ends_at_once() {
    for (_, buffer) in each_layout::<u32>() {
        buffer.put(5).unwrap();
        buffer.close();
        thread::scope(|s| {
            let late = s.spawn(|| {
                let first = buffer.get();
                // An hour: the test hangs if a get waits on a closed buffer.
                let timed = buffer.get_timeout(Duration::from_secs(3600));
                (first, timed, buffer.get_batch(4), buffer.get())
            });
            let (first, timed, batch, last) = late.join().unwrap();
            assert_eq!(first, Ok(5));
            assert_eq!(timed, Err(pc_buffer::GetTimeoutError::Closed));
            assert_eq!(batch, Err(GetError));
            assert_eq!(last, Err(GetError));
        });
        assert_eq!(buffer.stats().get_waits, 0, "nothing waited");
    }
}

/// At capacities near `usize::MAX` no room, count or pause computation may overflow (the tests
/// run with overflow checks): a producer mixing single and batch puts contends with consumers
/// mixing single, batch and numbered gets, and every item arrives once, in order per kind.
#[test]
fn capacities_near_usize_max_overflow_nothing_under_contention() {
    for capacity in [usize::MAX, usize::MAX - 1, 1 << 63] {
        for buffer in queue_layouts::<u64>(capacity) {
            const N: u64 = 20_000;
            let (sum, count) = thread::scope(|s| {
                let producer = s.spawn(|| {
                    let mut i = 0;
                    while i < N {
                        if i % 3 == 0 {
                            let end = (i + 50).min(N);
                            buffer.put_batch((i..end).collect()).unwrap();
                            i = end;
                        } else {
                            buffer.put(i).unwrap();
                            i += 1;
                        }
                        assert!(!buffer.is_full());
                    }
                    buffer.close();
                });
                let consumers: Vec<_> = (0..2)
                    .map(|c| {
                        let buffer = &buffer;
                        s.spawn(move || {
                            let (mut sum, mut count, mut out) = (0u64, 0u64, Vec::new());
                            loop {
                                let got = match c {
                                    0 => buffer.get().map(|x| out.push(x)).is_ok(),
                                    _ => buffer.get_batch_numbered(&mut out, 64).is_ok(),
                                };
                                if !got {
                                    break;
                                }
                                count += out.len() as u64;
                                sum += out.drain(..).sum::<u64>();
                            }
                            (sum, count)
                        })
                    })
                    .collect();
                producer.join().unwrap();
                consumers
                    .into_iter()
                    .map(|c| c.join().unwrap())
                    .fold((0, 0), |(s, n), (s2, n2)| (s + s2, n + n2))
            });
            assert_eq!((sum, count), (N * (N - 1) / 2, N));
            let stats = buffer.stats();
            assert_eq!((stats.items_put, stats.items_got), (N, N));
            assert_eq!(stats.capacity, capacity);
        }
    }
}
