//! Criterion benches of `BoundedBuffer` against crossbeam-channel, flume, kanal and std's `sync_channel` in the same run: every workload at capacities 1, 16 and 1024, per item and in batches.
//!
//! The implementations are measured cell by cell, one right after the other, so that the noise
//! of a shared machine hits every side of a ratio alike. std has a single consumer, so its mpmc
//! cells are left out. For the ratios in one table, use the comparison runner
//! (`cargo bench -p pc-benches --bench compare`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[path = "peers.rs"]
mod peers;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use pc_benches::{Api, PcBuffer, Queue, StdSyncChannel, Workload};
use peers::{Crossbeam, Flume, Kanal};

/// Items moved per measured iteration.
const ITEMS: usize = 100_000;
const CAPACITIES: [usize; 3] = [1, 16, 1024];

/// Measures one cell (`workload` through `api` at `capacity`) for queue `Q`, if `Q` can run it.
fn cell<Q: Queue>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    workload: Workload,
    api: Api,
    capacity: usize,
) {
    if workload.run::<Q>(api, 1, 8).is_none() {
        return; // e.g. several consumers on std's channel
    }
    group.bench_with_input(BenchmarkId::new(Q::NAME, capacity), &capacity, |b, &cap| {
        b.iter(|| workload.run::<Q>(api, cap, ITEMS))
    });
}

fn benches(c: &mut Criterion) {
    for (api, prefix) in [(Api::PerItem, ""), (Api::Batch, "batch-")] {
        for (name, workload) in Workload::ALL {
            let mut group = c.benchmark_group(format!("{prefix}{name}"));
            group.throughput(Throughput::Elements(ITEMS as u64));
            if workload != Workload::Seq {
                // At capacity 1 every item is a thread hand-off: keep the sample count small.
                group.sample_size(10);
            }
            for capacity in CAPACITIES {
                cell::<PcBuffer>(&mut group, workload, api, capacity);
                cell::<Crossbeam>(&mut group, workload, api, capacity);
                cell::<Flume>(&mut group, workload, api, capacity);
                cell::<Kanal>(&mut group, workload, api, capacity);
                cell::<StdSyncChannel>(&mut group, workload, api, capacity);
            }
            group.finish();
        }
    }
}

criterion_group!(buffer, benches);
criterion_main!(buffer);
