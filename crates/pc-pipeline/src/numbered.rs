//! [`Numbered`]: a pipeline's buffer as the roles see it, holding `(input index, item)` pairs, while it carries the bare items and numbers them on the way out; [`Taker`]: one consumer's view of it, bare items with their numbers kept aside.
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
//!
//! Consumers do not pair items with their numbers at all: each takes bare items through its own
//! [`Taker`], which keeps the numbers of the batch it took last (a range, since a batch's
//! numbers are consecutive). Its sink reads an item's index from there as the outcomes arrive,
//! in the order taken, and the items a consumer hands back when it stops are the last ones of
//! its batch. Taking bare items lets a batch that empties the buffer swap allocations with it
//! instead of moving every item under the lock (see [`BoundedBuffer::get_batch_into`]).

use std::cell::Cell;
use std::convert::Infallible;
use std::ops::Range;
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
        let (mut rest, mut items) = (Vec::new(), Vec::new());
        // Closed: each call returns at once, with items or, once drained, with an error.
        while let Ok(numbers) = self.buffer.get_batch_numbered(&mut items, usize::MAX) {
            rest.extend(numbers.zip(items.drain(..)));
        }
        rest
    }
}

/// One consumer's view of a pipeline's [`Numbered`] buffer: it takes bare items and keeps the
/// numbers (input indices) of the items it took last. Only a consumer uses it, on its own
/// thread; a put through it would go in unnumbered, so it has none.
pub(crate) struct Taker<'a, T> {
    numbered: &'a Numbered<T>,
    /// The numbers of the items taken last that the sink has not been given yet; it ends where
    /// the numbers of the items taken last end.
    pending: Cell<Range<usize>>,
}

impl<'a, T> Taker<'a, T> {
    pub(crate) fn new(numbered: &'a Numbered<T>) -> Self {
        Self {
            numbered,
            pending: Cell::new(0..0),
        }
    }

    /// The input index of the next outcome the sink receives. A consumer hands the sink one
    /// outcome per item, in the order it took them, except for an item whose work panicked,
    /// after which it hands on nothing more.
    #[inline]
    pub(crate) fn next_index(&self) -> usize {
        let mut pending = self.pending.take();
        let index = pending.next();
        self.pending.set(pending);
        debug_assert!(index.is_some(), "more outcomes than items taken");
        index.unwrap_or_default()
    }

    /// The input indices of the last `count` items taken: a consumer that stops hands back
    /// the items it took and did not process, which are the end of its last batch.
    pub(crate) fn last_taken(&self, count: usize) -> Range<usize> {
        let pending = self.pending.take();
        let end = pending.end;
        self.pending.set(pending);
        end - count..end
    }

    /// Keeps the number an item taken alone came with, and hands the item on.
    fn taken_one(&self, (number, item): (usize, T)) -> T {
        self.pending.set(number..number + 1);
        item
    }
}

