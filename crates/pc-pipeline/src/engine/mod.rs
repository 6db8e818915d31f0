//! The run engine: every run, from [`Pipeline::process`](crate::Pipeline::process) to a chain of stages, is launched here as producer and consumer roles over buffers.
//!
//! A run is launched from the last stage back to the source. Each stage's launcher learns where
//! its outputs go (a [`Downstream`]), builds the outlet for them, and tells the stage before it
//! how to feed it: as the start of a new segment of workers reading an [`Input`], or as a
//! [`Tail`] fused into that stage's workers. See `README.md` beside this file for the design.

pub(crate) mod input;
pub(crate) mod outlet;
pub(crate) mod run;
pub(crate) mod source;
pub(crate) mod stage;
pub(crate) mod worker;

use std::sync::Arc;
use std::time::Duration;

use pc_buffer::BoundedBuffer;

use crate::control::Control;
use crate::leftovers::{Returns, StageLeftovers};
use crate::meter::Meter;

/// A batch of items between the stages of a segment. Each item has a key (its position in the
/// order the segment's workers took their inputs, which an ordered segment releases in) and a
/// source index. Where the source feeds the segment and nothing in the batch failed, keys are
/// indices and consecutive: the batch is then a run, its values bare, and a collection takes
/// them in one move.
pub(crate) struct Batch<T> {
    pub(crate) values: Vec<T>,
    /// The key and index of each value; empty while value `i` has key and index `start + i`.
    ids: Vec<(usize, usize)>,
    start: usize,
    /// The keys of the batch's items that failed.
    pub(crate) failed: Vec<usize>,
    /// The keys of the items the batch stands for, failed ones included: consecutive.
    pub(crate) keys: std::ops::Range<usize>,
    /// Whether keys are not source indices (the segment reads the segment before it).
    pub(crate) keyed: bool,
}

impl<T> Batch<T> {
    pub(crate) fn new() -> Self {
        Self {
            values: Vec::new(),
            ids: Vec::new(),
            start: 0,
            failed: Vec::new(),
            keys: 0..0,
            keyed: false,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, key: usize, index: usize, value: T) {
        if self.ids.is_empty() && key == index {
            if self.values.is_empty() {
                self.start = key;
            }
            if key == self.start + self.values.len() {
                self.values.push(value);
                return;
            }
        }
        if self.ids.is_empty() {
            // No longer a run: spell out the ids of the values so far.
            let start = self.start;
            self.ids
                .extend((start..start + self.values.len()).map(|key| (key, key)));
        }
        self.ids.push((key, index));
        self.values.push(value);
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Makes the values a run from `start`.
    pub(crate) fn set_run(&mut self, start: usize) {
        self.ids.clear();
        self.start = start;
    }

    /// Gives value `i` the `i`-th id of `ids`.
    pub(crate) fn set_ids(&mut self, ids: impl Iterator<Item = (usize, usize)>) {
        self.ids.clear();
        self.ids.extend(ids);
        debug_assert_eq!(self.ids.len(), self.values.len());
    }

    /// The batch as a run: the first key (and index) and the values, if it is one.
    pub(crate) fn run(&mut self) -> Option<(usize, &mut Vec<T>)> {
        self.ids
            .is_empty()
            .then_some((self.start, &mut self.values))
    }

    /// Hands each item to `f` as (key, index, value), emptying the batch but for `failed`.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(usize, usize, T)) {
        for (key, index, value) in self.items() {
            f(key, index, value);
        }
    }

    /// The items as (key, index, value), emptying the batch but for `failed` as they are
    /// taken; the allocations stay.
    pub(crate) fn items(&mut self) -> Items<'_, T> {
        if self.ids.is_empty() {
            Items::Run(self.start.., self.values.drain(..))
        } else {
            Items::Spelled(self.ids.drain(..), self.values.drain(..))
        }
    }
}

