//! While consumers are busy with their items, an idle consumer gets the items that wait.
//!
//! Each consumer holds the item it took until all three hold one (a barrier stands for the
//! work), so an item can only reach a consumer that is not busy: if a consumer were left parked
//! while an item waits, the round could not end and its `get_timeout` would fail.

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use pc_buffer::BoundedBuffer;

const CONSUMERS: usize = 3;

/// Far longer than any round needs; reaching it means an item waited while a consumer idled.
const PATIENCE: Duration = Duration::from_secs(20);

fn layouts() -> Vec<(&'static str, BoundedBuffer<usize>)> {
    vec![
        ("slot, capacity 1", BoundedBuffer::new(1).unwrap()),
        ("two locks, capacity 3", BoundedBuffer::new(3).unwrap()),
        ("two locks, capacity 16", BoundedBuffer::new(16).unwrap()),
        (
            "two locks, capacity 1024",
            BoundedBuffer::new(1024).unwrap(),
        ),
        (
            "for batches, capacity 3",
            BoundedBuffer::for_batches(3).unwrap(),
        ),
        (
            "for batches, capacity 1024",
            BoundedBuffer::for_batches(1024).unwrap(),
        ),
    ]
}

/// Runs `rounds` rounds: each consumer takes one item per round and holds it until every
/// consumer holds one. Returns what each consumer took (how many, their sum), or `None` if a
/// consumer waited out [`PATIENCE`] with the others busy; the run then closes the buffer so
/// that every thread ends and the test fails instead of hanging.
fn run_rounds(
    buffer: &BoundedBuffer<usize>,
    rounds: usize,
    park_first: bool,
) -> Option<Vec<(usize, usize)>> {
    let held = Barrier::new(CONSUMERS);
    let idled = AtomicBool::new(false);
    thread::scope(|s| {
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                s.spawn(|| {
                    let (mut taken, mut sum) = (0, 0);
                    for _ in 0..rounds {
                        match buffer.get_timeout(PATIENCE) {
                            Ok(item) => {
                                taken += 1;
                                sum += item;
                            }
                            Err(_) => {
                                idled.store(true, Ordering::SeqCst);
                                buffer.close();
                            }
                        }
                        // Every consumer reaches the barrier each round, failed or not, and
                        // sees a failure flagged before it.
                        held.wait();
                        if idled.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                    (taken, sum)
                })
            })
            .collect();
        'rounds: for round in 0..rounds {
            if park_first {
                // Every consumer is parked before the round's items arrive, so each put must
                // wake one of them.
                while buffer.stats().consumers_waiting < CONSUMERS {
                    if buffer.is_closed() {
                        break 'rounds;
                    }
                    thread::yield_now();
                }
            }
            for k in 0..CONSUMERS {
                // A producer left waiting for room that long is the same failure seen from
                // the other side: the consumers stopped taking.
                if buffer.put_timeout(round * CONSUMERS + k, PATIENCE).is_err() {
                    idled.store(true, Ordering::SeqCst);
                    buffer.close();
                    break 'rounds;
                }
            }
        }
        let shares: Vec<_> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        (!idled.load(Ordering::SeqCst)).then_some(shares)
    })
}

fn check(name: &str, buffer: &BoundedBuffer<usize>, rounds: usize, park_first: bool) {
    let total: usize = (0..rounds * CONSUMERS).sum();
    let shares = run_rounds(buffer, rounds, park_first)
        .unwrap_or_else(|| panic!("{name}: an item waited while a consumer was idle"));
    // The barrier lets no consumer take a second item of a round, so the split is exact.
    assert!(
        shares.iter().all(|&(taken, _)| taken == rounds),
        "{name}: {shares:?}"
    );
    assert_eq!(
        shares.iter().map(|&(_, sum)| sum).sum::<usize>(),
        total,
        "{name}"
    );
    assert!(buffer.is_empty(), "{name}");
    assert_eq!(buffer.stats().consumers_waiting, 0, "{name}");
}

#[test]
fn an_idle_consumer_takes_what_waits_while_the_others_are_busy() {
    for (name, buffer) in layouts() {
        check(name, &buffer, 300, false);
    }
}

#[test]
fn every_parked_consumer_is_woken_when_items_arrive() {
    for (name, buffer) in layouts() {
        check(name, &buffer, 100, true);
    }
}
