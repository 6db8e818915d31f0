//! A run from start to end: launching every row, starting the threads, watching for a cancel and for progress, and gathering what every row did and handed back.

use std::panic;
use std::sync::Arc;
use std::thread::{self, Scope};
use std::time::{Duration, Instant};

use pc_buffer::BoundedBuffer;
use pc_roles::catch_panic as catch;

use super::outlet::{Collecting, Collector, Sinking, TakeIn};
use super::{Body, CallerBody, Downstream, End, Launch, Launcher};
use crate::control::{Control, Signal, Watch};
use crate::err::{Cause, Failure, Place, RunError, StageConfigError};
use crate::leftovers::{Returns, StageLeftovers, Unprocessed};
use crate::meter::{Meter, Tally};
use crate::report::{RowKind, RunReport};
use crate::stage::cores;
use crate::stream::{Collected, Finished, Reader};

/// A progress hook: called with the live report every so often, and with the final one.
pub(crate) type ProgressHook<'a> = Box<dyn FnMut(&RunReport) + Send + 'a>;

/// Everything a run needs, as a chain or a pipeline builds it.
pub(crate) struct RunPlan<'a, E, S, T> {
    pub(crate) launcher: Launcher<'a, E, T>,
    /// Where the source's items that no stage processed go.
    pub(crate) source_returns: Arc<Returns<S>>,
    /// The workers of every stage, summed: whether the run's threads outnumber the cores.
    pub(crate) workers: usize,
    /// Whether the last stage's outputs leave in order.
    pub(crate) ordered: bool,
    pub(crate) stages: usize,
    /// The capacity of the buffer the results go through, when a reader takes them.
    pub(crate) capacity: usize,
    pub(crate) progress: Option<(Duration, ProgressHook<'a>)>,
    pub(crate) signal: Arc<Signal>,
    /// A refusal found while the chain was built; nothing runs then.
    pub(crate) invalid: Option<StageConfigError>,
}

/// A launched run, before and after its threads run.
pub(crate) struct Running<'a, 'j, E, S> {
    pub(crate) control: Arc<Control<'a, E>>,
    /// The worker the calling thread runs.
    pub(crate) caller: Option<CallerBody<'a>>,
    pub(crate) meters: Vec<Arc<Meter<'a>>>,
    finishers: Vec<Box<dyn FnOnce() + Send + 'a>>,
    #[expect(clippy::type_complexity, reason = "a list of boxed closures")]
    drainers: Vec<(
        Arc<Meter<'a>>,
        Box<dyn FnOnce() -> StageLeftovers + Send + 'a>,
    )>,
    source_returns: Arc<Returns<S>>,
    pub(crate) started: Instant,
    joins: Vec<Join<'j>>,
    watcher: Option<WatcherJoin<'a, 'j>>,
}

type Join<'j> = Box<dyn FnOnce() -> thread::Result<()> + 'j>;
type WatcherJoin<'a, 'j> = Box<dyn FnOnce() -> thread::Result<Option<ProgressHook<'a>>> + 'j>;

/// A panic of this crate's own code on one of the run's threads: passed on, not hidden.
pub(crate) type Bug = Box<dyn std::any::Any + Send>;

