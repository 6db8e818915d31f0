//! [`Deliveries`]: a buffer's items, each with a [`Lease`] any thread may acknowledge or forward.

use std::fmt;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pc_buffer::{BufferGetError, BufferPutError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::buffer::RedisBuffer;
use crate::err::RedisError;
use crate::shared::{MAX_BATCH, Shared, encode_all, lock};

/// The items of a [`RedisBuffer`], each with the [`Lease`] on it, for a consumer whose items
/// leave the thread that took them before they are done: a chain of stages
/// (`pc_pipeline::Pipeline::source`) reads it as its source, hands each lease on beside its item,
/// and acknowledges it where the item's outcome is safe.
///
/// Made by [`RedisBuffer::deliveries`]. Each item is taken as [`get`](RedisBuffer::get) takes it,
/// waiting while the buffer is empty. The iterator ends once the buffer is closed and nothing is
/// left pending, the items of its own live leases included: a lease may yet be dropped and its
/// item delivered again, so the iterator waits for it. A transport error is yielded once, and
/// ends it.
pub struct Deliveries<'a, T> {
    buffer: &'a RedisBuffer<T>,
    ended: bool,
}

impl<'a, T> Deliveries<'a, T> {
    pub(crate) fn new(buffer: &'a RedisBuffer<T>) -> Self {
        Self {
            buffer,
            ended: false,
        }
    }
}

impl<T: DeserializeOwned> RedisBuffer<T> {
    /// The items, each with the [`Lease`] on it, for a consumer whose items leave
    /// the taking thread before they are done: a chain of stages reads them as its source and
    /// acknowledges each lease where the item's outcome is safe; see [`Deliveries`].
    ///
    /// ```no_run
    /// use pc_pipeline::{Pipeline, Stage};
    /// use pc_redis::{Delivery, RedisBuffer};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let jobs = RedisBuffer::<u64>::builder("redis://127.0.0.1:6379/", "jobs").connect()?;
    /// let mut total = 0;
    /// Pipeline::source(jobs.deliveries())
    ///     .try_stage(Stage::new("square").workers(4), |taken| {
    ///         taken.map(|Delivery { item, lease }| (item * item, lease))
    ///     })
    ///     .for_each(|(square, lease)| {
    ///         total += square;
    ///         lease.acknowledge().expect("acknowledged"); // after the outcome is safe
    ///     })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn deliveries(&self) -> Deliveries<'_, T> {
        Deliveries::new(self)
    }
}

impl<T: DeserializeOwned> Iterator for Deliveries<'_, T> {
    type Item = Result<Delivery<T>, RedisError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let shared = self.buffer.shared();
        let taken = self.buffer.get_one(None, &mut Duration::default());
        let item = match taken {
            Ok(item) => item,
            Err(err) => {
                self.ended = true;
                return match err {
                    BufferGetError::Transport(err) => Some(Err(err)),
                    _ => None,
                };
            }
        };
        // The item is this thread's last: it moves to a lease of its own.
        let id = {
            let mut taken = lock(&shared.taken);
            let me = thread::current().id();
            let id = taken.get_mut(&me).and_then(Vec::pop);
            if taken.get(&me).is_some_and(Vec::is_empty) {
                taken.remove(&me);
            }
            id
        };
        let Some(id) = id else {
            self.ended = true;
            return Some(Err(RedisError::Reply("a take that took nothing".into())));
        };
        lock(&shared.leased).insert(id.clone());
        Some(Ok(Delivery {
            item,
            lease: Lease {
                shared: Arc::clone(shared),
                id,
            },
        }))
    }
}

impl<T> fmt::Debug for Deliveries<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deliveries")
            .field("buffer", &self.buffer.name())
            .field("ended", &self.ended)
            .finish()
    }
}

/// One item taken from a [`RedisBuffer`], and the lease on it.
pub struct Delivery<T> {
    /// The item.
    pub item: T,
    /// Acknowledge it once the item's outcome is safe.
    pub lease: Lease,
}

