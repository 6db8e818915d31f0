//! A second consumer against one, and a second worker of a stage against one, by work per item and capacity, next to what the one-thread runs' reports advise: where another thread helps on this machine, and whether the reports say so.
//!
//! Run with `cargo bench -p pc-benches --bench consumers` (about 3.5 minutes). Environment, as
//! for the comparison runner: `PC_REPS` repetitions (default 5), `PC_MS` milliseconds per
//! measurement (default 300), `PC_ONLY` a substring of the row names (for example `stage` or
//! `1000 rounds`), `PC_ITEMS` items per run (default: about 20 ms of work).
//!
//! Each item's work is `rounds` steps of a linear congruential generator, kept from being
//! optimised away: 0 rounds is identity work. Two tables:
//! - `pipeline`: `Pipeline::process` with one producer and one or two consumers, unordered;
//!   the advice is the report's bottleneck naming the work with `more_workers_help`;
//! - `stage`: a source, one unordered stage of one or two workers, and a sink; the advice is
//!   the `RunReport`'s bottleneck naming the stage with `more_workers_help`.
//!
//! Every run checks the count and the sum of the results against the same work done on one
//! thread beforehand. Where threads outnumber cores, each batch taken can cost a switch
//! between threads, so another thread helps only when a batch holds enough work. The last
//! column counts the one-thread runs whose report advised another thread.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[path = "runner.rs"]
mod runner;

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use pc_benches::unordered_pipeline;
use pc_pipeline::{Pipeline, Stage};
use runner::{Run, Settings, medians};

const CAPACITIES: [usize; 5] = [4, 16, 64, 256, 1024];
const ROUNDS: [u64; 4] = [0, 100, 1_000, 10_000];

/// One item's work: `rounds` steps of a linear congruential generator from `x`.
fn work(x: u64, rounds: u64) -> u64 {
    let mut h = x;
    for _ in 0..rounds {
        h = black_box(
            h.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
    h
}

/// What is measured.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `Pipeline::process`: the threads are its consumers.
    Pipeline,
    /// A source, one stage and a sink: the threads are the stage's workers.
    Stage,
}

/// What one run did: how long it took, the results' count and sum, whether its report advised
/// one thread more, and the consumers' or the stage's busy time per item.
struct Outcome {
    elapsed: Duration,
    count: usize,
    sum: u64,
    advised: bool,
    busy_per_item: Duration,
}

/// One run of `0..n` through `shape` at `capacity` with `threads` consumers or workers.
fn run_once(shape: Shape, capacity: usize, threads: usize, n: usize, rounds: u64) -> Outcome {
    let started = Instant::now();
    match shape {
        Shape::Pipeline => {
            let mut pipeline = unordered_pipeline(capacity, threads);
            let out = pipeline
                .process(0..n as u64, |x| work(x, rounds))
                .expect("the work cannot fail");
            let elapsed = started.elapsed();
            let report = pipeline.stats().expect("the pipeline has run");
            let busy = report.stage("work").expect("the work's row").busy;
            Outcome {
                elapsed,
                count: out.len(),
                sum: out.iter().fold(0, |sum, &r| sum.wrapping_add(r)),
                advised: report
                    .bottleneck
                    .as_ref()
                    .is_some_and(|b| b.stage == "work" && b.more_workers_help),
                busy_per_item: busy / n.max(1) as u32,
            }
        }
        Shape::Stage => {
            let (mut count, mut sum) = (0, 0u64);
            let stage = Stage::new("work")
                .workers(threads)
                .capacity(capacity)
                .ordered(false);
            let finished = Pipeline::source(0..n as u64)
                .stage(stage, move |x| work(x, rounds))
                .for_each(|r| {
                    count += 1;
                    sum = sum.wrapping_add(r);
                })
                .expect("the work cannot fail");
            let elapsed = started.elapsed();
            let report = &finished.report;
            let busy = report.stage("work").expect("the stage's row").busy;
            Outcome {
                elapsed,
                count,
                sum,
                advised: report
                    .bottleneck
                    .as_ref()
                    .is_some_and(|b| b.stage == "work" && b.more_workers_help),
                busy_per_item: busy / n.max(1) as u32,
            }
        }
    }
}

/// What the one-thread runs of a row advised: runs that advised another thread, runs, and
/// their busy time per item, summed.
#[derive(Default)]
struct Advised {
    help: Cell<usize>,
    runs: Cell<usize>,
    busy_per_item: Cell<Duration>,
}

fn main() {
    let settings = Settings::from_env();
    println!("# M items/s (median), and the median ratio of 2 threads to 1");
    for (shape, thread) in [(Shape::Pipeline, "consumer"), (Shape::Stage, "worker")] {
        println!();
        println!(
            "| {shape:?} | work per item (one thread) | 1 {thread} | 2 {thread}s | 2 / 1 | busy time per item | advised another {thread} |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for rounds in ROUNDS {
            let items = settings
                .items
                .unwrap_or((20_000_000 / (rounds as usize + 4)).clamp(10_000, 5_000_000));
            // The expected sum, and what the work costs on one thread.
            let started = Instant::now();
            let expected = (0..items as u64).fold(0u64, |sum, x| sum.wrapping_add(work(x, rounds)));
            let per_item = started.elapsed() / items as u32;
            for capacity in CAPACITIES {
                let row = format!(
                    "{} {rounds} rounds/{capacity}",
                    format!("{shape:?}").to_lowercase()
                );
                if !row.contains(&settings.only) {
                    continue;
                }
                let advised = Rc::new(Advised::default());
                let run = |threads: usize| -> Run {
                    let advised = Rc::clone(&advised);
                    Box::new(move |capacity, n| {
                        let outcome = run_once(shape, capacity, threads, n, rounds);
                        assert_eq!((outcome.count, outcome.sum), (n, expected), "count and sum");
                        if threads == 1 {
                            advised
                                .help
                                .set(advised.help.get() + usize::from(outcome.advised));
                            advised.runs.set(advised.runs.get() + 1);
                            advised
                                .busy_per_item
                                .set(advised.busy_per_item.get() + outcome.busy_per_item);
                        }
                        Some(outcome.elapsed)
                    })
                };
                let (one, two) = (run(1), run(2));
                let m = medians(
                    &[&one, &two],
                    0,
                    capacity,
                    items,
                    settings.reps,
                    settings.budget,
                );
                let (Some((one, _)), Some((two, ratio))) = (m[0], m[1]) else {
                    unreachable!("both columns run every time")
                };
                let runs = advised.runs.get();
                println!(
                    "| {row} | {:.1?} | {one:.2} | {two:.2} | {ratio:.2}x | {:.1?} | {} of {runs} |",
                    per_item,
                    advised.busy_per_item.get() / runs.max(1) as u32,
                    advised.help.get(),
                );
            }
        }
    }
}
