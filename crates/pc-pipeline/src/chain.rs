//! [`Chain`]: a source and the stages after it, built step by step and then collected, sent to a sink, or streamed.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use pc_roles::catch_panic as catch;
use pc_roles::{ConsumeHook, OnProduce};

use crate::Pipeline;
use crate::control::{CancelHandle, Signal};
use crate::engine::run::{self, Detached, ProgressHook, RunPlan};
use crate::engine::source::{self, Kept, SourceConfig, SourceLaunch};
use crate::engine::stage::{self as stage_launch, Link};
use crate::engine::{Downstream, Launch, Launcher, MakeLeftovers};
use crate::err::{BoxError, Cause, ConfigError, Place, RunError, StageConfigError};
use crate::leftovers::{Returns, StageLeftovers};
use crate::stage::{ErrorHook, Shape, Stage};
use crate::stream::{Collected, Finished, Stream};

#[expect(
    private_interfaces,
    reason = "a sealed trait: users name chains, never plans, and cannot implement it"
)]
mod sealed {
    use std::sync::Arc;

    use crate::engine::Launcher;
    use crate::err::BoxError;
    use crate::leftovers::Returns;

    /// What a chain launches: its source alone, or its stages after the source.
    pub trait Plan<'a, S, T> {
        #[doc(hidden)]
        fn into_launcher(self, returns: Arc<Returns<S>>) -> Launcher<'a, BoxError, T>;
    }
}

use sealed::Plan;

/// A chain's source before any stage: it can still be configured.
pub struct Unstaged<'a, S> {
    launch: SourceLaunch<'a, BoxError, S>,
    config: SourceConfig<'a, S>,
}

/// A chain's stages after its source.
pub struct Staged<'a, T> {
    launcher: Launcher<'a, BoxError, T>,
}

#[expect(private_interfaces, reason = "see `sealed`")]
impl<'a, S: Send + 'a> Plan<'a, S, S> for Unstaged<'a, S> {
    fn into_launcher(self, returns: Arc<Returns<S>>) -> Launcher<'a, BoxError, S> {
        let Self { launch, config } = self;
        Box::new(
            move |l: &mut Launch<'a, BoxError>, downstream: Downstream<'a, BoxError, S>| {
                launch(l, config, returns, downstream);
            },
        )
    }
}

#[expect(private_interfaces, reason = "see `sealed`")]
impl<'a, S, T> Plan<'a, S, T> for Staged<'a, T> {
    fn into_launcher(self, _: Arc<Returns<S>>) -> Launcher<'a, BoxError, T> {
        self.launcher
    }
}

