//! Taking a run's results as they come: the reader behind [`Stream`], `for_each` and the batch sink, and how a run ends ([`Finished`], [`Collected`]).

use std::panic;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pc_buffer::{BoundedBuffer, GetTimeoutError};
use pc_roles::catch_panic as catch;

use crate::control::CancelHandle;
use crate::engine::run::{Bug, Running};
use crate::err::{BoxError, Cause, Failure, Place, RunError};
use crate::leftovers::{Returns, Unprocessed};
use crate::meter::{Meter, Tally};
use crate::report::RunReport;

/// How a run ended when nothing failed: the failures kept by stages that continue, what was
/// handed back, whether it was cancelled, and the final report.
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished<S, R, E = BoxError> {
    /// Items whose work failed in a stage with [`FailurePolicy::Continue`](crate::FailurePolicy),
    /// in the order they were recorded.
    pub failures: Vec<Failure<E>>,
    /// Items never processed and results never delivered (empty unless cancelled or ended
    /// early).
    pub unprocessed: Unprocessed<S, R>,
    /// Whether the run was cancelled (by a [`CancelHandle`], or by finishing a stream before
    /// its end).
    pub cancelled: bool,
    /// What every row did.
    pub report: RunReport,
}

/// A run collected to the end: its results and how it ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct Collected<S, R, E = BoxError> {
    /// The results, in source order if every stage is ordered. After a cancel, the items
    /// missing from them are in `unprocessed`.
    pub results: Vec<R>,
    /// As [`Finished::failures`].
    pub failures: Vec<Failure<E>>,
    /// As [`Finished::unprocessed`].
    pub unprocessed: Unprocessed<S, R>,
    /// As [`Finished::cancelled`].
    pub cancelled: bool,
    /// As [`Finished::report`].
    pub report: RunReport,
}

impl<S, R, E> Collected<S, R, E> {
    pub(crate) fn new(results: Vec<R>, finished: Finished<S, R, E>) -> Self {
        Self {
            results,
            failures: finished.failures,
            unprocessed: finished.unprocessed,
            cancelled: finished.cancelled,
            report: finished.report,
        }
    }
}

/// How a reader's run ended.
pub(crate) type Outcome<S, R, E> = Result<Finished<S, R, E>, RunError<S, R, E>>;

/// Results taken from the output buffer per operation.
const TAKE: usize = 256;

/// Takes a run's results from its output buffer on the caller's thread, and ends the run.
pub(crate) struct Reader<'a, 'j, E, S, R> {
    running: Running<'a, 'j, E, S>,
    output: Arc<BoundedBuffer<(usize, R)>>,
    /// Results the last stage could not put into the output buffer.
    returns: Arc<Returns<R>>,
    sink: Arc<Meter<'a>>,
    /// Results taken from the output buffer and not yet handed out, last first.
    taken: Vec<(usize, R)>,
    /// The output is closed and drained: the run has ended.
    drained: bool,
    /// The run was ended and its outcome taken.
    finished: bool,
    clock: Instant,
    tally: Tally,
}

impl<'a, 'j, E, S, R> Reader<'a, 'j, E, S, R> {
    pub(crate) fn new(
        running: Running<'a, 'j, E, S>,
        output: Arc<BoundedBuffer<(usize, R)>>,
        returns: Arc<Returns<R>>,
        sink: Arc<Meter<'a>>,
    ) -> Self {
        Self {
            running,
            output,
            returns,
            sink,
            taken: Vec::new(),
            drained: false,
            finished: false,
            clock: Instant::now(),
            tally: Tally::default(),
        }
    }

    /// The live figures of every row.
    pub(crate) fn report(&self) -> RunReport {
        self.running.report()
    }

    pub(crate) fn cancel_handle(&self) -> CancelHandle {
        self.running.control.signal().handle()
    }

    /// Publishes the sink's time since the last lap: `waiting` says whether it was spent
    /// waiting for results.
    fn lap(&mut self, waiting: bool) {
        let now = Instant::now();
        let lap = now - self.clock;
        self.clock = now;
        if waiting {
            self.tally.waited_input += lap;
        } else {
            self.tally.busy += lap;
        }
        self.tally.running += lap;
    }

    /// Waits for results (until `deadline`, if there is one); `Closed` once the run has ended
    /// and every result was handed out.
    fn refill(&mut self, deadline: Option<Instant>) -> Result<(), GetTimeoutError> {
        self.lap(false);
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
        self.lap(true);
        self.sink.counters.add(&mut self.tally);
        if got == Err(GetTimeoutError::Closed) {
            self.drained = true;
        }
        got
    }

    /// The next result with its source index, as soon as it is ready; `None` once the run has
    /// ended.
    pub(crate) fn next_indexed(&mut self) -> Option<(usize, R)> {
        loop {
            if let Some(result) = self.taken.pop() {
                self.tally.items_out += 1;
                return Some(result);
            }
            if self.drained || self.refill(None).is_err() {
                return None;
            }
        }
    }

    /// Feeds every result to `sink`; a panic in it ends the run.
    pub(crate) fn drive(&mut self, mut sink: impl FnMut(R)) {
        while let Some((index, result)) = self.next_indexed() {
            if let Err(message) = catch(|| sink(result)) {
                self.sink_failed(Cause::Panicked {
                    stage: "sink".to_owned(),
                    place: Place::Sink,
                    worker: 1,
                    index: Some(index),
                    message,
                });
                return;
            }
        }
    }

