//! The buffer on a live server and on a Redis Cluster: order, the bound, close and drain,
//! acknowledgement, leases, deliveries through a chain, dead letters, idempotent puts,
//! accounting, and clear errors. Each test
//! of semantics runs twice, as `node::NAME` and `cluster::NAME`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use common::Place;
use pc_pipeline::{Pipeline, Stage};
use pc_redis::{
    Buffer, BufferGetError, BufferPutError, ConnectError, Delivery, Lease, MAX_CAPACITY,
    RedisBuffer,
};

fn items_come_out_in_put_order_and_the_counts_add_up(place: &Place) {
    let buffer = place.fresh::<u64>("order").capacity(100).connect().unwrap();
    buffer.put_batch((0..50).collect()).unwrap();
    for item in 50..60 {
        buffer.put(item).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 60 {
        buffer.get_batch_into(&mut got, 16).unwrap();
    }
    assert_eq!(got, (0..60).collect::<Vec<_>>());
    assert_eq!(buffer.held(), 60);
    let before = buffer.accounting().unwrap();
    assert_eq!(
        (before.produced, before.in_buffer, before.acknowledged),
        (60, 60, 0)
    );
    buffer.acknowledge().unwrap();
    assert_eq!(buffer.held(), 0);
    let after = buffer.accounting().unwrap();
    assert_eq!(
        (after.produced, after.acknowledged, after.in_buffer),
        (60, 60, 0)
    );
    assert_eq!(after.delivered, 60);
    assert_eq!(Buffer::len(&buffer), 0);
    buffer.destroy().unwrap();
}

fn a_full_buffer_hands_the_item_back_until_an_acknowledgement_makes_room(place: &Place) {
    let buffer = place.fresh::<String>("full").capacity(2).connect().unwrap();
    buffer.put("a".into()).unwrap();
    buffer.put("b".into()).unwrap();
    match buffer.try_put("c".into()) {
        Err(BufferPutError::Timeout(item)) => assert_eq!(item, "c"),
        other => panic!("expected the item back, got {other:?}"),
    }
    match buffer.put_timeout("c".into(), Duration::from_millis(20)) {
        Err(BufferPutError::Timeout(item)) => assert_eq!(item, "c"),
        other => panic!("expected the item back, got {other:?}"),
    }
    // Taking does not make room: only acknowledging does.
    assert_eq!(buffer.get().unwrap(), "a");
    assert!(matches!(
        buffer.try_put("c".into()),
        Err(BufferPutError::Timeout(_))
    ));
    buffer.acknowledge().unwrap();
    buffer.try_put("c".into()).unwrap();
    let accounting = buffer.accounting().unwrap();
    assert_eq!(
        (
            accounting.produced,
            accounting.in_buffer,
            accounting.high_water
        ),
        (3, 2, 2)
    );
    buffer.destroy().unwrap();
}

fn a_blocked_put_goes_in_once_a_consumer_acknowledges(place: &Place) {
    let name = common::name("blocked-put");
    let buffer = place.builder::<u32>(&name).capacity(1).connect().unwrap();
    buffer.put(1).unwrap();
    thread::scope(|scope| {
        let producer = scope.spawn(|| buffer.put(2));
        // The consumer needs nothing from the producer to take 1; the put can only finish
        // after the acknowledgement below.
        assert_eq!(buffer.get().unwrap(), 1);
        buffer.acknowledge().unwrap();
        producer.join().unwrap().unwrap();
    });
    assert_eq!(buffer.get().unwrap(), 2);
    buffer.acknowledge().unwrap();
    let accounting = buffer.accounting().unwrap();
    assert_eq!((accounting.produced, accounting.acknowledged), (2, 2));
    buffer.destroy().unwrap();
}

fn close_fails_later_puts_and_consumers_drain_before_they_see_it(place: &Place) {
    let buffer = place.fresh::<u32>("close").capacity(10).connect().unwrap();
    buffer.put_batch(vec![1, 2, 3]).unwrap();
    buffer.close().unwrap();
    match buffer.put(4) {
        Err(BufferPutError::Closed(item)) => assert_eq!(item, 4),
        other => panic!("expected Closed with the item, got {other:?}"),
    }
    match buffer.put_batch(vec![5, 6]) {
        Err(BufferPutError::Closed(items)) => assert_eq!(items, [5, 6]),
        other => panic!("expected Closed with the items, got {other:?}"),
    }
    let mut got = Vec::new();
    loop {
        match buffer.get() {
            Ok(item) => {
                got.push(item);
                buffer.acknowledge().unwrap();
            }
            Err(err) => {
                assert!(err.is_closed(), "{err:?}");
                break;
            }
        }
    }
    assert_eq!(got, [1, 2, 3]);
    assert!(Buffer::is_closed(&buffer));
    // A consumer that asks again after close is told at once, every time.
    assert!(buffer.get().unwrap_err().is_closed());
    assert!(
        buffer
            .get_timeout(Duration::from_secs(60))
            .unwrap_err()
            .is_closed()
    );
    buffer.destroy().unwrap();
}

fn no_consumer_sees_closed_while_another_still_holds_an_item(place: &Place) {
    let name = common::name("pending");
    let open = || place.builder::<u32>(&name).capacity(4).connect().unwrap();
    let (first, second) = (open(), open());
    first.put(7).unwrap();
    first.close().unwrap();
    assert_eq!(first.get().unwrap(), 7);
    // The item may yet fail with the first consumer and come back: not closed for the second.
    assert!(
        second
            .get_timeout(Duration::from_millis(300))
            .unwrap_err()
            .is_timeout()
    );
    // The first consumer itself holds it: it is told closed, not left waiting for itself.
    assert!(first.get().unwrap_err().is_closed());
    first.acknowledge().unwrap();
    assert!(second.get().unwrap_err().is_closed());
    first.destroy().unwrap();
}

fn a_dead_consumers_items_go_to_another_after_the_lease(place: &Place) {
    let name = common::name("lease");
    let open = || {
        place
            .builder::<u32>(&name)
            .capacity(8)
            .lease(Duration::from_millis(300))
            .reclaim_interval(Duration::from_millis(50))
            .connect()
            .unwrap()
    };
    let survivor = open();
    survivor.put_batch(vec![1, 2, 3]).unwrap();
    survivor.close().unwrap();
    {
        let victim = open();
        let mut got = Vec::new();
        victim.get_batch_into(&mut got, 2).unwrap();
        assert_eq!(got, [1, 2]);
        // Dropped without acknowledging: its lease is no longer renewed.
    }
    let mut got = Vec::new();
    loop {
        match survivor.get() {
            Ok(item) => {
                got.push(item);
                survivor.acknowledge().unwrap();
            }
            Err(err) => {
                assert!(err.is_closed(), "{err:?}");
                break;
            }
        }
    }
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3]);
    let accounting = survivor.accounting().unwrap();
    assert_eq!(accounting.redelivered, 2);
    assert_eq!(
        (
            accounting.produced,
            accounting.acknowledged,
            accounting.dead
        ),
        (3, 3, 0)
    );
    survivor.destroy().unwrap();
}

