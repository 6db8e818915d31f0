//! The engine runner: the pipeline's jobs (identity, light, heavy and skewed work, a three-stage job, sources without a size hint, `BufRead::lines`) through `Pipeline::process` and chains of stages, next to a plain loop, rayon and a hand-written crossbeam-channel pipeline, in one table of medians and ratios to the loop.
//!
//! Run with `cargo bench -p pc-benches --bench engine`. Environment: `PC_REPS` repetitions
//! (default 5), `PC_MS` milliseconds per measurement (default 300), `PC_ONLY` a substring of
//! the row names to run, `PC_ITEMS` the items of the identity and light rows (default
//! 10,000,000). Within a repetition the implementations of a row run one after the
//! other in an order that rotates, and each ratio is taken against the base of the same
//! repetition (the loop; for the rows of sources without a size hint, the same items from a
//! `Vec` or with a size hint). Every run's output is checked against the loop's after the clock
//! stops: count and sums, and for ordered runs a sum weighted by position.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[path = "runner.rs"]
mod runner;

use std::io::{BufRead, Cursor};
use std::iter;
use std::thread;
use std::time::{Duration, Instant};

use pc_benches::jobs::{self, Totals, heavy, light, lines, parse, skewed, transform};
use pc_pipeline::{Pipeline, Stage};
use rayon::prelude::*;
use runner::{Run, Settings, medians};

/// What a run gave: its count, sums, and a sum weighted by position (order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Check {
    count: usize,
    xor: u64,
    sum: u64,
    weighted: u64,
}

impl Check {
    fn of(out: &[u64]) -> Self {
        let mut check = Self {
            count: out.len(),
            xor: 0,
            sum: 0,
            weighted: 0,
        };
        for (i, &v) in out.iter().enumerate() {
            check.xor ^= v;
            check.sum = check.sum.wrapping_add(v);
            check.weighted = check.weighted.wrapping_add(v.wrapping_mul(i as u64 + 1));
        }
        check
    }

    fn unordered(self) -> Self {
        Self {
            weighted: 0,
            ..self
        }
    }
}

/// A map job over `0..n`: every implementation's run, checked against the loop's output.
fn map_row(
    work: fn(u64) -> u64,
    n: usize,
    workers: usize,
    capacity: usize,
    ordered: bool,
) -> Vec<(&'static str, Run)> {
    let expected = Check::of(&(0..n as u64).map(work).collect::<Vec<_>>());
    let expected = if ordered {
        expected
    } else {
        expected.unordered()
    };
    let checked = move |out: Vec<u64>, elapsed: Duration| {
        let check = Check::of(&out);
        let check = if ordered { check } else { check.unordered() };
        assert_eq!(check, expected, "a run gave the wrong output");
        Some(elapsed)
    };
    let mut runs: Vec<(&'static str, Run)> = vec![
        (
            "loop",
            Box::new(move |_, _| {
                let started = Instant::now();
                let out: Vec<u64> = (0..n as u64).map(work).collect();
                checked(out, started.elapsed())
            }),
        ),
        (
            "rayon",
            Box::new(move |_, _| {
                let started = Instant::now();
                let out: Vec<u64> = (0..n as u64).into_par_iter().map(work).collect();
                checked(out, started.elapsed())
            }),
        ),
        (
            "process",
            Box::new(move |_, _| {
                let mut pipeline = Pipeline::builder()
                    .capacity(capacity)
                    .consumers(workers)
                    .ordered(ordered)
                    .build()
                    .expect("a valid configuration");
                let started = Instant::now();
                let out = pipeline.process(0..n as u64, work).expect("cannot fail");
                checked(out, started.elapsed())
            }),
        ),
        (
            "chain",
            Box::new(move |_, _| {
                let stage = Stage::new("map")
                    .workers(workers)
                    .capacity(capacity)
                    .ordered(ordered);
                let started = Instant::now();
                let out = Pipeline::source(0..n as u64)
                    .stage(stage, work)
                    .collect()
                    .expect("cannot fail")
                    .results;
                checked(out, started.elapsed())
            }),
        ),
    ];
    if !ordered {
        runs.push((
            "crossbeam",
            Box::new(move |_, _| {
                let started = Instant::now();
                let out = crossbeam(capacity, workers, n, work);
                checked(out, started.elapsed())
            }),
        ));
    }
    runs
}