/// Starts threads: scoped ones for a run that borrows, detached ones for a stream.
pub(crate) trait Spawner<'a, 'j> {
    fn spawn(&self, name: String, body: Body<'a>) -> Join<'j>;
    fn spawn_watcher(
        &self,
        body: Box<dyn FnOnce() -> Option<ProgressHook<'a>> + Send + 'a>,
    ) -> WatcherJoin<'a, 'j>;
}

/// Threads scoped to the caller's call.
pub(crate) struct Scoped<'s, 'env>(pub(crate) &'s Scope<'s, 'env>);

impl<'a: 's, 's, 'env> Spawner<'a, 's> for Scoped<'s, 'env> {
    fn spawn(&self, name: String, body: Body<'a>) -> Join<'s> {
        let handle = thread::Builder::new()
            .name(name)
            .spawn_scoped(self.0, body)
            .expect("the operating system refused to start a thread");
        Box::new(move || handle.join())
    }

    fn spawn_watcher(
        &self,
        body: Box<dyn FnOnce() -> Option<ProgressHook<'a>> + Send + 'a>,
    ) -> WatcherJoin<'a, 's> {
        let handle = thread::Builder::new()
            .name("progress".to_owned())
            .spawn_scoped(self.0, body)
            .expect("the operating system refused to start a thread");
        Box::new(move || handle.join())
    }
}

/// Threads of their own, for a stream that outlives the call that started it.
pub(crate) struct Detached;

impl Spawner<'static, 'static> for Detached {
    fn spawn(&self, name: String, body: Body<'static>) -> Join<'static> {
        let handle = thread::Builder::new()
            .name(name)
            .spawn(body)
            .expect("the operating system refused to start a thread");
        Box::new(move || handle.join())
    }

    fn spawn_watcher(
        &self,
        body: Box<dyn FnOnce() -> Option<ProgressHook<'static>> + Send + 'static>,
    ) -> WatcherJoin<'static, 'static> {
        let handle = thread::Builder::new()
            .name("progress".to_owned())
            .spawn(body)
            .expect("the operating system refused to start a thread");
        Box::new(move || handle.join())
    }
}

/// Who takes a run's results on the calling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taking {
    /// The collector, which takes whole batches.
    Collector,
    /// A sink of results one by one, taking whole batches.
    Sink,
    /// A reader of results as they come from an output buffer.
    Stream,
}

/// Launches every row of `plan` with `end` as the last stage's outlet and starts the threads.
pub(crate) fn launch<'a, 'j, E, S, T>(
    plan: RunPlan<'a, E, S, T>,
    end: End<'a, T>,
    spawner: &impl Spawner<'a, 'j>,
    reader: Taking,
) -> Running<'a, 'j, E, S>
where
    E: Send + 'a,
{
    let control = Arc::new(Control::new(Arc::clone(&plan.signal)));
    let started = Instant::now();
    let mut launch = Launch {
        control: Arc::clone(&control),
        meters: Vec::new(),
        threads: Vec::new(),
        caller: None,
        source_read: false,
        finishers: Vec::new(),
        drainers: Vec::new(),
        // A reader of results is a thread more; a collector or a sink runs one of the workers.
        crowded: plan.workers + usize::from(reader == Taking::Stream) > cores(),
        live: reader == Taking::Stream || plan.progress.is_some(),
    };
    let (sink, collector) = match &end {
        End::Collect { meter, collector } => (Arc::clone(meter), Some(Arc::clone(collector))),
        End::Output { meter, .. } => (Arc::clone(meter), None),
    };
    (plan.launcher)(&mut launch, Downstream::End(end));
    launch.meters.push(sink);
    if plan.signal.is_cancelled() {
        control.cancelled();
    }
    // The calling thread runs a worker where it cannot be kept from taking results in by a
    // source that waits for them: a collected run's results come at its end, and a source
    // the workers read promises its items.
    let inline = reader == Taking::Collector || launch.source_read;
    if let Some(collector) = collector {
        collector.set_inline(inline);
    }
    if !inline {
        if let Some(worker) = launch.caller.take() {
            launch.spawn("worker".to_owned(), move || worker(&mut || Duration::ZERO));
        }
    }
    let joins = launch
        .threads
        .drain(..)
        .map(|(name, body)| spawner.spawn(name, body))
        .collect();
    // A watcher only where there is something to watch for: a stream can be left early from
    // its reader's thread, and a run borrowing from its caller is cancelled through it.
    let watched = reader == Taking::Stream || plan.progress.is_some() || plan.signal.has_handles();
    let watcher = watched.then(|| {
        let watcher = Watcher {
            signal: Arc::clone(&plan.signal),
            control: Arc::clone(&control),
            meters: launch.meters.clone(),
            progress: plan.progress,
            started,
        };
        spawner.spawn_watcher(Box::new(move || watcher.run()))
    });
    Running {
        control,
        caller: launch.caller,
        meters: launch.meters,
        finishers: launch.finishers,
        drainers: launch.drainers,
        source_returns: plan.source_returns,
        started,
        joins,
        watcher,
    }
}

/// What a run left when all its threads ended.
pub(crate) struct Ended<E, S, R> {
    pub(crate) cause: Option<Cause<E>>,
    pub(crate) failures: Vec<Failure<E>>,
    pub(crate) unprocessed: Unprocessed<S, R>,
    pub(crate) cancelled: bool,
    pub(crate) report: RunReport,
}

impl<'a, E, S> Running<'a, '_, E, S> {
    /// The live figures of every row.
    pub(crate) fn report(&self) -> RunReport {
        snapshot(
            &self.meters,
            self.started.elapsed(),
            None,
            self.control.is_cancelled(),
        )
    }

    /// Joins every thread, then gathers what was handed back (`results`: the results never
    /// delivered, asked for once the threads have ended) and the final report, which the
    /// progress hook gets last. The second value is a panic of this crate's own code in a
    /// thread.
    pub(crate) fn end<R>(
        &mut self,
        results: impl FnOnce() -> Vec<(usize, R)>,
    ) -> (Ended<E, S, R>, Option<Bug>) {
        let mut bug = None;
        for join in self.joins.drain(..) {
            if let Err(payload) = join() {
                bug.get_or_insert(payload);
            }
        }
        let elapsed = self.started.elapsed();
        self.control.signal().end();
        let hook = match self.watcher.take().map(|join| join()) {
            Some(Ok(hook)) => hook,
            Some(Err(payload)) => {
                bug.get_or_insert(payload);
                None
            }
            None => None,
        };
        for finish in self.finishers.drain(..) {
            finish();
        }
        let mut results = results();
        let mut stages: Vec<(usize, StageLeftovers)> = self
            .drainers
            .drain(..)
            .map(|(meter, drain)| (row_of(&self.meters, &meter), drain()))
            .collect();
        stages.sort_by_key(|&(row, _)| row);
        let mut items = self.source_returns.take();
        items.sort_unstable_by_key(|&(index, _)| index);
        results.sort_unstable_by_key(|&(index, _)| index);
        let rows = self.meters.len();
        let returned: Vec<usize> = (0..rows)
            .map(|row| {
                let kind = self.meters[row].kind;
                match stages.iter().find(|&&(at, _)| at == row) {
                    Some((_, leftovers)) => leftovers.len(),
                    None if row == 1 && kind == RowKind::Stage => items.len(),
                    None if kind == RowKind::Sink => results.len(),
                    None => 0,
                }
            })
            .collect();
        let cancelled = self.control.is_cancelled();
        let mut report = snapshot(&self.meters, elapsed, Some(&returned), cancelled);
        report.stopped = cancelled || self.control.has_failed();
        if let Some(mut hook) = hook {
            if let Err(message) = catch(|| hook(&report)) {
                progress_panicked(&self.control, message);
                report.stopped = true;
            }
        }
        let (cause, failures) = self.control.take_outcome();
        let ended = Ended {
            cause,
            failures,
            unprocessed: Unprocessed {
                items,
                stages: stages.into_iter().map(|(_, leftovers)| leftovers).collect(),
                results,
            },
            cancelled,
            report,
        };
        self.control.signal().reset();
        (ended, bug)
    }
}

fn row_of<'a>(meters: &[Arc<Meter<'a>>], meter: &Arc<Meter<'a>>) -> usize {
    meters
        .iter()
        .position(|m| Arc::ptr_eq(m, meter))
        .unwrap_or(usize::MAX)
}

