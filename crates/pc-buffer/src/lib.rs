//! A bounded blocking buffer for producer-consumer programs: short-held locks (one for producers, one for consumers; a single one at capacity 1 and in the layout made for batches) and condition variables for the threads that wait, with wait/notify logic model-checked by loom.
//!
//! # Tutorial
//!
//! A [`BoundedBuffer`] holds at most `capacity` items. Producers [`put`](BoundedBuffer::put)
//! items and wait while it is full; consumers [`get`](BoundedBuffer::get) them in FIFO order and
//! wait while it is empty. A full buffer slows producers down to the consumers' pace: that is
//! backpressure, and it is what keeps memory bounded.
//!
//! ```
//! use pc_buffer::BoundedBuffer;
//!
//! let buffer = BoundedBuffer::new(10).unwrap();
//! buffer.put("hello").unwrap();
//! assert_eq!(buffer.len(), 1);
//! assert_eq!(buffer.get(), Ok("hello"));
//! ```
//!
//! ## Several producers and consumers
//!
//! The buffer is shared by reference. When the producers are done, [`close`](BoundedBuffer::close)
//! it: consumers drain what is left and then stop.
//!
//! ```
//! use pc_buffer::BoundedBuffer;
//!
//! let buffer = BoundedBuffer::new(4).unwrap();
//! let total: u64 = std::thread::scope(|s| {
//!     let producers: Vec<_> = (0..3u64)
//!         .map(|p| {
//!             let buffer = &buffer;
//!             s.spawn(move || {
//!                 for i in 0..100 {
//!                     buffer.put(p * 1000 + i).unwrap();
//!                 }
//!             })
//!         })
//!         .collect();
//!     let consumers: Vec<_> = (0..2)
//!         .map(|_| s.spawn(|| buffer.iter().sum::<u64>()))
//!         .collect();
//!     for producer in producers {
//!         producer.join().unwrap();
//!     }
//!     buffer.close();
//!     consumers.into_iter().map(|c| c.join().unwrap()).sum()
//! });
//! assert_eq!(total, (0..3u64).map(|p| (0..100).map(|i| p * 1000 + i).sum::<u64>()).sum());
//! ```
//!
//! ## Handles that close the buffer
//!
//! [`into_handles`](BoundedBuffer::into_handles) (or [`handles()`]) splits a buffer into a
//! [`PutHandle`] and a [`GetHandle`], each cloneable, as a channel has a sender and a receiver.
//! When the last put handle is dropped the buffer closes, so consumers end once they have
//! drained it, even if a producer panicked: its handle unwinds with it. When the last get
//! handle is dropped, every blocked and later put fails at once with
//! [`PutError::NoConsumer`] and its item back, instead of waiting for a consumer that will
//! never come:
//!
//! ```
//! use pc_buffer::PutError;
//!
//! let (put, get) = pc_buffer::handles(1).unwrap();
//! let producer = std::thread::spawn(move || {
//!     let mut i = 0;
//!     loop {
//!         match put.put(i) {
//!             Ok(()) => i += 1,
//!             Err(err) => return (i, err),
//!         }
//!     }
//! });
//! assert_eq!(get.get(), Ok(0));
//! drop(get); // the only consumer goes
//! let (sent, err) = producer.join().unwrap();
//! assert!(matches!(err, PutError::NoConsumer(n) if n == sent)); // the item comes back
//! ```
//!
//! ## Nothing is lost
//!
//! Every operation that cannot deliver an item hands it back in its error:
//!
//! ```
//! use std::time::Duration;
//! use pc_buffer::{BoundedBuffer, PutTimeoutError, TryPutError};
//!
//! let buffer = BoundedBuffer::new(1).unwrap();
//! buffer.put(1).unwrap();
//! assert_eq!(buffer.try_put(2), Err(TryPutError::Full(2)));
//! assert_eq!(buffer.put_timeout(3, Duration::from_millis(1)), Err(PutTimeoutError::Timeout(3)));
//! buffer.close();
//! assert_eq!(buffer.put(4).unwrap_err().into_inner(), 4);
//! assert_eq!(buffer.get(), Ok(1)); // still drained after close
//! ```
//!
//! ## Batches
//!
//! [`put_batch`](BoundedBuffer::put_batch) and [`get_batch_into`](BoundedBuffer::get_batch_into)
//! move many items per lock acquisition; that is where high throughput comes from.
//! [`put_batch_from`](BoundedBuffer::put_batch_from) empties a `Vec` into the buffer and leaves
//! an allocation at least as large for the next batch, so neither side allocates per batch. A
//! batch put that fits while the producers' half of the buffer is empty, or a batch get that takes
//! everything into an empty `Vec`, swaps allocations with the buffer instead of moving items
//! under its lock.
//!
//! ```
//! use pc_buffer::BoundedBuffer;
//!
//! let buffer = BoundedBuffer::new(256).unwrap();
//! let mut sum = 0;
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         let mut chunk = Vec::with_capacity(100);
//!         for i in 0..10_000u64 {
//!             chunk.push(i);
//!             if chunk.len() == 100 {
//!                 buffer.put_batch_from(&mut chunk).unwrap(); // leaves `chunk` empty
//!             }
//!         }
//!         buffer.close();
//!     });
//!     let mut batch = Vec::with_capacity(64);
//!     while buffer.get_batch_into(&mut batch, 64).is_ok() {
//!         sum += batch.drain(..).sum::<u64>();
//!     }
//! });
//! assert_eq!(sum, (0..10_000).sum());
//! ```
//!
//! A program that only ever moves batches, one producer and a consumer or two, can ask for
//! [`BoundedBuffer::for_batches`]: the same buffer, laid out so that a batch crosses as one
//! cache line each way (see [made for batches](BoundedBuffer#made-for-batches)).
//!
//! ## Putting results back in order
//!
//! Items leave the buffer numbered 0, 1, 2, ... in the order they were put (it is first in,
//! first out), and [`get_batch_numbered`](BoundedBuffer::get_batch_numbered) and
//! [`get_numbered`](BoundedBuffer::get_numbered) tell each item's number. Several consumers can
//! then put their results back in input order without carrying an index through the buffer:
//!
//! ```
//! use pc_buffer::BoundedBuffer;
//!
//! let buffer = BoundedBuffer::new(8).unwrap();
//! let mut squares = vec![0; 1000];
//! std::thread::scope(|s| {
//!     let workers: Vec<_> = (0..3)
//!         .map(|_| {
//!             s.spawn(|| {
//!                 let (mut taken, mut done) = (Vec::new(), Vec::new());
//!                 while let Ok(numbers) = buffer.get_batch_numbered(&mut taken, 4) {
//!                     // The numbers of one batch are consecutive: a range.
//!                     done.extend(numbers.zip(taken.drain(..)).map(|(n, x): (usize, u64)| (n, x * x)));
//!                 }
//!                 done
//!             })
//!         })
//!         .collect();
//!     (0..1000u64).for_each(|x| buffer.put(x).unwrap());
//!     buffer.close();
//!     for worker in workers {
//!         for (n, square) in worker.join().unwrap() {
//!             squares[n] = square;
//!         }
//!     }
//! });
//! assert!(squares.iter().enumerate().all(|(n, &sq)| sq == (n * n) as u64));
//! ```
//!
//! ## Where the time went
//!
//! [`stats`](BoundedBuffer::stats) tells how often and how long producers waited on a full
//! buffer and consumers on an empty one: the first means the consumers are the bottleneck, the
//! second the producers. To split those totals by thread, the `_waited` operations
//! ([`put_waited`](BoundedBuffer::put_waited),
//! [`put_batch_from_waited`](BoundedBuffer::put_batch_from_waited),
//! [`get_batch_into_waited`](BoundedBuffer::get_batch_into_waited)) add each call's own wait to
//! a total of the caller's, reading the clock only when they wait:
//!
//! ```
//! use std::time::Duration;
//! use pc_buffer::BoundedBuffer;
//!
//! let buffer = BoundedBuffer::new(2).unwrap();
//! let mut consumer_waited = Duration::ZERO;
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         let mut out = Vec::new();
//!         while buffer.get_batch_into_waited(&mut out, 2, &mut consumer_waited).is_ok() {}
//!         assert_eq!(out, [1, 2, 3]);
//!     });
//!     buffer.put_batch(vec![1, 2, 3]).unwrap();
//!     buffer.close();
//! });
//! assert_eq!(consumer_waited, buffer.stats().get_wait_time); // the only consumer
//! ```
//!
//! ## Generic code
//!
//! The [`Buffer`] trait is what the roles and the pipeline are written against, so that a
//! broker-backed buffer can replace the in-memory one: its errors can carry a transport error,
//! and it has an acknowledgement step (a no-op in memory). The in-memory buffer's own errors
//! stay exact (closed, full, timeout, no consumer), each with the item handed back.
//!
//! # Operations at a glance
//!
//! | operation | behaviour |
//! | --- | --- |
//! | [`new`](BoundedBuffer::new), [`for_batches`](BoundedBuffer::for_batches) | [`CapacityError`] for capacity 0; `for_batches` lays the same buffer out for whole batches |
//! | [`into_handles`](BoundedBuffer::into_handles), [`handles()`] | a [`PutHandle`] and a [`GetHandle`]: the last put handle dropped closes the buffer, the last get handle dropped fails every put with [`PutError::NoConsumer`] |
//! | [`put`](BoundedBuffer::put), [`try_put`](BoundedBuffer::try_put), [`put_timeout`](BoundedBuffer::put_timeout), [`put_deadline`](BoundedBuffer::put_deadline) | block while full, fail at once, or wait until a deadline; a failed put hands the item back |
//! | [`get`](BoundedBuffer::get), [`try_get`](BoundedBuffer::try_get), [`get_timeout`](BoundedBuffer::get_timeout), [`get_deadline`](BoundedBuffer::get_deadline) | block while empty; after close the remaining items are drained, then "closed and empty" |
//! | [`put_batch`](BoundedBuffer::put_batch), [`put_batch_from`](BoundedBuffer::put_batch_from), [`get_batch`](BoundedBuffer::get_batch), [`get_batch_into`](BoundedBuffer::get_batch_into) | many items per lock; a batch put cut short hands back exactly the undelivered items |
//! | [`get_numbered`](BoundedBuffer::get_numbered), [`get_batch_numbered`](BoundedBuffer::get_batch_numbered) | also each item's number in put order (a batch's numbers as a range) |
//! | [`close`](BoundedBuffer::close) | idempotent; wakes every blocked producer and consumer |
//! | [`len`](BoundedBuffer::len), [`is_empty`](BoundedBuffer::is_empty), [`is_full`](BoundedBuffer::is_full), [`capacity`](BoundedBuffer::capacity), [`is_closed`](BoundedBuffer::is_closed) | the state right now (`len` is the Python design's `size`) |
//! | [`iter`](BoundedBuffer::iter), `for item in &buffer`, [`try_iter`](BoundedBuffer::try_iter) | a blocking iterator that ends once closed and drained; a non-blocking drain |
//! | [`stats`](BoundedBuffer::stats) | items through, high-water mark, how often and how long each side waited, threads blocked now |
//! | [`put_waited`](BoundedBuffer::put_waited), [`get_batch_into_waited`](BoundedBuffer::get_batch_into_waited), ... | as without `_waited`, adding the call's own wait to a total of the caller's |
//!
//! # Verification
//!
//! The wait/notify logic is model-checked with [loom](https://docs.rs/loom). The models (in
//! `src/tests/loom_*.rs`) explore FIFO hand-off, competing producers, close with several
//! consumers and with several blocked producers, a consumer that comes after close, spurious
//! wake-ups, batch against single operations (a batch put racing close, into a side that
//! already holds items), the two halves' swaps and top-ups, the one-slot
//! buffer's numbering, and the handles (the last put or get handle dropping while the other
//! side waits, a clone racing a drop), each in every layout it applies to. From the repository
//! root:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test
//! LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg loom" cargo test -p pc-buffer --lib --release -- --test-threads=1
//! ```
//!
//! The first bounds each model to two preemptions (the default of `LOOM_MAX_PREEMPTIONS`); the
//! second runs every model deeper, one at a time (add `-- --nocapture` to see how many
//! interleavings each explored). Loom cannot model timeouts or a panic while a lock is held:
//! std tests cover those, with a many-producer many-consumer stress test that checks count,
//! sum, exactly-once delivery and per-producer order, and a test that no consumer idles while
//! items wait for it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The crate README's snippet, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;

mod backoff;
mod batched;
mod bounded;
mod buffer;
mod err;
mod halves;
mod handles;
mod iter;
mod layout;
mod lock;
mod one_lock;
mod slot;
mod stats;
mod sync;
mod waiters;

#[cfg(test)]
mod tests;

pub use bounded::BoundedBuffer;
pub use buffer::Buffer;
pub use err::{
    BufferGetError, BufferPutError, CapacityError, GetError, GetTimeoutError, PutError,
    PutTimeoutError, TryGetError, TryPutError,
};
pub use handles::{GetHandle, PutHandle, handles};
pub use iter::{Iter, TryIter};
pub use stats::BufferStats;