/// The items of a [`Batch`], taken out in order.
pub(crate) enum Items<'b, T> {
    Run(std::ops::RangeFrom<usize>, std::vec::Drain<'b, T>),
    Spelled(std::vec::Drain<'b, (usize, usize)>, std::vec::Drain<'b, T>),
}

impl<T> Iterator for Items<'_, T> {
    type Item = (usize, usize, T);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize, T)> {
        match self {
            Self::Run(keys, values) => {
                let value = values.next()?;
                let key = keys.next()?;
                Some((key, key, value))
            }
            Self::Spelled(ids, values) => {
                let value = values.next()?;
                let (key, index) = ids.next()?;
                Some((key, index, value))
            }
        }
    }
}

/// Time a tail spent on a batch: its stages' work, and its hand-off's waits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Spent {
    pub(crate) busy: Duration,
    pub(crate) waited: Duration,
}

impl Spent {
    pub(crate) fn total(self) -> Duration {
        self.busy + self.waited
    }
}

/// How a worker's run went, for the rows it ran to account for their share.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkerEnd {
    /// The share of its busy time the worker's thread spent on a core.
    pub(crate) on_cpu: f64,
    /// The worker's whole running time.
    pub(crate) running: Duration,
}

/// What a segment's worker does with the outputs of its first stage: the stages fused after
/// it, ending in an outlet. One per worker.
pub(crate) trait Tail<T>: Send {
    /// Takes a batch of outputs, with the keys of the batch's items that failed, emptying it.
    fn run(&mut self, batch: &mut Batch<T>) -> Spent;

    /// The worker is ending: adds what the tail's rows did to their meters, and returns the
    /// time they account for over the whole run.
    fn end(&mut self, worker: WorkerEnd) -> Spent;

    /// The segment's last worker has ended: no more outputs will come.
    fn close(&self);
}

/// Makes each worker's [`Tail`], and names the row that receives its inputs.
pub(crate) struct TailFactory<'a, T> {
    pub(crate) meter: Arc<Meter<'a>>,
    /// Whether the tails end in the run's collector.
    pub(crate) collects: bool,
    pub(crate) make: Arc<dyn Fn(usize) -> Box<dyn Tail<T> + 'a> + Send + Sync + 'a>,
}

/// Where a stage's outputs go, as the stage after it (or the run's end) says.
pub(crate) enum Downstream<'a, E, T> {
    /// Into a new segment of workers, started by [`SegmentStart::run`] once its input exists.
    Segment(SegmentStart<'a, E, T>),
    /// Into stages fused into the same workers.
    Fused(TailFactory<'a, T>),
    /// To the run's end.
    End(End<'a, T>),
}

/// How a segment starts once the row before it has made its input.
pub(crate) struct SegmentStart<'a, E, T> {
    /// The capacity of the buffer in front of the segment.
    pub(crate) capacity: usize,
    /// The segment's workers.
    pub(crate) workers: usize,
    /// The segment's first row.
    pub(crate) meter: Arc<Meter<'a>>,
    /// How the items handed back at the segment's input become leftovers; `None` for the first
    /// segment, whose leftovers are the source's items.
    pub(crate) leftovers: Option<MakeLeftovers<T>>,
    /// Spawns the segment's workers over the input.
    pub(crate) run: StartSegment<'a, E, T>,
}

/// Spawns a segment's workers over its input.
pub(crate) type StartSegment<'a, E, T> =
    Box<dyn FnOnce(&mut Launch<'a, E>, Input<'a, T>) + Send + 'a>;

/// Makes the leftovers of a stage after the first from the items handed back at its input.
pub(crate) type MakeLeftovers<T> = fn(&str, Vec<(usize, T)>) -> StageLeftovers;

/// The run's end, where the last stage's outputs go.
pub(crate) enum End<'a, T> {
    /// Each worker keeps its results; they are joined when the run ends.
    Collect {
        collector: Arc<outlet::Collector<T>>,
        meter: Arc<Meter<'a>>,
    },
    /// A buffer the caller reads results from.
    Output {
        buffer: Arc<BoundedBuffer<(usize, T)>>,
        returns: Arc<Returns<T>>,
        meter: Arc<Meter<'a>>,
    },
}