/// A source and the stages after it; see [`Pipeline::source`].
///
/// `S` is the source's item type, `T` the type the chain's last stage gives. Each stage runs
/// its work on its own workers behind its own bounded buffer (or fused into the workers of
/// the stage before it, see [`Stage`]), so the whole chain holds a number of items bounded
/// by the capacities, whatever the source's length. End the chain with
/// [`collect`](Self::collect), [`for_each`](Self::for_each),
/// [`try_for_each`](Self::try_for_each), [`for_each_batch`](Self::for_each_batch) or
/// [`stream`](Self::stream).
///
/// The ways of running that block until the run ends run it on scoped threads, so the
/// source, the work and the sink may borrow from the caller; only [`stream`](Self::stream)
/// needs everything `'static`. Items handed between two stages must be `'static` (a run that
/// stops hands them back behind `Any`); the source's items and the results may borrow.
#[must_use = "a chain does nothing until it is run"]
pub struct Chain<'a, S, T = S, P = Staged<'a, T>> {
    plan: P,
    source_returns: Arc<Returns<S>>,
    names: Vec<String>,
    invalid: Option<StageConfigError>,
    /// The workers of every stage, summed.
    workers: usize,
    stages: usize,
    last: Option<Shape>,
    last_capacity: usize,
    capacity: Option<usize>,
    progress: Option<(Duration, ProgressHook<'a>)>,
    signal: Arc<Signal>,
    _output: PhantomData<fn() -> T>,
}

impl Pipeline {
    /// Starts a chain of stages reading `source`, which may be endless: items are read as the
    /// stages have room for them. The source may borrow from the caller (see [`Chain`]).
    ///
    /// ```
    /// use pc_pipeline::{Pipeline, Stage};
    ///
    /// let lines = ["1", "2", "x", "4"].map(String::from);
    /// let out = Pipeline::source(&lines)
    ///     .try_stage(Stage::new("parse").workers(2), |line: &String| line.parse::<u64>())
    ///     .stage(Stage::new("square"), |n| n * n)
    ///     .collect();
    /// let err = out.unwrap_err(); // "x" fails, and parse stops the run (fail-fast)
    /// assert_eq!(err.to_string(), "item 2 failed in stage `parse`: invalid digit found in string");
    /// ```
    pub fn source<'a, I>(source: I) -> Chain<'a, I::Item, I::Item, Unstaged<'a, I::Item>>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'a,
        I::Item: Send + 'a,
    {
        Chain {
            plan: Unstaged {
                launch: source::launcher(source.into_iter()),
                config: SourceConfig::default(),
            },
            source_returns: Arc::new(Returns::new()),
            names: Vec::new(),
            invalid: None,
            workers: 0,
            stages: 0,
            last: None,
            last_capacity: Stage::DEFAULT_CAPACITY,
            capacity: None,
            progress: None,
            signal: Arc::new(Signal::default()),
            _output: PhantomData,
        }
    }
}

/// The cause of a run whose sink panicked on the result of item `index`.
fn sink_panicked(index: usize, message: String) -> Cause<BoxError> {
    Cause::Panicked {
        stage: "sink".to_owned(),
        place: Place::Sink,
        worker: 1,
        index: Some(index),
        message,
    }
}

/// Turns a stage's error into the chain's.
fn boxed<X: Into<BoxError>>(error: X) -> BoxError {
    error.into()
}

fn never(never: Infallible) -> BoxError {
    match never {}
}

impl<'a, S: Send + 'a> Chain<'a, S, S, Unstaged<'a, S>> {
    /// Reads the source on `producers` threads of its own (at least 1, checked when the run
    /// starts), which put its items into the first stage's buffer. They take turns reading,
    /// so the buffer sees the source's order. By default the first stage's workers read the
    /// source themselves, a batch at a time, unless it promises no items ahead (see
    /// [`Pipeline`]'s "Reading the source").
    pub fn producers(mut self, producers: usize) -> Self {
        if producers == 0 {
            self.invalid.get_or_insert(StageConfigError {
                stage: "source".to_owned(),
                error: ConfigError::ZeroProducers,
            });
        }
        self.plan.config.producers = Some(producers);
        self
    }

    /// A delay each producer sleeps after each item (the Python design's `producer_delay`); the
    /// source then has a producer thread of its own.
    pub fn producer_delay(mut self, delay: Duration) -> Self {
        self.plan.config.delay = delay;
        self
    }

    /// Calls `callback(item, count, buffer_len)` after each item is put into the first
    /// stage's buffer: `count` items produced so far, `buffer_len` items in the buffer after
    /// the put. Calls come in source order. The callback sees a clone of the item, which has
    /// moved into the buffer; the source then has a producer thread of its own.
    pub fn on_produce<F>(mut self, callback: F) -> Self
    where
        S: Clone,
        F: FnMut(&S, usize, usize) + Send + 'a,
    {
        self.plan.config.hook = Some(Box::new(Kept::new(OnProduce(callback))));
        self
    }

    /// Adds the first stage, whose work cannot fail.
    pub fn stage<R, W, C, F>(self, stage: Stage<C, F>, work: W) -> Chain<'a, S, R>
    where
        R: Send + 'a,
        W: Fn(S) -> R + Send + Sync + 'a,
        C: ConsumeHook<R> + Send + 'a,
        F: ErrorHook<Infallible> + Send + 'a,
    {
        let work = move |item| Ok::<R, Infallible>(work(item));
        self.add(stage, work, never, None)
    }