fn progress_panicked<E>(control: &Control<'_, E>, message: String) {
    control.fail(Cause::Panicked {
        stage: "progress".to_owned(),
        place: Place::Progress,
        worker: 1,
        index: None,
        message,
    });
}

/// The figures of every row now; `returned` is known only at the end of the run.
pub(crate) fn snapshot(
    meters: &[Arc<Meter<'_>>],
    elapsed: Duration,
    returned: Option<&[usize]>,
    cancelled: bool,
) -> RunReport {
    // From the sink back to the source: see `Counters` for why.
    let mut rows: Vec<_> = meters
        .iter()
        .enumerate()
        .rev()
        .map(|(row, meter)| meter.snapshot(elapsed, returned.map_or(0, |r| r[row])))
        .collect();
    rows.reverse();
    RunReport::new(rows, elapsed, cores(), cancelled)
}

/// The thread that watches a run for a cancel and calls the progress hook on schedule. It
/// holds nothing of the run's items, and closes the run's buffers on a cancel: a handle on
/// another thread cannot reach them when the run borrows from its caller.
struct Watcher<'a, E> {
    signal: Arc<Signal>,
    control: Arc<Control<'a, E>>,
    meters: Vec<Arc<Meter<'a>>>,
    progress: Option<(Duration, ProgressHook<'a>)>,
    started: Instant,
}

impl<'a, E> Watcher<'a, E> {
    /// Runs until the run ends; gives the progress hook back for the final report.
    fn run(mut self) -> Option<ProgressHook<'a>> {
        let mut next = self
            .progress
            .as_ref()
            .map(|(every, _)| Instant::now() + *every);
        let mut seen_cancel = false;
        loop {
            match self.signal.wait(next, seen_cancel) {
                Watch::Cancelled => {
                    seen_cancel = true;
                    self.control.cancelled();
                }
                Watch::Ended => return self.progress.map(|(_, hook)| hook),
                Watch::Timeout => {
                    let Some((every, hook)) = self.progress.as_mut() else {
                        next = None;
                        continue;
                    };
                    let report = snapshot(
                        &self.meters,
                        self.started.elapsed(),
                        None,
                        self.control.is_cancelled(),
                    );
                    if let Err(message) = catch(|| hook(&report)) {
                        progress_panicked(&self.control, message);
                        self.progress = None;
                        next = None;
                        continue;
                    }
                    // A steady rate: ticks keep to the schedule however long the hook took.
                    let now = Instant::now();
                    let mut due = next.unwrap_or(now) + *every;
                    if due < now {
                        due = now + *every;
                    }
                    next = Some(due);
                }
            }
        }
    }
}

