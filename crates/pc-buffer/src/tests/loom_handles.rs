//! Loom models of the handles: the last put handle dropping while consumers wait, the last get handle dropping while producers wait, and a clone racing a drop, in each layout.

use loom::thread;

use super::loom_support::{Make, model, queue_layouts};
use crate::{BoundedBuffer, GetError, PutError};

/// Every layout: the slot at capacity 1, then the two queue layouts at capacity 2.
fn each_layout() -> [(usize, Make<usize>); 3] {
    let [halves, batched] = queue_layouts();
    [(1, BoundedBuffer::new), (2, halves), (2, batched)]
}

/// Two consumers wait on an empty buffer while the only put handle puts one item and is
/// dropped: one consumer takes the item, and both then see the buffer closed. Missing the
/// close on the last drop leaves a consumer parked, which loom reports as a deadlock.
#[test]
fn the_last_put_handle_dropping_wakes_every_waiting_consumer() {
    for (capacity, make) in each_layout() {
        model(move || {
            let (put, get) = make(capacity).unwrap().into_handles();
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let get = get.clone();
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        while let Ok(item) = get.get() {
                            got.push(item);
                        }
                        got
                    })
                })
                .collect();
            drop(get);
            put.put(7).unwrap();
            drop(put);
            let got: Vec<usize> = consumers
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect();
            assert_eq!(got, [7]);
        });
    }
}

/// Two producers wait on a full buffer while the only get handle is dropped: both fail with
/// their own item, told no consumer is left, and the items in the buffer stay counted.
#[test]
fn the_last_get_handle_dropping_fails_every_waiting_producer_with_its_item() {
    for (capacity, make) in each_layout() {
        model(move || {
            let (put, get) = make(capacity).unwrap().into_handles();
            put.put_batch((0..capacity).collect()).unwrap();
            let producers: Vec<_> = [10, 11]
                .into_iter()
                .map(|item| {
                    let put = put.clone();
                    thread::spawn(move || put.put(item))
                })
                .collect();
            drop(get);
            let back: Vec<PutError<usize>> = producers
                .into_iter()
                .map(|p| p.join().unwrap().unwrap_err())
                .collect();
            assert_eq!(back, [PutError::NoConsumer(10), PutError::NoConsumer(11)]);
            assert_eq!(put.len(), capacity);
        });
    }
}

/// A clone of the put handle made and dropped on another thread while the original is dropped:
/// the buffer closes once, after both, and the clone's item is delivered.
#[test]
fn a_put_handle_cloned_while_another_drops_closes_the_buffer_only_after_both() {
    for (capacity, make) in each_layout() {
        model(move || {
            let (put, get) = make(capacity).unwrap().into_handles();
            let clone = put.clone();
            let other = thread::spawn(move || {
                let again = clone.clone();
                drop(clone);
                again.put(3).unwrap();
            });
            drop(put);
            assert_eq!(get.get(), Ok(3));
            assert_eq!(get.get(), Err(GetError));
            other.join().unwrap();
        });
    }
}
