//! The comparison runner: every cell for every implementation in one process, repeated, printed as one table of median millions of items per second and median ratios to crossbeam-channel.
//!
//! Run with `cargo bench -p pc-benches --bench compare`. Environment: `PC_REPS` repetitions
//! per cell (default 5), `PC_MS` milliseconds per measurement (default 300), `PC_ONLY` a
//! substring of the cell names to run (for example `mpmc` or `pipeline`), `PC_ITEMS` items per
//! run of the queue cells (default: 1,000 times the capacity, 5,000 to 200,000).
//!
//! A run of the queue cells is short by default (about 6 ms at capacity 1024), and at that
//! capacity the run's length matters: with 2 to 8 threads on 2 cores, crossbeam-channel reads
//! faster over runs of a few milliseconds than over runs of a hundred or more, while pc-buffer
//! and kanal read slower (BENCHMARKS.md; at capacity 16 the ratios hardly
//! move). The default is kept: it is the view less favourable to pc-buffer.
//! `PC_ITEMS=4000000 PC_ONLY=/1024` shows the longer runs (with `PC_ONLY`: at capacity 1 and
//! 16 the slowest peers take seconds per run of that length).
//!
//! Each measurement runs a workload again and again for a fixed time (a fixed count would take
//! seconds at capacity 1 and microseconds at 1024). Within a repetition the implementations run
//! one right after the other, in an order that rotates, and each one's ratio to crossbeam is
//! taken against crossbeam's measurement of the same repetition: the noise of a shared machine
//! hits both sides of a ratio alike. The table shows medians over repetitions.
//!
//! Every run checks the count and sum of what arrived. Queue consumers tally as they take, so
//! that is part of the timed work; the pipeline rows (ours and the hand-written crossbeam pair)
//! check the output `Vec` after the clock stops, since the check is a pass over 80 MB that
//! neither `process` nor the pair performs. Before each table the runner measures how long a
//! write on one core takes to be seen on another, which bounds what a small buffer can do, and
//! what one thread pays for a lock and unlock against one atomic read-modify-write, which
//! bounds what a lock-based buffer can do against a lock-free channel with one thread.
//!
//! The pipeline rows also run the job, with one consumer, over the minimal buffers of
//! `pc_benches::handoff` (two lock-free rings, a locked slot, a locked queue and a queue whose
//! two sides swap allocations under its lock) between two
//! threads that never sleep: not peers (no closing, no parking, no callbacks, one producer and
//! one consumer only) but what the hardware allows a hand-off of that shape at that capacity,
//! so that `Pipeline::process` can be read against it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[path = "crossbeam_pair.rs"]
mod crossbeam_pair;
#[path = "peers.rs"]
mod peers;
#[path = "runner.rs"]
mod runner;

use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_pair::crossbeam_pair;
use pc_benches::{
    Api, Handoff, PcBuffer, PcHandles, Queue, StdSyncChannel, Workload, pipeline, spin_handoff,
};
use peers::{Crossbeam, Flume, Kanal};
use runner::{Run, Settings, median, medians};

const CAPACITIES: [usize; 3] = [1, 16, 1024];
/// What the Python original ran, in millions of items per second, one consumer, by capacity.
const PYTHON: [(usize, f64); 3] = [(1, 0.04), (16, 0.57), (1024, 0.83)];

/// One row of the table: a name and, per implementation, how to run it.
struct Cell {
    name: String,
    runs: Vec<(&'static str, Run)>,
    /// Items per run: a run must be long enough to dwarf thread start-up.
    items: usize,
    capacity: usize,
}

fn queue_cells(items: Option<usize>) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (api, prefix) in [(Api::PerItem, ""), (Api::Batch, "batch ")] {
        for (name, workload) in Workload::ALL {
            for capacity in CAPACITIES {
                cells.push(Cell {
                    name: format!("{prefix}{name}/{capacity}"),
                    runs: vec![
                        run::<PcBuffer>(workload, api),
                        run::<PcHandles>(workload, api),
                        run::<Crossbeam>(workload, api),
                        run::<Flume>(workload, api),
                        run::<Kanal>(workload, api),
                        run::<StdSyncChannel>(workload, api),
                    ],
                    items: items.unwrap_or((1_000 * capacity).clamp(5_000, 200_000)),
                    capacity,
                });
            }
        }
    }
    cells
}

