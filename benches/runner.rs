//! What the runners share: a run of a workload, its measurement over a fixed time, medians, and the settings from the environment.

use std::env;
use std::thread;
use std::time::{Duration, Instant};

/// Runs `items` through an implementation at `capacity`, checks what arrived, and returns how
/// long the work took, checks excluded; `None` if the implementation cannot run this cell.
pub type Run = Box<dyn Fn(usize, usize) -> Option<Duration>>;

/// Runs `run` again and again for at least `budget`; millions of items per second over the
/// time the runs report (checks excluded), or `None` if the implementation cannot run this cell.
fn measure(run: &Run, capacity: usize, items: usize, budget: Duration) -> Option<f64> {
    let started = Instant::now();
    let (mut moved, mut worked) = (0, Duration::ZERO);
    loop {
        worked += run(capacity, items)?;
        moved += items;
        if started.elapsed() >= budget {
            return Some(moved as f64 / worked.as_secs_f64() / 1e6);
        }
    }
}

/// Medians of one row, `reps` repetitions of each of `runs` at `capacity`, `items` per run:
/// per run, (M items/s, ratio to `runs[base]`), or `None` if it cannot run this row. Within a
/// repetition the runs go one right after the other, in an order that rotates, and each ratio
/// is taken against the base's measurement of the same repetition.
pub fn medians(
    runs: &[&Run],
    base: usize,
    capacity: usize,
    items: usize,
    reps: usize,
    budget: Duration,
) -> Vec<Option<(f64, f64)>> {
    let k = runs.len();
    let mut speeds = vec![Vec::new(); k];
    let mut ratios = vec![Vec::new(); k];
    for rep in 0..reps {
        let mut this = vec![None; k];
        for i in 0..k {
            let j = (i + rep) % k; // rotate the order
            this[j] = measure(runs[j], capacity, items, budget);
        }
        for j in 0..k {
            if let (Some(x), Some(b)) = (this[j], this[base]) {
                speeds[j].push(x);
                ratios[j].push(x / b);
            }
        }
    }
    speeds
        .into_iter()
        .zip(ratios)
        .map(|(s, r)| Some((median(s)?, median(r)?)))
        .collect()
}

/// The median of `xs`, or `None` if it is empty.
pub fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    Some(if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    })
}

/// The environment variable `name` as a number, or `default` if it is unset or no number.
fn env_or(name: &str, default: u64) -> u64 {
    env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A runner's settings, from the environment: `PC_REPS`, `PC_MS`, `PC_ONLY` and `PC_ITEMS`.
pub struct Settings {
    /// Repetitions per cell, at least one.
    pub reps: usize,
    /// How long each measurement runs.
    pub budget: Duration,
    /// Only rows whose name contains this run.
    pub only: String,
    /// Items per run, if set (`PC_ITEMS`), in place of a runner's own choice.
    pub items: Option<usize>,
}

impl Settings {
    /// Reads the settings and prints the header line every runner's table starts with.
    pub fn from_env() -> Self {
        // `cargo bench` passes `--bench`; the runners take no arguments.
        let settings = Self {
            reps: env_or("PC_REPS", 5).max(1) as usize,
            budget: Duration::from_millis(env_or("PC_MS", 300)),
            only: env::var("PC_ONLY").unwrap_or_default(),
            items: env::var("PC_ITEMS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0),
        };
        let cores = thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "# {cores} cores, {} repetitions of {} ms per cell and implementation",
            settings.reps,
            settings.budget.as_millis()
        );
        settings
    }
}
