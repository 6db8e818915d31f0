//! The `on_produce` and `on_consume` callbacks, and [`NoHook`] for a role without one.
//!
//! A role is generic over its hook so that a role without a callback pays nothing for it: no
//! copy of the item, no call, no look at the buffer's length.

/// No callback: the default hook of both roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoHook;

/// What a producer does around each put.
///
/// The item moves into the buffer, so a hook that wants to see it after the put keeps what it
/// needs *before* the put ([`keep`](Self::keep)) and is called after it
/// ([`call`](Self::call)) with the count and the buffer's length.
pub trait ProduceHook<T> {
    /// Whether the hook does anything; when `false` the producer skips it entirely.
    const ACTIVE: bool;
    /// What the hook keeps of an item across the put.
    type Kept;
    /// Called with each item just before it is put.
    fn keep(&mut self, item: &T) -> Self::Kept;
    /// Called after the put of the kept item: `count` items put so far by this producer,
    /// `buffer_len` items in the buffer just after the put.
    fn call(&mut self, kept: Self::Kept, count: usize, buffer_len: usize);
}

impl<T> ProduceHook<T> for NoHook {
    const ACTIVE: bool = false;
    type Kept = ();
    fn keep(&mut self, _: &T) {}
    fn call(&mut self, (): (), _: usize, _: usize) {}
}

/// An `on_produce(item, count, buffer_len)` callback, as in the original design.
///
/// The item has moved into the buffer by the time the callback runs, so the callback sees a
/// clone: that is why it needs `T: Clone`.
#[derive(Debug, Clone, Copy)]
pub struct OnProduce<F>(pub F);

impl<T: Clone, F: FnMut(&T, usize, usize)> ProduceHook<T> for OnProduce<F> {
    const ACTIVE: bool = true;
    type Kept = T;
    fn keep(&mut self, item: &T) -> T {
        item.clone()
    }
    fn call(&mut self, kept: T, count: usize, buffer_len: usize) {
        (self.0)(&kept, count, buffer_len)
    }
}

/// What a consumer does after each item it processed successfully.
pub trait ConsumeHook<R> {
    /// Whether the hook does anything; when `false` the consumer skips it entirely.
    const ACTIVE: bool;
    /// Called with the output of each successful item: `count` items processed so far by this
    /// consumer, `buffer_len` items left in the buffer.
    fn call(&mut self, output: &R, count: usize, buffer_len: usize);
}

impl<R> ConsumeHook<R> for NoHook {
    const ACTIVE: bool = false;
    fn call(&mut self, _: &R, _: usize, _: usize) {}
}

/// An `on_consume(output, count, buffer_len)` callback, as in the original design.
#[derive(Debug, Clone, Copy)]
pub struct OnConsume<F>(pub F);

impl<R, F: FnMut(&R, usize, usize)> ConsumeHook<R> for OnConsume<F> {
    const ACTIVE: bool = true;
    fn call(&mut self, output: &R, count: usize, buffer_len: usize) {
        (self.0)(output, count, buffer_len)
    }
}