/// `workload` through `api` on queue `Q`, named after `Q`.
/// The consumers count and sum what they take as they go, so their checks are part of the run.
fn run<Q: Queue>(workload: Workload, api: Api) -> (&'static str, Run) {
    let run = move |c, n| {
        let started = Instant::now();
        workload.run::<Q>(api, c, n)?;
        Some(started.elapsed())
    };
    (Q::NAME, Box::new(run))
}

fn pipeline_cells() -> Vec<Cell> {
    let cell = |capacity: usize, consumers: usize| {
        let runs: Vec<(&'static str, Run)> = vec![
            (
                "pc-pipeline",
                Box::new(move |c, n| Some(pipeline(c, consumers, n))),
            ),
            (
                "crossbeam",
                Box::new(move |c, n| Some(crossbeam_pair(c, consumers, n))),
            ),
            // Not peers: the hardware's bounds on a two-thread hand-off (see `handoff.rs`).
            bound("ring: stamped", Handoff::StampedRing, consumers),
            bound("ring: counted", Handoff::CountedRing, consumers),
            bound("lock: slot", Handoff::LockedSlot, consumers),
            bound("lock: queue", Handoff::LockedQueue, consumers),
            bound("lock: swap", Handoff::SwappedQueue, consumers),
        ];
        Cell {
            name: format!("pipeline {consumers}c/{capacity}"),
            runs,
            items: if capacity == 1 { 200_000 } else { 10_000_000 },
            capacity,
        }
    };
    CAPACITIES
        .iter()
        .map(|&capacity| cell(capacity, 1))
        .chain([cell(1024, 2)])
        .collect()
}

/// The pipeline's job over `handoff` between two spinning threads: one consumer only.
fn bound(name: &'static str, handoff: Handoff, consumers: usize) -> (&'static str, Run) {
    let run = move |c, n| {
        if consumers == 1 {
            spin_handoff(handoff, c, n)
        } else {
            None
        }
    };
    (name, Box::new(run))
}

/// Medians of one cell: per implementation, (M items/s, ratio to crossbeam).
fn run_cell(cell: &Cell, reps: usize, budget: Duration) -> Vec<Option<(f64, f64)>> {
    let base = cell
        .runs
        .iter()
        .position(|&(name, _)| name == "crossbeam")
        .expect("crossbeam is measured");
    let runs: Vec<&Run> = cell.runs.iter().map(|(_, run)| run).collect();
    medians(&runs, base, cell.capacity, cell.items, reps, budget)
}

/// How long a write on one core takes to be seen on another, in nanoseconds: two threads pass
/// a counter back and forth through one atomic, each waiting for its turn. Any buffer pays this
/// at least once each way per hand-over (the lock's line, then the items' lines), so it bounds
/// what a small buffer can carry between two threads on this machine.
fn cross_core_latency_ns() -> f64 {
    const ROUNDS: u64 = 200_000;
    let one = || {
        let turn = AtomicU64::new(0);
        let started = Instant::now();
        thread::scope(|s| {
            // Even turns are this thread's, odd turns the other's.
            let pass = |first: u64| {
                for mine in (first..2 * ROUNDS).step_by(2) {
                    while turn.load(Ordering::Acquire) != mine {
                        std::hint::spin_loop();
                    }
                    turn.store(mine + 1, Ordering::Release);
                }
            };
            s.spawn(move || pass(1));
            pass(0);
        });
        started.elapsed().as_nanos() as f64 / (2 * ROUNDS) as f64
    };
    median((0..5).map(|_| one()).collect()).expect("five measurements")
}

