//! A realistic job: parse and checksum 200,000 generated records with one consumer, then with several, in input order, and print where the time went.
//!
//! Run with `cargo run --release --example checksums`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::thread;

use pc_examples::{Digest, digest, records};
use pc_pipeline::Pipeline;

const RECORDS: u64 = 200_000;
const ROUNDS: u32 = 20;

fn run(consumers: usize) -> Result<Vec<Digest>, Box<dyn std::error::Error>> {
    let mut pipeline = Pipeline::builder()
        .capacity(1024)
        .consumers(consumers)
        .ordered(true)
        .build()?;
    let digests = pipeline
        .try_process(records(RECORDS), |record| {
            digest(&record, ROUNDS).ok_or_else(|| format!("malformed record: {record}"))
        })
        .map_err(|err| err.without_items())?;
    println!("--- {consumers} consumer(s) ---");
    print!("{}", pipeline.stats().expect("the pipeline has run"));
    println!();
    Ok(digests.results)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let one = run(1)?;
    let many = run(cores.max(2))?;
    assert_eq!(
        one, many,
        "several consumers give the same results in the same order"
    );
    assert!(many.iter().map(|d| d.id).eq(0..RECORDS));
    let total: u64 = many.iter().map(|d| d.total).sum();
    let checksum = many.iter().fold(0, |acc, d| acc ^ d.checksum);
    println!("{RECORDS} records, values summing to {total}, combined checksum {checksum:016x}");
    Ok(())
}
