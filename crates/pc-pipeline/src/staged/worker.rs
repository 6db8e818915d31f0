//! The threads of a staged run: the source thread and the stage workers, and how each hands its outputs to the next row.

use std::iter;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pc_buffer::BoundedBuffer;
use pc_roles::Clock;
use pc_roles::catch_panic as catch;

use super::control::Control;
use super::leftovers::Returns;
use super::live::{Meter, Tally};
use crate::builder::FailurePolicy;
use crate::err::{BoxError, StageCause, StageFailure};
use crate::reorder::{Release, ReorderWindow, Slot};

/// Where a row hands its outputs: the next row's input buffer, its counters and its returns.
pub(crate) struct Outlet<T> {
    pub(crate) buffer: Arc<BoundedBuffer<(usize, T)>>,
    pub(crate) meter: Arc<Meter>,
    pub(crate) returns: Arc<Returns<T>>,
}

impl<T> Clone for Outlet<T> {
    fn clone(&self) -> Self {
        Self {
            buffer: Arc::clone(&self.buffer),
            meter: Arc::clone(&self.meter),
            returns: Arc::clone(&self.returns),
        }
    }
}

impl<T> Outlet<T> {
    /// Moves `items` into the next row's buffer, leaving the `Vec` empty for reuse; what a
    /// closed buffer refuses becomes the next row's returns. Items are counted into the next
    /// row by the caller, once, before.
    pub(crate) fn put(&self, items: &mut Vec<(usize, T)>) {
        if items.is_empty() {
            return;
        }
        if let Err(refused) = self.buffer.put_batch_from(items) {
            self.returns.extend(refused.into_inner());
        }
    }

    /// No more items: the next row drains what is in the buffer, then ends.
    pub(crate) fn close(&self) {
        self.buffer.close();
    }
}

/// An ordered stage's window output: results gathered in order, put as one batch per hand-in
/// while the window's lock is held, so no later result can overtake them.
pub(crate) struct InOrderOutlet<R> {
    pub(crate) outlet: Outlet<R>,
    pub(crate) gathered: Vec<(usize, R)>,
}

impl<R> Release<(usize, R)> for InOrderOutlet<R> {
    fn release(&mut self, _seq: usize, slot: Slot<(usize, R)>) {
        if let Slot::Done(indexed) = slot {
            self.gathered.push(indexed);
        }
    }

    fn flush(&mut self) {
        self.outlet.put(&mut self.gathered);
    }
}

pub(crate) type Window<R> = ReorderWindow<(usize, R), InOrderOutlet<R>>;

/// How a stage's outputs leave it.
pub(crate) enum Handoff<R> {
    /// As they are ready.
    Direct(Outlet<R>),
    /// In the order the stage's workers took their inputs.
    InOrder {
        window: Arc<Window<R>>,
        outlet: Outlet<R>,
    },
}

impl<R> Handoff<R> {
    fn outlet(&self) -> &Outlet<R> {
        match self {
            Self::Direct(outlet) | Self::InOrder { outlet, .. } => outlet,
        }
    }
}

/// How many items to take per buffer operation: enough that one batch of work takes about
/// [`TARGET`](Self::TARGET), so fast work pays for one lock per batch while slow work hands on
/// each result at once (and leaves the rest of the input to the other workers).
pub(crate) struct Pacer {
    max: usize,
    next: usize,
}

impl Pacer {
    const TARGET: Duration = Duration::from_millis(1);

