//! The `Buffer` trait: generic code over the in-memory buffer, forwarding through references and `Arc`, and the transport errors a networked buffer reports.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{until, until_blocked};
use pc_buffer::{BoundedBuffer, Buffer, BufferGetError, BufferPutError, BufferStats};

/// Moves everything from `source` to `sink` through the trait's batch calls, then closes `sink`.
fn pump<B: Buffer<u64>>(source: &B, sink: &B) -> u64 {
    let mut moved = 0;
    let mut batch = Vec::new();
    while source.get_batch_into(&mut batch, 16).is_ok() {
        moved += batch.len() as u64;
        sink.put_batch(std::mem::take(&mut batch))
            .unwrap_or_else(|_| panic!("sink closed"));
    }
    sink.close().unwrap();
    moved
}

#[test]
fn generic_code_runs_on_the_in_memory_buffer_by_ref_and_by_arc() {
    let source = Arc::new(BoundedBuffer::new(64).unwrap());
    let sink = Arc::new(BoundedBuffer::new(64).unwrap());
    Buffer::put_batch(&source, (0..50).collect()).unwrap();
    Buffer::close(&source).unwrap();
    assert_eq!(pump(&source, &sink), 50);
    assert!(Buffer::is_closed(&*sink));
    assert_eq!(Buffer::len(&sink), 50);
    assert_eq!(Buffer::capacity(&&*sink), 64);
    assert_eq!(sink.iter().sum::<u64>(), (0..50).sum());
    assert_eq!(Buffer::stats(&sink).items_got, 50);
}

#[test]
fn trait_errors_of_the_in_memory_buffer_carry_the_item() {
    let buffer = BoundedBuffer::new(1).unwrap();
    Buffer::put(&buffer, 1).unwrap();
    let err = Buffer::put_timeout(&buffer, 2, Duration::from_millis(5)).unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.into_inner(), 2);
    Buffer::close(&buffer).unwrap();
    let err: BufferPutError<u32, Infallible> = Buffer::put(&buffer, 3).unwrap_err();
    assert!(err.is_closed() && err.transport_error().is_none());
    assert_eq!(err.to_string(), "putting into a closed buffer");
    assert_eq!(format!("{err:?}"), "Closed(..)");
    let err = Buffer::put_batch(&buffer, vec![4, 5]).unwrap_err();
    assert_eq!(err.into_inner(), [4, 5]);
    assert_eq!(Buffer::get(&buffer).unwrap(), 1);
    assert!(Buffer::get(&buffer).unwrap_err().is_closed());
    assert!(
        Buffer::get_timeout(&buffer, Duration::ZERO)
            .unwrap_err()
            .is_closed()
    );
}

/// The error a fake broker connection reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection reset")]
struct ConnectionReset;

/// A buffer that implements only the required operations, and whose "connection" fails on the
/// `fail_on`-th put: it stands in for a broker-backed buffer.
struct FlakyBuffer {
    inner: BoundedBuffer<u64>,
    puts: Mutex<usize>,
    fail_on: usize,
}

impl Buffer<u64> for FlakyBuffer {
    type TransportError = ConnectionReset;

    fn put(&self, item: u64) -> Result<(), BufferPutError<u64, ConnectionReset>> {
        let mut puts = self.puts.lock().unwrap();
        *puts += 1;
        if *puts == self.fail_on {
            return Err(BufferPutError::Transport(item, ConnectionReset));
        }
        Ok(self.inner.put(item)?)
    }

    fn put_timeout(
        &self,
        item: u64,
        timeout: Duration,
    ) -> Result<(), BufferPutError<u64, ConnectionReset>> {
        Ok(self.inner.put_timeout(item, timeout)?)
    }

    fn get(&self) -> Result<u64, BufferGetError<ConnectionReset>> {
        Ok(self.inner.get()?)
    }

    fn get_timeout(&self, timeout: Duration) -> Result<u64, BufferGetError<ConnectionReset>> {
        Ok(self.inner.get_timeout(timeout)?)
    }

