//! [`PutHandle`] and [`GetHandle`]: cloneable sides of a buffer that close it when the last handle of a side is dropped.
//!
//! The handles count themselves per side. When the last put handle goes, the buffer closes:
//! consumers drain what is left, then see it closed. When the last get handle goes, the buffer
//! closes too and remembers why, so that every blocked and later put fails at once with
//! [`PutError::NoConsumer`] and its item back. The count is the only state of their own; every
//! wait and wake-up is the buffer's, model-checked with it.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::sync::{Arc, AtomicBool, AtomicUsize};
use crate::{
    BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats, CapacityError, GetError,
    GetTimeoutError, PutError, PutTimeoutError, TryGetError, TryPutError,
};

/// What the handles of one buffer share.
struct Shared<T> {
    buffer: BoundedBuffer<T>,
    /// Put handles alive; the last one dropped closes the buffer.
    putters: AtomicUsize,
    /// Get handles alive; the last one dropped closes the buffer and sets `no_consumer`.
    getters: AtomicUsize,
    /// Set before the close that the last get handle's drop makes: a put refused as closed
    /// reads it afterwards, so it always sees why.
    no_consumer: AtomicBool,
}

impl<T> Shared<T> {
    /// Says why a put found the buffer closed.
    fn refused<U>(&self, item: U) -> PutError<U> {
        if self.no_consumer.load(Ordering::Acquire) {
            PutError::NoConsumer(item)
        } else {
            PutError::Closed(item)
        }
    }

    fn put_error<U>(&self, err: PutError<U>) -> PutError<U> {
        self.refused(err.into_inner())
    }

    fn try_put_error(&self, err: TryPutError<T>) -> TryPutError<T> {
        match err {
            TryPutError::Closed(item) => self.refused(item).into(),
            other => other,
        }
    }

    fn put_timeout_error(&self, err: PutTimeoutError<T>) -> PutTimeoutError<T> {
        match err {
            PutTimeoutError::Closed(item) => self.refused(item).into(),
            other => other,
        }
    }

    fn buffer_put_error<U, E>(&self, err: BufferPutError<U, E>) -> BufferPutError<U, E> {
        match err {
            BufferPutError::Closed(item) => self.refused(item).into(),
            other => other,
        }
    }
}

impl<T> BoundedBuffer<T> {
    /// Splits the buffer into a put handle and a get handle, each of which can be cloned and
    /// sent to other threads. Dropping the last put handle closes the buffer, so consumers end
    /// once they have drained it, even when a producer panics; dropping the last get handle
    /// makes every put fail at once with [`PutError::NoConsumer`] and the item back.
    ///
    /// ```
    /// use pc_buffer::BoundedBuffer;
    ///
    /// let (put, get) = BoundedBuffer::new(4).unwrap().into_handles();
    /// let producers: Vec<_> = (0..3u64)
    ///     .map(|p| {
    ///         let put = put.clone();
    ///         std::thread::spawn(move || (0..100).for_each(|i| put.put(p * 1000 + i).unwrap()))
    ///     })
    ///     .collect();
    /// drop(put); // the producers hold the only put handles now
    /// let total: u64 = get.iter().sum(); // ends when the last producer is done
    /// producers.into_iter().for_each(|p| p.join().unwrap());
    /// assert_eq!(total, (0..3u64).map(|p| (0..100).map(|i| p * 1000 + i).sum::<u64>()).sum());
    /// ```
    pub fn into_handles(self) -> (PutHandle<T>, GetHandle<T>) {
        let shared = Arc::new(Shared {
            buffer: self,
            putters: AtomicUsize::new(1),
            getters: AtomicUsize::new(1),
            no_consumer: AtomicBool::new(false),
        });
        (
            PutHandle {
                shared: Arc::clone(&shared),
            },
            GetHandle { shared },
        )
    }
}

/// A put handle and a get handle of a new buffer of `capacity` items: the same as
/// [`BoundedBuffer::new`] followed by [`into_handles`](BoundedBuffer::into_handles).
///
/// # Errors
///
/// [`CapacityError`] if `capacity` is zero.
///
/// ```
/// let (put, get) = pc_buffer::handles(2).unwrap();
/// put.put("a").unwrap();
/// drop(put);
/// assert_eq!(get.iter().collect::<Vec<_>>(), ["a"]);
/// ```
pub fn handles<T>(capacity: usize) -> Result<(PutHandle<T>, GetHandle<T>), CapacityError> {
    Ok(BoundedBuffer::new(capacity)?.into_handles())
}

