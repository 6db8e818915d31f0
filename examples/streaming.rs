//! Streaming with bounded memory: 100,000,000 items (or the count given) flow through three stages from a source that makes them on the fly; memory stays at the capacities' size.
//!
//! Run with `cargo run --release --example streaming` (or `-- 10000000` for fewer items).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::thread;

use pc_pipeline::{Pipeline, Stage};

/// The process's peak resident memory in KiB, where the system tells it (Linux).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let items: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 100_000_000,
    };
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let capacity = 4096;
    let stage = |name: &str, workers: usize| Stage::new(name).workers(workers).capacity(capacity);
    let before = peak_memory_kib();
    let (mut count, mut checksum) = (0u64, 0u64);
    // `0..items` is never stored: the source makes each number when a stage has room for it.
    let finished = Pipeline::source(0..items)
        .stage(stage("scramble", 1), |n: u64| {
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        })
        .stage(stage("mix", cores.max(2) - 1), |n: u64| n ^ (n >> 29))
        .stage(stage("fold", 1), |n: u64| n.rotate_left(7))
        .for_each(|n| {
            count += 1;
            checksum ^= n;
        })?;
    println!("{}\n", finished.report);
    println!("{count} items, checksum {checksum:016x}");
    let held: usize = finished
        .report
        .stages
        .iter()
        .filter_map(|s| s.capacity)
        .sum();
    println!("buffers hold at most {held} items in all, whatever the input's length");
    match (before, peak_memory_kib()) {
        (Some(before), Some(after)) => println!(
            "peak memory: {:.1} MiB before the run, {:.1} MiB after it (an input of {items} u64 would take {:.0} MiB)",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            items as f64 * 8.0 / 1024.0 / 1024.0
        ),
        _ => println!("peak memory: not reported by this system"),
    }
    let verified = count == items && finished.unprocessed.is_empty();
    println!(
        "Verification: {}",
        if verified { "Success" } else { "Failed" }
    );
    Ok(())
}
