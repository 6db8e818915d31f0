//! Failure semantics: fail-fast and continue, several workers failing at once, panics in every place at the start, middle and end of a run, bad configuration, errors that convert with `?`, and exact accounting of every item in each case.

use std::collections::BTreeSet;
use std::error::Error;

use pc_pipeline::{Cause, ConfigError, FailurePolicy, Pipeline, Place, RunError};

const N: usize = 1_000;

/// Every item taken from the input is accounted for exactly once: as a result, a failure, the
/// item of the cause (`lost`: failed or panicked in the work), or handed back. The items taken
/// are exactly `0..produced`.
fn assert_accounted<T, R, E>(err: &RunError<T, R, E>, lost: Option<usize>) {
    let r = &err.report;
    assert_eq!(
        r.produced(),
        r.delivered() + r.failed() + r.returned(),
        "{r}"
    );
    assert_eq!(err.completed.len(), r.delivered());
    assert_eq!(err.unprocessed.len(), r.returned());
    assert_eq!(r.failed(), err.failures.len() + usize::from(lost.is_some()));
    assert!(!r.success());
    let mut seen = BTreeSet::new();
    let indices = err
        .completed
        .iter()
        .map(|(i, _)| *i)
        .chain(err.failures.iter().map(|f| f.index))
        .chain(err.unprocessed.indices())
        .chain(lost);
    for index in indices {
        assert!(seen.insert(index), "item {index} accounted twice");
    }
    assert!(seen.into_iter().eq(0..r.produced()), "some item is missing");
    assert!(err.completed.is_sorted_by_key(|(i, _)| *i));
    for row in &r.stages {
        assert_eq!(
            row.items_in,
            row.items_out + row.failed + row.returned,
            "{r}"
        );
    }
}

fn pipeline(consumers: usize, policy: FailurePolicy, ordered: bool, producers: bool) -> Pipeline {
    let builder = Pipeline::builder()
        .capacity(16)
        .consumers(consumers)
        .ordered(ordered)
        .on_failure(policy);
    let builder = if producers {
        builder.producers(2)
    } else {
        builder
    };
    builder.build().unwrap()
}

fn failing_at(at: usize) -> impl Fn(usize) -> Result<usize, String> + Sync {
    move |n| {
        if n == at {
            Err(format!("bad item {n}"))
        } else {
            Ok(n * 2)
        }
    }
}

#[test]
fn fail_fast_returns_the_error_every_result_and_every_unprocessed_item() {
    for consumers in [1, 3] {
        for ordered in [true, false] {
            for producers in [false, true] {
                for at in [0, N / 2, N - 1] {
                    let mut p = pipeline(consumers, FailurePolicy::FailFast, ordered, producers);
                    let err = p.try_process(0..N, failing_at(at)).unwrap_err();
                    let Cause::Failed(failure) = &err.cause else {
                        panic!("unexpected cause {:?}", err.cause);
                    };
                    assert_eq!((failure.index, failure.stage.as_str()), (at, "work"));
                    assert_eq!(failure.error, format!("bad item {at}"));
                    assert!(err.failures.is_empty());
                    assert_accounted(&err, Some(at));
                    for (index, result) in &err.completed {
                        assert_eq!(*result, index * 2);
                    }
                    for &(index, item) in &err.unprocessed.items {
                        assert_eq!(index, item, "the item handed back is the input's");
                    }
                    assert_eq!(p.stats(), Some(&*err.report));
                }
            }
        }
    }
}

/// Two or three workers failing on neighbouring items at nearly the same time: every failed
/// item is in the error, as the cause or among the failures, and every index is delivered,
/// failed or handed back exactly once, run after run.
#[test]
fn workers_failing_at_once_put_every_failure_in_the_error() {
    for workers in [2, 3] {
        for run in 0..500 {
            let at = 100 + run % 50;
            let failing = at..at + workers;
            let mut p = pipeline(workers, FailurePolicy::FailFast, run % 2 == 0, false);
            let work = |n: usize| {
                if failing.contains(&n) { Err(n) } else { Ok(n) }
            };
            let err = p.try_process(0..N, work).unwrap_err();
            let Cause::Failed(failure) = &err.cause else {
                panic!("unexpected cause {:?}", err.cause);
            };
            assert!(failing.contains(&failure.index));
            let reported: BTreeSet<usize> = err
                .failures
                .iter()
                .map(|f| f.index)
                .chain([failure.index])
                .collect();
            assert_eq!(
                reported.len(),
                err.report.failed(),
                "counted but not reported"
            );
            assert!(reported.iter().all(|i| failing.contains(i)));
            for f in &err.failures {
                assert_eq!(f.index, f.error);
            }
            assert_accounted(&err, Some(failure.index));
        }
    }
}

