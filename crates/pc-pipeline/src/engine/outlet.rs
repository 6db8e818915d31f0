//! Where a segment's outputs go: into the next buffer (through a reorder window when the segment is ordered), or into each worker's own collection of results.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pc_buffer::BoundedBuffer;

use super::{Batch, Spent, Tail, TailFactory, WorkerEnd};
use crate::leftovers::Returns;
use crate::meter::{Meter, Tally};
use crate::reorder::{Release, ReorderWindow, Slot};
use crate::runs::IndexedRuns;

/// An ordered segment's window: it releases `(index, result)` pairs in key order into the
/// next buffer.
pub(crate) type Window<'a, T> = ReorderWindow<(usize, T), InOrder<'a, T>>;

/// How a stage hands on its outputs, made once per stage and then once per worker.
pub(crate) enum OutletPlan<'a, T> {
    /// To stages fused after it.
    Fused(TailFactory<'a, T>),
    /// Into a buffer: the next segment's input or the run's output.
    Buffer(Arc<Next<'a, T>>),
    /// Into each worker's collection.
    Collect {
        collector: Arc<Collector<T>>,
        meter: Arc<Meter<'a>>,
    },
}

/// A buffer a segment puts into, and who receives from it.
pub(crate) struct Next<'a, T> {
    pub(crate) buffer: Arc<BoundedBuffer<(usize, T)>>,
    /// What the buffer refuses once closed.
    pub(crate) returns: Arc<Returns<T>>,
    /// The row reading the buffer.
    pub(crate) meter: Arc<Meter<'a>>,
    /// The window in front of it, for an ordered segment with several workers.
    pub(crate) window: Option<Arc<Window<'a, T>>>,
}

impl<'a, T: Send + 'a> OutletPlan<'a, T> {
    /// Whether the outlet ends in the run's collector: then the segment's first worker runs on
    /// the calling thread.
    pub(crate) fn collects(&self) -> bool {
        match self {
            Self::Fused(factory) => factory.collects,
            Self::Buffer(_) => false,
            Self::Collect { .. } => true,
        }
    }

    /// The row that receives what this outlet is handed.
    pub(crate) fn meter(&self) -> &Arc<Meter<'a>> {
        match self {
            Self::Fused(factory) => &factory.meter,
            Self::Buffer(next) => &next.meter,
            Self::Collect { meter, .. } => meter,
        }
    }

    /// The outlet of one worker of the stage whose row is `from`.
    pub(crate) fn make(&self, from: &Arc<Meter<'a>>, worker: usize) -> Box<dyn Tail<T> + 'a> {
        match self {
            Self::Fused(factory) => (factory.make)(worker),
            Self::Buffer(next) => match &next.window {
                Some(window) => Box::new(WindowOutlet {
                    window: Arc::clone(window),
                    next: Arc::clone(next),
                    from: Arc::clone(from),
                    slots: Vec::new(),
                    waited: Duration::ZERO,
                }),
                None => Box::new(BufferOutlet {
                    next: Arc::clone(next),
                    from: Arc::clone(from),
                    pairs: Vec::new(),
                    waited: Duration::ZERO,
                }),
            },
            // The first worker collects: it is the one the calling thread runs.
            Self::Collect { collector, meter } if worker == 1 => Box::new(Collect {
                collector: Arc::clone(collector),
                meter: Arc::clone(meter),
                collecting: None,
                busy: Duration::ZERO,
            }),
            Self::Collect { collector, meter } => Box::new(HandOver {
                collector: Arc::clone(collector),
                meter: Arc::clone(meter),
                waited: Duration::ZERO,
            }),
        }
    }
}

/// Puts a batch into the next buffer; what a closed buffer refuses goes to the next row's
/// returns.
fn put<T>(
    buffer: &BoundedBuffer<(usize, T)>,
    returns: &Returns<T>,
    pairs: &mut Vec<(usize, T)>,
    waited: &mut Duration,
) {
    if pairs.is_empty() {
        return;
    }
    if let Err(refused) = buffer.put_batch_from_waited(pairs, waited) {
        returns.extend(refused.into_inner());
    }
}