/// Runs `plan` to the end, each worker of the last stage keeping its results.
pub(crate) fn collect<'a, E, S, R>(
    plan: RunPlan<'a, E, S, R>,
) -> Result<Collected<S, R, E>, RunError<S, R, E>>
where
    E: Send + 'a,
    S: Send + 'a,
    R: Send + 'a,
{
    if let Some(invalid) = plan.invalid {
        return Err(RunError::config(invalid));
    }
    if plan.stages == 0 {
        // No stage to keep the results: the caller takes them from the output.
        let mut results = Vec::new();
        return match drive(plan, |reader| reader.drive(|result| results.push(result))) {
            Ok(finished) => Ok(Collected::new(results, finished)),
            Err(mut err) => {
                err.completed = std::mem::take(&mut results)
                    .into_iter()
                    .enumerate()
                    .collect();
                Err(err)
            }
        };
    }
    let ordered = plan.ordered;
    let (ended, collecting, bug) =
        take_in(plan, Taking::Collector, Collecting::new(ordered), |_| None);
    if let Some(payload) = bug {
        panic::resume_unwind(payload);
    }
    match ended.cause {
        None => Ok(Collected {
            results: collecting.into_results(),
            failures: ended.failures,
            unprocessed: ended.unprocessed,
            cancelled: ended.cancelled,
            report: ended.report,
        }),
        Some(cause) => Err(RunError {
            cause,
            completed: collecting.into_indexed().into_boxed_slice(),
            failures: ended.failures.into_boxed_slice(),
            unprocessed: Box::new(ended.unprocessed),
            report: Box::new(ended.report),
        }),
    }
}

/// Runs `plan` on scoped threads, its results taken in on the calling thread by `taker`:
/// between the batches of the worker it runs, then until the last worker has ended. `failed`
/// says after each take whether the taker failed, and why.
fn take_in<'a, E, S, R, K>(
    plan: RunPlan<'a, E, S, R>,
    taking: Taking,
    mut taker: K,
    failed: impl Fn(&mut K) -> Option<Cause<E>>,
) -> (Ended<E, S, R>, K, Option<Bug>)
where
    E: Send + 'a,
    S: Send + 'a,
    R: Send + 'a,
    K: TakeIn<R> + Undelivered<R>,
{
    // A collected run keeps every result anyway, so its workers hand theirs over without
    // waiting for the calling thread: one that waits on the source then holds nobody up. A sink
    // takes results as it can, and its workers wait for it.
    let ahead = match taking {
        Taking::Collector => usize::MAX,
        _ => 2 * plan.workers,
    };
    let collector = Arc::new(Collector::new(ahead));
    let meter = Arc::new(Meter::new("sink", RowKind::Sink, 0, None, false));
    let end = End::Collect {
        collector: Arc::clone(&collector),
        meter: Arc::clone(&meter),
    };
    thread::scope(|scope| {
        let started = Instant::now();
        let mut running = launch(plan, end, &Scoped(scope), taking);
        let control = Arc::clone(&running.control);
        let mut published = 0;
        // Publishes what the taker did, and tells the run if it failed.
        let mut publish = |taker: &mut K, busy: Duration, waited: Duration| {
            let delivered = taker.delivered();
            let cause = failed(taker);
            meter.counters.add(&mut Tally {
                items_out: delivered - published,
                failed: usize::from(cause.is_some()),
                busy,
                waited_input: waited,
                ..Tally::default()
            });
            published = delivered;
            if let Some(cause) = cause {
                control.fail(cause);
            }
        };
        if let Some(worker) = running.caller.take() {
            worker(&mut || {
                let started = Instant::now();
                collector.take_available(&mut taker);
                let busy = started.elapsed();
                publish(&mut taker, busy, Duration::ZERO);
                busy
            });
        }
        let rest = Instant::now();
        let waited = collector.take_rest(&mut taker);
        publish(&mut taker, rest.elapsed().saturating_sub(waited), waited);
        meter.counters.add(&mut Tally {
            running: started.elapsed(),
            ..Tally::default()
        });
        let undelivered = taker.undelivered();
        let (ended, bug) = running.end(move || undelivered);
        (ended, taker, bug)
    })
}

