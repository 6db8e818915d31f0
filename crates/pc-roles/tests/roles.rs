//! Producer and consumer roles against the in-memory buffer and a failing one: counts, order, callbacks, stop flags, panics and hand-backs.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pc_roles::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, ConsumerRole, Flow,
    ProducerRole, Role, StopCause, from_fn,
};

/// A consumer sink that keeps every output and counts failures.
fn keep_all<R, E>(outputs: &mut Vec<R>, failures: &mut usize) -> impl FnMut(Result<R, E>) -> Flow {
    move |outcome| {
        match outcome {
            Ok(output) => outputs.push(output),
            Err(_) => *failures += 1,
        }
        Flow::Continue
    }
}

fn panic_text(cause: &StopCause<Infallible>) -> (Role, &str) {
    match cause {
        StopCause::Panicked { role, message } => (*role, message),
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn a_producer_and_a_consumer_move_every_item_in_order_with_callbacks() {
    let buffer = BoundedBuffer::new(3).unwrap();
    let produced = Mutex::new(Vec::new());
    let consumed = Mutex::new(Vec::new());
    let outputs = std::thread::scope(|s| {
        s.spawn(|| {
            let report = ProducerRole::new()
                .on_produce(|item: &u32, count, len| {
                    assert!(len <= 3, "buffer length {len} after a put");
                    produced.lock().unwrap().push((*item, count));
                })
                .run(0..500_u32, &buffer)
                .unwrap();
            assert_eq!(report.items, 500);
            buffer.close();
        });
        let mut outputs = Vec::new();
        let report = ConsumerRole::new()
            .batch(2)
            .on_consume(|out: &u64, count, len| {
                assert!(len <= 3);
                consumed.lock().unwrap().push((*out, count));
            })
            .run(
                from_fn(|x: u32| u64::from(x) * 2),
                &buffer,
                |r: Result<u64, _>| {
                    outputs.push(r.unwrap());
                    Flow::Continue
                },
            )
            .unwrap();
        assert_eq!(report.items, 500);
        outputs
    });
    assert_eq!(outputs, (0..500).map(|x| x * 2).collect::<Vec<u64>>());
    let produced = produced.into_inner().unwrap();
    assert_eq!(
        produced,
        (0..500).map(|i| (i, i as usize + 1)).collect::<Vec<_>>()
    );
    let consumed = consumed.into_inner().unwrap();
    assert_eq!(
        consumed,
        (0..500)
            .map(|i| (i * 2, i as usize + 1))
            .collect::<Vec<_>>()
    );
}

#[test]
fn chunked_producers_and_batched_consumers_deliver_exactly_once() {
    let buffer = BoundedBuffer::new(16).unwrap();
    let source = Mutex::new(0..20_000_u64);
    let stop = AtomicBool::new(false);
    let producers_left = AtomicUsize::new(2);
    let seen: Vec<Vec<u64>> = std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                ProducerRole::new()
                    .chunk(7)
                    .run_shared(&source, &buffer, &stop)
                    .unwrap();
                if producers_left.fetch_sub(1, Ordering::AcqRel) == 1 {
                    buffer.close();
                }
            });
        }
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let (mut mine, mut failed) = (Vec::new(), 0);
                    let sink = keep_all(&mut mine, &mut failed);
                    let role = ConsumerRole::new().batch(5);
                    role.clone()
                        .run_until(|x: u64| Ok::<_, ()>(x), &buffer, &stop, sink)
                        .unwrap();
                    assert_eq!(failed, 0);
                    mine
                })
            })
            .collect();
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = seen.iter().flatten().copied().collect();
    assert_eq!(all.len(), 20_000);
    assert_eq!(all.iter().sum::<u64>(), 20_000 * 19_999 / 2);
    all.sort_unstable();
    assert!(all.iter().copied().eq(0..20_000));
    for mine in &seen {
        assert!(
            mine.is_sorted(),
            "one consumer sees the buffer's order, which is the source's"
        );
    }
    let stats = buffer.stats();
    assert_eq!((stats.items_put, stats.items_got), (20_000, 20_000));
}

