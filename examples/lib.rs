//! Helpers shared by the runnable examples: printing a buffer's wait statistics as a short report.
//!
//! Run an example from the repository root, for example `cargo run --release --example demo`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt::Write as _;
use std::time::Duration;

use pc_buffer::BufferStats;

/// Formats what a buffer's statistics say about a run: items through, high-water mark, how long
/// producers waited on a full buffer and consumers on an empty one, and which side held the
/// other up.
///
/// ```
/// use pc_buffer::BoundedBuffer;
///
/// let buffer = BoundedBuffer::new(2).unwrap();
/// buffer.put(1).unwrap();
/// buffer.get().unwrap();
/// let report = pc_examples::buffer_report(&buffer.stats());
/// assert!(report.contains("Items put:           1"));
/// ```
pub fn buffer_report(stats: &BufferStats) -> String {
    let mut out = String::new();
    let line = |out: &mut String, label: &str, value: String| {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{:<20} {value}", format!("{label}:"));
    };
    line(&mut out, "Items put", stats.items_put.to_string());
    line(&mut out, "Items taken", stats.items_got.to_string());
    line(
        &mut out,
        "Buffer high-water",
        format!("{} of {}", stats.high_water, stats.capacity),
    );
    line(
        &mut out,
        "Producers waited",
        format!("{} times, {}", stats.put_waits, millis(stats.put_wait_time)),
    );
    line(
        &mut out,
        "Consumers waited",
        format!("{} times, {}", stats.get_waits, millis(stats.get_wait_time)),
    );
    line(&mut out, "Held up by", held_up_by(stats).to_string());
    out
}

/// Which side the other side spent most of its time waiting for.
fn held_up_by(stats: &BufferStats) -> &'static str {
    let (put, get) = (stats.put_wait_time, stats.get_wait_time);
    if put > get * 2 {
        "consumers (producers waited on a full buffer)"
    } else if get > put * 2 {
        "producers (consumers waited on an empty buffer)"
    } else {
        "neither side clearly"
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
