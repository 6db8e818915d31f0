//! The bounded producer-consumer buffer across processes and machines, on Redis Streams.
//!
//! A [`RedisBuffer`] is the in-memory buffer's contract stretched over a network: a capacity
//! that bounds what is in flight across every producer process, close and drain, exact
//! accounting readable from anywhere, and at-least-once delivery: a taken item stays pending until
//! its consumer acknowledges it, and the items of a consumer that dies are taken over by the
//! others once their lease runs out. It implements [`Buffer`], so the roles of
//! `pc-roles` run across processes unchanged, acknowledging each batch after its work; and
//! [`RedisBuffer::deliveries`] gives a chain of `pc-pipeline` stages its items, each with a
//! [`Lease`] that travels beside it and is acknowledged at the sink, or
//! [forwarded](Lease::forward): its outcome put into the next buffer in the same step, so that a
//! stage between two buffers hands each outcome on exactly once, whatever is killed when.
//!
//! ```no_run
//! use pc_redis::RedisBuffer;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // In every process, producer or consumer, on any machine that reaches the server:
//! let buffer = RedisBuffer::<String>::builder("redis://127.0.0.1:6379/", "jobs")
//!     .capacity(100)
//!     .connect()?;
//!
//! // A producer:
//! buffer.put("resize photo 17".to_string())?;
//! buffer.close()?; // when every producer is done
//!
//! // A consumer: take, work, acknowledge.
//! while let Ok(job) = buffer.get() {
//!     println!("{job}");
//!     buffer.acknowledge()?;
//! }
//! let counts = buffer.accounting()?;
//! assert_eq!(counts.produced, counts.acknowledged + counts.dead + counts.in_buffer);
//! # Ok(())
//! # }
//! ```
//!
//! On the server a buffer named `jobs` is the stream `pc:{jobs}:items` read through one consumer
//! group, beside a hash of its capacity and counters, a dead-letter stream and a wake-up list,
//! all under the hash tag `{jobs}` (or the one [`Builder::hash_tag`] gives), so that on a Redis
//! Cluster ([`RedisBuffer::cluster_builder`]) one node holds the whole buffer and every step
//! stays one atomic script. Redis 7.0 or newer.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The crate README's snippet, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;

mod as_buffer;
mod buffer;
mod config;
mod delivery;
mod err;
mod keys;
mod lease;
mod reply;
mod scripts;
mod server;
mod shared;
mod stats;

pub use buffer::RedisBuffer;
pub use config::{Builder, MAX_CAPACITY};
pub use delivery::{Deliveries, Delivery, Lease};
pub use err::{ConnectError, RedisError};
pub use pc_buffer::{Buffer, BufferGetError, BufferPutError, BufferStats};
pub use stats::{Accounting, DeadLetter};
