//! The Python design's test cases and more, through `Pipeline::process`: empty input, large input, tiny buffers, FIFO and ordered output with many consumers, callbacks, borrowing, the report, progress and cancellation.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pc_pipeline::{Cause, FailurePolicy, Pipeline, RowKind, RunReport};

/// The counts of a successful run of `n` items add up, row by row.
fn assert_complete(report: &RunReport, n: usize) {
    assert_eq!(
        (
            report.produced(),
            report.consumed(),
            report.delivered(),
            report.failed(),
            report.returned()
        ),
        (n, n, n, 0, 0),
        "{report}"
    );
    assert!(report.success());
    let kinds: Vec<RowKind> = report.stages.iter().map(|row| row.kind).collect();
    assert_eq!(kinds, [RowKind::Source, RowKind::Stage, RowKind::Sink]);
    let work = report.stage("work").unwrap();
    assert!(work.high_water <= work.capacity.unwrap());
    for row in &report.stages {
        assert_eq!(row.items_in, row.items_out + row.failed + row.returned);
        assert!(row.cpu <= row.busy + Duration::from_millis(1), "{report}");
    }
}

#[test]
fn empty_input_gives_empty_output_and_success() {
    let mut pipeline = Pipeline::builder().consumers(3).build().unwrap();
    let out: Vec<u8> = pipeline.run(Vec::<u8>::new()).unwrap();
    assert!(out.is_empty());
    assert_complete(pipeline.stats().unwrap(), 0);
}

#[test]
fn large_input_arrives_complete_and_in_order() {
    let mut pipeline = Pipeline::new();
    let out = pipeline.process(0..1_000_000_u64, |n| n * 3).unwrap();
    assert_eq!(out.len(), 1_000_000);
    assert!(out.iter().copied().eq((0..1_000_000).map(|n| n * 3)));
    assert_complete(pipeline.stats().unwrap(), 1_000_000);
}

#[test]
fn a_buffer_of_one_with_several_producers_and_consumers_loses_nothing() {
    let mut pipeline = Pipeline::builder()
        .capacity(1)
        .producers(2)
        .consumers(3)
        .ordered(false)
        .build()
        .unwrap();
    let out = pipeline.process(0..5_000_u32, |n| n).unwrap();
    assert_eq!(out.len(), 5_000);
    assert_eq!(out.iter().copied().collect::<HashSet<_>>().len(), 5_000);
    let report = pipeline.stats().unwrap();
    assert_complete(report, 5_000);
    assert_eq!(report.stage("work").unwrap().high_water, 1);
    assert_eq!(report.stage("source").unwrap().workers, 2);
}

#[test]
fn one_consumer_keeps_fifo_order_even_unordered() {
    for producers in [None, Some(3)] {
        let builder = Pipeline::builder().capacity(3).ordered(false);
        let builder = match producers {
            Some(n) => builder.producers(n),
            None => builder,
        };
        let out = builder.build().unwrap().run(0..10_000).unwrap();
        assert!(out.into_iter().eq(0..10_000));
    }
}

#[test]
fn ordered_output_with_many_consumers_and_uneven_work() {
    for capacity in [1, 2, 16, 256] {
        for producers in [None, Some(2)] {
            let builder = Pipeline::builder().capacity(capacity).consumers(4);
            let builder = match producers {
                Some(n) => builder.producers(n),
                None => builder,
            };
            let mut pipeline = builder.build().unwrap();
            // Every 7th item costs far more than the others, so consumers finish out of order.
            let out = pipeline
                .process(0..20_000_u64, |n| {
                    let rounds = if n % 7 == 0 { 2_000 } else { 1 };
                    (0..rounds).fold(n, |acc, i| std::hint::black_box(acc ^ i) ^ i)
                })
                .unwrap();
            assert!(out.into_iter().eq(0..20_000), "capacity {capacity}");
            assert_complete(pipeline.stats().unwrap(), 20_000);
        }
    }
}

