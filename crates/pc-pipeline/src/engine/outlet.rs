//! Where a segment's outputs go: into the next buffer (through a reorder window when the segment is ordered), or into each worker's own collection of results.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

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
            Self::Collect { collector, .. } => Box::new(HandOver {
                collector: Arc::clone(collector),
                // The first worker is the one the calling thread may run.
                own: worker == 1,
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

/// Where the last segment's workers leave their batches for the calling thread, which takes
/// them in (collects them, or hands each result to the caller's sink) while the run goes on.
///
/// Where it is safe, the calling thread runs one of the last segment's workers itself and takes
/// the batches in between its own (see `run`): the run then has no thread more than it has
/// workers. That worker leaves its batches aside, in `own`, and never waits to: only the calling
/// thread takes them. The others hand theirs over through a buffer: bounded for a sink, so they
/// wait while it is full; unbounded for a collected run, which keeps every result anyway, so no
/// worker waits for a calling thread that waits on the source. The results are moved once, by
/// one thread, and each allocation goes back for another batch.
pub(crate) struct Collector<T> {
    /// Batches handed over by the other workers.
    batches: BoundedBuffer<Batch<T>>,
    /// Batches of the worker the calling thread runs.
    own: Mutex<Vec<Batch<T>>>,
    /// Batches taken in, to be filled again.
    spare: Mutex<Vec<Batch<T>>>,
    /// Whether the calling thread runs the first worker (set before any worker starts).
    inline: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only this module's code runs under these locks, and it does not panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Collector<T> {
    /// A collector whose workers may hand over `ahead` batches before they are taken.
    pub(crate) fn new(ahead: usize) -> Self {
        Self {
            batches: BoundedBuffer::new(ahead.max(1)).expect("the capacity is not zero"),
            own: Mutex::new(Vec::new()),
            spare: Mutex::new(Vec::new()),
            inline: AtomicBool::new(false),
        }
    }

    /// Says whether the calling thread runs the first worker, before any worker starts.
    pub(crate) fn set_inline(&self, inline: bool) {
        self.inline.store(inline, Ordering::Relaxed);
    }

    /// Swaps a full batch for an empty one with an allocation.
    fn swap_out(&self, batch: &mut Batch<T>) -> Batch<T> {
        let spare = lock(&self.spare).pop().unwrap_or_else(Batch::new);
        std::mem::replace(batch, spare)
    }

    /// Takes in every batch left so far, without waiting.
    pub(crate) fn take_available(&self, taker: &mut impl TakeIn<T>) {
        let own = std::mem::take(&mut *lock(&self.own));
        for batch in own {
            taker.take_in(batch);
        }
        if !self.batches.is_empty() {
            for batch in self.batches.try_iter() {
                taker.take_in(batch);
            }
        }
        let emptied = taker.emptied();
        if !emptied.is_empty() {
            lock(&self.spare).append(emptied);
        }
    }

    /// Takes in every batch still to come, until the last worker has ended; returns how long
    /// it waited for them.
    pub(crate) fn take_rest(&self, taker: &mut impl TakeIn<T>) -> Duration {
        let (mut taken, mut waited) = (Vec::new(), Duration::ZERO);
        self.take_available(taker);
        while self
            .batches
            .get_batch_into_waited(&mut taken, 16, &mut waited)
            .is_ok()
        {
            for batch in taken.drain(..) {
                taker.take_in(batch);
            }
            self.take_available(taker);
        }
        self.take_available(taker);
        waited
    }
}

/// What the calling thread does with each batch, in key order when the run is ordered.
pub(crate) trait TakeIn<T> {
    fn take_in(&mut self, batch: Batch<T>);
    /// Results taken in so far (delivered to the sink, for a sink).
    fn delivered(&self) -> usize;
    /// Batches taken in, emptied, to go back to the workers.
    fn emptied(&mut self) -> &mut Vec<Batch<T>>;
}

/// Puts batches in key order: a batch that comes early waits aside until the ones before it
/// are in. Nobody waits for it.
pub(crate) struct InKeyOrder<T> {
    ordered: bool,
    /// The first key of the batch that comes next, in an ordered run.
    next: usize,
    /// Batches that came early, by first key, in an ordered run.
    early: BTreeMap<usize, Batch<T>>,
    emptied: Vec<Batch<T>>,
}

impl<T> InKeyOrder<T> {
    pub(crate) fn new(ordered: bool) -> Self {
        Self {
            ordered,
            next: 0,
            early: BTreeMap::new(),
            emptied: Vec::new(),
        }
    }

    /// Hands `batch`, and any early ones it lets go, to `take` in key order.
    fn order(&mut self, batch: Batch<T>, mut take: impl FnMut(&mut Batch<T>)) {
        if self.ordered && batch.keys.start != self.next {
            self.early.insert(batch.keys.start, batch);
            return;
        }
        let mut batch = batch;
        self.next = batch.keys.end;
        take(&mut batch);
        self.emptied.push(batch);
        while let Some(mut early) = self.early.remove(&self.next) {
            self.next = early.keys.end;
            take(&mut early);
            self.emptied.push(early);
        }
    }

    /// The batches still waiting for an earlier one: a run that stopped early.
    fn rest(&mut self, mut take: impl FnMut(&mut Batch<T>)) {
        for (_, mut early) in std::mem::take(&mut self.early) {
            take(&mut early);
            self.emptied.push(early);
        }
    }
}

/// The results collected so far.
pub(crate) struct Collecting<T> {
    order: InKeyOrder<T>,
    /// The results so far, kept as runs of consecutive keys.
    out: IndexedRuns<T>,
    /// The source index of each result, where keys are not source indices.
    indices: Vec<usize>,
    keyed: bool,
    taken: usize,
}

impl<T> TakeIn<T> for Collecting<T> {
    fn take_in(&mut self, batch: Batch<T>) {
        self.keyed |= batch.keyed;
        self.taken += batch.len();
        let (out, indices, keyed) = (&mut self.out, &mut self.indices, self.keyed);
        self.order
            .order(batch, |batch| append(out, indices, keyed, batch));
    }

    fn emptied(&mut self) -> &mut Vec<Batch<T>> {
        &mut self.order.emptied
    }

    fn delivered(&self) -> usize {
        self.taken
    }
}

fn append<T>(
    out: &mut IndexedRuns<T>,
    indices: &mut Vec<usize>,
    keyed: bool,
    batch: &mut Batch<T>,
) {
    batch.failed.clear();
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

impl<T> Collecting<T> {
    pub(crate) fn new(ordered: bool) -> Self {
        Self {
            order: InKeyOrder::new(ordered),
            out: IndexedRuns::new(),
            indices: Vec::new(),
            keyed: false,
            taken: 0,
        }
    }

    fn flush_early(&mut self) {
        let (out, indices, keyed) = (&mut self.out, &mut self.indices, self.keyed);
        self.order.rest(|batch| append(out, indices, keyed, batch));
    }

    /// Every result with its source index, in source order.
    pub(crate) fn into_indexed(mut self) -> Vec<(usize, T)> {
        self.flush_early();
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
    pub(crate) fn into_results(mut self) -> Vec<T> {
        self.flush_early();
        self.out.into_results()
    }
}

/// Results handed to the caller's sink one by one, in key order when the run is ordered. Once
/// the sink fails (it returns why) nothing more reaches it, and the results it was not given are
/// handed back.
pub(crate) struct Sinking<T, F, C> {
    order: InKeyOrder<T>,
    sink: F,
    /// Why the sink failed, until the run is told.
    pub(crate) failure: Option<C>,
    /// Whether the sink failed: it is given nothing more.
    stopped: bool,
    /// Results not given to the sink once it failed, with their source indices.
    rest: Vec<(usize, T)>,
    delivered: usize,
}

impl<T, F: FnMut(usize, T) -> Result<(), C>, C> Sinking<T, F, C> {
    pub(crate) fn new(ordered: bool, sink: F) -> Self {
        Self {
            order: InKeyOrder::new(ordered),
            sink,
            failure: None,
            stopped: false,
            rest: Vec::new(),
            delivered: 0,
        }
    }

    fn give(&mut self, batch: &mut Batch<T>) {
        batch.failed.clear();
        let (sink, stopped, rest) = (&mut self.sink, &mut self.stopped, &mut self.rest);
        let (delivered, failure) = (&mut self.delivered, &mut self.failure);
        batch.drain(|_, index, value| {
            if *stopped {
                rest.push((index, value));
                return;
            }
            match sink(index, value) {
                Ok(()) => *delivered += 1,
                Err(why) => {
                    *stopped = true;
                    *failure = Some(why);
                }
            }
        });
    }

    /// The results never given to the sink: those still waiting for an earlier one, and those
    /// that came after it failed.
    pub(crate) fn take_rest(&mut self) -> Vec<(usize, T)> {
        self.stopped = true;
        let mut early = InKeyOrder::new(false);
        std::mem::swap(&mut early.early, &mut self.order.early);
        let mut rest = std::mem::take(&mut self.rest);
        early.rest(|batch| {
            batch.failed.clear();
            batch.drain(|_, index, value| rest.push((index, value)));
        });
        rest
    }
}

impl<T, F: FnMut(usize, T) -> Result<(), C>, C> TakeIn<T> for Sinking<T, F, C> {
    fn take_in(&mut self, batch: Batch<T>) {
        let mut order = std::mem::replace(&mut self.order, InKeyOrder::new(false));
        order.order(batch, |batch| self.give(batch));
        self.order = order;
    }

    fn emptied(&mut self) -> &mut Vec<Batch<T>> {
        &mut self.order.emptied
    }

    fn delivered(&self) -> usize {
        self.delivered
    }
}

/// The outlet of a worker of the last segment: it leaves its batches with the [`Collector`],
/// aside if the calling thread runs it, else through the buffer.
struct HandOver<T> {
    collector: Arc<Collector<T>>,
    /// Whether this is the worker the calling thread runs.
    own: bool,
    waited: Duration,
}

impl<T: Send> Tail<T> for HandOver<T> {
    fn run(&mut self, batch: &mut Batch<T>) -> Spent {
        let full = self.collector.swap_out(batch);
        let mut waited = Duration::ZERO;
        if self.own && self.collector.inline.load(Ordering::Relaxed) {
            lock(&self.collector.own).push(full);
        } else {
            // Refused only once the calling thread stopped taking, which it does not before
            // the last worker has ended.
            drop(self.collector.batches.put_waited(full, &mut waited));
        }
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