#[test]
fn a_producer_on_a_closed_buffer_hands_back_the_item_in_hand() {
    let buffer = BoundedBuffer::new(4).unwrap();
    buffer.put(0).unwrap();
    buffer.close();
    let mut rest = 1..10;
    let err = ProducerRole::new()
        .chunk(3)
        .run(&mut rest, &buffer)
        .unwrap_err();
    assert_eq!(err.cause, StopCause::Closed);
    assert_eq!(err.into_inner(), [1, 2, 3]);
    assert!(rest.eq(4..10), "items never pulled stay in the source");
}

#[test]
fn a_panicking_source_is_caught_named_and_stops_the_run() {
    for panic_at in [0, 5, 9] {
        let buffer = BoundedBuffer::new(100).unwrap();
        let stop = AtomicBool::new(false);
        let source = Mutex::new((0..10).inspect(|&i| {
            assert!(i != panic_at, "source broke at {i}");
        }));
        let err = ProducerRole::new()
            .chunk(4)
            .run_shared(&source, &buffer, &stop)
            .unwrap_err();
        assert_eq!(
            panic_text(&err.cause),
            (
                Role::Producer,
                format!("source broke at {panic_at}").as_str()
            )
        );
        assert!(err.unprocessed.is_empty());
        assert_eq!(
            err.report.items, panic_at,
            "items pulled before the panic are delivered"
        );
        assert!(stop.load(Ordering::Relaxed) && buffer.is_closed());
        assert!(buffer.try_iter().eq(0..panic_at));
        // A second producer sharing the source does not touch it again.
        let err = ProducerRole::new()
            .run_shared(&source, &buffer, &stop)
            .unwrap_err();
        assert_eq!(err.cause, StopCause::Stopped);
        assert!(!source.is_poisoned());
    }
}

#[test]
fn a_panicking_on_produce_stops_after_the_item_was_delivered() {
    let buffer = BoundedBuffer::new(10).unwrap();
    let err = ProducerRole::new()
        .on_produce(|item: &i32, _, _| assert!(*item != 3, "callback refused {item}"))
        .run(0..10, &buffer)
        .unwrap_err();
    assert_eq!(
        panic_text(&err.cause),
        (Role::OnProduce, "callback refused 3")
    );
    assert_eq!(err.report.items, 4);
    assert!(buffer.is_closed());
    assert!(buffer.try_iter().eq(0..4));
}

#[test]
fn a_consumer_panic_hands_back_the_rest_of_its_batch() {
    let buffer = BoundedBuffer::new(10).unwrap();
    buffer.put_batch((0..10).collect()).unwrap();
    let stop = AtomicBool::new(false);
    let (mut outputs, mut failures) = (Vec::new(), 0);
    let err = ConsumerRole::new()
        .batch(6)
        .run_until(
            from_fn(|x: i32| {
                assert!(x != 2, "cannot process {x}");
                x
            }),
            &buffer,
            &stop,
            keep_all(&mut outputs, &mut failures),
        )
        .unwrap_err();
    assert_eq!(panic_text(&err.cause), (Role::Consumer, "cannot process 2"));
    assert_eq!(
        err.report.items, 3,
        "0, 1 and the panicking 2 were processed"
    );
    assert_eq!(outputs, [0, 1]);
    assert_eq!(err.unprocessed, [3, 4, 5]);
    assert!(stop.load(Ordering::Relaxed) && buffer.is_closed());
    assert!(
        buffer.try_iter().eq(6..10),
        "what was never taken stays in the buffer"
    );
}

#[test]
fn a_panicking_on_consume_still_delivers_its_output() {
    let buffer = BoundedBuffer::new(10).unwrap();
    buffer.put_batch((0..5).collect()).unwrap();
    buffer.close();
    let (mut outputs, mut failures) = (Vec::new(), 0);
    let err = ConsumerRole::new()
        .batch(10)
        .on_consume(|out: &i32, count, _| assert!(count < 2, "callback broke on {out}"))
        .run(
            from_fn(|x: i32| x),
            &buffer,
            keep_all(&mut outputs, &mut failures),
        )
        .unwrap_err();
    assert_eq!(
        panic_text(&err.cause),
        (Role::OnConsume, "callback broke on 1")
    );
    assert_eq!(outputs, [0, 1]);
    assert_eq!(err.unprocessed, [2, 3, 4]);
}

