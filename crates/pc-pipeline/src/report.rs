//! [`RunReport`]: what every row of a run did and where its threads' time went, the bottleneck row with advice, and an aligned table.

use std::fmt;
use std::time::Duration;

use crate::stage::batch_of;

/// What a row of a [`RunReport`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RowKind {
    /// The source iterator, read by producer threads or by the first stage's workers.
    Source,
    /// A stage with its workers.
    Stage,
    /// Whoever takes the results: the collector, the sink function, or the code iterating a
    /// [`Stream`](crate::Stream).
    Sink,
}

/// What one row of a run did and where its threads' time went.
///
/// For every row `items_in == items_out + failed + returned` once the run has ended, and each
/// row's `items_out` is the next row's `items_in`. The times are summed over the row's
/// threads; a stage fused with the one before it runs in that stage's workers, and its row
/// shows its own share of their time.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StageReport {
    /// The stage's name (`source` and `sink` for those rows).
    pub name: String,
    /// What the row stands for.
    pub kind: RowKind,
    /// Threads running the row (for the source: its producer threads, 0 when the first
    /// stage's workers read it).
    pub workers: usize,
    /// Capacity of the buffer in front of the row (none for the source and fused stages).
    pub capacity: Option<usize>,
    /// Whether the stage runs in the workers of the stage before it, with no buffer between.
    pub fused: bool,
    /// Items handed to the row: read from the source, or passed on by the row before.
    pub items_in: usize,
    /// Items the row handed on: its successful outputs (for the sink: results delivered).
    pub items_out: usize,
    /// Items whose work returned an error or panicked (for the sink: results it failed on).
    pub failed: usize,
    /// Items handed to the row but never processed (known at the end of the run).
    pub returned: usize,
    /// Time spent on the row's items: its work, its callbacks, and the buffer operations that
    /// did not wait.
    pub busy: Duration,
    /// The part of `busy` spent running on a core, from the operating system's per-thread CPU
    /// time; the rest was spent off-CPU (sleeping, waiting on I/O or a lock). Known when the
    /// row's threads end; live reports show what the ended threads used.
    pub cpu: Duration,
    /// Time spent in the per-item delay.
    pub paced: Duration,
    /// Time waited on an empty input.
    pub waited_input: Duration,
    /// Time waited on a full output (for an ordered stage, also on earlier items).
    pub waited_output: Duration,
    /// The running time of the row's threads: busy, paced, waiting, and for a fused stage the
    /// time its threads spent on the other stages they run.
    pub running: Duration,
    /// Items in the row's input buffer when the figures were taken.
    pub occupancy: usize,
    /// Most items its input buffer ever held.
    pub high_water: usize,
    /// Items handed on per second of the run so far.
    pub throughput: f64,
}

impl StageReport {
    /// The share (0 to 1) of its threads' running time the row spent on its items, paced
    /// delays included.
    pub fn busy_share(&self) -> f64 {
        share(self.busy + self.paced, self.running)
    }

    /// The share of the row's busy and paced time spent off a core: sleeping, waiting on I/O
    /// or a lock, or paced.
    pub fn off_cpu_share(&self) -> f64 {
        let working = self.busy + self.paced;
        share(working.saturating_sub(self.cpu.min(self.busy)), working)
    }

    /// The share of its threads' running time the row waited on an empty input.
    pub fn input_wait_share(&self) -> f64 {
        share(self.waited_input, self.running)
    }

    /// The share of its threads' running time the row waited on a full output.
    pub fn output_wait_share(&self) -> f64 {
        share(self.waited_output, self.running)
    }
}

fn share(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        (part.as_secs_f64() / whole.as_secs_f64()).min(1.0)
    }
}

/// The row that held the run up, and whether more workers there would help.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StageBottleneck {
    /// The row's name.
    pub stage: String,
    /// The share of its running time the row was busy or paced.
    pub busy_share: f64,
    /// The share of that time spent off-CPU.
    pub off_cpu_share: f64,
    /// Whether adding workers to it would make the run faster.
    pub more_workers_help: bool,
    /// Why, in a sentence.
    pub reason: String,
}