    /// Adds the first stage, whose work may fail; what a failure does is the stage's
    /// [`on_failure`](Stage::on_failure) policy.
    pub fn try_stage<R, X, W, C, F>(self, stage: Stage<C, F>, work: W) -> Chain<'a, S, R>
    where
        R: Send + 'a,
        X: Into<BoxError> + Send + 'a,
        W: Fn(S) -> Result<R, X> + Send + Sync + 'a,
        C: ConsumeHook<R> + Send + 'a,
        F: ErrorHook<X> + Send + 'a,
    {
        self.add(stage, work, boxed::<X>, None)
    }
}

impl<'a, S: Send + 'a, T: Send + 'static> Chain<'a, S, T, Staged<'a, T>> {
    /// Adds a stage whose work cannot fail.
    pub fn stage<R, W, C, F>(self, stage: Stage<C, F>, work: W) -> Chain<'a, S, R>
    where
        R: Send + 'a,
        W: Fn(T) -> R + Send + Sync + 'a,
        C: ConsumeHook<R> + Send + 'a,
        F: ErrorHook<Infallible> + Send + 'a,
    {
        let work = move |item| Ok::<R, Infallible>(work(item));
        self.add(stage, work, never, Some(StageLeftovers::new::<T>))
    }

    /// Adds a stage whose work may fail; what a failure does is the stage's
    /// [`on_failure`](Stage::on_failure) policy.
    pub fn try_stage<R, X, W, C, F>(self, stage: Stage<C, F>, work: W) -> Chain<'a, S, R>
    where
        R: Send + 'a,
        X: Into<BoxError> + Send + 'a,
        W: Fn(T) -> Result<R, X> + Send + Sync + 'a,
        C: ConsumeHook<R> + Send + 'a,
        F: ErrorHook<X> + Send + 'a,
    {
        self.add(stage, work, boxed::<X>, Some(StageLeftovers::new::<T>))
    }
}

