//! Workloads shared by the benches and the comparison runner: each moves a known set of `usize` items through a bounded queue and checks what arrived, so a fast wrong queue cannot win.
//!
//! A workload is written once, generic over [`Queue`]; each implementation under comparison
//! (pc-buffer here, the peers in `peers.rs` of the bench targets) implements that trait. Every
//! workload returns the [`Tally`] of what the consumers received and panics if it differs from
//! what the producers sent.
//!
//! The pipeline's job, [`pipeline`], is here too, checked the same way; its reference written
//! by hand over crossbeam-channel is `crossbeam_pair.rs` of the bench targets, and [`spin_handoff`]
//! runs it over minimal buffers between two spinning threads: the bounds the hardware sets on a
//! two-thread hand-off.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod handoff;
pub mod jobs;

pub use handoff::{Handoff, spin_handoff};

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use pc_buffer::BoundedBuffer;
use pc_pipeline::Pipeline;
use pc_roles::Buffer;

/// The most items a batch put or batch get moves at once in the batch workloads.
pub const BATCH: usize = 256;

/// A bounded queue under measurement, seen through its producer and consumer handles.
pub trait Queue {
    /// What the benches call it.
    const NAME: &'static str;
    /// The producer's handle; cloned for each producer thread.
    type Sender: Clone + Send;
    /// The consumer's handle.
    type Receiver: Send;

    /// A queue that holds at most `capacity` items.
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver);
    /// Another consumer handle, or `None` if the queue allows only one consumer.
    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver>;
    /// Ends the stream, given the last sender: consumers drain what is left, then stop.
    fn close(tx: Self::Sender);
    /// Puts `item`, blocking while the queue is full.
    fn put(tx: &Self::Sender, item: usize);
    /// Takes an item, blocking while the queue is empty; `None` once it is closed and empty.
    fn get(rx: &Self::Receiver) -> Option<usize>;

    /// Puts every item; through the queue's batch API if it has one, else one by one.
    fn put_batch(tx: &Self::Sender, items: Vec<usize>) {
        for item in items {
            Self::put(tx, item);
        }
    }

    /// Appends between 1 and `max` items to `out`, blocking while the queue is empty; through
    /// the queue's batch API if it has one, else one item. `false` once closed and empty.
    fn get_batch(rx: &Self::Receiver, out: &mut Vec<usize>, max: usize) -> bool {
        debug_assert!(max > 0);
        Self::get(rx).map(|item| out.push(item)).is_some()
    }
}

/// pc-buffer's [`BoundedBuffer`], shared by both sides through an `Arc`.
pub enum PcBuffer {}

impl Queue for PcBuffer {
    const NAME: &'static str = "pc-buffer";
    type Sender = Arc<BoundedBuffer<usize>>;
    type Receiver = Arc<BoundedBuffer<usize>>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let buffer = Arc::new(BoundedBuffer::new(capacity).expect("capacity is not zero"));
        (Arc::clone(&buffer), buffer)
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(Arc::clone(rx))
    }

    fn close(tx: Self::Sender) {
        BoundedBuffer::close(&tx);
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.put(item).expect("buffer is open");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> Option<usize> {
        rx.get().ok()
    }

    #[inline]
    fn put_batch(tx: &Self::Sender, items: Vec<usize>) {
        tx.put_batch(items).expect("buffer is open");
    }

    #[inline]
    fn get_batch(rx: &Self::Receiver, out: &mut Vec<usize>, max: usize) -> bool {
        rx.get_batch_into(out, max).is_ok()
    }
}

/// pc-buffer's put and get handles ([`pc_buffer::handles`]): the same buffer, closed by
/// dropping the last put handle.
pub enum PcHandles {}

impl Queue for PcHandles {
    const NAME: &'static str = "pc handles";
    type Sender = pc_buffer::PutHandle<usize>;
    type Receiver = pc_buffer::GetHandle<usize>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        pc_buffer::handles(capacity).expect("capacity is not zero")
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(rx.clone())
    }

    fn close(tx: Self::Sender) {
        drop(tx);
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.put(item).expect("a consumer is left");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> Option<usize> {
        rx.get().ok()
    }

    #[inline]
    fn put_batch(tx: &Self::Sender, items: Vec<usize>) {
        tx.put_batch(items).expect("a consumer is left");
    }

    #[inline]
    fn get_batch(rx: &Self::Receiver, out: &mut Vec<usize>, max: usize) -> bool {
        rx.get_batch_into(out, max).is_ok()
    }
}

/// std's `sync_channel` (one consumer only).
pub enum StdSyncChannel {}

