//! The jobs the engine runner measures: work of known cost per item (light, heavy, skewed) and a three-stage parse, transform and aggregate job over generated records.

use std::hint::black_box;

/// A few nanoseconds of work per round on the machine of BENCHMARKS.md.
#[inline]
pub fn mix(mut x: u64, rounds: u32) -> u64 {
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    x
}

/// Light work: a few nanoseconds per item.
#[inline]
pub fn light(x: u64) -> u64 {
    mix(black_box(x), 2)
}

/// Rounds of [`mix`] in [`heavy`]: about 20 µs on the machine of BENCHMARKS.md.
pub const HEAVY_ROUNDS: u32 = 6_000;

/// Heavy work: about 20 µs of CPU per item.
pub fn heavy(x: u64) -> u64 {
    mix(black_box(x), HEAVY_ROUNDS)
}

/// Rounds of [`mix`] for most items of [`skewed`]: about 1 µs.
pub const SKEWED_ROUNDS: u32 = 300;

/// Skewed work: about 1 µs per item, and 100 times that for one item in a hundred.
pub fn skewed(x: u64) -> u64 {
    let rounds = if x.is_multiple_of(100) {
        100 * SKEWED_ROUNDS
    } else {
        SKEWED_ROUNDS
    };
    mix(black_box(x), rounds)
}

/// Sensors in the records of [`lines`].
pub const SENSORS: usize = 64;

/// `n` records `id,sensor-k,a;b;c;d`, the same on every call.
pub fn lines(n: usize) -> Vec<String> {
    (0..n as u64)
        .map(|id| {
            let r = mix(id, 1);
            let sensor = r % SENSORS as u64;
            let values = [r >> 8, r >> 20, r >> 32, r >> 44].map(|v| v % 10_000);
            format!(
                "{id},sensor-{sensor},{};{};{};{}",
                values[0], values[1], values[2], values[3]
            )
        })
        .collect()
}

/// A parsed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The record's id.
    pub id: u64,
    /// Its sensor.
    pub sensor: usize,
    /// Its four values.
    pub values: [u32; 4],
}

/// The first stage: parses a record; `None` if it is malformed.
pub fn parse(line: &str) -> Option<Reading> {
    let mut fields = line.splitn(3, ',');
    let id = fields.next()?.parse().ok()?;
    let sensor = fields.next()?.strip_prefix("sensor-")?.parse().ok()?;
    let mut values = [0; 4];
    let mut parts = fields.next()?.split(';');
    for value in &mut values {
        *value = parts.next()?.parse().ok()?;
    }
    Some(Reading { id, sensor, values })
}

/// The second stage: a reading's score.
pub fn transform(reading: Reading) -> (usize, u64) {
    let weighted = reading
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| u64::from(v) * (i as u64 + 1))
        .sum::<u64>();
    (reading.sensor, mix(weighted ^ reading.id, 4) % 1_000)
}

/// The third stage: per-sensor totals of the scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals(pub Vec<u64>);

impl Default for Totals {
    fn default() -> Self {
        Self(vec![0; SENSORS])
    }
}

impl Totals {
    /// Adds one score.
    #[inline]
    pub fn add(&mut self, (sensor, score): (usize, u64)) {
        self.0[sensor % SENSORS] += score;
    }

    /// Adds other totals.
    pub fn merge(mut self, other: Self) -> Self {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
        self
    }
}

/// The three stages in one loop: the reference every other way of running them is checked
/// against.
pub fn three_stages_loop(lines: &[String]) -> Totals {
    let mut totals = Totals::default();
    for line in lines {
        totals.add(transform(parse(line).expect("well-formed")));
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_back_and_the_loop_sums_every_score() {
        let lines = lines(1_000);
        assert!(
            lines
                .iter()
                .enumerate()
                .all(|(i, l)| parse(l).unwrap().id == i as u64)
        );
        let totals = three_stages_loop(&lines);
        let sum: u64 = lines.iter().map(|l| transform(parse(l).unwrap()).1).sum();
        assert_eq!(totals.0.iter().sum::<u64>(), sum);
        assert!(parse("not,a record").is_none());
    }

    #[test]
    fn skewed_work_is_the_heavier_mix_for_one_item_in_a_hundred() {
        assert_eq!(skewed(200), mix(200, 100 * SKEWED_ROUNDS));
        assert_eq!(skewed(201), mix(201, SKEWED_ROUNDS));
    }
}