impl<T> Buffer<T> for Taker<'_, T> {
    type TransportError = Infallible;

    fn put(&self, item: T) -> Result<(), BufferPutError<T, Infallible>> {
        Err(BufferPutError::Closed(item))
    }

    fn put_timeout(&self, item: T, _: Duration) -> Result<(), BufferPutError<T, Infallible>> {
        Err(BufferPutError::Closed(item))
    }

    fn get(&self) -> Result<T, BufferGetError<Infallible>> {
        Buffer::get(self.numbered).map(|numbered| self.taken_one(numbered))
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, BufferGetError<Infallible>> {
        Buffer::get_timeout(self.numbered, timeout).map(|numbered| self.taken_one(numbered))
    }

    #[inline]
    fn get_batch_into(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<usize, BufferGetError<Infallible>> {
        self.get_batch_into_waited(out, max, &mut Duration::default())
    }

    #[inline]
    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Infallible>> {
        let buffer = &self.numbered.buffer;
        let numbers = buffer.get_batch_numbered_waited(out, max, waited)?;
        let count = numbers.len();
        self.pending.set(numbers);
        Ok(count)
    }

    fn close(&self) -> Result<(), Infallible> {
        Buffer::close(self.numbered)
    }

    fn is_closed(&self) -> bool {
        Buffer::is_closed(self.numbered)
    }

    fn len(&self) -> usize {
        Buffer::len(self.numbered)
    }

    fn capacity(&self) -> usize {
        Buffer::capacity(self.numbered)
    }

    fn stats(&self) -> BufferStats {
        Buffer::stats(self.numbered)
    }
}

impl<T> Buffer<(usize, T)> for Numbered<T> {
    type TransportError = Infallible;

    fn put(&self, item: (usize, T)) -> Result<(), BufferPutError<(usize, T), Infallible>> {
        self.put_waited(item, &mut Duration::default())
    }

    fn put_waited(
        &self,
        (index, item): (usize, T),
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<(usize, T), Infallible>> {
        Buffer::put_waited(&self.buffer, item, waited).map_err(|err| err.map(|item| (index, item)))
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
        self.put_batch_from_waited(items, &mut Duration::default())
    }

    fn put_batch_from_waited(
        &self,
        items: &mut Vec<(usize, T)>,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<Vec<(usize, T)>, Infallible>> {
        let Some(&(first, _)) = items.first() else {
            return Ok(());
        };
        let count = items.len();
        // A producer's batch is a run of consecutive indices: it pulled them in one go.
        debug_assert!(items.iter().zip(first..).all(|(&(index, _), n)| index == n));
        let mut stripped = self.stripped.lock().unwrap_or_else(PoisonError::into_inner);
        stripped.extend(items.drain(..).map(|(_, item)| item));
        Buffer::put_batch_from_waited(&self.buffer, &mut stripped, waited).map_err(|err| {
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
        // Not the pipeline's path (its consumers take through a `Taker`), so a scratch `Vec`
        // per call is fine.
        let mut items = Vec::new();
        let numbers = self.buffer.get_batch_numbered(&mut items, max)?;
        let count = numbers.len();
        out.extend(numbers.zip(items));
        Ok(count)
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

    use super::{Numbered, Taker};

    #[test]
    fn a_taker_tells_the_index_of_each_outcome_and_of_what_it_hands_back() {
        let buffer = Numbered::new(BoundedBuffer::new(8).unwrap());
        buffer
            .put_batch((0..6).map(|i| (i, 10 * i)).collect())
            .unwrap();
        let taker = Taker::new(&buffer);
        assert!(taker.put(99).is_err()); // refused: it would go in unnumbered
        assert_eq!(taker.get().ok(), Some(0));
        assert_eq!(taker.next_index(), 0);
        let mut batch = Vec::new();
        assert_eq!(taker.get_batch_into(&mut batch, 4).ok(), Some(4));
        assert_eq!(batch, [10, 20, 30, 40]);
        // Outcomes for the first two; the consumer stops and hands back the other two.
        assert_eq!((taker.next_index(), taker.next_index()), (1, 2));
        assert_eq!(taker.last_taken(2), 3..5);
        let waited = taker.get_timeout(std::time::Duration::MAX);
        assert_eq!(waited.ok(), Some(50));
        assert_eq!(taker.next_index(), 5);
        assert_eq!(taker.last_taken(1), 5..6);
        buffer.close();
        assert!(taker.get_batch_into(&mut batch, 4).unwrap_err().is_closed());
        assert_eq!(buffer.stats().items_got, 6);
    }

    #[test]
    fn indices_come_back_from_the_order_of_puts() {
        let buffer = Numbered::new(BoundedBuffer::new(8).unwrap());
        buffer.put((0, 'a')).unwrap();
        buffer
            .put_batch_from(&mut vec![(1, 'b'), (2, 'c'), (3, 'd')])
            .unwrap();
        buffer.put_batch(vec![(4, 'e')]).unwrap();
        assert_eq!(buffer.get().ok(), Some((0, 'a')));
        let mut out = vec![(9, 'z')];
        assert_eq!(buffer.get_batch_into(&mut out, 2).ok(), Some(2));
        assert_eq!(out, [(9, 'z'), (1, 'b'), (2, 'c')]);
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