    fn close(&self) -> Result<(), ConnectionReset> {
        self.inner.close();
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    fn stats(&self) -> BufferStats {
        self.inner.stats()
    }
}

#[test]
fn default_put_batch_from_empties_the_vec_and_hands_back_the_rest_on_failure() {
    let buffer = FlakyBuffer {
        inner: BoundedBuffer::new(10).unwrap(),
        puts: Mutex::new(0),
        fail_on: 3,
    };
    let mut batch = vec![10, 20];
    Buffer::put_batch_from(&buffer, &mut batch).unwrap();
    assert!(batch.is_empty());
    batch.extend([30, 40]);
    let err = Buffer::put_batch_from(&buffer, &mut batch).unwrap_err();
    assert!(batch.is_empty());
    assert_eq!(err.transport_error(), Some(&ConnectionReset));
    assert_eq!(err.into_inner(), [30, 40]);
    assert_eq!(buffer.inner.get_batch(10).unwrap(), [10, 20]);
}

#[test]
fn default_batch_put_hands_back_the_failed_item_and_the_rest_with_the_transport_error() {
    let buffer = FlakyBuffer {
        inner: BoundedBuffer::new(10).unwrap(),
        puts: Mutex::new(0),
        fail_on: 3,
    };
    let err = buffer.put_batch(vec![10, 20, 30, 40]).unwrap_err();
    assert_eq!(err.transport_error(), Some(&ConnectionReset));
    assert_eq!(format!("{err:?}"), "Transport(.., ConnectionReset)");
    assert_eq!(err.to_string(), "buffer transport failed while putting");
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("connection reset"));
    assert_eq!(err.into_inner(), [30, 40]);
    // Exactly the first two were delivered: nothing lost, nothing doubled.
    assert_eq!(buffer.len(), 2);
    assert!(!buffer.is_empty());
}

#[test]
fn default_batch_get_returns_one_item_per_call_and_closed_at_the_end() {
    let buffer = FlakyBuffer {
        inner: BoundedBuffer::new(10).unwrap(),
        puts: Mutex::new(0),
        fail_on: usize::MAX,
    };
    buffer.put_batch(vec![1, 2, 3]).unwrap();
    buffer.close().unwrap();
    let mut out = Vec::new();
    assert_eq!(buffer.get_batch_into(&mut out, 0).unwrap(), 0);
    while buffer.get_batch_into(&mut out, 8).is_ok() {}
    assert_eq!(out, [1, 2, 3]);
    let err = buffer.get_batch_into(&mut out, 8).unwrap_err();
    assert!(err.is_closed());
    assert!(err.transport_error_into().is_none());
    let transport: BufferGetError<ConnectionReset> = BufferGetError::Transport(ConnectionReset);
    assert_eq!(transport.transport_error(), Some(&ConnectionReset));
    assert_eq!(
        transport.to_string(),
        "buffer transport failed while getting"
    );
}

#[test]
fn default_waited_operations_time_the_whole_call() {
    let buffer = FlakyBuffer {
        inner: BoundedBuffer::new(1).unwrap(),
        puts: Mutex::new(0),
        fail_on: usize::MAX,
    };
    let (mut put_waited, mut batch_waited, mut get_waited) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut batch = vec![2];
    buffer.inner.put(0).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            Buffer::put_waited(&buffer, 1, &mut put_waited).unwrap();
            Buffer::put_batch_from_waited(&buffer, &mut batch, &mut batch_waited).unwrap();
        });
        // Each put waits in the full slot until this thread takes.
        until(&buffer.inner, |stats| stats.producers_waiting == 1);
        assert_eq!(buffer.inner.get(), Ok(0));
        until(&buffer.inner, |stats| {
            stats.producers_waiting == 1 && stats.put_waits == 1
        });
        assert_eq!(buffer.inner.get(), Ok(1));
    });
    assert_eq!(buffer.inner.get(), Ok(2));
    std::thread::scope(|s| {
        let consumer = s.spawn(|| {
            let mut out = Vec::new();
            Buffer::get_batch_into_waited(&buffer, &mut out, 4, &mut get_waited).map(|_| out)
        });
        until_blocked(&buffer.inner, 0, 1);
        buffer.inner.put(3).unwrap();
        assert_eq!(consumer.join().unwrap().unwrap(), [3]);
    });
    // The default times each call from outside: the inner buffer's wait and the rest of the
    // call around it.
    let stats = buffer.stats();
    assert_eq!((stats.put_waits, stats.get_waits), (2, 1));
    assert!(put_waited > Duration::ZERO && batch_waited > Duration::ZERO);
    assert!(put_waited + batch_waited >= stats.put_wait_time);
    assert!(get_waited >= stats.get_wait_time && get_waited > Duration::ZERO);
    assert!(batch.is_empty());
}

#[test]
fn forwarding_keeps_the_in_memory_buffer_from_timing_what_did_not_wait() {
    let buffer = Arc::new(BoundedBuffer::new(4).unwrap());
    let mut waited = Duration::ZERO;
    Buffer::put_waited(&buffer, 1, &mut waited).unwrap();
    Buffer::put_batch_from_waited(&&*buffer, &mut vec![2, 3], &mut waited).unwrap();
    let mut out = Vec::new();
    Buffer::get_batch_into_waited(&buffer, &mut out, 4, &mut waited).unwrap();
    assert_eq!(out, [1, 2, 3]);
    // No operation waited, and the buffer reads no clock then: exactly zero. The trait's
    // default, timing each call from outside, would have added the calls' own time.
    assert_eq!(waited, Duration::ZERO);
}
