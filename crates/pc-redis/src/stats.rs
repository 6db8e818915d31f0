//! What the server counts for a buffer ([`Accounting`]) and what the dead-letter stream holds ([`DeadLetter`]).

use std::collections::HashMap;
use std::time::Duration;

use pc_buffer::BufferStats;
use redis::Value;
use serde::de::DeserializeOwned;

use crate::err::RedisError;
use crate::reply;

/// A buffer's counters, the same for every process that reads them.
///
/// Nothing is lost: `produced == acknowledged + dead + in_buffer` at every reading, since each
/// script that moves an item updates both sides at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accounting {
    /// The most items put and not yet acknowledged.
    pub capacity: usize,
    /// Whether the buffer is closed.
    pub closed: bool,
    /// Items put, in all (retried puts the server recognised count once).
    pub produced: u64,
    /// Items acknowledged by their consumer.
    pub acknowledged: u64,
    /// Items moved to the dead-letter stream.
    pub dead: u64,
    /// Items put and neither acknowledged nor dead: waiting, or pending with a consumer.
    pub in_buffer: u64,
    /// The most items the buffer has held at once.
    pub high_water: u64,
    /// First deliveries of items to a consumer.
    pub delivered: u64,
    /// Deliveries of items taken over from a consumer whose lease ran out.
    pub redelivered: u64,
    /// Items a producer sent again that the server had already (skipped, not put twice).
    pub duplicates: u64,
    /// Put calls that waited for room, summed over every process.
    pub put_waits: u64,
    /// Time put calls waited for room.
    pub put_wait_time: Duration,
    /// Get calls that waited for an item.
    pub get_waits: u64,
    /// Time get calls waited for an item.
    pub get_wait_time: Duration,
}

impl Accounting {
    pub(crate) fn from_counters(counters: &HashMap<String, i64>) -> Self {
        let get =
            |field: &str| u64::try_from(counters.get(field).copied().unwrap_or(0)).unwrap_or(0);
        Self {
            capacity: usize::try_from(get("capacity")).unwrap_or(usize::MAX),
            closed: get("closed") == 1,
            produced: get("put"),
            acknowledged: get("acked"),
            dead: get("dead"),
            // Every item put is acknowledged, dead or in the buffer: the scripts keep no fourth
            // place.
            in_buffer: get("put").saturating_sub(get("acked") + get("dead")),
            high_water: get("high_water"),
            delivered: get("got"),
            redelivered: get("redelivered"),
            duplicates: get("duplicates"),
            put_waits: get("put_waits"),
            put_wait_time: Duration::from_micros(get("put_wait_us")),
            get_waits: get("get_waits"),
            get_wait_time: Duration::from_micros(get("get_wait_us")),
        }
    }

    /// The same figures as the in-memory buffer's statistics.
    pub fn buffer_stats(&self) -> BufferStats {
        let mut stats = BufferStats::default();
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        stats.capacity = self.capacity;
        stats.len = size(self.in_buffer);
        stats.high_water = size(self.high_water);
        stats.closed = self.closed;
        stats.items_put = self.produced;
        stats.items_got = self.delivered + self.redelivered;
        stats.put_waits = self.put_waits;
        stats.put_wait_time = self.put_wait_time;
        stats.get_waits = self.get_waits;
        stats.get_wait_time = self.get_wait_time;
        stats
    }
}

/// An item moved to the dead-letter stream, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The item's id in the buffer's stream.
    pub id: String,
    /// Why: `delivered N times`, or `undecodable: ...`.
    pub reason: String,
    /// The item as it was put (JSON).
    pub data: Vec<u8>,
}

impl DeadLetter {
    /// Decodes the item, if it can be.
    ///
    /// # Errors
    ///
    /// The data is not a `T` in JSON.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.data)
    }

    pub(crate) fn parse_all(value: Value) -> Result<Vec<Self>, RedisError> {
        reply::array(value)?
            .into_iter()
            .map(|entry| {
                let mut parts = reply::array(entry)?.into_iter();
                let fields = parts
                    .nth(1)
                    .ok_or_else(|| RedisError::Reply("a short dead letter".into()))?;
                let mut letter = Self {
                    id: String::new(),
                    reason: String::new(),
                    data: Vec::new(),
                };
                let mut fields = reply::array(fields)?.into_iter();
                while let (Some(field), Some(value)) = (fields.next(), fields.next()) {
                    match reply::text(field)?.as_str() {
                        "id" => letter.id = reply::text(value)?,
                        "reason" => letter.reason = reply::text(value)?,
                        "d" => letter.data = reply::bytes(value)?,
                        _ => {}
                    }
                }
                Ok(letter)
            })
            .collect()
    }
}
