//! The edges a run must hold: a stream ended early in every shape, huge capacities, sources without a size hint and sources fed by the run's own output, a chain without stages, sinks that fail, names, the failure callback and fused stages.

use std::iter;
use std::sync::mpsc;
use std::thread;

use pc_pipeline::{Cause, ConfigError, FailurePolicy, Pipeline, RunReport, Stage};

/// Every row's books balance, and each row hands the next exactly what the next took in.
fn check_rows(report: &RunReport) {
    for row in &report.stages {
        assert_eq!(
            row.items_in,
            row.items_out + row.failed + row.returned,
            "{report}"
        );
    }
    for pair in report.stages.windows(2) {
        assert_eq!(pair[0].items_out, pair[1].items_in, "{report}");
    }
}

/// How a reader leaves a stream before its end.
#[derive(Debug, Clone, Copy)]
enum Leave {
    Drop,
    Finish,
    CancelThenFinish,
}

#[test]
fn a_stream_ended_early_returns_whatever_the_stages() {
    for leave in [Leave::Drop, Leave::Finish, Leave::CancelThenFinish] {
        for ordered in [true, false] {
            for workers in [1, 2, 3] {
                // Read nothing (the output fills up) or one result (it has room).
                for read in [0, 1] {
                    let stage = |name: &str| {
                        Stage::new(name)
                            .workers(workers)
                            .capacity(4)
                            .ordered(ordered)
                            .fuse(false)
                    };
                    let chain = Pipeline::source(0u64..)
                        .stage(stage("a"), |n| n + 1)
                        .stage(stage("b"), |n| n * 2)
                        .capacity(2);
                    let mut stream = chain.stream().unwrap();
                    if read == 1 {
                        assert!(stream.next().is_some());
                    }
                    // The test hangs here if a thread is left blocked.
                    match leave {
                        Leave::Drop => drop(stream),
                        Leave::Finish => {
                            let finished = stream.finish().unwrap();
                            assert!(finished.cancelled);
                            check_rows(&finished.report);
                        }
                        Leave::CancelThenFinish => {
                            stream.cancel_handle().cancel();
                            let finished = stream.finish().unwrap();
                            assert!(finished.cancelled);
                            check_rows(&finished.report);
                            let report = &finished.report;
                            let handed_back = finished.unprocessed.len();
                            assert_eq!(report.produced(), report.delivered() + handed_back);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn huge_capacities_run_without_allocating_them() {
    for capacity in [usize::MAX, 1 << 32, 1 << 40] {
        for workers in [1, 3] {
            let stage = |name: &str| Stage::new(name).workers(workers).capacity(capacity);
            let collected = Pipeline::source(0..10_000u64)
                .stage(stage("a"), |n| n + 1)
                .stage(stage("b").fuse(false), |n| n * 2)
                .collect()
                .unwrap();
            assert!(
                collected
                    .results
                    .iter()
                    .copied()
                    .eq((1..=10_000).map(|n| n * 2))
            );
            let sum: u64 = Pipeline::source(0..10_000u64)
                .stage(stage("a"), |n| n + 1)
                .capacity(capacity)
                .stream()
                .unwrap()
                .sum();
            assert_eq!(sum, (1..=10_000).sum());
        }
    }
}

/// Items from `0..n` behind a size hint that promises `usize::MAX` of them.
struct Overpromising(std::ops::Range<u64>);

impl Iterator for Overpromising {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[test]
fn a_source_promising_more_than_memory_holds_is_collected_in_full() {
    for workers in [1, 2] {
        let stage = Stage::new("double").workers(workers);
        let collected = Pipeline::source(Overpromising(0..10_000))
            .stage(stage, |n| n * 2)
            .collect()
            .unwrap();
        assert!(collected.results.into_iter().eq((0..10_000).map(|n| n * 2)));
        let mut pipeline = Pipeline::builder().consumers(workers).build().unwrap();
        let out = pipeline
            .process(Overpromising(0..10_000), |n| n + 1)
            .unwrap();
        assert_eq!(out.iter().sum::<u64>(), (1..=10_000).sum());
    }
}

#[test]
fn sources_without_a_size_hint_deliver_everything() {
    let lines: String = (0..5_000).map(|n| format!("{n}\n")).collect();
    for workers in [1, 2] {
        let mut it = 0..20_000u64;
        let from_fn = iter::from_fn(move || it.next());
        assert_eq!(from_fn.size_hint().0, 0);
        let collected = Pipeline::source(from_fn)
            .stage(Stage::new("double").workers(workers), |n| n * 2)
            .collect()
            .unwrap();
        assert!(
            collected
                .results
                .iter()
                .copied()
                .eq((0..20_000).map(|n| n * 2))
        );
        check_rows(&collected.report);
        let mut total = 0;
        Pipeline::source(std::io::BufRead::lines(lines.as_bytes()))
            .try_stage(Stage::new("parse").workers(workers), |line| {
                line.map_err(|e| e.to_string())?
                    .parse::<u64>()
                    .map_err(|e| e.to_string())
            })
            .for_each(|n| total += n)
            .unwrap();
        assert_eq!(total, (0..5_000).sum());
    }
}

/// A source fed by the run's own output: each item is sent only once the result of the one
/// before it came out. Reading ahead would wait forever.
#[test]
fn a_source_fed_by_the_run_cannot_deadlock() {
    for workers in [1, 2, 3] {
        for ordered in [true, false] {
            let (feed, source) = mpsc::channel::<u64>();
            feed.send(0).unwrap();
            let mut feed = Some(feed);
            let mut seen = Vec::new();
            let finished = Pipeline::source(source)
                .stage(Stage::new("a").workers(workers).ordered(ordered), |n| n + 1)
                .stage(Stage::new("b").workers(workers).ordered(ordered), |n| {
                    n * 10
                })
                .for_each(|result| {
                    seen.push(result);
                    let next = seen.len() as u64;
                    if next < 200 {
                        feed.as_ref().unwrap().send(next).unwrap();
                    } else {
                        // The last one: the source ends.
                        feed = None;
                    }
                })
                .unwrap();
            assert_eq!(seen, (0..200u64).map(|n| (n + 1) * 10).collect::<Vec<_>>());
            check_rows(&finished.report);
        }
    }
}

/// A collected run whose source is fed by its own work: the calling thread runs one of the
/// workers, and must never wait on the source while another worker waits for it to take
/// results in.
#[test]
fn a_collected_run_fed_by_its_own_work_cannot_deadlock() {
    use std::sync::Mutex;
    for workers in [2, 3] {
        for ordered in [true, false] {
            let (feed, source) = mpsc::channel::<u64>();
            feed.send(0).unwrap();
            let feed = Mutex::new(Some(feed));
            let collected = Pipeline::source(source)
                .stage(
                    Stage::new("grow").workers(workers).ordered(ordered),
                    |n: u64| {
                        let mut feed = feed.lock().unwrap();
                        if n + 1 < 300 {
                            feed.as_ref().unwrap().send(n + 1).unwrap();
                        } else {
                            // The last one: the source ends.
                            *feed = None;
                        }
                        n * 3
                    },
                )
                .collect()
                .unwrap();
            let mut results = collected.results.clone();
            if !ordered {
                // The next item is sent before this one's result is out: they may overtake.
                results.sort_unstable();
            }
            assert_eq!(results, (0..300u64).map(|n| n * 3).collect::<Vec<_>>());
            check_rows(&collected.report);
        }
    }
}

/// Every index of a source, once: delivered, failed or handed back.
fn assert_once(produced: usize, indices: impl IntoIterator<Item = usize>) {
    let mut seen = vec![false; produced];
    for index in indices {
        assert!(index < produced, "item {index} was never produced");
        assert!(!seen[index], "item {index} accounted twice");
        seen[index] = true;
    }
    assert!(seen.into_iter().all(|seen| seen), "some item is missing");
}

#[test]
fn cancelling_a_source_without_a_size_hint_hands_back_every_item_once() {
    for workers in [2, 3] {
        for ordered in [true, false] {
            let mut next = 0usize;
            let endless = iter::from_fn(move || {
                next += 1;
                Some(next - 1)
            });
            let mut stream = Pipeline::source(endless)
                .stage(
                    Stage::new("keep")
                        .workers(workers)
                        .ordered(ordered)
                        .capacity(64),
                    |n| n,
                )
                .stream()
                .unwrap();
            let delivered: Vec<usize> = stream.by_ref().take(20_000).collect();
            stream.cancel_handle().cancel();
            let finished = stream.finish().unwrap();
            assert!(finished.cancelled);
            check_rows(&finished.report);
            if ordered {
                assert!(delivered.iter().copied().eq(0..delivered.len()));
            }
            // What the stream still held when it was cancelled comes back with the rest.
            let indices = delivered
                .iter()
                .copied()
                .chain(finished.unprocessed.indices());
            let produced = finished.report.produced();
            assert!(produced >= 20_000);
            assert_eq!(
                produced,
                finished.report.delivered() + finished.report.returned(),
                "{}",
                finished.report
            );
            assert_once(produced, indices.take(produced));
        }
    }
}

#[test]
fn a_source_without_a_size_hint_that_panics_is_named_with_its_index() {
    for workers in [2, 3] {
        let mut next = 0usize;
        let failing = iter::from_fn(move || {
            assert!(next != 7_000, "the source broke at {next}");
            next += 1;
            Some(next - 1)
        });
        let err = Pipeline::source(failing)
            .stage(Stage::new("keep").workers(workers).capacity(64), |n| n)
            .collect()
            .unwrap_err();
        let Cause::Panicked {
            stage,
            index,
            message,
            ..
        } = &err.cause
        else {
            panic!("unexpected cause {:?}", err.cause);
        };
        assert_eq!((stage.as_str(), *index), ("source", Some(7_000)));
        assert!(message.contains("the source broke at 7000"), "{message}");
        let report = &err.report;
        assert_eq!(report.produced(), 7_000);
        check_rows(report);
        let indices = err
            .completed
            .iter()
            .map(|(index, _)| *index)
            .chain(err.unprocessed.indices());
        assert_once(report.produced(), indices);
    }
}

#[test]
fn a_chain_without_stages_takes_a_capacity() {
    let mut stream = Pipeline::source(0..1_000u32).capacity(3).stream().unwrap();
    assert_eq!(stream.next(), Some(0));
    assert_eq!(stream.by_ref().count(), 999);
    let finished = stream.finish().unwrap();
    let sink = finished.report.stage("sink").unwrap();
    assert_eq!(sink.capacity, Some(3));
    assert!(sink.high_water <= 3);
    check_rows(&finished.report);
    let err = Pipeline::source(0..3).capacity(0).collect().unwrap_err();
    assert!(matches!(err.cause, Cause::Config(ref c) if c.error == ConfigError::ZeroCapacity));
}

#[test]
fn a_sink_that_fails_ends_the_run_and_hands_back_what_it_was_not_given() {
    for workers in [1, 3] {
        let mut given = Vec::new();
        let err = Pipeline::source(0..10_000usize)
            .stage(Stage::new("s").workers(workers), |n| n)
            .try_for_each(|n| {
                if n == 777 {
                    return Err(format!("cannot write {n}"));
                }
                given.push(n);
                Ok(())
            })
            .unwrap_err();
        let Cause::Sink {
            index,
            items,
            error,
        } = &err.cause
        else {
            panic!("unexpected cause {:?}", err.cause);
        };
        assert_eq!((*index, *items), (Some(777), 1));
        assert_eq!(error.to_string(), "cannot write 777");
        assert_eq!(given, (0..777).collect::<Vec<_>>());
        let report = &err.report;
        check_rows(report);
        assert_eq!(report.stage("sink").unwrap().failed, 1);
        let mut all: Vec<usize> = given.clone();
        all.push(777);
        all.extend(err.unprocessed.indices());
        all.sort_unstable();
        assert!(all.into_iter().eq(0..report.produced()));
    }
}

#[test]
fn names_are_unique_in_a_chain() {
    let same = Pipeline::source(0..3)
        .stage(Stage::new("x"), |n| n)
        .stage(Stage::new("x"), |n| n)
        .collect()
        .unwrap_err();
    assert!(
        matches!(same.cause, Cause::Config(ref c) if c.stage == "x" && c.error == ConfigError::DuplicateName)
    );
    for taken in ["source", "sink"] {
        let err = Pipeline::source(0..3)
            .stage(Stage::new(taken), |n| n)
            .stream()
            .unwrap_err();
        assert_eq!(err.error, ConfigError::DuplicateName);
    }
}

#[test]
fn the_failure_callback_lets_callbacks_count_every_item() {
    use std::sync::{Arc, Mutex};
    let done = Arc::new(Mutex::new((0, 0)));
    let (ok, failed) = (Arc::clone(&done), Arc::clone(&done));
    let collected = Pipeline::source(0..3_000u32)
        .try_stage(
            Stage::new("check")
                .workers(3)
                .on_failure(FailurePolicy::Continue)
                .on_consume(move |_: &u32, _, _| ok.lock().unwrap().0 += 1)
                .on_error(move |index, error: &String| {
                    assert_eq!(*error, format!("{index} is odd"));
                    failed.lock().unwrap().1 += 1;
                }),
            |n| {
                if n % 2 == 1 {
                    Err(format!("{n} is odd"))
                } else {
                    Ok(n)
                }
            },
        )
        .collect()
        .unwrap();
    assert_eq!(*done.lock().unwrap(), (1_500, 1_500));
    assert_eq!(collected.failures.len(), 1_500);
}

#[test]
fn fused_stages_keep_their_own_rows() {
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let workers = cores + 1; // more workers than cores: neighbours fuse
    let stage = |name: &str| Stage::new(name).workers(workers).capacity(64);
    let collected = Pipeline::source(0..50_000u64)
        .try_stage(stage("parse").on_failure(FailurePolicy::Continue), |n| {
            if n % 1_000 == 5 { Err("bad") } else { Ok(n) }
        })
        .stage(stage("square"), |n| n * n)
        .try_stage(stage("limit").on_failure(FailurePolicy::Continue), |n| {
            if n % 7 == 0 { Err("seven") } else { Ok(n) }
        })
        .collect()
        .unwrap();
    let report = &collected.report;
    check_rows(report);
    assert!(!report.stage("parse").unwrap().fused);
    assert!(report.stage("square").unwrap().fused && report.stage("limit").unwrap().fused);
    let expected: Vec<u64> = (0..50_000u64)
        .filter(|n| n % 1_000 != 5)
        .map(|n| n * n)
        .filter(|n| n % 7 != 0)
        .collect();
    assert_eq!(collected.results, expected);
    assert_eq!(report.stage("parse").unwrap().failed, 50);
    assert_eq!(
        report.stage("limit").unwrap().failed,
        50_000 - 50 - expected.len()
    );
    // With a stage that asks for threads of its own, nothing fuses into it.
    let collected = Pipeline::source(0..1_000u64)
        .stage(stage("a"), |n| n)
        .stage(stage("b").fuse(false), |n| n)
        .collect()
        .unwrap();
    assert!(!collected.report.stage("b").unwrap().fused);
    check_rows(&collected.report);
}
