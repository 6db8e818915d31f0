//! The buffer with several producers and consumers: paced producers put messages, slower consumers take them, and the run ends with a verified summary of where the time went.
//!
//! Run with `cargo run --release --example demo`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use pc_buffer::BoundedBuffer;

const CAPACITY: usize = 5;
const PRODUCERS: usize = 2;
const CONSUMERS: usize = 3;
const MESSAGES_PER_PRODUCER: usize = 10;
const PRODUCER_DELAY: Duration = Duration::from_millis(100);
const CONSUMER_DELAY: Duration = Duration::from_millis(150);

fn main() {
    let total = PRODUCERS * MESSAGES_PER_PRODUCER;
    println!("--- Producer-Consumer Pattern Demo ---");
    println!("Buffer capacity: {CAPACITY}");
    println!("Messages: {total} from {PRODUCERS} producers to {CONSUMERS} consumers");
    println!();

    let buffer = BoundedBuffer::new(CAPACITY).expect("capacity is not zero");
    let produced = AtomicUsize::new(0);
    let started = Instant::now();
    let consumed: Vec<Vec<String>> = thread::scope(|s| {
        let producers: Vec<_> = (1..=PRODUCERS)
            .map(|p| {
                let (buffer, produced) = (&buffer, &produced);
                s.spawn(move || {
                    for m in 0..MESSAGES_PER_PRODUCER {
                        thread::sleep(PRODUCER_DELAY); // the work of producing a message
                        let message = format!("Message {}", (p - 1) * MESSAGES_PER_PRODUCER + m);
                        buffer.put(message.clone()).expect("buffer is open");
                        produced.fetch_add(1, Ordering::Relaxed);
                        println!(
                            "[Producer {p}] {message} produced | Buffer: {}",
                            buffer.len()
                        );
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (1..=CONSUMERS)
            .map(|c| {
                let buffer = &buffer;
                s.spawn(move || {
                    let mut mine = Vec::new();
                    for message in buffer {
                        thread::sleep(CONSUMER_DELAY); // the work of processing it
                        println!(
                            "[Consumer {c}] {message} consumed | Buffer: {}",
                            buffer.len()
                        );
                        mine.push(message);
                    }
                    mine
                })
            })
            .collect();
        for producer in producers {
            producer.join().expect("producer panicked");
        }
        buffer.close(); // the original's mark_complete: consumers drain, then stop
        consumers
            .into_iter()
            .map(|c| c.join().expect("consumer panicked"))
            .collect()
    });
    let elapsed = started.elapsed();

    let mut all: Vec<&String> = consumed.iter().flatten().collect();
    all.sort_by_key(|m| m[8..].parse::<usize>().expect("message number"));
    let expected: Vec<String> = (0..total).map(|i| format!("Message {i}")).collect();
    let verified = all
        .iter()
        .map(|m| m.as_str())
        .eq(expected.iter().map(String::as_str));

    println!();
    println!("--- Execution Summary ---");
    println!("Messages processed:  {}", all.len());
    println!("Items produced:      {}", produced.load(Ordering::Relaxed));
    println!("Items consumed:      {}", all.len());
    for (c, mine) in consumed.iter().enumerate() {
        println!("{:<20} {}", format!("Consumer {} took:", c + 1), mine.len());
    }
    println!("Elapsed:             {:.2} s", elapsed.as_secs_f64());
    print!("{}", pc_examples::buffer_report(&buffer.stats()));
    println!(
        "Verification: {}",
        if verified { "Success" } else { "FAILED" }
    );
    if !verified {
        std::process::exit(1);
    }
}
