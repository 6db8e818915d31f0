//! [`RunReport`]: per-stage figures of a staged run, the bottleneck stage with advice, and an aligned table.

use std::fmt;
use std::time::Duration;

use super::stage::Stage;

/// What a row of a [`RunReport`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RowKind {
    /// The source iterator, read by one thread.
    Source,
    /// A stage with its workers.
    Stage,
    /// Whoever takes the results: the collector, the sink function, or the code iterating a
    /// [`Stream`](crate::Stream).
    Sink,
}

/// What one row of a staged run did and where its threads' time went.
///
/// For every row `items_in == items_out + failed + returned` once the run has ended, and each
/// row's `items_out` is the next row's `items_in`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StageReport {
    /// The stage's name (`source` and `sink` for those rows).
    pub name: String,
    /// What the row stands for.
    pub kind: RowKind,
    /// Threads running the row.
    pub workers: usize,
    /// Capacity of the buffer in front of the row (none for the source).
    pub capacity: Option<usize>,
    /// Items handed to the row: read from the source, or passed on by the row before.
    pub items_in: usize,
    /// Items the row handed on: its successful outputs (for the sink: results delivered).
    pub items_out: usize,
    /// Items whose work returned an error or panicked.
    pub failed: usize,
    /// Items handed to the row but never processed (known at the end of the run).
    pub returned: usize,
    /// Time the row's threads spent in user code (summed over its workers).
    pub busy: Duration,
    /// Time they waited on an empty input.
    pub waited_input: Duration,
    /// Time they waited on a full output (for an ordered stage, also on earlier items).
    pub waited_output: Duration,
    /// Items in the row's input buffer when the figures were taken.
    pub occupancy: usize,
    /// Most items its input buffer ever held.
    pub high_water: usize,
    /// Items handed on per second of the run so far.
    pub throughput: f64,
}

impl StageReport {
    /// The share (0 to 1) of its threads' running time the row spent busy.
    pub fn busy_share(&self) -> f64 {
        share(self.busy, self.running())
    }

    /// The share of its threads' running time the row waited on an empty input.
    pub fn input_wait_share(&self) -> f64 {
        share(self.waited_input, self.running())
    }

    /// The share of its threads' running time the row waited on a full output.
    pub fn output_wait_share(&self) -> f64 {
        share(self.waited_output, self.running())
    }

    /// Busy plus waiting, summed over the row's threads.
    pub fn running(&self) -> Duration {
        self.busy + self.waited_input + self.waited_output
    }
}

fn share(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        part.as_secs_f64() / whole.as_secs_f64()
    }
}

/// The row that held the run up, and whether more workers there would help.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StageBottleneck {
    /// The row's name.
    pub stage: String,
    /// The share of its running time the row was busy.
    pub busy_share: f64,
    /// Whether adding workers to it would make the run faster.
    pub more_workers_help: bool,
    /// Why, in a sentence.
    pub reason: String,
}

/// What a staged run did, row by row: the source, each stage, and the sink.
///
/// Given live to the progress hook and by [`Stream::report`](crate::Stream::report), and
/// final when the run ends. `Display` prints an aligned table with a line naming the
/// bottleneck.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunReport {
    /// The source, each stage in chain order, and the sink.
    pub stages: Vec<StageReport>,
    /// Time since the run started.
    pub elapsed: Duration,
    /// The row whose threads were busy while the others waited on it.
    pub bottleneck: Option<StageBottleneck>,
}

impl RunReport {
    pub(crate) fn new(stages: Vec<StageReport>, elapsed: Duration, cores: usize) -> Self {
        let bottleneck = bottleneck(&stages, elapsed, cores);
        Self {
            stages,
            elapsed,
            bottleneck,
        }
    }

    /// The row named `name`.
    pub fn stage(&self, name: &str) -> Option<&StageReport> {
        self.stages.iter().find(|row| row.name == name)
    }

    /// Items the source gave so far.
    pub fn source_items(&self) -> usize {
        self.stages.first().map_or(0, |row| row.items_out)
    }

    /// Results delivered so far.
    pub fn delivered(&self) -> usize {
        self.stages.last().map_or(0, |row| row.items_out)
    }
}

/// A row is a bottleneck candidate when its threads were busy at least this share of their
/// time; below it the run was mostly waiting, and the busiest row is still named but more
/// workers are not advised.
const SATURATED: f64 = 0.5;

/// Below this much work in a worker's batch, another worker costs more than it adds where the
/// run's threads outnumber the cores: each batch then needs the OS to switch threads, at the
/// stage's input and again at its output. The pipeline's own rule (`stats.rs`) takes 5 µs;
/// a stage pays for two buffers and the source's and sink's threads. Measured on the 2-core
/// machine of BENCHMARKS.md (eleventh session), a source, one stage and a sink, a second worker
/// against one, in three runs of a grid of work and capacities: 0.62x to 1.15x with up to 14 µs
/// of work per batch of the two (below 1.0x in 23 of 31 runs), 0.85x to 2.01x from 16 µs on
/// (1.14x or more in 30 of 36). A rule of thumb, as the pipeline's.
const MIN_BATCH_WORK: Duration = Duration::from_micros(15);

