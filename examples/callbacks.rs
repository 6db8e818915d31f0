//! The original README's second snippet: three `{id, content}` messages with producer and consumer delays and both callbacks, then the statistics.
//!
//! Run with `cargo run --example callbacks`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::time::Duration;

use pc_pipeline::Pipeline;

/// A message as in the original: an id and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    id: u32,
    content: &'static str,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = vec![
        Message {
            id: 1,
            content: "Hello",
        },
        Message {
            id: 2,
            content: "World",
        },
        Message {
            id: 3,
            content: "!",
        },
    ];
    let mut pipeline = Pipeline::builder()
        .capacity(10)
        .producer_delay(Duration::from_millis(100))
        .consumer_delay(Duration::from_millis(200))
        .on_produce(|item: &Message, count, buffer_len| {
            println!(
                "Produced: {} (total: {count}, buffer: {buffer_len})",
                item.content
            );
        })
        .on_consume(|item: &Message, count, buffer_len| {
            println!(
                "Consumed: {} (total: {count}, buffer: {buffer_len})",
                item.id
            );
        })
        .build()?;
    let results = pipeline.run(data.clone())?;
    assert_eq!(results, data);

    let stats = pipeline.stats().expect("the pipeline has run");
    println!(
        "Stats: produced={}, consumed={}, success={}",
        stats.produced, stats.consumed, stats.success
    );
    print!("{stats}");
    Ok(())
}
