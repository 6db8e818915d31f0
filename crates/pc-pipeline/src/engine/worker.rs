//! A segment's worker: a consumer role over the worker's view of the segment's input, whose sink hands each batch of outcomes to the stages fused after it and on to the outlet.

use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use pc_roles::{ConsumeHook, ConsumerRole, Flow, Role, Sink, StopCause};
use pc_roles::{catch_panic as catch, panic_message};

use super::input::{PairsView, SourceView, Taker, TurnView, View};
use super::{Batch, Input, InputKind, Spent, Tail, WorkerEnd};
use crate::control::Control;
use crate::cpu::{CpuClock, on_cpu_ratio};
use crate::err::{Cause, Failure, Place, worker_number};
use crate::meter::{Meter, Tally};
use crate::stage::{ErrorHook, FailurePolicy};

fn lock<H>(hook: &Mutex<H>) -> MutexGuard<'_, H> {
    // A callback that panicked poisoned its lock; the run that saw it is ending with the
    // panic, and the callback is whole enough to be called by the other workers meanwhile.
    hook.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stage as all its workers share it.
pub(crate) struct StageShared<'a, E, W, C, F, X> {
    pub(crate) name: String,
    pub(crate) policy: FailurePolicy,
    pub(crate) delay: Duration,
    pub(crate) batch: usize,
    /// Items per pull for a worker that reads the source itself.
    pub(crate) source_batch: usize,
    pub(crate) work: W,
    /// Turns the work's error into the run's.
    pub(crate) convert: fn(X) -> E,
    pub(crate) on_consume: Mutex<C>,
    /// Successes so far, over all workers: the count `on_consume` is given.
    pub(crate) consumed: AtomicUsize,
    pub(crate) on_error: Mutex<F>,
    pub(crate) meter: Arc<Meter<'a>>,
    pub(crate) control: Arc<Control<'a, E>>,
    /// The source's row, which a worker reading the source itself accounts to.
    pub(crate) source: OnceLock<Arc<Meter<'a>>>,
    pub(crate) live: bool,
}

impl<E, W, C, F, X> StageShared<'_, E, W, C, F, X> {
    /// Calls `on_error` and records a failed item under the stage's policy; `false` if the run
    /// must stop.
    fn failed(&self, worker: usize, index: usize, error: X) -> bool
    where
        F: ErrorHook<X>,
    {
        if F::ACTIVE {
            if let Err(message) = catch(|| lock(&self.on_error).call(index, &error)) {
                self.panicked(Place::OnError, worker, Some(index), message);
                return false;
            }
        }
        let failure = Failure {
            stage: self.name.clone(),
            index,
            error: (self.convert)(error),
        };
        match self.policy {
            FailurePolicy::Continue => {
                self.control.record_failure(failure);
                true
            }
            FailurePolicy::FailFast => {
                self.control.fail(Cause::Failed(failure));
                false
            }
        }
    }

    fn panicked(&self, place: Place, worker: usize, index: Option<usize>, message: String) {
        self.control.fail(Cause::Panicked {
            stage: self.name.clone(),
            place,
            worker: worker_number(worker),
            index,
            message,
        });
    }
}

/// The stage's `on_consume`, shared by all its workers, with a count over all of them.
struct Counted<'h, C> {
    hook: &'h Mutex<C>,
    count: &'h AtomicUsize,
}

impl<C> Clone for Counted<'_, C> {
    fn clone(&self) -> Self {
        Self {
            hook: self.hook,
            count: self.count,
        }
    }
}

impl<R, C: ConsumeHook<R>> ConsumeHook<R> for Counted<'_, C> {
    const ACTIVE: bool = C::ACTIVE;

    fn call(&mut self, result: &R, _: usize, buffer_len: usize) {
        let mut hook = lock(self.hook);
        // Counted under the callback's lock, so the counts reach the callback in order.
        let count = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        hook.call(result, count, buffer_len);
    }
}