#[test]
fn continue_processes_everything_and_reports_each_failure() {
    for consumers in [1, 3] {
        for ordered in [true, false] {
            let mut p = pipeline(consumers, FailurePolicy::Continue, ordered, false);
            let out = p
                .try_process(0..N, |n| {
                    if n % 10 == 3 {
                        Err(format!("bad {n}"))
                    } else {
                        Ok(n)
                    }
                })
                .unwrap();
            let mut failures: Vec<(usize, String)> = out
                .failures
                .iter()
                .map(|f| (f.index, f.error.clone()))
                .collect();
            failures.sort();
            let expected: Vec<(usize, String)> = (3..N)
                .step_by(10)
                .map(|n| (n, format!("bad {n}")))
                .collect();
            assert_eq!(failures, expected);
            let mut results = out.results.clone();
            if ordered {
                assert!(results.is_sorted());
            }
            results.sort_unstable();
            assert!(results.into_iter().eq((0..N).filter(|n| n % 10 != 3)));
            let r = p.stats().unwrap();
            assert_eq!(
                (r.produced(), r.delivered(), r.failed(), r.returned()),
                (N, 900, 100, 0)
            );
            assert!(!r.success());
        }
    }
}

/// Runs `0..N` through a pipeline that panics in `place` on item `at`, and checks the error.
fn panic_in(
    place: Place,
    at: usize,
    consumers: usize,
) -> RunError<usize, usize, std::convert::Infallible> {
    let boom = move |n: usize, what: Place| {
        if n == at && what == place {
            panic!("{what} refused item {n}");
        }
    };
    let input = (0..N).inspect(move |&n| boom(n, Place::Source));
    let mut p = Pipeline::builder()
        .capacity(8)
        .producers(2)
        .consumers(consumers)
        .on_produce(move |n: &usize, _, _| boom(*n, Place::OnProduce))
        .on_consume(move |n: &usize, _, _| boom(*n, Place::OnConsume))
        .build()
        .unwrap();
    let err = p
        .process(input, move |n| {
            boom(n, Place::Work);
            n
        })
        .unwrap_err();
    let Cause::Panicked {
        stage,
        place: culprit,
        worker,
        index,
        message,
    } = &err.cause
    else {
        panic!("unexpected cause {:?}", err.cause);
    };
    assert_eq!(
        (*culprit, message.as_str()),
        (place, format!("{place} refused item {at}").as_str())
    );
    let (row, workers) = match place {
        Place::Source | Place::OnProduce => ("source", 2),
        _ => ("work", consumers),
    };
    assert_eq!(stage, row);
    assert!((1..=workers).contains(&(*worker as usize)));
    if matches!(place, Place::Source | Place::Work | Place::OnConsume) {
        assert_eq!(*index, Some(at));
    }
    assert!(
        err.to_string()
            .starts_with(&format!("stage `{row}`: {place} panicked in worker")),
        "{err}"
    );
    err
}

#[test]
fn a_panic_in_the_input_ends_the_run_naming_the_source() {
    for at in [0, N / 2, N - 1] {
        let err = panic_in(Place::Source, at, 3);
        // The panicking `next` produced nothing: exactly the items before it were taken.
        assert_eq!(err.report.produced(), at);
        assert_accounted(&err, None);
    }
}

#[test]
fn a_panic_in_the_work_ends_the_run_naming_the_item() {
    for consumers in [1, 3] {
        for at in [0, N / 2, N - 1] {
            let err = panic_in(Place::Work, at, consumers);
            assert_accounted(&err, Some(at));
        }
    }
}

#[test]
fn a_panic_in_the_work_of_a_source_read_by_the_workers_names_the_item() {
    for consumers in [1, 2] {
        let mut p = Pipeline::builder()
            .capacity(8)
            .consumers(consumers)
            .build()
            .unwrap();
        let err = p
            .process(0..N, |n| if n == 321 { panic!("no") } else { n })
            .unwrap_err();
        assert_eq!(err.cause.index(), Some(321));
        assert_accounted(&err, Some(321));
    }
}

#[test]
fn a_panic_in_on_produce_ends_the_run_after_the_item_was_put() {
    for at in [0, N / 2, N - 1] {
        let err = panic_in(Place::OnProduce, at, 3);
        assert!(err.report.produced() > at);
        assert_accounted(&err, None);
    }
}

#[test]
fn a_panic_in_on_consume_ends_the_run_and_keeps_the_result() {
    for at in [0, N / 2, N - 1] {
        let err = panic_in(Place::OnConsume, at, 3);
        assert!(err.completed.iter().any(|&(i, r)| i == at && r == at));
        assert_accounted(&err, None);
    }
}

