//! Every error type of the crate: bad configuration, and a run that ended early with everything it did and did not do.

use std::fmt;

use thiserror::Error;

use pc_roles::Role;

use crate::PipelineStats;
use crate::staged::{RunReport, Unprocessed};

/// [`PipelineBuilder::build`](crate::PipelineBuilder::build) refused a configuration.
///
/// ```
/// use pc_pipeline::{ConfigError, Pipeline};
///
/// assert_eq!(Pipeline::builder().capacity(0).build().unwrap_err(), ConfigError::ZeroCapacity);
/// assert_eq!(Pipeline::builder().consumers(0).build().unwrap_err(), ConfigError::ZeroConsumers);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The buffer capacity is zero.
    #[error("buffer capacity must be at least 1, got 0")]
    ZeroCapacity,
    /// The number of producers is zero.
    #[error("a pipeline needs at least 1 producer, got 0")]
    ZeroProducers,
    /// The number of consumers is zero.
    #[error("a pipeline needs at least 1 consumer, got 0")]
    ZeroConsumers,
    /// The batch size is zero.
    #[error("batch size must be at least 1, got 0")]
    ZeroBatch,
    /// A stage of a staged run has no workers.
    #[error("a stage needs at least 1 worker, got 0")]
    ZeroWorkers,
}

/// Why a run ended early.
#[derive(Clone, PartialEq, Eq, Error)]
pub enum Cause<E> {
    /// An item's work returned an error under [`FailurePolicy::FailFast`](crate::FailurePolicy);
    /// when several failed before the run stopped, this is the first in input order.
    #[error("item {index} failed: {error}")]
    Failed {
        /// The item's position in the input.
        index: usize,
        /// What the work returned.
        error: E,
    },
    /// User code panicked: a producer's input, a consumer's work, or a callback.
    #[error("{role} panicked in {}: {message}", worker_name(*.role, *.worker))]
    Panicked {
        /// Where the panic came from.
        role: Role,
        /// Which producer or consumer ran it, counting from 1.
        worker: usize,
        /// The panic's message.
        message: String,
    },
}

fn worker_name(role: Role, worker: usize) -> String {
    match role {
        Role::Producer | Role::OnProduce => format!("producer {worker}"),
        Role::Consumer | Role::OnConsume => format!("consumer {worker}"),
    }
}

impl<E: fmt::Debug> fmt::Debug for Cause<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { index, error } => f
                .debug_struct("Failed")
                .field("index", index)
                .field("error", error)
                .finish(),
            Self::Panicked {
                role,
                worker,
                message,
            } => f
                .debug_struct("Panicked")
                .field("role", role)
                .field("worker", worker)
                .field("message", message)
                .finish(),
        }
    }
}

/// A run ended early. Nothing is lost: the error holds every result computed, every failure,
/// and every item taken from the input but not processed, each with its input index.
///
/// `stats.produced == completed.len() + failed + unprocessed.len()`, where `failed` counts
/// `failures`, the item of a [`Cause::Failed`], and an item whose work panicked.
///
/// ```
/// use pc_pipeline::{Cause, Pipeline};
///
/// let mut pipeline = Pipeline::builder().capacity(4).build().unwrap();
/// let err = pipeline
///     .try_process(1..=10, |n: u32| if n == 5 { Err("five") } else { Ok(n * 10) })
///     .unwrap_err();
/// assert_eq!(err.cause, Cause::Failed { index: 4, error: "five" });
/// assert_eq!(err.to_string(), "item 4 failed: five");
/// let s = &err.stats;
/// assert_eq!(s.produced, err.completed.len() + 1 + err.unprocessed.len());
/// ```
#[derive(Error)]
#[error("{cause}")]
pub struct PipelineError<T, R, E> {
    /// Why the run ended.
    pub cause: Cause<E>,
    /// Results of the items processed successfully, with their input indices, in input order.
    pub completed: Vec<(usize, R)>,
    /// Other failed items with their errors, in input order (the one in `cause` excluded).
    pub failures: Vec<(usize, E)>,
    /// Items taken from the input but never processed, with their input indices, in input
    /// order. Items the run never took stay in the input: pass `iter.by_ref()` to keep them.
    pub unprocessed: Vec<(usize, T)>,
    /// What the run did until it stopped (boxed to keep the error small to move around).
    pub stats: Box<PipelineStats>,
}

/// The error of [`Pipeline::process`](crate::Pipeline::process) and
/// [`Pipeline::run`](crate::Pipeline::run), whose work cannot fail: only a panic ends them
/// early.
pub type ProcessError<T, R> = PipelineError<T, R, std::convert::Infallible>;