/// What a run did, row by row: the source, each stage, and the sink.
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
    /// The cores the process may run on.
    pub cores: usize,
    /// Whether the run was cancelled.
    pub cancelled: bool,
    /// Whether the run ended early, by an error or a cancel (final reports only).
    pub stopped: bool,
    /// The row whose threads were busy while the others waited on it.
    pub bottleneck: Option<StageBottleneck>,
}

impl RunReport {
    pub(crate) fn new(
        stages: Vec<StageReport>,
        elapsed: Duration,
        cores: usize,
        cancelled: bool,
    ) -> Self {
        let bottleneck = bottleneck(&stages, elapsed, cores);
        Self {
            stages,
            elapsed,
            cores,
            cancelled,
            stopped: cancelled,
            bottleneck,
        }
    }

    /// The report of a run refused before it started.
    pub(crate) fn empty() -> Self {
        Self::new(Vec::new(), Duration::ZERO, crate::stage::cores(), false)
    }

    /// The row named `name`.
    pub fn stage(&self, name: &str) -> Option<&StageReport> {
        self.stages.iter().find(|row| row.name == name)
    }

    /// Items the source gave (the Python design's `produced`).
    pub fn produced(&self) -> usize {
        self.stages.first().map_or(0, |row| row.items_out)
    }

    /// Items the first stage processed, successfully or not (the Python design's `consumed`).
    pub fn consumed(&self) -> usize {
        self.stages.get(1).map_or(0, |row| match row.kind {
            RowKind::Stage => row.items_out + row.failed,
            _ => row.items_out,
        })
    }

    /// Results delivered to the sink.
    pub fn delivered(&self) -> usize {
        self.stages.last().map_or(0, |row| row.items_out)
    }

    /// Items that failed, in every row.
    pub fn failed(&self) -> usize {
        self.stages.iter().map(|row| row.failed).sum()
    }

    /// Items and results handed back, in every row.
    pub fn returned(&self) -> usize {
        self.stages.iter().map(|row| row.returned).sum()
    }

    /// Whether every item the source gave was delivered: nothing failed, nothing was handed
    /// back, and the run neither failed nor was cancelled (the Python design's `success`).
    pub fn success(&self) -> bool {
        !self.stopped
            && self.failed() == 0
            && self.returned() == 0
            && self.delivered() == self.produced()
    }
}

/// A row is a bottleneck candidate when its threads were busy at least this share of their
/// time; below it the run was mostly waiting, and the busiest row is still named but more
/// workers are not advised.
const SATURATED: f64 = 0.5;

/// A stage whose busy and paced time is off-CPU at least this share is waiting on something
/// outside the machine's cores (sleep, I/O, a delay): more workers help it while cores are
/// idle, however many threads there already are. Below it the stage counts as CPU-bound.
const OFF_CPU: f64 = 0.75;

/// Below this much work in a worker's batch, another worker costs more than it adds where the
/// run's threads outnumber the cores: each batch then needs the OS to switch threads, at the
/// stage's input and again at its output. The value is BENCHMARKS.md's `MIN_BATCH_WORK`
/// decision.
const MIN_BATCH_WORK: Duration = Duration::from_micros(15);