/// What a taker of results hands back at the end of a run.
pub(crate) trait Undelivered<R> {
    /// The results not delivered, with their source indices.
    fn undelivered(&mut self) -> Vec<(usize, R)>;
}

impl<R> Undelivered<R> for Collecting<R> {
    fn undelivered(&mut self) -> Vec<(usize, R)> {
        Vec::new()
    }
}

impl<R, F: FnMut(usize, R) -> Result<(), C>, C> Undelivered<R> for Sinking<R, F, C> {
    fn undelivered(&mut self) -> Vec<(usize, R)> {
        self.take_rest()
    }
}

/// Runs `plan` on scoped threads, handing each result with its source index to `sink` on the
/// calling thread as soon as it is taken in. A sink that fails says why; the run then ends with
/// that cause, and the results it was not given are handed back.
pub(crate) fn sink<'a, E, S, R>(
    plan: RunPlan<'a, E, S, R>,
    sink: impl FnMut(usize, R) -> Result<(), Cause<E>>,
) -> Result<Finished<S, R, E>, RunError<S, R, E>>
where
    E: Send + 'a,
    S: Send + 'a,
    R: Send + 'a,
{
    if let Some(invalid) = plan.invalid {
        return Err(RunError::config(invalid));
    }
    let sinking = Sinking::new(plan.ordered, sink);
    let (ended, _, bug) = take_in(plan, Taking::Sink, sinking, |s| s.failure.take());
    if let Some(payload) = bug {
        panic::resume_unwind(payload);
    }
    match ended.cause {
        None => Ok(Finished {
            failures: ended.failures,
            unprocessed: ended.unprocessed,
            cancelled: ended.cancelled,
            report: ended.report,
        }),
        Some(cause) => Err(RunError {
            cause,
            completed: Box::new([]),
            failures: ended.failures.into_boxed_slice(),
            unprocessed: Box::new(ended.unprocessed),
            report: Box::new(ended.report),
        }),
    }
}

/// Runs `plan` on scoped threads while `read` takes the results on the calling thread.
pub(crate) fn drive<'a, E, S, R>(
    plan: RunPlan<'a, E, S, R>,
    read: impl FnOnce(&mut Reader<'a, '_, E, S, R>),
) -> Result<Finished<S, R, E>, RunError<S, R, E>>
where
    E: Send + 'a,
    S: Send + 'a,
    R: Send + 'a,
{
    if let Some(invalid) = plan.invalid {
        return Err(RunError::config(invalid));
    }
    let (outcome, bug) = thread::scope(|scope| {
        let mut reader = start_reader(plan, &Scoped(scope));
        read(&mut reader);
        reader.end()
    });
    if let Some(payload) = bug {
        panic::resume_unwind(payload);
    }
    outcome
}

/// Launches `plan` with an output buffer for a reader of the results.
pub(crate) fn start_reader<'a, 'j, E, S, R>(
    plan: RunPlan<'a, E, S, R>,
    spawner: &impl Spawner<'a, 'j>,
) -> Reader<'a, 'j, E, S, R>
where
    E: Send + 'a,
    S: Send + 'a,
    R: Send + 'a,
{
    let capacity = plan.capacity;
    let output = Arc::new(BoundedBuffer::new(capacity).expect("the capacity is not zero"));
    let returns = Arc::new(Returns::new());
    let sink = Arc::new(Meter::new("sink", RowKind::Sink, 1, Some(capacity), false));
    let probe = Arc::clone(&output);
    sink.watch(move || (probe.len(), probe.stats().high_water));
    let end = End::Output {
        buffer: Arc::clone(&output),
        returns: Arc::clone(&returns),
        meter: Arc::clone(&sink),
    };
    let running = launch(plan, end, spawner, Taking::Stream);
    let closing = Arc::clone(&output);
    running
        .control
        .on_stop(crate::control::Closes::Output, move || {
            closing.close();
        });
    Reader::new(running, output, returns, sink)
}