/// Runs one worker of a segment whose first stage is `shared`, over `input`, handing its
/// outputs to `tail`. The last of `workers_left` to end closes the tail.
pub(crate) fn run_worker<'a, E, T, R, X, W, C, F>(
    shared: &StageShared<'a, E, W, C, F, X>,
    input: &Input<'a, T>,
    worker: usize,
    (tail, next_meter): (Box<dyn Tail<R> + 'a>, &Meter<'a>),
    workers_left: &AtomicUsize,
    between: &mut dyn FnMut() -> Duration,
) where
    T: Send,
    R: Send,
    W: Fn(T) -> Result<R, X> + Sync,
    C: ConsumeHook<R> + Send,
    F: ErrorHook<X> + Send,
{
    let out = (tail, next_meter, between);
    let tail = match &input.kind {
        InputKind::Source(source) => run_over(
            shared,
            SourceView::new(&**source, worker),
            input,
            worker,
            out,
        ),
        InputKind::Turns(turns) => {
            run_over(shared, TurnView::new(&**turns, worker), input, worker, out)
        }
        InputKind::Numbered(numbered) => run_over(shared, Taker::new(numbered), input, worker, out),
        InputKind::Pairs(pairs) => run_over(shared, PairsView::new(pairs), input, worker, out),
    };
    // The last worker out ends the segment's output, so the next row drains it and ends.
    if workers_left.fetch_sub(1, Ordering::AcqRel) == 1 {
        tail.close();
    }
}

fn run_over<'a, E, T, R, X, W, C, F, V>(
    shared: &StageShared<'a, E, W, C, F, X>,
    view: V,
    input: &Input<'a, T>,
    worker: usize,
    (tail, next_meter, between): (
        Box<dyn Tail<R> + 'a>,
        &Meter<'a>,
        &mut dyn FnMut() -> Duration,
    ),
) -> Box<dyn Tail<R> + 'a>
where
    V: View<T>,
    W: Fn(T) -> Result<R, X> + Sync,
    C: ConsumeHook<R>,
    F: ErrorHook<X>,
{
    let cpu = CpuClock::start();
    let started = Instant::now();
    let batch = match input.kind {
        InputKind::Source(_) | InputKind::Turns(_) => shared.source_batch,
        _ => shared.batch,
    };
    let mut role = ConsumerRole::new()
        .delay(shared.delay)
        .batch(batch)
        .with_hook(Counted {
            hook: &shared.on_consume,
            count: &shared.consumed,
        });
    let mut state = SinkState {
        shared,
        view: &view,
        worker,
        tail,
        next_meter,
        between,
        taken_in: Duration::ZERO,
        kept: Kept::default(),
        batch: Batch::new(),
        position: 0,
        flushed: 0,
        failed_at: Vec::new(),
        // A worker paced by a delay publishes at its end only: its cycles are mostly sleep.
        clock: (shared.live && shared.delay.is_zero()).then(Instant::now),
        live: Tally::default(),
        live_source: Duration::ZERO,
    };
    let control = &shared.control;
    let run = role.run_until(
        &shared.work,
        &view,
        control.stop_flag(),
        SegmentSink(&mut state, PhantomData),
    );
    let (report, panicked) = match run {
        Ok(report) => (report, 0),
        Err(err) => {
            // What a consumer hands back is the end of its last batch.
            let taken = view.keys().len();
            let positions = taken - err.unprocessed.len()..taken;
            let indices = positions.map(|position| view.index(position));
            input.returns.extend(indices.zip(err.unprocessed));
            let panicked = match err.cause {
                StopCause::Panicked { role, message } => {
                    let (place, index, failed) = match role {
                        // The item whose work panicked counts as processed, and failed.
                        Role::Consumer => (Place::Work, Some(view.index(state.flushed)), 1),
                        // Its result reached the sink before the callback panicked.
                        _ => {
                            let position = state.flushed.checked_sub(1);
                            (Place::OnConsume, position.map(|p| view.index(p)), 0)
                        }
                    };
                    shared.panicked(place, worker, index, message);
                    failed
                }
                StopCause::Transport(never) => match never {},
                // The sink asked to stop, having recorded why; or another row stopped the run.
                StopCause::Halted
                | StopCause::Stopped
                | StopCause::Closed
                | StopCause::NoConsumer => 0,
            };
            (err.report, panicked)
        }
    };
    state.kept.publish(&shared.meter, state.next_meter);
    let running = started.elapsed();
    let end = WorkerEnd {
        on_cpu: on_cpu_ratio(cpu.used(), report.busy),
        running,
    };
    let spent = state.tail.end(end);
    let source_busy = view.source_busy();
    if let (false, Some(source)) = (source_busy.is_zero(), shared.source.get()) {
        source.counters.add(&mut Tally {
            busy: source_busy.saturating_sub(state.live_source),
            cpu: source_busy.mul_f64(end.on_cpu),
            running,
            ..Tally::default()
        });
    }
    // The first stage's own time is what is left of the role's busy time; what was published
    // live after each batch is already in.
    let own = report
        .busy
        .saturating_sub(spent.total() + source_busy + state.taken_in);
    shared.meter.counters.add(&mut Tally {
        failed: panicked,
        busy: own.saturating_sub(state.live.busy),
        cpu: own.mul_f64(end.on_cpu),
        paced: report.paced,
        waited_input: report.blocked.saturating_sub(state.live.waited_input),
        running: running.saturating_sub(state.live.running),
        ..Tally::default()
    });
    state.tail
}

