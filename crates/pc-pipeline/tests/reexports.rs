//! Everything a user of the layers below needs is reachable through pc-pipeline alone.

use std::time::Duration;

use pc_pipeline::buffer::{
    BoundedBuffer, GetError, GetTimeoutError, Iter, PutError, PutTimeoutError, TryGetError,
    TryPutError, handles,
};
use pc_pipeline::roles::{
    Consumer, ConsumerRole, Flow, Producer, ProducerRole, RoleError, Sink, StopCause, from_fn,
};

#[test]
fn the_buffer_layer_is_usable_through_the_pipeline_crate() {
    let buffer = BoundedBuffer::new(2).unwrap();
    buffer.put(1).unwrap();
    buffer.put(2).unwrap();
    assert!(matches!(buffer.try_put(3), Err(TryPutError::Full(3))));
    assert!(matches!(
        buffer.put_timeout(3, Duration::from_millis(1)),
        Err(PutTimeoutError::Timeout(3))
    ));
    buffer.close();
    assert!(matches!(buffer.put(4), Err(PutError::Closed(4))));
    let drained: Iter<'_, i32> = buffer.iter();
    assert_eq!(drained.collect::<Vec<_>>(), [1, 2]);
    assert_eq!(buffer.get(), Err(GetError));
    assert_eq!(buffer.try_get(), Err(TryGetError::Closed));
    assert_eq!(
        buffer.get_timeout(Duration::ZERO),
        Err(GetTimeoutError::Closed)
    );

    let (put, get) = handles::<u8>(4).unwrap();
    put.put(7).unwrap();
    drop(put);
    assert_eq!(get.iter().collect::<Vec<_>>(), [7]);
}

#[test]
fn the_roles_layer_is_usable_through_the_pipeline_crate() {
    fn total<P: Producer<u32> + Send, C: Consumer<u32, Output = u32>>(
        producer: P,
        consumer: C,
    ) -> u32 {
        let buffer = BoundedBuffer::new(8).unwrap();
        let mut sum = 0;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                ProducerRole::new().run(producer, &buffer).unwrap();
                buffer.close();
            });
            struct Adding<'a>(&'a mut u32);
            impl<E> Sink<u32, E> for Adding<'_> {
                fn accept(&mut self, outcome: Result<u32, E>) -> Flow {
                    if let Ok(x) = outcome {
                        *self.0 += x;
                    }
                    Flow::Continue
                }
            }
            ConsumerRole::new()
                .run(consumer, &buffer, Adding(&mut sum))
                .unwrap();
        });
        sum
    }
    assert_eq!(total(1..=10, from_fn(|x: u32| x * 2)), 110);

    let buffer = BoundedBuffer::new(1).unwrap();
    buffer.close();
    let err: RoleError<u32, _> = ProducerRole::new().run(5..6, &buffer).unwrap_err();
    assert!(matches!(err.cause, StopCause::Closed));
    assert_eq!(err.unprocessed, [5]);
}
