//! Many producers and consumers at once, with single and batch operations mixed: nothing lost, nothing duplicated, each producer's stream in order.

use std::thread;
use std::time::Duration;

use pc_buffer::{BoundedBuffer, GetTimeoutError, TryPutError};

/// An item tagged with the producer that put it and its position in that producer's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tagged {
    producer: usize,
    seq: u64,
}

/// [`run_on`] a buffer of `capacity` in each layout: `new`'s and `for_batches`'.
fn run(capacity: usize, producers: usize, consumers: usize, per_producer: u64) {
    run_on(
        BoundedBuffer::new(capacity).unwrap(),
        producers,
        consumers,
        per_producer,
    );
    run_on(
        BoundedBuffer::for_batches(capacity).unwrap(),
        producers,
        consumers,
        per_producer,
    );
}

/// Runs `producers` producers of `per_producer` items each against `consumers` consumers, and
/// checks the count, the sum, exactly-once delivery and per-producer FIFO order.
fn run_on(buffer: BoundedBuffer<Tagged>, producers: usize, consumers: usize, per_producer: u64) {
    let capacity = buffer.capacity();
    let received: Vec<Vec<Tagged>> = thread::scope(|s| {
        let producer_handles: Vec<_> = (0..producers)
            .map(|producer| {
                let buffer = &buffer;
                s.spawn(move || {
                    let mut seq = 0;
                    // Reused by `put_batch_from`, large enough that a batch may swap
                    // allocations with the buffer.
                    let mut reused = Vec::with_capacity(capacity.min(4096));
                    while seq < per_producer {
                        // Producers put one at a time, in batches of up to 7 (owned and from
                        // a reused `Vec`, in turns), or with `try_put`, retrying while the
                        // buffer is full.
                        if producer % 3 == 0 {
                            buffer.put(Tagged { producer, seq }).unwrap();
                            seq += 1;
                        } else if producer % 3 == 2 {
                            let mut item = Tagged { producer, seq };
                            while let Err(full) = buffer.try_put(item) {
                                item = match full {
                                    TryPutError::Full(item) => item,
                                    TryPutError::Closed(_) | TryPutError::NoConsumer(_) => {
                                        panic!("closed while producing")
                                    }
                                };
                                thread::yield_now();
                            }
                            seq += 1;
                        } else {
                            let end = (seq + 7).min(per_producer);
                            let batch = (seq..end).map(|seq| Tagged { producer, seq });
                            if seq % 2 == 0 {
                                buffer.put_batch(batch.collect()).unwrap();
                            } else {
                                reused.extend(batch);
                                buffer.put_batch_from(&mut reused).unwrap();
                                assert!(reused.is_empty());
                            }
                            seq = end;
                        }
                    }
                })
            })
            .collect();
        let consumer_handles: Vec<_> = (0..consumers)
            .map(|consumer| {
                let buffer = &buffer;
                s.spawn(move || {
                    // Consumers take one at a time, in batches of up to 5, or with a short
                    // timeout, going on after each timeout until the buffer is closed.
                    let mut got = Vec::new();
                    match consumer % 3 {
                        0 => {
                            while let Ok(item) = buffer.get() {
                                got.push(item);
                            }
                        }
                        1 => while buffer.get_batch_into(&mut got, 5).is_ok() {},
                        _ => loop {
                            match buffer.get_timeout(Duration::from_micros(50)) {
                                Ok(item) => got.push(item),
                                Err(GetTimeoutError::Timeout) => {}
                                Err(GetTimeoutError::Closed) => break,
                            }
                        },
                    }
                    got
                })
            })
            .collect();
        for producer in producer_handles {
            producer.join().unwrap();
        }
        buffer.close();
        consumer_handles
            .into_iter()
            .map(|c| c.join().unwrap())
            .collect()
    });

    let total = producers as u64 * per_producer;
    let count: u64 = received.iter().map(|got| got.len() as u64).sum();
    assert_eq!(count, total, "items lost or duplicated");
    let sum: u64 = received.iter().flatten().map(|t| t.seq).sum();
    assert_eq!(
        sum,
        producers as u64 * (per_producer * (per_producer - 1) / 2)
    );

    // Within one consumer, each producer's items come in the order that producer put them.
    for got in &received {
        let mut last = vec![None; producers];
        for item in got {
            assert!(
                last[item.producer] < Some(item.seq),
                "reordered within a producer"
            );
            last[item.producer] = Some(item.seq);
        }
    }
    // Exactly once: every (producer, seq) pair seen once.
    let mut seen = vec![vec![false; per_producer as usize]; producers];
    for item in received.iter().flatten() {
        let slot = &mut seen[item.producer][item.seq as usize];
        assert!(!*slot, "duplicated {item:?}");
        *slot = true;
    }
    let stats = buffer.stats();
    assert_eq!((stats.items_put, stats.items_got), (total, total));
    assert!(stats.high_water <= capacity);
    assert_eq!((stats.producers_waiting, stats.consumers_waiting), (0, 0));
}

