//! [`Stream`]: a running chain's results as an iterator, its live report, and how it ends ([`Finished`], [`Collected`]), with the progress thread.

use std::panic;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pc_buffer::{BoundedBuffer, GetTimeoutError};
use pc_roles::Clock;
use pc_roles::catch_panic as catch;

use super::chain::{Launch, ProgressHook};
use super::control::Control;
use super::leftovers::{Returns, Unprocessed};
use super::live::{Meter, Tally};
use super::report::RunReport;
use crate::err::{BoxError, RunError, StageCause, StageConfigError, StageFailure};
use crate::stats::cores;

/// How a staged run ended when nothing failed: the failures kept by stages that continue,
/// what was handed back, whether it was cancelled, and the final report.
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished<R> {
    /// Items whose work failed in a stage with [`FailurePolicy::Continue`](crate::FailurePolicy),
    /// in the order they failed.
    pub failures: Vec<StageFailure>,
    /// Items never processed and results never delivered (empty unless cancelled or stopped
    /// early).
    pub unprocessed: Unprocessed<R>,
    /// Whether the run was cancelled (by a [`CancelHandle`](crate::CancelHandle), or by
    /// finishing a stream before its end).
    pub cancelled: bool,
    /// What every row did.
    pub report: RunReport,
}

/// A run collected by [`Chain::collect`](crate::Chain::collect): its results and how it ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct Collected<R> {
    /// The results, in source order if every stage is ordered.
    pub results: Vec<R>,
    /// As [`Finished::failures`].
    pub failures: Vec<StageFailure>,
    /// As [`Finished::unprocessed`].
    pub unprocessed: Unprocessed<R>,
    /// As [`Finished::cancelled`].
    pub cancelled: bool,
    /// As [`Finished::report`].
    pub report: RunReport,
}

impl<R> Collected<R> {
    pub(crate) fn new(results: Vec<R>, finished: Finished<R>) -> Self {
        Self {
            results,
            failures: finished.failures,
            unprocessed: finished.unprocessed,
            cancelled: finished.cancelled,
            report: finished.report,
        }
    }
}

impl<R> RunError<R> {
    /// A run refused before it started.
    pub(crate) fn config(error: StageConfigError) -> Self {
        Self {
            cause: StageCause::Config(error),
            completed: Vec::new(),
            failures: Vec::new(),
            unprocessed: Box::new(Unprocessed {
                stages: Vec::new(),
                results: Vec::new(),
            }),
            report: Box::new(RunReport::new(Vec::new(), Duration::ZERO, cores())),
        }
    }
}

/// The final report travels to the progress thread through this, and so does the news that
/// the run ended.
#[derive(Default)]
struct Ending {
    report: Mutex<Option<RunReport>>,
    ended: Condvar,
}

/// The results of a running chain, in order as they are ready; see
/// [`Chain::stream`](crate::Chain::stream).
///
/// Iterating takes results as the last stage hands them over; the stages keep working in the
/// background, held back by the bounded buffers when the caller is slower. When the iterator
/// returns `None` the run has ended: call [`finish`](Self::finish) for the report and the
/// outcome. Finishing (or dropping) a stream before its end cancels the run; no thread is
/// left running either way.
pub struct Stream<R> {
    output: Arc<BoundedBuffer<(usize, R)>>,
    /// Results taken from the output buffer and not yet handed out, last first.
    taken: Vec<(usize, R)>,
    ended: bool,
    clock: Clock,
    tally: Tally,
    sink: Arc<Meter>,
    /// Results the last stage could not put into the output buffer.
    returns: Arc<Returns<R>>,
    control: Arc<Control>,
    meters: Arc<Vec<Arc<Meter>>>,
    started: Instant,
    threads: Vec<JoinHandle<()>>,
    finishers: Vec<Box<dyn FnOnce() + Send>>,
    drainers: Vec<Box<dyn FnOnce() -> super::leftovers::StageLeftovers + Send>>,
    progress: Option<(Arc<Ending>, JoinHandle<()>)>,
}

/// How a run ended, for [`Stream::finish`].
type Outcome<R> = Result<Finished<R>, RunError<R>>;

/// A panic in this crate's own code on one of the run's threads.
type Bug = Box<dyn std::any::Any + Send>;

/// Results taken from the output buffer per operation.
const TAKE: usize = 256;