/// A stage's outputs going into a buffer as they are ready.
struct BufferOutlet<'a, T> {
    next: Arc<Next<'a, T>>,
    from: Arc<Meter<'a>>,
    pairs: Vec<(usize, T)>,
    waited: Duration,
}

impl<T: Send> Tail<T> for BufferOutlet<'_, T> {
    fn run(&mut self, batch: &mut Batch<T>) -> Spent {
        batch.failed.clear();
        let pairs = &mut self.pairs;
        batch.drain(|_, index, value| pairs.push((index, value)));
        let mut waited = Duration::ZERO;
        put(
            &self.next.buffer,
            &self.next.returns,
            &mut self.pairs,
            &mut waited,
        );
        self.waited += waited;
        add_waited(&self.from, waited);
        Spent {
            busy: Duration::ZERO,
            waited,
        }
    }

    fn end(&mut self, _: WorkerEnd) -> Spent {
        Spent {
            busy: Duration::ZERO,
            waited: self.waited,
        }
    }

    fn close(&self) {
        self.next.buffer.close();
    }
}

/// Counts a wait to hand outputs on into the row that handed them.
fn add_waited(from: &Meter<'_>, waited: Duration) {
    if !waited.is_zero() {
        from.counters.add(&mut Tally {
            waited_output: waited,
            ..Tally::default()
        });
    }
}

/// An ordered segment's outputs going into a buffer through the reorder window.
struct WindowOutlet<'a, T> {
    window: Arc<Window<'a, T>>,
    next: Arc<Next<'a, T>>,
    from: Arc<Meter<'a>>,
    slots: Vec<(usize, Slot<(usize, T)>)>,
    waited: Duration,
}

impl<T: Send> Tail<T> for WindowOutlet<'_, T> {
    fn run(&mut self, batch: &mut Batch<T>) -> Spent {
        let sorted = batch.failed.is_empty();
        let slots = &mut self.slots;
        batch.drain(|key, index, value| slots.push((key, Slot::Done((index, value)))));
        slots.extend(batch.failed.drain(..).map(|key| (key, Slot::Failed)));
        if !sorted {
            // Each part is in key order; a window takes a batch in key order.
            self.slots.sort_unstable_by_key(|&(key, _)| key);
        }
        let mut waited = Duration::ZERO;
        self.window.deposit(&mut self.slots, &mut waited);
        self.waited += waited;
        add_waited(&self.from, waited);
        Spent {
            busy: Duration::ZERO,
            waited,
        }
    }

    fn end(&mut self, _: WorkerEnd) -> Spent {
        Spent {
            busy: Duration::ZERO,
            waited: self.waited,
        }
    }

    fn close(&self) {
        self.next.buffer.close();
    }
}

/// A window's output: results gathered in order, put as one batch per hand-in while the
/// window's lock is held, so no later result can overtake them.
pub(crate) struct InOrder<'a, T> {
    buffer: Arc<BoundedBuffer<(usize, T)>>,
    returns: Arc<Returns<T>>,
    gathered: Vec<(usize, T)>,
    _row: std::marker::PhantomData<&'a ()>,
}

impl<T> InOrder<'_, T> {
    pub(crate) fn new(buffer: Arc<BoundedBuffer<(usize, T)>>, returns: Arc<Returns<T>>) -> Self {
        Self {
            buffer,
            returns,
            gathered: Vec::new(),
            _row: std::marker::PhantomData,
        }
    }
}

impl<T> Release<(usize, T)> for InOrder<'_, T> {
    fn release(&mut self, _key: usize, slot: Slot<(usize, T)>) {
        if let Slot::Done(indexed) = slot {
            self.gathered.push(indexed);
        }
    }

    fn flush(&mut self, waited: &mut Duration) {
        put(&self.buffer, &self.returns, &mut self.gathered, waited);
    }
}