/// What a segment's workers read.
pub(crate) struct Input<'a, T> {
    pub(crate) kind: InputKind<'a, T>,
    /// Where the items the workers hand back go.
    pub(crate) returns: Arc<Returns<T>>,
}

pub(crate) enum InputKind<'a, T> {
    /// The source itself, read by the workers (see [`input::SourceInput`]).
    Source(Arc<dyn input::Pull<T> + 'a>),
    /// The source read in turns by the workers (see [`input::Turns`]).
    Turns(Arc<dyn input::Turns<T> + 'a>),
    /// Bare items put by producer threads in source order (see [`input::Numbered`]).
    Numbered(Arc<input::Numbered<T>>),
    /// Items with their source indices, from the segment before.
    Pairs(Arc<BoundedBuffer<(usize, T)>>),
}

impl<T> Clone for Input<'_, T> {
    fn clone(&self) -> Self {
        Self {
            kind: match &self.kind {
                InputKind::Source(source) => InputKind::Source(Arc::clone(source)),
                InputKind::Turns(turns) => InputKind::Turns(Arc::clone(turns)),
                InputKind::Numbered(numbered) => InputKind::Numbered(Arc::clone(numbered)),
                InputKind::Pairs(pairs) => InputKind::Pairs(Arc::clone(pairs)),
            },
            returns: Arc::clone(&self.returns),
        }
    }
}

/// A thread to start once the whole run is set up.
pub(crate) type Body<'a> = Box<dyn FnOnce() + Send + 'a>;

/// The body of a worker the calling thread may run, given what to do after each of its batches
/// (`between`, which says how long it took).
pub(crate) type CallerBody<'a> = Box<dyn FnOnce(&mut dyn FnMut() -> Duration) + Send + 'a>;

/// Launches the chain from `Downstream` back to the source.
pub(crate) type Launcher<'a, E, T> =
    Box<dyn FnOnce(&mut Launch<'a, E>, Downstream<'a, E, T>) + Send + 'a>;

/// What launching a run sets up.
pub(crate) struct Launch<'a, E> {
    pub(crate) control: Arc<Control<'a, E>>,
    /// Every row, in chain order.
    pub(crate) meters: Vec<Arc<Meter<'a>>>,
    /// The threads to start, with their names.
    pub(crate) threads: Vec<(String, Body<'a>)>,
    /// The first worker of the segment whose results the calling thread takes in: the
    /// calling thread may run it, taking results in between its batches.
    pub(crate) caller: Option<CallerBody<'a>>,
    /// Whether the first segment's workers read the source themselves.
    pub(crate) source_read: bool,
    /// Run after the threads end: results a window still holds, and items left in buffers,
    /// go to their row's returns.
    pub(crate) finishers: Vec<Box<dyn FnOnce() + Send + 'a>>,
    /// Run after the finishers: what each stage after the first hands back, with its row.
    #[expect(clippy::type_complexity, reason = "a list of boxed closures")]
    pub(crate) drainers: Vec<(
        Arc<Meter<'a>>,
        Box<dyn FnOnce() -> StageLeftovers + Send + 'a>,
    )>,
    /// Whether the chain's stages have more workers than the machine has cores: then
    /// compatible neighbours fuse.
    pub(crate) crowded: bool,
    /// Whether someone watches the run as it goes (a progress hook or a stream's reader):
    /// then workers publish their figures after every batch.
    pub(crate) live: bool,
}

impl<'a, E> Launch<'a, E> {
    pub(crate) fn spawn(&mut self, name: String, body: impl FnOnce() + Send + 'a) {
        self.threads.push((name, Box::new(body)));
    }
}
