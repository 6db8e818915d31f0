//! [`Pipeline`] and [`PipelineBuilder`]: the one-stage form of a run, the original design's `process(data)`, with capacity, producers, consumers, delays, callbacks, ordering, failure policy, progress and cancellation.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use pc_roles::{ConsumeHook, NoHook, OnConsume, OnProduce, ProduceHook};

use crate::control::{CancelHandle, Signal};
use crate::engine::Launcher;
use crate::engine::run::{self, ProgressHook, RunPlan};
use crate::engine::source::{self, ErasedProduce, Kept, SourceConfig};
use crate::engine::stage::{self as stage_launch, Link};
use crate::err::{ConfigError, ProcessError, RunError};
use crate::leftovers::Returns;
use crate::report::RunReport;
use crate::stage::{ErrorHook, FailurePolicy, OnError, Stage};
use crate::stream::Collected;

/// A checked pipeline configuration.
#[derive(Debug, Clone, Copy)]
struct Config {
    capacity: usize,
    producers: Option<usize>,
    consumers: usize,
    producer_delay: Duration,
    consumer_delay: Duration,
    ordered: bool,
    policy: FailurePolicy,
    batch: Option<usize>,
}

impl Config {
    /// The Python design's default: capacity 10, one consumer, no delays, ordered, fail-fast.
    const DEFAULT: Self = Self {
        capacity: 10,
        producers: None,
        consumers: 1,
        producer_delay: Duration::ZERO,
        consumer_delay: Duration::ZERO,
        ordered: true,
        policy: FailurePolicy::FailFast,
        batch: None,
    };
}

/// A producer-consumer pipeline: a source read into a bounded buffer and consumers that run
/// the work on each item, on scoped threads. It is a chain of one stage, named `work`, run by
/// the same engine as [`Pipeline::source`]'s chains.
///
/// A run never hangs and never loses an item: see [`RunError`] for how a run that stops
/// early accounts for everything, and [`RunReport`] for where the time went.
///
/// ```
/// use pc_pipeline::Pipeline;
///
/// let mut pipeline = Pipeline::new(); // capacity 10, one consumer
/// let words = ["buffer", "put", "get"];
/// let lengths = pipeline.process(words, str::len).unwrap();
/// assert_eq!(lengths, [6, 3, 3]);
/// let stats = pipeline.stats().unwrap();
/// assert_eq!((stats.produced(), stats.consumed(), stats.success()), (3, 3, true));
/// ```
///
/// # Reading the source
///
/// By default the consumers read the source themselves, a batch at a time under one lock,
/// and nothing crosses between threads on the way in. A source that promises no items ahead
/// (its size hint's lower bound is 0, as for a channel receiver or `BufRead::lines`) may wait,
/// even for the run's own output, so each of its items must be where another consumer can
/// take it before the next is asked for: the consumers read it in turns, each putting the
/// items it pulls into the buffer and taking them back when its turn ends. The source gets
/// producer threads of its own, which put into the buffer while the consumers take from it,
/// when [`producers`](PipelineBuilder::producers) asks for them, when a producer delay or an
/// `on_produce` callback is set, or when a source that promises nothing has one consumer.
pub struct Pipeline<P = NoHook, C = NoHook, F = NoHook> {
    config: Config,
    on_produce: P,
    on_consume: C,
    on_error: F,
    progress: Option<(Duration, ProgressHook<'static>)>,
    signal: Arc<Signal>,
    stats: Option<RunReport>,
}

impl Pipeline {
    /// A pipeline as the Python design's default: capacity 10, one consumer, no delays, ordered,
    /// fail-fast.
    pub fn new() -> Self {
        Self::from_parts(Config::DEFAULT, NoHook, NoHook, NoHook, None)
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
        PipelineBuilder {
            config: Config::DEFAULT,
            on_produce: NoHook,
            on_consume: NoHook,
            on_error: NoHook,
            progress: None,
        }
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl<P, C, F> fmt::Debug for Pipeline<P, C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// One of the pipeline's callbacks, lent to a run.
struct Lent<'h, H>(&'h mut H);

impl<T, H: ProduceHook<T>> ProduceHook<T> for Lent<'_, H> {
    const ACTIVE: bool = H::ACTIVE;
    type Kept = H::Kept;

