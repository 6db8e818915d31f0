//! The fairness runner: how one producer's items split between three consumers in each layout of the buffer, with trivial work and with about 10 µs of work per item.
//!
//! Run with `cargo bench -p pc-benches --bench fairness`. Environment: `PC_REPS` repetitions
//! (default 5). Each run puts `ITEMS` items from one producer into a buffer that three
//! consumers take from one item at a time; each consumer counts what it took. The table shows,
//! per layout and work, the median over repetitions of the smallest and the largest share any
//! consumer took, and the rate. An even split is a third each; with real work per item, a
//! consumer with a small share sat idle while items waited for the others.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::env;
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use pc_benches::jobs::mix;
use pc_buffer::BoundedBuffer;

const CONSUMERS: usize = 3;

/// One run: each consumer's count, and how long the run took.
fn run(buffer: &BoundedBuffer<u64>, items: u64, rounds: u32) -> ([u64; CONSUMERS], Duration) {
    let started = Instant::now();
    let counts = thread::scope(|s| {
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                s.spawn(move || {
                    let (mut count, mut sum) = (0u64, 0u64);
                    while let Ok(item) = buffer.get() {
                        sum = sum.wrapping_add(mix(black_box(item), rounds));
                        count += 1;
                    }
                    black_box(sum);
                    count
                })
            })
            .collect();
        for item in 0..items {
            buffer.put(item).expect("open until the producer is done");
        }
        buffer.close();
        let mut counts = [0; CONSUMERS];
        for (count, consumer) in counts.iter_mut().zip(consumers) {
            *count = consumer.join().expect("a consumer does not panic");
        }
        counts
    });
    assert_eq!(counts.iter().sum::<u64>(), items, "every item taken once");
    (counts, started.elapsed())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let reps: usize = env::var("PC_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    type Make = fn(usize) -> BoundedBuffer<u64>;
    let layouts: [(&str, usize, Make); 5] = [
        ("slot", 1, |c| BoundedBuffer::new(c).expect("capacity")),
        ("two locks", 16, |c| {
            BoundedBuffer::new(c).expect("capacity")
        }),
        ("two locks", 1024, |c| {
            BoundedBuffer::new(c).expect("capacity")
        }),
        ("for batches", 16, |c| {
            BoundedBuffer::for_batches(c).expect("capacity")
        }),
        ("for batches", 1024, |c| {
            BoundedBuffer::for_batches(c).expect("capacity")
        }),
    ];
    // About 10 µs of work per item: 3,000 rounds of `mix` (`HEAVY_ROUNDS` is 20 µs).
    let works: [(&str, u32, u64); 2] = [("trivial", 0, 300_000), ("~10 us", 3_000, 20_000)];
    println!("# 1 producer, {CONSUMERS} consumers taking one item at a time, {reps} repetitions");
    println!("# per run: the smallest and largest share any consumer took, medians");
    println!();
    println!("| layout | capacity | work | items | smallest share | largest share | M items/s |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (work, rounds, items) in works {
        // The work alone on one thread: what one consumer could do with a core to itself.
        let started = Instant::now();
        let sum = (0..items).fold(0u64, |sum, item| {
            sum.wrapping_add(mix(black_box(item), rounds))
        });
        black_box(sum);
        let alone = items as f64 / started.elapsed().as_secs_f64() / 1e6;
        println!("| (one thread, no buffer) | - | {work} | {items} | - | - | {alone:.3} |");
        for (layout, capacity, make) in layouts {
            let (mut low, mut high, mut rate) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..reps {
                let buffer = make(capacity);
                let (counts, elapsed) = run(&buffer, items, rounds);
                let share = |c: u64| c as f64 / items as f64 * 100.0;
                low.push(share(*counts.iter().min().expect("three")));
                high.push(share(*counts.iter().max().expect("three")));
                rate.push(items as f64 / elapsed.as_secs_f64() / 1e6);
            }
            println!(
                "| {layout} | {capacity} | {work} | {items} | {:.1}% | {:.1}% | {:.3} |",
                median(low),
                median(high),
                median(rate)
            );
        }
    }
}