/// The map job written by hand over crossbeam-channel: one thread sends `0..n`, `workers`
/// threads receive, work and collect, and the collections are concatenated.
fn crossbeam(capacity: usize, workers: usize, n: usize, work: fn(u64) -> u64) -> Vec<u64> {
    let (tx, rx) = crossbeam_channel::bounded(capacity);
    thread::scope(|s| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || rx.iter().map(work).collect::<Vec<u64>>())
            })
            .collect();
        s.spawn(move || (0..n as u64).for_each(|x| tx.send(x).expect("receivers alive")));
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect()
    })
}

/// Checks a three-stage run's totals against the loop's over `lines`, after the clock stopped,
/// and passes its time on.
fn totals_check(lines: &[String]) -> impl Fn(Totals, Duration) -> Option<Duration> + Copy {
    let expected: &'static Totals = Box::leak(Box::new(jobs::three_stages_loop(lines)));
    move |totals, elapsed| {
        assert_eq!(&totals, expected, "a run gave the wrong totals");
        Some(elapsed)
    }
}

/// The three-stage job over `lines`: parse and transform on `workers` workers each, the
/// totals aggregated as the scores come.
fn three_stage_row(lines: &'static [String], workers: usize) -> Vec<(&'static str, Run)> {
    let checked = totals_check(lines);
    vec![
        (
            "loop",
            Box::new(move |_, _| {
                let started = Instant::now();
                let totals = jobs::three_stages_loop(lines);
                checked(totals, started.elapsed())
            }),
        ),
        (
            "rayon",
            Box::new(move |_, _| {
                let started = Instant::now();
                let totals = lines
                    .par_iter()
                    .map(|line| parse(line).expect("well-formed"))
                    .map(transform)
                    .fold(Totals::default, |mut totals, score| {
                        totals.add(score);
                        totals
                    })
                    .reduce(Totals::default, Totals::merge);
                checked(totals, started.elapsed())
            }),
        ),
        (
            "process",
            Box::new(move |_, _| {
                let mut pipeline = Pipeline::builder()
                    .capacity(1024)
                    .consumers(workers)
                    .build()
                    .expect("a valid configuration");
                let started = Instant::now();
                let scores = pipeline
                    .process(lines, |line| transform(parse(line).expect("well-formed")))
                    .expect("cannot fail");
                let mut totals = Totals::default();
                scores.into_iter().for_each(|score| totals.add(score));
                checked(totals, started.elapsed())
            }),
        ),
        (
            "chain",
            Box::new(move |_, _| {
                let started = Instant::now();
                let totals = chain_three_stages(lines.iter(), workers);
                checked(totals, started.elapsed())
            }),
        ),
    ]
}

/// The three stages as a chain reading `source`: parse and transform on `workers` workers
/// each, aggregated in the sink.
fn chain_three_stages<'a, L: AsRef<str> + Send + 'a>(
    source: impl Iterator<Item = L> + Send + 'a,
    workers: usize,
) -> Totals {
    let mut totals = Totals::default();
    two_stages(source, workers)
        .for_each(|score| totals.add(score))
        .expect("cannot fail");
    totals
}

/// The three stages with the scores collected first and aggregated after the run.
fn collected_three_stages<'a, L: AsRef<str> + Send + 'a>(
    source: impl Iterator<Item = L> + Send + 'a,
    workers: usize,
) -> Totals {
    let mut totals = Totals::default();
    let collected = two_stages(source, workers).collect().expect("cannot fail");
    collected
        .results
        .into_iter()
        .for_each(|score| totals.add(score));
    totals
}

/// Parse and transform as a chain reading `source`, on `workers` workers each.
fn two_stages<'a, L: AsRef<str> + Send + 'a>(
    source: impl Iterator<Item = L> + Send + 'a,
    workers: usize,
) -> pc_pipeline::Chain<'a, L, (usize, u64)> {
    let stage = |name: &str| Stage::new(name).workers(workers).capacity(1024);
    Pipeline::source(source)
        .stage(stage("parse"), |line: L| {
            parse(line.as_ref()).expect("well-formed")
        })
        .stage(stage("transform"), transform)
}

/// The lines of `text`, read as a `BufRead` reads them: a `String` allocated per line.
fn text_lines(text: &str) -> impl Iterator<Item = String> + Send + '_ {
    Cursor::new(text)
        .lines()
        .map(|line| line.expect("in memory"))
}

