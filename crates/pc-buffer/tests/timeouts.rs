//! Timed operations: they return no earlier than their deadline, hand the item back on timeout, and succeed when the other side acts in time.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::until_blocked;
use pc_buffer::{BoundedBuffer, GetTimeoutError, PutTimeoutError};

const SHORT: Duration = Duration::from_millis(30);
/// Long enough never to expire in a test where the other side acts.
const LONG: Duration = Duration::from_secs(600);

#[test]
fn put_timeout_on_full_buffer_returns_no_earlier_than_the_deadline_with_the_item() {
    let buffer = BoundedBuffer::new(1).unwrap();
    buffer.put(String::from("first")).unwrap();
    let started = Instant::now();
    let err = buffer
        .put_timeout(String::from("second"), SHORT)
        .unwrap_err();
    assert!(started.elapsed() >= SHORT);
    assert!(err.is_timeout());
    assert_eq!(err.to_string(), "timed out putting into a full buffer");
    assert_eq!(err.into_inner(), "second");
    assert_eq!(buffer.len(), 1);
    assert_eq!(buffer.stats().put_waits, 1);
}

#[test]
fn get_timeout_on_empty_buffer_returns_no_earlier_than_the_deadline() {
    let buffer = BoundedBuffer::<u8>::new(1).unwrap();
    let started = Instant::now();
    let err = buffer.get_timeout(SHORT).unwrap_err();
    assert!(started.elapsed() >= SHORT);
    assert_eq!(err, GetTimeoutError::Timeout);
    assert_eq!(err.to_string(), "timed out getting from an empty buffer");
}

#[test]
fn deadline_variants_honour_an_absolute_deadline() {
    let buffer = BoundedBuffer::new(1).unwrap();
    let deadline = Instant::now() + SHORT;
    assert_eq!(buffer.get_deadline(deadline), Err(GetTimeoutError::Timeout));
    assert!(Instant::now() >= deadline);
    buffer.put(1).unwrap();
    let deadline = Instant::now() + SHORT;
    assert_eq!(
        buffer.put_deadline(2, deadline),
        Err(PutTimeoutError::Timeout(2))
    );
    assert!(Instant::now() >= deadline);
}

#[test]
fn a_past_deadline_still_succeeds_when_no_wait_is_needed() {
    let buffer = BoundedBuffer::new(1).unwrap();
    let past = Instant::now();
    assert_eq!(buffer.put_deadline(1, past), Ok(()));
    assert_eq!(
        buffer.put_deadline(2, past),
        Err(PutTimeoutError::Timeout(2))
    );
    assert_eq!(buffer.get_deadline(past), Ok(1));
    assert_eq!(
        buffer.get_timeout(Duration::ZERO),
        Err(GetTimeoutError::Timeout)
    );
}

#[test]
fn put_timeout_succeeds_when_room_is_made_in_time() {
    let buffer = BoundedBuffer::new(1).unwrap();
    buffer.put(1).unwrap();
    thread::scope(|s| {
        let producer = s.spawn(|| buffer.put_timeout(2, LONG));
        until_blocked(&buffer, 1, 0);
        assert_eq!(buffer.get(), Ok(1));
        assert_eq!(producer.join().unwrap(), Ok(()));
    });
    assert_eq!(buffer.get(), Ok(2));
}

#[test]
fn get_timeout_succeeds_when_an_item_arrives_in_time() {
    let buffer = BoundedBuffer::new(1).unwrap();
    thread::scope(|s| {
        let consumer = s.spawn(|| buffer.get_timeout(LONG));
        until_blocked(&buffer, 0, 1);
        buffer.put(42).unwrap();
        assert_eq!(consumer.join().unwrap(), Ok(42));
    });
}

#[test]
fn close_ends_timed_waits_early_with_the_item_back() {
    let buffer = BoundedBuffer::new(1).unwrap();
    buffer.put(1).unwrap();
    let empty = BoundedBuffer::<u8>::new(1).unwrap();
    thread::scope(|s| {
        let producer = s.spawn(|| buffer.put_timeout(2, LONG));
        let consumer = s.spawn(|| empty.get_timeout(LONG));
        until_blocked(&buffer, 1, 0);
        until_blocked(&empty, 0, 1);
        buffer.close();
        empty.close();
        assert_eq!(producer.join().unwrap(), Err(PutTimeoutError::Closed(2)));
        assert_eq!(consumer.join().unwrap(), Err(GetTimeoutError::Closed));
    });
}

#[test]
fn an_unrepresentable_timeout_means_no_timeout() {
    let buffer = BoundedBuffer::new(1).unwrap();
    thread::scope(|s| {
        let consumer = s.spawn(|| buffer.get_timeout(Duration::MAX));
        until_blocked(&buffer, 0, 1);
        buffer.put(5).unwrap();
        assert_eq!(consumer.join().unwrap(), Ok(5));
    });
    buffer.put(1).unwrap();
    thread::scope(|s| {
        let producer = s.spawn(|| buffer.put_timeout(2, Duration::MAX));
        until_blocked(&buffer, 1, 0);
        assert_eq!(buffer.get(), Ok(1));
        assert_eq!(producer.join().unwrap(), Ok(()));
    });
}
