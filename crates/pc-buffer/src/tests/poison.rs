//! A panic while holding one of the buffer's locks poisons that `Mutex`; the buffer must stay usable for every other thread.

use std::thread;

use crate::{BoundedBuffer, GetError};

#[test]
fn buffer_stays_usable_after_a_panic_while_locked() {
    let buffer = BoundedBuffer::new(2).unwrap();
    buffer.put(1).unwrap();

    // Poison both locks: a thread panics while holding the front, another the back.
    let outcomes = thread::scope(|s| {
        let front = s
            .spawn(|| {
                let _guard = buffer.lock_front();
                panic!("boom while holding the buffer's front lock");
            })
            .join();
        let back = s
            .spawn(|| {
                let _guard = buffer.lock_back();
                panic!("boom while holding the buffer's back lock");
            })
            .join();
        (front.is_err(), back.is_err())
    });
    assert_eq!(outcomes, (true, true));
    assert_eq!(buffer.locks_poisoned(), (true, true));

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
