//! Failure semantics: fail-fast and continue, panics in every role at the start, middle and end of a run, bad configuration, and exact accounting of every item in each case.

use std::collections::BTreeSet;

use pc_pipeline::{Cause, ConfigError, FailurePolicy, Pipeline, PipelineError, ProcessError, Role};

const N: usize = 1_000;

/// Every item taken from the input is accounted for exactly once: as a result, a failure, the
/// item of the cause (`lost`: failed or panicked in the work), or handed back. Producers take
/// items in input order, so the items taken are exactly `0..produced`.
fn assert_accounted<T, R, E>(err: &PipelineError<T, R, E>, lost: Option<usize>) {
    let s = &err.stats;
    assert_eq!(s.produced, s.succeeded + s.failed + s.returned, "{s:?}");
    assert_eq!(s.consumed, s.succeeded + s.failed);
    assert_eq!(err.completed.len(), s.succeeded);
    assert_eq!(err.unprocessed.len(), s.returned);
    assert_eq!(s.failed, err.failures.len() + usize::from(lost.is_some()));
    assert!(!s.success);
    let mut seen = BTreeSet::new();
    let indices = err
        .completed
        .iter()
        .map(|(i, _)| *i)
        .chain(err.failures.iter().map(|(i, _)| *i))
        .chain(err.unprocessed.iter().map(|(i, _)| *i))
        .chain(lost);
    for index in indices {
        assert!(seen.insert(index), "item {index} accounted twice");
    }
    assert!(seen.into_iter().eq(0..s.produced), "some item is missing");
    assert!(err.completed.is_sorted_by_key(|(i, _)| *i));
    assert!(err.unprocessed.is_sorted_by_key(|(i, _)| *i));
}

fn pipeline(consumers: usize, policy: FailurePolicy, ordered: bool) -> Pipeline {
    Pipeline::builder()
        .capacity(16)
        .producers(2)
        .consumers(consumers)
        .ordered(ordered)
        .on_failure(policy)
        .build()
        .unwrap()
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
fn fail_fast_returns_the_first_error_every_result_and_every_unprocessed_item() {
    for consumers in [1, 3] {
        for ordered in [true, false] {
            for at in [0, N / 2, N - 1] {
                let mut p = pipeline(consumers, FailurePolicy::FailFast, ordered);
                let err = p.try_process(0..N, failing_at(at)).unwrap_err();
                assert_eq!(
                    err.cause,
                    Cause::Failed {
                        index: at,
                        error: format!("bad item {at}")
                    }
                );
                assert!(err.failures.is_empty());
                assert_accounted(&err, Some(at));
                for (index, result) in &err.completed {
                    assert_eq!(*result, index * 2);
                }
                for (index, item) in &err.unprocessed {
                    assert_eq!(index, item, "the item handed back is the input's");
                }
                assert_eq!(p.stats(), Some(&*err.stats));
            }
        }
    }
}

#[test]
fn fail_fast_with_several_failures_reports_the_first_in_input_order() {
    let mut p = pipeline(4, FailurePolicy::FailFast, true);
    let err = p
        .try_process(0..N, |n| if n % 100 == 99 { Err(n) } else { Ok(n) })
        .unwrap_err();
    let Cause::Failed { index, error } = err.cause else {
        panic!("expected a failure, got {:?}", err.cause);
    };
    assert_eq!(index, error);
    assert!(err.failures.iter().all(|&(i, _)| i > index));
    assert_accounted(&err, Some(index));
}

#[test]
fn continue_processes_everything_and_reports_each_failure() {
    for consumers in [1, 3] {
        for ordered in [true, false] {
            let mut p = pipeline(consumers, FailurePolicy::Continue, ordered);
            let out = p
                .try_process(0..N, |n| {
                    if n % 10 == 3 {
                        Err(format!("bad {n}"))
                    } else {
                        Ok(n)
                    }
                })
                .unwrap();
            let expected_failures: Vec<(usize, String)> = (3..N)
                .step_by(10)
                .map(|n| (n, format!("bad {n}")))
                .collect();
            assert_eq!(out.failures, expected_failures);
            let mut results = out.results.clone();
            if ordered {
                assert!(results.is_sorted());
            }
            results.sort_unstable();
            assert!(results.into_iter().eq((0..N).filter(|n| n % 10 != 3)));
            let s = p.stats().unwrap();
            assert_eq!(
                (s.produced, s.succeeded, s.failed, s.returned),
                (N, 900, 100, 0)
            );
            assert!(!s.success);
        }
    }
}

/// Runs `0..N` through a pipeline whose `role` panics on item `at`, and checks the error.
fn panic_in(role: Role, at: usize, consumers: usize) -> ProcessError<usize, usize> {
    let boom = move |n: usize, what: Role| {
        if n == at && what == role {
            panic!("{what} refused item {n}");
        }
    };
    let input = (0..N).inspect(move |&n| boom(n, Role::Producer));
    let mut p = Pipeline::builder()
        .capacity(8)
        .producers(2)
        .consumers(consumers)
        .on_produce(move |n: &usize, _, _| boom(*n, Role::OnProduce))
        .on_consume(move |n: &usize, _, _| boom(*n, Role::OnConsume))
        .build()
        .unwrap();
    let err = p
        .process(input, move |n| {
            boom(n, Role::Consumer);
            n
        })
        .unwrap_err();
    let (r, worker, message) = match &err.cause {
        Cause::Panicked {
            role,
            worker,
            message,
        } => (*role, *worker, message),
        Cause::Failed { error, .. } => match *error {},
    };
    assert_eq!(
        (r, message.as_str()),
        (role, format!("{role} refused item {at}").as_str())
    );
    let workers = if matches!(role, Role::Producer | Role::OnProduce) {
        2
    } else {
        consumers
    };
    assert!((1..=workers).contains(&worker));
    assert!(
        err.to_string().starts_with(&format!("{role} panicked in ")),
        "{err}"
    );
    err
}

#[test]
fn a_panic_in_the_input_ends_the_run_naming_the_producer() {
    for at in [0, N / 2, N - 1] {
        let err = panic_in(Role::Producer, at, 3);
        // The panicking `next` produced nothing: exactly the items before it were taken.
        assert_eq!(err.stats.produced, at);
        assert_accounted(&err, None);
    }
}

#[test]
fn a_panic_in_the_work_ends_the_run_naming_the_consumer() {
    for consumers in [1, 3] {
        for at in [0, N / 2, N - 1] {
            let err = panic_in(Role::Consumer, at, consumers);
            assert_accounted(&err, Some(at));
        }
    }
}

#[test]
fn a_panic_in_on_produce_ends_the_run_after_the_item_was_put() {
    for at in [0, N / 2, N - 1] {
        let err = panic_in(Role::OnProduce, at, 3);
        assert!(err.stats.produced > at);
        assert_accounted(&err, None);
    }
}

#[test]
fn a_panic_in_on_consume_ends_the_run_and_keeps_the_result() {
    for at in [0, N / 2, N - 1] {
        let err = panic_in(Role::OnConsume, at, 3);
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
    assert!(p.stats().unwrap().success);
}

#[test]
fn items_never_taken_stay_in_an_input_passed_by_reference() {
    let mut input = 0..N;
    let mut p = Pipeline::builder().capacity(4).batch(1).build().unwrap();
    let err = p.try_process(input.by_ref(), failing_at(10)).unwrap_err();
    assert_accounted(&err, Some(10));
    let produced = err.stats.produced;
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