#[test]
fn a_sink_that_stops_hands_back_the_batch_and_stops_the_others() {
    let buffer = BoundedBuffer::new(10).unwrap();
    buffer.put_batch((0..10).collect()).unwrap();
    let stop = AtomicBool::new(false);
    let mut outcomes = Vec::new();
    let err = ConsumerRole::new()
        .batch(4)
        .run_until(
            |x: i32| if x == 1 { Err("odd one") } else { Ok(x) },
            &buffer,
            &stop,
            |outcome: Result<i32, &'static str>| {
                let flow = if outcome.is_err() {
                    Flow::Stop
                } else {
                    Flow::Continue
                };
                outcomes.push(outcome);
                flow
            },
        )
        .unwrap_err();
    assert_eq!(err.cause, StopCause::Halted);
    assert_eq!(outcomes, [Ok(0), Err("odd one")]);
    assert_eq!(err.unprocessed, [2, 3]);
    assert!(stop.load(Ordering::Relaxed) && buffer.is_closed());

    // Another consumer sharing the flag takes a batch and hands all of it back untouched.
    let mut processed = 0;
    let err = ConsumerRole::new()
        .batch(4)
        .run_until(
            |x: i32| Ok::<_, ()>(x),
            &buffer,
            &stop,
            |_| {
                processed += 1;
                Flow::Continue
            },
        )
        .unwrap_err();
    assert_eq!(err.cause, StopCause::Stopped);
    assert_eq!((processed, err.unprocessed), (0, vec![4, 5, 6, 7]));
}

#[test]
fn a_consumer_with_a_delay_takes_one_item_at_a_time_and_reports_the_pacing() {
    let buffer = BoundedBuffer::new(10).unwrap();
    buffer.put_batch((0..3).collect()).unwrap();
    buffer.close();
    let lens = Mutex::new(Vec::new());
    let mut count = 0;
    let report = ConsumerRole::new()
        .batch(100)
        .delay(Duration::from_millis(2))
        .on_consume(|_: &i32, _, len| lens.lock().unwrap().push(len))
        .run(from_fn(|x: i32| x), &buffer, |_: Result<i32, _>| {
            count += 1;
            Flow::Continue
        })
        .unwrap();
    assert_eq!((report.items, count), (3, 3));
    assert_eq!(lens.into_inner().unwrap(), [2, 1, 0], "one item per get");
    assert!(report.paced >= Duration::from_millis(6));
}

/// Polls the buffer's own bookkeeping (no sleep) until `condition` holds.
fn until(buffer: &BoundedBuffer<u64>, condition: impl Fn(&BufferStats) -> bool) {
    while !condition(&buffer.stats()) {
        std::thread::yield_now();
    }
}

#[test]
fn a_role_is_blocked_for_exactly_the_waits_its_buffer_counts() {
    let buffers = [
        BoundedBuffer::new(1).unwrap(),
        BoundedBuffer::new(4).unwrap(),
        BoundedBuffer::for_batches(4).unwrap(),
    ];
    for buffer in buffers {
        let started = Instant::now();
        let (producer, consumer) = std::thread::scope(|s| {
            let consumer = s.spawn(|| {
                let mut sum = 0;
                let report = ConsumerRole::new()
                    .batch(4)
                    .run(from_fn(|x: u64| x), &buffer, |out: Result<u64, _>| {
                        sum += out.unwrap();
                        Flow::Continue
                    })
                    .unwrap();
                (report, sum)
            });
            // The consumer parks on the empty buffer first: its report must show that wait.
            until(&buffer, |stats| stats.consumers_waiting == 1);
            let producer = ProducerRole::new()
                .chunk(4)
                .run(0..200u64, &buffer)
                .unwrap();
            buffer.close();
            (producer, consumer.join().unwrap())
        });
        let elapsed = started.elapsed();
        let (consumer, sum) = consumer;
        assert_eq!((producer.items, consumer.items, sum), (200, 200, 199 * 100));
        // One role per side: each role's blocked time is its side's whole wait time, to the
        // nanosecond, since the buffer adds the same measurement to both.
        let stats = buffer.stats();
        assert_eq!(producer.blocked, stats.put_wait_time);
        assert_eq!(consumer.blocked, stats.get_wait_time);
        assert!(consumer.blocked > Duration::ZERO);
        for report in [producer, consumer] {
            assert_eq!(report.paced, Duration::ZERO);
            assert!(report.busy + report.blocked <= elapsed);
        }
    }
}

