//! A stage between two buffers: `Lease::forward` puts an item's outcome into the next buffer and
//! acknowledges the item in one step, so each outcome arrives once, even when two consumers
//! forward the same item; and what cannot be forwarded is handed back. (`cluster.rs` has the
//! forward a cluster refuses.)

mod common;

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use pc_redis::{BufferPutError, ConnectError, Delivery, RedisBuffer, RedisError};

/// Drains `buffer` (acknowledging each item) until it is closed.
fn drain(buffer: &RedisBuffer<u64>) -> Vec<u64> {
    let mut got = Vec::new();
    while let Ok(item) = buffer.get() {
        got.push(item);
        buffer.acknowledge().unwrap();
    }
    got
}

#[test]
fn forwarded_outcomes_reach_the_next_buffer_once_each() {
    let Some(url) = common::url() else {
        return;
    };
    let first = common::fresh::<u64>(&url, "forward-from")
        .capacity(8)
        .connect()
        .unwrap();
    let next = common::fresh::<u64>(&url, "forward-to")
        .capacity(4)
        .connect()
        .unwrap();
    let got = thread::scope(|scope| {
        scope.spawn(|| {
            first.put_batch((1..=40).collect()).unwrap();
            first.close().unwrap();
        });
        let drained = scope.spawn(|| drain(&next));
        // More outcomes than the next buffer holds: forwards wait for its room.
        for delivery in first.deliveries() {
            let Delivery { item, lease } = delivery.unwrap();
            // Every fifth item has no outcome: forwarding nothing acknowledges it all the same.
            let outcome = if item % 5 == 0 {
                vec![]
            } else {
                vec![item * 10]
            };
            lease.forward(&next, outcome).unwrap();
        }
        next.close().unwrap();
        drained.join().unwrap()
    });
    let expected: Vec<u64> = (1..=40).filter(|n| n % 5 != 0).map(|n| n * 10).collect();
    assert_eq!(got, expected);
    let (from, to) = (first.accounting().unwrap(), next.accounting().unwrap());
    assert_eq!(
        (from.produced, from.acknowledged, from.in_buffer),
        (40, 40, 0)
    );
    assert_eq!((to.produced, to.acknowledged, to.in_buffer), (32, 32, 0));
    assert!(to.high_water <= 4);
    first.destroy().unwrap();
    next.destroy().unwrap();
}

#[test]
fn an_item_forwarded_by_two_consumers_reaches_the_next_buffer_once() {
    let Some(url) = common::url() else {
        return;
    };
    let name = common::name("forward-twice");
    let open = || {
        RedisBuffer::<u64>::builder(&url, &name)
            .capacity(4)
            .lease(Duration::from_millis(300))
            .reclaim_interval(Duration::from_millis(50))
            .connect()
            .unwrap()
    };
    let next = common::fresh::<u64>(&url, "forward-twice-to")
        .capacity(4)
        .connect()
        .unwrap();
    let (slow, fast) = (open(), open());
    slow.put(7).unwrap();
    slow.close().unwrap();
    let late = slow.deliveries().next().unwrap().unwrap();
    // Its buffer value gone, the slow consumer's lease is renewed no more and runs out.
    drop(slow);
    let taken_over = fast.deliveries().next().unwrap().unwrap();
    assert_eq!((late.item, taken_over.item), (7, 7));
    taken_over.lease.forward(&next, vec![70]).unwrap();
    // The slow consumer's outcome is already on its way: nothing more is put.
    late.lease.forward(&next, vec![71]).unwrap();
    next.close().unwrap();
    assert_eq!(drain(&next), [70]);
    let from = fast.accounting().unwrap();
    assert_eq!(
        (from.acknowledged, from.redelivered, from.in_buffer),
        (1, 1, 0)
    );
    assert_eq!(next.accounting().unwrap().produced, 1);
    fast.destroy().unwrap();
    next.destroy().unwrap();
}

#[test]
fn what_cannot_be_forwarded_is_handed_back_and_the_item_stays_pending() {
    let Some(url) = common::url() else {
        return;
    };
    let first = common::fresh::<u64>(&url, "forward-refused")
        .capacity(4)
        .connect()
        .unwrap();
    let next = common::fresh::<u64>(&url, "forward-refused-to")
        .capacity(2)
        .connect()
        .unwrap();
    first.put_batch(vec![1, 2, 3]).unwrap();
    let mut deliveries = first.deliveries();
    let mut take = || deliveries.next().unwrap().unwrap().lease;

    // More outcomes than the next buffer can ever hold.
    match take().forward(&next, vec![1, 2, 3]) {
        Err(BufferPutError::Transport(items, RedisError::Forward(why))) => {
            assert_eq!(items, [1, 2, 3]);
            assert!(why.contains("capacity 2"), "{why}");
        }
        other => panic!("expected the items back, got {other:?}"),
    }
    // A buffer on another server.
    if let Some(other) = common::own_server(&[]) {
        let elsewhere = RedisBuffer::<u64>::builder(&other.url, "elsewhere")
            .connect()
            .unwrap();
        match take().forward(&elsewhere, vec![4]) {
            Err(BufferPutError::Transport(items, RedisError::Forward(why))) => {
                assert_eq!(
                    (items, why.as_str()),
                    (vec![4], "the buffers are on different servers")
                );
            }
            other => panic!("expected the item back, got {other:?}"),
        }
    } else {
        drop(take());
    }
    // A hash tag that cannot be one.
    let err = RedisBuffer::<u64>::builder(&url, "tagged")
        .hash_tag("a{b")
        .connect()
        .unwrap_err();
    assert!(
        matches!(&err, ConnectError::InvalidName(tag) if tag == "a{b"),
        "{err:?}"
    );
    // A closed next buffer.
    next.close().unwrap();
    match take().forward(&next, vec![5]) {
        Err(BufferPutError::Closed(items)) => assert_eq!(items, [5]),
        other => panic!("expected Closed with the item, got {other:?}"),
    }
    // Nothing was acknowledged and nothing put: the three items are pending, to come again.
    let (from, to) = (first.accounting().unwrap(), next.accounting().unwrap());
    assert_eq!((from.acknowledged, from.in_buffer), (0, 3));
    assert_eq!(to.produced, 0);
    first.destroy().unwrap();
    next.destroy().unwrap();
}

#[test]
fn a_full_buffer_takes_an_outcome_forwarded_into_itself() {
    let Some(url) = common::url() else {
        return;
    };
    let buffer = Arc::new(
        common::fresh::<u64>(&url, "forward-self")
            .capacity(1)
            .connect()
            .unwrap(),
    );
    buffer.put(1).unwrap();
    let lease = buffer.deliveries().next().unwrap().unwrap().lease;
    // Full: only the item's own acknowledgement makes the room its outcome needs. A forward
    // that waited for other room would wait for ever: the test gives up on it after 30 s.
    let (done, forwarded) = mpsc::channel();
    let into = Arc::clone(&buffer);
    thread::spawn(move || done.send(lease.forward(&into, vec![2])));
    let outcome = forwarded.recv_timeout(Duration::from_secs(30));
    assert!(matches!(outcome, Ok(Ok(()))), "{outcome:?}");
    buffer.close().unwrap();
    assert_eq!(drain(&buffer), [2]);
    let accounting = buffer.accounting().unwrap();
    assert_eq!(
        (
            accounting.produced,
            accounting.acknowledged,
            accounting.high_water
        ),
        (2, 2, 1)
    );
    buffer.destroy().unwrap();
}
