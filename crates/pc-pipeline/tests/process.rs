//! The original's test cases and more: empty input, large input, tiny buffers, FIFO and ordered output with many consumers, callbacks, borrowing, statistics.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use pc_pipeline::{Bottleneck, Pipeline, PipelineStats, RoleReport};

/// The counts of a successful run add up.
fn assert_complete(stats: &PipelineStats, n: usize) {
    assert_eq!(
        (
            stats.produced,
            stats.consumed,
            stats.succeeded,
            stats.failed,
            stats.returned
        ),
        (n, n, n, 0, 0)
    );
    assert!(stats.success);
    assert!(stats.high_water <= stats.capacity);
    let consumer_items: usize = stats.consumers.iter().map(|r| r.items).sum();
    let producer_items: usize = stats.producers.iter().map(|r| r.items).sum();
    assert_eq!((consumer_items, producer_items), (n, n));
    // The roles are blocked exactly for the waits the buffer counted on their side.
    let blocked = |roles: &[RoleReport]| roles.iter().map(|r| r.blocked).sum::<Duration>();
    assert_eq!(blocked(&stats.producers), stats.producer_wait, "{stats}");
    assert_eq!(blocked(&stats.consumers), stats.consumer_wait, "{stats}");
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
    assert_eq!(
        out.iter().map(|&n| u64::from(n)).sum::<u64>(),
        5_000 * 4_999 / 2
    );
    let stats = pipeline.stats().unwrap();
    assert_complete(stats, 5_000);
    assert_eq!(stats.high_water, 1);
}

#[test]
fn one_consumer_keeps_fifo_order_even_unordered() {
    let mut pipeline = Pipeline::builder()
        .capacity(3)
        .producers(3)
        .ordered(false)
        .build()
        .unwrap();
    let out = pipeline.run(0..10_000).unwrap();
    assert!(out.into_iter().eq(0..10_000));
}

#[test]
fn ordered_output_with_many_consumers_and_uneven_work() {
    for capacity in [1, 2, 16, 256] {
        let mut pipeline = Pipeline::builder()
            .capacity(capacity)
            .producers(2)
            .consumers(4)
            .build()
            .unwrap();
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
fn a_pipeline_can_run_again_and_keeps_the_last_stats() {
    let mut pipeline = Pipeline::with_capacity(5).unwrap();
    assert!(pipeline.stats().is_none());
    assert_eq!(pipeline.run([1, 2, 3, 4, 5]).unwrap(), [1, 2, 3, 4, 5]);
    assert_eq!(pipeline.stats().unwrap().produced, 5);
    assert_eq!(pipeline.run(["a"; 7]).unwrap(), ["a"; 7]);
    assert_eq!(pipeline.stats().unwrap().produced, 7);
}

#[test]
fn slow_consumers_make_the_run_consumer_bound() {
    let mut pipeline = Pipeline::builder()
        .capacity(2)
        .consumer_delay(Duration::from_millis(2))
        .build()
        .unwrap();
    pipeline.run(0..40).unwrap();
    let stats = pipeline.stats().unwrap();
    assert_complete(stats, 40);
    assert_eq!(stats.bottleneck, Bottleneck::ConsumerBound, "{stats}");
    // The delay is work that takes no core: another consumer would sleep beside this one.
    assert!(stats.more_consumers_help, "{stats}");
    assert!(stats.producer_wait > stats.consumer_wait);
    assert!(stats.consumers[0].paced >= Duration::from_millis(80));
}

#[test]
fn slow_producers_make_the_run_producer_bound() {
    let mut pipeline = Pipeline::builder()
        .capacity(8)
        .consumers(2)
        .producer_delay(Duration::from_millis(2))
        .build()
        .unwrap();
    pipeline.run(0..40).unwrap();
    let stats = pipeline.stats().unwrap();
    assert_complete(stats, 40);
    assert_eq!(stats.bottleneck, Bottleneck::ProducerBound, "{stats}");
    assert!(!stats.more_consumers_help, "{stats}");
    assert!(stats.advice.contains("more consumers would not"), "{stats}");
    assert!(stats.consumer_wait > stats.producer_wait);
}

#[test]
fn the_summary_names_every_figure() {
    let mut pipeline = Pipeline::new();
    pipeline.run(0..10).unwrap();
    let stats = pipeline.stats().unwrap();
    let summary = stats.to_string();
    assert!(!stats.advice.is_empty());
    assert!(
        summary.contains(&stats.advice),
        "the advice is missing from\n{summary}"
    );
    for label in [
        "Items produced:      10",
        "Items consumed:      10 (10 succeeded, 0 failed)",
        "Items returned:      0",
        "Buffer high-water:",
        "Producers waited:",
        "Consumers waited:",
        "Bottleneck:",
    ] {
        assert!(summary.contains(label), "{label:?} missing from\n{summary}");
    }
}
