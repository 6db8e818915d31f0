//! [`Stage`]: one step of a run, with its name, workers, input capacity, ordering, failure policy, delay and callbacks.

use std::fmt;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use pc_roles::{NoHook, OnConsume};

use crate::err::{ConfigError, StageConfigError};

/// What a run does when an item's work returns an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FailurePolicy {
    /// Stop at the first error: the source stops, the buffers close, and the run returns the
    /// error together with every result so far and every item not processed.
    #[default]
    FailFast,
    /// Process everything and report each failed item with its error.
    Continue,
}

/// A callback for items whose work returned an error: `on_error(index, error)`.
pub trait ErrorHook<E> {
    /// Whether the hook does anything; when `false` the stage skips it entirely.
    const ACTIVE: bool;
    /// Called with the source index of a failed item and the error its work returned.
    fn call(&mut self, index: usize, error: &E);
}

impl<E> ErrorHook<E> for NoHook {
    const ACTIVE: bool = false;
    fn call(&mut self, _: usize, _: &E) {}
}

/// An `on_error(index, error)` callback; see [`Stage::on_error`].
#[derive(Debug, Clone, Copy)]
pub struct OnError<F>(pub F);

impl<E, F: FnMut(usize, &E)> ErrorHook<E> for OnError<F> {
    const ACTIVE: bool = true;
    fn call(&mut self, index: usize, error: &E) {
        (self.0)(index, error)
    }
}

/// How one step of a run works: its name (in reports and errors), how many workers run its
/// work, the capacity of the bounded buffer in front of it, whether its outputs keep the
/// order of its inputs, what a failed item does, a delay after each item, and callbacks.
///
/// ```
/// use std::time::Duration;
/// use pc_pipeline::{FailurePolicy, Stage};
///
/// let parse = Stage::new("parse")
///     .workers(4)
///     .capacity(1024)
///     .ordered(false)
///     .on_failure(FailurePolicy::Continue)
///     .delay(Duration::ZERO)
///     .on_consume(|n: &u32, count: usize, _len: usize| assert!(count > 0 && *n < 100))
///     .on_error(|index: usize, error: &String| eprintln!("item {index}: {error}"));
/// assert_eq!(parse.name(), "parse");
/// ```
///
/// # Fusing
///
/// When a chain's stages together have more workers than the machine has cores, a stage with
/// the same number of workers and the same ordering as the stage before it, and no delay,
/// runs in that stage's workers: each worker takes a batch from the first stage's buffer and
/// runs it through both, with no buffer and no hand-off between them. Where threads outnumber
/// cores, every hand-off between threads can cost a switch between them, more than light work
/// gains from running the steps side by side; fusing is what lets a chain of cheap steps run
/// faster than a loop. Each stage keeps its own row in the report. Where the cores allow every
/// stage its own workers, stages run side by side instead. A stage that should always have
/// threads of its own says so with [`fuse(false)`](Self::fuse).
#[must_use = "a stage does nothing until it is added to a chain"]
pub struct Stage<C = NoHook, F = NoHook> {
    pub(crate) name: String,
    pub(crate) workers: usize,
    pub(crate) capacity: usize,
    pub(crate) ordered: bool,
    pub(crate) policy: FailurePolicy,
    pub(crate) delay: Duration,
    pub(crate) fuse: bool,
    pub(crate) batch: Option<usize>,
    pub(crate) on_consume: C,
    pub(crate) on_error: F,
}

impl Stage {
    /// The input capacity of a stage unless [`capacity`](Self::capacity) says otherwise.
    pub const DEFAULT_CAPACITY: usize = 256;

    /// A stage with one worker, an input buffer of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY)
    /// items, ordered output, [`FailurePolicy::FailFast`], no delay and no callbacks.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            workers: 1,
            capacity: Self::DEFAULT_CAPACITY,
            ordered: true,
            policy: FailurePolicy::FailFast,
            delay: Duration::ZERO,
            fuse: true,
            batch: None,
            on_consume: NoHook,
            on_error: NoHook,
        }
    }
}

impl<C, F> Stage<C, F> {
    /// The stage's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the work on `workers` threads (at least 1, checked when the run starts).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Bounds the buffer in front of the stage to `capacity` items (at least 1, checked when
    /// the run starts). An ordered stage with several workers also holds at most this many
    /// outputs waiting for an earlier one. Nothing is allocated for it up front: a capacity of
    /// `usize::MAX` is a buffer without a bound.
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

    /// A delay each worker sleeps after each item (the Python design's `consumer_delay`). A worker
    /// with a delay takes one item at a time.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Whether the stage may run in the workers of the stage before it (the default); see
    /// [fusing](Self#fusing).
    pub fn fuse(mut self, fuse: bool) -> Self {
        self.fuse = fuse;
        self
    }