/// Where the last segment's results are collected. The calling thread runs one of the last
/// segment's workers, and its outlet collects: it moves its own batches and those the other
/// workers hand over into the output (one copy of their values), between its own batches and
/// after its last one, and gives the allocations back for other batches. The output is then
/// written once, by one thread, and nothing is left to join when the run ends; and the run has
/// no thread more than it has workers.
pub(crate) struct Collector<T> {
    /// Batches handed over by the other workers.
    batches: BoundedBuffer<Batch<T>>,
    /// Batches taken in, to be filled again.
    spare: Mutex<Vec<Batch<T>>>,
    /// What the collecting worker collected, once it has ended.
    collected: Mutex<Option<Collecting<T>>>,
    ordered: bool,
}

impl<T> Collector<T> {
    /// A collector whose other workers may hand over `ahead` batches before they are taken.
    pub(crate) fn new(ahead: usize, ordered: bool) -> Self {
        Self {
            batches: BoundedBuffer::new(ahead.max(1)).expect("the capacity is not zero"),
            spare: Mutex::new(Vec::new()),
            collected: Mutex::new(None),
            ordered,
        }
    }

    fn spare(&self) -> MutexGuard<'_, Vec<Batch<T>>> {
        // Only this module's code runs under the lock, and it does not panic.
        self.spare.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a batch over, leaving an empty one with an allocation in its place.
    fn hand_over(&self, batch: &mut Batch<T>, waited: &mut Duration) {
        let spare = self.spare().pop().unwrap_or_else(Batch::new);
        let full = std::mem::replace(batch, spare);
        // Refused only once the collecting worker stopped taking, which it does not before
        // the last worker has ended.
        drop(self.batches.put_waited(full, waited));
    }

    /// Takes in the batches handed over so far, without waiting.
    fn take_handed(&self, collecting: &mut Collecting<T>) {
        for batch in self.batches.try_iter() {
            collecting.take_in(batch);
        }
        self.spare().append(&mut collecting.emptied);
    }

    /// After the collecting worker has ended: takes in every batch still to come, until the
    /// last worker has ended, and returns the results; also says how long it waited for them.
    pub(crate) fn finish(&self) -> (Collecting<T>, Duration) {
        let collected = self
            .collected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let mut collecting = collected.unwrap_or_else(|| Collecting::new(self.ordered));
        let (mut taken, mut waited) = (Vec::new(), Duration::ZERO);
        while self
            .batches
            .get_batch_into_waited(&mut taken, 16, &mut waited)
            .is_ok()
        {
            for batch in taken.drain(..) {
                collecting.take_in(batch);
            }
            self.spare().append(&mut collecting.emptied);
        }
        collecting.flush_early();
        (collecting, waited)
    }
}

/// The results collected so far.
pub(crate) struct Collecting<T> {
    /// The results so far, kept as runs of consecutive keys.
    out: IndexedRuns<T>,
    /// The source index of each result, where keys are not source indices.
    indices: Vec<usize>,
    ordered: bool,
    keyed: bool,
    /// The first key of the batch that comes next, in an ordered run.
    next: usize,
    /// Batches that came early, by first key, in an ordered run.
    early: BTreeMap<usize, Batch<T>>,
    /// Batches taken in, emptied, to go back to the workers.
    emptied: Vec<Batch<T>>,
}

impl<T> Collecting<T> {
    fn new(ordered: bool) -> Self {
        Self {
            out: IndexedRuns::new(),
            indices: Vec::new(),
            ordered,
            keyed: false,
            next: 0,
            early: BTreeMap::new(),
            emptied: Vec::new(),
        }
    }

    /// Takes a batch in, or keeps it aside if it came early.
    fn take_in(&mut self, mut batch: Batch<T>) {
        self.keyed |= batch.keyed;
        if self.ordered && batch.keys.start != self.next {
            self.early.insert(batch.keys.start, batch);
            return;
        }
        self.append(&mut batch);
        self.emptied.push(batch);
        while let Some(mut early) = self.early.remove(&self.next) {
            self.append(&mut early);
            self.emptied.push(early);
        }
    }