#[test]
fn unordered_output_with_many_consumers_is_exactly_once() {
    let mut pipeline = Pipeline::builder()
        .capacity(64)
        .consumers(4)
        .ordered(false)
        .build()
        .unwrap();
    let mut out = pipeline.process(0..100_000_u32, |n| n.to_string()).unwrap();
    out.sort_by_key(|s| s.parse::<u32>().unwrap());
    assert!(out.iter().map(|s| s.parse::<u32>().unwrap()).eq(0..100_000));
    assert_complete(pipeline.stats().unwrap(), 100_000);
}

#[test]
fn data_and_work_may_borrow_from_the_caller() {
    let words: Vec<String> = ["alpha", "beta", "gamma"].map(String::from).to_vec();
    let suffix = String::from("!");
    let mut pipeline = Pipeline::builder().consumers(2).build().unwrap();
    let out = pipeline
        .process(&words, |w| format!("{w}{suffix}"))
        .unwrap();
    assert_eq!(out, ["alpha!", "beta!", "gamma!"]);
    assert_eq!(words.len(), 3, "the input is still the caller's");
}

#[test]
fn callbacks_see_every_item_with_running_counts_and_buffer_lengths() {
    let produced = Mutex::new(Vec::new());
    let consumed = Mutex::new(Vec::new());
    let mut pipeline = Pipeline::builder()
        .capacity(4)
        .producers(2)
        .consumers(3)
        .on_produce(|item: &u32, count, len| produced.lock().unwrap().push((*item, count, len)))
        .on_consume(|result: &u32, count, len| consumed.lock().unwrap().push((*result, count, len)))
        .build()
        .unwrap();
    let out = pipeline.process(0..1_000_u32, |n| n + 1).unwrap();
    assert!(out.into_iter().eq(1..=1_000));
    drop(pipeline);

    let produced = produced.into_inner().unwrap();
    // Producers put in input order, and the callback is called in that order.
    assert!(produced.iter().map(|&(item, _, _)| item).eq(0..1_000));
    assert!(produced.iter().map(|&(_, count, _)| count).eq(1..=1_000));
    assert!(produced.iter().all(|&(_, _, len)| len <= 4));
    let consumed = consumed.into_inner().unwrap();
    assert!(consumed.iter().map(|&(_, count, _)| count).eq(1..=1_000));
    let results: HashSet<u32> = consumed.iter().map(|&(result, _, _)| result).collect();
    assert_eq!(results, (1..=1_000).collect());
    assert!(consumed.iter().all(|&(_, _, len)| len <= 4));
}

#[test]
fn counting_progress_from_callbacks_reaches_the_total_with_failures() {
    let (successes, failures) = (Mutex::new(0), Mutex::new(Vec::new()));
    let mut pipeline = Pipeline::builder()
        .consumers(3)
        .on_failure(FailurePolicy::Continue)
        .on_consume(|_: &u32, _, _| *successes.lock().unwrap() += 1)
        .on_error(|index, error: &String| failures.lock().unwrap().push((index, error.clone())))
        .build()
        .unwrap();
    let out = pipeline
        .try_process(0..1_000u32, |n| {
            if n % 9 == 4 {
                Err(format!("no {n}"))
            } else {
                Ok(n)
            }
        })
        .unwrap();
    drop(pipeline);
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    let expected: Vec<(usize, String)> = (4..1_000)
        .step_by(9)
        .map(|n| (n, format!("no {n}")))
        .collect();
    assert_eq!(failures, expected);
    assert_eq!(successes.into_inner().unwrap() + failures.len(), 1_000);
    assert_eq!(out.results.len() + out.failures.len(), 1_000);
}

#[test]
fn a_pipeline_can_run_again_and_keeps_the_last_report() {
    let mut pipeline = Pipeline::with_capacity(5).unwrap();
    assert!(pipeline.stats().is_none());
    assert_eq!(pipeline.run([1, 2, 3, 4, 5]).unwrap(), [1, 2, 3, 4, 5]);
    assert_eq!(pipeline.stats().unwrap().produced(), 5);
    assert_eq!(pipeline.run(["a"; 7]).unwrap(), ["a"; 7]);
    assert_eq!(pipeline.stats().unwrap().produced(), 7);
}

