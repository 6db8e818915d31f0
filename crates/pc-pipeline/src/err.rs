//! Every error type of the crate: a configuration refused before a run, and a run that ended early with everything it did and did not do.

use std::convert::Infallible;
use std::error::Error;
use std::fmt;

use crate::leftovers::Unprocessed;
use crate::report::RunReport;

/// A value a run cannot be configured with.
///
/// ```
/// use pc_pipeline::{ConfigError, Pipeline};
///
/// assert_eq!(Pipeline::builder().capacity(0).build().unwrap_err(), ConfigError::ZeroCapacity);
/// assert_eq!(Pipeline::builder().consumers(0).build().unwrap_err(), ConfigError::ZeroConsumers);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// A buffer's capacity is zero.
    ZeroCapacity,
    /// The number of producers is zero.
    ZeroProducers,
    /// The number of consumers is zero.
    ZeroConsumers,
    /// A batch size is zero.
    ZeroBatch,
    /// A stage has no workers.
    ZeroWorkers,
    /// Two rows of one chain have the same name (`source` and `sink` are taken).
    DuplicateName,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ZeroCapacity => "buffer capacity must be at least 1, got 0",
            Self::ZeroProducers => "a pipeline needs at least 1 producer, got 0",
            Self::ZeroConsumers => "a pipeline needs at least 1 consumer, got 0",
            Self::ZeroBatch => "batch size must be at least 1, got 0",
            Self::ZeroWorkers => "a stage needs at least 1 worker, got 0",
            Self::DuplicateName => {
                "another row of the chain has this name (names are unique, and `source` and `sink` are taken)"
            }
        })
    }
}

impl Error for ConfigError {}

/// A stage of a chain was configured with a value it cannot run with.
///
/// ```
/// use pc_pipeline::{Pipeline, Stage};
///
/// let chain = Pipeline::source(0..10u32).stage(Stage::new("double").workers(0), |n| n * 2);
/// let err = chain.collect().unwrap_err();
/// assert_eq!(err.to_string(), "stage `double`: a stage needs at least 1 worker, got 0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageConfigError {
    /// The stage's name.
    pub stage: String,
    /// What is wrong with it.
    pub error: ConfigError,
}

impl fmt::Display for StageConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage `{}`: {}", self.stage, self.error)
    }
}

impl Error for StageConfigError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// The error a chain's stage returns, boxed so that stages with different error types share
/// one list of failures. Any `std::error::Error + Send + Sync`, a `String` or a `&str`
/// converts into it with `?` or `.into()`.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// One item whose work in a stage returned an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<E> {
    /// The stage's name.
    pub stage: String,
    /// The item's position in the source.
    pub index: usize,
    /// What the work returned.
    pub error: E,
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "item {} failed in stage `{}`: {}",
            self.index, self.stage, self.error
        )
    }
}

impl<E: Error + 'static> Error for Failure<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// Where in a run a panic came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Place {
    /// The source iterator.
    Source,
    /// The source's `on_produce` callback.
    OnProduce,
    /// A stage's work.
    Work,
    /// A stage's `on_consume` callback.
    OnConsume,
    /// A stage's `on_error` callback.
    OnError,
    /// The sink that takes the results.
    Sink,
    /// The progress hook.
    Progress,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Source => "source",
            Self::OnProduce => "on_produce callback",
            Self::Work => "work",
            Self::OnConsume => "on_consume callback",
            Self::OnError => "on_error callback",
            Self::Sink => "sink",
            Self::Progress => "progress hook",
        })
    }
}

/// Why a run ended early.
#[non_exhaustive]
pub enum Cause<E> {
    /// A stage was configured with a value it cannot run with; nothing ran.
    Config(StageConfigError),
    /// An item's work returned an error in a stage whose policy is
    /// [`FailurePolicy::FailFast`](crate::FailurePolicy). When several workers failed before
    /// the run stopped, this is the first recorded; the others are in the error's `failures`.
    Failed(Failure<E>),
    /// User code panicked.
    Panicked {
        /// The row's name (`source`, a stage's name, `sink` or `progress`).
        stage: String,
        /// What panicked: the work, a callback, the source, the sink or the hook.
        place: Place,
        /// Which of the row's workers, counting from 1.
        worker: u32,
        /// The source index of the item being handled, where there was one.
        index: Option<usize>,
        /// The panic's message.
        message: String,
    },
    /// The sink returned an error. A batch sink's batch is handed back whole in the error's
    /// `unprocessed.results`; a result given alone counts as failed in the sink's row.
    Sink {
        /// The source index of the result, for a sink given one result at a time.
        index: Option<usize>,
        /// How many results the sink was given in the call that failed.
        items: usize,
        /// What the sink returned.
        error: BoxError,
    },
    /// The run was cancelled by a [`CancelHandle`](crate::CancelHandle), where the way it was
    /// run returns only its results ([`Pipeline::process`](crate::Pipeline::process)): what it
    /// finished is in the error's `completed`, the rest in `unprocessed`.
    Cancelled,
    /// A buffer failed in transit (a buffer behind a broker).
    Transport {
        /// The stage whose input buffer failed.
        stage: String,
        /// What the buffer reported.
        error: BoxError,
    },
}