impl Queue for StdSyncChannel {
    const NAME: &'static str = "std";
    type Sender = mpsc::SyncSender<usize>;
    type Receiver = mpsc::Receiver<usize>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        mpsc::sync_channel(capacity)
    }

    fn clone_receiver(_: &Self::Receiver) -> Option<Self::Receiver> {
        None
    }

    fn close(tx: Self::Sender) {
        drop(tx);
    }

    #[inline]
    fn put(tx: &Self::Sender, item: usize) {
        tx.send(item).expect("receiver is alive");
    }

    #[inline]
    fn get(rx: &Self::Receiver) -> Option<usize> {
        rx.recv().ok()
    }
}

/// What the consumers of a workload received: how many items and their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Items received.
    pub count: usize,
    /// Sum of the items received (wrapping).
    pub sum: usize,
}

impl Tally {
    /// The tally of `producers` producers that each send `0..n / producers`.
    pub fn expected(producers: usize, n: usize) -> Self {
        let per = n / producers;
        Self {
            count: per * producers,
            sum: producers.wrapping_mul(per * per.saturating_sub(1) / 2),
        }
    }

    /// Counts one received item.
    #[inline]
    pub fn add(&mut self, item: usize) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(item);
    }

    /// This tally and another one together.
    pub fn merge(self, other: Self) -> Self {
        Self {
            count: self.count + other.count,
            sum: self.sum.wrapping_add(other.sum),
        }
    }

    /// The tally of the outputs of a pipeline run.
    pub fn of(outputs: &[u64]) -> Self {
        outputs.iter().fold(Self::default(), |mut tally, &x| {
            tally.add(x as usize);
            tally
        })
    }

    /// Panics unless this tally is what `producers` producers sending `n` items in all produce.
    pub fn check(self, producers: usize, n: usize) -> Self {
        assert_eq!(
            self,
            Self::expected(producers, n),
            "items lost or corrupted"
        );
        self
    }
}

/// Which operations a workload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// One item per put and per get.
    PerItem,
    /// Batch puts of [`BATCH`] items and batch gets of up to [`BATCH`], where the queue has
    /// them ([`Queue::put_batch`], [`Queue::get_batch`]).
    Batch,
}

/// A shape of traffic through a queue; [`run`](Self::run) moves `n` items through a `Q` of a
/// given capacity that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// One thread puts, then gets, in chunks of the capacity ([`seq`]).
    Seq,
    /// Producer threads feed consumer threads ([`threads`]).
    Threads {
        /// Producer threads.
        producers: usize,
        /// Consumer threads.
        consumers: usize,
    },
}