impl<'a, S: Send + 'a, T: Send + 'a, P: Plan<'a, S, T>> Chain<'a, S, T, P> {
    /// Adds `stage` running `work` after the chain's last row.
    fn add<R, X, W, C, F>(
        mut self,
        stage: Stage<C, F>,
        work: W,
        convert: fn(X) -> BoxError,
        leftovers: Option<MakeLeftovers<T>>,
    ) -> Chain<'a, S, R>
    where
        R: Send + 'a,
        X: Send + 'a,
        W: Fn(T) -> Result<R, X> + Send + Sync + 'a,
        C: ConsumeHook<R> + Send + 'a,
        F: ErrorHook<X> + Send + 'a,
    {
        if let Err(invalid) = stage.check() {
            self.invalid.get_or_insert(invalid);
        }
        let name = stage.name.clone();
        if name == "source" || name == "sink" || self.names.contains(&name) {
            self.invalid.get_or_insert(StageConfigError {
                stage: name.clone(),
                error: ConfigError::DuplicateName,
            });
        }
        let link = Link {
            upstream: self.plan.into_launcher(Arc::clone(&self.source_returns)),
            before: self.last,
            convert,
            leftovers,
        };
        let shape = stage.shape();
        let capacity = stage.capacity;
        let workers = self.workers.saturating_add(stage.workers);
        self.names.push(name);
        Chain {
            plan: Staged {
                launcher: stage_launch::launcher(link, stage, work),
            },
            source_returns: self.source_returns,
            names: self.names,
            invalid: self.invalid,
            workers,
            stages: self.stages + 1,
            last: Some(shape),
            last_capacity: capacity,
            capacity: self.capacity,
            progress: self.progress,
            signal: self.signal,
            _output: PhantomData,
        }
    }

    /// Bounds the buffer the results go through to `capacity` items (at least 1, checked when
    /// the run starts), for the ways of running that hand each result to the caller. By
    /// default it is the last stage's capacity, or [`Stage::DEFAULT_CAPACITY`] for a chain
    /// without stages.
    pub fn capacity(mut self, capacity: usize) -> Self {
        if capacity == 0 {
            self.invalid.get_or_insert(StageConfigError {
                stage: "sink".to_owned(),
                error: ConfigError::ZeroCapacity,
            });
        }
        self.capacity = Some(capacity);
        self
    }

    /// Calls `hook` with the live report about every `every` while the run goes on, and once
    /// more with the final report when it ends. It runs on a thread of its own; a panic in it
    /// ends the run with an error naming the `progress` row.
    pub fn progress<F>(mut self, every: Duration, hook: F) -> Self
    where
        F: FnMut(&crate::RunReport) + Send + 'a,
    {
        self.progress = Some((every, Box::new(hook)));
        self
    }

    /// A handle that cancels the run from any thread, before or while it runs.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.signal.handle()
    }

    fn plan(self) -> RunPlan<'a, BoxError, S, T> {
        let capacity = self.capacity.unwrap_or(self.last_capacity).max(1);
        RunPlan {
            launcher: self.plan.into_launcher(Arc::clone(&self.source_returns)),
            source_returns: self.source_returns,
            workers: self.workers,
            ordered: self.last.is_none_or(|shape| shape.ordered),
            stages: self.stages,
            capacity,
            progress: self.progress,
            signal: self.signal,
            invalid: self.invalid,
        }
    }

    /// Runs the chain to the end and collects the results (in source order if every stage is
    /// ordered). The last stage's workers keep their results themselves: nothing is handed to
    /// another thread on the way out.
    ///
    /// ```
    /// use pc_pipeline::{FailurePolicy, Pipeline, Stage};
    ///
    /// let collected = Pipeline::source(1..=6u32)
    ///     .try_stage(
    ///         Stage::new("check").workers(3).on_failure(FailurePolicy::Continue),
    ///         |n| if n % 3 == 0 { Err(format!("{n} is a multiple of 3")) } else { Ok(n) },
    ///     )
    ///     .stage(Stage::new("scale").workers(3), |n| n * 10)
    ///     .collect()
    ///     .unwrap();
    /// assert_eq!(collected.results, [10, 20, 40, 50]);
    /// assert_eq!(collected.failures.len(), 2);
    /// assert_eq!(collected.report.stage("check").unwrap().failed, 2);
    /// ```
    ///
    /// # Errors
    ///
    /// A [`RunError`] if a stage is misconfigured, a fail-fast stage's work failed, or user code
    /// panicked; it holds the results collected until then.
    pub fn collect(self) -> Result<Collected<S, T>, RunError<S, T>> {
        run::collect(self.plan())
    }

    /// Runs the chain to the end, calling `sink` on the calling thread with each result as
    /// soon as it is ready. A panic in `sink` ends the run with an error naming the `sink` row.
    ///
    /// Where the first stage's workers read the source, the calling thread is one of the last
    /// stage's workers too, and hands the results it and the others made to `sink` between its
    /// own batches.
    ///
    /// # Errors
    ///
    /// As [`collect`](Self::collect).
    pub fn for_each<F: FnMut(T)>(self, mut sink: F) -> Result<Finished<S, T>, RunError<S, T>> {
        if self.stages == 0 {
            return run::drive(self.plan(), |reader| reader.drive(sink));
        }
        run::sink(self.plan(), move |index, result| {
            catch(|| sink(result)).map_err(|message| sink_panicked(index, message))
        })
    }

    /// Runs the chain to the end, calling `sink` with each result until it returns an error,
    /// which ends the run ([`Cause::Sink`]): the result it failed on
    /// counts as failed in the sink's row, and every result not yet given to it comes back in
    /// the error's [`Unprocessed::results`](crate::Unprocessed).
    ///
    /// ```
    /// use pc_pipeline::{Pipeline, Stage};
    ///
    /// let mut written = Vec::new();
    /// let err = Pipeline::source(0..100u32)
    ///     .stage(Stage::new("double"), |n| n * 2)
    ///     .try_for_each(|n| {
    ///         if n == 20 {
    ///             return Err("disk full");
    ///         }
    ///         written.push(n);
    ///         Ok(())
    ///     })
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "the sink failed on item 10: disk full");
    /// assert_eq!(written.len(), 10);
    /// let report = &err.report;
    /// assert_eq!(report.produced(), written.len() + 1 + err.unprocessed.len());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`collect`](Self::collect), and when the sink fails.
    pub fn try_for_each<X, F>(self, sink: F) -> Result<Finished<S, T>, RunError<S, T>>
    where
        X: Into<BoxError>,
        F: FnMut(T) -> Result<(), X>,
    {
        if self.stages == 0 {
            return run::drive(self.plan(), |reader| reader.try_drive(sink));
        }
        let mut sink = sink;
        run::sink(self.plan(), move |index, result| {
            match catch(|| sink(result)) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(Cause::Sink {
                    index: Some(index),
                    items: 1,
                    error: error.into(),
                }),
                Err(message) => Err(sink_panicked(index, message)),
            }
        })
    }

    /// Runs the chain to the end, calling `sink` with batches of up to `max` results: a batch
    /// goes when it is full, or `linger` after its first result arrived, whichever comes
    /// first (and at the end). For sinks that write in bulk, such as database inserts.
    ///
    /// A batch the sink fails on (an error or a panic) ends the run and comes back, whole, in
    /// the error's [`Unprocessed::results`](crate::Unprocessed).
    ///
    /// ```
    /// use std::time::Duration;
    /// use pc_pipeline::{Pipeline, Stage};
    ///
    /// let mut inserted = Vec::new();
    /// Pipeline::source(0..1000u32)
    ///     .stage(Stage::new("row"), |n| (n, n * 2))
    ///     .for_each_batch(100, Duration::from_millis(50), |rows: &[(u32, u32)]| {
    ///         inserted.push(rows.len()); // one INSERT of `rows`
    ///         Ok::<_, std::io::Error>(())
    ///     })
    ///     .unwrap();
    /// assert_eq!(inserted.iter().sum::<usize>(), 1000);
    /// assert!(inserted.iter().all(|&n| n <= 100));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`collect`](Self::collect), and when the sink fails ([`Cause::Sink`](crate::Cause)),
    /// or `max` is zero.
    pub fn for_each_batch<X, F>(
        mut self,
        max: usize,
        linger: Duration,
        sink: F,
    ) -> Result<Finished<S, T>, RunError<S, T>>
    where
        X: Into<BoxError>,
        F: FnMut(&[T]) -> Result<(), X>,
    {
        if max == 0 {
            self.invalid.get_or_insert(StageConfigError {
                stage: "sink".to_owned(),
                error: ConfigError::ZeroBatch,
            });
        }
        run::drive(self.plan(), |reader| {
            reader.drive_batches(max, linger, sink)
        })
    }
}