#[test]
fn mpmc_capacity_1() {
    run(1, 4, 4, 5_000);
}

#[test]
fn mpmc_capacity_16() {
    run(16, 4, 4, 50_000);
}

#[test]
fn mpmc_capacity_1024() {
    run(1024, 4, 4, 50_000);
}

#[test]
fn many_producers_one_consumer() {
    run(8, 8, 1, 20_000);
}

#[test]
fn one_producer_many_consumers() {
    run(8, 1, 8, 100_000);
}

/// One producer puts 0, 1, 2, ... so each item's value is its position in put order; consumers
/// take with numbered, plain and batch gets mixed. Every numbered item carries its value as its
/// number, and between them the consumers take every value exactly once.
#[test]
fn numbers_follow_put_order_across_consumers() {
    numbers_follow_put_order(16, 100_000);
}

/// As above at capacity 1, the one-slot buffer, which numbers items in its own way: the ways of
/// taking share one numbering there too.
#[test]
fn numbers_follow_put_order_across_consumers_at_capacity_1() {
    numbers_follow_put_order(1, 20_000);
}

fn numbers_follow_put_order(capacity: usize, items: usize) {
    let layouts = [
        BoundedBuffer::new(capacity),
        BoundedBuffer::for_batches(capacity),
    ];
    for buffer in layouts.map(Result::unwrap) {
        numbers_follow_put_order_on(buffer, items);
    }
}

fn numbers_follow_put_order_on(buffer: BoundedBuffer<usize>, items: usize) {
    let taken: Vec<Vec<usize>> = thread::scope(|s| {
        let consumers: Vec<_> = (0..3)
            .map(|consumer| {
                let buffer = &buffer;
                s.spawn(move || {
                    let mut values = Vec::new();
                    let (mut numbered, mut batch) = (Vec::new(), Vec::new());
                    loop {
                        let more = match consumer {
                            0 => buffer
                                .get_batch_numbered(&mut batch, 5)
                                .map(|numbers| numbered.extend(numbers.zip(batch.drain(..))))
                                .is_ok(),
                            1 => buffer
                                .get_numbered()
                                .map(|pair| numbered.push(pair))
                                .is_ok(),
                            _ => buffer.get_batch_into(&mut values, 3).is_ok(),
                        };
                        for (number, value) in numbered.drain(..) {
                            assert_eq!(number, value, "consumer {consumer}");
                            values.push(value);
                        }
                        if !more {
                            return values;
                        }
                    }
                })
            })
            .collect();
        for value in 0..items {
            buffer.put(value).unwrap();
        }
        buffer.close();
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let mut all: Vec<usize> = taken.into_iter().flatten().collect();
    all.sort_unstable();
    assert!(all.into_iter().eq(0..items));
    let stats = buffer.stats();
    assert_eq!(
        (stats.items_put, stats.items_got),
        (items as u64, items as u64)
    );
}
