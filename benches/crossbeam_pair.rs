//! The pipeline's job written by hand over crossbeam-channel, the reference for `Pipeline::process` in the benches and the comparison runner.

use std::thread;
use std::time::{Duration, Instant};

use pc_benches::Tally;

/// One producer thread sends `0..n` as `u64`s through `crossbeam_channel::bounded(capacity)`;
/// `consumers` threads each collect what they receive into a `Vec`, and the `Vec`s are
/// concatenated: what `pc_benches::pipeline` asks of `Pipeline::process`, without the
/// pipeline's bookkeeping. Returns the time the job took, the check of the output excluded.
pub fn crossbeam_pair(capacity: usize, consumers: usize, n: usize) -> Duration {
    let started = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded(capacity);
    let out: Vec<u64> = thread::scope(|s| {
        let consumers: Vec<_> = (0..consumers)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || rx.iter().collect::<Vec<u64>>())
            })
            .collect();
        s.spawn(move || (0..n as u64).for_each(|x| tx.send(x).expect("receivers alive")));
        consumers
            .into_iter()
            .flat_map(|c| c.join().expect("consumer panicked"))
            .collect()
    });
    let elapsed = started.elapsed();
    Tally::of(&out).check(1, n);
    elapsed
}
