//! Chains of stages: order, exactly-once delivery across stages, fusion, cancellation and ending a stream early in every shape, panics and failures in each stage, sinks that fail, sources without a size hint, progress and the report.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pc_pipeline::{
    Cause, ConfigError, FailurePolicy, Pipeline, RowKind, RunReport, Stage, StageConfigError,
};

/// Every row's books balance, and each row hands the next exactly what the next took in.
fn check_rows(report: &RunReport) {
    assert_eq!(report.stages.first().unwrap().kind, RowKind::Source);
    assert_eq!(report.stages.last().unwrap().kind, RowKind::Sink);
    for row in &report.stages {
        assert_eq!(
            row.items_in,
            row.items_out + row.failed + row.returned,
            "row `{}`: in = out + failed + returned",
            row.name
        );
    }
    for pair in report.stages.windows(2) {
        assert_eq!(
            pair[0].items_out, pair[1].items_in,
            "{} -> {}",
            pair[0].name, pair[1].name
        );
    }
}

/// Every source index in `0..source_items` is in exactly one of the three lists.
fn check_exactly_once(
    source_items: usize,
    delivered: &[usize],
    failed: &[usize],
    returned: &[usize],
) {
    let mut seen = vec![0u8; source_items];
    for &index in delivered.iter().chain(failed).chain(returned) {
        assert!(index < source_items, "index {index} was never produced");
        seen[index] += 1;
    }
    let wrong: Vec<usize> = (0..source_items)
        .filter(|&i| seen[i] != 1)
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "indices not accounted for exactly once: {wrong:?}"
    );
}

fn three_stages(
    n: u64,
    workers: usize,
    capacity: usize,
    ordered: bool,
) -> pc_pipeline::Chain<'static, u64, u64> {
    let stage = |name: &str| {
        Stage::new(name)
            .workers(workers)
            .capacity(capacity)
            .ordered(ordered)
    };
    Pipeline::source(0..n)
        .stage(stage("parse"), |n| (n, n.to_string()))
        .stage(stage("transform"), |(n, text): (u64, String)| {
            (n, text.len() as u64 + n * 3)
        })
        .stage(stage("write"), |(n, value): (u64, u64)| {
            assert_eq!(value - n * 3, n.to_string().len() as u64);
            n
        })
}

#[test]
fn ordered_stages_keep_source_order_at_every_capacity() {
    for capacity in [1, 2, 7, 64] {
        let collected = three_stages(20_000, 3, capacity, true).collect().unwrap();
        assert!(
            collected.results.iter().copied().eq(0..20_000),
            "capacity {capacity}: results out of order"
        );
        assert!(!collected.cancelled);
        assert!(collected.unprocessed.is_empty());
        check_rows(&collected.report);
        assert_eq!(collected.report.produced(), 20_000);
        assert_eq!(collected.report.delivered(), 20_000);
    }
}

#[test]
fn unordered_stages_deliver_each_item_exactly_once() {
    let collected = three_stages(50_000, 4, 16, false).collect().unwrap();
    let mut results = collected.results;
    results.sort_unstable();
    assert!(results.iter().copied().eq(0..50_000));
    check_rows(&collected.report);
}

#[test]
fn an_ordered_stage_after_an_unordered_one_keeps_its_own_input_order() {
    // `shuffle` reorders; `number` (ordered, 3 workers) must pass items on in the order it
    // took them. It tags each output with a stage-wide counter taken in its own input order...
    // which it cannot see; instead the sink checks that `number`'s output order equals the
    // order of its input, recorded by a 1-worker stage in front of it.
    let seen_by_tap = Arc::new(Mutex::new(Vec::new()));
    let tap = Arc::clone(&seen_by_tap);
    let collected = Pipeline::source(0..5_000u32)
        .stage(
            Stage::new("shuffle").workers(3).ordered(false).capacity(8),
            |n| n,
        )
        .stage(Stage::new("tap"), move |n| {
            tap.lock().unwrap().push(n);
            n
        })
        .stage(Stage::new("number").workers(3).capacity(8), |n| n)
        .collect()
        .unwrap();
    assert_eq!(collected.results, *seen_by_tap.lock().unwrap());
    check_rows(&collected.report);
}