#[test]
fn a_pipeline_runs_cleanly_after_a_failed_run() {
    let mut p = Pipeline::builder()
        .consumers(2)
        .on_consume(|n: &u32, _, _| assert!(*n != 7, "seven"))
        .build()
        .unwrap();
    assert!(p.run(0..10_u32).is_err());
    assert_eq!(p.run(10..20_u32).unwrap(), (10..20).collect::<Vec<_>>());
    assert!(p.stats().unwrap().success());
}

#[test]
fn items_never_taken_stay_in_an_input_passed_by_reference() {
    let mut input = 0..N;
    let mut p = Pipeline::builder().capacity(4).batch(1).build().unwrap();
    let err = p.try_process(input.by_ref(), failing_at(10)).unwrap_err();
    assert_accounted(&err, Some(10));
    let produced = err.report.produced();
    assert!(produced < N);
    assert!(input.eq(produced..N), "the run took exactly 0..produced");
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let err = |b: pc_pipeline::PipelineBuilder| b.build().unwrap_err();
    assert_eq!(
        err(Pipeline::builder().capacity(0)),
        ConfigError::ZeroCapacity
    );
    assert_eq!(
        err(Pipeline::builder().producers(0)),
        ConfigError::ZeroProducers
    );
    assert_eq!(
        err(Pipeline::builder().consumers(0)),
        ConfigError::ZeroConsumers
    );
    assert_eq!(err(Pipeline::builder().batch(0)), ConfigError::ZeroBatch);
    assert_eq!(
        Pipeline::with_capacity(0).unwrap_err(),
        ConfigError::ZeroCapacity
    );
    assert_eq!(
        ConfigError::ZeroConsumers.to_string(),
        "a pipeline needs at least 1 consumer, got 0"
    );
}

#[test]
fn huge_capacities_run_without_allocating_them() {
    for capacity in [usize::MAX, 1 << 32, 1 << 40] {
        for consumers in [1, 2] {
            let mut p = Pipeline::builder()
                .capacity(capacity)
                .consumers(consumers)
                .build()
                .unwrap();
            let out = p.process(0..10_000u64, |n| n + 1).unwrap();
            assert!(out.into_iter().eq(1..=10_000));
            let mut p = Pipeline::builder()
                .capacity(capacity)
                .producers(1)
                .consumers(consumers)
                .build()
                .unwrap();
            assert!(p.run(0..10_000u64).unwrap().into_iter().eq(0..10_000));
        }
    }
}

fn forwards_with_question_mark() -> Result<usize, Box<dyn Error + Send + Sync>> {
    let mut p = Pipeline::builder().consumers(2).build()?;
    let out = p.try_process(0..100u32, |n| if n == 50 { Err("fifty") } else { Ok(n) })?;
    Ok(out.results.len())
}

fn forwards_into_anyhow() -> anyhow::Result<usize> {
    let collected = Pipeline::source(0..100u32)
        .try_stage(pc_pipeline::Stage::new("check"), |n| {
            if n == 50 { Err("fifty") } else { Ok(n) }
        })
        .collect()?;
    Ok(collected.results.len())
}

#[test]
fn errors_convert_with_question_mark_and_debug_briefly() {
    let err = forwards_with_question_mark().unwrap_err();
    assert_eq!(err.to_string(), "item 50 failed in stage `work`: fifty");
    let err = forwards_into_anyhow().unwrap_err();
    assert_eq!(err.to_string(), "item 50 failed in stage `check`: fifty");
    // Items that borrow: one call drops them and keeps the cause and counts.
    let lines: Vec<String> = (0..1_000).map(|n| n.to_string()).collect();
    let mut p = Pipeline::builder().capacity(4).build().unwrap();
    let err = p
        .try_process(&lines, |l| {
            if l == "500" {
                Err("five hundred")
            } else {
                Ok(l.len())
            }
        })
        .unwrap_err();
    let debug = format!("{err:?}");
    assert!(debug.len() < 400, "{debug}");
    assert!(
        debug.contains("results]") && debug.contains("five hundred"),
        "{debug}"
    );
    let produced = err.report.produced();
    let kept = err.without_items();
    assert_eq!(kept.cause.index(), Some(500));
    assert_eq!(kept.report.produced(), produced);
    assert_eq!(kept.completed.len() + 1 + kept.unprocessed.len(), produced);
    let boxed: Box<dyn Error + Send + Sync> = Box::new(kept);
    assert!(boxed.to_string().contains("five hundred"));
}
