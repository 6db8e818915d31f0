//! Blocking and non-blocking iterators over the items of a buffer.

use std::iter::FusedIterator;

use crate::BoundedBuffer;

/// A blocking iterator that takes items until the buffer is closed and drained.
///
/// Created by [`BoundedBuffer::iter`] or by `for item in &buffer`.
///
/// ```
/// use pc_buffer::BoundedBuffer;
///
/// let buffer = BoundedBuffer::new(2).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         for i in 1..=5 {
///             buffer.put(i).unwrap();
///         }
///         buffer.close();
///     });
///     let total: i32 = (&buffer).into_iter().sum();
///     assert_eq!(total, 15);
/// });
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    pub(crate) buffer: &'a BoundedBuffer<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.buffer.get().ok()
    }
}

// Once `get` has reported "closed and empty" it always will: a closed buffer never reopens and
// nothing can be put into it.
impl<T> FusedIterator for Iter<'_, T> {}

/// A non-blocking iterator over the items in the buffer right now.
///
/// Created by [`BoundedBuffer::try_iter`]; ends as soon as the buffer is empty, open or not.
#[derive(Debug)]
pub struct TryIter<'a, T> {
    pub(crate) buffer: &'a BoundedBuffer<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.buffer.try_get().ok()
    }
}

impl<'a, T> IntoIterator for &'a BoundedBuffer<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
