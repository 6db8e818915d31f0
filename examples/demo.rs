//! The original demo: 20 messages through a buffer of 5, a producer paced at 0.1 s and a slower consumer at 0.15 s, every event printed, then the execution summary ending in `Verification: Success`, and where the time went.
//!
//! Run with `cargo run --release --example demo`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;
use std::time::Duration;

use pc_pipeline::Pipeline;

const CAPACITY: usize = 5;
const MESSAGES: u32 = 20;
const PRODUCER_DELAY: Duration = Duration::from_millis(100);
const CONSUMER_DELAY: Duration = Duration::from_millis(150);

/// A message as the original made them: an id from 1, its content and a priority.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    id: u32,
    content: String,
    priority: &'static str,
}

fn create_messages(count: u32) -> Vec<Message> {
    let priorities = ["high", "medium", "low"];
    (1..=count)
        .map(|id| Message {
            id,
            content: format!("Message {id}"),
            priority: priorities[id as usize % 3],
        })
        .collect()
}

fn main() -> ExitCode {
    println!("--- Producer-Consumer Pattern Demo ---");
    println!("Buffer capacity: {CAPACITY}");
    println!("Total messages: {MESSAGES}");
    println!();

    let messages = create_messages(MESSAGES);
    let mut pipeline = Pipeline::builder()
        .capacity(CAPACITY)
        .producer_delay(PRODUCER_DELAY)
        .consumer_delay(CONSUMER_DELAY)
        .on_produce(|message: &Message, _count, buffer_size| {
            println!(
                "[Producer] Message {} produced | Buffer: {buffer_size}",
                message.id
            );
        })
        .on_consume(|message: &Message, _count, buffer_size| {
            println!(
                "[Consumer] Message {} consumed | Buffer: {buffer_size}",
                message.id
            );
        })
        .build()
        .expect("the configuration is valid");
    let results = match pipeline.run(messages.iter().cloned()) {
        Ok(results) => results,
        Err(err) => {
            eprintln!("the run failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    let stats = pipeline.stats().expect("the pipeline has run");
    let verified = stats.success() && results == messages;

    println!();
    println!("--- Execution Summary ---");
    println!("Messages processed: {}", results.len());
    println!("Items produced: {}", stats.produced());
    println!("Items consumed: {}", stats.consumed());
    println!(
        "Verification: {}",
        if verified { "Success" } else { "Failed" }
    );

    println!();
    println!("--- Where the time went ---");
    println!("Elapsed: {:.2} s", stats.elapsed.as_secs_f64());
    for row in &stats.stages {
        println!(
            "{:<7} busy {:>3.0}%, waited on input {:>3.0}%, on output {:>3.0}%",
            row.name,
            100.0 * row.busy_share(),
            100.0 * row.input_wait_share(),
            100.0 * row.output_wait_share()
        );
    }
    if let Some(bottleneck) = &stats.bottleneck {
        println!("Bottleneck: {} ({})", bottleneck.stage, bottleneck.reason);
    }
    if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