/// The producers' side of a buffer: puts, and closes the buffer when the last clone is dropped.
///
/// Made by [`BoundedBuffer::into_handles`] or [`handles`]. Every put that cannot deliver hands
/// its item (or, for a batch, the undelivered rest) back: [`PutError::Closed`] after a close,
/// [`PutError::NoConsumer`] once every [`GetHandle`] is gone.
///
/// ```
/// use pc_buffer::PutError;
///
/// let (put, get) = pc_buffer::handles(2).unwrap();
/// put.put(1).unwrap();
/// drop(get); // nobody is left to take
/// assert_eq!(put.put(2), Err(PutError::NoConsumer(2)));
/// assert_eq!(put.len(), 1); // the item put before is stranded, and dropped with the buffer
/// ```
pub struct PutHandle<T> {
    shared: Arc<Shared<T>>,
}

/// The consumers' side of a buffer: gets, and makes puts fail when the last clone is dropped.
///
/// Made by [`BoundedBuffer::into_handles`] or [`handles`]. `for item in &get` takes items until
/// the buffer is closed (explicitly, or by the last [`PutHandle`] going) and drained.
pub struct GetHandle<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for PutHandle<T> {
    fn clone(&self) -> Self {
        // A clone is made from a live handle, so the count never rises from zero.
        self.shared.putters.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Clone for GetHandle<T> {
    fn clone(&self) -> Self {
        self.shared.getters.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for PutHandle<T> {
    fn drop(&mut self) {
        if self.shared.putters.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.buffer.close();
        }
    }
}

impl<T> Drop for GetHandle<T> {
    fn drop(&mut self) {
        if self.shared.getters.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Before the close: a put the close refuses must see why.
            self.shared.no_consumer.store(true, Ordering::Release);
            self.shared.buffer.close();
        }
    }
}

/// The operations both sides share: closing and looking at the buffer.
macro_rules! both_sides {
    () => {
        /// Closes the buffer for both sides (see [`BoundedBuffer::close`]); `true` if this call
        /// closed it.
        pub fn close(&self) -> bool {
            self.shared.buffer.close()
        }

        /// Whether the buffer is closed, explicitly or because a side has no handle left.
        pub fn is_closed(&self) -> bool {
            self.shared.buffer.is_closed()
        }

        /// The number of items in the buffer right now.
        pub fn len(&self) -> usize {
            self.shared.buffer.len()
        }

        /// Whether the buffer holds no item right now.
        pub fn is_empty(&self) -> bool {
            self.shared.buffer.is_empty()
        }

        /// Whether the buffer holds `capacity` items right now.
        pub fn is_full(&self) -> bool {
            self.shared.buffer.is_full()
        }

        /// The most items the buffer holds at once.
        pub fn capacity(&self) -> usize {
            self.shared.buffer.capacity()
        }

        /// A snapshot of the buffer's counters (see [`BoundedBuffer::stats`]).
        pub fn stats(&self) -> BufferStats {
            self.shared.buffer.stats()
        }
    };
}

impl<T> PutHandle<T> {
    both_sides!();

    /// Puts `item`, waiting while the buffer is full (see [`BoundedBuffer::put`]).
    ///
    /// # Errors
    ///
    /// [`PutError::Closed`] or [`PutError::NoConsumer`], with the item.
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.shared
            .buffer
            .put(item)
            .map_err(|err| self.shared.put_error(err))
    }

    /// Like [`put`](Self::put), and adds the time it waited to `waited`.
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    pub fn put_waited(&self, item: T, waited: &mut Duration) -> Result<(), PutError<T>> {
        self.shared
            .buffer
            .put_waited(item, waited)
            .map_err(|err| self.shared.put_error(err))
    }

    /// Puts `item` if there is room now.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`], [`TryPutError::Closed`] or [`TryPutError::NoConsumer`], with
    /// the item.
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.shared
            .buffer
            .try_put(item)
            .map_err(|err| self.shared.try_put_error(err))
    }

