//! What the runners share: a run of a workload, its measurement over a fixed time, medians, and the settings from the environment.

use std::env;
use std::thread;
use std::time::{Duration, Instant};

/// Runs `items` through an implementation at `capacity`, checks what arrived, and returns how
/// long the work took, checks excluded; `None` if the implementation cannot run this cell.
pub type Run = Box<dyn Fn(usize, usize) -> Option<Duration>>;

/// Runs `run` again and again for at least `budget`; millions of items per second over the
/// time the runs report (checks excluded), or `None` if the implementation cannot run this cell.
pub fn measure(run: &Run, capacity: usize, items: usize, budget: Duration) -> Option<f64> {
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