/// What a worker's sink keeps between outcomes.
struct SinkState<'s, 'a, E, R, W, C, F, X, V> {
    shared: &'s StageShared<'a, E, W, C, F, X>,
    view: &'s V,
    worker: usize,
    tail: Box<dyn Tail<R> + 'a>,
    /// The row receiving what this stage hands on.
    next_meter: &'s Meter<'a>,
    /// Called after each batch was handed on.
    between: &'s mut dyn FnMut() -> Duration,
    /// Time spent in `between`: the calling thread's share of taking results in.
    taken_in: Duration,
    kept: Kept,
    /// The current batch's successes and the keys of its failures.
    batch: Batch<R>,
    /// How many outcomes of the current batch the sink received.
    position: usize,
    /// How many outcomes the batch handed on last had: where a role that stopped stood.
    flushed: usize,
    /// The positions of the current batch's failed items.
    failed_at: Vec<usize>,
    /// When the last batch was handed on, for live figures; `None` when nobody watches.
    clock: Option<Instant>,
    /// What was published live: subtracted from the exact figures at the end.
    live: Tally,
    live_source: Duration,
}

/// The sink of a segment's first stage, whose items are `T`.
struct SegmentSink<'r, 's, 'a, E, T, R, W, C, F, X, V>(
    &'r mut SinkState<'s, 'a, E, R, W, C, F, X, V>,
    PhantomData<fn(T)>,
);

impl<E, T, R, W, C, F, X, V> Sink<R, X> for SegmentSink<'_, '_, '_, E, T, R, W, C, F, X, V>
where
    V: View<T>,
    F: ErrorHook<X>,
{
    #[inline]
    fn accept(&mut self, outcome: Result<R, X>) -> Flow {
        let state = &mut *self.0;
        let position = state.position;
        state.position += 1;
        match outcome {
            Ok(value) => {
                state.batch.values.push(value);
                Flow::Continue
            }
            Err(error) => {
                state.failed_at.push(position);
                let index = state.view.index(position);
                if state.shared.failed(state.worker, index, error) {
                    Flow::Continue
                } else {
                    Flow::Stop
                }
            }
        }
    }

    fn flush(&mut self) {
        let state = &mut *self.0;
        let (out, failed) = (state.batch.len(), state.failed_at.len());
        state.flushed = state.position;
        if out == 0 && failed == 0 {
            return;
        }
        // The keys and indices of the batch's outcomes, from its position in the batch taken.
        let view = state.view;
        let start = view.keys().start;
        state.batch.keys = start..start + state.position;
        state.batch.keyed = !V::KEYS_ARE_INDICES;
        if failed == 0 && V::KEYS_ARE_INDICES {
            state.batch.set_run(start);
        } else {
            let failed_at = &state.failed_at;
            let mut skipped = failed_at.iter().peekable();
            let succeeded =
                (0..state.position).filter(move |position| skipped.next_if_eq(&position).is_none());
            state
                .batch
                .set_ids(succeeded.map(|position| (start + position, view.index(position))));
            let failed_keys = state.failed_at.drain(..).map(|position| start + position);
            state.batch.failed.extend(failed_keys);
        }
        state.position = 0;
        // Counted before handing on: the next row never shows more than it was given.
        let counts = Tally {
            items_out: out,
            failed,
            ..Tally::default()
        };
        let (meter, next) = (&state.shared.meter, state.next_meter);
        state
            .kept
            .count(state.shared.live, meter, next, counts, out);
        let mut spent = state.tail.run(&mut state.batch);
        let taken_in = (state.between)();
        state.taken_in += taken_in;
        spent.busy += taken_in;
        if let Some(last) = state.clock.as_mut() {
            let now = Instant::now();
            let cycle = now - *last;
            *last = now;
            let waited = state.view.take_waited();
            let source = state.view.source_busy() - state.live_source;
            state.live_source += source;
            let mut tally = Tally {
                busy: cycle.saturating_sub(waited + spent.total() + source),
                waited_input: waited,
                running: cycle,
                ..Tally::default()
            };
            state.live.busy += tally.busy;
            state.live.waited_input += waited;
            state.live.running += cycle;
            state.shared.meter.counters.add(&mut tally);
            if let (false, Some(row)) = (source.is_zero(), state.shared.source.get()) {
                row.counters.add(&mut Tally {
                    busy: source,
                    ..Tally::default()
                });
            }
        }
    }
}

