//! The hand-off bound at small capacities: the pipeline's job over the counted ring at every kind of threshold and over the swapped queue, and the roles alone over pc-buffer's two layouts and over the swapped queue, next to `Pipeline::process`, at capacities 4 to 64.
//!
//! Run with `cargo bench -p pc-benches --bench bounds`. Environment, as for the comparison
//! runner: `PC_REPS` repetitions (default 5), `PC_MS` milliseconds per measurement (default
//! 300), `PC_ONLY` a substring of the row names (for example `/16`), `PC_ITEMS` items per run
//! (default 10,000,000, the job of the pipeline rows).
//!
//! The comparison runner reads the pipeline against minimal buffers between two spinning
//! threads. Its counted ring acts on whatever it sees: the producer fills any room, the consumer
//! takes any run, so at a small capacity its runs may be short. If waiting for longer runs
//! (fewer round trips between the cores per item) carried much more, the bound would lie above
//! those rows. Here each ring column waits for a different amount before it acts (see
//! `pc_benches::spin_counted_ring`): the producer for `room` free slots, the consumer for a run
//! of `run` items, with `c` the capacity. Then the runner's `lock: swap`, a locked queue whose
//! two sides swap allocations, so that no item moves under the lock (see
//! `pc_benches::Handoff::SwappedQueue`), the fastest hand-off here. The last three columns run
//! the job with pc-roles' producer and consumer roles alone, without the pipeline's own layer
//! (`pc_benches::roles`): over pc-buffer's `BoundedBuffer::new` (two locks), over
//! `BoundedBuffer::for_batches` (one lock, the layout the pipeline takes for this job), and
//! over the swapped queue made a `Buffer` (`pc_benches::SwappedBuffer`). Read from right to
//! left, the columns at one capacity split what the pipeline costs against the swapped queue:
//! the roles, pc-buffer's hand-over, then the pipeline's layer. Ratios are to the ring that waits for nothing (`ring 1,1`, the
//! runner's `ring: counted`) in the same repetition; medians over repetitions.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[path = "runner.rs"]
mod runner;

use pc_benches::{Handoff, SwappedBuffer, pipeline, roles, spin_counted_ring, spin_handoff};
use pc_buffer::BoundedBuffer;
use runner::{Run, Settings, medians};

const CAPACITIES: [usize; 5] = [4, 8, 16, 32, 64];
/// Items per run unless `PC_ITEMS` says otherwise: the job of the runner's pipeline rows.
const ITEMS: usize = 10_000_000;
/// 100x what the Python original ran at capacity 16 (0.57 M items/s), in M items/s.
const PYTHON_TARGET_16: f64 = 57.0;

/// The thresholds of the ring columns, `(room, run)`, for a capacity `c`, with their names.
fn thresholds(c: usize) -> [(&'static str, usize, usize); 8] {
    let (half, quarter) = ((c / 2).max(1), (c / 4).max(1));
    [
        ("ring 1,1", 1, 1),
        ("ring c/4,1", quarter, 1),
        ("ring 1,c/4", 1, quarter),
        ("ring c/2,1", half, 1),
        ("ring 1,c/2", 1, half),
        ("ring c/2,c/2", half, half),
        ("ring c,1", c, 1),
        ("ring 1,c", 1, c),
    ]
}

fn main() {
    let settings = Settings::from_env();
    let (reps, budget) = (settings.reps, settings.budget);
    let items = settings.items.unwrap_or(ITEMS);
    println!(
        "# M items/s (median) of {items} u64s, one producer, one consumer, identity work, and in \
         parentheses the median ratio to `ring 1,1`"
    );
    println!(
        "# ring room,run: the producer fills once it sees `room` free slots, the consumer takes \
         once it sees `run` items; c is the capacity"
    );
    println!();
    print!("| hand-off | pc-pipeline |");
    for (name, _, _) in thresholds(16) {
        print!(" {name} |");
    }
    println!(" lock: swap | roles: two locks | roles: for_batches | roles: swapped |");
    println!("|{}", " --- |".repeat(6 + thresholds(16).len()));

    let mut summary = None;
    for capacity in CAPACITIES {
        let row = format!("1c/{capacity}");
        if !row.contains(&settings.only) {
            continue;
        }
        let mut runs: Vec<Run> = vec![Box::new(|c, n| Some(pipeline(c, 1, n)))];
        for (_, room, run) in thresholds(capacity) {
            runs.push(Box::new(move |c, n| {
                Some(spin_counted_ring(c, room, run, n))
            }));
        }
        runs.push(Box::new(|c, n| spin_handoff(Handoff::SwappedQueue, c, n)));
        runs.push(Box::new(|c, n| {
            Some(roles(&BoundedBuffer::new(c).expect("capacity above 0"), n))
        }));
        runs.push(Box::new(|c, n| {
            Some(roles(
                &BoundedBuffer::for_batches(c).expect("capacity above 0"),
                n,
            ))
        }));
        runs.push(Box::new(|c, n| Some(roles(&SwappedBuffer::new(c), n))));
        // The ring that waits for nothing is the base of the ratios.
        let runs: Vec<&Run> = runs.iter().collect();
        let medians: Vec<(f64, f64)> = medians(&runs, 1, capacity, items, reps, budget)
            .into_iter()
            .map(|m| m.expect("every column runs every time"))
            .collect();
        print!("| {row} |");
        for (speed, ratio) in &medians {
            print!(" {speed:.2} ({ratio:.2}x) |");
        }
        println!();
        if capacity == 16 {
            let rings = &medians[1..=thresholds(capacity).len()];
            let best = rings.iter().map(|m| m.0).fold(0.0, f64::max);
            let [swap, roles_two_locks, roles_buffer, roles_swap] =
                [0, 1, 2, 3].map(|i| medians[rings.len() + 1 + i].0);
            let pipeline = medians[0].0;
            summary = Some(format!(
                "capacity 16: 100x Python needs {PYTHON_TARGET_16:.0} M items/s; the best ring \
                 carries {best:.2} ({:.2}x the need), the swapped queue {swap:.2} ({:.2}x); the \
                 roles over the swapped queue {roles_swap:.2} ({:.2}x the swapped queue), over \
                 pc-buffer for batches {roles_buffer:.2} ({:.2}x the roles over the swapped \
                 queue; over two locks {roles_two_locks:.2}); pc-pipeline {pipeline:.2} ({:.2}x \
                 the roles over pc-buffer for batches, {:.2}x the swapped queue)",
                best / PYTHON_TARGET_16,
                swap / PYTHON_TARGET_16,
                roles_swap / swap,
                roles_buffer / roles_swap,
                pipeline / roles_buffer,
                pipeline / swap
            ));
        }
    }
    if let Some(summary) = summary {
        println!();
        println!("{summary}");
    }
}