impl<T: fmt::Debug> fmt::Debug for Delivery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("item", &self.item)
            .field("lease", &self.lease)
            .finish()
    }
}

/// The lease on one taken item, which any thread may [`acknowledge`](Self::acknowledge).
///
/// While the lease lives, the buffer renews it on the server, so that no other consumer takes
/// the item over however long its work takes. Dropped without an acknowledgement (the work
/// failed, a stage panicked, the run was cancelled), the lease is no longer renewed, and once it
/// runs out the item goes to a consumer again, counted as redelivered (or, delivered too often,
/// to the dead letters). It holds no borrow of the buffer, so it may travel through stages of
/// any lifetime; it is renewed while the buffer value lives, and acknowledging it reaches the
/// server even after that.
pub struct Lease {
    shared: Arc<Shared>,
    id: String,
}

impl Lease {
    /// The item's entry id in the stream.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Acknowledges the item: the buffer forgets it, and its room goes to waiting producers. One
    /// round trip to the server.
    ///
    /// # Errors
    ///
    /// The transport failed; the item stays pending on the server and goes to a consumer again
    /// once its lease runs out (it is no longer renewed).
    pub fn acknowledge(self) -> Result<(), RedisError> {
        self.shared.acknowledge(std::slice::from_ref(&self.id))
    }

    /// Puts `items`, the outcome of this lease's item, into `next` and acknowledges the item, in
    /// one step on the server, waiting while `next` has no room for all of them: a stage between
    /// two buffers whose outcomes reach `next` exactly once. A worker that dies before the step
    /// leaves the item to be delivered again; one that dies after it has nothing left to do; and
    /// when two consumers forward the same item (the second after taking it over from a
    /// consumer too slow to renew its lease), only the first puts anything: the second finds the
    /// item no longer pending, puts nothing, and returns `Ok`.
    ///
    /// Both buffers must be on one server, or in one slot of a cluster: open them with one
    /// [`hash_tag`](crate::Builder::hash_tag). Waits for room are not counted in `next`'s
    /// statistics.
    ///
    /// # Errors
    ///
    /// The items are handed back: `next` is closed, the transport failed (after the buffer's
    /// [`retries`](crate::Builder::retries)), or the forward can never be made
    /// ([`RedisError::Forward`]: other servers or slots, or more items than `next`'s capacity or
    /// 512).
    /// The lease is dropped: the item goes to a consumer again once it runs out.
    pub fn forward<U: Serialize>(
        self,
        next: &RedisBuffer<U>,
        items: Vec<U>,
    ) -> Result<(), BufferPutError<Vec<U>, RedisError>> {
        let next = next.shared();
        let impossible = if !self.shared.server.together_with(&next.server) {
            Some("the buffers are on different servers".to_owned())
        } else if items.len() > next.settings.capacity.min(MAX_BATCH) {
            Some(format!(
                "{} items, more than one forward carries into a buffer of capacity {}",
                items.len(),
                next.settings.capacity
            ))
        } else {
            None
        };
        if let Some(why) = impossible {
            return Err(BufferPutError::Transport(items, RedisError::Forward(why)));
        }
        let encoded = match encode_all(&items) {
            Ok(encoded) => encoded,
            Err(err) => return Err(BufferPutError::Transport(items, err)),
        };
        match self.shared.forward(&self.id, next, &encoded) {
            Ok(true) => Ok(()),
            Ok(false) => Err(BufferPutError::Closed(items)),
            Err(err) => Err(BufferPutError::Transport(items, err)),
        }
    }
}

/// Stops renewing: an item neither acknowledged nor renewed goes to a consumer again once its
/// lease runs out.
impl Drop for Lease {
    fn drop(&mut self) {
        lock(&self.shared.leased).remove(&self.id);
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease").field("id", &self.id).finish()
    }
}