    fn keep(&mut self, item: &T) -> H::Kept {
        self.0.keep(item)
    }

    fn call(&mut self, kept: H::Kept, count: usize, buffer_len: usize) {
        self.0.call(kept, count, buffer_len);
    }
}

impl<R, H: ConsumeHook<R>> ConsumeHook<R> for Lent<'_, H> {
    const ACTIVE: bool = H::ACTIVE;

    fn call(&mut self, output: &R, count: usize, buffer_len: usize) {
        self.0.call(output, count, buffer_len);
    }
}

impl<E, H: ErrorHook<E>> ErrorHook<E> for Lent<'_, H> {
    const ACTIVE: bool = H::ACTIVE;

    fn call(&mut self, index: usize, error: &E) {
        self.0.call(index, error);
    }
}

/// How a run of [`Pipeline::try_process`] ended.
type Outcome<T, R, E> = Result<Collected<T, R, E>, RunError<T, R, E>>;

fn same<E>(error: E) -> E {
    error
}

impl<P, C, F> Pipeline<P, C, F> {
    fn from_parts(
        config: Config,
        on_produce: P,
        on_consume: C,
        on_error: F,
        progress: Option<(Duration, ProgressHook<'static>)>,
    ) -> Self {
        Self {
            config,
            on_produce,
            on_consume,
            on_error,
            progress,
            signal: Arc::new(Signal::default()),
            stats: None,
        }
    }

    /// The report of the last run, if there was one (also when it failed): a row for the
    /// source, one for the work (named `work`) and one for the results.
    pub fn stats(&self) -> Option<&RunReport> {
        self.stats.as_ref()
    }

    /// The buffer capacity of each run.
    pub fn capacity(&self) -> usize {
        self.config.capacity
    }

    /// A handle that cancels the run in progress from any thread (or, when none is, the next
    /// run as it starts). A cancelled run returns what it finished and hands back the rest:
    /// `try_process` returns `Ok` with [`Collected::cancelled`] set, `process` and `run` an
    /// error whose unprocessed items are the rest.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.signal.handle()
    }

    /// Runs `data` through the pipeline unchanged and returns it: the Python design's
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
        P::Kept: Send,
        C: ConsumeHook<T> + Send,
        F: ErrorHook<Infallible> + Send,
    {
        self.process(data, std::convert::identity)
    }

