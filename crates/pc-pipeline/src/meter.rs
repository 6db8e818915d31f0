//! Live figures of each row of a run (source, stages, sink): counters its threads add to once per batch or once at their end, read by reports and the progress hook.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::report::{RowKind, StageReport};

/// One row's counters. Threads add a whole batch's worth at a time, or what they did at their
/// end, so the counters cost a few atomic additions per batch, not per item.
///
/// A row counts its outputs before handing them on, with release additions, and reports read
/// rows from the sink back to the source with acquire loads: a report that sees an item
/// counted downstream also sees it counted upstream, so live figures never show a row handing
/// on more than it was given.
#[derive(Default)]
pub(crate) struct Counters {
    items_in: AtomicUsize,
    items_out: AtomicUsize,
    failed: AtomicUsize,
    busy: AtomicU64,
    cpu: AtomicU64,
    paced: AtomicU64,
    waited_input: AtomicU64,
    waited_output: AtomicU64,
    running: AtomicU64,
}

/// What a thread did for one row since it last added to the row's [`Counters`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) items_out: usize,
    pub(crate) failed: usize,
    pub(crate) busy: Duration,
    pub(crate) cpu: Duration,
    pub(crate) paced: Duration,
    pub(crate) waited_input: Duration,
    pub(crate) waited_output: Duration,
    pub(crate) running: Duration,
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Counters {
    /// Counts items handed to this row (by the row before it), whether or not they got in.
    #[inline]
    pub(crate) fn add_in(&self, items: usize) {
        self.items_in.fetch_add(items, Ordering::Release);
    }

    /// Adds a thread's tally and resets it.
    pub(crate) fn add(&self, tally: &mut Tally) {
        let t = std::mem::take(tally);
        let add = |counter: &AtomicU64, duration: Duration| {
            if !duration.is_zero() {
                counter.fetch_add(nanos(duration), Ordering::Release);
            }
        };
        self.items_out.fetch_add(t.items_out, Ordering::Release);
        self.failed.fetch_add(t.failed, Ordering::Release);
        add(&self.busy, t.busy);
        add(&self.cpu, t.cpu);
        add(&self.paced, t.paced);
        add(&self.waited_input, t.waited_input);
        add(&self.waited_output, t.waited_output);
        add(&self.running, t.running);
    }
}

/// How a row's input buffer is doing: current length and high-water mark.
pub(crate) type Probe<'a> = Box<dyn Fn() -> (usize, usize) + Send + Sync + 'a>;

/// A row of a run as reports see it.
pub(crate) struct Meter<'a> {
    pub(crate) name: String,
    pub(crate) kind: RowKind,
    pub(crate) workers: usize,
    pub(crate) capacity: Option<usize>,
    pub(crate) fused: bool,
    pub(crate) counters: Counters,
    pub(crate) probe: OnceLock<Probe<'a>>,
    /// The count of items the source gave, for the source's row (as its output) and the first
    /// row after it (as its input): the source publishes it as it reads.
    pulled_out: OnceLock<Arc<AtomicUsize>>,
    pulled_in: OnceLock<Arc<AtomicUsize>>,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(
        name: &str,
        kind: RowKind,
        workers: usize,
        capacity: Option<usize>,
        fused: bool,
    ) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            workers,
            capacity,
            fused,
            counters: Counters::default(),
            probe: OnceLock::new(),
            pulled_out: OnceLock::new(),
            pulled_in: OnceLock::new(),
        }
    }

    /// Counts the items the source gave as this row's output.
    pub(crate) fn count_out(&self, pulled: Arc<AtomicUsize>) {
        let _ = self.pulled_out.set(pulled);
    }

    /// Counts the items the source gave as this row's input.
    pub(crate) fn count_in(&self, pulled: Arc<AtomicUsize>) {
        let _ = self.pulled_in.set(pulled);
    }

    /// Lets reports read the length and high-water mark of the row's input buffer.
    pub(crate) fn watch(&self, probe: impl Fn() -> (usize, usize) + Send + Sync + 'a) {
        let _ = self.probe.set(Box::new(probe));
    }

    /// The row's figures now; `returned` is known only at the end of the run.
    pub(crate) fn snapshot(&self, elapsed: Duration, returned: usize) -> StageReport {
        let c = &self.counters;
        let load = |counter: &AtomicU64| Duration::from_nanos(counter.load(Ordering::Acquire));
        let (occupancy, high_water) = self.probe.get().map_or((0, 0), |probe| probe());
        let pulled = |count: &OnceLock<Arc<AtomicUsize>>| {
            count.get().map_or(0, |count| count.load(Ordering::Acquire))
        };
        let items_out = c.items_out.load(Ordering::Acquire) + pulled(&self.pulled_out);
        StageReport {
            name: self.name.clone(),
            kind: self.kind,
            workers: self.workers,
            capacity: self.capacity,
            fused: self.fused,
            items_in: c.items_in.load(Ordering::Acquire) + pulled(&self.pulled_in),
            items_out,
            failed: c.failed.load(Ordering::Acquire),
            returned,
            busy: load(&c.busy),
            cpu: load(&c.cpu),
            paced: load(&c.paced),
            waited_input: load(&c.waited_input),
            waited_output: load(&c.waited_output),
            running: load(&c.running),
            occupancy,
            high_water,
            throughput: items_out as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        }
    }
}