    /// Feeds every result to `sink` until it returns an error or panics, which ends the run.
    pub(crate) fn try_drive<X: Into<BoxError>>(
        &mut self,
        mut sink: impl FnMut(R) -> Result<(), X>,
    ) {
        while let Some((index, result)) = self.next_indexed() {
            let cause = match catch(|| sink(result)) {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => Cause::Sink {
                    index: Some(index),
                    items: 1,
                    error: error.into(),
                },
                Err(message) => Cause::Panicked {
                    stage: "sink".to_owned(),
                    place: Place::Sink,
                    worker: 1,
                    index: Some(index),
                    message,
                },
            };
            self.sink_failed(cause);
            return;
        }
    }

    /// A result the sink took failed there: counted as failed, and the run ends.
    fn sink_failed(&mut self, cause: Cause<E>) {
        self.tally.items_out -= 1;
        self.tally.failed += 1;
        self.fail(cause);
    }

    fn fail(&mut self, cause: Cause<E>) {
        self.lap(false);
        self.sink.counters.add(&mut self.tally);
        self.running.control.fail(cause);
    }

    /// Feeds batches of up to `max` results to `sink`, each sent when full or `linger` after
    /// its first result; a failure ends the run and the batch is handed back.
    pub(crate) fn drive_batches<X: Into<BoxError>>(
        &mut self,
        max: usize,
        linger: Duration,
        mut sink: impl FnMut(&[R]) -> Result<(), X>,
    ) {
        let mut batch: Vec<(usize, R)> = Vec::with_capacity(max.min(4096));
        let mut results: Vec<R> = Vec::with_capacity(max.min(4096));
        loop {
            let mut deadline = None;
            while batch.len() < max {
                if let Some(item) = self.taken.pop() {
                    deadline.get_or_insert_with(|| Instant::now() + linger);
                    batch.push(item);
                } else if self.drained || self.refill(deadline).is_err() {
                    break;
                }
            }
            if batch.is_empty() {
                return;
            }
            let indices: Vec<usize> = batch.iter().map(|&(index, _)| index).collect();
            results.extend(batch.drain(..).map(|(_, result)| result));
            self.lap(false);
            let cause = match catch(|| sink(&results)) {
                Ok(Ok(())) => {
                    self.tally.items_out += results.len();
                    results.clear();
                    continue;
                }
                Ok(Err(error)) => Cause::Sink {
                    index: None,
                    items: results.len(),
                    error: error.into(),
                },
                Err(message) => Cause::Panicked {
                    stage: "sink".to_owned(),
                    place: Place::Sink,
                    worker: 1,
                    index: None,
                    message,
                },
            };
            // The batch is still whole: hand it back with its indices.
            self.returns
                .extend(indices.into_iter().zip(results.drain(..)));
            self.fail(cause);
            return;
        }
    }

    /// Ends the run: if the results were not all taken, nobody will take them any more, so
    /// the run stops. The second value is a panic of this crate's own code in a thread.
    pub(crate) fn end(&mut self) -> (Outcome<S, R, E>, Option<Bug>) {
        self.finished = true;
        self.lap(false);
        self.sink.counters.add(&mut self.tally);
        if !self.drained {
            self.running.control.abandon();
        }
        let (output, returns) = (Arc::clone(&self.output), Arc::clone(&self.returns));
        let taken = std::mem::take(&mut self.taken);
        let (ended, bug) = self.running.end(move || {
            let mut results = returns.take();
            output.close();
            results.extend(output.try_iter());
            results.extend(taken.into_iter().rev());
            results
        });
        let outcome = match ended.cause {
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
        };
        (outcome, bug)
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }
}

/// The results of a running chain, each as soon as it is ready (in source order if every
/// stage is ordered); see [`Chain::stream`](crate::Chain::stream).
///
/// Iterating takes results as the last stage hands them over; the stages keep working in the
/// background, held back by the bounded buffers when the caller is slower. When the iterator
/// returns `None` the run has ended: call [`finish`](Self::finish) for the report and the
/// outcome. Finishing (or dropping) a stream before its end stops the run promptly and hands
/// back what was not delivered; no thread is left running either way.
pub struct Stream<S, R> {
    reader: Reader<'static, 'static, BoxError, S, R>,
}

impl<S, R> Stream<S, R> {
    pub(crate) fn new(reader: Reader<'static, 'static, BoxError, S, R>) -> Self {
        Self { reader }
    }

    /// The live figures of every row.
    pub fn report(&self) -> RunReport {
        self.reader.report()
    }

    /// A handle that cancels this run from any thread.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.reader.cancel_handle()
    }

    /// Ends the run and says how it went.
    ///
    /// If the stream was not at its end, this stops the run first (the results not handed
    /// out come back in [`Unprocessed::results`](crate::Unprocessed)).
    ///
    /// # Errors
    ///
    /// A [`RunError`] if a fail-fast stage's work failed or user code panicked.
    pub fn finish(mut self) -> Result<Finished<S, R>, RunError<S, R>> {
        let (outcome, bug) = self.reader.end();
        if let Some(payload) = bug {
            panic::resume_unwind(payload);
        }
        outcome
    }
}

impl<S, R> Iterator for Stream<S, R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        self.reader.next_indexed().map(|(_, result)| result)
    }
}

impl<S, R> Drop for Stream<S, R> {
    fn drop(&mut self) {
        if !self.reader.is_finished() {
            // Stop and join; the outcome was not asked for.
            drop(self.reader.end());
        }
    }
}

impl<S, R> std::fmt::Debug for Stream<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("finished", &self.reader.is_finished())
            .finish_non_exhaustive()
    }
}
