//! A generated data set for the examples: CSV-like records made on the fly, and the digest the checksums example computes for each.
//!
//! Run an example from the repository root, for example `cargo run --release --example demo`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The workspace README's Rust snippets, compiled and run as doctests so that they stay true
/// (here, in a crate that is not published and depends on every library crate).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;

/// `n` records of the form `id,name,v1;v2;...;v16`, made on the fly (nothing is stored), the
/// same on every run.
///
/// ```
/// let first = pc_examples::records(1).next().unwrap();
/// assert!(first.starts_with("0,sensor-"));
/// assert_eq!(pc_examples::records(1_000).count(), 1_000);
/// ```
pub fn records(n: u64) -> impl Iterator<Item = String> + Send {
    (0..n).map(|id| {
        let mut state = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            // xorshift64: a fixed pseudo-random sequence per record.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let values: Vec<String> = (0..16).map(|_| (next() % 100_000).to_string()).collect();
        format!("{id},sensor-{},{}", next() % 1_000, values.join(";"))
    })
}

/// What the checksums example computes for a record: its id, the sum of its values, and a
/// checksum of its text (FNV-1a, repeated `rounds` times to stand for heavier work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// The record's id.
    pub id: u64,
    /// The sum of the record's values.
    pub total: u64,
    /// The checksum of the record's text.
    pub checksum: u64,
}

/// Parses a record and computes its [`Digest`]; `None` if the record is malformed.
///
/// ```
/// let d = pc_examples::digest("7,sensor-3,1;2;3", 1).unwrap();
/// assert_eq!((d.id, d.total), (7, 6));
/// assert!(pc_examples::digest("not a record", 1).is_none());
/// ```
pub fn digest(record: &str, rounds: u32) -> Option<Digest> {
    let mut fields = record.splitn(3, ',');
    let id = fields.next()?.parse().ok()?;
    let _name = fields.next()?;
    let total = fields
        .next()?
        .split(';')
        .map(|v| v.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    let mut checksum = 0xcbf2_9ce4_8422_2325_u64;
    for round in 0..rounds {
        checksum ^= u64::from(round);
        for byte in record.bytes() {
            checksum = (checksum ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Some(Digest {
        id,
        total,
        checksum,
    })
}
