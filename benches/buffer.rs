//! Criterion benches of `BoundedBuffer` against std's `sync_channel` in the same run: a single thread, and one or four producers feeding one consumer, at capacities 1, 16 and 1024.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pc_benches::{mpsc_buffer, mpsc_sync_channel, seq_buffer, seq_sync_channel};

/// Items moved per measured iteration.
const ITEMS: usize = 100_000;
const CAPACITIES: [usize; 3] = [1, 16, 1024];

fn seq(c: &mut Criterion) {
    let mut group = c.benchmark_group("seq");
    group.throughput(Throughput::Elements(ITEMS as u64));
    for capacity in CAPACITIES {
        group.bench_with_input(
            BenchmarkId::new("pc-buffer", capacity),
            &capacity,
            |b, &cap| b.iter(|| seq_buffer(cap, ITEMS)),
        );
        group.bench_with_input(
            BenchmarkId::new("std-sync_channel", capacity),
            &capacity,
            |b, &cap| b.iter(|| seq_sync_channel(cap, ITEMS)),
        );
    }
    group.finish();
}

fn producers_to_one_consumer(c: &mut Criterion) {
    for producers in [1, 4] {
        let name = if producers == 1 { "spsc" } else { "mpsc" };
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(ITEMS as u64));
        group.sample_size(20);
        for capacity in CAPACITIES {
            group.bench_with_input(
                BenchmarkId::new("pc-buffer", capacity),
                &capacity,
                |b, &cap| b.iter(|| mpsc_buffer(cap, producers, ITEMS)),
            );
            group.bench_with_input(
                BenchmarkId::new("std-sync_channel", capacity),
                &capacity,
                |b, &cap| b.iter(|| mpsc_sync_channel(cap, producers, ITEMS)),
            );
        }
        group.finish();
    }
}

criterion_group!(benches, seq, producers_to_one_consumer);
criterion_main!(benches);
