//! A second consumer against one, by work per item and capacity, next to what a one-consumer run's statistics advise: where another consumer helps on this machine, and whether `PipelineStats::more_consumers_help` says so.
//!
//! Run with `cargo bench -p pc-benches --bench consumers`. Environment, as for the comparison
//! runner: `PC_REPS` repetitions (default 5), `PC_MS` milliseconds per measurement (default
//! 300), `PC_ONLY` a substring of the row names (for example `1000 rounds`), `PC_ITEMS` items
//! per run (default: about 20 ms of work).
//!
//! Each item's work is `rounds` steps of a linear congruential generator, kept from being
//! optimised away: 0 rounds is identity work. One producer, unordered output; every run checks
//! the count and the sum of the results against the same work done on one thread beforehand.
//! Where threads outnumber cores, each batch a consumer takes can cost a switch between
//! threads, so a second consumer helps only when a batch holds enough work (see
//! `PipelineStats::more_consumers_help`). The last column counts the one-consumer runs whose
//! statistics advised another consumer.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[path = "runner.rs"]
mod runner;

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use pc_benches::unordered_pipeline;
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

/// What one-consumer runs advised: runs that said another consumer would help, runs, and the
/// consumers' busy time per item summed over runs, in nanoseconds.
#[derive(Default)]
struct Advised {
    help: Cell<usize>,
    runs: Cell<usize>,
    busy_ns_per_item: Cell<f64>,
}

fn main() {
    let settings = Settings::from_env();
    println!("# 1 producer; M items/s (median), and the median ratio of 2 consumers to 1");
    println!();
    println!(
        "| row | work per item (one thread) | 1 consumer | 2 consumers | 2 / 1 | consumers' busy time per item | advised another consumer |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for rounds in ROUNDS {
        let items = settings
            .items
            .unwrap_or((20_000_000 / (rounds as usize + 4)).clamp(10_000, 5_000_000));
        // The expected sum, and what the work costs on one thread.
        let started = Instant::now();
        let expected = (0..items as u64).fold(0u64, |sum, x| sum.wrapping_add(work(x, rounds)));
        let per_item = started.elapsed().as_secs_f64() / items as f64;
        for capacity in CAPACITIES {
            let row = format!("{rounds} rounds/{capacity}");
            if !row.contains(&settings.only) {
                continue;
            }
            let advised = Rc::new(Advised::default());
            let run = |consumers: usize| -> Run {
                let advised = Rc::clone(&advised);
                let run = move |capacity, n: usize| {
                    let mut pipeline = unordered_pipeline(capacity, consumers);
                    let started = Instant::now();
                    let out = pipeline
                        .process(0..n as u64, |x| work(x, rounds))
                        .expect("the work cannot fail");
                    let elapsed = started.elapsed();
                    let sum = out.iter().fold(0u64, |sum, &r| sum.wrapping_add(r));
                    assert_eq!((out.len(), sum), (n, expected), "count and sum");
                    let stats = pipeline.stats().expect("the pipeline has run");
                    if consumers == 1 {
                        let busy = stats.consumers[0].busy.as_nanos() as f64 / n as f64;
                        advised
                            .help
                            .set(advised.help.get() + usize::from(stats.more_consumers_help));
                        advised.runs.set(advised.runs.get() + 1);
                        advised
                            .busy_ns_per_item
                            .set(advised.busy_ns_per_item.get() + busy);
                    }
                    Some(elapsed)
                };
                Box::new(run)
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
                "| {row} | {} | {one:.2} | {two:.2} | {ratio:.2}x | {} | {} of {runs} |",
                Nanos(per_item * 1e9),
                Nanos(advised.busy_ns_per_item.get() / runs as f64),
                advised.help.get(),
            );
        }
    }
}

/// A time in nanoseconds, printed in ns or µs.
struct Nanos(f64);

impl std::fmt::Display for Nanos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 >= 1_000.0 {
            write!(f, "{:.1} µs", self.0 / 1e3)
        } else {
            write!(f, "{:.0} ns", self.0)
        }
    }
}
