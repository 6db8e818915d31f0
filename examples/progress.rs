//! A long staged run with an `indicatif` progress bar driven by the progress hook: results delivered, throughput, and the stage holding the run up.
//!
//! Run with `cargo run --release --example progress` (or `-- 5000000` for fewer records).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::thread;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use pc_examples::{digest, records};
use pc_pipeline::{Pipeline, Stage};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let total: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 2_000_000,
    };
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        )?
        .progress_chars("=> "),
    );
    let hook_bar = bar.clone();
    let collected = Pipeline::source(records(total))
        .try_stage(
            Stage::new("digest").workers(cores).capacity(2048),
            |line: String| digest(&line, 10).ok_or("malformed record"),
        )
        .stage(Stage::new("total"), |d| d.total)
        .progress(Duration::from_millis(100), move |report| {
            hook_bar.set_position(report.delivered() as u64);
            if let Some(bottleneck) = &report.bottleneck {
                hook_bar.set_message(format!("bottleneck: {}", bottleneck.stage));
            }
        })
        .collect()?;
    bar.finish();
    println!("\n{}\n", collected.report);
    let sum: u64 = collected.results.iter().sum();
    println!(
        "{} records, values summing to {sum}",
        collected.results.len()
    );
    let verified = collected.results.len() as u64 == total;
    println!(
        "Verification: {}",
        if verified { "Success" } else { "Failed" }
    );
    Ok(())
}