    /// Puts `item`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError::Timeout`], [`PutTimeoutError::Closed`] or
    /// [`PutTimeoutError::NoConsumer`], with the item.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        self.shared
            .buffer
            .put_timeout(item, timeout)
            .map_err(|err| self.shared.put_timeout_error(err))
    }

    /// Puts `item`, waiting for room until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`put_timeout`](Self::put_timeout).
    pub fn put_deadline(&self, item: T, deadline: Instant) -> Result<(), PutTimeoutError<T>> {
        self.shared
            .buffer
            .put_deadline(item, deadline)
            .map_err(|err| self.shared.put_timeout_error(err))
    }

    /// Puts every item in order, waiting for room as needed (see
    /// [`BoundedBuffer::put_batch`]).
    ///
    /// # Errors
    ///
    /// The items not delivered, in order, inside [`PutError::Closed`] or
    /// [`PutError::NoConsumer`].
    pub fn put_batch(&self, items: Vec<T>) -> Result<(), PutError<Vec<T>>> {
        self.shared
            .buffer
            .put_batch(items)
            .map_err(|err| self.shared.put_error(err))
    }

    /// Empties `items` into the buffer in order (see [`BoundedBuffer::put_batch_from`]).
    ///
    /// # Errors
    ///
    /// As [`put_batch`](Self::put_batch).
    pub fn put_batch_from(&self, items: &mut Vec<T>) -> Result<(), PutError<Vec<T>>> {
        self.shared
            .buffer
            .put_batch_from(items)
            .map_err(|err| self.shared.put_error(err))
    }

    /// Like [`put_batch_from`](Self::put_batch_from), and adds the time it waited to `waited`.
    ///
    /// # Errors
    ///
    /// As [`put_batch`](Self::put_batch).
    pub fn put_batch_from_waited(
        &self,
        items: &mut Vec<T>,
        waited: &mut Duration,
    ) -> Result<(), PutError<Vec<T>>> {
        self.shared
            .buffer
            .put_batch_from_waited(items, waited)
            .map_err(|err| self.shared.put_error(err))
    }
}

impl<T> GetHandle<T> {
    both_sides!();

    /// Takes the oldest item, waiting while the buffer is empty (see [`BoundedBuffer::get`]).
    ///
    /// # Errors
    ///
    /// [`GetError`] once the buffer is closed and drained.
    pub fn get(&self) -> Result<T, GetError> {
        self.shared.buffer.get()
    }

    /// Takes the oldest item if there is one now.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] or [`TryGetError::Closed`].
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.shared.buffer.try_get()
    }

    /// Takes the oldest item, waiting at most `timeout` for one.
    ///
    /// # Errors
    ///
    /// [`GetTimeoutError::Timeout`] or [`GetTimeoutError::Closed`].
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetTimeoutError> {
        self.shared.buffer.get_timeout(timeout)
    }

    /// Takes the oldest item, waiting for one until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](Self::get_timeout).
    pub fn get_deadline(&self, deadline: Instant) -> Result<T, GetTimeoutError> {
        self.shared.buffer.get_deadline(deadline)
    }

    /// Takes up to `max` items, waiting for at least one (see [`BoundedBuffer::get_batch`]).
    ///
    /// # Errors
    ///
    /// [`GetError`] once the buffer is closed and drained.
    pub fn get_batch(&self, max: usize) -> Result<Vec<T>, GetError> {
        self.shared.buffer.get_batch(max)
    }

    /// Appends up to `max` items to `out`, waiting for at least one (see
    /// [`BoundedBuffer::get_batch_into`]).
    ///
    /// # Errors
    ///
    /// [`GetError`] once the buffer is closed and drained.
    pub fn get_batch_into(&self, out: &mut Vec<T>, max: usize) -> Result<usize, GetError> {
        self.shared.buffer.get_batch_into(out, max)
    }

    /// Like [`get_batch_into`](Self::get_batch_into), and adds the time it waited to `waited`.
    ///
    /// # Errors
    ///
    /// As [`get_batch_into`](Self::get_batch_into).
    pub fn get_batch_into_waited(
        &self,
        out: &mut Vec<T>,
        max: usize,
        waited: &mut Duration,
    ) -> Result<usize, GetError> {
        self.shared.buffer.get_batch_into_waited(out, max, waited)
    }

    /// Appends up to `max` items to `out` and returns their numbers in put order (see
    /// [`BoundedBuffer::get_batch_numbered`]).
    ///
    /// # Errors
    ///
    /// [`GetError`] once the buffer is closed and drained.
    pub fn get_batch_numbered(
        &self,
        out: &mut Vec<T>,
        max: usize,
    ) -> Result<Range<usize>, GetError> {
        self.shared.buffer.get_batch_numbered(out, max)
    }

    /// Takes the oldest item with its number in put order.
    ///
    /// # Errors
    ///
    /// [`GetError`] once the buffer is closed and drained.
    pub fn get_numbered(&self) -> Result<(usize, T), GetError> {
        self.shared.buffer.get_numbered()
    }

    /// A blocking iterator that takes items until the buffer is closed and drained.
    pub fn iter(&self) -> crate::Iter<'_, T> {
        self.shared.buffer.iter()
    }

    /// A non-blocking iterator over the items in the buffer right now.
    pub fn try_iter(&self) -> crate::TryIter<'_, T> {
        self.shared.buffer.try_iter()
    }
}