    /// Runs every item of `data` through `work` and returns the results, in input order if
    /// the pipeline is ordered (the default).
    ///
    /// `data` and `work` may borrow from the caller: the threads are scoped and have ended when
    /// this returns.
    ///
    /// # Errors
    ///
    /// A [`RunError`] naming the row when the input's iterator, `work` or a callback panicked,
    /// or when the run was cancelled (its unprocessed items are the rest), with every result,
    /// and every item taken but not processed.
    pub fn process<I, R, W>(&mut self, data: I, work: W) -> Result<Vec<R>, ProcessError<I::Item, R>>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        R: Send,
        W: Fn(I::Item) -> R + Sync,
        P: ProduceHook<I::Item> + Send,
        P::Kept: Send,
        C: ConsumeHook<R> + Send,
        F: ErrorHook<Infallible> + Send,
    {
        let collected = self.try_process(data, |item| Ok::<R, Infallible>(work(item)))?;
        if collected.cancelled {
            return Err(RunError {
                cause: crate::err::Cause::Cancelled,
                completed: collected.results.into_iter().enumerate().collect(),
                failures: Box::new([]),
                unprocessed: Box::new(collected.unprocessed),
                report: Box::new(collected.report),
            });
        }
        Ok(collected.results)
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
    /// assert_eq!(out.failures[0].index, 1); // the input index of "two"
    /// assert_eq!(pipeline.stats().unwrap().failed(), 1);
    /// ```
    ///
    /// # Errors
    ///
    /// Under [`FailurePolicy::FailFast`], the first failed item recorded, with its error;
    /// under either policy, a panic. The [`RunError`] holds every result, every other failure
    /// and every item taken but not processed.
    pub fn try_process<I, R, E, W>(&mut self, data: I, work: W) -> Outcome<I::Item, R, E>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
        R: Send,
        E: Send,
        W: Fn(I::Item) -> Result<R, E> + Sync,
        P: ProduceHook<I::Item> + Send,
        P::Kept: Send,
        C: ConsumeHook<R> + Send,
        F: ErrorHook<E> + Send,
    {
        let config = self.config;
        let hook: Option<Box<dyn ErasedProduce<I::Item> + '_>> = P::ACTIVE
            .then(|| Box::new(Kept::new(Lent(&mut self.on_produce))) as Box<dyn ErasedProduce<_>>);
        let source_config = SourceConfig {
            producers: config.producers,
            delay: config.producer_delay,
            chunk: config.batch,
            hook,
        };
        let returns = Arc::new(Returns::new());
        let read = source::launcher(data.into_iter());
        let source_returns = Arc::clone(&returns);
        let upstream: Launcher<'_, E, I::Item> = Box::new(move |launch, downstream| {
            read(launch, source_config, source_returns, downstream);
        });
        let stage = Stage::new("work")
            .workers(config.consumers)
            .capacity(config.capacity)
            .ordered(config.ordered)
            .on_failure(config.policy)
            .delay(config.consumer_delay)
            .on_consume_hook(Lent(&mut self.on_consume))
            .on_error_hook(Lent(&mut self.on_error));
        let stage = match config.batch {
            Some(batch) => stage.batch(batch),
            None => stage,
        };
        let work = &work;
        let link = Link {
            upstream,
            before: None,
            convert: same::<E>,
            leftovers: None,
        };
        let progress = self.progress.as_mut().map(|(every, hook)| {
            let hook: ProgressHook<'_> = Box::new(|report: &RunReport| hook(report));
            (*every, hook)
        });
        let plan = RunPlan {
            launcher: stage_launch::launcher(link, stage, work),
            source_returns: returns,
            workers: config.consumers,
            ordered: config.ordered || config.consumers == 1,
            stages: 1,
            capacity: config.capacity,
            progress,
            signal: Arc::clone(&self.signal),
            invalid: None,
        };
        let outcome = run::collect(plan);
        self.stats = Some(match &outcome {
            Ok(collected) => collected.report.clone(),
            Err(err) => (*err.report).clone(),
        });
        outcome
    }
}

