//! The original demo on the pipeline: 20 messages through a buffer of 5, a paced producer and a slower consumer, every event printed, then a verified summary with the bottleneck verdict.
//!
//! Run with `cargo run --release --example demo`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;
use std::time::Duration;

use pc_pipeline::Pipeline;

const CAPACITY: usize = 5;
const MESSAGES: usize = 20;
const PRODUCER_DELAY: Duration = Duration::from_millis(100);
const CONSUMER_DELAY: Duration = Duration::from_millis(150);

fn main() -> ExitCode {
    println!("--- Producer-Consumer Pattern Demo ---");
    println!("Buffer capacity: {CAPACITY}");
    println!("Messages: {MESSAGES}");
    println!();

    let messages: Vec<String> = (0..MESSAGES).map(|i| format!("Message {i}")).collect();
    let mut pipeline = Pipeline::builder()
        .capacity(CAPACITY)
        .producer_delay(PRODUCER_DELAY)
        .consumer_delay(CONSUMER_DELAY)
        .on_produce(|message: &String, _count, len| {
            println!("[Producer] {message} produced | Buffer: {len}");
        })
        .on_consume(|message: &String, _count, len| {
            println!("[Consumer] {message} consumed | Buffer: {len}");
        })
        .build()
        .expect("the configuration is valid");
    let processed = match pipeline.run(messages.iter().cloned()) {
        Ok(processed) => processed,
        Err(err) => {
            eprintln!("the run failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    let stats = pipeline.stats().expect("the pipeline has run");
    let verified = stats.success && processed == messages;

    println!();
    println!("--- Execution Summary ---");
    println!("Messages processed: {}", processed.len());
    println!("Items produced: {}", stats.produced);
    println!("Items consumed: {}", stats.consumed);
    println!("Bottleneck: {}", stats.bottleneck);
    println!();
    println!("--- Where the time went ---");
    print!("{stats}");
    println!();
    println!(
        "Verification: {}",
        if verified { "Success" } else { "FAILED" }
    );
    if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