#[test]
fn a_chain_without_stages_streams_the_source() {
    let collected = Pipeline::source(vec!["a", "b", "c"]).collect().unwrap();
    assert_eq!(collected.results, ["a", "b", "c"]);
    assert_eq!(collected.report.stages.len(), 2);
    check_rows(&collected.report);
    let empty = Pipeline::source(Vec::<u8>::new())
        .stage(Stage::new("s"), |b| b)
        .collect();
    let empty = empty.unwrap();
    assert!(empty.results.is_empty());
    check_rows(&empty.report);
}

#[test]
fn streaming_yields_results_before_the_source_ends() {
    // The source blocks on a channel the test feeds only after seeing the previous result: the
    // stream must hand each result out while the source is still open.
    let (feed, source) = mpsc::channel::<u32>();
    let mut stream = Pipeline::source(source)
        .stage(Stage::new("double").workers(2), |n| n * 2)
        .stream()
        .unwrap();
    for n in 0..50 {
        feed.send(n).unwrap();
        assert_eq!(stream.next(), Some(n * 2));
    }
    drop(feed);
    assert_eq!(stream.next(), None);
    let finished = stream.finish().unwrap();
    assert!(!finished.cancelled);
    check_rows(&finished.report);
    assert_eq!(finished.report.delivered(), 50);
}

#[test]
fn cancel_from_another_thread_mid_run_hands_back_every_unprocessed_item() {
    for workers in [1, 3] {
        let chain = Pipeline::source(0usize..) // endless: only the cancel ends the run
            .stage(Stage::new("parse").workers(workers).capacity(32), |n| n)
            .stage(Stage::new("check").workers(workers).capacity(32), |n| n);
        let cancel = chain.cancel_handle();
        let (reached, wait) = mpsc::channel();
        let canceller = thread::spawn(move || {
            wait.recv().unwrap();
            cancel.cancel();
            cancel.is_cancelled()
        });
        let mut stream = chain.stream().unwrap();
        let mut delivered = Vec::new();
        for result in stream.by_ref() {
            delivered.push(result);
            if delivered.len() == 10_000 {
                reached.send(()).unwrap();
            }
        }
        assert!(canceller.join().unwrap());
        // Ordered stages: what came out is a prefix of the source.
        assert!(delivered.iter().copied().eq(0..delivered.len()));
        let mut finished = stream.finish().unwrap();
        assert!(finished.cancelled);
        check_rows(&finished.report);
        let source_items = finished.report.produced();
        check_exactly_once(
            source_items,
            &delivered,
            &[],
            &finished.unprocessed.indices(),
        );
        // The items come back as each stage's input type, with their indices.
        for name in ["parse", "check"] {
            let items: Vec<(usize, usize)> = match name {
                "parse" => std::mem::take(&mut finished.unprocessed.items),
                stage => finished.unprocessed.take(stage).unwrap_or_default(),
            };
            assert!(items.iter().all(|&(index, item)| index == item));
        }
    }
}

#[test]
fn cancel_during_collect_returns_ok_with_the_leftovers() {
    let (reached, wait) = mpsc::sync_channel(1);
    let chain = Pipeline::source(0usize..1_000_000_000).stage(
        Stage::new("work").workers(2).capacity(64),
        move |n| {
            if n == 5_000 {
                let _ = reached.try_send(());
            }
            n
        },
    );
    let cancel = chain.cancel_handle();
    let canceller = thread::spawn(move || {
        wait.recv().unwrap();
        cancel.cancel();
    });
    let collected = chain.collect().unwrap();
    canceller.join().unwrap();
    assert!(collected.cancelled);
    // Item 5,000 was taken before the cancel; whether the items before it were done or handed
    // back depends on where the other worker was.
    assert!(collected.report.produced() > 5_000);
    assert!(collected.report.produced() < 1_000_000_000);
    // In source order; what is missing was handed back.
    assert!(collected.results.is_sorted());
    check_rows(&collected.report);
    check_exactly_once(
        collected.report.produced(),
        &collected.results,
        &[],
        &collected.unprocessed.indices(),
    );
}

#[test]
fn cancel_before_the_run_starts_takes_nothing_or_little_and_accounts_for_it() {
    let chain = Pipeline::source(0u32..).stage(Stage::new("s"), |n| n);
    chain.cancel_handle().cancel();
    let collected = chain.collect().unwrap();
    assert!(collected.cancelled);
    check_rows(&collected.report);
    let delivered: Vec<usize> = collected.results.iter().map(|&n| n as usize).collect();
    check_exactly_once(
        collected.report.produced(),
        &delivered,
        &[],
        &collected.unprocessed.indices(),
    );
}