impl<R> Stream<R> {
    pub(crate) fn start(
        launch: Launch,
        output: Arc<BoundedBuffer<(usize, R)>>,
        returns: Arc<Returns<R>>,
        started: Instant,
        progress: Option<(Duration, ProgressHook)>,
    ) -> Self {
        let meters = Arc::new(launch.meters);
        let sink = Arc::clone(meters.last().expect("the sink's meter is the last"));
        let progress = progress.map(|(every, hook)| {
            let ending = Arc::new(Ending::default());
            let thread = spawn_progress(
                every,
                hook,
                Arc::clone(&ending),
                Arc::clone(&meters),
                Arc::clone(&launch.control),
                started,
            );
            (ending, thread)
        });
        Self {
            output,
            taken: Vec::new(),
            ended: false,
            clock: Clock::start(),
            tally: Tally::default(),
            sink,
            returns,
            control: launch.control,
            meters,
            started,
            threads: launch.threads,
            finishers: launch.finishers,
            drainers: launch.drainers,
            progress,
        }
    }

    /// The live figures of every row.
    pub fn report(&self) -> RunReport {
        snapshot(&self.meters, self.started.elapsed(), None)
    }

    /// A handle that cancels this run from any thread.
    pub fn cancel_handle(&self) -> crate::CancelHandle {
        crate::CancelHandle(Arc::clone(&self.control))
    }

    /// Waits for results (until `deadline`, if there is one); `Closed` once the run has ended
    /// and every result was handed out.
    fn refill(&mut self, deadline: Option<Instant>) -> Result<(), GetTimeoutError> {
        self.tally.busy += self.clock.lap();
        let got = match deadline {
            None => self
                .output
                .get_batch_into(&mut self.taken, TAKE)
                .map(drop)
                .map_err(|_| GetTimeoutError::Closed),
            Some(deadline) => self
                .output
                .get_deadline(deadline)
                .map(|item| self.taken.push(item)),
        };
        self.taken.reverse();
        self.tally.waited_input += self.clock.lap();
        self.sink.counters.add(&mut self.tally);
        if got == Err(GetTimeoutError::Closed) {
            self.ended = true;
        }
        got
    }

    /// Feeds every result to `sink`; a panic in it ends the run.
    pub(crate) fn drive(&mut self, mut sink: impl FnMut(R)) {
        while let Some(result) = self.next() {
            if let Err(message) = catch(|| sink(result)) {
                self.tally.items_out -= 1;
                self.tally.failed += 1;
                self.fail_sink(StageCause::Panicked {
                    stage: "sink".to_owned(),
                    worker: 1,
                    message,
                });
                return;
            }
        }
    }

    /// Feeds batches of up to `max` results to `sink`, each sent when full or `linger` after
    /// its first result; a failure ends the run and the batch is handed back.
    pub(crate) fn drive_batches<E: Into<BoxError>>(
        &mut self,
        max: usize,
        linger: Duration,
        mut sink: impl FnMut(&[R]) -> Result<(), E>,
    ) {
        let mut batch: Vec<(usize, R)> = Vec::with_capacity(max);
        let mut results: Vec<R> = Vec::with_capacity(max);
        loop {
            let mut deadline = None;
            while batch.len() < max {
                if let Some(item) = self.taken.pop() {
                    deadline.get_or_insert_with(|| Instant::now() + linger);
                    batch.push(item);
                } else if self.ended || self.refill(deadline).is_err() {
                    break;
                }
            }
            if batch.is_empty() {
                return;
            }
            let indices: Vec<usize> = batch.iter().map(|&(index, _)| index).collect();
            results.extend(batch.drain(..).map(|(_, result)| result));
            self.tally.busy += self.clock.lap();
            let outcome = catch(|| sink(&results));
            let cause = match outcome {
                Ok(Ok(())) => {
                    self.tally.items_out += results.len();
                    results.clear();
                    continue;
                }
                Ok(Err(error)) => StageCause::Sink {
                    items: results.len(),
                    error: error.into(),
                },
                Err(message) => StageCause::Panicked {
                    stage: "sink".to_owned(),
                    worker: 1,
                    message,
                },
            };
            // The batch is still whole: hand it back with its indices.
            self.returns
                .extend(indices.into_iter().zip(results.drain(..)));
            self.fail_sink(cause);
            return;
        }
    }

    fn fail_sink(&mut self, cause: StageCause) {
        self.tally.busy += self.clock.lap();
        self.sink.counters.add(&mut self.tally);
        self.control.fail(cause);
    }

    /// Ends the run and says how it went.
    ///
    /// If the stream was not at its end, this cancels the run first (the results not handed
    /// out come back in [`Unprocessed::results`](crate::Unprocessed)).
    ///
    /// # Errors
    ///
    /// A [`RunError`] if a fail-fast stage's work failed or user code panicked.
    pub fn finish(mut self) -> Result<Finished<R>, RunError<R>> {
        let (outcome, bug) = self.end();
        if let Some(payload) = bug {
            panic::resume_unwind(payload);
        }
        outcome
    }