impl<E> Cause<E> {
    /// The name of the row where the run failed.
    pub fn stage(&self) -> &str {
        match self {
            Self::Config(err) => &err.stage,
            Self::Failed(failure) => &failure.stage,
            Self::Panicked { stage, .. } | Self::Transport { stage, .. } => stage,
            Self::Sink { .. } => "sink",
            Self::Cancelled => "source",
        }
    }

    /// The source index of the item the run failed on, where there was one.
    pub fn index(&self) -> Option<usize> {
        match self {
            Self::Failed(failure) => Some(failure.index),
            Self::Panicked { index, .. } | Self::Sink { index, .. } => *index,
            Self::Config(_) | Self::Cancelled | Self::Transport { .. } => None,
        }
    }

    /// The same cause with the work's error turned into another type.
    pub fn map_error<F>(self, f: impl FnOnce(E) -> F) -> Cause<F> {
        match self {
            Self::Config(err) => Cause::Config(err),
            Self::Failed(Failure {
                stage,
                index,
                error,
            }) => Cause::Failed(Failure {
                stage,
                index,
                error: f(error),
            }),
            Self::Panicked {
                stage,
                place,
                worker,
                index,
                message,
            } => Cause::Panicked {
                stage,
                place,
                worker,
                index,
                message,
            },
            Self::Sink {
                index,
                items,
                error,
            } => Cause::Sink {
                index,
                items,
                error,
            },
            Self::Cancelled => Cause::Cancelled,
            Self::Transport { stage, error } => Cause::Transport { stage, error },
        }
    }
}

impl<E: fmt::Display> fmt::Display for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(err) => err.fmt(f),
            Self::Failed(failure) => failure.fmt(f),
            Self::Panicked {
                stage,
                place,
                worker,
                index,
                message,
            } => {
                write!(f, "stage `{stage}`: {place} panicked in worker {worker}")?;
                if let Some(index) = index {
                    write!(f, " on item {index}")?;
                }
                write!(f, ": {message}")
            }
            Self::Sink {
                index: Some(index),
                error,
                ..
            } => write!(f, "the sink failed on item {index}: {error}"),
            Self::Sink { items, error, .. } => {
                write!(
                    f,
                    "the sink failed on a batch of {items} result(s): {error}"
                )
            }
            Self::Cancelled => f.write_str("the run was cancelled"),
            Self::Transport { stage, error } => {
                write!(f, "the input buffer of stage `{stage}` failed: {error}")
            }
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(err) => f.debug_tuple("Config").field(err).finish(),
            Self::Failed(failure) => f.debug_tuple("Failed").field(failure).finish(),
            Self::Panicked {
                stage,
                place,
                worker,
                index,
                message,
            } => f
                .debug_struct("Panicked")
                .field("stage", stage)
                .field("place", place)
                .field("worker", worker)
                .field("index", index)
                .field("message", message)
                .finish(),
            Self::Sink {
                index,
                items,
                error,
            } => f
                .debug_struct("Sink")
                .field("index", index)
                .field("items", items)
                .field("error", error)
                .finish(),
            Self::Cancelled => f.write_str("Cancelled"),
            Self::Transport { stage, error } => f
                .debug_struct("Transport")
                .field("stage", stage)
                .field("error", error)
                .finish(),
        }
    }
}

/// A worker's number as a [`Cause::Panicked`] names it.
pub(crate) fn worker_number(worker: usize) -> u32 {
    u32::try_from(worker).unwrap_or(u32::MAX)
}