/// Two consumers of one fresh buffer whose lease is 1 s and which look for expired leases every
/// 10 ms: the first to work, the other ready to take over whatever is not renewed.
fn worker_and_other(place: &Place, test: &str) -> (RedisBuffer<u32>, RedisBuffer<u32>) {
    let name = common::name(test);
    let open = || {
        place
            .builder::<u32>(&name)
            .capacity(8)
            .lease(Duration::from_secs(1))
            .reclaim_interval(Duration::from_millis(10))
            .connect()
            .unwrap()
    };
    (open(), open())
}

fn a_live_consumers_lease_is_renewed_while_it_works(place: &Place) {
    let (worker, other) = worker_and_other(place, "renew");
    worker.put(1).unwrap();
    assert_eq!(worker.get().unwrap(), 1);
    // Two and a half leases: without renewal (every third of a lease) the other consumer
    // would take the item over.
    assert!(
        other
            .get_timeout(Duration::from_millis(2500))
            .unwrap_err()
            .is_timeout()
    );
    worker.acknowledge().unwrap();
    let accounting = worker.accounting().unwrap();
    assert_eq!((accounting.redelivered, accounting.acknowledged), (0, 1));
    worker.destroy().unwrap();
}

fn an_item_delivered_too_often_becomes_a_dead_letter_with_its_reason(place: &Place) {
    let name = common::name("poison");
    let open = || {
        place
            .builder::<String>(&name)
            .capacity(4)
            .lease(Duration::from_millis(100))
            .reclaim_interval(Duration::from_millis(10))
            .max_deliveries(2)
            .connect()
            .unwrap()
    };
    let survivor = open();
    survivor.put("poison".into()).unwrap();
    survivor.close().unwrap();
    for _ in 0..2 {
        let victim = open();
        assert_eq!(victim.get().unwrap(), "poison");
    }
    assert!(survivor.get().unwrap_err().is_closed());
    let letters = survivor.dead_letters(10).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "delivered 2 times");
    assert_eq!(letters[0].decode::<String>().unwrap(), "poison");
    let accounting = survivor.accounting().unwrap();
    assert_eq!(
        (accounting.produced, accounting.dead, accounting.in_buffer),
        (1, 1, 0)
    );
    assert_eq!(accounting.redelivered, 1);
    survivor.destroy().unwrap();
}

