//! Criterion benches of `BoundedBuffer` against std's `sync_channel` in the same run: a single thread, and one or four producers feeding one consumer, at capacities 1, 16 and 1024.
//!
//! The implementations are measured cell by cell, one right after the other, so that the noise
//! of a shared machine hits both sides of a ratio alike.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use pc_benches::{PcBuffer, Queue, StdSyncChannel, Workload};

/// Items moved per measured iteration.
const ITEMS: usize = 100_000;
const CAPACITIES: [usize; 3] = [1, 16, 1024];

/// Measures one cell (`workload` at `capacity`) for queue `Q`.
fn cell<Q: Queue>(group: &mut BenchmarkGroup<'_, WallTime>, workload: Workload, capacity: usize) {
    group.bench_with_input(BenchmarkId::new(Q::NAME, capacity), &capacity, |b, &cap| {
        b.iter(|| workload.run::<Q>(cap, ITEMS))
    });
}

fn benches(c: &mut Criterion) {
    for (name, workload) in Workload::ALL {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(ITEMS as u64));
        if workload != Workload::Seq {
            // At capacity 1 every item is a thread hand-off: keep the sample count small.
            group.sample_size(10);
        }
        for capacity in CAPACITIES {
            cell::<PcBuffer>(&mut group, workload, capacity);
            cell::<StdSyncChannel>(&mut group, workload, capacity);
        }
        group.finish();
    }
}

criterion_group!(buffer, benches);
criterion_main!(buffer);
