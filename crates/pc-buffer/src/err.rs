//! Every error type of the crate: the exact errors of [`BoundedBuffer`](crate::BoundedBuffer) and the transport-aware errors of the [`Buffer`](crate::Buffer) trait.
//!
//! An operation that could not deliver an item hands it back inside its error; `into_inner()`
//! takes it out. `Debug` is written by hand so that `T` need not be `Debug`.

use std::fmt;

use thiserror::Error;

/// The buffer could not be created because its capacity is zero.
///
/// ```
/// use pc_buffer::{BoundedBuffer, CapacityError};
///
/// assert_eq!(BoundedBuffer::<u8>::new(0).unwrap_err(), CapacityError);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("buffer capacity must be at least 1, got 0")]
pub struct CapacityError;

/// [`put`](crate::BoundedBuffer::put) or [`put_batch`](crate::BoundedBuffer::put_batch) could
/// not deliver; the undelivered item (or items) are handed back.
///
/// ```
/// use pc_buffer::{BoundedBuffer, PutError};
///
/// let buffer = BoundedBuffer::new(2).unwrap();
/// buffer.close();
/// assert_eq!(buffer.put("late"), Err(PutError::Closed("late")));
/// assert_eq!(buffer.put("later").unwrap_err().into_inner(), "later");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Error)]
pub enum PutError<T> {
    /// The buffer is closed.
    #[error("putting into a closed buffer")]
    Closed(T),
    /// Every consumer-side handle of the buffer was dropped: nobody is left to take the item
    /// (only from a [`PutHandle`](crate::PutHandle)).
    #[error("putting into a buffer with no consumer left")]
    NoConsumer(T),
}

impl<T> PutError<T> {
    /// Takes back the item that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            Self::Closed(item) | Self::NoConsumer(item) => item,
        }
    }

    /// Whether the put failed because the buffer was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// Whether the put failed because no consumer is left.
    pub fn is_no_consumer(&self) -> bool {
        matches!(self, Self::NoConsumer(_))
    }

    /// Applies `f` to the carried item, keeping the kind of failure.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> PutError<U> {
        match self {
            Self::Closed(item) => PutError::Closed(f(item)),
            Self::NoConsumer(item) => PutError::NoConsumer(f(item)),
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::NoConsumer(_) => f.write_str("NoConsumer(..)"),
        }
    }
}

/// [`try_put`](crate::BoundedBuffer::try_put) could not put without blocking; the item is handed
/// back.
#[derive(Clone, Copy, PartialEq, Eq, Error)]
pub enum TryPutError<T> {
    /// The buffer holds `capacity` items.
    #[error("putting into a full buffer")]
    Full(T),
    /// The buffer is closed.
    #[error("putting into a closed buffer")]
    Closed(T),
    /// No consumer is left (only from a [`PutHandle`](crate::PutHandle)).
    #[error("putting into a buffer with no consumer left")]
    NoConsumer(T),
}

impl<T> TryPutError<T> {
    /// Takes back the item that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(item) | Self::Closed(item) | Self::NoConsumer(item) => item,
        }
    }

    /// Whether the put failed because the buffer was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the put failed because the buffer was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// Whether the put failed because no consumer is left.
    pub fn is_no_consumer(&self) -> bool {
        matches!(self, Self::NoConsumer(_))
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::NoConsumer(_) => f.write_str("NoConsumer(..)"),
        }
    }
}

impl<T> From<PutError<T>> for TryPutError<T> {
    fn from(err: PutError<T>) -> Self {
        match err {
            PutError::Closed(item) => Self::Closed(item),
            PutError::NoConsumer(item) => Self::NoConsumer(item),
        }
    }
}

/// [`put_timeout`](crate::BoundedBuffer::put_timeout) could not put before its deadline; the
/// item is handed back.
#[derive(Clone, Copy, PartialEq, Eq, Error)]
pub enum PutTimeoutError<T> {
    /// The buffer stayed full until the deadline.
    #[error("timed out putting into a full buffer")]
    Timeout(T),
    /// The buffer is closed.
    #[error("putting into a closed buffer")]
    Closed(T),
    /// No consumer is left (only from a [`PutHandle`](crate::PutHandle)).
    #[error("putting into a buffer with no consumer left")]
    NoConsumer(T),
}

impl<T> PutTimeoutError<T> {
    /// Takes back the item that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(item) | Self::Closed(item) | Self::NoConsumer(item) => item,
        }
    }

    /// Whether the put failed because the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// Whether the put failed because the buffer was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// Whether the put failed because no consumer is left.
    pub fn is_no_consumer(&self) -> bool {
        matches!(self, Self::NoConsumer(_))
    }
}

impl<T> fmt::Debug for PutTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("Timeout(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::NoConsumer(_) => f.write_str("NoConsumer(..)"),
        }
    }
}

impl<T> From<PutError<T>> for PutTimeoutError<T> {
    fn from(err: PutError<T>) -> Self {
        match err {
            PutError::Closed(item) => Self::Closed(item),
            PutError::NoConsumer(item) => Self::NoConsumer(item),
        }
    }
}

/// [`get`](crate::BoundedBuffer::get) found the buffer closed and every item already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("getting from a closed and empty buffer")]
pub struct GetError;

/// [`try_get`](crate::BoundedBuffer::try_get) could not get without blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TryGetError {
    /// The buffer is empty but still open: an item may come later.
    #[error("getting from an empty buffer")]
    Empty,
    /// The buffer is closed and empty: no item will ever come.
    #[error("getting from a closed and empty buffer")]
    Closed,
}