/// An iterator that says exactly how many items are left: a source with a size hint, to
/// compare with the same source without one.
struct Hinted<I>(I, usize);

impl<I: Iterator> Iterator for Hinted<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.0.next()?;
        self.1 = self.1.saturating_sub(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.1, Some(self.1))
    }
}

/// A source fed by the run's own output: each of `items` numbers is sent by the sink once the
/// one before it came out; through a chain of two stages, and through the same two steps in a
/// thread that feeds a loop over a channel.
fn lock_step_row(items: usize, workers: usize) -> Vec<(&'static str, Run)> {
    let expected: u64 = (0..items as u64).map(|n| light(n) ^ 1).sum();
    vec![
        (
            "two threads, channels",
            Box::new(move |_, _| {
                let started = Instant::now();
                let (feed, source) = std::sync::mpsc::channel::<u64>();
                let (back, results) = std::sync::mpsc::channel::<u64>();
                let worker = thread::spawn(move || {
                    for n in source {
                        back.send(light(n) ^ 1).expect("the reader waits");
                    }
                });
                feed.send(0).expect("the worker waits");
                let mut sum = 0;
                for (seen, result) in results.iter().enumerate() {
                    sum += result;
                    if seen + 1 == items {
                        break;
                    }
                    feed.send(seen as u64 + 1).expect("the worker waits");
                }
                drop(feed);
                worker.join().expect("no panic");
                let elapsed = started.elapsed();
                assert_eq!(sum, expected);
                Some(elapsed)
            }),
        ),
        (
            "chain",
            Box::new(move |_, _| {
                let started = Instant::now();
                let (feed, source) = std::sync::mpsc::channel::<u64>();
                feed.send(0).expect("the source waits");
                let mut feed = Some(feed);
                let (mut seen, mut sum) = (0, 0);
                let stage = |name: &str| Stage::new(name).workers(workers);
                Pipeline::source(source)
                    .stage(stage("mix"), light)
                    .stage(stage("flip"), |x| x ^ 1)
                    .for_each(|result| {
                        sum += result;
                        seen += 1;
                        match &feed {
                            Some(sender) if seen < items => {
                                sender.send(seen as u64).expect("the source waits");
                            }
                            _ => feed = None,
                        }
                    })
                    .expect("cannot fail");
                let elapsed = started.elapsed();
                assert_eq!(sum, expected);
                Some(elapsed)
            }),
        ),
    ]
}

/// The three-stage job as a chain from a `Vec`, and from sources of the same items that
/// promise none ahead: an iterator made with `iter::from_fn` over the `Vec`, and a channel
/// receiver the `Vec`'s items were sent into before the clock starts, without and with a size
/// hint (what the receiver itself costs); run by `three_stages`.
fn no_size_hint_row(
    lines: &'static [String],
    workers: usize,
    three_stages: fn(Box<dyn Iterator<Item = &'static String> + Send>, usize) -> Totals,
) -> Vec<(&'static str, Run)> {
    let checked = totals_check(lines);
    vec![
        (
            "from a Vec",
            Box::new(move |_, _| {
                let started = Instant::now();
                let totals = three_stages(Box::new(lines.iter()), workers);
                checked(totals, started.elapsed())
            }),
        ),
        (
            "iter::from_fn",
            Box::new(move |_, _| {
                let started = Instant::now();
                let mut it = lines.iter();
                let totals = three_stages(Box::new(iter::from_fn(move || it.next())), workers);
                checked(totals, started.elapsed())
            }),
        ),
        (
            "a channel receiver",
            Box::new(move |_, _| {
                let receiver = filled_receiver(lines);
                let started = Instant::now();
                let totals = three_stages(Box::new(receiver.into_iter()), workers);
                checked(totals, started.elapsed())
            }),
        ),
        (
            "the receiver with a size hint",
            Box::new(move |_, _| {
                let receiver = filled_receiver(lines);
                let started = Instant::now();
                let source = Hinted(receiver.into_iter(), lines.len());
                let totals = three_stages(Box::new(source), workers);
                checked(totals, started.elapsed())
            }),
        ),
    ]
}

/// A channel receiver holding every item of `items`, its sender gone.
fn filled_receiver<T: Sync>(items: &[T]) -> std::sync::mpsc::Receiver<&T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    for item in items {
        sender.send(item).expect("the receiver is here");
    }
    receiver
}