#[test]
fn slow_work_is_the_bottleneck_and_more_workers_are_advised() {
    let mut pipeline = Pipeline::builder()
        .capacity(2)
        .consumer_delay(Duration::from_millis(2))
        .build()
        .unwrap();
    pipeline.run(0..40).unwrap();
    let report = pipeline.stats().unwrap();
    assert_complete(report, 40);
    let bottleneck = report.bottleneck.as_ref().unwrap();
    assert_eq!(bottleneck.stage, "work", "{report}");
    // The delay is work that takes no core: another consumer would sleep beside this one.
    assert!(bottleneck.more_workers_help, "{report}");
    assert!(report.stage("work").unwrap().paced >= Duration::from_millis(80));
}

#[test]
fn a_slow_source_is_the_bottleneck_and_more_workers_are_not_advised() {
    let mut pipeline = Pipeline::builder()
        .capacity(8)
        .consumers(2)
        .producer_delay(Duration::from_millis(2))
        .build()
        .unwrap();
    pipeline.run(0..40).unwrap();
    let report = pipeline.stats().unwrap();
    assert_complete(report, 40);
    let bottleneck = report.bottleneck.as_ref().unwrap();
    assert_eq!(bottleneck.stage, "source", "{report}");
    assert!(!bottleneck.more_workers_help);
    assert!(
        bottleneck.reason.contains("a faster source would help"),
        "{report}"
    );
}

#[test]
fn the_report_names_every_row_and_figure() {
    let mut pipeline = Pipeline::new();
    pipeline.run(0..10).unwrap();
    let table = pipeline.stats().unwrap().to_string();
    for label in [
        "stage", "workers", "capacity", "in", "out", "failed", "returned", "busy", "cpu",
        "wait in", "wait out",
    ] {
        assert!(table.lines().next().unwrap().contains(label), "{table}");
    }
    for name in ["source", "work", "sink"] {
        assert!(table.lines().any(|line| line.starts_with(name)), "{table}");
    }
    assert!(table.contains("bottleneck: "), "{table}");
}

#[test]
fn progress_reaches_the_single_step_form_with_the_final_report_last() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let mut pipeline = Pipeline::builder()
        .capacity(16)
        .consumers(2)
        .progress(Duration::from_millis(1), move |report| {
            record
                .lock()
                .unwrap()
                .push((report.produced(), report.delivered()));
        })
        .build()
        .unwrap();
    pipeline
        .process(0..200_000u64, |n| std::hint::black_box(n * 2))
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(*seen.last().unwrap(), (200_000, 200_000));
    assert!(
        seen.iter()
            .all(|&(produced, delivered)| delivered <= produced)
    );
}

#[test]
fn the_single_step_form_can_be_cancelled_and_hands_back_the_rest() {
    let mut pipeline = Pipeline::builder()
        .capacity(8)
        .consumers(2)
        .build()
        .unwrap();
    let cancel = pipeline.cancel_handle();
    let (reached, wait) = mpsc::sync_channel(1);
    let canceller = thread::spawn(move || {
        wait.recv().unwrap();
        cancel.cancel();
    });
    let collected = pipeline
        .try_process(0usize..1_000_000_000, |n| {
            if n == 1_000 {
                let _ = reached.try_send(());
            }
            Ok::<_, String>(n)
        })
        .unwrap();
    canceller.join().unwrap();
    assert!(collected.cancelled);
    // Item 1,000 was taken before the cancel; the items before it were done or handed back.
    assert!(collected.report.produced() > 1_000);
    let report = &collected.report;
    assert!(!report.success());
    let returned: Vec<usize> = collected
        .unprocessed
        .items
        .iter()
        .map(|&(i, _)| i)
        .collect();
    assert!(collected.unprocessed.items.iter().all(|&(i, n)| i == n));
    assert_eq!(report.produced(), collected.results.len() + returned.len());
    // `process`, which returns only results, turns the cancel into an error.
    let cancel = pipeline.cancel_handle();
    cancel.cancel();
    let err = pipeline.process(0..1_000_000_000u64, |n| n).unwrap_err();
    assert!(matches!(err.cause, Cause::Cancelled));
    assert_eq!(
        err.report.produced(),
        err.completed.len() + err.unprocessed.len()
    );
    // The next run is not cancelled.
    assert_eq!(pipeline.run(0..3).unwrap(), [0, 1, 2]);
}
