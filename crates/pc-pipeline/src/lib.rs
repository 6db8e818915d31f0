//! A producer-consumer pipeline that never hangs, never loses an item, and tells where the time went.
//!
//! This crate is the top layer: a [`Pipeline`] runs producers and consumers (from
//! [`pc_roles`]) over a bounded buffer (from [`pc_buffer`]) on scoped threads. It re-exports the
//! layers below, so depending on this crate alone is enough.
//!
//! # Processing data
//!
//! [`Pipeline::process`] runs every item through a work function and returns the results, in
//! input order by default, however many consumers run the work:
//!
//! ```
//! use pc_pipeline::Pipeline;
//!
//! let mut pipeline = Pipeline::builder().capacity(64).consumers(4).build().unwrap();
//! let lines = vec!["3,4".to_string(), "10,20".to_string()];
//! let sums = pipeline
//!     .process(&lines, |line| line.split(',').map(|n| n.parse::<u32>().unwrap()).sum::<u32>())
//!     .unwrap();
//! assert_eq!(sums, [7, 30]);
//! ```
//!
//! `data` and `work` may borrow from the caller (as `&lines` above): the threads have ended
//! when `process` returns.
//!
//! # Callbacks, delays and statistics
//!
//! As in the original design, each role can be paced by a delay, and callbacks see every item:
//! `on_produce(item, count, buffer_len)` after each put and `on_consume(result, count,
//! buffer_len)` after each item processed. [`Pipeline::stats`] then tells what the run did and
//! which side held the other up:
//!
//! ```
//! use std::time::Duration;
//! use pc_pipeline::Pipeline;
//!
//! let mut log = Vec::new();
//! let mut pipeline = Pipeline::builder()
//!     .capacity(2)
//!     .consumer_delay(Duration::from_millis(1))
//!     .on_consume(|item: &char, count, _len| log.push((*item, count)))
//!     .build()
//!     .unwrap();
//! pipeline.run("abc".chars()).unwrap();
//! let stats = pipeline.stats().unwrap().clone();
//! drop(pipeline);
//! assert_eq!(log, [('a', 1), ('b', 2), ('c', 3)]);
//! assert_eq!((stats.produced, stats.consumed, stats.success), (3, 3, true));
//! println!("{stats}"); // an aligned summary, ending with the bottleneck verdict
//! ```
//!
//! The verdict comes with advice ([`PipelineStats::advice`]), and for a consumer-bound run
//! [`PipelineStats::more_consumers_help`] says whether another consumer would likely help. It
//! often would not on a small machine: where threads outnumber cores, taking a batch from the
//! buffer and refilling it can each cost a switch between threads, a few microseconds, so a
//! consumer's batch (the capacity shared among the consumers, at most 256 items) must hold more
//! work than that. On 2 cores, with 80 ns of work per item, a second consumer ran 0.4x to 0.5x
//! as fast as one at capacity 64 and about 1.8x at capacity 1024 (BENCHMARKS.md, eleventh
//! session; `cargo bench -p pc-benches --bench consumers` measures it on your machine).
//!
//! # Failures
//!
//! Work that can fail goes through [`Pipeline::try_process`]; the builder's [`FailurePolicy`]
//! says whether the first error stops the run or every failure is reported at the end. A
//! panic in the input, the work or a callback is caught and ends the run with an error that
//! names the role. In every outcome the counts add up,
//! `produced == succeeded + failed + returned`, and the [`PipelineError`] hands back every
//! result and every item not processed:
//!
//! ```
//! use pc_pipeline::{Cause, Pipeline, Role};
//!
//! let mut pipeline = Pipeline::builder().capacity(4).consumers(2).build().unwrap();
//! let err = pipeline
//!     .process(0..100, |n: u32| if n == 50 { panic!("cannot take {n}") } else { n })
//!     .unwrap_err();
//! assert!(matches!(err.cause, Cause::Panicked { role: Role::Consumer, .. }));
//! assert!(err.to_string().ends_with("panicked in consumer 1: cannot take 50")
//!     || err.to_string().ends_with("panicked in consumer 2: cannot take 50"));
//! let s = &err.stats;
//! assert_eq!(s.produced, s.succeeded + s.failed + s.returned);
//! assert_eq!(err.completed.len() + 1 + err.unprocessed.len(), s.produced);
//! ```

//!
//! # Stages
//!
//! Jobs with several steps chain [`Stage`]s from a source with [`Pipeline::source`]. Each stage
//! has its own workers, bounded buffer, ordering and [`FailurePolicy`]; the results come out as
//! a [`Stream`] as soon as they are ready, in memory bounded by the capacities however long the
//! source is. The [`RunReport`] names the bottleneck stage, a [`CancelHandle`] stops the run
//! from any thread, and every item not processed comes back in [`Unprocessed`]:
//!
//! ```
//! use pc_pipeline::{Pipeline, Stage};
//!
//! let mut stream = Pipeline::source(1..=1_000u32)
//!     .stage(Stage::new("double").workers(3), |n| n * 2)
//!     .stage(Stage::new("describe").workers(2), |n| format!("#{n}"))
//!     .stream()
//!     .unwrap();
//! assert_eq!(stream.next().as_deref(), Some("#2")); // ordered: source order
//! assert_eq!(stream.by_ref().count(), 999);
//! let finished = stream.finish().unwrap();
//! assert_eq!(finished.report.stage("double").unwrap().items_out, 1_000);
//! println!("{}", finished.report); // one row per stage, then the bottleneck
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The README's Rust snippets, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeSnippets;

mod builder;
mod err;
mod numbered;
mod pipeline;
mod reorder;
mod runs;
mod staged;
mod stats;

pub use crate::builder::{FailurePolicy, PipelineBuilder};
pub use crate::err::{
    BoxError, Cause, ConfigError, PipelineError, ProcessError, RunError, StageCause,
    StageConfigError, StageFailure,
};
pub use crate::pipeline::{Pipeline, Processed};
pub use crate::staged::{
    CancelHandle, Chain, Collected, Finished, RowKind, RunReport, Stage, StageBottleneck,
    StageLeftovers, StageReport, Stream, Unprocessed,
};
pub use crate::stats::{Bottleneck, PipelineStats};
pub use pc_roles::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, CapacityError, NoHook,
    OnConsume, OnProduce, Role, RoleReport,
};
