//! Bounded memory: an input far larger than the chain's capacities flows through three stages while the number of live items stays within a bound set by the capacities alone.

use std::sync::atomic::{AtomicUsize, Ordering};

use pc_pipeline::{Pipeline, Stage};

/// Items alive right now, and the most ever alive. This file holds one test, so no other test
/// makes these items.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// An item that counts itself while it lives.
struct Tracked(u64);

impl Tracked {
    fn new(value: u64) -> Self {
        let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(live, Ordering::SeqCst);
        Self(value)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn live_items_stay_bounded_by_the_capacities_not_the_input() {
    const ITEMS: u64 = 2_000_000;
    const CAPACITY: usize = 64;
    let workers = [2, 3, 1];
    let stage = |name: &str, workers: usize| Stage::new(name).workers(workers).capacity(CAPACITY);
    // The source makes each item when it is pulled: the input never exists as a whole.
    let (mut count, mut sum) = (0u64, 0u64);
    let finished = Pipeline::source((0..ITEMS).map(Tracked::new))
        .stage(stage("parse", workers[0]), |t: Tracked| {
            Tracked::new(t.0 * 2)
        })
        .stage(stage("transform", workers[1]), |t: Tracked| {
            Tracked::new(t.0 + 1)
        })
        .stage(stage("aggregate", workers[2]), |t: Tracked| {
            Tracked::new(t.0 / 2)
        })
        .for_each(|t| {
            count += 1;
            sum += t.0;
        })
        .unwrap();
    assert_eq!(count, ITEMS);
    assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
    assert_eq!(finished.report.delivered(), ITEMS as usize);
    assert_eq!(LIVE.load(Ordering::SeqCst), 0, "every item was dropped");

    // Per stage: its input buffer, the batches its workers hold (a buffer's worth in all), and
    // a reorder window (its width plus one batch); each worker also holds one output in the
    // making. Then the source's read-ahead (the first stage's workers read the source
    // themselves, up to 256 items a pull each), the output buffer and the results the stream
    // has taken (256).
    let stages = workers.len();
    let read_ahead = workers[0] * 256;
    let bound = stages * 4 * CAPACITY + workers.iter().sum::<usize>() + read_ahead + CAPACITY + 256;
    let peak = PEAK.load(Ordering::SeqCst);
    assert!(peak <= bound, "peak {peak} live items, bound {bound}");
    assert!(
        peak * 100 < ITEMS as usize,
        "memory follows the input: peak {peak}"
    );
}