    /// Stops and joins everything; the second value is a panic of this crate's own code in a
    /// thread, passed on by `finish` and dropped by `drop`.
    fn end(&mut self) -> (Outcome<R>, Option<Bug>) {
        self.tally.busy += self.clock.lap();
        self.sink.counters.add(&mut self.tally);
        if !self.ended {
            // Nobody will take the results any more.
            self.control.cancel();
            self.output.close();
        }
        let mut bug = None;
        for thread in self.threads.drain(..) {
            if let Err(payload) = thread.join() {
                bug.get_or_insert(payload);
            }
        }
        let elapsed = self.started.elapsed();
        for finish in self.finishers.drain(..) {
            finish();
        }
        let stages: Vec<_> = self.drainers.drain(..).map(|drain| drain()).collect();
        let mut results = self.returns.take();
        results.extend(self.output.try_iter());
        results.extend(self.taken.drain(..).rev());
        results.sort_unstable_by_key(|&(index, _)| index);
        // Rows: the source returns nothing, each stage its leftovers, the sink its results.
        let returned: Vec<usize> = std::iter::once(0)
            .chain(stages.iter().map(|stage| stage.len()))
            .chain(std::iter::once(results.len()))
            .collect();
        let report = snapshot(&self.meters, elapsed, Some(&returned));
        if let Some((ending, thread)) = self.progress.take() {
            *ending.report.lock().unwrap_or_else(PoisonError::into_inner) = Some(report.clone());
            ending.ended.notify_all();
            if let Err(payload) = thread.join() {
                bug.get_or_insert(payload);
            }
        }
        let (cause, failures) = self.control.take_outcome();
        let unprocessed = Unprocessed { stages, results };
        let outcome = match cause {
            None => Ok(Finished {
                failures,
                unprocessed,
                cancelled: self.control.is_cancelled(),
                report,
            }),
            Some(cause) => Err(RunError {
                cause,
                completed: Vec::new(),
                failures,
                unprocessed: Box::new(unprocessed),
                report: Box::new(report),
            }),
        };
        (outcome, bug)
    }
}

impl<R> Iterator for Stream<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        loop {
            if let Some((_, result)) = self.taken.pop() {
                self.tally.items_out += 1;
                return Some(result);
            }
            if self.ended || self.refill(None).is_err() {
                return None;
            }
        }
    }
}

impl<R> Drop for Stream<R> {
    fn drop(&mut self) {
        if !self.threads.is_empty() || self.progress.is_some() {
            // Cancel and join; the outcome was not asked for.
            drop(self.end());
        }
    }
}

impl<R> std::fmt::Debug for Stream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

fn snapshot(meters: &[Arc<Meter>], elapsed: Duration, returned: Option<&[usize]>) -> RunReport {
    // From the sink back to the source: see `Counters` for why.
    let mut rows: Vec<_> = meters
        .iter()
        .enumerate()
        .rev()
        .map(|(row, meter)| meter.snapshot(elapsed, returned.map_or(0, |r| r[row])))
        .collect();
    rows.reverse();
    RunReport::new(rows, elapsed, cores())
}

fn spawn_progress(
    every: Duration,
    mut hook: ProgressHook,
    ending: Arc<Ending>,
    meters: Arc<Vec<Arc<Meter>>>,
    control: Arc<Control>,
    started: Instant,
) -> JoinHandle<()> {
    thread::Builder::new()
        .name("progress".to_owned())
        .spawn(move || {
            let mut next = Instant::now() + every;
            loop {
                let mut report = ending.report.lock().unwrap_or_else(PoisonError::into_inner);
                // A `while`, not an `if`: wake-ups can be spurious; wait until the tick is due
                // or the final report is in.
                while report.is_none() {
                    let now = Instant::now();
                    if now >= next {
                        break;
                    }
                    report = ending
                        .ended
                        .wait_timeout(report, next - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                let last = report.take();
                drop(report);
                let is_last = last.is_some();
                let current = last.unwrap_or_else(|| snapshot(&meters, started.elapsed(), None));
                if let Err(message) = catch(|| hook(&current)) {
                    control.fail(StageCause::Panicked {
                        stage: "progress".to_owned(),
                        worker: 1,
                        message,
                    });
                    return;
                }
                if is_last {
                    return;
                }
                // A steady rate: ticks keep to the schedule however long the hook took.
                next += every;
                let now = Instant::now();
                if next < now {
                    next = now + every;
                }
            }
        })
        .expect("the operating system refused to start a thread")
}
