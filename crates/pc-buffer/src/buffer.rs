//! The [`Buffer`] trait: what the producer and consumer roles need from a bounded blocking buffer, in memory or behind a broker.

use std::convert::Infallible;
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::err::{BufferGetError, BufferPutError};
use crate::{BoundedBuffer, BufferStats};

/// A bounded blocking buffer: the interface the roles and the pipeline are generic over.
///
/// [`BoundedBuffer`] is the in-memory implementation. A buffer backed by a broker (Redis, a
/// message queue) can implement this trait too: its operations may fail in transit, so every
/// error can carry a [`TransportError`](Self::TransportError), and a failed put always hands
/// the item back so the caller can retry or account for it. For `BoundedBuffer` the transport
/// error is [`Infallible`]: those variants cannot occur.
///
/// Only the single-item operations are required; the batch operations have correct but
/// unbatched defaults that an implementation should override when it can do better.
///
/// ```
/// use pc_buffer::{BoundedBuffer, Buffer};
///
/// // Generic code sees "closed" the same way for every implementation.
/// fn drain<B: Buffer<u32>>(buffer: &B) -> Result<u32, B::TransportError> {
///     let mut total = 0;
///     loop {
///         match buffer.get() {
///             Ok(item) => total += item,
///             Err(err) if err.is_closed() => return Ok(total),
///             Err(err) => return Err(err.transport_error_into().expect("only transport is left")),
///         }
///     }
/// }
///
/// let buffer = BoundedBuffer::new(4).unwrap();
/// Buffer::put_batch(&buffer, vec![1, 2, 3]).unwrap();
/// Buffer::close(&buffer).unwrap();
/// assert_eq!(drain(&buffer), Ok(6));
/// ```
pub trait Buffer<T> {
    /// Why an operation failed in transit; [`Infallible`] for an in-memory buffer.
    type TransportError: Error + Send + Sync + 'static;

    /// Puts `item`, waiting while the buffer is full.
    fn put(&self, item: T) -> Result<(), BufferPutError<T, Self::TransportError>>;

    /// Puts `item`, waiting at most `timeout` for room.
    fn put_timeout(
        &self,
        item: T,
        timeout: Duration,
    ) -> Result<(), BufferPutError<T, Self::TransportError>>;

