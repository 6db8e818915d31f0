//! [`Chain`]: a source and the stages after it, built step by step and then run as a stream, collected, or sent to a sink.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pc_buffer::BoundedBuffer;

use super::control::{CancelHandle, Closes, Control};
use super::leftovers::{Returns, StageLeftovers};
use super::live::Meter;
use super::report::{RowKind, RunReport};
use super::stage::Stage;
use super::stream::{Collected, Finished, Stream};
use super::worker::{Handoff, InOrderOutlet, Outlet, SourceThread, StageWorker, Window};
use crate::Pipeline;
use crate::err::{BoxError, ConfigError, RunError, StageConfigError};

type Launcher<T> = Box<dyn FnOnce(&mut Launch, Outlet<T>) + Send>;
pub(crate) type ProgressHook = Box<dyn FnMut(&RunReport) + Send>;

/// What launching a chain sets up, gathered for the [`Stream`] that runs it.
pub(crate) struct Launch {
    pub(crate) control: Arc<Control>,
    /// Every row but the sink, in chain order.
    pub(crate) meters: Vec<Arc<Meter>>,
    pub(crate) threads: Vec<JoinHandle<()>>,
    /// Run after the threads end: results a window still holds go to the next row's returns.
    pub(crate) finishers: Vec<Box<dyn FnOnce() + Send>>,
    /// Run after the finishers, one per stage: what the stage hands back.
    pub(crate) drainers: Vec<Box<dyn FnOnce() -> StageLeftovers + Send>>,
}

impl Launch {
    fn spawn(&mut self, name: String, body: impl FnOnce() + Send + 'static) {
        let thread = thread::Builder::new()
            .name(name)
            .spawn(body)
            .expect("the operating system refused to start a thread");
        self.threads.push(thread);
    }
}

/// A source and the stages after it; see [`Pipeline::source`].
///
/// Each stage runs its work on its own workers and has its own bounded buffer in front of
/// it, so the whole chain holds a number of items bounded by the capacities, whatever the
/// source's length. End the chain with [`stream`](Self::stream) (an iterator over the
/// results), [`collect`](Self::collect), [`for_each`](Self::for_each) or
/// [`for_each_batch`](Self::for_each_batch).
#[must_use = "a chain does nothing until it is run"]
pub struct Chain<T> {
    control: Arc<Control>,
    launch: Launcher<T>,
    /// The capacity of the buffer the results go through: the last stage's.
    capacity: usize,
    invalid: Option<StageConfigError>,
    progress: Option<(Duration, ProgressHook)>,
}

impl Pipeline {
    /// Starts a chain of stages reading `source`, which may be endless: items are pulled as
    /// the stages have room for them.
    ///
    /// ```
    /// use pc_pipeline::{Pipeline, Stage};
    ///
    /// let lines = ["1", "2", "x", "4"].map(String::from);
    /// let out = Pipeline::source(lines)
    ///     .try_stage(Stage::new("parse").workers(2), |line: String| line.parse::<u64>())
    ///     .stage(Stage::new("square"), |n| n * n)
    ///     .collect();
    /// let err = out.unwrap_err(); // "x" fails, and parse stops the run (fail-fast)
    /// assert_eq!(err.to_string(), "item 2 failed in stage `parse`: invalid digit found in string");
    /// ```
    pub fn source<I>(source: I) -> Chain<I::Item>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
    {
        let control = Arc::new(Control::default());
        let source = source.into_iter();
        let launch: Launcher<I::Item> = Box::new(move |launch, outlet| {
            let meter = Arc::new(Meter::new("source", RowKind::Source, 1, None));
            launch.meters.push(Arc::clone(&meter));
            // Half the first stage's buffer per put, so the source and the first stage can work
            // on the two halves at once.
            let chunk = (outlet.buffer.capacity() / 2).clamp(1, 256);
            let thread = SourceThread {
                source,
                chunk,
                outlet,
                meter,
                control: Arc::clone(&launch.control),
            };
            launch.spawn("source".to_owned(), move || thread.run());
        });
        Chain {
            control,
            launch,
            capacity: Stage::DEFAULT_CAPACITY,
            invalid: None,
            progress: None,
        }
    }
}