#[test]
fn dropping_a_stream_early_stops_every_thread() {
    let mut stream = Pipeline::source(0u64..)
        .stage(Stage::new("a").workers(2).capacity(4), |n| n + 1)
        .stage(Stage::new("b").workers(2).capacity(4), |n| n * 2)
        .stream()
        .unwrap();
    assert_eq!(stream.next(), Some(2));
    drop(stream); // joins: the test would hang here if a thread were left blocked
}

#[test]
fn a_panic_in_the_first_middle_or_last_stage_names_it_and_loses_nothing() {
    let names = ["parse", "transform", "write"];
    for (position, &culprit) in names.iter().enumerate() {
        for ordered in [true, false] {
            let panics_at = move |stage: usize, n: usize| {
                if stage == position && n == 3_000 {
                    panic!("cannot handle item {n}");
                }
                n
            };
            let stage = |name: &str| Stage::new(name).workers(2).capacity(16).ordered(ordered);
            let err = Pipeline::source(0usize..10_000)
                .stage(stage("parse"), move |n| panics_at(0, n))
                .stage(stage("transform"), move |n| panics_at(1, n))
                .stage(stage("write"), move |n| panics_at(2, n))
                .collect()
                .unwrap_err();
            match &err.cause {
                Cause::Panicked {
                    stage,
                    message,
                    worker,
                    index,
                    ..
                } => {
                    assert_eq!(*index, Some(3_000));
                    assert_eq!(stage, culprit);
                    assert_eq!(message, "cannot handle item 3000");
                    assert!((1..=2).contains(worker));
                }
                other => panic!("unexpected cause {other:?}"),
            }
            assert_eq!(err.cause.stage(), culprit);
            assert!(
                err.to_string()
                    .starts_with(&format!("stage `{culprit}`: work panicked in worker")),
                "{err}"
            );
            check_rows(&err.report);
            let row = err.report.stage(culprit).unwrap();
            assert_eq!(row.failed, 1);
            let completed: Vec<usize> = err.completed.iter().map(|&(i, _)| i).collect();
            check_exactly_once(
                err.report.produced(),
                &completed,
                &[3_000],
                &err.unprocessed.indices(),
            );
        }
    }
}

#[test]
fn a_panic_in_the_source_or_the_sink_names_it() {
    let source = (0u32..).map(|n| {
        if n == 700 {
            panic!("source ran dry")
        } else {
            n
        }
    });
    let err = Pipeline::source(source)
        .stage(Stage::new("s"), |n| n)
        .collect()
        .unwrap_err();
    assert_eq!(err.cause.stage(), "source");
    // The 700 items read before the panic were handed on; the stop caught some in flight.
    assert_eq!(err.report.produced(), 700);
    assert!(err.completed.iter().all(|&(i, n)| i == n as usize));
    check_rows(&err.report);
    let delivered: Vec<usize> = err.completed.iter().map(|&(i, _)| i).collect();
    check_exactly_once(700, &delivered, &[], &err.unprocessed.indices());

    let mut seen = 0;
    let err = Pipeline::source(0usize..10_000)
        .stage(Stage::new("s").workers(2), |n| n)
        .for_each(|n| {
            assert!(n != 500, "sink rejects {n}");
            seen += 1;
        })
        .unwrap_err();
    assert_eq!(err.cause.stage(), "sink");
    assert_eq!(seen, 500);
    check_rows(&err.report);
    let sink = err.report.stage("sink").unwrap();
    assert_eq!((sink.items_out, sink.failed), (500, 1));
    let delivered: Vec<usize> = (0..500).collect();
    check_exactly_once(
        err.report.produced(),
        &delivered,
        &[500],
        &err.unprocessed.indices(),
    );
}

