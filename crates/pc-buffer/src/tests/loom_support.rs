//! Shared helpers of the loom models: the bounded model runner and the end-of-model checks.

use loom::sync::Arc;
use loom::thread;

use crate::{BoundedBuffer, CapacityError};

/// A constructor of the buffer: `BoundedBuffer::new` or `BoundedBuffer::for_batches`, so that
/// a model runs on each layout (at capacity 1 both make the slot; from 2 on, `new` makes the
/// two-lock buffer and `for_batches` the batched one).
pub(super) type Make<T> = fn(usize) -> Result<BoundedBuffer<T>, CapacityError>;

/// Both constructors, for the models of behaviour that every layout from capacity 2 on shares.
pub(super) fn queue_layouts<T>() -> [Make<T>; 2] {
    [BoundedBuffer::new, BoundedBuffer::for_batches]
}

/// Runs `f` under every interleaving loom explores, with at most two preemptions unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise, so that the plain `RUSTFLAGS="--cfg loom" cargo test`
/// finishes in bounded time.
pub(super) fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    // Count the interleavings explored (a plain std atomic: it lives outside the model), so a
    // model that accidentally explores a single schedule is caught, and `--nocapture` shows
    // how much each model covers.
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    builder.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    let runs = runs.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "loom: {runs} interleavings explored (preemption bound {:?})",
        builder.preemption_bound
    );
    assert!(
        runs > 1,
        "the model explored a single interleaving: it has no concurrency"
    );
}

/// Checks the buffer once every thread of a model has returned: it never held more than its
/// capacity (a producer that proceeds on a wake-up without re-checking for room would overfill
/// it), nobody is still counted as waiting (or a later notify would be skipped or wasted), and
/// what threads read without a lock says what the state is: the published counts of items put
/// and taken, the closed flag, and the "a thread is waking" flags (a stale one after everyone
/// returned would mean a path that forgets to clear it).
pub(super) fn assert_consistent<T>(buffer: &BoundedBuffer<T>) {
    let stats = buffer.stats();
    assert!(stats.high_water <= stats.capacity, "overfilled: {stats:?}");
    assert_eq!(buffer.waiting(), (0, 0), "waiter counts leaked");
    assert!(
        buffer.published_is_current(),
        "a published count or flag is stale"
    );
}

/// Takes items until `get` reports the end, and checks that the end is real: a consumer that
/// proceeds on a wake-up without re-checking would see an open buffer as closed and empty.
pub(super) fn drain<T>(buffer: &BoundedBuffer<T>) -> Vec<T> {
    let mut got = Vec::new();
    while let Ok(item) = buffer.get() {
        got.push(item);
    }
    assert!(buffer.is_closed(), "get reported the end of an open buffer");
    got
}

/// Takes batches of up to `max` items until the batch get reports the end, and checks that the
/// end is real, as [`drain`] does for single gets.
pub(super) fn drain_batches<T>(buffer: &BoundedBuffer<T>, max: usize) -> Vec<T> {
    let mut got = Vec::new();
    while buffer.get_batch_into(&mut got, max).is_ok() {}
    assert!(
        buffer.is_closed(),
        "batch get reported the end of an open buffer"
    );
    got
}

/// Two consumers blocked on an empty buffer of capacity 2 each take exactly one item while
/// `put` puts the items 1 and 2 from the model's main thread; checks both arrive and the
/// buffer ends consistent. Without close, a consumer left parked while an item waits is a
/// deadlock, which loom reports.
pub(super) fn two_getters_take_one_each(make: Make<i32>, put: fn(&BoundedBuffer<i32>)) {
    let buffer = Arc::new(make(2).unwrap());
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let buffer = buffer.clone();
            thread::spawn(move || buffer.get().unwrap())
        })
        .collect();
    put(&buffer);
    let mut received: Vec<i32> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    received.sort_unstable();
    assert_eq!(received, [1, 2]);
    assert_consistent(&buffer);
}

/// A consumer taking numbered batches of up to `batch_max` on a thread of its own and the
/// model's main thread taking numbered single items, while a producer thread runs `put`, which
/// puts the values 0, 1, 2, ... (so each value is its position in put order), and then closes
/// the buffer: every item carries its value as its number, and the numbers between the two
/// consumers are exactly `0..count`.
pub(super) fn numbers_follow_put_order(
    make: Make<usize>,
    capacity: usize,
    batch_max: usize,
    count: usize,
    put: fn(&BoundedBuffer<usize>),
) {
    let buffer = Arc::new(make(capacity).unwrap());
    let batch_taker = {
        let buffer = buffer.clone();
        thread::spawn(move || {
            let (mut taken, mut batch) = (Vec::new(), Vec::new());
            while let Ok(numbers) = buffer.get_batch_numbered(&mut batch, batch_max) {
                taken.extend(numbers.zip(batch.drain(..)));
            }
            taken
        })
    };
    let producer = {
        let buffer = buffer.clone();
        thread::spawn(move || {
            put(&buffer);
            buffer.close();
        })
    };
    let mut taken = Vec::new();
    while let Ok(pair) = buffer.get_numbered() {
        taken.push(pair);
    }
    producer.join().unwrap();
    taken.extend(batch_taker.join().unwrap());
    assert!(taken.iter().all(|&(number, value)| number == value));
    taken.sort_unstable();
    assert!(taken.into_iter().map(|(number, _)| number).eq(0..count));
    assert_consistent(&buffer);
}