/// A stage fused into the workers of the stage before it: it runs each batch of that stage's
/// outputs and hands its own on.
pub(crate) struct FusedStage<'a, E, R, W, C, F, X> {
    pub(crate) shared: Arc<StageShared<'a, E, W, C, F, X>>,
    pub(crate) worker: usize,
    pub(crate) next: Box<dyn Tail<R> + 'a>,
    /// The receiving row of `next`, which this stage counts its outputs into.
    pub(crate) next_meter: Arc<Meter<'a>>,
    pub(crate) outputs: Batch<R>,
    pub(crate) busy: Duration,
    pub(crate) kept: Kept,
}

/// A row's counts kept by one worker: published after every batch when someone watches the
/// run live, else once when the worker ends, so that workers do not contend for the row's
/// counters batch after batch.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    tally: Tally,
    /// Items handed to the next row.
    handed: usize,
}

impl Kept {
    fn count(
        &mut self,
        live: bool,
        meter: &Meter<'_>,
        next: &Meter<'_>,
        tally: Tally,
        handed: usize,
    ) {
        self.tally.items_out += tally.items_out;
        self.tally.failed += tally.failed;
        self.tally.busy += tally.busy;
        self.handed += handed;
        if live {
            self.publish(meter, next);
        }
    }

    /// Adds what was kept to the rows: first this row's outputs, then the next row's inputs.
    fn publish(&mut self, meter: &Meter<'_>, next: &Meter<'_>) {
        meter.counters.add(&mut self.tally);
        next.counters.add_in(std::mem::take(&mut self.handed));
    }
}

impl<E, T, R, W, C, F, X> Tail<T> for FusedStage<'_, E, R, W, C, F, X>
where
    E: Send,
    T: Send,
    R: Send,
    W: Fn(T) -> Result<R, X> + Send + Sync,
    C: ConsumeHook<R> + Send,
    F: ErrorHook<X> + Send,
    X: Send,
{
    fn run(&mut self, batch: &mut Batch<T>) -> Spent {
        let started = Instant::now();
        let shared = &*self.shared;
        let worker = self.worker;
        let outputs = &mut self.outputs;
        let mut failed = std::mem::take(&mut batch.failed);
        let before = failed.len();
        // The batch runs whole: a stop is seen at the segment's input, so no item is ever left
        // between two fused stages. One catch for the whole batch, which costs nothing until a
        // panic; after one, the batch goes on from the next item.
        let mut current = None;
        let mut items = batch.items();
        loop {
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                for (key, index, value) in items.by_ref() {
                    current = Some((key, index));
                    match (shared.work)(value) {
                        Ok(value) => {
                            if C::ACTIVE {
                                let mut hook = Counted {
                                    hook: &shared.on_consume,
                                    count: &shared.consumed,
                                };
                                if let Err(message) = catch(|| hook.call(&value, 0, 0)) {
                                    shared.panicked(Place::OnConsume, worker, Some(index), message);
                                }
                            }
                            outputs.push(key, index, value);
                        }
                        Err(error) => {
                            failed.push(key);
                            shared.failed(worker, index, error);
                        }
                    }
                }
            }));
            let Err(payload) = caught else { break };
            if let Some((key, index)) = current.take() {
                failed.push(key);
                shared.panicked(Place::Work, worker, Some(index), panic_message(&*payload));
            }
        }
        drop(items);
        let busy = started.elapsed();
        self.busy += busy;
        let out = outputs.len();
        let counts = Tally {
            items_out: out,
            failed: failed.len() - before,
            busy,
            ..Tally::default()
        };
        let (meter, next) = (&shared.meter, &*self.next_meter);
        self.kept.count(shared.live, meter, next, counts, out);
        outputs.failed = failed;
        outputs.keys = batch.keys.clone();
        outputs.keyed = batch.keyed;
        let spent = self.next.run(outputs);
        Spent {
            busy: busy + spent.busy,
            waited: spent.waited,
        }
    }

    fn end(&mut self, worker: WorkerEnd) -> Spent {
        self.kept.publish(&self.shared.meter, &self.next_meter);
        self.shared.meter.counters.add(&mut Tally {
            cpu: self.busy.mul_f64(worker.on_cpu),
            running: worker.running,
            ..Tally::default()
        });
        let spent = self.next.end(worker);
        Spent {
            busy: self.busy + spent.busy,
            waited: spent.waited,
        }
    }

    fn close(&self) {
        self.next.close();
    }
}