    pub(crate) fn new(max: usize) -> Self {
        // Start with one item: nothing is known about the work yet.
        Self {
            max: max.max(1),
            next: 1,
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.next
    }

    /// Learns from a batch of `items` that kept the thread busy for `busy`.
    pub(crate) fn observe(&mut self, items: usize, busy: Duration) {
        if items == 0 {
            return;
        }
        let per_item = busy.as_nanos() / items as u128;
        let fits = Self::TARGET.as_nanos() / per_item.max(1);
        self.next = usize::try_from(fits)
            .unwrap_or(usize::MAX)
            .clamp(1, self.max);
    }
}

/// The thread that reads the source and hands its items, numbered, to the first stage.
pub(crate) struct SourceThread<I: Iterator> {
    pub(crate) source: I,
    pub(crate) chunk: usize,
    pub(crate) outlet: Outlet<I::Item>,
    pub(crate) meter: Arc<Meter>,
    pub(crate) control: Arc<Control>,
}

impl<I: Iterator> SourceThread<I> {
    pub(crate) fn run(mut self) {
        let mut clock = Clock::start();
        let mut tally = Tally::default();
        let mut pacer = Pacer::new(self.chunk);
        let mut index = 0;
        // Filled and emptied into the buffer again and again: allocated once.
        let mut chunk = Vec::new();
        while !self.control.stopped() {
            // Read ahead only as far as the source promises items: a source that may block (a
            // channel, a socket) says nothing, and each item goes on before the next is awaited,
            // so no item waits in here on one that depends on it.
            let want = pacer.size().min(self.source.size_hint().0).max(1);
            chunk.reserve(want);
            let pulled = catch(|| {
                for item in self.source.by_ref().take(want) {
                    chunk.push((index, item));
                    index += 1;
                }
            });
            let busy = clock.lap();
            tally.busy += busy;
            pacer.observe(chunk.len(), busy);
            let n = chunk.len();
            let exhausted = n < want;
            // Counted once, as out of the source and into the first stage, before the put:
            // what a closed buffer refuses is the first stage's to return.
            self.meter.counters.add_in(n);
            tally.items_out += n;
            self.meter.counters.add(&mut tally);
            self.outlet.meter.counters.add_in(n);
            self.outlet.put(&mut chunk);
            tally.waited_output += clock.lap();
            self.meter.counters.add(&mut tally);
            if let Err(message) = pulled {
                let stage = "source".to_owned();
                self.control.fail(StageCause::Panicked {
                    stage,
                    worker: 1,
                    message,
                });
                break;
            }
            if exhausted {
                break;
            }
        }
        self.outlet.close();
    }
}

/// One worker of a stage: takes batches from the stage's input, runs the work on each item,
/// and hands the outputs on.
pub(crate) struct StageWorker<T, R, W> {
    pub(crate) name: Arc<str>,
    pub(crate) worker: usize,
    pub(crate) policy: FailurePolicy,
    pub(crate) batch: usize,
    pub(crate) work: Arc<W>,
    pub(crate) input: Arc<BoundedBuffer<(usize, T)>>,
    pub(crate) handoff: Handoff<R>,
    pub(crate) meter: Arc<Meter>,
    pub(crate) returns: Arc<Returns<T>>,
    pub(crate) control: Arc<Control>,
    pub(crate) workers_left: Arc<AtomicUsize>,
}

impl<T, R, W: Fn(T) -> Result<R, BoxError>> StageWorker<T, R, W> {
    pub(crate) fn run(self) {
        let mut clock = Clock::start();
        let mut tally = Tally::default();
        let mut pacer = Pacer::new(self.batch);
        let mut batch = Vec::with_capacity(self.batch);
        let mut done: Vec<(usize, R)> = Vec::new();
        let mut slots: Vec<(usize, Slot<(usize, R)>)> = Vec::new();
        let in_order = matches!(self.handoff, Handoff::InOrder { .. });
        let mut stopped = false;
        while !stopped {
            if self.control.stopped() {
                stopped = true;
                break;
            }
            // Numbered by the buffer as they leave it: an ordered stage's window is keyed by
            // these numbers, whose order is the buffer's own, which the window's
            // deadlock-freedom rests on (see `reorder`).
            let Ok(numbers) = self.input.get_batch_numbered(&mut batch, pacer.size()) else {
                break;
            };
            tally.waited_input += clock.lap();
            let taken = batch.len();
            let mut items = numbers.zip(batch.drain(..));
            let mut succeeded = 0;
            while let Some((sequence, (index, item))) = items.next() {
                if self.control.stopped() {
                    // Finish nothing more: hand back this item and the rest of the batch.
                    let rest = items.by_ref().map(|(_, indexed)| indexed);
                    self.returns.extend(iter::once((index, item)).chain(rest));
                    stopped = true;
                    break;
                }
                let why = match catch(|| (self.work)(item)) {
                    Ok(Ok(result)) => {
                        succeeded += 1;
                        if in_order {
                            slots.push((sequence, Slot::Done((index, result))));
                        } else {
                            done.push((index, result));
                        }
                        None
                    }
                    Ok(Err(error)) => Some(Ok(error)),
                    Err(message) => Some(Err(message)),
                };
                if let Some(why) = why {
                    tally.failed += 1;
                    if in_order {
                        slots.push((sequence, Slot::Failed));
                    }
                    self.failed(index, why);
                }
            }
            drop(items);
            let busy = clock.lap();
            tally.busy += busy;
            pacer.observe(taken, busy);
            // Counted once, as out of this stage and into the next, before handing on: what
            // the next row cannot take is its to return.
            tally.items_out += succeeded;
            self.meter.counters.add(&mut tally);
            self.handoff.outlet().meter.counters.add_in(succeeded);
            match &self.handoff {
                Handoff::Direct(outlet) => outlet.put(&mut done),
                Handoff::InOrder { window, .. } => window.deposit(&mut slots),
            }
            tally.waited_output += clock.lap();
            self.meter.counters.add(&mut tally);
        }
        if stopped {
            // Nobody takes from this input any more: let the row before stop putting into it.
            self.input.close();
        }
        // The last worker out ends the stage's output, so the next row drains it and ends.
        if self.workers_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.handoff.outlet().close();
        }
    }

    /// Records a failed item: the work's error, under the stage's policy, or a panic's message,
    /// which ends the run.
    fn failed(&self, index: usize, why: Result<BoxError, String>) {
        let stage = self.name.to_string();
        match why {
            Ok(error) => {
                let failure = StageFailure {
                    stage,
                    index,
                    error,
                };
                match self.policy {
                    FailurePolicy::Continue => self.control.record_failure(failure),
                    FailurePolicy::FailFast => self.control.fail(StageCause::Failed(failure)),
                }
            }
            Err(message) => self.control.fail(StageCause::Panicked {
                stage,
                worker: self.worker,
                message,
            }),
        }
    }
}
