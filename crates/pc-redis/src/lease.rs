//! The lease renewer: a thread that keeps the items a live consumer holds from being taken over.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::keys::GROUP;
use crate::server::Connection;
use crate::shared::Shared;

/// The most ids one renewal call carries.
const CHUNK: usize = 512;

/// Renews the lease of every item the buffer's threads hold and of every live delivery lease,
/// every third of the lease; stops when dropped (with the buffer), so the items of a consumer
/// that is gone run out.
pub(crate) struct Renewer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Renewer {
    pub(crate) fn start(shared: Arc<Shared>, every: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name(format!("pc-redis lease {}", shared.consumer))
            .spawn(move || {
                let mut connection = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    renew(&shared, &mut connection);
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

/// One round of renewals; a transport failure drops the connection and waits for the next round
/// (a lease is three rounds long).
fn renew(shared: &Shared, connection: &mut Option<Connection>) {
    let mut ids: Vec<String> = shared
        .taken
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .flatten()
        .cloned()
        .collect();
    ids.extend(
        shared
            .leased
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned(),
    );
    if ids.is_empty() {
        return;
    }
    if connection.is_none() {
        *connection = shared.open().ok();
    }
    let Some(open) = connection.as_mut() else {
        return;
    };
    for chunk in ids.chunks(CHUNK) {
        let mut call = shared.scripts.renew.prepare_invoke();
        call.key(&shared.keys.items)
            .arg(GROUP)
            .arg(&shared.consumer);
        for id in chunk {
            call.arg(id);
        }
        if call.invoke::<i64>(open).is_err() {
            *connection = None;
            return;
        }
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The thread only waits and renews; it ends within one call's timeout.
            let _ = thread.join();
        }
    }
}
