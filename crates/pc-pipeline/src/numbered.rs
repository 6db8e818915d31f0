//! [`Numbered`]: a pipeline's buffer as the roles see it, holding `(input index, item)` pairs, while it carries the bare items and numbers them on the way out.
//!
//! A pipeline needs every item's input index (to restore input order, to name a failed item, to
//! hand back what was not processed), but the buffer does not need to carry it. Producers pull
//! from the input and put while holding the input's lock, so items enter the buffer in input
//! order, and the buffer numbers the items it hands out in the order they entered
//! ([`BoundedBuffer::get_batch_numbered`]): an item's number *is* its input index. A put that
//! fails puts nothing after the items it delivered, and nothing is put after a close, so the
//! two never drift apart.
//!
//! Carrying `u64` results, the index doubled the bytes that cross between the producer's and
//! the consumer's cores on every hand-over, which is what a buffer operation costs at these
//! speeds.

use std::convert::Infallible;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pc_buffer::{BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats};

/// A [`BoundedBuffer`] of bare items behind the [`Buffer`] of `(index, item)` pairs the roles
/// use. Every item put must carry the index that equals its position in put order (see the
/// module's docs).
pub(crate) struct Numbered<T> {
    buffer: BoundedBuffer<T>,
    /// The producers' items without their indices, reused for every batch put. Producers put
    /// while holding the input's lock, so this lock is never contended.
    stripped: Mutex<Vec<T>>,
}

impl<T> Numbered<T> {
    pub(crate) fn new(buffer: BoundedBuffer<T>) -> Self {
        Self {
            buffer,
            stripped: Mutex::new(Vec::new()),
        }
    }

    /// Closes the buffer: puts fail from now on, gets drain what is left.
    pub(crate) fn close(&self) {
        self.buffer.close();
    }

    /// Closes the buffer and takes what is left in it, with the input indices.
    pub(crate) fn close_and_take_rest(&self) -> Vec<(usize, T)> {
        self.buffer.close();
        let mut rest = Vec::new();
        // Closed: each call returns at once, with items or, once drained, with an error.
        while self
            .buffer
            .get_batch_numbered(&mut rest, usize::MAX)
            .is_ok()
        {}
        rest
    }
}

impl<T> Buffer<(usize, T)> for Numbered<T> {
    type TransportError = Infallible;

    fn put(&self, (index, item): (usize, T)) -> Result<(), BufferPutError<(usize, T), Infallible>> {
        Buffer::put(&self.buffer, item).map_err(|err| err.map(|item| (index, item)))
    }

    fn put_timeout(
        &self,
        (index, item): (usize, T),
        timeout: Duration,
    ) -> Result<(), BufferPutError<(usize, T), Infallible>> {
        Buffer::put_timeout(&self.buffer, item, timeout)
            .map_err(|err| err.map(|item| (index, item)))
    }

    fn put_batch(
        &self,
        mut items: Vec<(usize, T)>,
    ) -> Result<(), BufferPutError<Vec<(usize, T)>, Infallible>> {
        self.put_batch_from(&mut items)
    }

    fn put_batch_from(
        &self,
        items: &mut Vec<(usize, T)>,
    ) -> Result<(), BufferPutError<Vec<(usize, T)>, Infallible>> {
        let Some(&(first, _)) = items.first() else {
            return Ok(());
        };
        let count = items.len();
        // A producer's batch is a run of consecutive indices: it pulled them in one go.
        debug_assert!(items.iter().zip(first..).all(|(&(index, _), n)| index == n));
        let mut stripped = self.stripped.lock().unwrap_or_else(PoisonError::into_inner);
        stripped.extend(items.drain(..).map(|(_, item)| item));
        Buffer::put_batch_from(&self.buffer, &mut stripped).map_err(|err| {
            // The items not delivered are the last ones of the batch.
            err.map(|rest| (first + count - rest.len()..).zip(rest).collect())
        })
    }

    fn get(&self) -> Result<(usize, T), BufferGetError<Infallible>> {
        self.buffer.get_numbered().map_err(Into::into)
    }

    fn get_timeout(&self, timeout: Duration) -> Result<(usize, T), BufferGetError<Infallible>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self
                .buffer
                .get_numbered_deadline(deadline)
                .map_err(Into::into),
            // A deadline beyond what the clock can say: no deadline.
            None => self.get(),
        }
    }

    #[inline]
    fn get_batch_into(
        &self,
        out: &mut Vec<(usize, T)>,
        max: usize,
    ) -> Result<usize, BufferGetError<Infallible>> {
        self.buffer.get_batch_numbered(out, max).map_err(Into::into)
    }

    fn close(&self) -> Result<(), Infallible> {
        self.buffer.close();
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.buffer.is_closed()
    }

    fn len(&self) -> usize {
        self.buffer.len()
    }

    fn capacity(&self) -> usize {
        self.buffer.capacity()
    }

    fn stats(&self) -> BufferStats {
        self.buffer.stats()
    }
}

#[cfg(test)]
mod tests {
    use pc_buffer::{BoundedBuffer, Buffer, BufferPutError};

    use super::Numbered;

    #[test]
    fn indices_come_back_from_the_order_of_puts() {
        let buffer = Numbered::new(BoundedBuffer::new(8).unwrap());
        buffer.put((0, 'a')).unwrap();
        buffer
            .put_batch_from(&mut vec![(1, 'b'), (2, 'c'), (3, 'd')])
            .unwrap();
        buffer.put_batch(vec![(4, 'e')]).unwrap();
        assert_eq!(buffer.get().ok(), Some((0, 'a')));
        let mut out = Vec::new();
        assert_eq!(buffer.get_batch_into(&mut out, 2).ok(), Some(2));
        assert_eq!(out, [(1, 'b'), (2, 'c')]);
        let waited = buffer.get_timeout(std::time::Duration::MAX);
        assert_eq!(waited.ok(), Some((3, 'd')));
        assert_eq!(buffer.close_and_take_rest(), [(4, 'e')]);
        assert!(buffer.get().unwrap_err().is_closed());
    }

    #[test]
    fn a_put_cut_short_hands_back_the_rest_with_their_indices() {
        let buffer = Numbered::new(BoundedBuffer::new(2).unwrap());
        let mut items: Vec<(usize, u32)> = (0..5).map(|i| (i, 10 * i as u32)).collect();
        std::thread::scope(|s| {
            s.spawn(|| {
                // Takes the first two once they are in, then closes: the rest cannot go in.
                let mut out = Vec::new();
                while out.len() < 2 {
                    let want = 2 - out.len();
                    buffer.get_batch_into(&mut out, want).unwrap();
                }
                assert_eq!(out, [(0, 0), (1, 10)]);
                buffer.close();
            });
            match buffer.put_batch_from(&mut items) {
                Err(BufferPutError::Closed(rest)) => {
                    // Two delivered, or more if the consumer took some before closing: what
                    // comes back is always the tail, with the indices it was put with.
                    let from = 5 - rest.len();
                    assert!(from >= 2);
                    let expected: Vec<_> = (from..5).map(|i| (i, 10 * i as u32)).collect();
                    assert_eq!(rest, expected);
                }
                other => panic!("expected a closed buffer, got {other:?}"),
            }
        });
        assert!(items.is_empty());
    }
}