impl TryGetError {
    /// Whether the buffer was empty but still open.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether the buffer was closed and empty.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl From<GetError> for TryGetError {
    fn from(_: GetError) -> Self {
        Self::Closed
    }
}

/// [`get_timeout`](crate::BoundedBuffer::get_timeout) got nothing before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum GetTimeoutError {
    /// The buffer stayed empty until the deadline.
    #[error("timed out getting from an empty buffer")]
    Timeout,
    /// The buffer is closed and empty: no item will ever come.
    #[error("getting from a closed and empty buffer")]
    Closed,
}

impl GetTimeoutError {
    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// Whether the buffer was closed and empty.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl From<GetError> for GetTimeoutError {
    fn from(_: GetError) -> Self {
        Self::Closed
    }
}

/// A put through the [`Buffer`](crate::Buffer) trait failed; the item (for a batch, the
/// undelivered items) is handed back in every case.
///
/// `E` is the buffer's transport error. For the in-memory [`BoundedBuffer`](crate::BoundedBuffer)
/// it is [`Infallible`](std::convert::Infallible), so the `Transport` variant cannot occur.
#[derive(Error)]
pub enum BufferPutError<T, E> {
    /// The buffer is closed.
    #[error("putting into a closed buffer")]
    Closed(T),
    /// No consumer is left to take the item (only from a buffer whose consumers are known to
    /// the buffer, such as a [`PutHandle`](crate::PutHandle)'s).
    #[error("putting into a buffer with no consumer left")]
    NoConsumer(T),
    /// The buffer stayed full until the deadline (only from timed puts).
    #[error("timed out putting into a full buffer")]
    Timeout(T),
    /// The buffer's transport failed (for example a broker connection); the item may be
    /// retried.
    #[error("buffer transport failed while putting")]
    Transport(T, #[source] E),
}

impl<T, E> BufferPutError<T, E> {
    /// Takes back the item that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            Self::Closed(item)
            | Self::NoConsumer(item)
            | Self::Timeout(item)
            | Self::Transport(item, _) => item,
        }
    }

    /// Whether the put failed because the buffer was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// Whether the put failed because no consumer is left.
    pub fn is_no_consumer(&self) -> bool {
        matches!(self, Self::NoConsumer(_))
    }

    /// Whether the put failed because the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// The transport error, if that is why the put failed.
    pub fn transport_error(&self) -> Option<&E> {
        match self {
            Self::Transport(_, err) => Some(err),
            _ => None,
        }
    }

    /// Applies `f` to the carried item, keeping the kind of failure.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> BufferPutError<U, E> {
        match self {
            Self::Closed(item) => BufferPutError::Closed(f(item)),
            Self::NoConsumer(item) => BufferPutError::NoConsumer(f(item)),
            Self::Timeout(item) => BufferPutError::Timeout(f(item)),
            Self::Transport(item, err) => BufferPutError::Transport(f(item), err),
        }
    }
}

impl<T, E: fmt::Debug> fmt::Debug for BufferPutError<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::NoConsumer(_) => f.write_str("NoConsumer(..)"),
            Self::Timeout(_) => f.write_str("Timeout(..)"),
            Self::Transport(_, err) => write!(f, "Transport(.., {err:?})"),
        }
    }
}

impl<T, E> From<PutError<T>> for BufferPutError<T, E> {
    fn from(err: PutError<T>) -> Self {
        match err {
            PutError::Closed(item) => Self::Closed(item),
            PutError::NoConsumer(item) => Self::NoConsumer(item),
        }
    }
}

impl<T, E> From<PutTimeoutError<T>> for BufferPutError<T, E> {
    fn from(err: PutTimeoutError<T>) -> Self {
        match err {
            PutTimeoutError::Timeout(item) => Self::Timeout(item),
            PutTimeoutError::Closed(item) => Self::Closed(item),
            PutTimeoutError::NoConsumer(item) => Self::NoConsumer(item),
        }
    }
}

/// A get through the [`Buffer`](crate::Buffer) trait failed.
///
/// `E` is the buffer's transport error ([`Infallible`](std::convert::Infallible) for the
/// in-memory [`BoundedBuffer`](crate::BoundedBuffer)).
#[derive(Debug, Error)]
pub enum BufferGetError<E> {
    /// The buffer is closed and empty: no item will ever come.
    #[error("getting from a closed and empty buffer")]
    Closed,
    /// The buffer stayed empty until the deadline (only from timed gets).
    #[error("timed out getting from an empty buffer")]
    Timeout,
    /// The buffer's transport failed.
    #[error("buffer transport failed while getting")]
    Transport(#[source] E),
}

impl<E> BufferGetError<E> {
    /// Whether the buffer was closed and empty.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }

    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// The transport error, if that is why the get failed.
    pub fn transport_error(&self) -> Option<&E> {
        match self {
            Self::Transport(err) => Some(err),
            _ => None,
        }
    }

    /// Takes out the transport error, if that is why the get failed.
    pub fn transport_error_into(self) -> Option<E> {
        match self {
            Self::Transport(err) => Some(err),
            _ => None,
        }
    }
}

impl<E> From<GetError> for BufferGetError<E> {
    fn from(_: GetError) -> Self {
        Self::Closed
    }
}

impl<E> From<GetTimeoutError> for BufferGetError<E> {
    fn from(err: GetTimeoutError) -> Self {
        match err {
            GetTimeoutError::Timeout => Self::Timeout,
            GetTimeoutError::Closed => Self::Closed,
        }
    }
}
