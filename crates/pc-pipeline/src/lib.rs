//! A producer-consumer pipeline that never hangs, never loses an item, and tells where the time went.
//!
//! This crate is the top layer: it runs stages of work as consumer roles (from [`pc_roles`])
//! over bounded buffers (from [`pc_buffer`]), on scoped threads. Both layers are re-exported
//! whole, as [`roles`] and [`buffer`] (and their most used items at the top level), so
//! depending on this crate alone is enough. There is one engine: a
//! [`Pipeline`] runs one stage, the original design's `process(data)`, and
//! [`Pipeline::source`] starts a [`Chain`] of any number of them.
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
//! # Callbacks, delays and the report
//!
//! As in the original design, each side can be paced by a delay, and callbacks see every
//! item: `on_produce(item, count, buffer_len)` after each put and `on_consume(result, count,
//! buffer_len)` after each item processed (and `on_error(index, error)` after each that
//! failed). [`Pipeline::stats`] then tells what the run did, row by row, and which row held
//! the others up:
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
//! assert_eq!((stats.produced(), stats.consumed(), stats.success()), (3, 3, true));
//! println!("{stats}"); // an aligned table, then the bottleneck with advice
//! ```
//!
//! Each row of the [`RunReport`] gives its items in and out, failures, items handed back,
//! busy time (and how much of it was on a core, from the operating system's per-thread CPU
//! time), waits on its input and output, buffer occupancy and throughput. Its
//! [`bottleneck`](RunReport::bottleneck) names the row that held the run up and says whether
//! more workers there would help: they would where the row's workers were mostly off-CPU
//! (sleeping, paced, waiting on I/O) while cores were idle, or busy on the cores with cores to
//! spare; not where its workers already fill the cores, nor where a batch would hold too
//! little work to pay for switching threads.
//!
//! # Failures
//!
//! Work that can fail goes through [`Pipeline::try_process`]; the [`FailurePolicy`] says
//! whether the first error stops the run or every failure is reported at the end. A panic in
//! the input, the work or a callback is caught and ends the run with an error that names the
//! row and the item. In every outcome the counts add up, and the [`RunError`] hands back every
//! result and every item not processed:
//!
//! ```
//! use pc_pipeline::{Cause, Pipeline, Place};
//!
//! let mut pipeline = Pipeline::builder().capacity(4).consumers(2).build().unwrap();
//! let err = pipeline
//!     .process(0..100, |n: u32| if n == 50 { panic!("cannot take {n}") } else { n })
//!     .unwrap_err();
//! assert!(matches!(err.cause, Cause::Panicked { place: Place::Work, index: Some(50), .. }));
//! assert!(err.to_string().ends_with("on item 50: cannot take 50"));
//! let report = &err.report;
//! assert_eq!(report.produced(), report.delivered() + report.failed() + report.returned());
//! assert_eq!(err.completed.len() + 1 + err.unprocessed.len(), report.produced());
//! ```
//!
//! # Stages
//!
//! Jobs with several steps chain [`Stage`]s from a source with [`Pipeline::source`]. Each stage
//! has a name, workers, a bounded buffer, ordering, a failure policy, a delay and callbacks;
//! where the machine's cores are fewer than the stages' workers, neighbours that match run in
//! the same workers (see [fusing](Stage#fusing)). The results are collected, sent to a sink,
//! or come out as a [`Stream`] as soon as they are ready, in memory bounded by the capacities
//! however long the source is. A [`CancelHandle`] stops the run from any thread, and every
//! item not processed comes back in [`Unprocessed`]:
//!
//! ```
//! use pc_pipeline::{Pipeline, Stage};
//!
//! let words = ["apple", "banana", "cherry"];
//! let mut lengths = Vec::new();
//! let finished = Pipeline::source(&words) // borrowed: the run ends before `for_each` returns
//!     .stage(Stage::new("upper").workers(2), |w: &&str| w.to_uppercase())
//!     .stage(Stage::new("measure").workers(2), |w: String| (w.len(), w))
//!     .for_each(|(len, word)| lengths.push(format!("{word}: {len}")))
//!     .unwrap();
//! assert_eq!(lengths, ["APPLE: 5", "BANANA: 6", "CHERRY: 6"]);
//! assert_eq!(finished.report.stage("measure").unwrap().items_out, 3);
//! println!("{}", finished.report); // one row per stage, then the bottleneck
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![allow(
    clippy::result_large_err,
    reason = "a run's error carries its cause, results and failures by value so that nothing is lost; its leftovers and report are boxed already"
)]

/// The crate README's snippet, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;

mod chain;
mod control;
mod cpu;
mod engine;
mod err;
mod leftovers;
mod meter;
mod pipeline;
mod reorder;
mod report;
mod runs;
mod stage;
mod stream;

pub use crate::chain::{Chain, Staged, Unstaged};
pub use crate::control::CancelHandle;
pub use crate::err::{
    BoxError, Cause, ConfigError, Failure, Place, ProcessError, RunError, StageConfigError,
};
pub use crate::leftovers::{StageLeftovers, Unprocessed};
pub use crate::pipeline::{Pipeline, PipelineBuilder};
pub use crate::report::{RowKind, RunReport, StageBottleneck, StageReport};
pub use crate::stage::{ErrorHook, FailurePolicy, OnError, Stage};
pub use crate::stream::{Collected, Finished, Stream};
/// The roles layer, whole: every type and function of `pc-roles`.
pub use pc_roles as roles;
/// The buffer layer, whole: every type and function of `pc-buffer`.
pub use pc_roles::buffer;
pub use pc_roles::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, CapacityError, ConsumeHook,
    NoHook, OnConsume, OnProduce, ProduceHook, Role, RoleReport,
};
