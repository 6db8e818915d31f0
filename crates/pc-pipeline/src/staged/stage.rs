//! [`Stage`]: one step of a staged run, with its name, workers, input capacity, ordering and failure policy.

use crate::builder::FailurePolicy;
use crate::err::{ConfigError, StageConfigError};

/// How one step of a [`Chain`](crate::Chain) runs: its name (in reports and errors), how many
/// workers run its work, the capacity of the bounded buffer in front of it, whether its
/// outputs keep the order of its inputs, and what a failed item does.
///
/// ```
/// use pc_pipeline::{FailurePolicy, Stage};
///
/// let parse = Stage::new("parse")
///     .workers(4)
///     .capacity(1024)
///     .ordered(false)
///     .on_failure(FailurePolicy::Continue);
/// assert_eq!(parse.name(), "parse");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub(crate) name: String,
    pub(crate) workers: usize,
    pub(crate) capacity: usize,
    pub(crate) ordered: bool,
    pub(crate) policy: FailurePolicy,
}

impl Stage {
    /// The input capacity of a stage unless [`capacity`](Self::capacity) says otherwise.
    pub const DEFAULT_CAPACITY: usize = 256;

    /// Most items a worker takes from its input per buffer operation.
    const MAX_BATCH: usize = 256;

    /// A stage with one worker, an input buffer of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY)
    /// items, ordered output and [`FailurePolicy::FailFast`].
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            workers: 1,
            capacity: Self::DEFAULT_CAPACITY,
            ordered: true,
            policy: FailurePolicy::FailFast,
        }
    }

    /// The stage's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the work on `workers` threads (at least 1, checked when the run starts).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Bounds the buffer in front of the stage to `capacity` items (at least 1, checked when the
    /// run starts). An ordered stage with several workers also holds at most this many outputs
    /// waiting for an earlier one.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Whether the outputs leave in the order the inputs arrived (the default). With one worker
    /// they always do; with several, an ordered stage releases each output once every earlier
    /// one has gone, and an unordered stage passes outputs on as they are ready.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// What an item whose work returns an error does: stop the run (the default) or be
    /// reported at the end while the run goes on.
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    pub(crate) fn check(&self) -> Result<(), StageConfigError> {
        let error = if self.workers == 0 {
            ConfigError::ZeroWorkers
        } else if self.capacity == 0 {
            ConfigError::ZeroCapacity
        } else {
            return Ok(());
        };
        Err(StageConfigError {
            stage: self.name.clone(),
            error,
        })
    }

    /// Items a worker takes per buffer operation: its share of the capacity, so that the
    /// workers together hold at most one buffer's worth.
    pub(crate) fn batch(&self) -> usize {
        Self::batch_of(self.capacity, self.workers)
    }

    /// [`batch`](Self::batch) for a stage of `capacity` with `workers` workers.
    pub(crate) fn batch_of(capacity: usize, workers: usize) -> usize {
        (capacity / workers.max(1)).clamp(1, Self::MAX_BATCH)
    }

    /// Whether outputs go through a reorder window: only an ordered stage with several workers
    /// can finish items out of order.
    pub(crate) fn reorders(&self) -> bool {
        self.ordered && self.workers > 1
    }
}
