//! A panic while holding the buffer's lock poisons the `Mutex`; the buffer must stay usable for every other thread.

use std::thread;

use crate::{BoundedBuffer, GetError};

#[test]
fn buffer_stays_usable_after_a_panic_while_locked() {
    let buffer = BoundedBuffer::new(2).unwrap();
    buffer.put(1).unwrap();

    // Poison the lock: a thread panics while holding it.
    let outcome = thread::scope(|s| {
        s.spawn(|| {
            let _guard = buffer.lock();
            panic!("boom while holding the buffer's lock");
        })
        .join()
    });
    assert!(outcome.is_err());
    assert!(buffer.state_is_poisoned());

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