#[test]
fn failure_policies_per_stage() {
    // `check` continues past failures; `limit` fails fast on the first item over 8_000.
    let err = Pipeline::source(0usize..20_000)
        .try_stage(
            Stage::new("check")
                .workers(3)
                .capacity(32)
                .on_failure(FailurePolicy::Continue),
            |n| {
                if n % 1_000 == 7 {
                    Err(format!("{n} is unlucky"))
                } else {
                    Ok(n)
                }
            },
        )
        .try_stage(Stage::new("limit").workers(2).capacity(32), |n| {
            if n > 8_000 {
                Err("over the limit")
            } else {
                Ok(n)
            }
        })
        .collect()
        .unwrap_err();
    let Cause::Failed(failure) = &err.cause else {
        panic!("unexpected cause {:?}", err.cause);
    };
    assert_eq!(failure.stage, "limit");
    assert!(failure.index > 8_000);
    assert_eq!(failure.error.to_string(), "over the limit");
    // What came out is in source order, passes both checks, and stops before the limit.
    assert!(err.completed.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(
        err.completed
            .iter()
            .all(|&(_, n)| n % 1_000 != 7 && n <= 8_000)
    );
    let completed: Vec<usize> = err.completed.iter().map(|&(i, _)| i).collect();
    for f in &err.failures {
        match f.stage.as_str() {
            "check" => assert_eq!(f.error.to_string(), format!("{} is unlucky", f.index)),
            // Another `limit` worker may have failed before it saw the stop.
            stage => assert_eq!((stage, f.index > 8_000), ("limit", true)),
        }
    }
    let mut failed: Vec<usize> = err.failures.iter().map(|f| f.index).collect();
    failed.push(failure.index);
    check_rows(&err.report);
    check_exactly_once(
        err.report.produced(),
        &completed,
        &failed,
        &err.unprocessed.indices(),
    );

    // Continue everywhere: the run succeeds and reports every failure.
    let collected = Pipeline::source(0usize..3_000)
        .try_stage(
            Stage::new("even")
                .workers(2)
                .on_failure(FailurePolicy::Continue),
            |n| if n % 2 == 0 { Ok(n) } else { Err("odd") },
        )
        .collect()
        .unwrap();
    assert_eq!(collected.results, (0..3_000).step_by(2).collect::<Vec<_>>());
    assert_eq!(collected.failures.len(), 1_500);
    assert_eq!(collected.report.stage("even").unwrap().failed, 1_500);
    check_rows(&collected.report);
}

#[test]
fn batch_sink_flushes_full_batches_in_order() {
    let mut batches: Vec<Vec<u32>> = Vec::new();
    let finished = Pipeline::source(0u32..10_000)
        .stage(Stage::new("s").workers(3), |n| n)
        .for_each_batch(128, Duration::from_secs(60), |batch: &[u32]| {
            batches.push(batch.to_vec());
            Ok::<_, std::io::Error>(())
        })
        .unwrap();
    assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 128));
    assert!(batches.iter().flatten().copied().eq(0..10_000));
    check_rows(&finished.report);
}

#[test]
fn batch_sink_flushes_a_partial_batch_after_the_linger_time() {
    // The source holds back: three items, then nothing until the sink got them. Only the
    // linger time can send a batch of three when the batch size is 100.
    let (feed, source) = mpsc::channel::<u32>();
    let (got, batches) = mpsc::channel::<Vec<u32>>();
    let run = thread::spawn(move || {
        Pipeline::source(source)
            .stage(Stage::new("s"), |n| n)
            .for_each_batch(100, Duration::from_millis(20), |batch: &[u32]| {
                got.send(batch.to_vec()).unwrap();
                Ok::<_, std::io::Error>(())
            })
    });
    for n in 0..3 {
        feed.send(n).unwrap();
    }
    let mut first = Vec::new();
    while first.len() < 3 {
        first.extend(
            batches
                .recv_timeout(Duration::from_secs(60))
                .expect("the linger time flushes a partial batch"),
        );
    }
    assert_eq!(first, [0, 1, 2]);
    feed.send(3).unwrap();
    drop(feed);
    let finished = run.join().unwrap().unwrap();
    assert_eq!(batches.iter().flatten().collect::<Vec<_>>(), [3]);
    check_rows(&finished.report);
}

