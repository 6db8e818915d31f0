//! Criterion benches of `Pipeline::process` against the same job written by hand over crossbeam-channel: 10,000,000 `u64`s with identity work, capacity 1024, one and two consumers.
//!
//! Each iteration is one whole job; criterion's time per iteration is the time the job took,
//! the check of its output excluded (see `pc_benches::pipeline`). The two implementations run
//! one right after the other for each consumer count. For the same rows as ratios, with the
//! original Python's speed for comparison, use the comparison runner
//! (`PC_ONLY=pipeline cargo bench -p pc-benches --bench compare`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[path = "crossbeam_pair.rs"]
mod crossbeam_pair;

use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use crossbeam_pair::crossbeam_pair;
use pc_benches::pipeline;

/// Items per job, as in the issue and the comparison runner.
const ITEMS: usize = 10_000_000;
const CAPACITY: usize = 1024;

/// A job: `(capacity, consumers, items)` to the time it took.
type Job = fn(usize, usize, usize) -> Duration;

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(ITEMS as u64));
    // A job takes a tenth of a second or more: ten samples, each of the same number of jobs
    // (criterion's default grows the count from sample to sample, too slow at this length).
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for consumers in [1, 2] {
        let runs: [(&str, Job); 2] = [("pc-pipeline", pipeline), ("crossbeam", crossbeam_pair)];
        for (name, run) in runs {
            let id = BenchmarkId::new(name, format!("{consumers}c/{CAPACITY}"));
            group.bench_function(id, |b| {
                b.iter_custom(|iters| (0..iters).map(|_| run(CAPACITY, consumers, ITEMS)).sum())
            });
        }
    }
    group.finish();
}

criterion_group!(pipeline_benches, benches);
criterion_main!(pipeline_benches);