/// A run ended early. Nothing is lost: every item the source gave is in exactly one place,
/// counted in the report's rows: delivered (in `completed`, or already handed to the sink),
/// failed (in `failures` or the cause, or an item whose work panicked), or handed back in
/// `unprocessed`; for every row `items_in == items_out + failed + returned`.
///
/// `S` is the source's item type, `R` the result type, `E` the error type of the work:
/// [`BoxError`] for a chain, the work's own for [`Pipeline::try_process`](crate::Pipeline).
/// The error is `Send + Sync + 'static` whenever they are, so `?` turns it into a
/// `Box<dyn Error + Send + Sync>` or an `anyhow::Error`; where the items borrow from the
/// caller, [`without_items`](Self::without_items) drops them and keeps the rest.
///
/// ```
/// use pc_pipeline::{Cause, Pipeline};
///
/// let mut pipeline = Pipeline::builder().capacity(4).build().unwrap();
/// let err = pipeline
///     .try_process(1..=10, |n: u32| if n == 5 { Err("five") } else { Ok(n * 10) })
///     .unwrap_err();
/// assert_eq!(err.cause.index(), Some(4));
/// assert_eq!(err.to_string(), "item 4 failed in stage `work`: five");
/// let report = &err.report;
/// assert_eq!(report.produced(), err.completed.len() + 1 + err.unprocessed.len());
/// ```
pub struct RunError<S, R, E = BoxError> {
    /// Why the run ended.
    pub cause: Cause<E>,
    /// The results collected before the run stopped, with their source indices, in source
    /// order (when collecting: a sink takes each result as it comes).
    pub completed: Box<[(usize, R)]>,
    /// Other failed items (the cause's excluded), in the order they were recorded.
    pub failures: Box<[Failure<E>]>,
    /// The items that were never processed and the results never delivered (boxed, with the
    /// report, to keep the error small to move around).
    pub unprocessed: Box<Unprocessed<S, R>>,
    /// What every row did until the run stopped.
    pub report: Box<RunReport>,
}

/// The error of [`Pipeline::process`](crate::Pipeline::process) and
/// [`Pipeline::run`](crate::Pipeline::run), whose work cannot fail: only a panic ends them
/// early.
pub type ProcessError<T, R> = RunError<T, R, Infallible>;

impl<S, R, E> RunError<S, R, E> {
    /// Takes back the source items never processed, in source order, without their indices.
    pub fn into_unprocessed(self) -> Vec<S> {
        self.unprocessed
            .items
            .into_iter()
            .map(|(_, item)| item)
            .collect()
    }

    /// The same error without the items and results, which may borrow from the caller: the
    /// cause, the failures, the report and the source index of every item handed back stay.
    ///
    /// ```
    /// use pc_pipeline::Pipeline;
    ///
    /// fn lengths(lines: &[String]) -> Result<Vec<usize>, Box<dyn std::error::Error>> {
    ///     let mut pipeline = Pipeline::new();
    ///     // The error borrows `lines` through its items: drop them to return it.
    ///     let lengths = pipeline
    ///         .process(lines, |line: &String| line.len())
    ///         .map_err(|err| err.without_items())?;
    ///     Ok(lengths)
    /// }
    /// assert_eq!(lengths(&["ab".to_owned()]).unwrap(), [2]);
    /// ```
    pub fn without_items(self) -> RunError<(), (), E> {
        RunError {
            cause: self.cause,
            completed: self.completed.iter().map(|&(i, _)| (i, ())).collect(),
            failures: self.failures,
            unprocessed: Box::new(self.unprocessed.without_items()),
            report: self.report,
        }
    }

    pub(crate) fn config(error: StageConfigError) -> Self {
        Self {
            cause: Cause::Config(error),
            completed: Box::new([]),
            failures: Box::new([]),
            unprocessed: Box::new(Unprocessed::default()),
            report: Box::new(RunReport::empty()),
        }
    }
}

impl<S, R, E: fmt::Display> fmt::Display for RunError<S, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cause.fmt(f)
    }
}

impl<S, R, E: fmt::Debug> fmt::Debug for RunError<S, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunError")
            .field("cause", &self.cause)
            .field(
                "completed",
                &format_args!("[{} results]", self.completed.len()),
            )
            .field(
                "failures",
                &format_args!("[{} failures]", self.failures.len()),
            )
            .field("unprocessed", &self.unprocessed)
            .finish_non_exhaustive()
    }
}

impl<S, R, E: fmt::Debug + fmt::Display> Error for RunError<S, R, E> {}