impl<T, R, E> PipelineError<T, R, E> {
    /// Takes back the unprocessed items, in input order, without their indices.
    pub fn into_unprocessed(self) -> Vec<T> {
        self.unprocessed.into_iter().map(|(_, item)| item).collect()
    }
}

impl<T, R, E: fmt::Debug> fmt::Debug for PipelineError<T, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineError")
            .field("cause", &self.cause)
            .field(
                "completed",
                &format_args!("[{} results]", self.completed.len()),
            )
            .field("failures", &self.failures)
            .field(
                "unprocessed",
                &format_args!("[{} items]", self.unprocessed.len()),
            )
            .finish_non_exhaustive()
    }
}

/// The error a stage's fallible work returns, boxed so that stages with different error types
/// share one list of failures. Any `std::error::Error + Send + Sync`, a `String` or a `&str`
/// converts into it with `?` or `.into()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A stage of a [`Chain`](crate::Chain) was configured with a value it cannot run with.
///
/// ```
/// use pc_pipeline::{ConfigError, Pipeline, Stage};
///
/// let chain = Pipeline::source(0..10u32).stage(Stage::new("double").workers(0), |n| n * 2);
/// let err = chain.collect().unwrap_err();
/// assert_eq!(err.to_string(), "stage `double`: a stage needs at least 1 worker, got 0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("stage `{stage}`: {error}")]
pub struct StageConfigError {
    /// The stage's name.
    pub stage: String,
    /// What is wrong with it.
    pub error: ConfigError,
}

/// One item whose work in a stage returned an error.
#[derive(Debug, Error)]
#[error("item {index} failed in stage `{stage}`: {error}")]
pub struct StageFailure {
    /// The stage's name.
    pub stage: String,
    /// The item's position in the source.
    pub index: usize,
    /// What the work returned.
    pub error: BoxError,
}

/// Why a staged run ended early.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StageCause {
    /// A stage was configured with a value it cannot run with; nothing ran.
    #[error(transparent)]
    Config(#[from] StageConfigError),
    /// An item's work returned an error in a stage whose policy is
    /// [`FailurePolicy::FailFast`](crate::FailurePolicy).
    #[error(transparent)]
    Failed(StageFailure),
    /// The batch sink of [`Chain::for_each_batch`](crate::Chain::for_each_batch) returned an
    /// error; the batch is in the error's `unprocessed.results`.
    #[error("the sink failed on a batch of {items} results: {error}")]
    Sink {
        /// How many results the batch held.
        items: usize,
        /// What the sink returned.
        error: BoxError,
    },
    /// User code panicked: the source, a stage's work, the sink or the progress hook.
    #[error("stage `{stage}` panicked in worker {worker}: {message}")]
    Panicked {
        /// The stage's name (`source`, `sink` and `progress` for those).
        stage: String,
        /// Which of the stage's workers, counting from 1.
        worker: usize,
        /// The panic's message.
        message: String,
    },
}

impl StageCause {
    /// The name of the stage where the run failed.
    pub fn stage(&self) -> &str {
        match self {
            Self::Config(err) => &err.stage,
            Self::Failed(failure) => &failure.stage,
            Self::Sink { .. } => "sink",
            Self::Panicked { stage, .. } => stage,
        }
    }
}

/// A staged run ended early. Nothing is lost: every item the source gave is in exactly one
/// place, counted in the report's rows: delivered, failed (in `failures` or the cause), or
/// in `unprocessed`, and for every row `items_in == items_out + failed + returned`.
#[derive(Error)]
#[error("{cause}")]
pub struct RunError<R> {
    /// Why the run ended.
    pub cause: StageCause,
    /// The results collected before the run stopped, in output order
    /// ([`Chain::collect`](crate::Chain::collect) only: the other ways of running hand each
    /// result over as it comes).
    pub completed: Vec<R>,
    /// Other failed items (the cause's excluded), in the order they failed.
    pub failures: Vec<StageFailure>,
    /// The items that were never processed, stage by stage, and the results never delivered
    /// (boxed, with the report, to keep the error small to move around).
    pub unprocessed: Box<Unprocessed<R>>,
    /// What every stage did until the run stopped.
    pub report: Box<RunReport>,
}

impl<R> fmt::Debug for RunError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunError")
            .field("cause", &self.cause)
            .field(
                "completed",
                &format_args!("[{} results]", self.completed.len()),
            )
            .field("failures", &self.failures)
            .field("unprocessed", &self.unprocessed)
            .finish_non_exhaustive()
    }
}