impl<S: Send + 'static, T: Send + 'static, P: Plan<'static, S, T>> Chain<'static, S, T, P> {
    /// Starts the run on threads of its own and returns its results as an iterator, each as
    /// soon as it is ready (in source order if every stage is ordered). Call
    /// [`Stream::finish`] at the end for the report, the failures, and whether the run failed.
    ///
    /// ```
    /// use pc_pipeline::{Pipeline, Stage};
    ///
    /// let mut stream = Pipeline::source(1..=1_000u32)
    ///     .stage(Stage::new("double").workers(3), |n| n * 2)
    ///     .stage(Stage::new("describe").workers(3), |n| format!("#{n}"))
    ///     .stream()
    ///     .unwrap();
    /// assert_eq!(stream.next().as_deref(), Some("#2")); // ordered: source order
    /// assert_eq!(stream.by_ref().count(), 999);
    /// let finished = stream.finish().unwrap();
    /// assert_eq!(finished.report.stage("double").unwrap().items_out, 1_000);
    /// ```
    ///
    /// # Errors
    ///
    /// A [`StageConfigError`] if a stage has no workers or no capacity, or two rows share a
    /// name; nothing runs then.
    pub fn stream(self) -> Result<Stream<S, T>, StageConfigError> {
        let mut plan = self.plan();
        if let Some(invalid) = plan.invalid.take() {
            return Err(invalid);
        }
        Ok(Stream::new(run::start_reader(plan, &Detached)))
    }
}
