//! [`Shared`]: what a buffer value shares with its lease renewer and its deliveries' leases.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

use redis::Value;
use serde::Serialize;

use crate::config::Settings;
use crate::err::RedisError;
use crate::keys::{GROUP, Keys};
use crate::scripts::Scripts;
use crate::server::{Connection, Server};

/// The most items one server call moves.
pub(crate) const MAX_BATCH: usize = 512;

/// What the buffer shares with its lease renewer and with the leases of its deliveries.
pub(crate) struct Shared {
    pub(crate) server: Server,
    /// Connections not in use; a thread takes one for each call.
    pub(crate) idle: Mutex<Vec<Connection>>,
    pub(crate) keys: Keys,
    pub(crate) scripts: Scripts,
    /// This buffer's consumer name in the group.
    pub(crate) consumer: String,
    pub(crate) producer: String,
    pub(crate) name: String,
    pub(crate) settings: Settings,
    /// The ids each thread took and has not acknowledged.
    pub(crate) taken: Mutex<HashMap<ThreadId, Vec<String>>>,
    /// The ids of deliveries whose lease is alive (see [`Lease`](crate::Lease)).
    pub(crate) leased: Mutex<HashSet<String>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Each item as JSON, in order; the first that cannot be encoded fails them all.
pub(crate) fn encode_all<T: Serialize>(items: &[T]) -> Result<Vec<Vec<u8>>, RedisError> {
    items
        .iter()
        .map(|item| serde_json::to_vec(item).map_err(|err| RedisError::Encode(err.to_string())))
        .collect()
}

/// The pause before sending a call again on a fresh connection, growing with `attempt` (from 1).
pub(crate) fn retry_pause(attempt: u32) {
    thread::sleep(Duration::from_millis(50 << attempt.min(4)));
}

/// A read timeout well after any blocking call's own, which waits at most `poll`.
pub(crate) fn read_timeout(poll: Duration) -> Duration {
    poll + Duration::from_secs(5)
}

impl Shared {
    /// Opens a connection whose reads time out well after any blocking call's own timeout. On
    /// one node it loads the acknowledging script: a consumer sends it by hash ahead of a
    /// blocking read, where a missing script would let the read wait with the acknowledgement
    /// undone.
    pub(crate) fn open(&self) -> Result<Connection, RedisError> {
        let mut connection = self.server.open(read_timeout(self.settings.poll))?;
        if !self.server.is_cluster() {
            self.scripts.ack.load(&mut connection)?;
        }
        Ok(connection)
    }

    /// Runs `call` on a connection of the calling thread's own, opened if none is idle; a
    /// connection whose transport failed is dropped, not reused.
    pub(crate) fn with_connection<R>(
        &self,
        call: impl FnOnce(&mut Connection) -> Result<R, RedisError>,
    ) -> Result<R, RedisError> {
        let taken = lock(&self.idle).pop();
        let mut connection = match taken {
            Some(connection) => connection,
            None => self.open()?,
        };
        let outcome = call(&mut connection);
        match &outcome {
            Err(err) if err.is_connection_error() => {}
            _ => lock(&self.idle).push(connection),
        }
        outcome
    }

    /// Puts `encoded` into `next` and acknowledges the entry `id`, in one script, waiting while
    /// `next` has no room for all of them (see `FORWARD`); sent again on a fresh connection if
    /// the transport fails, which is safe: a forward already made finds its entry acknowledged.
    /// `false` if `next` is closed.
    pub(crate) fn forward(
        &self,
        id: &str,
        next: &Shared,
        encoded: &[Vec<u8>],
    ) -> Result<bool, RedisError> {
        let mut waiting = false;
        let mut attempt = 0;
        loop {
            let waits = format!("{}1", u8::from(waiting));
            let sent = self.with_connection(|connection| {
                let mut call = self.scripts.forward.prepare_invoke();
                call.key(&self.keys.items)
                    .key(&self.keys.meta)
                    .key(&self.keys.room)
                    .key(&next.keys.items)
                    .key(&next.keys.meta)
                    .key(&next.keys.room)
                    .arg(GROUP)
                    .arg(&waits);
                for bytes in encoded {
                    call.arg(bytes.as_slice());
                }
                Ok(call.arg(id).invoke::<i64>(connection)?)
            });
            match sent {
                Ok(0 | 1) => return Ok(true),
                Ok(-1) => return Ok(false),
                Ok(_) => waiting = true,
                Err(err) if err.is_connection_error() && attempt < self.settings.retries => {
                    attempt += 1;
                    retry_pause(attempt);
                    continue;
                }
                Err(RedisError::Redis(err))
                    if err.kind()
                        == redis::ErrorKind::Server(redis::ServerErrorKind::CrossSlot) =>
                {
                    let why = "the buffers are in different slots of the cluster";
                    return Err(RedisError::Forward(why.into()));
                }
                Err(err) => return Err(err),
            }
            next.with_connection(|connection| {
                let _: Value = redis::cmd("BLPOP")
                    .arg(&next.keys.room)
                    .arg(self.settings.poll.as_secs_f64().max(0.001))
                    .query(connection)?;
                Ok(())
            })?;
        }
    }

    /// Acknowledges `ids`, up to 512 per server call.
    pub(crate) fn acknowledge(&self, ids: &[String]) -> Result<(), RedisError> {
        for chunk in ids.chunks(MAX_BATCH) {
            self.with_connection(|connection| {
                let mut call = self.scripts.ack.prepare_invoke();
                call.key(&self.keys.items)
                    .key(&self.keys.meta)
                    .key(&self.keys.room)
                    .arg(GROUP);
                for id in chunk {
                    call.arg(id);
                }
                Ok(call.invoke::<Value>(connection)?)
            })?;
        }
        Ok(())
    }
}