fn an_undecodable_item_becomes_a_dead_letter_and_the_next_one_is_delivered(place: &Place) {
    let name = common::name("undecodable");
    let words = place.builder::<String>(&name).connect().unwrap();
    let numbers = place.builder::<u32>(&name).connect().unwrap();
    words.put("not a number".into()).unwrap();
    numbers.put(5).unwrap();
    assert_eq!(numbers.get().unwrap(), 5);
    numbers.acknowledge().unwrap();
    let letters = numbers.dead_letters(10).unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].reason.starts_with("undecodable: "),
        "{}",
        letters[0].reason
    );
    assert_eq!(letters[0].decode::<String>().unwrap(), "not a number");
    let accounting = numbers.accounting().unwrap();
    assert_eq!(
        (
            accounting.produced,
            accounting.acknowledged,
            accounting.dead,
            accounting.in_buffer
        ),
        (2, 1, 1, 0)
    );
    numbers.destroy().unwrap();
}

fn a_put_sent_again_with_a_sequence_the_server_has_is_not_put_twice(place: &Place) {
    let name = common::name("idempotent");
    let open = || {
        place
            .builder::<u32>(&name)
            .producer_id("producer-1")
            .connect()
            .unwrap()
    };
    // Both start at sequence 1, as a retry resends a put whose reply was lost.
    let (first, resent) = (open(), open());
    first.put_batch(vec![10, 11, 12]).unwrap();
    resent.put_batch(vec![10, 11, 12, 13]).unwrap();
    assert_eq!(first.accepted().unwrap(), 4);
    let accounting = first.accounting().unwrap();
    assert_eq!((accounting.produced, accounting.duplicates), (4, 3));
    let mut got = Vec::new();
    while got.len() < 4 {
        first.get_batch_into(&mut got, 8).unwrap();
    }
    assert_eq!(got, [10, 11, 12, 13]);
    // A producer restarted with the same id continues after what the server has.
    let restarted = open();
    assert_eq!(restarted.accepted().unwrap(), 4);
    restarted.put(14).unwrap();
    assert_eq!(restarted.accounting().unwrap().produced, 5);
    first.destroy().unwrap();
}

fn the_roles_run_on_it_and_acknowledge_what_they_processed(place: &Place) {
    let name = common::name("roles");
    let open = || place.builder::<u64>(&name).capacity(16).connect().unwrap();
    let producer = open();
    let total = thread::scope(|scope| {
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let buffer = open();
                    let mut sum = 0;
                    let report = pc_roles::ConsumerRole::new()
                        .batch(8)
                        .run(
                            pc_roles::from_fn(|x: u64| x * 2),
                            &buffer,
                            |out: Result<u64, _>| {
                                sum += out.unwrap();
                                pc_roles::Flow::Continue
                            },
                        )
                        .unwrap();
                    (report.items, sum)
                })
            })
            .collect();
        let report = pc_roles::ProducerRole::new()
            .chunk(8)
            .run(0..500_u64, &producer)
            .unwrap();
        assert_eq!(report.items, 500);
        producer.close().unwrap();
        consumers
            .into_iter()
            .map(|consumer| consumer.join().unwrap())
            .fold((0, 0), |(items, sum), (i, s)| (items + i, sum + s))
    });
    assert_eq!(total, (500, (0..500).map(|x| x * 2).sum()));
    let accounting = producer.accounting().unwrap();
    assert_eq!(
        (
            accounting.produced,
            accounting.acknowledged,
            accounting.in_buffer
        ),
        (500, 500, 0)
    );
    producer.destroy().unwrap();
}

