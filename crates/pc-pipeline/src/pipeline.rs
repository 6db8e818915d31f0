//! [`Pipeline`]: runs an input through producers, a bounded buffer and consumers on scoped threads, and accounts for every item.

use std::convert::Infallible;
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Instant;

use pc_buffer::BoundedBuffer;
use pc_roles::{
    Buffer, ConsumeHook, ConsumerRole, Flow, NoHook, ProduceHook, ProducerRole, Role, RoleError,
    RoleReport, Sink, StopCause,
};

use crate::builder::{Config, FailurePolicy, PipelineBuilder};
use crate::err::{Cause, ConfigError, PipelineError, ProcessError};
use crate::numbered::{Numbered, Taker};
use crate::reorder::{InOrder, Released, ReorderWindow, Slot};
use crate::runs::IndexedRuns;
use crate::stats::{Bottleneck, PipelineStats, advise, cores};

/// What a run that did not stop early returns: every result, and under
/// [`FailurePolicy::Continue`] every failed item's input index with its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed<R, E> {
    /// The results: in input order if the pipeline is ordered, otherwise roughly in completion
    /// order.
    pub results: Vec<R>,
    /// The failed items, in input order (always empty under fail-fast).
    pub failures: Vec<(usize, E)>,
}

/// A producer-consumer pipeline: producers take items from an input, put them into a bounded
/// buffer, and consumers process them, on scoped threads.
///
/// A run never hangs and never loses an item: see [`PipelineError`] for how a run that stops
/// early accounts for everything, and [`PipelineStats`] for where the time went.
///
/// ```
/// use pc_pipeline::Pipeline;
///
/// let mut pipeline = Pipeline::new(); // capacity 10, one producer, one consumer
/// let words = ["buffer", "put", "get"];
/// let lengths = pipeline.process(words, str::len).unwrap();
/// assert_eq!(lengths, [6, 3, 3]);
/// let stats = pipeline.stats().unwrap();
/// assert_eq!((stats.produced, stats.consumed, stats.success), (3, 3, true));
/// ```
#[derive(Debug)]
pub struct Pipeline<P = NoHook, C = NoHook> {
    config: Config,
    on_produce: Mutex<P>,
    on_consume: Mutex<C>,
    stats: Option<PipelineStats>,
}

impl Pipeline {
    /// A pipeline as the original's default: capacity 10, one producer, one consumer, no
    /// delays, ordered, fail-fast.
    pub fn new() -> Self {
        Self::from_parts(Config::DEFAULT, NoHook, NoHook)
    }

    /// A default pipeline with another buffer capacity.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroCapacity`] if `capacity` is zero.
    pub fn with_capacity(capacity: usize) -> Result<Self, ConfigError> {
        Self::builder().capacity(capacity).build()
    }

