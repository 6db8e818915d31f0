//! Live figures of each row of a staged run (source, stages, sink): counters its threads add to once per batch, read by reports and the progress hook.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::report::{RowKind, StageReport};

/// One row's counters. Threads add a whole batch's worth at a time, so the counters cost a few
/// atomic additions per batch, not per item.
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
    waited_input: AtomicU64,
    waited_output: AtomicU64,
}

/// What a thread did since it last added to its row's [`Counters`].
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) items_out: usize,
    pub(crate) failed: usize,
    pub(crate) busy: Duration,
    pub(crate) waited_input: Duration,
    pub(crate) waited_output: Duration,
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
        let tally = std::mem::take(tally);
        self.items_out.fetch_add(tally.items_out, Ordering::Release);
        self.failed.fetch_add(tally.failed, Ordering::Release);
        self.busy.fetch_add(nanos(tally.busy), Ordering::Release);
        self.waited_input
            .fetch_add(nanos(tally.waited_input), Ordering::Release);
        self.waited_output
            .fetch_add(nanos(tally.waited_output), Ordering::Release);
    }
}

/// How a row's input buffer is doing: current length and high-water mark.
pub(crate) type Probe = Box<dyn Fn() -> (usize, usize) + Send + Sync>;

/// A row of a staged run as reports see it.
pub(crate) struct Meter {
    pub(crate) name: String,
    pub(crate) kind: RowKind,
    pub(crate) workers: usize,
    pub(crate) capacity: Option<usize>,
    pub(crate) counters: Counters,
    pub(crate) probe: Option<Probe>,
}

impl Meter {
    pub(crate) fn new(name: &str, kind: RowKind, workers: usize, capacity: Option<usize>) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            workers,
            capacity,
            counters: Counters::default(),
            probe: None,
        }
    }

    /// The row's figures now; `returned` is known only at the end of the run.
    pub(crate) fn snapshot(&self, elapsed: Duration, returned: usize) -> StageReport {
        let c = &self.counters;
        let load = |counter: &AtomicU64| Duration::from_nanos(counter.load(Ordering::Acquire));
        let (occupancy, high_water) = self.probe.as_ref().map_or((0, 0), |probe| probe());
        let items_out = c.items_out.load(Ordering::Acquire);
        StageReport {
            name: self.name.clone(),
            kind: self.kind,
            workers: self.workers,
            capacity: self.capacity,
            items_in: c.items_in.load(Ordering::Acquire),
            items_out,
            failed: c.failed.load(Ordering::Acquire),
            returned,
            busy: load(&c.busy),
            waited_input: load(&c.waited_input),
            waited_output: load(&c.waited_output),
            occupancy,
            high_water,
            throughput: items_out as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        }
    }
}