fn bottleneck(rows: &[StageReport], elapsed: Duration, cores: usize) -> Option<StageBottleneck> {
    let row = rows
        .iter()
        .filter(|row| !row.running().is_zero())
        .max_by(|a, b| a.busy_share().total_cmp(&b.busy_share()))?;
    let busy_share = row.busy_share();
    let percent = (busy_share * 100.0).round();
    // Busy time is counted as CPU time: work that sleeps or does I/O makes the machine look
    // busier than it is, so this errs towards not advising more workers.
    let cpu_used = rows.iter().map(|r| r.busy.as_secs_f64()).sum::<f64>()
        / elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let headroom = cpu_used < cores as f64 - 0.5;
    // With one worker more: the run's threads, and the work in each worker's batch.
    let threads = rows.iter().map(|r| r.workers).sum::<usize>() + 1;
    let batch = row
        .capacity
        .map_or(1, |capacity| Stage::batch_of(capacity, row.workers + 1));
    let per_item = row.busy.as_secs_f64() / (row.items_out + row.failed).max(1) as f64;
    let batch_work = Duration::from_secs_f64(per_item * batch as f64);
    let light_batches = threads > cores && batch_work < MIN_BATCH_WORK;
    let (more_workers_help, reason) = match row.kind {
        _ if busy_share < SATURATED => (
            false,
            format!(
                "the busiest row, and still busy only {percent}% of its time: hand-offs between stages dominate; more work per item or larger capacities would help more than workers"
            ),
        ),
        RowKind::Source => (
            false,
            format!(
                "the source was busy {percent}% of its time and the stages waited on it; a faster source would help, more workers would not"
            ),
        ),
        RowKind::Sink => (
            false,
            format!(
                "the sink was busy {percent}% of its time and the stages waited on it; a faster sink would help, more workers would not"
            ),
        ),
        RowKind::Stage if headroom && light_batches => (
            false,
            format!(
                "its {} worker(s) were busy {percent}% of their time, but with another worker a batch of {batch} item(s) would hold {:.1} µs of work, too little to pay for switching {threads} threads on {cores} cores; more work per item or a larger capacity would help more than workers",
                row.workers,
                batch_work.as_secs_f64() * 1e6
            ),
        ),
        RowKind::Stage if headroom => (
            true,
            format!(
                "its {} worker(s) were busy {percent}% of their time while cores were idle; more workers there would help",
                row.workers
            ),
        ),
        RowKind::Stage => (
            false,
            format!(
                "its workers were busy {percent}% of their time, but the {cores} cores were already in use; faster work there would help, more workers would not"
            ),
        ),
    };
    Some(StageBottleneck {
        stage: row.name.clone(),
        busy_share,
        more_workers_help,
        reason,
    })
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = [
            "stage", "workers", "capacity", "in", "out", "failed", "returned", "busy", "wait in",
            "wait out", "buffer", "high", "items/s",
        ];
        let percent = |share: f64| format!("{:.0}%", share * 100.0);
        let rows: Vec<[String; 13]> = self
            .stages
            .iter()
            .map(|row| {
                [
                    row.name.clone(),
                    row.workers.to_string(),
                    row.capacity
                        .map_or_else(|| "-".to_owned(), |c| c.to_string()),
                    row.items_in.to_string(),
                    row.items_out.to_string(),
                    row.failed.to_string(),
                    row.returned.to_string(),
                    percent(row.busy_share()),
                    percent(row.input_wait_share()),
                    percent(row.output_wait_share()),
                    row.occupancy.to_string(),
                    row.high_water.to_string(),
                    format!("{:.0}", row.throughput),
                ]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[&str]| -> fmt::Result {
            for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if column == 0 {
                    write!(f, "{cell:<width$}")?;
                } else {
                    write!(f, "  {cell:>width$}")?;
                }
            }
            writeln!(f)
        };
        line(f, &headers)?;
        for row in &rows {
            line(f, &row.each_ref().map(String::as_str))?;
        }
        write!(f, "elapsed: {:.3} s", self.elapsed.as_secs_f64())?;
        if let Some(b) = &self.bottleneck {
            write!(f, "\nbottleneck: {} ({})", b.stage, b.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row that handled `items`, busy `busy_us` and waiting the rest of a 10 ms run.
    fn row(kind: RowKind, capacity: Option<usize>, items: usize, busy_us: u64) -> StageReport {
        let busy = Duration::from_micros(busy_us);
        StageReport {
            name: format!("{kind:?}").to_lowercase(),
            kind,
            workers: 1,
            capacity,
            items_in: items,
            items_out: items,
            failed: 0,
            returned: 0,
            busy,
            waited_input: RUN - busy,
            waited_output: Duration::ZERO,
            occupancy: 0,
            high_water: 0,
            throughput: 0.0,
        }
    }

    const RUN: Duration = Duration::from_millis(10);

    /// A source, one stage of capacity 64 busy 8 ms of the 10 over `items` items, and a sink.
    fn run(items: usize) -> Vec<StageReport> {
        vec![
            row(RowKind::Source, None, items, 100),
            row(RowKind::Stage, Some(64), items, 8_000),
            row(RowKind::Sink, Some(256), items, 100),
        ]
    }

    #[test]
    fn a_busy_stage_with_heavy_batches_wants_more_workers() {
        // 0.8 µs per item: a batch of 32 (64 shared by two workers) holds 25.6 µs.
        let b = bottleneck(&run(10_000), RUN, 2).unwrap();
        assert_eq!(b.stage, "stage");
        assert!(b.more_workers_help, "{}", b.reason);
    }

    #[test]
    fn light_batches_want_no_more_workers_where_threads_outnumber_cores() {
        // 80 ns per item: a batch of 32 holds 2.6 µs; 4 threads with another worker.
        let b = bottleneck(&run(100_000), RUN, 2).unwrap();
        assert!(!b.more_workers_help);
        assert!(
            b.reason.contains("a batch of 32 item(s) would hold 2.6 µs"),
            "{}",
            b.reason
        );
        assert!(
            b.reason.contains("switching 4 threads on 2 cores"),
            "{}",
            b.reason
        );
        // With a core for every thread, no switches.
        assert!(bottleneck(&run(100_000), RUN, 4).unwrap().more_workers_help);
    }
}