    fn append(&mut self, batch: &mut Batch<T>) {
        let keyed = self.keyed;
        self.next = batch.keys.end;
        batch.failed.clear();
        let (out, indices) = (&mut self.out, &mut self.indices);
        match batch.run() {
            Some((first, values)) if !keyed => out.append(first, values),
            _ => batch.drain(|key, index, value| {
                out.push(key, value);
                if keyed {
                    indices.push(index);
                }
            }),
        }
    }

    /// Takes in the batches still waiting for an earlier one: a run that stopped early.
    fn flush_early(&mut self) {
        for (_, mut early) in std::mem::take(&mut self.early) {
            self.append(&mut early);
        }
    }

    /// Every result with its source index, in source order.
    pub(crate) fn into_indexed(self) -> Vec<(usize, T)> {
        let mut all: Vec<(usize, T)> = if self.keyed {
            self.indices
                .into_iter()
                .zip(self.out.into_results())
                .collect()
        } else {
            self.out.into_indexed().collect()
        };
        all.sort_unstable_by_key(|&(index, _)| index);
        all
    }

    /// Every result: in key order if the run is ordered, else as they came.
    pub(crate) fn into_results(self) -> Vec<T> {
        self.out.into_results()
    }
}

/// The outlet of a worker of the last segment that hands its batches to the collecting one.
struct HandOver<'a, T> {
    collector: Arc<Collector<T>>,
    meter: Arc<Meter<'a>>,
    waited: Duration,
}

impl<T: Send> Tail<T> for HandOver<'_, T> {
    fn run(&mut self, batch: &mut Batch<T>) -> Spent {
        count_delivered(&self.meter, batch.len());
        let mut waited = Duration::ZERO;
        self.collector.hand_over(batch, &mut waited);
        self.waited += waited;
        Spent {
            busy: Duration::ZERO,
            waited,
        }
    }

    fn end(&mut self, _: WorkerEnd) -> Spent {
        Spent {
            busy: Duration::ZERO,
            waited: self.waited,
        }
    }

    fn close(&self) {
        self.collector.batches.close();
    }
}

fn count_delivered(meter: &Meter<'_>, delivered: usize) {
    meter.counters.add(&mut Tally {
        items_out: delivered,
        ..Tally::default()
    });
}

/// The outlet of the collecting worker (see [`Collector`]).
struct Collect<'a, T> {
    collector: Arc<Collector<T>>,
    meter: Arc<Meter<'a>>,
    collecting: Option<Collecting<T>>,
    busy: Duration,
}

impl<T: Send> Tail<T> for Collect<'_, T> {
    fn run(&mut self, batch: &mut Batch<T>) -> Spent {
        let started = Instant::now();
        count_delivered(&self.meter, batch.len());
        let collector = &*self.collector;
        let collecting = self
            .collecting
            .get_or_insert_with(|| Collecting::new(collector.ordered));
        let spare = collecting.emptied.pop().or_else(|| collector.spare().pop());
        let own = std::mem::replace(batch, spare.unwrap_or_else(Batch::new));
        collecting.take_in(own);
        collector.take_handed(collecting);
        let busy = started.elapsed();
        self.busy += busy;
        Spent {
            busy,
            waited: Duration::ZERO,
        }
    }

    fn end(&mut self, worker: WorkerEnd) -> Spent {
        // Collecting is the sink's work, done on this worker's thread.
        self.meter.counters.add(&mut Tally {
            busy: self.busy,
            cpu: self.busy.mul_f64(worker.on_cpu),
            running: worker.running,
            ..Tally::default()
        });
        if let Some(collecting) = self.collecting.take() {
            *self
                .collector
                .collected
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(collecting);
        }
        Spent {
            busy: self.busy,
            waited: Duration::ZERO,
        }
    }

    fn close(&self) {
        self.collector.batches.close();
    }
}