/// The three-stage job over `BufRead::lines`, which makes a `String` of each line as it reads:
/// with a size hint (the base), without one, reading alone, and a loop over the lines. Reading
/// is the one step no worker can share, so reading alone bounds the chains.
fn buf_read_lines_row(lines: &'static [String], workers: usize) -> Vec<(&'static str, Run)> {
    let checked = totals_check(lines);
    let text: &'static str = Box::leak(lines.join("\n").into_boxed_str());
    vec![
        (
            "with a size hint",
            Box::new(move |_, _| {
                let started = Instant::now();
                let source = Hinted(text_lines(text), lines.len());
                let totals = chain_three_stages(source, workers);
                checked(totals, started.elapsed())
            }),
        ),
        (
            "without",
            Box::new(move |_, _| {
                let started = Instant::now();
                let totals = chain_three_stages(text_lines(text), workers);
                checked(totals, started.elapsed())
            }),
        ),
        (
            "reading alone",
            Box::new(move |_, _| {
                let started = Instant::now();
                let (mut count, mut bytes) = (0, 0);
                for line in text_lines(text) {
                    count += 1;
                    bytes += line.len();
                }
                let elapsed = started.elapsed();
                assert_eq!((count, bytes), (lines.len(), text.len() + 1 - lines.len()));
                Some(elapsed)
            }),
        ),
        (
            "loop",
            Box::new(move |_, _| {
                let started = Instant::now();
                let mut totals = Totals::default();
                for line in text_lines(text) {
                    totals.add(transform(parse(&line).expect("well-formed")));
                }
                checked(totals, started.elapsed())
            }),
        ),
    ]
}

fn main() {
    let settings = Settings::from_env();
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let workers = cores.max(2);
    let records: &'static [String] = Box::leak(lines(2_000_000).into_boxed_slice());
    let many = settings.items.unwrap_or(10_000_000);
    #[expect(clippy::type_complexity, reason = "rows of named runs")]
    let rows: Vec<(String, usize, Box<dyn Fn() -> Vec<(&'static str, Run)>>)> = vec![
        (
            format!("identity, {many} u64, capacity 1024, 1 worker"),
            many,
            Box::new(move || map_row(|x| x, many, 1, 1024, true)),
        ),
        (
            format!("light, {many} u64, {workers} workers, unordered"),
            many,
            Box::new(move || map_row(light, many, workers, 1024, false)),
        ),
        (
            format!("light, {many} u64, {workers} workers, ordered"),
            many,
            Box::new(move || map_row(light, many, workers, 1024, true)),
        ),
        (
            format!("heavy (20 us), 20k items, {workers} workers, ordered"),
            20_000,
            Box::new(move || map_row(heavy, 20_000, workers, 1024, true)),
        ),
        (
            format!("skewed (1% 100x), 200k items, {workers} workers, ordered"),
            200_000,
            Box::new(move || map_row(skewed, 200_000, workers, 1024, true)),
        ),
        (
            format!("three stages, 2M records, {workers} workers each"),
            records.len(),
            Box::new(move || three_stage_row(records, workers)),
        ),
        (
            format!("no size hint, 2M records, {workers} workers each"),
            records.len(),
            Box::new(move || no_size_hint_row(records, workers, chain_three_stages)),
        ),
        (
            format!("no size hint, collected, 2M records, {workers} workers each"),
            records.len(),
            Box::new(move || no_size_hint_row(records, workers, collected_three_stages)),
        ),
        (
            format!("BufRead::lines, 2M records, {workers} workers each"),
            records.len(),
            Box::new(move || buf_read_lines_row(records, workers)),
        ),
        (
            format!("lock-step source, 20k items, {workers} workers each"),
            20_000,
            Box::new(move || lock_step_row(20_000, workers)),
        ),
    ];
    println!("# M items/s (ratio to the row's first column), medians");
    for (name, items, make) in rows {
        if !name.contains(&settings.only) {
            continue;
        }
        let runs = make();
        let refs: Vec<&Run> = runs.iter().map(|(_, run)| run).collect();
        let results = medians(&refs, 0, 0, items, settings.reps, settings.budget);
        let cells: Vec<String> = runs
            .iter()
            .zip(results)
            .map(|((label, _), result)| match result {
                Some((speed, ratio)) => format!("{label} {speed:.2} ({ratio:.2}x)"),
                None => format!("{label} -"),
            })
            .collect();
        println!("{name}: {}", cells.join(" | "));
    }
}