/// A buffer whose connection fails on the `fail_at`-th put and on every get after `gets_ok` gets.
struct Broken {
    inner: BoundedBuffer<u32>,
    puts: AtomicUsize,
    fail_at: usize,
    gets: AtomicUsize,
    gets_ok: usize,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("connection reset")]
struct Reset;

impl Buffer<u32> for Broken {
    type TransportError = Reset;
    fn put(&self, item: u32) -> Result<(), BufferPutError<u32, Reset>> {
        if self.puts.fetch_add(1, Ordering::Relaxed) + 1 == self.fail_at {
            return Err(BufferPutError::Transport(item, Reset));
        }
        Ok(self.inner.put(item)?)
    }
    fn put_timeout(&self, item: u32, _: Duration) -> Result<(), BufferPutError<u32, Reset>> {
        self.put(item)
    }
    fn get(&self) -> Result<u32, BufferGetError<Reset>> {
        if self.gets.fetch_add(1, Ordering::Relaxed) >= self.gets_ok {
            return Err(BufferGetError::Transport(Reset));
        }
        Ok(self.inner.get()?)
    }
    fn get_timeout(&self, _: Duration) -> Result<u32, BufferGetError<Reset>> {
        self.get()
    }
    fn close(&self) -> Result<(), Reset> {
        self.inner.close();
        Ok(())
    }
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
    fn stats(&self) -> BufferStats {
        self.inner.stats()
    }
}

#[test]
fn transport_errors_hand_back_the_item_and_stop_everyone() {
    let broken = Broken {
        inner: BoundedBuffer::new(10).unwrap(),
        puts: AtomicUsize::new(0),
        fail_at: 4,
        gets: AtomicUsize::new(0),
        gets_ok: 2,
    };
    let stop = AtomicBool::new(false);
    let source = Mutex::new(0..10_u32);
    let err = ProducerRole::new()
        .run_shared(&source, &broken, &stop)
        .unwrap_err();
    assert_eq!(err.cause, StopCause::Transport(Reset));
    assert_eq!((err.report.items, err.unprocessed), (3, vec![3]));
    assert!(stop.load(Ordering::Relaxed) && broken.is_closed());
    assert!(
        source
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .eq(4..10)
    );

    let mut seen = HashSet::new();
    let err = ConsumerRole::new()
        .run(from_fn(|x: u32| x), &broken, |r: Result<u32, _>| {
            seen.insert(r.unwrap());
            Flow::Continue
        })
        .unwrap_err();
    assert_eq!(err.cause, StopCause::Transport(Reset));
    assert_eq!(seen, HashSet::from([0, 1]));
    assert_eq!(broken.len(), 1, "item 2 is still in the buffer");
}

/// A buffer that records, at each acknowledgement, how many items were taken since the last one
/// and how many outcomes the sink had seen by then; its `fail_ack`-th acknowledgement fails.
struct Acknowledging<'a> {
    inner: BoundedBuffer<u32>,
    taken: AtomicUsize,
    sunk: &'a AtomicUsize,
    acks: Mutex<Vec<(usize, usize)>>,
    fail_ack: usize,
}

