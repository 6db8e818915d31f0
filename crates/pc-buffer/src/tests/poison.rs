//! A panic while holding one of the buffer's locks poisons that `Mutex`; the buffer must stay usable for every other thread, at every capacity.

use std::thread;

use crate::{BoundedBuffer, GetError};

#[test]
fn buffer_stays_usable_after_a_panic_while_locked() {
    let buffer = BoundedBuffer::new(2).unwrap();
    buffer.put(1).unwrap();
    let halves = buffer.halves().expect("capacity 2 is the two-lock buffer");

    // Poison both locks: a thread panics while holding the front, another the back.
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
    assert_eq!(halves.locks_poisoned(), (true, true));

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
    assert!(slot.is_poisoned());

    assert_eq!(buffer.len(), 1);
    assert_eq!(buffer.try_put(2), Err(crate::TryPutError::Full(2)));
    assert_eq!(buffer.get(), Ok(1));
    thread::scope(|s| {
        s.spawn(|| {
            for i in 2..5 {
                buffer.put(i).unwrap();
            }
        });
        assert_eq!(
            (0..3).map(|_| buffer.get().unwrap()).collect::<Vec<_>>(),
            [2, 3, 4]
        );
    });
    assert_eq!(buffer.stats().items_put, 4);
    assert!(buffer.close());
    assert_eq!(buffer.get(), Err(GetError));
    assert_eq!(buffer.waiting(), (0, 0));
}