impl<'a, T> IntoIterator for &'a GetHandle<T> {
    type Item = T;
    type IntoIter = crate::Iter<'a, T>;

    fn into_iter(self) -> crate::Iter<'a, T> {
        self.iter()
    }
}

impl<T> fmt::Debug for PutHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutHandle")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for GetHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetHandle")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Both handles are whole buffers to generic code (the roles, the pipeline): each forwards every
/// operation, and a put says why it was refused.
macro_rules! handle_buffer {
    ($handle:ident) => {
        impl<T> Buffer<T> for $handle<T> {
            type TransportError = std::convert::Infallible;

            #[inline]
            fn put(&self, item: T) -> Result<(), BufferPutError<T, Self::TransportError>> {
                Buffer::put(&self.shared.buffer, item)
                    .map_err(|err| self.shared.buffer_put_error(err))
            }

            fn put_timeout(
                &self,
                item: T,
                timeout: Duration,
            ) -> Result<(), BufferPutError<T, Self::TransportError>> {
                Buffer::put_timeout(&self.shared.buffer, item, timeout)
                    .map_err(|err| self.shared.buffer_put_error(err))
            }

            #[inline]
            fn put_batch(
                &self,
                items: Vec<T>,
            ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
                Buffer::put_batch(&self.shared.buffer, items)
                    .map_err(|err| self.shared.buffer_put_error(err))
            }

            #[inline]
            fn put_batch_from(
                &self,
                items: &mut Vec<T>,
            ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
                Buffer::put_batch_from(&self.shared.buffer, items)
                    .map_err(|err| self.shared.buffer_put_error(err))
            }

            #[inline]
            fn get(&self) -> Result<T, BufferGetError<Self::TransportError>> {
                Buffer::get(&self.shared.buffer)
            }

            fn get_timeout(
                &self,
                timeout: Duration,
            ) -> Result<T, BufferGetError<Self::TransportError>> {
                Buffer::get_timeout(&self.shared.buffer, timeout)
            }

            #[inline]
            fn get_batch_into(
                &self,
                out: &mut Vec<T>,
                max: usize,
            ) -> Result<usize, BufferGetError<Self::TransportError>> {
                Buffer::get_batch_into(&self.shared.buffer, out, max)
            }

            #[inline]
            fn put_waited(
                &self,
                item: T,
                waited: &mut Duration,
            ) -> Result<(), BufferPutError<T, Self::TransportError>> {
                Buffer::put_waited(&self.shared.buffer, item, waited)
                    .map_err(|err| self.shared.buffer_put_error(err))
            }

            #[inline]
            fn put_batch_from_waited(
                &self,
                items: &mut Vec<T>,
                waited: &mut Duration,
            ) -> Result<(), BufferPutError<Vec<T>, Self::TransportError>> {
                Buffer::put_batch_from_waited(&self.shared.buffer, items, waited)
                    .map_err(|err| self.shared.buffer_put_error(err))
            }

            #[inline]
            fn get_batch_into_waited(
                &self,
                out: &mut Vec<T>,
                max: usize,
                waited: &mut Duration,
            ) -> Result<usize, BufferGetError<Self::TransportError>> {
                Buffer::get_batch_into_waited(&self.shared.buffer, out, max, waited)
            }

            fn close(&self) -> Result<(), Self::TransportError> {
                Buffer::close(&self.shared.buffer)
            }

            fn is_closed(&self) -> bool {
                self.shared.buffer.is_closed()
            }

            fn len(&self) -> usize {
                self.shared.buffer.len()
            }

            fn capacity(&self) -> usize {
                self.shared.buffer.capacity()
            }

            fn stats(&self) -> BufferStats {
                self.shared.buffer.stats()
            }
        }
    };
}

handle_buffer!(PutHandle);
handle_buffer!(GetHandle);