impl<T: Send + 'static> Chain<T> {
    /// Adds a stage whose work cannot fail.
    pub fn stage<R, W>(self, stage: Stage, work: W) -> Chain<R>
    where
        R: Send + 'static,
        W: Fn(T) -> R + Send + Sync + 'static,
    {
        self.try_stage(stage, move |item| Ok::<R, Infallible>(work(item)))
    }

    /// Adds a stage whose work may fail; what a failure does is the stage's
    /// [`on_failure`](Stage::on_failure) policy.
    pub fn try_stage<R, E, W>(self, stage: Stage, work: W) -> Chain<R>
    where
        R: Send + 'static,
        E: Into<BoxError>,
        W: Fn(T) -> Result<R, E> + Send + Sync + 'static,
    {
        let invalid = self.invalid.or_else(|| stage.check().err());
        let upstream = self.launch;
        let capacity = stage.capacity.max(1);
        let work = Arc::new(move |item| work(item).map_err(Into::into));
        let launch: Launcher<R> = Box::new(move |launch, outlet| {
            let control = Arc::clone(&launch.control);
            let input = Arc::new(BoundedBuffer::new(capacity).expect("the capacity is not zero"));
            let mut meter = Meter::new(&stage.name, RowKind::Stage, stage.workers, Some(capacity));
            let probe = Arc::clone(&input);
            meter.probe = Some(Box::new(move || (probe.len(), probe.stats().high_water)));
            let meter = Arc::new(meter);
            let returns = Returns::new();
            upstream(
                launch,
                Outlet {
                    buffer: Arc::clone(&input),
                    meter: Arc::clone(&meter),
                    returns: Arc::clone(&returns),
                },
            );
            launch.meters.push(Arc::clone(&meter));
            let closing = Arc::clone(&input);
            control.on_stop(Closes::Input, move || {
                closing.close();
            });
            let window = if stage.reorders() {
                let gathered = Vec::new();
                let out = InOrderOutlet {
                    outlet: outlet.clone(),
                    gathered,
                };
                let window: Arc<Window<R>> = Arc::new(Window::new(capacity, out));
                let stopping = Arc::clone(&window);
                control.on_stop(Closes::Window, move || stopping.stop());
                let pending = Arc::clone(&window);
                let next = outlet.clone();
                launch.finishers.push(Box::new(move || {
                    next.returns
                        .extend(pending.take_pending().into_iter().map(|(_, item)| item));
                }));
                Some(window)
            } else {
                None
            };
            let name: Arc<str> = Arc::from(stage.name.as_str());
            let draining = (Arc::clone(&input), Arc::clone(&returns), stage.name.clone());
            launch.drainers.push(Box::new(move || {
                let (input, returns, name) = draining;
                let mut items = returns.take();
                items.extend(input.try_iter());
                StageLeftovers::new(&name, items)
            }));
            let workers_left = Arc::new(AtomicUsize::new(stage.workers));
            for worker in 1..=stage.workers {
                let handoff = match &window {
                    Some(window) => Handoff::InOrder {
                        window: Arc::clone(window),
                        outlet: outlet.clone(),
                    },
                    None => Handoff::Direct(outlet.clone()),
                };
                let thread = StageWorker {
                    name: Arc::clone(&name),
                    worker,
                    policy: stage.policy,
                    batch: stage.batch(),
                    work: Arc::clone(&work),
                    input: Arc::clone(&input),
                    handoff,
                    meter: Arc::clone(&meter),
                    returns: Arc::clone(&returns),
                    control: Arc::clone(&control),
                    workers_left: Arc::clone(&workers_left),
                };
                launch.spawn(format!("{name}-{worker}"), move || thread.run());
            }
        });
        Chain {
            control: self.control,
            launch,
            capacity,
            invalid,
            progress: self.progress,
        }
    }

    /// Calls `hook` with the live report about every `every` while the run goes on, and once
    /// more with the final report when it ends. It runs on its own thread; a panic in it ends
    /// the run with an error naming the `progress` stage.
    pub fn progress<F>(mut self, every: Duration, hook: F) -> Self
    where
        F: FnMut(&RunReport) + Send + 'static,
    {
        self.progress = Some((every, Box::new(hook)));
        self
    }

    /// A handle that cancels the run from any thread, before or while it runs.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle(Arc::clone(&self.control))
    }

    /// Starts the run and returns its results as an iterator, each as soon as it is ready (in
    /// source order if every stage is ordered). Call [`Stream::finish`] at the end for the
    /// report, the failures, and whether the run failed.
    ///
    /// # Errors
    ///
    /// A [`StageConfigError`] if a stage has no workers or no capacity; nothing runs then.
    pub fn stream(self) -> Result<Stream<T>, StageConfigError> {
        if let Some(invalid) = self.invalid {
            return Err(invalid);
        }
        let output = Arc::new(BoundedBuffer::new(self.capacity).expect("the capacity is not zero"));
        let mut sink = Meter::new("sink", RowKind::Sink, 1, Some(self.capacity));
        let probe = Arc::clone(&output);
        sink.probe = Some(Box::new(move || (probe.len(), probe.stats().high_water)));
        let sink = Arc::new(sink);
        let closing = Arc::clone(&output);
        self.control.on_stop(Closes::Output, move || {
            closing.close();
        });
        let mut launch = Launch {
            control: Arc::clone(&self.control),
            meters: Vec::new(),
            threads: Vec::new(),
            finishers: Vec::new(),
            drainers: Vec::new(),
        };
        let returns = Returns::new();
        let started = std::time::Instant::now();
        (self.launch)(
            &mut launch,
            Outlet {
                buffer: Arc::clone(&output),
                meter: Arc::clone(&sink),
                returns: Arc::clone(&returns),
            },
        );
        launch.meters.push(sink);
        Ok(Stream::start(
            launch,
            output,
            returns,
            started,
            self.progress,
        ))
    }

    /// Runs the chain to the end and collects the results (in source order if every stage is
    /// ordered).
    ///
    /// ```
    /// use pc_pipeline::{FailurePolicy, Pipeline, Stage};
    ///
    /// let collected = Pipeline::source(1..=6u32)
    ///     .try_stage(
    ///         Stage::new("check").workers(3).on_failure(FailurePolicy::Continue),
    ///         |n| if n % 3 == 0 { Err(format!("{n} is a multiple of 3")) } else { Ok(n) },
    ///     )
    ///     .stage(Stage::new("scale").workers(2), |n| n * 10)
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
    pub fn collect(self) -> Result<Collected<T>, RunError<T>> {
        let mut stream = self.stream().map_err(RunError::config)?;
        let results: Vec<T> = stream.by_ref().collect();
        match stream.finish() {
            Ok(finished) => Ok(Collected::new(results, finished)),
            Err(mut err) => {
                err.completed = results;
                Err(err)
            }
        }
    }

    /// Runs the chain to the end, calling `sink` with each result as soon as it is ready. A
    /// panic in `sink` ends the run with an error naming the `sink` stage.
    ///
    /// # Errors
    ///
    /// As [`collect`](Self::collect).
    pub fn for_each<F: FnMut(T)>(self, sink: F) -> Result<Finished<T>, RunError<T>> {
        let mut stream = self.stream().map_err(RunError::config)?;
        stream.drive(sink);
        stream.finish()
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
    /// As [`collect`](Self::collect), and when the sink fails ([`StageCause::Sink`](crate::StageCause)),
    /// or `max` is zero.
    pub fn for_each_batch<E, F>(
        self,
        max: usize,
        linger: Duration,
        sink: F,
    ) -> Result<Finished<T>, RunError<T>>
    where
        E: Into<BoxError>,
        F: FnMut(&[T]) -> Result<(), E>,
    {
        if max == 0 {
            return Err(RunError::config(StageConfigError {
                stage: "sink".to_owned(),
                error: ConfigError::ZeroBatch,
            }));
        }
        let mut stream = self.stream().map_err(RunError::config)?;
        stream.drive_batches(max, linger, sink);
        stream.finish()
    }
}
