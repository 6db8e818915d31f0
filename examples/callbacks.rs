//! The original README's advanced snippet: three `{id, content}` messages through a buffer of 5, producer and consumer delays of 0.1 s and 0.15 s, both callbacks, then the statistics.
//!
//! Run with `cargo run --example callbacks`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::time::Duration;

use pc_pipeline::Pipeline;

/// A message as in the original: an id and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    id: u32,
    content: String,
}

/// Printed as the Python design's dictionaries print.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{'id': {}, 'content': '{}'}}", self.id, self.content)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let messages: Vec<Message> = (1..=3)
        .map(|id| Message {
            id,
            content: format!("Message {id}"),
        })
        .collect();
    let mut pipeline = Pipeline::builder()
        .capacity(5)
        .producer_delay(Duration::from_millis(100))
        .consumer_delay(Duration::from_millis(150))
        .on_produce(|item: &Message, _count, buffer_size| {
            println!("Produced: {item} | Buffer: {buffer_size}");
        })
        .on_consume(|item: &Message, _count, buffer_size| {
            println!("Consumed: {item} | Buffer: {buffer_size}");
        })
        .build()?;
    let results = pipeline
        .run(messages.clone())
        .map_err(|err| err.without_items())?;
    assert_eq!(results, messages);

    let stats = pipeline.stats().expect("the pipeline has run");
    println!("Items produced: {}", stats.produced());
    println!("Items consumed: {}", stats.consumed());
    println!("Success: {}", stats.success());
    Ok(())
}