#[test]
fn a_failing_batch_sink_hands_its_batch_back() {
    let mut calls = 0;
    let err = Pipeline::source(0usize..1_000)
        .stage(Stage::new("s"), |n| n)
        .for_each_batch(50, Duration::from_secs(60), |batch: &[usize]| {
            calls += 1;
            if calls == 3 {
                Err(format!("insert of {} rows failed", batch.len()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    let Cause::Sink { items, error, .. } = &err.cause else {
        panic!("unexpected cause {:?}", err.cause);
    };
    assert_eq!(error.to_string(), format!("insert of {items} rows failed"));
    assert_eq!(err.cause.stage(), "sink");
    let handed_back: Vec<usize> = err.unprocessed.results.iter().map(|&(i, _)| i).collect();
    // The failed batch is among the results handed back, whole and in order.
    assert!(handed_back.len() >= *items);
    assert!(
        handed_back
            .iter()
            .copied()
            .eq(handed_back[0]..handed_back[0] + handed_back.len())
    );
    check_rows(&err.report);
    let sink = err.report.stage("sink").unwrap();
    let delivered: Vec<usize> = (0..sink.items_out).collect();
    check_exactly_once(
        err.report.produced(),
        &delivered,
        &[],
        &err.unprocessed.indices(),
    );
}

#[test]
fn progress_hook_sees_live_figures_and_the_final_report() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let collected = Pipeline::source(0u32..200_000)
        .stage(Stage::new("a").workers(2), |n| n)
        .stage(Stage::new("b"), |n| n)
        .progress(Duration::from_millis(1), move |report| {
            record
                .lock()
                .unwrap()
                .push((report.produced(), report.delivered()));
        })
        .collect()
        .unwrap();
    let seen = seen.lock().unwrap();
    // At least the final call, and the final call carries the final figures.
    assert_eq!(*seen.last().unwrap(), (200_000, 200_000));
    assert!(
        seen.windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
    );
    assert!(seen.iter().all(|&(source, delivered)| delivered <= source));
    assert_eq!(collected.report.delivered(), 200_000);

    let err = Pipeline::source(0u32..10)
        .progress(Duration::from_millis(1), |_| panic!("bar broke"))
        .collect()
        .unwrap_err();
    assert_eq!(err.cause.stage(), "progress");
    assert!(err.to_string().ends_with("bar broke"));
}

#[test]
fn bad_configuration_is_an_error_not_a_panic() {
    let zero_workers = Pipeline::source(0..3).stage(Stage::new("w").workers(0), |n| n);
    assert_eq!(
        zero_workers.stream().unwrap_err(),
        StageConfigError {
            stage: "w".into(),
            error: ConfigError::ZeroWorkers
        }
    );
    let zero_capacity = Pipeline::source(0..3)
        .stage(Stage::new("ok"), |n| n)
        .stage(Stage::new("c").capacity(0), |n| n)
        .collect()
        .unwrap_err();
    assert!(matches!(
        zero_capacity.cause,
        Cause::Config(StageConfigError { ref stage, error: ConfigError::ZeroCapacity }) if stage == "c"
    ));
    let zero_batch = Pipeline::source(0..3)
        .for_each_batch(0, Duration::ZERO, |_: &[i32]| Ok::<_, std::io::Error>(()))
        .unwrap_err();
    assert_eq!(zero_batch.cause.stage(), "sink");
}

#[test]
fn the_report_names_the_slow_stage_as_the_bottleneck() {
    // `slow` sleeps 1 ms per item (standing in for slow I/O); its neighbours wait on it. With
    // threads of their own, the waits show in the neighbours' rows.
    let collected = Pipeline::source(0u32..300)
        .stage(Stage::new("fast").capacity(8), |n| n)
        .stage(Stage::new("slow").capacity(8).fuse(false), |n| {
            thread::sleep(Duration::from_millis(1));
            n
        })
        .stage(Stage::new("after").capacity(8).fuse(false), |n| n)
        .collect()
        .unwrap();
    let report = &collected.report;
    let bottleneck = report.bottleneck.as_ref().unwrap();
    assert_eq!(bottleneck.stage, "slow");
    assert!(bottleneck.busy_share > 0.5);
    // It sleeps: more workers help however many cores there are.
    assert!(bottleneck.more_workers_help, "{report}");
    let fast = report.stage("fast").unwrap();
    assert!(fast.output_wait_share() > fast.busy_share());
    let after = report.stage("after").unwrap();
    assert!(after.input_wait_share() > after.busy_share());
    let table = report.to_string();
    for name in ["source", "fast", "slow", "after", "sink"] {
        assert!(table.lines().any(|line| line.starts_with(name)), "{table}");
    }
    assert!(table.contains("bottleneck: slow"), "{table}");

    // Fused into one worker, the stages share its time, and the slow one is still named.
    let collected = Pipeline::source(0u32..300)
        .stage(Stage::new("fast"), |n| n)
        .stage(Stage::new("slow"), |n| {
            thread::sleep(Duration::from_millis(1));
            n
        })
        .stage(Stage::new("after"), |n| n)
        .capacity(8)
        .collect()
        .unwrap();
    let report = &collected.report;
    let cores = thread::available_parallelism().map_or(1, usize::from);
    if cores < 3 {
        assert!(report.stage("slow").unwrap().fused, "{report}");
    }
    assert_eq!(
        report.bottleneck.as_ref().unwrap().stage,
        "slow",
        "{report}"
    );
    check_rows(report);
}