fn bottleneck(rows: &[StageReport], elapsed: Duration, cores: usize) -> Option<StageBottleneck> {
    // Stages fused together share their workers: they are judged together, by the sum of
    // their shares, and the busiest of them is named.
    let mut groups: Vec<(f64, &StageReport, usize)> = Vec::new();
    for row in rows.iter().filter(|row| !row.running.is_zero()) {
        match groups.last_mut() {
            Some((sum, busiest, stages)) if row.fused => {
                *sum += row.busy_share();
                *stages += 1;
                if row.busy_share() > busiest.busy_share() {
                    *busiest = row;
                }
            }
            _ => groups.push((row.busy_share(), row, 1)),
        }
    }
    let (busy_share, row, stages) = groups.into_iter().max_by(|a, b| a.0.total_cmp(&b.0))?;
    let busy_share = busy_share.min(1.0);
    let off_cpu_share = row.off_cpu_share();
    let percent = (busy_share * 100.0).round();
    let off_percent = (off_cpu_share * 100.0).round();
    let cpu_used = rows.iter().map(|r| r.cpu.as_secs_f64()).sum::<f64>()
        / elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let idle = cpu_used < cores as f64 - 0.5;
    // With one worker more: the run's threads (fused rows share their stage's), and the work
    // in each worker's batch.
    let threads = rows
        .iter()
        .filter(|r| !r.fused)
        .map(|r| r.workers)
        .sum::<usize>()
        + 1;
    let batch = row
        .capacity
        .map_or(1, |capacity| batch_of(capacity, row.workers + 1));
    let per_item =
        (row.busy + row.paced).as_secs_f64() / (row.items_out + row.failed).max(1) as f64;
    let batch_work = Duration::from_secs_f64(per_item * batch as f64);
    let light_batches = threads > cores && batch_work < MIN_BATCH_WORK;
    let workers = row.workers;
    let fused = if stages > 1 {
        " (stages fused together share their workers: give the first of them more)"
    } else {
        ""
    };
    let (more_workers_help, reason) = match row.kind {
        _ if busy_share < SATURATED => (
            false,
            format!(
                "the busiest row, and still busy only {percent}% of its time: hand-offs between rows dominate; more work per item or larger capacities would help more than workers"
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
        RowKind::Stage if off_cpu_share >= OFF_CPU && idle => (
            true,
            format!(
                "its {workers} worker(s) were busy {percent}% of their time, {off_percent}% of it off-CPU (sleeping, paced or waiting on I/O), while cores were idle; more workers there would help{fused}"
            ),
        ),
        RowKind::Stage if off_cpu_share >= OFF_CPU => (
            false,
            format!(
                "its {workers} worker(s) were busy {percent}% of their time, {off_percent}% of it off-CPU, but the {cores} cores were in use; faster work there would help, more workers would not"
            ),
        ),
        RowKind::Stage if workers >= cores => (
            false,
            format!(
                "its {workers} worker(s) were busy {percent}% of their time on the cores, as many workers as the machine has cores ({cores}); faster work there would help, more workers would not"
            ),
        ),
        RowKind::Stage if !idle => (
            false,
            format!(
                "its workers were busy {percent}% of their time, but the {cores} cores were already in use; faster work there would help, more workers would not"
            ),
        ),
        RowKind::Stage if light_batches => (
            false,
            format!(
                "its {workers} worker(s) were busy {percent}% of their time, but with another worker a batch of {batch} item(s) would hold {:.1} µs of work, too little to pay for switching {threads} threads on {cores} cores; more work per item or a larger capacity would help more than workers",
                batch_work.as_secs_f64() * 1e6
            ),
        ),
        RowKind::Stage => (
            true,
            format!(
                "its {workers} worker(s) were busy {percent}% of their time while cores were idle; more workers there would help{fused}"
            ),
        ),
    };
    Some(StageBottleneck {
        stage: row.name.clone(),
        busy_share,
        off_cpu_share,
        more_workers_help,
        reason,
    })
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = [
            "stage", "workers", "capacity", "in", "out", "failed", "returned", "busy", "cpu",
            "wait in", "wait out", "buffer", "high", "items/s",
        ];
        let percent = |share: f64| format!("{:.0}%", share * 100.0);
        let rows: Vec<[String; 14]> = self
            .stages
            .iter()
            .map(|row| {
                [
                    row.name.clone(),
                    row.workers.to_string(),
                    match (row.fused, row.capacity) {
                        (true, _) => "fused".to_owned(),
                        (false, Some(capacity)) => capacity.to_string(),
                        (false, None) => "-".to_owned(),
                    },
                    row.items_in.to_string(),
                    row.items_out.to_string(),
                    row.failed.to_string(),
                    row.returned.to_string(),
                    percent(row.busy_share()),
                    percent(share(row.cpu.min(row.busy), row.running)),
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
        if self.cancelled {
            write!(f, " (cancelled)")?;
        }
        if let Some(b) = &self.bottleneck {
            write!(f, "\nbottleneck: {} ({})", b.stage, b.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: Duration = Duration::from_millis(10);

    /// A row that handled `items`, busy `busy_us` (of which `cpu_us` on a core) and waiting
    /// the rest of a 10 ms run.
    fn row(kind: RowKind, workers: usize, items: usize, busy_us: u64, cpu_us: u64) -> StageReport {
        let busy = Duration::from_micros(busy_us) * workers as u32;
        StageReport {
            name: format!("{kind:?}").to_lowercase(),
            kind,
            workers,
            capacity: Some(64),
            fused: false,
            items_in: items,
            items_out: items,
            failed: 0,
            returned: 0,
            busy,
            cpu: Duration::from_micros(cpu_us) * workers as u32,
            paced: Duration::ZERO,
            waited_input: RUN * workers as u32 - busy,
            waited_output: Duration::ZERO,
            running: RUN * workers as u32,
            occupancy: 0,
            high_water: 0,
            throughput: 0.0,
        }
    }

    /// A source, one stage of `workers` busy 8 ms of the 10 over `items` items (`cpu_us` of
    /// it on a core, per worker), and a sink.
    fn run(items: usize, workers: usize, cpu_us: u64) -> Vec<StageReport> {
        vec![
            row(RowKind::Source, 1, items, 100, 100),
            row(RowKind::Stage, workers, items, 8_000, cpu_us),
            row(RowKind::Sink, 1, items, 100, 100),
        ]
    }

    #[test]
    fn a_busy_stage_with_heavy_batches_and_idle_cores_wants_more_workers() {
        // 0.8 µs per item: a batch of 32 (64 shared by two workers) holds 25.6 µs.
        let b = bottleneck(&run(10_000, 1, 8_000), RUN, 4).unwrap();
        assert_eq!(b.stage, "stage");
        assert!(b.more_workers_help, "{}", b.reason);
    }

    #[test]
    fn light_batches_want_no_more_workers_where_threads_outnumber_cores() {
        // 80 ns per item: a batch of 32 holds 2.6 µs; 4 threads with another worker.
        let b = bottleneck(&run(100_000, 1, 8_000), RUN, 3).unwrap();
        assert!(!b.more_workers_help);
        assert!(
            b.reason.contains("a batch of 32 item(s) would hold 2.6 µs"),
            "{}",
            b.reason
        );
        // With a core for every thread, no switches.
        assert!(
            bottleneck(&run(100_000, 1, 8_000), RUN, 8)
                .unwrap()
                .more_workers_help
        );
    }

    #[test]
    fn off_cpu_workers_want_more_workers_while_cores_are_idle() {
        // Sixteen workers busy 8 ms each on 2 cores, 0.1 ms of it on a core: waiting on I/O.
        let rows = run(1_000, 16, 100);
        let b = bottleneck(&rows, RUN, 2).unwrap();
        assert!(b.more_workers_help, "{}", b.reason);
        assert!(b.reason.contains("off-CPU"), "{}", b.reason);
        assert!(b.off_cpu_share > 0.9);
    }

    #[test]
    fn cpu_bound_workers_on_every_core_want_no_more() {
        let rows = run(1_000, 2, 8_000);
        let b = bottleneck(&rows, RUN, 2).unwrap();
        assert!(!b.more_workers_help, "{}", b.reason);
        // Even when other programs take a share of the cores.
        let rows = run(1_000, 2, 4_000);
        assert!(!bottleneck(&rows, RUN, 2).unwrap().more_workers_help);
    }
}
