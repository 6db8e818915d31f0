//! [`RedisBuffer`] as a [`Buffer`], so the roles and stages drive it as they drive memory.

use std::time::{Duration, Instant};

use pc_buffer::{Buffer, BufferGetError, BufferPutError, BufferStats};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::buffer::RedisBuffer;
use crate::err::RedisError;

/// The trait's readings that cannot fail (`len`, `is_closed`, `stats`) read the server, and give
/// the last figures read when it cannot be reached; [`RedisBuffer::accounting`] reports the
/// failure instead.
impl<T: Serialize + DeserializeOwned> Buffer<T> for RedisBuffer<T> {
    type TransportError = RedisError;

    fn put(&self, item: T) -> Result<(), BufferPutError<T, RedisError>> {
        RedisBuffer::put(self, item)
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), BufferPutError<T, RedisError>> {
        RedisBuffer::put_timeout(self, item, timeout)
    }

    fn put_batch(&self, items: Vec<T>) -> Result<(), BufferPutError<Vec<T>, RedisError>> {
        RedisBuffer::put_batch(self, items)
    }

    fn get(&self) -> Result<T, BufferGetError<RedisError>> {
        RedisBuffer::get(self)
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, BufferGetError<RedisError>> {
        RedisBuffer::get_timeout(self, timeout)
    }

    fn get_batch_into(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<usize, BufferGetError<RedisError>> {
        RedisBuffer::get_batch_into(self, out, max)
    }

    /// Adds only the time spent waiting for room, not the round trips.
    fn put_waited(
        &self,
        item: T,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<T, RedisError>> {
        self.put_one(item, None, waited)
    }

    fn put_batch_from_waited(
        &self,
        items: &mut Vec<T>,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<Vec<T>, RedisError>> {
        self.put_all(std::mem::take(items), None, waited)
    }

    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<RedisError>> {
        self.take(out, max, None::<Instant>, waited, false)
    }

    /// One round trip: the acknowledgement goes first, with the take script or, on one node,
    /// ahead of the blocking read.
    fn acknowledge_and_get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<RedisError>> {
        self.take(out, max, None, waited, true)
    }

    fn acknowledge(&self) -> Result<(), RedisError> {
        RedisBuffer::acknowledge(self)
    }

    fn close(&self) -> Result<(), RedisError> {
        RedisBuffer::close(self)
    }

    fn is_closed(&self) -> bool {
        self.stats().closed
    }

    fn len(&self) -> usize {
        self.stats().len
    }

    fn capacity(&self) -> usize {
        RedisBuffer::capacity(self)
    }

    fn stats(&self) -> BufferStats {
        match self.accounting() {
            Ok(accounting) => accounting.buffer_stats(),
            Err(_) => self.cached_stats(),
        }
    }
}
