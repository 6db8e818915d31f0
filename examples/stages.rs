//! A three-stage job: generate CSV records (some malformed), parse them, checksum them on every core, and aggregate per sensor; prints the stage report and the bottleneck.
//!
//! Run with `cargo run --release --example stages`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::thread;

use pc_examples::{digest, records};
use pc_pipeline::{FailurePolicy, Pipeline, Stage};

const RECORDS: u64 = 300_000;
const ROUNDS: u32 = 20;
/// Every this many records, one is damaged on the way in.
const DAMAGED_EVERY: u64 = 50_000;

/// A parsed record: its id, its sensor and its text (kept for the checksum).
struct Reading {
    id: u64,
    sensor: String,
    line: String,
}

fn parse(line: String) -> Result<Reading, String> {
    let mut fields = line.splitn(3, ',');
    let id = fields.next().and_then(|f| f.parse().ok());
    let sensor = fields.next().and_then(|f| f.strip_prefix("sensor-"));
    match (id, sensor, fields.next()) {
        (Some(id), Some(sensor), Some(_)) => Ok(Reading {
            id,
            sensor: sensor.to_owned(),
            line: line.clone(),
        }),
        _ => Err(format!("malformed record: {line:.30}")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let source = records(RECORDS).enumerate().map(|(n, line)| {
        if n as u64 % DAMAGED_EVERY == DAMAGED_EVERY - 1 {
            line.replace(',', " ")
        } else {
            line
        }
    });
    let mut per_sensor: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut last_id = None;
    let finished = Pipeline::source(source)
        .try_stage(
            Stage::new("parse")
                .workers(2)
                .capacity(1024)
                .on_failure(FailurePolicy::Continue),
            parse,
        )
        .try_stage(
            Stage::new("checksum").workers(cores).capacity(1024),
            |reading: Reading| {
                let digest = digest(&reading.line, ROUNDS).ok_or("unreadable values")?;
                Ok::<_, String>((reading.id, reading.sensor, digest.total))
            },
        )
        .for_each(|(id, sensor, total)| {
            // Ordered stages: ids arrive in source order.
            assert!(last_id < Some(id), "out of order at {id}");
            last_id = Some(id);
            let entry = per_sensor.entry(sensor).or_default();
            entry.0 += 1;
            entry.1 += total;
        })?;

    println!("{}\n", finished.report);
    for failure in &finished.failures {
        println!("skipped: {failure}");
    }
    let (busiest, (count, total)) = per_sensor
        .iter()
        .max_by_key(|(_, (count, _))| *count)
        .expect("some sensor reported");
    println!(
        "{} sensors; the busiest, sensor-{busiest}, sent {count} readings totalling {total}",
        per_sensor.len()
    );
    let aggregated: u64 = per_sensor.values().map(|(count, _)| count).sum();
    let report = &finished.report;
    let balanced = report
        .stages
        .iter()
        .all(|s| s.items_in == s.items_out + s.failed + s.returned);
    let verified = aggregated + finished.failures.len() as u64 == RECORDS && balanced;
    println!(
        "{aggregated} aggregated + {} skipped = {RECORDS} records",
        finished.failures.len()
    );
    println!(
        "Verification: {}",
        if verified { "Success" } else { "Failed" }
    );
    Ok(())
}