    /// How many items a worker takes from the stage's buffer at once (at least 1, checked when
    /// the run starts). By default a lone worker takes up to 4096 items and several workers
    /// share the capacity, up to 256 items each. Workers of a first stage that read the source
    /// themselves take their share of the capacity per pull, at least 256 and up to 4096
    /// items, and never more than the source's size hint promises beyond the first item, so a
    /// source fed by the run's own output cannot deadlock; a source that promises nothing is
    /// read in turns of as many items (see [`Pipeline`](crate::Pipeline)'s "Reading the
    /// source").
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = Some(batch);
        self
    }

    /// Calls `callback(result, count, buffer_len)` after each item processed successfully:
    /// `count` items processed successfully so far by all the stage's workers, `buffer_len`
    /// items left in the stage's buffer. Calls are serialised.
    pub fn on_consume<G>(self, callback: G) -> Stage<OnConsume<G>, F> {
        self.on_consume_hook(OnConsume(callback))
    }

    /// Calls `callback(index, error)` for each item whose work returned an error, with the
    /// item's source index, under either failure policy: with `on_consume` a run that counts
    /// its progress from callbacks reaches the total. Calls are serialised.
    pub fn on_error<G>(self, callback: G) -> Stage<C, OnError<G>> {
        self.on_error_hook(OnError(callback))
    }

    /// The same stage with any [`ConsumeHook`](pc_roles::ConsumeHook) after each success.
    pub(crate) fn on_consume_hook<G>(self, hook: G) -> Stage<G, F> {
        Stage {
            name: self.name,
            workers: self.workers,
            capacity: self.capacity,
            ordered: self.ordered,
            policy: self.policy,
            delay: self.delay,
            fuse: self.fuse,
            batch: self.batch,
            on_consume: hook,
            on_error: self.on_error,
        }
    }

    /// The same stage with any [`ErrorHook`] after each failure.
    pub(crate) fn on_error_hook<G>(self, hook: G) -> Stage<C, G> {
        Stage {
            name: self.name,
            workers: self.workers,
            capacity: self.capacity,
            ordered: self.ordered,
            policy: self.policy,
            delay: self.delay,
            fuse: self.fuse,
            batch: self.batch,
            on_consume: self.on_consume,
            on_error: hook,
        }
    }

    pub(crate) fn check(&self) -> Result<(), StageConfigError> {
        let error = if self.workers == 0 {
            ConfigError::ZeroWorkers
        } else if self.capacity == 0 {
            ConfigError::ZeroCapacity
        } else if self.batch == Some(0) {
            ConfigError::ZeroBatch
        } else {
            return Ok(());
        };
        Err(StageConfigError {
            stage: self.name.clone(),
            error,
        })
    }

    /// The shape the next stage compares itself with to decide whether to fuse.
    pub(crate) fn shape(&self) -> Shape {
        Shape {
            workers: self.workers,
            ordered: self.ordered || self.workers == 1,
            paced: !self.delay.is_zero(),
        }
    }

    /// Items a worker takes per buffer operation.
    pub(crate) fn batch_size(&self) -> usize {
        if !self.delay.is_zero() {
            return 1;
        }
        self.batch
            .unwrap_or_else(|| batch_of(self.capacity, self.workers))
    }

    /// Items a worker reading the source itself takes per pull: its share of the capacity,
    /// and at least 256 (at most 4096). Nothing waits in a buffer in front of the workers then:
    /// a pull costs a lock and a look at the source, so a pull of a few items would cost more
    /// than the items, and none holds items another could be processing for long.
    pub(crate) fn source_batch_size(&self) -> usize {
        if !self.delay.is_zero() {
            return 1;
        }
        self.batch
            .unwrap_or_else(|| (self.capacity / self.workers.max(1)).clamp(256, 4096))
    }

    /// Whether outputs go through a reorder window: only an ordered stage with several workers
    /// can finish items out of order.
    pub(crate) fn reorders(&self) -> bool {
        self.ordered && self.workers > 1
    }
}

impl<C, F> fmt::Debug for Stage<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stage")
            .field("name", &self.name)
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .field("ordered", &self.ordered)
            .field("policy", &self.policy)
            .field("delay", &self.delay)
            .field("fuse", &self.fuse)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

/// What fusing compares between a stage and the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) workers: usize,
    /// Whether its outputs leave in input order (always, with one worker).
    pub(crate) ordered: bool,
    /// Whether it sleeps after each item: a delay stands for work to overlap, not to fuse.
    pub(crate) paced: bool,
}

impl Shape {
    /// Whether a stage of this shape may run in the workers of a stage of shape `before`.
    pub(crate) fn fuses_after(self, before: Self) -> bool {
        self == before && !self.paced
    }
}

/// Items a worker of a stage of `capacity` with `workers` workers takes per buffer operation:
/// a lone worker takes up to 4096 items, so that a batch that empties the buffer swaps
/// allocations with it; several workers share the capacity, up to 256 items each, so that
/// none holds items another could be processing. Both bounds are BENCHMARKS.md's `BATCH`
/// decision.
pub(crate) fn batch_of(capacity: usize, workers: usize) -> usize {
    match workers {
        0 | 1 => capacity.clamp(1, 4096),
        workers => (capacity / workers).clamp(1, 256),
    }
}

/// The cores this process may run on (1 if the OS will not say), asked once: on Linux the
/// answer reads the cgroup's quota, which takes as long as starting a thread.
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, usize::from))
}
