//! Producer and consumer roles for bounded blocking buffers.
//!
//! This crate is the layer above [`pc_buffer`]: it drives producers and consumers against any
//! [`Buffer`], the in-memory [`BoundedBuffer`] or one behind a broker. The buffer layer is
//! re-exported whole as [`buffer`] (and its most used items at the top level), so depending on
//! this crate alone is enough.
//!
//! # Producers
//!
//! A [`Producer`] is a source of items; every iterator is one. A [`ProducerRole`] pulls items,
//! puts them into the buffer, calls an `on_produce(item, count, buffer_len)` callback after
//! each put, sleeps a per-item delay, and returns a [`RoleReport`]:
//!
//! ```
//! use pc_roles::{BoundedBuffer, ProducerRole};
//!
//! let buffer = BoundedBuffer::new(10).unwrap();
//! let mut lines = Vec::new();
//! ProducerRole::new()
//!     .on_produce(|item: &String, _count, len| lines.push(format!("[Producer] {item} produced | Buffer: {len}")))
//!     .run((0..2).map(|i| format!("Message {i}")), &buffer)
//!     .unwrap();
//! assert_eq!(lines, ["[Producer] Message 0 produced | Buffer: 1", "[Producer] Message 1 produced | Buffer: 2"]);
//! ```
//!
//! # Consumers
//!
//! A [`Consumer`] is work done on each item: any closure `FnMut(T) -> Result<R, E>`, or
//! `FnMut(T) -> R` through [`from_fn`]. A [`ConsumerRole`] takes items from the buffer in
//! batches (one lock for many items) while the work still sees one item at a time, calls
//! `on_consume(output, count, buffer_len)`, and hands each outcome to a [`Sink`] that says
//! whether to go on:
//!
//! ```
//! use pc_roles::{BoundedBuffer, ConsumerRole, Flow, ProducerRole};
//!
//! let buffer = BoundedBuffer::new(4).unwrap();
//! let (mut parsed, mut failed) = (Vec::new(), 0);
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         ProducerRole::new().run(["1", "x", "3"].into_iter(), &buffer).unwrap();
//!         buffer.close(); // the only producer is done: consumers drain, then stop
//!     });
//!     ConsumerRole::new()
//!         .batch(16)
//!         .run(|s: &str| s.parse::<u32>(), &buffer, |outcome| {
//!             match outcome {
//!                 Ok(n) => parsed.push(n),
//!                 Err(_) => failed += 1,
//!             }
//!             Flow::Continue
//!         })
//!         .unwrap();
//! });
//! assert_eq!((parsed, failed), (vec![1, 3], 1));
//! ```
//!
//! # Failures
//!
//! Nothing is lost and nothing hangs. A role that stops early returns a [`RoleError`] with the
//! items it still held. Several roles of one run share a stop flag
//! ([`ProducerRole::run_shared`], [`ConsumerRole::run_until`]): a role that fails (a panic in
//! the source, the work or a callback, which is caught and named by its [`Role`]) sets the flag
//! and closes the buffer, and every other role returns what it holds.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The crate README's snippet, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;

mod consumer;
mod err;
mod hook;
mod panic;
mod producer;
mod report;

pub use crate::consumer::{Consumer, ConsumerRole, Flow, FromFn, Sink, from_fn};
pub use crate::err::{Role, RoleError, StopCause};
pub use crate::hook::{ConsumeHook, NoHook, OnConsume, OnProduce, ProduceHook};
pub use crate::panic::{catch_panic, panic_message};
pub use crate::producer::{Producer, ProducerRole};
pub use crate::report::{Clock, RoleReport};
/// The buffer layer, whole: every type and function of `pc-buffer`.
pub use pc_buffer as buffer;
pub use pc_buffer::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, CapacityError,
};