/// What one thread pays, in nanoseconds, for an uncontended `Mutex` lock and unlock, and for
/// one atomic read-modify-write. A lock and unlock is two read-modify-writes (a compare-and-swap,
/// then a swap that tells whether to wake a waiter), where a lock-free channel's put or get
/// costs one: with one thread, a buffer that locks once per put and once per get can reach
/// about the ratio of the two against crossbeam-channel, and less where it locks more often.
fn lock_costs_ns() -> (f64, f64) {
    const ROUNDS: u64 = 2_000_000;
    let per_round = |started: Instant| started.elapsed().as_nanos() as f64 / ROUNDS as f64;
    let lock = || {
        let mutex = Mutex::new(0u64);
        let started = Instant::now();
        for _ in 0..ROUNDS {
            *black_box(&mutex).lock().expect("not poisoned") += 1;
        }
        per_round(started)
    };
    let rmw = || {
        let atomic = AtomicU64::new(0);
        let started = Instant::now();
        for _ in 0..ROUNDS {
            black_box(&atomic).fetch_add(1, Ordering::AcqRel);
        }
        per_round(started)
    };
    let lock = median((0..5).map(|_| lock()).collect()).expect("five measurements");
    let rmw = median((0..5).map(|_| rmw()).collect()).expect("five measurements");
    (lock, rmw)
}

fn main() {
    let Settings {
        reps,
        budget,
        only,
        items,
    } = Settings::from_env();
    if let Some(items) = items {
        println!("# {items} items per run of the queue cells (PC_ITEMS)");
    }
    println!("# M items/s (median) and, in parentheses, the median ratio to crossbeam-channel");
    println!(
        "# cross-core hand-off: {:.0} ns one way (median of 5 ping-pongs over one atomic)",
        cross_core_latency_ns()
    );
    let (lock, rmw) = lock_costs_ns();
    println!(
        "# one thread: uncontended Mutex lock + unlock {lock:.1} ns, one atomic read-modify-write {rmw:.1} ns"
    );

    let mut pc_ratios = Vec::new();
    // The handles' rate over the bare buffer's, per queue cell, each against crossbeam's.
    let mut handle_ratios: Vec<f64> = Vec::new();
    for (title, cells) in [
        ("queues", queue_cells(items)),
        ("pipeline", pipeline_cells()),
    ] {
        let cells: Vec<Cell> = cells
            .into_iter()
            .filter(|c| c.name.contains(&only))
            .collect();
        if cells.is_empty() {
            continue;
        }
        println!();
        print!("| {title} |");
        for (name, _) in &cells[0].runs {
            print!(" {name} |");
        }
        if title == "pipeline" {
            print!(" x Python |");
        }
        println!();
        println!(
            "|{}",
            " --- |".repeat(cells[0].runs.len() + 1 + usize::from(title == "pipeline"))
        );
        for cell in &cells {
            let medians = run_cell(cell, reps, budget);
            print!("| {} |", cell.name);
            for m in &medians {
                match m {
                    Some((speed, ratio)) => print!(" {speed:.2} ({ratio:.2}x) |"),
                    None => print!(" - |"),
                }
            }
            if title == "pipeline" {
                let python = PYTHON
                    .iter()
                    .find(|&&(c, _)| c == cell.capacity)
                    .map(|&(_, p)| p);
                match (medians[0], python) {
                    (Some((speed, _)), Some(p)) => print!(" {:.0}x |", speed / p),
                    _ => print!(" - |"),
                }
            }
            println!();
            if title == "queues"
                && !cell.name.starts_with("batch")
                && let Some((_, ratio)) = medians[0]
            {
                pc_ratios.push((cell.name.clone(), ratio));
            }
            if title == "queues"
                && let (Some((_, bare)), Some((_, handles))) = (medians[0], medians[1])
            {
                handle_ratios.push(handles / bare);
            }
        }
    }
    if !pc_ratios.is_empty() {
        let geo =
            (pc_ratios.iter().map(|(_, r)| r.ln()).sum::<f64>() / pc_ratios.len() as f64).exp();
        let (worst, min) = pc_ratios
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("not empty");
        println!();
        println!(
            "pc-buffer per-item vs crossbeam: geometric mean {geo:.2}x over {} cells, lowest {min:.2}x ({worst})",
            pc_ratios.len()
        );
    }
    if !handle_ratios.is_empty() {
        let geo =
            (handle_ratios.iter().map(|r| r.ln()).sum::<f64>() / handle_ratios.len() as f64).exp();
        let min = handle_ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let max = handle_ratios.iter().copied().fold(0.0, f64::max);
        println!(
            "pc handles vs the bare pc-buffer: geometric mean {geo:.2}x over {} cells, {min:.2}x to {max:.2}x",
            handle_ratios.len()
        );
    }
}