fn producers_racing_never_exceed_the_capacity(place: &Place) {
    let name = common::name("bound");
    let capacity = 3;
    let open = || {
        place
            .builder::<u32>(&name)
            .capacity(capacity)
            .connect()
            .unwrap()
    };
    let watcher = open();
    let done = AtomicBool::new(false);
    let most = thread::scope(|scope| {
        for p in 0..4 {
            let open = &open;
            scope.spawn(move || {
                let buffer = open();
                for i in 0..50 {
                    buffer.put(p * 1000 + i).unwrap();
                }
            });
        }
        let sampler = scope.spawn(|| {
            let mut most = 0;
            while !done.load(Ordering::Relaxed) {
                most = most.max(watcher.accounting().unwrap().in_buffer);
            }
            most
        });
        let consumer = open();
        for _ in 0..200 {
            consumer.get().unwrap();
            consumer.acknowledge().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        sampler.join().unwrap()
    });
    assert!(
        most <= capacity as u64,
        "{most} items in a buffer of {capacity}"
    );
    let accounting = watcher.accounting().unwrap();
    assert_eq!((accounting.produced, accounting.acknowledged), (200, 200));
    assert!(accounting.high_water <= capacity as u64);
    assert!(
        accounting.put_waits > 0,
        "four producers on three places must wait"
    );
    watcher.destroy().unwrap();
}

fn bad_settings_are_clear_errors(place: &Place) {
    let err = |builder: pc_redis::Builder<u32>| builder.connect().unwrap_err();
    assert!(matches!(
        err(place.fresh("zero").capacity(0)),
        ConnectError::InvalidSetting(_)
    ));
    assert!(matches!(
        err(place.fresh("huge").capacity(MAX_CAPACITY + 1)),
        ConnectError::InvalidSetting(_)
    ));
    assert!(matches!(
        err(place.fresh("deliveries").max_deliveries(0)),
        ConnectError::InvalidSetting(_)
    ));
    assert!(matches!(
        err(place.builder("a{b}")),
        ConnectError::InvalidName(_)
    ));
    assert!(matches!(
        err(place.builder("")),
        ConnectError::InvalidName(_)
    ));
    let name = common::name("mismatch");
    let made = place.builder::<u32>(&name).capacity(5).connect().unwrap();
    match err(place.builder(&name).capacity(6)) {
        ConnectError::CapacityMismatch {
            existing,
            requested,
            ..
        } => {
            assert_eq!((existing.as_str(), requested), ("5", 6));
        }
        other => panic!("expected a capacity mismatch, got {other:?}"),
    }
    made.destroy().unwrap();
    // A buffer at the largest capacity counts exactly.
    let huge = place
        .fresh::<u32>("max")
        .capacity(MAX_CAPACITY)
        .connect()
        .unwrap();
    huge.put_batch(vec![1, 2]).unwrap();
    assert_eq!(Buffer::capacity(&huge), MAX_CAPACITY);
    assert_eq!(huge.accounting().unwrap().capacity, MAX_CAPACITY);
    huge.destroy().unwrap();
}

fn get_batch_of_zero_returns_at_once_with_nothing(place: &Place) {
    let buffer = place.fresh::<u32>("zero-batch").connect().unwrap();
    let mut out = Vec::new();
    assert_eq!(buffer.get_batch_into(&mut out, 0).unwrap(), 0);
    assert!(matches!(
        buffer.get_timeout(Duration::from_millis(10)),
        Err(BufferGetError::Timeout)
    ));
    buffer.destroy().unwrap();
}

fn waits_are_counted_on_the_server_as_the_in_memory_buffer_counts_them(place: &Place) {
    let name = common::name("waits");
    {
        let buffer = place.builder::<u32>(&name).capacity(1).connect().unwrap();
        assert!(
            buffer
                .get_timeout(Duration::from_millis(20))
                .unwrap_err()
                .is_timeout()
        );
        buffer.put(1).unwrap();
        assert!(matches!(
            buffer.put_timeout(2, Duration::from_millis(20)),
            Err(BufferPutError::Timeout(2))
        ));
        // A try_put does not wait, so it is not counted.
        assert!(matches!(buffer.try_put(3), Err(BufferPutError::Timeout(3))));
        // Dropped without another call: its counts still reach the server.
    }
    let reader = place.builder::<u32>(&name).capacity(1).connect().unwrap();
    let stats = Buffer::stats(&reader);
    assert_eq!((stats.get_waits, stats.put_waits), (1, 1));
    assert!(stats.get_wait_time >= Duration::from_millis(20));
    assert!(stats.put_wait_time >= Duration::from_millis(20));
    assert_eq!((stats.items_put, stats.len, stats.capacity), (1, 1, 1));
    reader.destroy().unwrap();
}

fn deliveries_through_a_chain_are_acknowledged_at_its_sink(place: &Place) {
    let buffer = place
        .fresh::<u64>("deliveries")
        .capacity(16)
        .connect()
        .unwrap();
    let (mut count, mut sum) = (0, 0);
    thread::scope(|scope| {
        // More items than the capacity: the producer goes on only as the sink acknowledges.
        scope.spawn(|| {
            buffer.put_batch((1..=300).collect()).unwrap();
            buffer.close().unwrap();
        });
        Pipeline::source(buffer.deliveries())
            .try_stage(Stage::new("square").workers(2), |taken| {
                taken.map(|Delivery { item, lease }| (item * item, lease))
            })
            .for_each(|(square, lease): (u64, Lease)| {
                count += 1;
                sum += square;
                lease.acknowledge().unwrap();
            })
            .unwrap();
    });
    assert_eq!((count, sum), (300, (1..=300u64).map(|n| n * n).sum()));
    let accounting = buffer.accounting().unwrap();
    assert_eq!(
        (
            accounting.produced,
            accounting.acknowledged,
            accounting.in_buffer,
            accounting.redelivered
        ),
        (300, 300, 0, 0)
    );
    assert!(accounting.high_water <= 16);
    buffer.destroy().unwrap();
}

fn a_dropped_lease_is_delivered_again_once_it_runs_out(place: &Place) {
    let buffer = place
        .fresh::<u32>("dropped-lease")
        .capacity(4)
        .lease(Duration::from_millis(300))
        .reclaim_interval(Duration::from_millis(50))
        .connect()
        .unwrap();
    buffer.put_batch(vec![1, 2]).unwrap();
    buffer.close().unwrap();
    let mut deliveries = buffer.deliveries();
    let first = deliveries.next().unwrap().unwrap();
    assert_eq!(first.item, 1);
    // Its work failed: dropped, not acknowledged.
    drop(first);
    let second = deliveries.next().unwrap().unwrap();
    assert_eq!(second.item, 2);
    second.lease.acknowledge().unwrap();
    // The iterator does not end while the dropped item is pending: it comes again.
    let again = deliveries.next().unwrap().unwrap();
    assert_eq!(again.item, 1);
    again.lease.acknowledge().unwrap();
    assert!(deliveries.next().is_none());
    let accounting = buffer.accounting().unwrap();
    assert_eq!(
        (
            accounting.produced,
            accounting.acknowledged,
            accounting.in_buffer,
            accounting.redelivered
        ),
        (2, 2, 0, 1)
    );
    buffer.destroy().unwrap();
}

fn a_live_lease_is_renewed_and_any_thread_may_acknowledge_it(place: &Place) {
    let (worker, other) = worker_and_other(place, "live-lease");
    worker.put(1).unwrap();
    worker.close().unwrap();
    let delivery = worker.deliveries().next().unwrap().unwrap();
    assert_eq!((delivery.item, worker.held()), (1, 0));
    // Two and a half leases: without renewal the other consumer would take the item over, and
    // while it is pending the other is not told closed.
    assert!(
        other
            .get_timeout(Duration::from_millis(2500))
            .unwrap_err()
            .is_timeout()
    );
    let lease = delivery.lease;
    thread::spawn(move || lease.acknowledge())
        .join()
        .unwrap()
        .unwrap();
    assert!(other.get().unwrap_err().is_closed());
    assert!(worker.deliveries().next().is_none());
    let accounting = worker.accounting().unwrap();
    assert_eq!((accounting.redelivered, accounting.acknowledged), (0, 1));
    worker.destroy().unwrap();
}

/// Runs each test on the shared server (`node::NAME`) and on the shared cluster (`cluster::NAME`).
macro_rules! on_every_place {
    ($($test:ident),* $(,)?) => {
        mod node {
            $(
                #[test]
                fn $test() {
                    if let Some(place) = crate::common::node() {
                        super::$test(&place);
                    }
                }
            )*
        }
        mod cluster {
            $(
                #[test]
                fn $test() {
                    if let Some(place) = crate::common::cluster() {
                        super::$test(&place);
                    }
                }
            )*
        }
    };
}

on_every_place!(
    items_come_out_in_put_order_and_the_counts_add_up,
    a_full_buffer_hands_the_item_back_until_an_acknowledgement_makes_room,
    a_blocked_put_goes_in_once_a_consumer_acknowledges,
    close_fails_later_puts_and_consumers_drain_before_they_see_it,
    no_consumer_sees_closed_while_another_still_holds_an_item,
    a_dead_consumers_items_go_to_another_after_the_lease,
    a_live_consumers_lease_is_renewed_while_it_works,
    an_item_delivered_too_often_becomes_a_dead_letter_with_its_reason,
    an_undecodable_item_becomes_a_dead_letter_and_the_next_one_is_delivered,
    a_put_sent_again_with_a_sequence_the_server_has_is_not_put_twice,
    the_roles_run_on_it_and_acknowledge_what_they_processed,
    producers_racing_never_exceed_the_capacity,
    bad_settings_are_clear_errors,
    get_batch_of_zero_returns_at_once_with_nothing,
    waits_are_counted_on_the_server_as_the_in_memory_buffer_counts_them,
    deliveries_through_a_chain_are_acknowledged_at_its_sink,
    a_dropped_lease_is_delivered_again_once_it_runs_out,
    a_live_lease_is_renewed_and_any_thread_may_acknowledge_it,
);

/// Close ends the wait of every consumer blocked on an empty buffer in its own step, not at
/// their next look (their poll is 600 s): once it returns, the server holds no blocked read. The
/// server is the test's own, so that its only blocked clients are these consumers.
#[test]
fn close_ends_every_consumer_waiting_on_an_empty_buffer() {
    let Some(server) = common::own_server(&[]) else {
        return;
    };
    let open = || {
        RedisBuffer::<u32>::builder(&server.url, "wake")
            .poll(Duration::from_secs(600))
            .connect()
            .unwrap()
    };
    let (first, second, closer) = (open(), open(), open());
    let mut admin = redis::Client::open(server.url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut blocked_reads = || {
        let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
        clients
            .lines()
            .filter(|client| client.contains("cmd=xreadgroup") && client.contains("flags=b"))
            .count()
    };
    thread::scope(|scope| {
        let waiting = [&first, &second]
            .map(|consumer| scope.spawn(move || consumer.get_timeout(Duration::from_secs(60))));
        assert!(
            (0..100_000).any(|_| blocked_reads() == 2),
            "both consumers block in their reads"
        );
        closer.close().unwrap();
        assert_eq!(blocked_reads(), 0, "the close ended every blocked read");
        for consumer in waiting {
            assert!(consumer.join().unwrap().unwrap_err().is_closed());
        }
    });
    closer.destroy().unwrap();
}

/// Takes one item the way the consumer role does: acknowledging what the thread holds first.
fn acknowledge_and_get(
    buffer: &RedisBuffer<u32>,
) -> Result<u32, BufferGetError<pc_redis::RedisError>> {
    let mut out = Vec::new();
    let mut waited = Duration::ZERO;
    buffer.acknowledge_and_get_batch_into_waited(&mut out, 1, &mut waited)?;
    Ok(out.pop().expect("one item"))
}

/// A consumer that acknowledges and waits in one round trip after the buffer closed sees
/// closed at once, though its poll is 600 s and no close woke it: the close removed the gate.
#[test]
fn an_acknowledging_consumer_sees_a_close_made_while_it_worked() {
    let Some(server) = common::own_server(&[]) else {
        return;
    };
    let open = || {
        RedisBuffer::<u32>::builder(&server.url, "worked")
            .poll(Duration::from_secs(600))
            .connect()
            .unwrap()
    };
    let (reader, producer) = (Arc::new(open()), open());
    producer.put(7).unwrap();
    let (took, taken) = mpsc::channel();
    let (closed, close_seen) = mpsc::channel::<()>();
    // Not scoped: if the consumer stays blocked, the test fails at the bound instead of
    // waiting for it.
    thread::spawn(move || {
        took.send(acknowledge_and_get(&reader)).unwrap();
        close_seen.recv().unwrap();
        took.send(acknowledge_and_get(&reader)).unwrap();
    });
    assert_eq!(taken.recv().unwrap().unwrap(), 7);
    producer.close().unwrap();
    closed.send(()).unwrap();
    let outcome = taken
        .recv_timeout(Duration::from_secs(60))
        .expect("the consumer sees the close at once, not after its 600 s poll");
    assert!(outcome.unwrap_err().is_closed());
    let accounting = producer.accounting().unwrap();
    assert_eq!((accounting.produced, accounting.acknowledged), (1, 1));
    producer.destroy().unwrap();
}

/// An acknowledging get that finds an item counts no wait; one that blocks on an empty buffer
/// counts one, and its acknowledgement is made before it blocks (the room goes to the producer).
#[test]
fn an_acknowledging_get_counts_a_wait_only_when_it_blocks() {
    let Some(server) = common::own_server(&[]) else {
        return;
    };
    let open = || {
        RedisBuffer::<u32>::builder(&server.url, "waits")
            .capacity(2)
            .poll(Duration::from_secs(600))
            .connect()
            .unwrap()
    };
    let (consumer, producer) = (Arc::new(open()), open());
    let mut admin = redis::Client::open(server.url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut blocked_reads = || {
        let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
        clients
            .lines()
            .filter(|client| client.contains("cmd=xreadgroup") && client.contains("flags=b"))
            .count()
    };
    producer.put(1).unwrap();
    producer.put(2).unwrap();
    let (took, taken) = mpsc::channel();
    let (next, go) = mpsc::channel::<()>();
    let reader = Arc::clone(&consumer);
    // Not scoped, so that a failed assertion ends the test rather than waiting for the reader.
    thread::spawn(move || {
        for get in 0..3 {
            if get > 0 && go.recv().is_err() {
                return;
            }
            took.send(acknowledge_and_get(&reader)).unwrap();
        }
    });
    assert_eq!(taken.recv().unwrap().unwrap(), 1);
    next.send(()).unwrap();
    assert_eq!(taken.recv().unwrap().unwrap(), 2);
    let stats = consumer.accounting().unwrap().buffer_stats();
    assert_eq!(
        (stats.get_waits, stats.len),
        (0, 1),
        "item 1 acknowledged, no wait"
    );
    next.send(()).unwrap();
    assert!(
        (0..100_000).any(|_| blocked_reads() == 1),
        "the consumer blocks in its read"
    );
    assert_eq!(producer.accounting().unwrap().acknowledged, 2);
    producer.put(3).unwrap();
    assert_eq!(taken.recv().unwrap().unwrap(), 3);
    let stats = consumer.accounting().unwrap().buffer_stats();
    assert_eq!((stats.get_waits, stats.items_put, stats.len), (1, 3, 1));
    producer.destroy().unwrap();
}