impl Buffer<u32> for Acknowledging<'_> {
    type TransportError = Reset;
    fn put(&self, item: u32) -> Result<(), BufferPutError<u32, Reset>> {
        Ok(self.inner.put(item)?)
    }
    fn put_timeout(&self, item: u32, _: Duration) -> Result<(), BufferPutError<u32, Reset>> {
        self.put(item)
    }
    fn get(&self) -> Result<u32, BufferGetError<Reset>> {
        let item = self.inner.get()?;
        self.taken.fetch_add(1, Ordering::Relaxed);
        Ok(item)
    }
    fn get_timeout(&self, _: Duration) -> Result<u32, BufferGetError<Reset>> {
        self.get()
    }
    fn get_batch_into(
        &self,
        out: &mut Vec<u32>,
        max: usize,
    ) -> Result<usize, BufferGetError<Reset>> {
        let got = self.inner.get_batch_into(out, max)?;
        self.taken.fetch_add(got, Ordering::Relaxed);
        Ok(got)
    }
    fn acknowledge(&self) -> Result<(), Reset> {
        let mut acks = self.acks.lock().unwrap();
        acks.push((
            self.taken.swap(0, Ordering::Relaxed),
            self.sunk.load(Ordering::Relaxed),
        ));
        if acks.len() == self.fail_ack {
            return Err(Reset);
        }
        Ok(())
    }
    fn close(&self) -> Result<(), Reset> {
        self.inner.close();
        Ok(())
    }
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
    fn stats(&self) -> BufferStats {
        self.inner.stats()
    }
}

fn acknowledging(sunk: &AtomicUsize, fail_ack: usize) -> Acknowledging<'_> {
    let inner = BoundedBuffer::new(16).unwrap();
    inner.put_batch((0..10).collect()).unwrap();
    inner.close();
    Acknowledging {
        inner,
        taken: AtomicUsize::new(0),
        sunk,
        acks: Mutex::new(Vec::new()),
        fail_ack,
    }
}

#[test]
fn a_consumer_acknowledges_each_batch_after_its_outcomes_reached_the_sink() {
    let sunk = AtomicUsize::new(0);
    let buffer = acknowledging(&sunk, usize::MAX);
    let report = ConsumerRole::new()
        .batch(4)
        .run(
            |x: u32| if x == 5 { Err("five") } else { Ok(x) },
            &buffer,
            |_: Result<u32, &str>| {
                sunk.fetch_add(1, Ordering::Relaxed);
                Flow::Continue
            },
        )
        .unwrap();
    assert_eq!(report.items, 10);
    // A failed item is an outcome like any other: its batch is acknowledged with it.
    assert_eq!(*buffer.acks.lock().unwrap(), [(4, 4), (4, 8), (2, 10)]);
}

#[test]
fn a_batch_that_ends_early_is_not_acknowledged() {
    let sunk = AtomicUsize::new(0);
    let buffer = acknowledging(&sunk, usize::MAX);
    let err = ConsumerRole::new()
        .batch(4)
        .run(
            from_fn(|x: u32| {
                assert!(x != 6, "cannot process {x}");
                x
            }),
            &buffer,
            |_: Result<u32, Infallible>| {
                sunk.fetch_add(1, Ordering::Relaxed);
                Flow::Continue
            },
        )
        .unwrap_err();
    assert!(matches!(
        err.cause,
        StopCause::Panicked {
            role: Role::Consumer,
            ..
        }
    ));
    assert_eq!(err.unprocessed, [7]);
    assert_eq!(
        *buffer.acks.lock().unwrap(),
        [(4, 4)],
        "only the first batch"
    );
}

#[test]
fn a_failed_acknowledgement_stops_the_consumer_with_the_transport_error() {
    let sunk = AtomicUsize::new(0);
    let buffer = acknowledging(&sunk, 2);
    let err = ConsumerRole::new()
        .batch(4)
        .run(
            from_fn(|x: u32| x),
            &buffer,
            |_: Result<u32, Infallible>| {
                sunk.fetch_add(1, Ordering::Relaxed);
                Flow::Continue
            },
        )
        .unwrap_err();
    assert_eq!(err.cause, StopCause::Transport(Reset));
    assert_eq!((err.report.items, err.unprocessed), (8, vec![]));
    assert!(buffer.is_closed());
    assert_eq!(buffer.acks.lock().unwrap().len(), 2);
}