/// Builds a [`Pipeline`]; start with [`Pipeline::builder`].
///
/// ```
/// use std::time::Duration;
/// use pc_pipeline::{FailurePolicy, Pipeline};
///
/// let mut pipeline = Pipeline::builder()
///     .capacity(64)
///     .consumers(4)
///     .ordered(true)
///     .on_failure(FailurePolicy::Continue)
///     .consumer_delay(Duration::ZERO)
///     .build()
///     .unwrap();
/// let squares = pipeline.process(1..=5_u64, |n| n * n).unwrap();
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct PipelineBuilder<P = NoHook, C = NoHook, F = NoHook> {
    config: Config,
    on_produce: P,
    on_consume: C,
    on_error: F,
    progress: Option<(Duration, ProgressHook<'static>)>,
}

impl<P, C, F> fmt::Debug for PipelineBuilder<P, C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<P, C, F> PipelineBuilder<P, C, F> {
    /// The buffer's capacity: how many items may wait between the source and the consumers
    /// (default 10). Producers wait while it is full: that is the backpressure.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.config.capacity = capacity;
        self
    }

    /// Reads the input on `producers` threads of its own (see
    /// [reading the source](Pipeline#reading-the-source)). They take turns pulling from it, so
    /// the buffer sees the input's order; several help when producing is paced.
    pub fn producers(mut self, producers: usize) -> Self {
        self.config.producers = Some(producers);
        self
    }

    /// How many consumer threads run the work (default 1).
    pub fn consumers(mut self, consumers: usize) -> Self {
        self.config.consumers = consumers;
        self
    }

    /// A delay each producer sleeps after each item (the Python design's `producer_delay`).
    pub fn producer_delay(mut self, delay: Duration) -> Self {
        self.config.producer_delay = delay;
        self
    }

    /// A delay each consumer sleeps after each item (the Python design's `consumer_delay`).
    pub fn consumer_delay(mut self, delay: Duration) -> Self {
        self.config.consumer_delay = delay;
        self
    }

    /// Whether results come back in input order (default `true`). Unordered runs return each
    /// consumer's results one after the other.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.config.ordered = ordered;
        self
    }

    /// What a run does when an item's work returns an error (default fail-fast).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.config.policy = policy;
        self
    }

    /// How many items producers put and consumers take per buffer operation. By default
    /// producers put the capacity (up to 256), a lone consumer takes all the buffer holds
    /// (up to 4096) and several consumers take their share of it (up to 256); a role with a
    /// delay always moves one item at a time.
    pub fn batch(mut self, batch: usize) -> Self {
        self.config.batch = Some(batch);
        self
    }

    /// Calls `hook` with the live report about every `every` while a run goes on, and once
    /// more with the final report when it ends.
    pub fn progress<H>(mut self, every: Duration, hook: H) -> Self
    where
        H: FnMut(&RunReport) + Send + 'static,
    {
        self.progress = Some((every, Box::new(hook)));
        self
    }

    /// Calls `callback(item, count, buffer_len)` after each put: `count` items produced so
    /// far, `buffer_len` items in the buffer after the put. Calls are serialised and come in
    /// input order. The callback sees a clone of the item, which has moved into the buffer.
    pub fn on_produce<G>(self, callback: G) -> PipelineBuilder<OnProduce<G>, C, F> {
        PipelineBuilder {
            config: self.config,
            on_produce: OnProduce(callback),
            on_consume: self.on_consume,
            on_error: self.on_error,
            progress: self.progress,
        }
    }

    /// Calls `callback(result, count, buffer_len)` after each item processed successfully:
    /// `count` items processed successfully so far by all consumers, `buffer_len` items left in
    /// the buffer. Calls are serialised.
    pub fn on_consume<G>(self, callback: G) -> PipelineBuilder<P, OnConsume<G>, F> {
        PipelineBuilder {
            config: self.config,
            on_produce: self.on_produce,
            on_consume: OnConsume(callback),
            on_error: self.on_error,
            progress: self.progress,
        }
    }

    /// Calls `callback(index, error)` for each item whose work returned an error, with its
    /// input index: with `on_consume` a run that counts its progress from callbacks reaches
    /// the total. Calls are serialised.
    pub fn on_error<G>(self, callback: G) -> PipelineBuilder<P, C, OnError<G>> {
        PipelineBuilder {
            config: self.config,
            on_produce: self.on_produce,
            on_consume: self.on_consume,
            on_error: OnError(callback),
            progress: self.progress,
        }
    }

    /// Checks the configuration and builds the pipeline.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first zero among capacity, producers, consumers and batch.
    pub fn build(self) -> Result<Pipeline<P, C, F>, ConfigError> {
        let c = &self.config;
        let error = if c.capacity == 0 {
            Some(ConfigError::ZeroCapacity)
        } else if c.producers == Some(0) {
            Some(ConfigError::ZeroProducers)
        } else if c.consumers == 0 {
            Some(ConfigError::ZeroConsumers)
        } else if c.batch == Some(0) {
            Some(ConfigError::ZeroBatch)
        } else {
            None
        };
        match error {
            Some(error) => Err(error),
            None => Ok(Pipeline::from_parts(
                self.config,
                self.on_produce,
                self.on_consume,
                self.on_error,
                self.progress,
            )),
        }
    }
}
