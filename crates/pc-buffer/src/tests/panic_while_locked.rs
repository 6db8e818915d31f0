//! A panic while holding one of the buffer's locks releases it on the way out; the buffer must stay usable for every other thread, at every capacity.

use std::thread;

use crate::{BoundedBuffer, GetError};

#[test]
fn buffer_stays_usable_after_a_panic_while_locked() {
    let buffer = BoundedBuffer::new(2).unwrap();
    buffer.put(1).unwrap();
    let halves = buffer.halves().expect("capacity 2 is the two-lock buffer");

    // A thread panics while holding the front lock, another while holding the back lock.
    let outcomes = thread::scope(|s| {
        let front = s
            .spawn(|| {
                let _guard = halves.lock_front();
                panic!("boom while holding the buffer's front lock");
            })
            .join();
        let back = s
            .spawn(|| {
                let _guard = halves.lock_back();
                panic!("boom while holding the buffer's back lock");
            })
            .join();
        (front.is_err(), back.is_err())
    });
    assert_eq!(outcomes, (true, true));
    assert_eq!(halves.locks_held(), (false, false));

    // Every operation still works and sees the state as it was.
    assert_eq!(buffer.len(), 1);
    buffer.put(2).unwrap();
    assert!(buffer.is_full());
    assert_eq!(buffer.get(), Ok(1));
    assert_eq!(buffer.get_batch(8), Ok(vec![2]));
    assert_eq!(buffer.stats().items_put, 2);
    // Blocking across threads still works too.
    thread::scope(|s| {
        s.spawn(|| buffer.put(3).unwrap());
        assert_eq!(buffer.get(), Ok(3));
    });
    assert!(buffer.close());
    assert_eq!(buffer.get(), Err(GetError));
    assert_eq!(buffer.waiting(), (0, 0));
}

#[test]
fn a_buffer_of_capacity_one_stays_usable_after_a_panic_while_locked() {
    let buffer = BoundedBuffer::new(1).unwrap();
    buffer.put(1).unwrap();
    let slot = buffer.slot().expect("capacity 1 is the slot buffer");
    let outcome = thread::scope(|s| s.spawn(|| slot.panic_while_locked()).join());
    assert!(outcome.is_err());
    assert!(!slot.is_locked());
    usable_after_a_panic_with_one_item_in(&buffer);
}

#[test]
fn a_buffer_for_batches_stays_usable_after_a_panic_while_locked() {
    let one = BoundedBuffer::<i32>::for_batches(1).unwrap();
    assert!(
        one.slot().is_some(),
        "capacity 1 is the slot buffer in both constructors"
    );
    let buffer = BoundedBuffer::for_batches(3).unwrap();
    buffer.put(1).unwrap();
    let batched = buffer
        .batched()
        .expect("for_batches(3) is the batched buffer");
    let outcome = thread::scope(|s| s.spawn(|| batched.panic_while_locked()).join());
    assert!(outcome.is_err());
    assert!(!batched.is_locked());
    // A swap still works after the panic, both ways.
    let mut batch = Vec::with_capacity(3);
    batch.push(2);
    assert_eq!(buffer.get_batch(3), Ok(vec![1]));
    buffer.put_batch_from(&mut batch).unwrap();
    let mut out = Vec::with_capacity(3);
    assert_eq!(buffer.get_batch_numbered(&mut out, 3), Ok(1..2));
    assert_eq!(out, [2]);
    buffer.put(1).unwrap();
    usable_after_a_panic_with_one_item_in(&buffer);
}

/// Checks that `buffer`, holding the item 1 after a panic while locked, serves every operation and wait, and
/// ends closed with no waiter counted.
fn usable_after_a_panic_with_one_item_in(buffer: &BoundedBuffer<i32>) {
    let capacity = buffer.capacity();
    for item in 2..=capacity as i32 {
        buffer.put(item).unwrap();
    }

    assert_eq!(buffer.len(), capacity);
    assert_eq!(buffer.try_put(10), Err(crate::TryPutError::Full(10)));
    let items_put_before = buffer.stats().items_put;
    assert_eq!(buffer.get(), Ok(1));
    thread::scope(|s| {
        s.spawn(|| {
            for i in 10..13 {
                buffer.put(i).unwrap();
            }
        });
        let taken: Vec<i32> = (0..capacity + 2).map(|_| buffer.get().unwrap()).collect();
        let expected: Vec<i32> = (2..=capacity as i32).chain(10..13).collect();
        assert_eq!(taken, expected);
    });
    assert_eq!(buffer.stats().items_put, items_put_before + 3);
    assert!(buffer.close());
    assert_eq!(buffer.get(), Err(GetError));
    assert_eq!(buffer.waiting(), (0, 0));
}
