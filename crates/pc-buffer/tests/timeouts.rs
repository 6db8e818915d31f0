//! Timed operations: they return no earlier than their deadline, hand the item back on timeout, and succeed when the other side acts in time, in both of the buffer's layouts.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{each_layout, until_blocked};
use pc_buffer::{BoundedBuffer, GetTimeoutError, PutTimeoutError};

const SHORT: Duration = Duration::from_millis(30);
/// Long enough never to expire in a test where the other side acts.
const LONG: Duration = Duration::from_secs(600);

/// Fills `buffer` with `0..capacity`.
fn fill(buffer: BoundedBuffer<usize>) -> BoundedBuffer<usize> {
    buffer.put_batch((0..buffer.capacity()).collect()).unwrap();
    assert!(buffer.is_full());
    buffer
}

#[test]
fn put_timeout_on_full_buffer_returns_no_earlier_than_the_deadline_with_the_item() {
    for (capacity, buffer) in each_layout() {
        for _ in 0..capacity {
            buffer.put(String::from("first")).unwrap();
        }
        let started = Instant::now();
        let err = buffer
            .put_timeout(String::from("second"), SHORT)
            .unwrap_err();
        assert!(started.elapsed() >= SHORT);
        assert!(err.is_timeout());
        assert_eq!(err.to_string(), "timed out putting into a full buffer");
        assert_eq!(err.into_inner(), "second");
        assert_eq!(buffer.len(), capacity);
        assert_eq!(buffer.stats().put_waits, 1);
    }
}

#[test]
fn get_timeout_on_empty_buffer_returns_no_earlier_than_the_deadline() {
    for (_, buffer) in each_layout::<u8>() {
        let started = Instant::now();
        let err = buffer.get_timeout(SHORT).unwrap_err();
        assert!(started.elapsed() >= SHORT);
        assert_eq!(err, GetTimeoutError::Timeout);
        assert_eq!(err.to_string(), "timed out getting from an empty buffer");
        assert_eq!(buffer.stats().get_waits, 1);
    }
}

#[test]
fn deadline_variants_honour_an_absolute_deadline() {
    for (capacity, buffer) in each_layout() {
        let deadline = Instant::now() + SHORT;
        assert_eq!(buffer.get_deadline(deadline), Err(GetTimeoutError::Timeout));
        assert!(Instant::now() >= deadline);
        buffer.put_batch((0..capacity).collect()).unwrap();
        let deadline = Instant::now() + SHORT;
        assert_eq!(
            buffer.put_deadline(10, deadline),
            Err(PutTimeoutError::Timeout(10))
        );
        assert!(Instant::now() >= deadline);
    }
}

#[test]
fn a_past_deadline_still_succeeds_when_no_wait_is_needed() {
    for (capacity, buffer) in each_layout() {
        let past = Instant::now();
        for item in 0..capacity {
            assert_eq!(buffer.put_deadline(item, past), Ok(()));
        }
        assert_eq!(
            buffer.put_deadline(10, past),
            Err(PutTimeoutError::Timeout(10))
        );
        for item in 0..capacity {
            assert_eq!(buffer.get_deadline(past), Ok(item));
        }
        assert_eq!(
            buffer.get_timeout(Duration::ZERO),
            Err(GetTimeoutError::Timeout)
        );
    }
}

#[test]
fn put_timeout_succeeds_when_room_is_made_in_time() {
    for (capacity, buffer) in each_layout() {
        let buffer = fill(buffer);
        thread::scope(|s| {
            let producer = s.spawn(|| buffer.put_timeout(10, LONG));
            until_blocked(&buffer, 1, 0);
            assert_eq!(buffer.get(), Ok(0));
            assert_eq!(producer.join().unwrap(), Ok(()));
        });
        buffer.close();
        let rest: Vec<_> = buffer.iter().collect();
        assert_eq!(rest, (1..capacity).chain([10]).collect::<Vec<_>>());
    }
}

#[test]
fn get_timeout_succeeds_when_an_item_arrives_in_time() {
    for (_, buffer) in each_layout() {
        thread::scope(|s| {
            let consumer = s.spawn(|| buffer.get_timeout(LONG));
            until_blocked(&buffer, 0, 1);
            buffer.put(42).unwrap();
            assert_eq!(consumer.join().unwrap(), Ok(42));
        });
    }
}

#[test]
fn close_ends_timed_waits_early_with_the_item_back() {
    for ((capacity, buffer), (_, empty)) in each_layout().into_iter().zip(each_layout::<u8>()) {
        let buffer = fill(buffer);
        thread::scope(|s| {
            let producer = s.spawn(|| buffer.put_timeout(10, LONG));
            let consumer = s.spawn(|| empty.get_timeout(LONG));
            until_blocked(&buffer, 1, 0);
            until_blocked(&empty, 0, 1);
            buffer.close();
            empty.close();
            assert_eq!(producer.join().unwrap(), Err(PutTimeoutError::Closed(10)));
            assert_eq!(consumer.join().unwrap(), Err(GetTimeoutError::Closed));
        });
        assert_eq!(buffer.len(), capacity);
    }
}

#[test]
fn an_unrepresentable_timeout_means_no_timeout() {
    for (capacity, buffer) in each_layout() {
        thread::scope(|s| {
            let consumer = s.spawn(|| buffer.get_timeout(Duration::MAX));
            until_blocked(&buffer, 0, 1);
            buffer.put(5).unwrap();
            assert_eq!(consumer.join().unwrap(), Ok(5));
        });
        buffer.put_batch((0..capacity).collect()).unwrap();
        thread::scope(|s| {
            let producer = s.spawn(|| buffer.put_timeout(10, Duration::MAX));
            until_blocked(&buffer, 1, 0);
            assert_eq!(buffer.get(), Ok(0));
            assert_eq!(producer.join().unwrap(), Ok(()));
        });
    }
}