impl Workload {
    /// The workloads the benches measure, with their names.
    pub const ALL: [(&'static str, Workload); 4] = [
        ("seq", Workload::Seq),
        ("spsc", Workload::threads(1, 1)),
        ("mpsc", Workload::threads(4, 1)),
        ("mpmc", Workload::threads(4, 4)),
    ];

    const fn threads(producers: usize, consumers: usize) -> Self {
        Self::Threads {
            producers,
            consumers,
        }
    }

    /// Moves `n` items through a `Q` of `capacity` through `api` and returns the checked
    /// tally, or `None` if `Q` cannot run this workload (several consumers on std's channel).
    pub fn run<Q: Queue>(self, api: Api, capacity: usize, n: usize) -> Option<Tally> {
        match self {
            Workload::Seq => Some(seq::<Q>(api, capacity, n)),
            Workload::Threads {
                producers,
                consumers,
            } => threads::<Q>(api, capacity, producers, consumers, n),
        }
    }
}

/// One thread puts `n` items then gets them, in chunks of `capacity`.
pub fn seq<Q: Queue>(api: Api, capacity: usize, n: usize) -> Tally {
    let (tx, rx) = Q::bounded(capacity);
    let mut tally = Tally::default();
    let mut got = Vec::with_capacity(BATCH);
    let mut next = 0;
    while next < n {
        let end = (next + capacity).min(n);
        match api {
            Api::PerItem => {
                for i in next..end {
                    Q::put(&tx, i);
                }
                for _ in next..end {
                    tally.add(Q::get(&rx).expect("the queue is open"));
                }
            }
            Api::Batch => {
                for chunk in (next..end).step_by(BATCH) {
                    Q::put_batch(&tx, (chunk..(chunk + BATCH).min(end)).collect());
                }
                let mut left = end - next;
                while left > 0 {
                    assert!(Q::get_batch(&rx, &mut got, left.min(BATCH)));
                    left -= got.len();
                    got.drain(..).for_each(|item| tally.add(item));
                }
            }
        }
        next = end;
    }
    tally.check(1, n)
}

/// `producers` threads put `n` items in all (each `0..n / producers`) and `consumers` threads
/// take them until the queue is closed; `None` if `Q` allows only one consumer and
/// `consumers > 1`.
pub fn threads<Q: Queue>(
    api: Api,
    capacity: usize,
    producers: usize,
    consumers: usize,
    n: usize,
) -> Option<Tally> {
    let (tx, rx) = Q::bounded(capacity);
    let mut receivers = vec![rx];
    while receivers.len() < consumers {
        receivers.push(Q::clone_receiver(&receivers[0])?);
    }
    let per = n / producers;
    let tally = thread::scope(|s| {
        let consumers: Vec<_> = receivers
            .into_iter()
            .map(|rx| s.spawn(move || consume::<Q>(api, &rx)))
            .collect();
        let producers: Vec<_> = (0..producers)
            .map(|_| {
                let tx = tx.clone();
                s.spawn(move || produce::<Q>(api, &tx, per))
            })
            .collect();
        for producer in producers {
            producer.join().expect("producer panicked");
        }
        Q::close(tx);
        consumers
            .into_iter()
            .map(|c| c.join().expect("consumer panicked"))
            .fold(Tally::default(), Tally::merge)
    });
    Some(tally.check(producers, n))
}

fn produce<Q: Queue>(api: Api, tx: &Q::Sender, per: usize) {
    match api {
        Api::PerItem => (0..per).for_each(|i| Q::put(tx, i)),
        Api::Batch => {
            for chunk in (0..per).step_by(BATCH) {
                Q::put_batch(tx, (chunk..(chunk + BATCH).min(per)).collect());
            }
        }
    }
}

fn consume<Q: Queue>(api: Api, rx: &Q::Receiver) -> Tally {
    let mut tally = Tally::default();
    match api {
        Api::PerItem => {
            while let Some(item) = Q::get(rx) {
                tally.add(item);
            }
        }
        Api::Batch => {
            let mut got = Vec::with_capacity(BATCH);
            while Q::get_batch(rx, &mut got, BATCH) {
                got.drain(..).for_each(|item| tally.add(item));
            }
        }
    }
    tally
}

/// The pipeline the runners measure: `capacity`, `consumers`, one producer, results in
/// completion order (the peers' pairs keep no order either).
pub fn unordered_pipeline(capacity: usize, consumers: usize) -> Pipeline {
    Pipeline::builder()
        .capacity(capacity)
        .consumers(consumers)
        .ordered(false)
        .build()
        .expect("a valid configuration")
}

/// `Pipeline::process` of `0..n` as `u64`s with identity work, unordered, through a buffer of
/// `capacity` with `consumers` consumers. Returns the time `process` took; the output is checked
/// after the clock stops, since the check is a pass over every output that `process` does not
/// make.
pub fn pipeline(capacity: usize, consumers: usize, n: usize) -> Duration {
    let mut pipeline = unordered_pipeline(capacity, consumers);
    let started = Instant::now();
    let out = pipeline
        .process(0..n as u64, |x| x)
        .expect("identity work cannot fail");
    let elapsed = started.elapsed();
    Tally::of(&out).check(1, n);
    elapsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_workloads<Q: Queue>(multi_consumer: bool) {
        for api in [Api::PerItem, Api::Batch] {
            for capacity in [1, 16, 1024] {
                for (name, workload) in Workload::ALL {
                    let producers = match workload {
                        Workload::Seq => 1,
                        Workload::Threads { producers, .. } => producers,
                    };
                    let expected = (multi_consumer || name != "mpmc")
                        .then(|| Tally::expected(producers, 4000));
                    assert_eq!(workload.run::<Q>(api, capacity, 4000), expected, "{name}");
                }
            }
        }
    }

    #[test]
    fn pc_buffer_workloads_deliver_everything() {
        all_workloads::<PcBuffer>(true);
        all_workloads::<PcHandles>(true);
    }

    #[test]
    fn std_workloads_deliver_everything_and_skip_mpmc() {
        all_workloads::<StdSyncChannel>(false);
    }

    #[test]
    fn the_pipeline_job_delivers_everything() {
        for capacity in [1, 16, 1024] {
            for consumers in [1, 2] {
                pipeline(capacity, consumers, 5000); // checks count and sum itself
            }
        }
    }

    #[test]
    fn a_tally_of_outputs_counts_and_sums_them() {
        assert_eq!(Tally::of(&[3, 4, 5]), Tally { count: 3, sum: 12 });
        assert_eq!(
            Tally::of(&(0..10).collect::<Vec<u64>>()),
            Tally::expected(1, 10)
        );
    }

    #[test]
    #[should_panic(expected = "items lost or corrupted")]
    fn a_missing_item_is_caught() {
        let mut tally = Tally::expected(1, 10);
        tally.count -= 1;
        tally.check(1, 10);
    }
}