    /// Starts configuring a pipeline.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::new()
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl<P, C> Pipeline<P, C> {
    pub(crate) fn from_parts(config: Config, on_produce: P, on_consume: C) -> Self {
        Self {
            config,
            on_produce: Mutex::new(on_produce),
            on_consume: Mutex::new(on_consume),
            stats: None,
        }
    }

    /// The statistics of the last run, if there was one (also when it failed).
    pub fn stats(&self) -> Option<&PipelineStats> {
        self.stats.as_ref()
    }

    /// The buffer capacity of each run.
    pub fn capacity(&self) -> usize {
        self.config.capacity.get()
    }

    /// Runs `data` through the pipeline unchanged and returns it: the original's
    /// `process(data)`.
    ///
    /// ```
    /// let mut pipeline = pc_pipeline::Pipeline::with_capacity(5).unwrap();
    /// assert_eq!(pipeline.run([1, 2, 3, 4, 5]).unwrap(), [1, 2, 3, 4, 5]);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`process`](Self::process).
    pub fn run<I, T>(&mut self, data: I) -> Result<Vec<T>, ProcessError<T, T>>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send,
        T: Send,
        P: ProduceHook<T> + Send,
        C: ConsumeHook<T> + Send,
    {
        self.process(data, std::convert::identity)
    }

    /// Runs every item of `data` through `work` and returns the results.
    ///
    /// `data` and `work` may borrow from the caller: the threads are scoped and have ended when
    /// this returns.
    ///
    /// # Errors
    ///
    /// A [`PipelineError`] naming the role when a producer (the input's iterator), a consumer
    /// (`work`) or a callback panicked, with every result, and every item taken but not
    /// processed.
    pub fn process<I, R, W>(&mut self, data: I, work: W) -> Result<Vec<R>, ProcessError<I::Item, R>>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        R: Send,
        W: Fn(I::Item) -> R + Sync,
        P: ProduceHook<I::Item> + Send,
        C: ConsumeHook<R> + Send,
    {
        self.try_process(data, |item| Ok::<R, Infallible>(work(item)))
            .map(|processed| processed.results)
    }

    /// Runs every item of `data` through `work`, which may fail; what happens then is the
    /// builder's [`FailurePolicy`].
    ///
    /// ```
    /// use pc_pipeline::{FailurePolicy, Pipeline};
    ///
    /// let mut pipeline = Pipeline::builder()
    ///     .consumers(3)
    ///     .on_failure(FailurePolicy::Continue)
    ///     .build()
    ///     .unwrap();
    /// let out = pipeline.try_process(["1", "two", "3"], |s| s.parse::<u8>()).unwrap();
    /// assert_eq!(out.results, [1, 3]);
    /// assert_eq!(out.failures.len(), 1);
    /// assert_eq!(out.failures[0].0, 1); // the input index of "two"
    /// assert_eq!(pipeline.stats().unwrap().failed, 1);
    /// ```
    ///
    /// # Errors
    ///
    /// Under [`FailurePolicy::FailFast`], the first failed item (in input order) with its
    /// error; under either policy, a panic. The [`PipelineError`] holds every result, every
    /// failure and every item taken but not processed.
    pub fn try_process<I, R, E, W>(
        &mut self,
        data: I,
        work: W,
    ) -> Result<Processed<R, E>, PipelineError<I::Item, R, E>>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        R: Send,
        E: Send,
        W: Fn(I::Item) -> Result<R, E> + Sync,
        P: ProduceHook<I::Item> + Send,
        C: ConsumeHook<R> + Send,
    {
        let (outcome, stats) = self.execute(data.into_iter(), &work);
        self.stats = Some(stats);
        outcome
    }

    fn execute<T, I, R, E, W>(&self, data: I, work: &W) -> (Outcome<T, R, E>, PipelineStats)
    where
        I: Iterator<Item = T> + Send,
        T: Send,
        R: Send,
        E: Send,
        W: Fn(T) -> Result<R, E> + Sync,
        P: ProduceHook<T> + Send,
        C: ConsumeHook<R> + Send,
    {
        let config = &self.config;
        let expected = data.size_hint().0;
        // The buffer carries bare items; the roles see them with their input indices.
        let capacity = config.capacity.get();
        let buffer = if config.batched_buffer() {
            BoundedBuffer::for_batches(capacity)
        } else {
            BoundedBuffer::new(capacity)
        };
        let buffer = Numbered::new(buffer.expect("the capacity is not zero"));
        // One consumer sees the buffer's order, which is the input's: no window needed.
        let window = (config.ordered && config.consumers.get() > 1)
            .then(|| ReorderWindow::new(config.capacity.get(), InOrder::with_capacity(expected)));
        let input = Mutex::new(data.enumerate());
        let stop = AtomicBool::new(false);
        let producers_left = AtomicUsize::new(config.producers.get());
        let successes = AtomicUsize::new(0);
        let producer_role = ProducerRole::new()
            .delay(config.producer_delay)
            .chunk(config.producer_chunk())
            .with_hook(InputOrder(&self.on_produce));
        let consumer_role = ConsumerRole::new()
            .delay(config.consumer_delay)
            .batch(config.consumer_batch())
            .with_hook(Counted {
                hook: &self.on_consume,
                count: &successes,
            });
        let fail_fast = config.policy == FailurePolicy::FailFast;
        let started = Instant::now();

        let (producer_runs, consumer_runs) = thread::scope(|s| {
            let producers: Vec<_> = (0..config.producers.get())
                .map(|_| {
                    let mut role = producer_role.clone();
                    let (input, buffer, stop, window) = (&input, &buffer, &stop, &window);
                    let producers_left = &producers_left;
                    s.spawn(move || {
                        let run = role.run_shared(input, buffer, stop);
                        if run.is_err() {
                            stop_waiting(window.as_ref());
                        }
                        // The last producer to finish closes the buffer: consumers drain what
                        // is left, then return.
                        if producers_left.fetch_sub(1, Ordering::AcqRel) == 1 {
                            buffer.close();
                        }
                        run
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..config.consumers.get())
                .map(|_| {
                    let mut role = consumer_role.clone();
                    let (buffer, stop, window) = (&buffer, &stop, &window);
                    s.spawn(move || {
                        let (mut results, mut failures) = (IndexedRuns::new(), Vec::new());
                        if window.is_none() && config.consumers.get() == 1 {
                            results.reserve(expected);
                        }
                        let taker = Taker::new(buffer);
                        let sink = Collect {
                            taker: &taker,
                            window: window.as_ref(),
                            fail_fast,
                            results: &mut results,
                            failures: &mut failures,
                            batch: Vec::new(),
                        };
                        let run = role.run_until(work, &taker, stop, sink).map_err(|err| {
                            stop_waiting(window.as_ref());
                            // What a consumer hands back ends its last batch.
                            let indices = taker.last_taken(err.unprocessed.len());
                            RoleError {
                                cause: err.cause,
                                unprocessed: indices.zip(err.unprocessed).collect(),
                                report: err.report,
                            }
                        });
                        (run, results, failures)
                    })
                })
                .collect();
            (join_all(producers), join_all(consumers))
        });
        let elapsed = started.elapsed();

        let mut tally = Tally::default();
        for (worker, run) in producer_runs.into_iter().enumerate() {
            let (report, handed_back) = tally.end(worker + 1, run);
            // A producer took from the input what it put and what it handed back.
            tally.produced += report.items + handed_back;
            tally.producers.push(report);
        }
        let mut results = Vec::new();
        let mut failures = Vec::new();
        for (worker, (run, mine, failed)) in consumer_runs.into_iter().enumerate() {
            let (report, _) = tally.end(worker + 1, run);
            tally.consumers.push(report);
            results.push(mine);
            failures.extend(failed);
        }
        // Whatever is left in the buffer was produced and never taken.
        tally.unprocessed.extend(buffer.close_and_take_rest());
        failures.sort_unstable_by_key(|&(index, _)| index);

        let released = window.map(ReorderWindow::into_released);
        let succeeded = released.as_ref().map_or(0, Released::len)
            + results.iter().map(IndexedRuns::len).sum::<usize>();
        let failed = failures.len() + tally.panicked_items;
        let buffer_stats = buffer.stats();
        let mut stats = PipelineStats {
            produced: tally.produced,
            consumed: succeeded + failed,
            succeeded,
            failed,
            returned: tally.unprocessed.len(),
            success: failed == 0 && tally.unprocessed.is_empty() && tally.panic.is_none(),
            elapsed,
            throughput: (succeeded + failed) as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
            capacity: config.capacity.get(),
            high_water: buffer_stats.high_water,
            producer_wait: buffer_stats.put_wait_time,
            consumer_wait: buffer_stats.get_wait_time,
            bottleneck: Bottleneck::Balanced,
            more_consumers_help: false,
            advice: String::new(),
            producers: tally.producers,
            consumers: tally.consumers,
        };
        // The verdict needs the shares, which need the reports above; the advice needs all.
        stats.bottleneck =
            Bottleneck::from_wait_shares(stats.producer_wait_share(), stats.consumer_wait_share());
        (stats.more_consumers_help, stats.advice) =
            advise(&stats, config.next_consumer_batch(), cores());
        debug_assert_eq!(stats.produced, stats.consumed + stats.returned);

        let cause = match tally.panic {
            Some((role, worker, message)) => Some(Cause::Panicked {
                role,
                worker,
                message,
            }),
            None if fail_fast && !failures.is_empty() => {
                let (index, error) = failures.remove(0);
                Some(Cause::Failed { index, error })
            }
            None => None,
        };
        let outcome = match cause {
            None => Ok(Processed {
                results: match released {
                    // Nothing stopped the run, so nothing is left pending in the window.
                    Some(released) => released.results,
                    None => concat(results),
                },
                failures,
            }),
            Some(cause) => {
                let mut completed: Vec<(usize, R)> = released
                    .into_iter()
                    .flat_map(Released::into_indexed)
                    .collect();
                completed.extend(results.into_iter().flat_map(IndexedRuns::into_indexed));
                completed.sort_unstable_by_key(|&(index, _)| index);
                tally.unprocessed.sort_unstable_by_key(|&(index, _)| index);
                Err(PipelineError {
                    cause,
                    completed,
                    failures,
                    unprocessed: tally.unprocessed,
                    stats: Box::new(stats.clone()),
                })
            }
        };
        (outcome, stats)
    }
}

/// The consumers' results, one after the other. The only consumer's `Vec` is the output as it
/// stands.
fn concat<R>(results: Vec<IndexedRuns<R>>) -> Vec<R> {
    let total: usize = results.iter().map(IndexedRuns::len).sum();
    let mut all = results.into_iter().map(IndexedRuns::into_results);
    let mut out = all.next().unwrap_or_default();
    out.reserve_exact(total - out.len());
    for mut more in all {
        out.append(&mut more);
    }
    out
}

/// How a run ended, for [`Pipeline::try_process`].
type Outcome<T, R, E> = Result<Processed<R, E>, PipelineError<T, R, E>>;

/// Ends every wait in the reorder window: a role stopped early, so an earlier item may never be
/// handed in.
fn stop_waiting<R>(window: Option<&ReorderWindow<R, InOrder<R>>>) {
    if let Some(window) = window {
        window.stop();
    }
}

/// Joins scoped threads. Every panic in user code is caught inside the roles, so a thread that
/// panicked anyway hit a bug in this crate: it is passed on, not hidden.
fn join_all<R>(handles: Vec<thread::ScopedJoinHandle<'_, R>>) -> Vec<R> {
    handles
        .into_iter()
        .map(|handle| {
            handle
                .join()
                .unwrap_or_else(|payload| panic::resume_unwind(payload))
        })
        .collect()
}

/// What the roles of a run handed back after it, gathered.
struct Tally<T> {
    produced: usize,
    unprocessed: Vec<(usize, T)>,
    panicked_items: usize,
    /// The first panic found: role, worker, message.
    panic: Option<(Role, usize, String)>,
    producers: Vec<RoleReport>,
    consumers: Vec<RoleReport>,
}

impl<T> Default for Tally<T> {
    fn default() -> Self {
        Self {
            produced: 0,
            unprocessed: Vec::new(),
            panicked_items: 0,
            panic: None,
            producers: Vec::new(),
            consumers: Vec::new(),
        }
    }
}

impl<T> Tally<T> {
    /// Takes in how one role ended: keeps what it handed back and why it stopped; returns its
    /// report and how many items it handed back.
    fn end(
        &mut self,
        worker: usize,
        run: Result<RoleReport, RoleError<(usize, T), Infallible>>,
    ) -> (RoleReport, usize) {
        let (report, handed_back) = match run {
            Ok(report) => (report, 0),
            Err(err) => {
                let handed_back = err.unprocessed.len();
                self.unprocessed.extend(err.unprocessed);
                match err.cause {
                    StopCause::Panicked { role, message } => {
                        // The item whose work panicked was processed, and failed.
                        if role == Role::Consumer {
                            self.panicked_items += 1;
                        }
                        // The first panic found is the cause; others followed from the stop.
                        self.panic.get_or_insert((role, worker, message));
                    }
                    StopCause::Transport(never) => match never {},
                    StopCause::Closed | StopCause::Stopped | StopCause::Halted => {}
                }
                (err.report, handed_back)
            }
        };
        (report, handed_back)
    }
}

/// A consumer's sink: keeps results (or hands them to the reorder window after each batch) and
/// failures, and stops at the first failure under fail-fast. Each outcome's input index comes
/// from the consumer's [`Taker`].
struct Collect<'a, T, R, E> {
    taker: &'a Taker<'a, T>,
    window: Option<&'a ReorderWindow<R, InOrder<R>>>,
    fail_fast: bool,
    results: &'a mut IndexedRuns<R>,
    failures: &'a mut Vec<(usize, E)>,
    /// The current batch's outcomes, for the window.
    batch: Vec<(usize, Slot<R>)>,
}

impl<T, R, E> Sink<R, E> for Collect<'_, T, R, E> {
    #[inline]
    fn accept(&mut self, outcome: Result<R, E>) -> Flow {
        let index = self.taker.next_index();
        match outcome {
            Ok(result) => {
                match self.window {
                    Some(_) => self.batch.push((index, Slot::Done(result))),
                    None => self.results.push(index, result),
                }
                Flow::Continue
            }
            Err(error) => {
                if self.window.is_some() {
                    self.batch.push((index, Slot::Failed));
                }
                self.failures.push((index, error));
                if self.fail_fast {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
        }
    }

    fn flush(&mut self) {
        if let Some(window) = self.window {
            window.deposit(&mut self.batch);
        }
    }
}

fn lock<H>(hook: &Mutex<H>) -> MutexGuard<'_, H> {
    // A callback that panicked poisoned its lock; the run that saw it has ended with the panic,
    // and the callback is whole enough to be called by the next run.
    hook.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The user's `on_produce`, shared by all producers. Producers put under the input's lock, so
/// the item's input index plus one is the number of items produced so far.
struct InputOrder<'a, P>(&'a Mutex<P>);

impl<P> Clone for InputOrder<'_, P> {
    fn clone(&self) -> Self {
        Self(self.0)
    }
}

impl<T, P: ProduceHook<T>> ProduceHook<(usize, T)> for InputOrder<'_, P> {
    const ACTIVE: bool = P::ACTIVE;
    type Kept = (usize, P::Kept);

    fn keep(&mut self, (index, item): &(usize, T)) -> Self::Kept {
        (*index, lock(self.0).keep(item))
    }

    fn call(&mut self, (index, kept): Self::Kept, _: usize, buffer_len: usize) {
        lock(self.0).call(kept, index + 1, buffer_len);
    }
}

/// The user's `on_consume`, shared by all consumers, with a count over all of them.
struct Counted<'a, C> {
    hook: &'a Mutex<C>,
    count: &'a AtomicUsize,
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