    /// Puts every item in order; on failure hands back the items not delivered, in order.
    fn put_batch(&self, items: Vec<T>) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
        let mut items = items.into_iter();
        while let Some(item) = items.next() {
            if let Err(err) = self.put(item) {
                return Err(err.map(|item| std::iter::once(item).chain(items).collect()));
            }
        }
        Ok(())
    }

    /// Puts every item in order, moving them out of `items` and leaving it empty with its
    /// capacity for the next batch; on failure hands back the items not delivered, in order
    /// (`items` is left empty then too). The default moves the `Vec` into
    /// [`put_batch`](Self::put_batch); implementations that can keep the allocation override it.
    fn put_batch_from(
        &self,
        items: &mut Vec<T>,
    ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
        self.put_batch(std::mem::take(items))
    }

    /// Takes an item, waiting while the buffer is empty; [`BufferGetError::Closed`] once it is
    /// closed and drained.
    fn get(&self) -> Result<T, BufferGetError<Self::TransportError>>;

    /// Takes an item, waiting at most `timeout` for one.
    fn get_timeout(&self, timeout: Duration) -> Result<T, BufferGetError<Self::TransportError>>;

    /// Appends between 1 and `max` items to `out` (none, at once, if `max == 0`), waiting while the
    /// buffer is empty; returns how many.
    fn get_batch_into(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<usize, BufferGetError<Self::TransportError>> {
        if max == 0 {
            return Ok(0);
        }
        out.push(self.get()?);
        Ok(1)
    }

    /// [`put`](Self::put), adding to `waited` how long it waited for room.
    ///
    /// The roles report their blocked time through these `_waited` operations. The default
    /// times the whole call, so for a buffer behind a broker `waited` includes the round trip;
    /// [`BoundedBuffer`] adds only its waits, as its statistics count them, and reads no clock
    /// when it does not wait (see [`BoundedBuffer::put_waited`]).
    fn put_waited(
        &self,
        item: T,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<T, Self::TransportError>> {
        timed(waited, || self.put(item))
    }

    /// [`put_batch_from`](Self::put_batch_from), adding to `waited` how long it waited for
    /// room (see [`put_waited`](Self::put_waited)).
    fn put_batch_from_waited(
        &self,
        items: &mut Vec<T>,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
        timed(waited, || self.put_batch_from(items))
    }

    /// [`get_batch_into`](Self::get_batch_into), adding to `waited` how long it waited for an
    /// item (see [`put_waited`](Self::put_waited)).
    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Self::TransportError>> {
        timed(waited, || self.get_batch_into(out, max))
    }

    /// Acknowledges every item the calling thread has taken from this buffer and not yet
    /// acknowledged: their work is done and its outcome handed on.
    ///
    /// A buffer that delivers at least once (behind a broker) keeps a taken item pending until it
    /// is acknowledged, and hands it to another consumer if its consumer dies first; the
    /// consumer role acknowledges after each batch whose outcomes reached its sink. An in-memory
    /// buffer forgets an item when it is taken, so the default does nothing.
    #[inline]
    fn acknowledge(&self) -> Result<(), Self::TransportError> {
        Ok(())
    }

    /// [`acknowledge`](Self::acknowledge), then
    /// [`get_batch_into_waited`](Self::get_batch_into_waited): what a consumer does between two
    /// batches. A buffer behind a broker sends both in one round trip; the default calls the two
    /// in turn (for an in-memory buffer, only the get).
    #[inline]
    fn acknowledge_and_get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Self::TransportError>> {
        self.acknowledge().map_err(BufferGetError::Transport)?;
        self.get_batch_into_waited(out, max, waited)
    }

    /// Closes the buffer: puts fail from now on, gets drain what is left. Idempotent.
    fn close(&self) -> Result<(), Self::TransportError>;

    /// Whether the buffer is closed.
    fn is_closed(&self) -> bool;

    /// The number of items in the buffer right now.
    fn len(&self) -> usize;

    /// Whether the buffer holds no item right now.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most items the buffer holds at once.
    fn capacity(&self) -> usize;

    /// A snapshot of the buffer's counters (as far as the implementation keeps them).
    fn stats(&self) -> BufferStats;
}

/// Runs `operation` and adds its whole time to `waited`: the `_waited` defaults.
fn timed<R>(waited: &mut Duration, operation: impl FnOnce() -> R) -> R {
    let started = Instant::now();
    let outcome = operation();
    *waited += started.elapsed();
    outcome
}

impl<T> Buffer<T> for BoundedBuffer<T> {
    type TransportError = Infallible;

    #[inline]
    fn put(&self, item: T) -> Result<(), BufferPutError<T, Infallible>> {
        BoundedBuffer::put(self, item).map_err(Into::into)
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), BufferPutError<T, Infallible>> {
        BoundedBuffer::put_timeout(self, item, timeout).map_err(Into::into)
    }

    #[inline]
    fn put_batch(&self, items: Vec<T>) -> Result<(), BufferPutError<Vec<T>, Infallible>> {
        BoundedBuffer::put_batch(self, items).map_err(Into::into)
    }

    #[inline]
    fn put_batch_from(&self, items: &mut Vec<T>) -> Result<(), BufferPutError<Vec<T>, Infallible>> {
        BoundedBuffer::put_batch_from(self, items).map_err(Into::into)
    }

    #[inline]
    fn get(&self) -> Result<T, BufferGetError<Infallible>> {
        BoundedBuffer::get(self).map_err(Into::into)
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, BufferGetError<Infallible>> {
        BoundedBuffer::get_timeout(self, timeout).map_err(Into::into)
    }

    #[inline]
    fn get_batch_into(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<usize, BufferGetError<Infallible>> {
        BoundedBuffer::get_batch_into(self, out, max).map_err(Into::into)
    }

    #[inline]
    fn put_waited(
        &self,
        item: T,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<T, Infallible>> {
        BoundedBuffer::put_waited(self, item, waited).map_err(Into::into)
    }

    #[inline]
    fn put_batch_from_waited(
        &self,
        items: &mut Vec<T>,
        waited: &mut Duration,
    ) -> Result<(), BufferPutError<Vec<T>, Infallible>> {
        BoundedBuffer::put_batch_from_waited(self, items, waited).map_err(Into::into)
    }

    #[inline]
    fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, BufferGetError<Infallible>> {
        BoundedBuffer::get_batch_into_waited(self, out, max, waited).map_err(Into::into)
    }

    fn close(&self) -> Result<(), Infallible> {
        BoundedBuffer::close(self);
        Ok(())
    }

    fn is_closed(&self) -> bool {
        BoundedBuffer::is_closed(self)
    }

    fn len(&self) -> usize {
        BoundedBuffer::len(self)
    }

    fn capacity(&self) -> usize {
        BoundedBuffer::capacity(self)
    }

    fn stats(&self) -> BufferStats {
        BoundedBuffer::stats(self)
    }
}

/// Forwards every operation, so generic code can take a buffer by value, by reference or in an
/// `Arc` alike.
macro_rules! forward_buffer {
    ($($ty:ty),*) => {$(
        impl<T, B: Buffer<T> + ?Sized> Buffer<T> for $ty {
            type TransportError = B::TransportError;

            #[inline]
            fn put(&self, item: T) -> Result<(), BufferPutError<T, Self::TransportError>> {
                (**self).put(item)
            }

            fn put_timeout(
                &self,
                item: T,
                timeout: Duration,
            ) -> Result<(), BufferPutError<T, Self::TransportError>> {
                (**self).put_timeout(item, timeout)
            }

            #[inline]
            fn put_batch(
                &self,
                items: Vec<T>,
            ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
                (**self).put_batch(items)
            }

            #[inline]
            fn put_batch_from(
                &self,
                items: &mut Vec<T>,
            ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
                (**self).put_batch_from(items)
            }

            #[inline]
            fn get(&self) -> Result<T, BufferGetError<Self::TransportError>> {
                (**self).get()
            }

            fn get_timeout(
                &self,
                timeout: Duration,
            ) -> Result<T, BufferGetError<Self::TransportError>> {
                (**self).get_timeout(timeout)
            }

            #[inline]
            fn get_batch_into(
                &self,
                out: &mut Vec<T>,
                max: usize,
            ) -> Result<usize, BufferGetError<Self::TransportError>> {
                (**self).get_batch_into(out, max)
            }

            #[inline]
            fn put_waited(
                &self,
                item: T,
                waited: &mut Duration,
            ) -> Result<(), BufferPutError<T, Self::TransportError>> {
                (**self).put_waited(item, waited)
            }

            #[inline]
            fn put_batch_from_waited(
                &self,
                items: &mut Vec<T>,
                waited: &mut Duration,
            ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
                (**self).put_batch_from_waited(items, waited)
            }

            #[inline]
            fn get_batch_into_waited(
                &self,
                out: &mut Vec<T>,
                max: usize,
                waited: &mut Duration,
            ) -> Result<usize, BufferGetError<Self::TransportError>> {
                (**self).get_batch_into_waited(out, max, waited)
            }

            #[inline]
            fn acknowledge(&self) -> Result<(), Self::TransportError> {
                (**self).acknowledge()
            }

            #[inline]
            fn acknowledge_and_get_batch_into_waited(
                &self,
                out: &mut Vec<T>,
                max: usize,
                waited: &mut Duration,
            ) -> Result<usize, BufferGetError<Self::TransportError>> {
                (**self).acknowledge_and_get_batch_into_waited(out, max, waited)
            }

            fn close(&self) -> Result<(), Self::TransportError> {
                (**self).close()
            }

            fn is_closed(&self) -> bool {
                (**self).is_closed()
            }

            fn len(&self) -> usize {
                (**self).len()
            }

            fn capacity(&self) -> usize {
                (**self).capacity()
            }

            fn stats(&self) -> BufferStats {
                (**self).stats()
            }
        }
    )*};
}

forward_buffer!(&B, Arc<B>);
